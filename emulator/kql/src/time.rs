//! KQL's two time types, `datetime` and `timespan`, as 100-nanosecond ticks (Kusto's own
//! resolution), with the parsing and formatting the engine and the query API need.
//!
//! - [`DateTime`]: ticks since 1970-01-01T00:00:00Z (UTC; KQL has no time zones). Formatted the
//!   way Log Analytics returns it: ISO 8601 with up to seven fractional digits, trailing zeros
//!   dropped, `Z` suffix (`2018-02-02T15:03:12.18Z`, `2017-08-24T06:59:59Z`).
//! - [`Timespan`]: signed ticks, formatted like .NET's constant format (`[-][d.]hh:mm:ss[.fffffff]`).
//! - [`TimeRange`]: the query API's `timespan` parameter (an ISO 8601 duration ending now, or an
//!   interval `start/end`, `start/duration`, `duration/end`).

use std::fmt;

/// Ticks (100 ns) per unit.
pub const TICKS_PER_MICROSECOND: i64 = 10;
/// Ticks per millisecond.
pub const TICKS_PER_MILLISECOND: i64 = 10_000;
/// Ticks per second.
pub const TICKS_PER_SECOND: i64 = 10_000_000;
/// Ticks per minute.
pub const TICKS_PER_MINUTE: i64 = 60 * TICKS_PER_SECOND;
/// Ticks per hour.
pub const TICKS_PER_HOUR: i64 = 60 * TICKS_PER_MINUTE;
/// Ticks per day.
pub const TICKS_PER_DAY: i64 = 24 * TICKS_PER_HOUR;

/// A point in time: 100-ns ticks since the Unix epoch, UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DateTime(pub i64);

/// A signed duration in 100-ns ticks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timespan(pub i64);

impl DateTime {
    /// From whole seconds since the Unix epoch.
    pub fn from_unix_seconds(secs: i64) -> Self {
        DateTime(secs.saturating_mul(TICKS_PER_SECOND))
    }

    /// From nanoseconds since the Unix epoch (truncated to ticks).
    pub fn from_unix_nanos(nanos: i128) -> Self {
        DateTime((nanos / 100) as i64)
    }

    /// From a `SystemTime` (for callers that read the wall clock; the engine never does).
    pub fn from_system_time(t: std::time::SystemTime) -> Self {
        match t.duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => DateTime::from_unix_nanos(d.as_nanos() as i128),
            Err(e) => DateTime::from_unix_nanos(-(e.duration().as_nanos() as i128)),
        }
    }

    /// Parses the forms KQL's `datetime(...)` and `todatetime()` accept: `2024-01-31`,
    /// `2024-01-31T10:00`, `2024-01-31 10:00:00.1234567`, with an optional `Z` or `+hh:mm` offset.
    pub fn parse(text: &str) -> Option<DateTime> {
        let s = text.trim();
        let b = s.as_bytes();
        let mut p = Cursor { b, i: 0 };
        let year = p.digits(4, 4)?;
        p.expect(b'-')?;
        let month = p.digits(1, 2)?;
        p.expect(b'-')?;
        let day = p.digits(1, 2)?;
        if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
            return None;
        }
        let (mut hour, mut minute, mut second, mut frac) = (0, 0, 0, 0i64);
        if p.peek() == Some(b'T') || p.peek() == Some(b't') || p.peek() == Some(b' ') {
            p.i += 1;
            hour = p.digits(1, 2)?;
            p.expect(b':')?;
            minute = p.digits(1, 2)?;
            if p.peek() == Some(b':') {
                p.i += 1;
                second = p.digits(1, 2)?;
                if p.peek() == Some(b'.') {
                    p.i += 1;
                    frac = p.fraction_ticks()?;
                }
            }
            if hour > 23 || minute > 59 || second > 59 {
                return None;
            }
        }
        let mut offset_minutes = 0i64;
        match p.peek() {
            None => {}
            Some(b'Z') | Some(b'z') => p.i += 1,
            Some(sign @ (b'+' | b'-')) => {
                p.i += 1;
                let oh = p.digits(2, 2)?;
                if p.peek() == Some(b':') {
                    p.i += 1;
                }
                let om = p.digits(2, 2)?;
                offset_minutes = oh * 60 + om;
                if sign == b'-' {
                    offset_minutes = -offset_minutes;
                }
            }
            Some(_) => return None,
        }
        if p.i != b.len() {
            return None;
        }
        let days = days_from_civil(year, month, day);
        let ticks = days.checked_mul(TICKS_PER_DAY)?
            + hour * TICKS_PER_HOUR
            + minute * TICKS_PER_MINUTE
            + second * TICKS_PER_SECOND
            + frac
            - offset_minutes * TICKS_PER_MINUTE;
        Some(DateTime(ticks))
    }

    /// Calendar parts: (year, month, day, hour, minute, second, sub-second ticks).
    pub fn parts(self) -> (i64, i64, i64, i64, i64, i64, i64) {
        let days = self.0.div_euclid(TICKS_PER_DAY);
        let rem = self.0.rem_euclid(TICKS_PER_DAY);
        let (y, m, d) = civil_from_days(days);
        (
            y,
            m,
            d,
            rem / TICKS_PER_HOUR,
            rem % TICKS_PER_HOUR / TICKS_PER_MINUTE,
            rem % TICKS_PER_MINUTE / TICKS_PER_SECOND,
            rem % TICKS_PER_SECOND,
        )
    }
}

