//! Cron schedules as CronJobs write them (five fields, names, steps, ranges, `@daily` and
//! friends), enough to tell when a CronJob last should have run.

use chrono::{DateTime, Datelike, Duration, TimeZone, Timelike, Utc};

/// A parsed schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    minutes: u64,
    hours: u32,
    days_of_month: u32,
    months: u32,
    days_of_week: u32,
    dom_restricted: bool,
    dow_restricted: bool,
    /// A `CRON_TZ=`/`TZ=` prefix, if the schedule had one.
    pub time_zone: Option<String>,
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

fn parse_value(s: &str, names: &[&str], offset: u32) -> Option<u32> {
    if let Ok(n) = s.parse::<u32>() {
        return Some(n);
    }
    let lower = s.to_ascii_lowercase();
    names
        .iter()
        .position(|n| *n == lower)
        .map(|i| i as u32 + offset)
}

fn parse_field(
    field: &str,
    min: u32,
    max: u32,
    names: &[&str],
    offset: u32,
) -> Result<(u64, bool), String> {
    let mut bits = 0u64;
    let mut restricted = true;
    for item in field.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => (
                r,
                s.parse::<u32>()
                    .map_err(|_| format!("bad step in `{item}`"))?,
            ),
            None => (item, 1),
        };
        if step == 0 {
            return Err(format!("zero step in `{item}`"));
        }
        let (lo, hi) = if range == "*" || range == "?" {
            if step == 1 {
                restricted = false;
            }
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            let a = parse_value(a, names, offset).ok_or_else(|| format!("bad value `{a}`"))?;
            let b = parse_value(b, names, offset).ok_or_else(|| format!("bad value `{b}`"))?;
            (a, b)
        } else {
            let a =
                parse_value(range, names, offset).ok_or_else(|| format!("bad value `{range}`"))?;
            // `5/15` means from 5 to the end in steps of 15.
            if item.contains('/') { (a, max) } else { (a, a) }
        };
        // Day of week 7 is Sunday.
        let (lo, hi) = if max == 7 { (lo, hi.min(7)) } else { (lo, hi) };
        if lo < min || hi > max || lo > hi {
            return Err(format!("`{item}` is out of range {min}-{max}"));
        }
        let mut v = lo;
        while v <= hi {
            bits |= 1u64 << v;
            v += step;
        }
    }
    Ok((bits, restricted))
}

impl Schedule {
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut text = text.trim();
        let mut time_zone = None;
        for prefix in ["CRON_TZ=", "TZ="] {
            if let Some(rest) = text.strip_prefix(prefix) {
                let (tz, tail) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
                time_zone = Some(tz.to_string());
                text = tail.trim();
            }
        }
        let expanded = match text {
            "@yearly" | "@annually" => "0 0 1 1 *",
            "@monthly" => "0 0 1 * *",
            "@weekly" => "0 0 * * 0",
            "@daily" | "@midnight" => "0 0 * * *",
            "@hourly" => "0 * * * *",
            other => other,
        };
        let fields: Vec<&str> = expanded.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(format!("expected 5 fields, got {}", fields.len()));
        }
        let (minutes, _) = parse_field(fields[0], 0, 59, &[], 0)?;
        let (hours, _) = parse_field(fields[1], 0, 23, &[], 0)?;
        let (dom, dom_restricted) = parse_field(fields[2], 1, 31, &[], 0)?;
        let (months, _) = parse_field(fields[3], 1, 12, &MONTHS, 1)?;
        let (mut dow, dow_restricted) = parse_field(fields[4], 0, 7, &DAYS, 0)?;
        if dow & (1 << 7) != 0 {
            dow |= 1;
        }
        Ok(Self {
            minutes,
            hours: hours as u32,
            days_of_month: dom as u32,
            months: months as u32,
            days_of_week: dow as u32,
            dom_restricted,
            dow_restricted,
            time_zone,
        })
    }

    fn day_matches(&self, t: &DateTime<Utc>) -> bool {
        let dom = self.days_of_month & (1 << t.day()) != 0;
        let dow = self.days_of_week & (1 << t.weekday().num_days_from_sunday()) != 0;
        if self.dom_restricted && self.dow_restricted {
            dom || dow
        } else {
            dom && dow
        }
    }

    /// The latest time at or before `at` the schedule fires (UTC), within five years.
    pub fn previous(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let limit = at - Duration::days(5 * 366);
        let mut t = at.with_second(0)?.with_nanosecond(0)?;
        while t > limit {
            if self.months & (1 << t.month()) == 0 {
                let start = Utc
                    .with_ymd_and_hms(t.year(), t.month(), 1, 0, 0, 0)
                    .single()?;
                t = start - Duration::minutes(1);
                continue;
            }
            if !self.day_matches(&t) {
                let start = Utc
                    .with_ymd_and_hms(t.year(), t.month(), t.day(), 0, 0, 0)
                    .single()?;
                t = start - Duration::minutes(1);
                continue;
            }
            if self.hours & (1 << t.hour()) == 0 {
                t = t.with_minute(0)? - Duration::minutes(1);
                continue;
            }
            if self.minutes & (1 << t.minute()) == 0 {
                t -= Duration::minutes(1);
                continue;
            }
            return Some(t);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn previous_fire_times() {
        let daily = Schedule::parse("0 2 * * *").unwrap();
        assert_eq!(
            daily.previous(at("2025-06-01T12:00:00Z")),
            Some(at("2025-06-01T02:00:00Z"))
        );
        assert_eq!(
            daily.previous(at("2025-06-01T01:59:00Z")),
            Some(at("2025-05-31T02:00:00Z"))
        );
        let every15 = Schedule::parse("*/15 * * * *").unwrap();
        assert_eq!(
            every15.previous(at("2025-06-01T12:14:59Z")),
            Some(at("2025-06-01T12:00:00Z"))
        );
        let weekdays = Schedule::parse("30 9 * * mon-fri").unwrap();
        // 2025-06-01 is a Sunday.
        assert_eq!(
            weekdays.previous(at("2025-06-01T12:00:00Z")),
            Some(at("2025-05-30T09:30:00Z"))
        );
        let monthly = Schedule::parse("@monthly").unwrap();
        assert_eq!(
            monthly.previous(at("2025-06-15T00:00:00Z")),
            Some(at("2025-06-01T00:00:00Z"))
        );
        let sunday7 = Schedule::parse("0 0 * * 7").unwrap();
        assert_eq!(
            sunday7.previous(at("2025-06-03T00:00:00Z")),
            Some(at("2025-06-01T00:00:00Z"))
        );
        let tz = Schedule::parse("CRON_TZ=Europe/Berlin 0 3 * * *").unwrap();
        assert_eq!(tz.time_zone.as_deref(), Some("Europe/Berlin"));
    }

    #[test]
    fn bad_schedules_are_explained() {
        assert!(Schedule::parse("0 2 * *").unwrap_err().contains("5 fields"));
        assert!(
            Schedule::parse("61 * * * *")
                .unwrap_err()
                .contains("out of range")
        );
        assert!(
            Schedule::parse("*/0 * * * *")
                .unwrap_err()
                .contains("zero step")
        );
    }
}
