//! Times as people type them, as the store keeps them, and as people read
//! them back.
//!
//! The store keeps a time as fixed-width RFC 3339 UTC text with
//! microseconds (`2030-01-02T09:00:00.000000Z`), so it can only hold the
//! years 0001 to 9999: a later year needs a fifth digit and a sign, which it
//! cannot read back. Every time that enters the store is checked against
//! that range first ([`check_storable`]), whoever supplies it.
//!
//! The command line parses what people type with `jiff` ([`parse_when`])
//! in the `[time] zone` of the config, and shows times back in that zone
//! ([`show`]). The sdk's types keep `chrono`; the conversion is here.

use chrono::{DateTime, Utc};
use dossier_sdk::ObjectKind;
use jiff::civil;
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp, Zoned};

use dossier_types::{Error, Result};

/// The earliest time the store keeps: 0001-01-01T00:00:00Z.
const EARLIEST_MICROS: i64 = -62_135_596_800_000_000;
/// The latest time the store keeps: 9999-12-31T23:59:59.999999Z.
const LATEST_MICROS: i64 = 253_402_300_799_999_999;

/// Whether the store can keep `at` and read it back: years 0001 to 9999.
pub fn is_storable(at: DateTime<Utc>) -> bool {
    (EARLIEST_MICROS..=LATEST_MICROS).contains(&at.timestamp_micros())
}

/// Why `at` cannot be stored, phrased to follow what it is (`--due`,
/// "field `due_at`"), or `None` when it can be.
fn out_of_range(at: DateTime<Utc>) -> Option<String> {
    (!is_storable(at)).then(|| {
        format!(
            "is {at}, outside the years 0001 to 9999 that the store keeps \
             (0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999Z)"
        )
    })
}

/// Checks that the store can keep `at` as `object`'s field `field`
/// (`task`, `due_at`): a time outside the years 0001 to 9999 is
/// [`Error::Validation`] naming the field, so no record ever holds a time
/// the store could not read back. Every write path that takes a time from
/// outside (the CLI, scripts, plugins, embedders' `New*` inputs) calls this
/// before the time reaches the store.
pub fn check_storable(object: ObjectKind, field: &str, at: DateTime<Utc>) -> Result<()> {
    match out_of_range(at) {
        None => Ok(()),
        Some(rule) => Err(Error::invalid(object, field, rule)),
    }
}

/// The forms [`parse_when`] takes, for error messages and `--help`.
pub const WHEN_FORMS: &str = "a duration from now (+30m, +1h30m, +2d, \"in 2 hours\"), \
     a date (2030-01-02), a date and time (\"2030-01-02 09:00\", in the configured zone), \
     RFC 3339 (2030-01-02T09:00:00Z), or today/tomorrow with a time (\"tomorrow 09:00\")";

/// Parses a time as people type it on the command line, relative to `now`
/// and in `zone`:
///
/// - a duration from now: `+30m`, `+1h30m`, `2d`, `in 2 hours`, `PT1H`
///   (never negative);
/// - `now`, `today`, `tomorrow`, optionally with a time: `tomorrow 09:00`;
/// - a date (`2030-01-02`, midnight in `zone`), a date and time
///   (`2030-01-02 09:00`, `2030-01-02T09:00:30`, in `zone`);
/// - an instant with an offset: `2030-01-02T09:00:00Z`, `...+02:00`.
///
/// The result is truncated to microseconds (the store's precision) and
/// always storable; otherwise the error says why, phrased to follow the
/// option's name (`--due: ...`).
pub fn parse_when(
    input: &str,
    now: DateTime<Utc>,
    zone: &TimeZone,
) -> std::result::Result<DateTime<Utc>, String> {
    let text = input.trim();
    if text.is_empty() {
        return Err(format!("is empty; give {WHEN_FORMS}"));
    }
    let now = to_jiff(now)?.to_zoned(zone.clone());
    let zoned = parse_zoned(text, &now, zone)?;
    let at = from_jiff(zoned.timestamp())?;
    match out_of_range(at) {
        None => Ok(at),
        Some(reason) => Err(format!("`{input}` {reason}")),
    }
}