impl fmt::Display for DateTime {
    /// `2018-02-02T15:03:12.18Z`: the form Log Analytics answers with.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, mo, d, h, mi, s, frac) = self.parts();
        write!(f, "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}")?;
        write_fraction(f, frac)?;
        f.write_str("Z")
    }
}

impl Timespan {
    /// Parses `[-][d.]hh:mm[:ss[.fffffff]]` (the `time(...)`/`totimespan()` text form) or a
    /// KQL timespan literal such as `5m`, `1.5h`, `100ms`.
    pub fn parse(text: &str) -> Option<Timespan> {
        let s = text.trim();
        if s.contains(':') {
            return parse_clock_timespan(s);
        }
        let split = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
            .unwrap_or(s.len());
        let (num, unit) = s.split_at(split);
        let value: f64 = num.parse().ok()?;
        let unit = if unit.is_empty() { "d" } else { unit };
        let per = unit_ticks(unit)?;
        Some(Timespan((value * per as f64).round() as i64))
    }
}

impl fmt::Display for Timespan {
    /// `1.02:03:04.5000000`, `00:05:00`, `-00:00:01`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut t = self.0;
        if t < 0 {
            f.write_str("-")?;
            t = t.checked_neg().unwrap_or(i64::MAX);
        }
        let days = t / TICKS_PER_DAY;
        let rem = t % TICKS_PER_DAY;
        if days > 0 {
            write!(f, "{days}.")?;
        }
        write!(
            f,
            "{:02}:{:02}:{:02}",
            rem / TICKS_PER_HOUR,
            rem % TICKS_PER_HOUR / TICKS_PER_MINUTE,
            rem % TICKS_PER_MINUTE / TICKS_PER_SECOND
        )?;
        let frac = rem % TICKS_PER_SECOND;
        if frac != 0 {
            write!(f, ".{frac:07}")?;
        }
        Ok(())
    }
}

/// Ticks per unit for the suffixes of KQL timespan literals (`d`, `h`, `m`, `s`, `ms`, ...).
pub fn unit_ticks(unit: &str) -> Option<i64> {
    Some(match unit.to_ascii_lowercase().as_str() {
        "d" | "day" | "days" => TICKS_PER_DAY,
        "h" | "hr" | "hrs" | "hour" | "hours" => TICKS_PER_HOUR,
        "m" | "min" | "minute" | "minutes" => TICKS_PER_MINUTE,
        "s" | "sec" | "second" | "seconds" => TICKS_PER_SECOND,
        "ms" | "milli" | "millis" | "millisecond" | "milliseconds" => TICKS_PER_MILLISECOND,
        "microsecond" | "microseconds" | "micros" => TICKS_PER_MICROSECOND,
        "tick" | "ticks" => 1,
        _ => return None,
    })
}

/// The query API's `timespan`: rows whose `TimeGenerated` is in `[start, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeRange {
    /// Inclusive start.
    pub start: DateTime,
    /// Exclusive end.
    pub end: DateTime,
}

