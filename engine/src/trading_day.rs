//! The trading day: the UTC time of day it begins (`[trading_day]`), and
//! the schedule of day starts the risk gate follows, so that
//! `risk.max_daily_loss` counts from the start of the current day rather
//! than from the journal's first entry. A FIX session's sequence numbers
//! belong to a trading day too: its first logon of a day resets them.
//!
//! A restart that finds the journal's last day began before the current
//! one makes a day due at once: the gate begins it at the first quote that
//! finds every position marked at a quote.

/// Nanoseconds in a day.
pub const DAY_NS: u64 = 86_400 * 1_000_000_000;

/// Reads `HH:MM` or `HH:MM:SS` (UTC) as seconds after midnight.
///
/// # Errors
///
/// Anything else, with what was found.
pub fn parse_time_of_day(text: &str) -> Result<u64, String> {
    let parts: Vec<&str> = text.split(':').collect();
    let field = |part: &str, max: u64| {
        part.parse::<u64>()
            .ok()
            .filter(|&v| part.len() == 2 && v <= max)
    };
    let seconds = match parts[..] {
        [h, m] => field(h, 23)
            .zip(field(m, 59))
            .map(|(h, m)| h * 3600 + m * 60),
        [h, m, s] => field(h, 23)
            .zip(field(m, 59))
            .zip(field(s, 59))
            .map(|((h, m), s)| h * 3600 + m * 60 + s),
        _ => None,
    };
    seconds.ok_or_else(|| format!("must be a UTC time of day, HH:MM or HH:MM:SS, got {text:?}"))
}

/// When the trading day holding `now_ns` (ns since the Unix epoch) began,
/// for days beginning `start_s` seconds after midnight UTC.
pub fn day_began(now_ns: u64, start_s: u64) -> u64 {
    let offset = start_s * 1_000_000_000;
    now_ns
        .checked_sub(offset)
        .map_or(0, |since| since / DAY_NS * DAY_NS + offset)
}

/// In wall-clock ns: when the next trading day begins, where the day the
/// loss limit counts from began at `counting_from_ns` (`None`: nothing
/// traded yet); a day that began since then is due now.
pub fn next_day_start(now_ns: u64, start_s: u64, counting_from_ns: Option<u64>) -> u64 {
    let current = day_began(now_ns, start_s);
    match counting_from_ns {
        Some(from) if from < current => now_ns,
        _ => current + DAY_NS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: u64 = 3_600_000_000_000;

    #[test]
    fn times_of_day_parse_and_bad_ones_are_named() {
        assert_eq!(parse_time_of_day("00:00"), Ok(0));
        assert_eq!(parse_time_of_day("22:00"), Ok(22 * 3600));
        assert_eq!(parse_time_of_day("09:30:15"), Ok(9 * 3600 + 30 * 60 + 15));
        for bad in [
            "24:00",
            "9:30",
            "09:60",
            "09:30:60",
            "",
            "noon",
            "09:30:00:00",
        ] {
            let err = parse_time_of_day(bad).unwrap_err();
            assert!(err.contains("HH:MM"), "{bad}: {err}");
        }
    }

    #[test]
    fn a_day_begins_at_its_time_of_day_utc() {
        let day = 20_000 * DAY_NS; // a midnight UTC
        assert_eq!(day_began(day + 5 * H, 0), day);
        assert_eq!(day_began(day + 23 * H, 22 * 3600), day + 22 * H);
        assert_eq!(day_began(day + 21 * H, 22 * 3600), day - 2 * H);
        assert_eq!(day_began(day + 22 * H, 22 * 3600), day + 22 * H);
    }

    #[test]
    fn a_day_that_began_while_stopped_is_due_at_once() {
        let day = 20_000 * DAY_NS;
        let now = day + 10 * H;
        // Nothing traded yet, or counting from earlier today: tomorrow.
        assert_eq!(next_day_start(now, 0, None), day + DAY_NS);
        assert_eq!(next_day_start(now, 0, Some(day + H)), day + DAY_NS);
        // Counting from yesterday: now.
        assert_eq!(next_day_start(now, 0, Some(day - H)), now);
    }
}
