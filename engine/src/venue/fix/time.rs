//! UTCTimestamp in FIX's form, `YYYYMMDD-HH:MM:SS.sss`, from nanoseconds
//! since the Unix epoch: SendingTime(52) and TransactTime(60). Computed
//! from the day count (the proleptic Gregorian calendar), not formatted.

/// Bytes of a timestamp.
pub const TIMESTAMP_LEN: usize = 21;

/// `unix_ns` (nanoseconds since 1970-01-01T00:00:00Z) as a FIX
/// UTCTimestamp with milliseconds.
pub fn utc_timestamp(unix_ns: u64) -> [u8; TIMESTAMP_LEN] {
    let ms = unix_ns / 1_000_000;
    let secs = ms / 1000;
    let (year, month, day) = civil_from_days((secs / 86_400) as i64);
    let of_day = secs % 86_400;
    let mut out = *b"00000000-00:00:00.000";
    put(&mut out[0..4], year as u64);
    put(&mut out[4..6], u64::from(month));
    put(&mut out[6..8], u64::from(day));
    put(&mut out[9..11], of_day / 3600);
    put(&mut out[12..14], of_day / 60 % 60);
    put(&mut out[15..17], of_day % 60);
    put(&mut out[18..21], ms % 1000);
    out
}

/// Writes `value` as exactly `out.len()` decimal digits (zero-padded).
fn put(out: &mut [u8], mut value: u64) {
    for digit in out.iter_mut().rev() {
        *digit = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// The (year, month, day) of `days` since 1970-01-01; the algorithm of
/// Howard Hinnant's `civil_from_days`.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(unix_ns: u64) -> String {
        String::from_utf8(utc_timestamp(unix_ns).to_vec()).unwrap()
    }

    #[test]
    fn timestamps_are_fix_utc_with_milliseconds() {
        assert_eq!(at(0), "19700101-00:00:00.000");
        // 2026-12-03T14:19:32.123456789Z
        assert_eq!(at(1_796_307_572_123_456_789), "20261203-14:19:32.123");
        // A leap day, and the last millisecond of a year.
        assert_eq!(at(951_782_400_000_000_000), "20000229-00:00:00.000");
        assert_eq!(at(1_735_689_599_999_000_000), "20241231-23:59:59.999");
    }

    fn days_in(year: i64, month: u32) -> u32 {
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
        [
            31,
            28 + u32::from(leap),
            31,
            30,
            31,
            30,
            31,
            31,
            30,
            31,
            30,
            31,
        ][month as usize - 1]
    }

    #[test]
    fn every_day_follows_the_one_before() {
        // Four centuries of days (a whole Gregorian cycle) from 1970.
        let mut last = civil_from_days(0);
        assert_eq!(last, (1970, 1, 1));
        for days in 1..146_097 {
            let (y, m, d) = civil_from_days(days);
            let month_done = last.2 == days_in(last.0, last.1);
            let next_day = (y, m, d) == (last.0, last.1, last.2 + 1) && !month_done;
            let next_month = (y, m, d) == (last.0, last.1 + 1, 1) && month_done;
            let next_year = (y, m, d) == (last.0 + 1, 1, 1) && month_done && last.1 == 12;
            assert!(
                next_day || next_month || next_year,
                "{last:?} -> {:?}",
                (y, m, d)
            );
            last = (y, m, d);
        }
    }
}