/// [`parse_when`] before the range check.
fn parse_zoned(text: &str, now: &Zoned, zone: &TimeZone) -> std::result::Result<Zoned, String> {
    let lower = text.to_ascii_lowercase();
    if let Some(duration) = lower
        .strip_prefix('+')
        .or_else(|| lower.strip_prefix("in "))
    {
        return after(now, duration.trim(), text);
    }
    if lower == "now" {
        return Ok(now.clone());
    }
    for (word, days) in [("today", 0), ("tomorrow", 1)] {
        if let Some(rest) = lower.strip_prefix(word) {
            let rest = rest.trim();
            if !rest.is_empty() && !rest.starts_with(|c: char| c.is_ascii_digit()) {
                continue;
            }
            let day = now
                .date()
                .checked_add(Span::new().days(days))
                .map_err(|e| format!("`{text}`: {e}"))?;
            let time = if rest.is_empty() {
                civil::Time::midnight()
            } else {
                rest.parse::<civil::Time>().map_err(|_| {
                    format!("`{text}`: `{rest}` is not a time of day like 09:00 or 17:30:15")
                })?
            };
            return in_zone(day.to_datetime(time), zone, text);
        }
    }
    if let Ok(t) = text.parse::<Timestamp>() {
        return Ok(t.to_zoned(zone.clone()));
    }
    if let Ok(dt) = text.parse::<civil::DateTime>() {
        return in_zone(dt, zone, text);
    }
    if let Ok(date) = text.parse::<civil::Date>() {
        return in_zone(date.to_datetime(civil::Time::midnight()), zone, text);
    }
    // Last, a bare duration (`30m`, `1h30m`, `-5m`), so dates never read as one.
    if lower.starts_with(|c: char| c.is_ascii_digit() || c == '-') && lower.parse::<Span>().is_ok()
    {
        return after(now, &lower, text);
    }
    Err(format!("`{text}` is not a time: give {WHEN_FORMS}"))
}

/// `now` plus the duration `duration`; `text` is the whole input, for errors.
fn after(now: &Zoned, duration: &str, text: &str) -> std::result::Result<Zoned, String> {
    let span: Span = duration.parse().map_err(|e| {
        format!("`{text}` is not a duration from now like +30m, +1h30m or +2d ({e})")
    })?;
    if span.is_negative() {
        return Err(format!(
            "`{text}` goes back in time; a duration from now must be positive (give a date for a past time)"
        ));
    }
    now.checked_add(span).map_err(|_| {
        format!(
            "`{text}` is too far from now: the store keeps times up to 9999-12-31T23:59:59.999999Z"
        )
    })
}

/// The instant `dt` names in `zone` (the earlier one when a clock change
/// makes it ambiguous, the later side of a gap).
fn in_zone(dt: civil::DateTime, zone: &TimeZone, text: &str) -> std::result::Result<Zoned, String> {
    zone.to_ambiguous_zoned(dt)
        .compatible()
        .map_err(|e| format!("`{text}` is not a time in {}: {e}", zone_name(zone)))
}

/// The name of `zone` as the config spelled it, for messages.
pub fn zone_name(zone: &TimeZone) -> &str {
    zone.iana_name().unwrap_or("the configured zone")
}

/// The time zone named `name` (an IANA name such as `Europe/Paris`, or
/// `UTC`), or why there is none.
pub fn zone(name: &str) -> std::result::Result<TimeZone, String> {
    TimeZone::get(name).map_err(|_| {
        format!("`{name}` is not a time zone: use an IANA name such as UTC, Europe/Paris or America/New_York")
    })
}

fn to_jiff(at: DateTime<Utc>) -> std::result::Result<Timestamp, String> {
    Timestamp::from_microsecond(at.timestamp_micros())
        .map_err(|e| format!("the time {at} is out of range: {e}"))
}

/// `t` in chrono, truncated to microseconds.
fn from_jiff(t: Timestamp) -> std::result::Result<DateTime<Utc>, String> {
    DateTime::from_timestamp_micros(t.as_microsecond())
        .ok_or_else(|| format!("the time {t} is out of range"))
}

/// `at` for people, in `zone`: `2030-01-02 09:00 CET`.
pub fn show(at: DateTime<Utc>, zone: &TimeZone) -> String {
    match to_jiff(at) {
        Ok(t) => t
            .to_zoned(zone.clone())
            .strftime("%Y-%m-%d %H:%M %Z")
            .to_string(),
        Err(_) => at.format("%Y-%m-%d %H:%M UTC").to_string(),
    }
}

/// `at` for people, in `zone`, to the second: `2030-01-02 09:00:30 CET`.
pub fn show_seconds(at: DateTime<Utc>, zone: &TimeZone) -> String {
    match to_jiff(at) {
        Ok(t) => t
            .to_zoned(zone.clone())
            .strftime("%Y-%m-%d %H:%M:%S %Z")
            .to_string(),
        Err(_) => at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
    }
}

