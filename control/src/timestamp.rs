//! Wall-clock time as text: RFC 3339 UTC timestamps for logs and health
//! answers, without a date-time crate.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redline_engine::venue::fix::civil_from_days;

/// Now in RFC 3339 UTC, to the millisecond.
pub fn rfc3339_now() -> String {
    rfc3339(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default(),
    )
}

/// Now, in ns since the Unix epoch.
pub fn unix_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// `since` the Unix epoch in RFC 3339 UTC, to the millisecond.
pub fn rfc3339(since: Duration) -> String {
    let secs = since.as_secs();
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days as i64);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60,
        since.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_turn_into_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_722), (2023, 12, 31));
        assert_eq!(civil_from_days(20_417), (2025, 11, 25));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(
            rfc3339(Duration::from_millis(1_764_655_451_579)),
            "2025-12-02T06:04:11.579Z"
        );
    }
}
