//! Wall-clock timestamps in the several ISO-8601 spellings the OpenStack services use.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A point in time, rendered the way each service spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Stamp(SystemTime);

impl Stamp {
    /// The current wall-clock time.
    pub(crate) fn now() -> Self {
        Self(SystemTime::now())
    }

    /// This time moved `by` into the future.
    pub(crate) fn plus(self, by: Duration) -> Self {
        Self(self.0 + by)
    }

    /// How long from now until this time; zero when it has passed.
    pub(crate) fn after_now(self) -> Duration {
        self.0.duration_since(SystemTime::now()).unwrap_or_default()
    }

    /// Reads `2015-11-07T02:58:43.578887Z` and its spellings without fraction or `Z` (taken as
    /// UTC, as every service writes it); `None` for anything else.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let text = text.trim_end_matches('Z');
        let text = text.strip_suffix("+00:00").unwrap_or(text);
        let (date, time) = text.split_once('T')?;
        let mut date = date.splitn(3, '-').map(str::parse::<i64>);
        let (year, month, day) = (date.next()?.ok()?, date.next()?.ok()?, date.next()?.ok()?);
        let (time, fraction) = time.split_once('.').unwrap_or((time, ""));
        let mut time = time.splitn(3, ':').map(str::parse::<u64>);
        let (hour, minute, second) = (time.next()?.ok()?, time.next()?.ok()?, time.next()?.ok()?);
        if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
            return None;
        }
        let micros = match fraction {
            "" => 0,
            digits if digits.bytes().all(|b| b.is_ascii_digit()) => {
                format!("{digits:0<6}").get(..6)?.parse::<u64>().ok()?
            }
            _ => return None,
        };
        let days = u64::try_from(days_from_civil(year, month, day)).ok()?;
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second;
        let since = Duration::from_secs(seconds) + Duration::from_micros(micros);
        Some(Self(UNIX_EPOCH + since))
    }

    /// `2013-09-03T04:01:32Z` (Nova, Glance, Neutron).
    pub(crate) fn seconds_z(self) -> String {
        let (date, _) = self.parts();
        format!("{date}Z")
    }

    /// `2018-11-28T06:25:15.288987` (Cinder, Nova's launched_at).
    pub(crate) fn micros(self) -> String {
        let (date, micros) = self.parts();
        format!("{date}.{micros:06}")
    }

    /// `2015-11-07T02:58:43.578887Z` (Keystone).
    pub(crate) fn micros_z(self) -> String {
        format!("{}Z", self.micros())
    }

    fn parts(self) -> (String, u32) {
        let since = self.0.duration_since(UNIX_EPOCH).unwrap_or_default();
        let secs = since.as_secs() as i64;
        let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
        let rem = secs.rem_euclid(86_400);
        let date = format!(
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
            rem / 3600,
            rem % 3600 / 60,
            rem % 60
        );
        (date, since.subsec_micros())
    }
}

/// A proleptic Gregorian (year, month, day) to days since 1970-01-01.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
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

    #[test]
    fn renders_known_instants() {
        let t = Stamp(UNIX_EPOCH + Duration::from_micros(1_446_861_523_578_887));
        assert_eq!(t.micros_z(), "2015-11-07T01:58:43.578887Z");
        assert_eq!(t.seconds_z(), "2015-11-07T01:58:43Z");
        assert_eq!(Stamp(UNIX_EPOCH).micros(), "1970-01-01T00:00:00.000000");
        let leap = Stamp(UNIX_EPOCH + Duration::from_secs(951_782_400));
        assert_eq!(leap.seconds_z(), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn reads_what_it_renders() {
        let t = Stamp(UNIX_EPOCH + Duration::from_micros(1_446_861_523_578_887));
        assert_eq!(Stamp::parse(&t.micros_z()), Some(t));
        assert_eq!(Stamp::parse("2015-11-07T01:58:43.578887+00:00"), Some(t));
        let whole = Stamp(UNIX_EPOCH + Duration::from_secs(951_782_400));
        assert_eq!(Stamp::parse("2000-02-29T00:00:00Z"), Some(whole));
        assert_eq!(Stamp::parse("2000-02-29T00:00:00"), Some(whole));
        let tenth = Stamp::parse("2000-02-29T00:00:00.1Z").unwrap();
        assert_eq!(tenth, whole.plus(Duration::from_millis(100)));
        for bad in [
            "",
            "2000-02-29",
            "2000-13-01T00:00:00Z",
            "2000-02-29T00:00:00.x1Z",
        ] {
            assert_eq!(Stamp::parse(bad), None, "{bad}");
        }
        assert_eq!(Stamp(UNIX_EPOCH).after_now(), Duration::ZERO);
    }
}