/// `at` for people, in `zone`, without the zone's name: `2030-01-02 09:00`.
pub fn show_short(at: DateTime<Utc>, zone: &TimeZone) -> String {
    match to_jiff(at) {
        Ok(t) => t
            .to_zoned(zone.clone())
            .strftime("%Y-%m-%d %H:%M")
            .to_string(),
        Err(_) => at.format("%Y-%m-%d %H:%M").to_string(),
    }
}

/// The offset from UTC that `zone` has at `at` (its summer or winter time),
/// for formatting `at` with chrono in that zone; UTC's when `at` is out of
/// the zone database's range.
pub fn offset_at(at: DateTime<Utc>, zone: &TimeZone) -> chrono::FixedOffset {
    let seconds = to_jiff(at).map_or(0, |t| zone.to_offset(t).seconds());
    // Zone offsets are within a day, which `east_opt` accepts.
    chrono::FixedOffset::east_opt(seconds).unwrap_or_else(|| chrono::Offset::fix(&Utc))
}

/// `t` as the store writes it: fixed-width RFC 3339 UTC with microseconds,
/// so that text order is time order (what exports print).
pub fn stored(t: DateTime<Utc>) -> String {
    dossier_store::ts(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2030-01-02T08:00:00Z".parse().unwrap()
    }

    fn check(input: &str, zone: &str, expected: &str) {
        let zone = super::zone(zone).unwrap();
        let got = parse_when(input, now(), &zone).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(got.to_rfc3339(), expected, "{input}");
    }

    fn refused(input: &str) -> String {
        parse_when(input, now(), &TimeZone::UTC).expect_err(input)
    }

    #[test]
    fn the_forms_people_type() {
        check("+30m", "UTC", "2030-01-02T08:30:00+00:00");
        check("+1h30m", "UTC", "2030-01-02T09:30:00+00:00");
        check("1h30m", "UTC", "2030-01-02T09:30:00+00:00");
        check("in 2 hours", "UTC", "2030-01-02T10:00:00+00:00");
        check("+2d", "UTC", "2030-01-04T08:00:00+00:00");
        check("+PT1H", "UTC", "2030-01-02T09:00:00+00:00");
        check("now", "UTC", "2030-01-02T08:00:00+00:00");
        check("tomorrow 09:00", "UTC", "2030-01-03T09:00:00+00:00");
        check("Tomorrow", "UTC", "2030-01-03T00:00:00+00:00");
        check("today 17:30", "Europe/Paris", "2030-01-02T16:30:00+00:00");
        check("2030-01-02 10:00", "UTC", "2030-01-02T10:00:00+00:00");
        check(
            "2030-07-02 10:00",
            "Europe/Paris",
            "2030-07-02T08:00:00+00:00",
        );
        check("2030-07-02", "Europe/Paris", "2030-07-01T22:00:00+00:00");
        check(
            "2030-01-02T10:00:00+02:00",
            "UTC",
            "2030-01-02T08:00:00+00:00",
        );
        check(
            "9999-12-30T12:00:59.9999999Z",
            "UTC",
            "9999-12-30T12:00:59.999999+00:00",
        );
        check("0001-01-01T00:00:00Z", "UTC", "0001-01-01T00:00:00+00:00");
    }

    #[test]
    fn what_the_store_could_not_read_back_is_refused() {
        for input in [
            "+99999999999d",
            "+9223372036854775807d",
            "+2913000d",
            "+-5m",
            "-5m",
            "in -2 hours",
            "tomorrow-ish",
            "tomorrow 25:00",
            "",
            "2030-02-30",
            "10000-01-01T00:00:00Z",
            "+10000-01-01T00:00:00Z",
            "-0001-01-01T00:00:00Z",
            "0000-12-31T23:59:59Z",
        ] {
            let message = refused(input);
            assert!(!message.is_empty(), "{input}");
        }
        assert!(
            refused("+2913000d").contains("9999"),
            "{}",
            refused("+2913000d")
        );
        assert!(refused("+-5m").contains("back in time"));
    }

    #[test]
    fn the_storable_range_is_the_years_0001_to_9999() {
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        assert!(is_storable(at("0001-01-01T00:00:00Z")));
        assert!(is_storable(at("9999-12-31T23:59:59.999999Z")));
        assert!(!is_storable(at("0000-12-31T23:59:59.999999Z")));
        assert!(!is_storable(at("+10000-01-01T00:00:00Z")));
        let e =
            check_storable(ObjectKind::Task, "due_at", at("+10002-01-01T00:00:00Z")).unwrap_err();
        assert_eq!(e.code(), "validation");
        assert!(e.to_string().contains("field `due_at`"), "{e}");
    }

    #[test]
    fn times_show_in_the_zone() {
        let paris = zone("Europe/Paris").unwrap();
        assert_eq!(show(now(), &paris), "2030-01-02 09:00 CET");
        assert_eq!(show(now(), &TimeZone::UTC), "2030-01-02 08:00 UTC");
        assert_eq!(show_short(now(), &paris), "2030-01-02 09:00");
        assert_eq!(
            show_seconds(now(), &TimeZone::UTC),
            "2030-01-02 08:00:00 UTC"
        );
        assert!(zone("Mars/Olympus").is_err());
    }
}