impl TimeRange {
    /// Parses an ISO 8601 duration (`PT1H`, `P1D`, `P2DT12H30M`: ending at `now`) or interval
    /// (`2024-01-01T00:00:00Z/2024-01-02T00:00:00Z`, `start/PT1H`, `PT1H/end`).
    /// The error says which part was wrong.
    pub fn parse_iso8601(text: &str, now: DateTime) -> Result<TimeRange, String> {
        let text = text.trim();
        let instant = |s: &str| {
            DateTime::parse(s).ok_or_else(|| format!("'{s}' is not an ISO 8601 date and time"))
        };
        match text.split_once('/') {
            None => {
                let d = parse_iso_duration(text)?;
                Ok(TimeRange {
                    start: DateTime(now.0.saturating_sub(d.0)),
                    end: now,
                })
            }
            Some((a, b)) => {
                let (start, end) = if a.starts_with(['P', 'p']) {
                    let end = instant(b)?;
                    (
                        DateTime(end.0.saturating_sub(parse_iso_duration(a)?.0)),
                        end,
                    )
                } else if b.starts_with(['P', 'p']) {
                    let start = instant(a)?;
                    (
                        start,
                        DateTime(start.0.saturating_add(parse_iso_duration(b)?.0)),
                    )
                } else {
                    (instant(a)?, instant(b)?)
                };
                if end < start {
                    return Err(format!("the interval '{text}' ends before it starts"));
                }
                Ok(TimeRange { start, end })
            }
        }
    }

    /// True when `t` is inside the range.
    pub fn contains(&self, t: DateTime) -> bool {
        self.start <= t && t < self.end
    }
}

/// Parses an ISO 8601 duration: `P[nW][nD][T[nH][nM][n[.n]S]]`. Years and months are refused
/// because their length is ambiguous.
pub fn parse_iso_duration(text: &str) -> Result<Timespan, String> {
    let bad = || format!("'{text}' is not an ISO 8601 duration such as PT1H, P1D or P1DT12H");
    let s = text.trim();
    let rest = s.strip_prefix(['P', 'p']).ok_or_else(bad)?;
    if rest.is_empty() {
        return Err(bad());
    }
    let mut ticks: i64 = 0;
    let mut in_time = false;
    let mut num = String::new();
    let mut any = false;
    for c in rest.chars() {
        match c {
            'T' | 't' if num.is_empty() && !in_time => in_time = true,
            '0'..='9' | '.' | ',' => num.push(if c == ',' { '.' } else { c }),
            _ => {
                let v: f64 = num.parse().map_err(|_| bad())?;
                num.clear();
                let per = match (in_time, c.to_ascii_uppercase()) {
                    (false, 'W') => 7 * TICKS_PER_DAY,
                    (false, 'D') => TICKS_PER_DAY,
                    (true, 'H') => TICKS_PER_HOUR,
                    (true, 'M') => TICKS_PER_MINUTE,
                    (true, 'S') => TICKS_PER_SECOND,
                    (false, 'Y' | 'M') => {
                        return Err(format!(
                            "'{text}': durations in years or months are ambiguous; use days (P30D)"
                        ))
                    }
                    _ => return Err(bad()),
                };
                ticks = ticks.saturating_add((v * per as f64).round() as i64);
                any = true;
            }
        }
    }
    if !num.is_empty() || !any {
        return Err(bad());
    }
    Ok(Timespan(ticks))
}

fn parse_clock_timespan(s: &str) -> Option<Timespan> {
    let (neg, s) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let (days, clock) = match s.split_once('.') {
        Some((d, rest)) if rest.contains(':') && !d.contains(':') => (d.parse::<i64>().ok()?, rest),
        _ => (0, s),
    };
    let mut parts = clock.splitn(3, ':');
    let h: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let (sec, frac) = match parts.next() {
        None => (0, 0),
        Some(sec) => match sec.split_once('.') {
            None => (sec.parse().ok()?, 0),
            Some((w, f)) => {
                let mut c = Cursor {
                    b: f.as_bytes(),
                    i: 0,
                };
                let ticks = c.fraction_ticks()?;
                if c.i != f.len() {
                    return None;
                }
                (w.parse::<i64>().ok()?, ticks)
            }
        },
    };
    if m > 59 || sec > 59 {
        return None;
    }
    let t = days * TICKS_PER_DAY
        + h * TICKS_PER_HOUR
        + m * TICKS_PER_MINUTE
        + sec * TICKS_PER_SECOND
        + frac;
    Some(Timespan(if neg { -t } else { t }))
}

