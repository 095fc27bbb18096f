//! When a CronJob runs, in UTC: its schedule read in its `timeZone` (or, without one, in
//! the controller's zone, UTC on managed clusters), and when the alert expected it (a
//! time of day its words give: `by 05:00 UTC`, `at 07:00 Europe/Brussels`).

use std::sync::LazyLock;

use chrono::{DateTime, Duration, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use regex::Regex;

use crate::kube::cron::Schedule;

/// A schedule and the zone it is read in.
pub struct Timed {
    pub schedule: Schedule,
    pub zone: Tz,
}

impl Timed {
    /// A CronJob's schedule in its `timeZone` (a `CRON_TZ=` prefix counts too); UTC
    /// when neither is given or the zone is unknown.
    pub fn parse(schedule: &str, time_zone: Option<&str>) -> Option<Self> {
        let schedule = Schedule::parse(schedule).ok()?;
        let zone = time_zone
            .or(schedule.time_zone.as_deref())
            .and_then(|z| z.parse::<Tz>().ok())
            .unwrap_or(Tz::UTC);
        Some(Self { schedule, zone })
    }

    fn local(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        Utc.from_utc_datetime(&at.with_timezone(&self.zone).naive_local())
    }

    fn utc(&self, wall: NaiveDateTime) -> Option<DateTime<Utc>> {
        self.zone
            .from_local_datetime(&wall)
            .earliest()
            .map(|t| t.with_timezone(&Utc))
    }

    /// The latest fire time at or before `at`.
    pub fn previous(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let wall = self.schedule.previous(self.local(at))?;
        self.utc(wall.naive_utc())
    }

    /// The first fire time after `after`.
    pub fn next(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        for window in [
            Duration::hours(1),
            Duration::days(1),
            Duration::days(8),
            Duration::days(32),
            Duration::days(400),
        ] {
            let Some(mut t) = self.previous(after + window) else {
                continue;
            };
            if t <= after {
                continue;
            }
            // Walk back to the first fire after `after`.
            for _ in 0..200 {
                match self.previous(t - Duration::minutes(1)) {
                    Some(p) if p > after => t = p,
                    _ => return Some(t),
                }
            }
            return Some(t);
        }
        None
    }
}

static TIME_OF_DAY: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"\b([01]?\d|2[0-3]):([0-5]\d)\s*(UTC|GMT|Z\b|[A-Z][A-Za-z]+/[A-Za-z_]+(?:/[A-Za-z_]+)?)",
    )
    .ok()
});

/// The time the alert's words say the work was expected by: the latest time of day they
/// name with a zone (`05:00 UTC`, `07:00 Europe/Brussels`) that falls at or before the
/// alert's start on its day.
pub fn expected_by(text: &str, start: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let re = TIME_OF_DAY.as_ref()?;
    re.captures_iter(text)
        .filter_map(|c| {
            let zone: Tz = match &c[3] {
                "UTC" | "GMT" | "Z" => Tz::UTC,
                z => z.parse().ok()?,
            };
            let (h, m): (u32, u32) = (c[1].parse().ok()?, c[2].parse().ok()?);
            let day = start.with_timezone(&zone).date_naive();
            let wall = day.and_hms_opt(h, m, 0)?;
            let at = zone
                .from_local_datetime(&wall)
                .earliest()?
                .with_timezone(&Utc);
            Some(if at > start {
                at - Duration::days(1)
            } else {
                at
            })
        })
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_schedule_runs_in_its_zone_and_in_utc_without_one() {
        let ny = Timed::parse("30 4 * * *", Some("America/New_York")).unwrap();
        // 04:30 in New York in July is 08:30 UTC.
        assert_eq!(
            ny.previous(at("2025-07-08T05:12:00Z")),
            Some(at("2025-07-07T08:30:00Z"))
        );
        assert_eq!(
            ny.next(at("2025-07-07T08:30:00Z")),
            Some(at("2025-07-08T08:30:00Z"))
        );
        let utc = Timed::parse("30 6 * * *", None).unwrap();
        assert_eq!(
            utc.next(at("2025-07-14T06:30:00Z")),
            Some(at("2025-07-15T06:30:00Z"))
        );
        let every5 = Timed::parse("*/5 * * * *", Some("Europe/Berlin")).unwrap();
        assert_eq!(
            every5.next(at("2025-07-14T06:31:00Z")),
            Some(at("2025-07-14T06:35:00Z"))
        );
        assert_eq!(
            Timed::parse("0 1 * * *", Some("Mars/Olympus")).map(|t| t.zone),
            Some(Tz::UTC)
        );
    }

    #[test]
    fn the_alert_says_when_it_expected_the_work() {
        let start = at("2025-07-15T05:01:30Z");
        assert_eq!(
            expected_by("was not uploaded by 07:00 Europe/Brussels", start),
            Some(at("2025-07-15T05:00:00Z"))
        );
        assert_eq!(
            expected_by("partners pull the feed at 05:00 UTC.", start),
            Some(at("2025-07-15T05:00:00Z"))
        );
        // A time later in the day than the start meant the day before.
        assert_eq!(
            expected_by("due by 23:00 UTC", start),
            Some(at("2025-07-14T23:00:00Z"))
        );
        assert_eq!(expected_by("took 12:30 minutes", start), None);
    }
}