/// Property tests: whatever is typed, parsing never panics, and whatever it
/// accepts the store writes and reads back unchanged. `PROPTEST_CASES`
/// runs more cases (RELIABILITY.md).
#[cfg(test)]
mod props {
    use proptest::prelude::*;

    use super::*;
    use dossier_store::{parse_ts, ts};

    fn config() -> ProptestConfig {
        ProptestConfig {
            cases: dossier_types::props_cases(256),
            failure_persistence: None,
            ..ProptestConfig::default()
        }
    }

    const ZONES: [&str; 5] = [
        "UTC",
        "Europe/Paris",
        "America/New_York",
        "Pacific/Kiritimati",
        "Australia/Lord_Howe",
    ];

    /// Inputs shaped like what people type, with numbers from anywhere.
    fn typed() -> impl Strategy<Value = String> {
        let unit = prop::sample::select(vec![
            "s", "m", "h", "d", "w", "mo", "y", " days", " hours", "min", "",
        ]);
        prop_oneof![
            (any::<i64>(), unit.clone()).prop_map(|(n, u)| format!("+{n}{u}")),
            (any::<u32>(), unit.clone()).prop_map(|(n, u)| format!("in {n}{u}")),
            (any::<i32>(), unit).prop_map(|(n, u)| format!("{n}{u}")),
            (-1i32..12_000, 0u32..14, 0u32..33)
                .prop_map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}")),
            (-1i32..12_000, 0u32..14, 0u32..33, 0u32..26, 0u32..62)
                .prop_map(|(y, mo, d, h, mi)| { format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}") }),
            (0i32..12_000, 0u32..26, 0u32..62, -15i32..15).prop_map(|(y, h, mi, off)| {
                format!("{y:04}-06-15T{h:02}:{mi:02}:00{off:+03}:00")
            }),
            (
                prop::sample::select(vec!["today", "tomorrow", "Tomorrow", "now"]),
                0u32..30,
                0u32..70
            )
                .prop_map(|(w, h, m)| format!("{w} {h:02}:{m:02}")),
            "\\PC{0,30}",
            any::<String>(),
        ]
    }

    fn storable_instant() -> impl Strategy<Value = DateTime<Utc>> {
        (EARLIEST_MICROS..=LATEST_MICROS)
            .prop_map(|us| DateTime::from_timestamp_micros(us).unwrap_or_default())
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn whatever_is_accepted_the_store_reads_back(
            input in typed(),
            now in storable_instant(),
            zone in prop::sample::select(ZONES.to_vec()),
        ) {
            let zone = super::zone(zone).unwrap();
            if let Ok(at) = parse_when(&input, now, &zone) {
                prop_assert!(is_storable(at), "{input} gave {at}");
                prop_assert_eq!(parse_ts(&ts(at)).ok(), Some(at), "{} round trip", input);
                if input.starts_with('+') || input.starts_with("in ") {
                    prop_assert!(at >= now, "{input} went back in time");
                }
            }
        }

        #[test]
        fn every_storable_time_shows_in_every_zone(
            at in storable_instant(),
            zone in prop::sample::select(ZONES.to_vec()),
        ) {
            let zone = super::zone(zone).unwrap();
            prop_assert!(!show(at, &zone).is_empty());
            prop_assert!(check_storable(ObjectKind::Task, "due_at", at).is_ok());
        }

        #[test]
        fn the_range_check_agrees_with_what_the_store_reads_back(
            us in any::<i64>().prop_filter("chrono's range", |us| {
                DateTime::from_timestamp_micros(*us).is_some()
            }),
        ) {
            let Some(at) = DateTime::from_timestamp_micros(us) else { return Ok(()) };
            let readable = parse_ts(&ts(at)).is_ok_and(|back| back == at);
            // Everything storable reads back; what does not read back is refused.
            prop_assert!(!is_storable(at) || readable, "{at}");
            prop_assert!(readable || check_storable(ObjectKind::Task, "due_at", at).is_err());
        }
    }
}