fn write_fraction(f: &mut fmt::Formatter<'_>, frac: i64) -> fmt::Result {
    if frac == 0 {
        return Ok(());
    }
    let digits = format!("{frac:07}");
    write!(f, ".{}", digits.trim_end_matches('0'))
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    fn expect(&mut self, c: u8) -> Option<()> {
        (self.peek() == Some(c)).then(|| self.i += 1)
    }
    fn digits(&mut self, min: usize, max: usize) -> Option<i64> {
        let start = self.i;
        while self.i < self.b.len() && self.i - start < max && self.b[self.i].is_ascii_digit() {
            self.i += 1;
        }
        if self.i - start < min {
            return None;
        }
        std::str::from_utf8(&self.b[start..self.i])
            .ok()?
            .parse()
            .ok()
    }
    /// Fractional seconds as ticks: up to 7 digits kept, further digits ignored.
    fn fraction_ticks(&mut self) -> Option<i64> {
        let start = self.i;
        let mut ticks = 0i64;
        while let Some(c) = self.peek().filter(u8::is_ascii_digit) {
            if self.i - start < 7 {
                ticks = ticks * 10 + i64::from(c - b'0');
            }
            self.i += 1;
        }
        let n = self.i - start;
        if n == 0 {
            return None;
        }
        for _ in n..7 {
            ticks *= 10;
        }
        Some(ticks)
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_round_trip_in_the_service_format() {
        for (input, shown) in [
            ("2017-08-24T06:59:59Z", "2017-08-24T06:59:59Z"),
            ("2018-02-02T15:03:12.18Z", "2018-02-02T15:03:12.18Z"),
            ("2018-02-02 15:16:53.932", "2018-02-02T15:16:53.932Z"),
            ("2024-02-29", "2024-02-29T00:00:00Z"),
            (
                "2024-01-01T10:00:00.1234567Z",
                "2024-01-01T10:00:00.1234567Z",
            ),
            ("2024-01-01T10:00:00+02:00", "2024-01-01T08:00:00Z"),
            ("1969-12-31T23:59:59.5Z", "1969-12-31T23:59:59.5Z"),
        ] {
            assert_eq!(
                DateTime::parse(input).unwrap().to_string(),
                shown,
                "{input}"
            );
        }
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "yesterday",
            "2024-01-01T25:00",
            "2024-01-01X",
        ] {
            assert_eq!(DateTime::parse(bad), None, "{bad}");
        }
        assert_eq!(DateTime::parse("1970-01-01").unwrap(), DateTime(0));
    }

    #[test]
    fn timespans_parse_literals_and_clock_forms() {
        assert_eq!(Timespan::parse("5m"), Some(Timespan(5 * TICKS_PER_MINUTE)));
        assert_eq!(
            Timespan::parse("1.5h"),
            Some(Timespan(90 * TICKS_PER_MINUTE))
        );
        assert_eq!(
            Timespan::parse("100ms"),
            Some(Timespan(100 * TICKS_PER_MILLISECOND))
        );
        assert_eq!(Timespan::parse("2"), Some(Timespan(2 * TICKS_PER_DAY)));
        assert_eq!(
            Timespan::parse("1.02:03:04.5").unwrap().to_string(),
            "1.02:03:04.5000000"
        );
        assert_eq!(Timespan::parse("00:05:00").unwrap().to_string(), "00:05:00");
        assert_eq!(Timespan(-TICKS_PER_SECOND).to_string(), "-00:00:01");
        assert_eq!(Timespan::parse("3parsecs"), None);
    }

    #[test]
    fn iso_ranges_cover_durations_and_intervals() {
        let now = DateTime::parse("2024-01-02T00:00:00Z").unwrap();
        let r = TimeRange::parse_iso8601("PT1H", now).unwrap();
        assert_eq!(r.start.to_string(), "2024-01-01T23:00:00Z");
        assert_eq!(r.end, now);
        let r = TimeRange::parse_iso8601("P1DT12H", now).unwrap();
        assert_eq!(r.start.to_string(), "2023-12-31T12:00:00Z");
        let r = TimeRange::parse_iso8601("2024-01-01T00:00:00Z/PT30M", now).unwrap();
        assert_eq!(r.end.to_string(), "2024-01-01T00:30:00Z");
        let r = TimeRange::parse_iso8601("PT30M/2024-01-01T00:00:00Z", now).unwrap();
        assert_eq!(r.start.to_string(), "2023-12-31T23:30:00Z");
        let r = TimeRange::parse_iso8601("2024-01-01/2024-01-01T06:00:00Z", now).unwrap();
        assert!(r.contains(DateTime::parse("2024-01-01T05:59:59Z").unwrap()));
        assert!(!r.contains(r.end));
        assert!(TimeRange::parse_iso8601("P1M", now)
            .unwrap_err()
            .contains("months"));
        assert!(TimeRange::parse_iso8601("1h", now).is_err());
        assert!(TimeRange::parse_iso8601("2024-01-02/2024-01-01", now).is_err());
    }
}
