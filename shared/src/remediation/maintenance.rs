//! A maintenance window the instance's owner declares on the instance itself: the tag
//! `ec2ops:maintenance-until=<RFC 3339 time>`. Until that time ec2ops reports but does not act on the instance (a
//! reboot or a stop in the middle of someone's maintenance is the last thing it needs). The tag is bounded: a time
//! more than [`MAX_AHEAD_HOURS`] ahead, or anything that is not an RFC 3339 time, is ignored and the report says so —
//! a forgotten tag must not switch ec2ops off for an instance for good. A time in the past is no window.
//!
//! The window holds the *action* whatever the priority, a P0 status-check failure included: a reboot or a stop in the
//! middle of the owner's maintenance is the harm the tag exists to prevent, and the report still goes out as usual
//! (it says the action is held, and until when).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};

/// The tag that declares the window.
pub const TAG: &str = "ec2ops:maintenance-until";

/// How far ahead a window may end.
pub const MAX_AHEAD_HOURS: i64 = 24;

/// What the instance's tag says at `now`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Maintenance {
    /// No tag, or a window that has ended.
    None,
    /// A window that ends at this time.
    Until(DateTime<Utc>),
    /// A tag ec2ops does not follow, as written (bounded), and why.
    Ignored { value: String, why: Ignored },
}

/// Why a maintenance tag is not followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ignored {
    /// Not an RFC 3339 time (`2026-12-07T22:00:00Z`).
    NotATime,
    /// It ends more than [`MAX_AHEAD_HOURS`] after `now`.
    TooFarAhead,
}

/// The window the tags declare at `now`.
pub fn maintenance(tags: &BTreeMap<String, String>, now: DateTime<Utc>) -> Maintenance {
    let Some(value) = tags.get(TAG) else {
        return Maintenance::None;
    };
    let ignored = |why| Maintenance::Ignored {
        value: crate::text::bound(value, 64),
        why,
    };
    let Ok(until) = DateTime::parse_from_rfc3339(value.trim()) else {
        return ignored(Ignored::NotATime);
    };
    let until = until.with_timezone(&Utc);
    match now.checked_add_signed(Duration::hours(MAX_AHEAD_HOURS)) {
        Some(latest) if until > latest => ignored(Ignored::TooFarAhead),
        _ if until <= now => Maintenance::None,
        _ => Maintenance::Until(until),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    fn tagged(v: &str) -> BTreeMap<String, String> {
        BTreeMap::from([(TAG.to_string(), v.to_string())])
    }

    #[test]
    fn an_active_window_holds_until_its_end_and_an_ended_one_is_no_window() {
        let now = at("2026-12-07T21:00:00Z");
        assert_eq!(
            maintenance(&tagged("2026-12-07T23:30:00+09:00"), now),
            Maintenance::None,
            "14:30 UTC, in the past: the window ended"
        );
        assert_eq!(
            maintenance(&tagged("2026-12-08T07:30:00+09:00"), now),
            Maintenance::Until(at("2026-12-07T22:30:00Z"))
        );
        assert_eq!(
            maintenance(&tagged("2026-12-07T20:59:59Z"), now),
            Maintenance::None
        );
        assert_eq!(maintenance(&BTreeMap::new(), now), Maintenance::None);
    }

    #[test]
    fn a_malformed_tag_or_one_more_than_a_day_ahead_is_ignored_and_named() {
        let now = at("2026-12-07T21:00:00Z");
        for (value, why) in [
            ("tomorrow", Ignored::NotATime),
            ("2026-12-08", Ignored::NotATime),
            ("", Ignored::NotATime),
            ("2026-12-08T21:00:01Z", Ignored::TooFarAhead),
            ("2099-01-01T00:00:00Z", Ignored::TooFarAhead),
        ] {
            assert_eq!(
                maintenance(&tagged(value), now),
                Maintenance::Ignored {
                    value: value.to_string(),
                    why
                },
                "{value:?}"
            );
        }
        assert_eq!(
            maintenance(&tagged("2026-12-08T21:00:00Z"), now),
            Maintenance::Until(at("2026-12-08T21:00:00Z")),
            "exactly a day ahead is allowed"
        );
    }
}
