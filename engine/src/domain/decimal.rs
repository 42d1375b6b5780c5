//! Exact decimal numbers for the edges: config values, recorded files and
//! display. The hot path never sees one: prices and quantities become
//! integer ticks and lots when an instrument is loaded, and go back to
//! decimals only to be printed.

use std::fmt;
use std::str::FromStr;

/// A decimal number held exactly as `units * 10^-scale`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decimal {
    units: i128,
    scale: u32,
}

/// The most fractional digits a [`Decimal`] keeps.
pub const MAX_SCALE: u32 = 18;

impl Decimal {
    /// `units * 10^-scale`.
    ///
    /// # Panics
    ///
    /// If `scale` exceeds [`MAX_SCALE`].
    pub const fn new(units: i128, scale: u32) -> Decimal {
        assert!(scale <= MAX_SCALE, "decimal scale too large");
        Decimal { units, scale }
    }

    /// Whether it is greater than zero.
    pub fn is_positive(self) -> bool {
        self.units > 0
    }

    /// `self / unit` when that is a whole number that fits an `i64`, the
    /// way a price becomes ticks and a quantity lots; `None` otherwise.
    pub fn whole_multiples_of(self, unit: Decimal) -> Option<i64> {
        if unit.units == 0 {
            return None;
        }
        let scale = self.scale.max(unit.scale);
        let value = self.rescaled(scale)?;
        let unit = unit.rescaled(scale)?;
        if value % unit != 0 {
            return None;
        }
        i64::try_from(value / unit).ok()
    }

    /// `unit * count`, exactly (ticks back to a price, lots to a quantity).
    pub fn times(unit: Decimal, count: i64) -> Option<Decimal> {
        Some(Decimal {
            units: unit.units.checked_mul(i128::from(count))?,
            scale: unit.scale,
        })
    }

    /// The exact product, if its digits fit.
    pub fn checked_mul(self, other: Decimal) -> Option<Decimal> {
        let scale = self.scale + other.scale;
        (scale <= MAX_SCALE).then_some(())?;
        Some(Decimal {
            units: self.units.checked_mul(other.units)?,
            scale,
        })
    }

    /// The value as a whole number of `10^-scale` units (`to_units(9)` of
    /// 1.5 is 1_500_000_000), if that is exact.
    pub fn to_units(self, scale: u32) -> Option<i128> {
        if scale >= self.scale {
            self.rescaled(scale)
        } else {
            let divisor = 10i128.checked_pow(self.scale - scale)?;
            (self.units % divisor == 0).then(|| self.units / divisor)
        }
    }

    /// The value as a float, for display and for the few places (config
    /// checks, rates) where a float is fine.
    pub fn to_f64(self) -> f64 {
        self.units as f64 / 10f64.powi(self.scale as i32)
    }

    /// The units at a larger (or equal) scale.
    fn rescaled(self, scale: u32) -> Option<i128> {
        self.units
            .checked_mul(10i128.checked_pow(scale - self.scale)?)
    }
}

/// Why a string is not a [`Decimal`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseDecimalError(String);

impl fmt::Display for ParseDecimalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParseDecimalError {}

impl FromStr for Decimal {
    type Err = ParseDecimalError;

    /// Parses `[+-]digits[.digits]`: no exponent, no separators, at most
    /// [`MAX_SCALE`] fractional digits.
    fn from_str(text: &str) -> Result<Decimal, ParseDecimalError> {
        let bad = |why: &str| ParseDecimalError(format!("`{text}` is not a decimal number: {why}"));
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.strip_prefix('+').unwrap_or(text)),
        };
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        if whole.is_empty() && fraction.is_empty() {
            return Err(bad("no digits"));
        }
        if !whole
            .bytes()
            .chain(fraction.bytes())
            .all(|b| b.is_ascii_digit())
        {
            return Err(bad("only digits and one `.` are allowed"));
        }
        if fraction.len() > MAX_SCALE as usize {
            return Err(bad("more than 18 digits after the point"));
        }
        let mut units: i128 = 0;
        for digit in whole.bytes().chain(fraction.bytes()) {
            units = units
                .checked_mul(10)
                .and_then(|u| u.checked_add(i128::from(digit - b'0')))
                .ok_or_else(|| bad("too large"))?;
        }
        Ok(Decimal {
            units: if negative { -units } else { units },
            scale: fraction.len() as u32,
        })
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.units < 0 { "-" } else { "" };
        let magnitude = self.units.unsigned_abs();
        if self.scale == 0 {
            return write!(f, "{sign}{magnitude}");
        }
        let divisor = 10u128.pow(self.scale);
        write!(
            f,
            "{sign}{}.{:0width$}",
            magnitude / divisor,
            magnitude % divisor,
            width = self.scale as usize
        )
    }
}

impl serde::Serialize for Decimal {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Decimal {
    /// Decimals are written as strings in config (`tick_size = "0.25"`), so
    /// that no value passes through a float.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Decimal, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    #[test]
    fn parses_and_prints_exactly() {
        for text in [
            "0",
            "1",
            "-1",
            "0.25",
            "5000.00",
            "-0.000001",
            "123456789.123456789",
        ] {
            assert_eq!(d(text).to_string(), text);
        }
        assert_eq!(d("+2.5").to_string(), "2.5");
        assert_eq!(d(".5").to_string(), "0.5");
        assert_eq!(d("7.").to_string(), "7");
    }

    #[test]
    fn rejects_what_is_not_a_plain_decimal() {
        for text in ["", "-", ".", "1e3", "1,000", "0x10", "1.2.3", " 1", "NaN"] {
            let err = text.parse::<Decimal>().unwrap_err();
            assert!(
                err.to_string().contains("is not a decimal"),
                "{text}: {err}"
            );
        }
        assert!(
            "0.0000000000000000001".parse::<Decimal>().is_err(),
            "19 places"
        );
    }

    #[test]
    fn whole_multiples_are_exact_or_refused() {
        assert_eq!(d("5000.25").whole_multiples_of(d("0.25")), Some(20001));
        assert_eq!(d("5000.2").whole_multiples_of(d("0.25")), None);
        assert_eq!(
            d("0.3").whole_multiples_of(d("0.1")),
            Some(3),
            "no float error"
        );
        assert_eq!(d("-1.5").whole_multiples_of(d("0.5")), Some(-3));
        assert_eq!(d("1").whole_multiples_of(d("0")), None);
        assert_eq!(
            d("100000000000000000000").whole_multiples_of(d("1")),
            None,
            "past i64"
        );
    }

    #[test]
    fn products_and_units_are_exact() {
        let value = d("0.015625").checked_mul(d("1000")).unwrap();
        assert_eq!(value.to_string(), "15.625000");
        assert_eq!(value.to_units(9), Some(15_625_000_000));
        assert_eq!(d("0.0000000001").to_units(9), None, "finer than a nano");
        assert_eq!(d("2.50").to_units(1), Some(25));
        assert!(
            d("0.0000000001").checked_mul(d("0.000000001")).is_none(),
            "19 places"
        );
    }

    #[test]
    fn times_turns_counts_back_into_values() {
        assert_eq!(
            Decimal::times(d("0.25"), 20001).unwrap().to_string(),
            "5000.25"
        );
        assert_eq!(Decimal::times(d("0.01"), -5).unwrap().to_string(), "-0.05");
    }
}
