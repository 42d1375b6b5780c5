//! FIX field values as redline writes and reads them: unsigned integers
//! (sequence numbers, quantities, lengths) and decimals (prices) held as a
//! whole number of units at a fixed scale, so that no price passes through
//! a float. Written into and read from byte slices by hand, without
//! `core::fmt`.

/// Decimal digits of the largest `u64`.
pub const MAX_UINT_DIGITS: usize = 20;

/// Writes `value` in decimal at the start of `out`, which must have room
/// for its digits (at most [`MAX_UINT_DIGITS`]); returns how many.
pub fn write_uint(out: &mut [u8], mut value: u64) -> usize {
    let mut digits = [0u8; MAX_UINT_DIGITS];
    let mut n = 0;
    loop {
        digits[MAX_UINT_DIGITS - 1 - n] = b'0' + (value % 10) as u8;
        n += 1;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    out[..n].copy_from_slice(&digits[MAX_UINT_DIGITS - n..]);
    n
}

/// Writes `units / 10^scale` in decimal (`-12.50` for -1250 at scale 2)
/// at the start of `out`, which must have room (at most 22 bytes more
/// than `scale`); returns how many. `scale` is at most 19.
pub fn write_decimal(out: &mut [u8], units: i64, scale: u32) -> usize {
    let mut at = 0;
    if units < 0 {
        out[0] = b'-';
        at = 1;
    }
    let magnitude = units.unsigned_abs();
    let divisor = 10u64.pow(scale);
    at += write_uint(&mut out[at..], magnitude / divisor);
    if scale > 0 {
        out[at] = b'.';
        at += 1;
        let mut fraction = [0u8; MAX_UINT_DIGITS];
        let n = write_uint(&mut fraction, magnitude % divisor);
        let zeros = scale as usize - n;
        out[at..at + zeros].fill(b'0');
        out[at + zeros..at + zeros + n].copy_from_slice(&fraction[..n]);
        at += scale as usize;
    }
    at
}

/// Reads an unsigned decimal integer: digits only, at least one, no sign;
/// `None` when it is not one or does not fit a `u64`.
pub fn read_uint(value: &[u8]) -> Option<u64> {
    if value.is_empty() {
        return None;
    }
    value.iter().try_fold(0u64, |acc, &b| {
        if !b.is_ascii_digit() {
            return None;
        }
        acc.checked_mul(10)?.checked_add(u64::from(b - b'0'))
    })
}

/// Reads a decimal (`100`, `-12.5`, `0.25`) as units at `scale`: `12.5`
/// at scale 2 is 1250. `None` when it is not a decimal, needs more
/// fractional digits than `scale` (other than trailing zeros), or does not
/// fit an `i64`.
pub fn read_decimal(value: &[u8], scale: u32) -> Option<i64> {
    let (negative, rest) = match value.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, value),
    };
    let (whole, fraction) = match rest.iter().position(|&b| b == b'.') {
        Some(dot) => (&rest[..dot], &rest[dot + 1..]),
        None => (rest, &[][..]),
    };
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    let whole = if whole.is_empty() {
        0
    } else {
        read_uint(whole)?
    };
    // Fractional digits past the scale must all be zeros.
    let kept = fraction.len().min(scale as usize);
    if !fraction[kept..].iter().all(|&b| b == b'0') || !fraction.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let digits = if kept == 0 {
        0
    } else {
        read_uint(&fraction[..kept])?
    };
    let fraction_units = digits.checked_mul(10u64.checked_pow(scale - kept as u32)?)?;
    let magnitude = whole
        .checked_mul(10u64.checked_pow(scale)?)?
        .checked_add(fraction_units)?;
    let magnitude = i64::try_from(magnitude).ok()?;
    Some(if negative { -magnitude } else { magnitude })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn written(f: impl FnOnce(&mut [u8]) -> usize) -> String {
        let mut out = [0u8; 64];
        let n = f(&mut out);
        String::from_utf8(out[..n].to_vec()).unwrap()
    }

    #[test]
    fn values_are_written_as_fix_expects() {
        assert_eq!(written(|o| write_uint(o, 0)), "0");
        assert_eq!(written(|o| write_uint(o, u64::MAX)), u64::MAX.to_string());
        assert_eq!(written(|o| write_decimal(o, 600_025, 2)), "6000.25");
        assert_eq!(written(|o| write_decimal(o, -1_250, 2)), "-12.50");
        assert_eq!(written(|o| write_decimal(o, 5, 4)), "0.0005");
        assert_eq!(written(|o| write_decimal(o, 42, 0)), "42");
    }

    #[test]
    fn values_are_read_strictly() {
        assert_eq!(read_uint(b"0042"), Some(42));
        assert_eq!(read_uint(b""), None);
        assert_eq!(read_uint(b"+1"), None);
        assert_eq!(read_uint(b"18446744073709551616"), None);
        assert_eq!(read_decimal(b"6000.25", 2), Some(600_025));
        assert_eq!(read_decimal(b"6000.2500", 2), Some(600_025));
        assert_eq!(read_decimal(b"6000.255", 2), None, "finer than the scale");
        assert_eq!(read_decimal(b"-12.5", 2), Some(-1_250));
        assert_eq!(read_decimal(b".5", 1), Some(5));
        assert_eq!(read_decimal(b"7", 3), Some(7_000));
        assert_eq!(read_decimal(b"1e3", 0), None);
        assert_eq!(read_decimal(b"-", 2), None);
        assert_eq!(read_decimal(b".", 2), None);
        assert_eq!(read_decimal(b"1.2.3", 2), None);
    }

    proptest! {
        #[test]
        fn decimals_read_back_what_was_written(units in any::<i64>().prop_filter("abs", |u| *u != i64::MIN), scale in 0u32..8) {
            let mut out = [0u8; 64];
            let n = write_decimal(&mut out, units, scale);
            prop_assert_eq!(read_decimal(&out[..n], scale), Some(units));
        }

        #[test]
        fn uints_read_back_what_was_written(value in any::<u64>()) {
            let mut out = [0u8; MAX_UINT_DIGITS];
            let n = write_uint(&mut out, value);
            prop_assert_eq!(read_uint(&out[..n]), Some(value));
        }

        #[test]
        fn reading_any_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..24), scale in 0u32..10) {
            let _ = read_uint(&bytes);
            let _ = read_decimal(&bytes, scale);
        }
    }
}
