//! Times for people: Unix seconds as a UTC date and time, and durations as
//! "3 min" (no calendar crate for two functions).

/// `2025-03-01 14:05:09 UTC`.
pub fn utc(unix: u64) -> String {
    let days = unix / 86_400;
    let secs = unix % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian
/// (Howard Hinnant's `civil_from_days`, for days >= 0).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

/// `45 s`, `12 min`, `3 h 5 min`, `2 d 4 h`.
pub fn span(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs} s"),
        60..3600 => format!("{} min", secs / 60),
        3600..86_400 => format!("{} h {} min", secs / 3600, secs % 3600 / 60),
        _ => format!("{} d {} h", secs / 86_400, secs % 86_400 / 3600),
    }
}

/// `12 min ago` relative to `now`.
pub fn ago(then: u64, now: u64) -> String {
    format!("{} ago", span(now.saturating_sub(then)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(1_740_837_909), "2025-03-01 14:05:09 UTC");
        assert_eq!(utc(4_102_444_799), "2099-12-31 23:59:59 UTC");
    }

    #[test]
    fn spans() {
        assert_eq!(span(45), "45 s");
        assert_eq!(span(720), "12 min");
        assert_eq!(span(3 * 3600 + 300), "3 h 5 min");
        assert_eq!(span(2 * 86_400 + 4 * 3600), "2 d 4 h");
        assert_eq!(ago(100, 160), "1 min ago");
        assert_eq!(ago(200, 100), "0 s ago");
    }
}
