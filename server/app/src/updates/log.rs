//! The bounded, ordered event log that reconnecting subscribers replay from: the last N events
//! or the last T of them, whichever is fewer.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use tidings_rpc::Notice;
use tokio::time::Instant;

use super::kinds::UpdateType;

/// One emitted event, as logged and as broadcast to live subscribers.
#[derive(Debug, Clone)]
pub(super) struct Logged {
    /// The event id (consecutive from 1).
    pub(super) id: u64,
    /// What changed, for the subscriber's type filter; `None` marks a restart of the log (a
    /// shared bus lost continuity): every subscriber is resynced at `id`. Never logged.
    pub(super) ty: Option<UpdateType>,
    /// The encoded notice, shared by every subscriber.
    pub(super) notice: Arc<Notice>,
    /// The project the change is confined to (`None`: global), for the subscriber's
    /// visibility filter.
    pub(super) scope: Option<Arc<str>>,
}

/// Where a subscriber starts, given the `lastEventId` it sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Resume {
    /// No replay: live events only.
    Live,
    /// Replay every retained event with an id above this one, then go live.
    After(u64),
    /// The requested point cannot be replayed; send a resync, then go live.
    Resync,
}

/// The retained events, oldest first: at most `capacity`, none older than `max_age`. Ids in
/// the log are consecutive.
///
/// Age is enforced lazily, when an event is pushed and when a subscriber resumes: no timer per
/// event. The caller passes the current time, so the log itself never reads a clock.
#[derive(Debug)]
pub(super) struct EventLog {
    capacity: usize,
    max_age: Duration,
    events: VecDeque<Stamped>,
}

/// A retained event and when it was emitted.
#[derive(Debug)]
struct Stamped {
    at: Instant,
    event: Logged,
}

impl EventLog {
    /// An empty log retaining at most `capacity` events for at most `max_age` (a capacity of 0
    /// retains none: every resume is a gap).
    pub(super) fn new(capacity: usize, max_age: Duration) -> Self {
        Self {
            capacity,
            max_age,
            events: VecDeque::with_capacity(capacity.min(4096)),
        }
    }

    /// Forgets every event: the log restarts (a shared bus lost continuity).
    pub(super) fn clear(&mut self) {
        self.events.clear();
    }

    /// Appends `event`, emitted at `at`, evicting what is older than the window as of `at`
    /// and then the oldest when full.
    pub(super) fn push(&mut self, event: Logged, at: Instant) {
        self.expire(at);
        if self.capacity == 0 {
            return;
        }
        if self.events.len() == self.capacity {
            self.events.pop_front();
        }
        self.events.push_back(Stamped { at, event });
    }

    /// Evicts the events emitted more than `max_age` before `now`.
    pub(super) fn expire(&mut self, now: Instant) {
        while self
            .events
            .front()
            .is_some_and(|oldest| now.saturating_duration_since(oldest.at) > self.max_age)
        {
            self.events.pop_front();
        }
    }

    /// Decides where a subscriber resumes at `now`, `current` being the latest event id;
    /// events past their age are evicted first, so a resume older than the window resyncs.
    pub(super) fn resume(
        &mut self,
        last_event_id: Option<&str>,
        current: u64,
        now: Instant,
    ) -> Resume {
        self.expire(now);
        let Some(raw) = last_event_id else {
            return Resume::Live;
        };
        let Ok(seen) = raw.trim().parse::<u64>() else {
            return Resume::Resync;
        };
        if seen > current {
            return Resume::Resync;
        }
        if seen == current {
            return Resume::Live;
        }
        let oldest = self
            .events
            .front()
            .map_or(current + 1, |oldest| oldest.event.id);
        if oldest > seen + 1 {
            Resume::Resync
        } else {
            Resume::After(seen)
        }
    }

    /// The retained events with an id above `seen`, oldest first.
    pub(super) fn after(&self, seen: u64) -> impl Iterator<Item = &Logged> {
        let skip = self
            .events
            .front()
            .map_or(0, |first| seen.saturating_sub(first.event.id - 1));
        self.events
            .iter()
            .skip(usize::try_from(skip).unwrap_or(usize::MAX))
            .map(|stamped| &stamped.event)
    }

    /// How many events are retained.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.events.len()
    }
}

#[cfg(test)]
mod tests {
    use super::super::wire;
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    fn event(id: u64) -> Logged {
        Logged {
            id,
            ty: Some(UpdateType::Volumes),
            notice: wire::change(id, UpdateType::Volumes, None),
            scope: None,
        }
    }

    /// A log holding `ids`, each pushed `step` after the previous one from `start`.
    fn filled(
        capacity: usize,
        max_age: Duration,
        ids: std::ops::RangeInclusive<u64>,
        start: Instant,
        step: Duration,
    ) -> EventLog {
        let mut log = EventLog::new(capacity, max_age);
        let mut at = start;
        for id in ids {
            log.push(event(id), at);
            at += step;
        }
        log
    }

    fn retained(log: &EventLog, seen: u64) -> Vec<u64> {
        log.after(seen).map(|event| event.id).collect()
    }

    #[test]
    fn at_most_capacity_events_are_kept_newest_last() {
        let now = Instant::now();
        let mut log = filled(3, MINUTE, 1..=6, now, Duration::ZERO);
        assert_eq!(log.len(), 3);
        assert_eq!(retained(&log, 0), [4, 5, 6]);
        assert_eq!(retained(&log, 4), [5, 6]);
        assert_eq!(log.resume(Some("3"), 6, now), Resume::After(3));
        assert_eq!(log.resume(Some("2"), 6, now), Resume::Resync);
    }

    #[test]
    fn a_capacity_of_zero_keeps_nothing_and_every_gap_resyncs() {
        let now = Instant::now();
        let mut log = filled(0, MINUTE, 1..=3, now, Duration::ZERO);
        assert_eq!(log.len(), 0);
        assert_eq!(log.resume(Some("2"), 3, now), Resume::Resync);
        assert_eq!(log.resume(Some("3"), 3, now), Resume::Live);
    }

    #[test]
    fn events_older_than_max_age_are_evicted_on_push() {
        let start = Instant::now();
        // 1 at 0 s, 2 at 40 s, 3 at 80 s, 4 at 120 s: at 120 s, 1 and 2 are past a minute.
        let log = filled(16, MINUTE, 1..=4, start, Duration::from_secs(40));
        assert_eq!(retained(&log, 0), [3, 4]);
    }

    #[test]
    fn an_event_exactly_max_age_old_is_kept_and_one_instant_later_evicted_on_resume() {
        let start = Instant::now();
        let mut log = filled(16, MINUTE, 1..=2, start, Duration::from_secs(10));
        let edge = start + MINUTE;
        assert_eq!(log.resume(Some("0"), 2, edge), Resume::After(0));
        assert_eq!(log.len(), 2);
        let later = edge + Duration::from_millis(1);
        assert_eq!(log.resume(Some("0"), 2, later), Resume::Resync);
        assert_eq!(log.len(), 1, "evicted by the resume, without a push");
        assert_eq!(log.resume(Some("1"), 2, later), Resume::After(1));
        // Everything past its age: a gap for any id but the latest.
        let much_later = start + 10 * MINUTE;
        assert_eq!(log.resume(Some("1"), 2, much_later), Resume::Resync);
        assert_eq!(log.len(), 0);
        assert_eq!(log.resume(Some("2"), 2, much_later), Resume::Live);
    }

    #[test]
    fn count_and_age_both_apply_whichever_keeps_fewer() {
        let start = Instant::now();
        let step = Duration::from_secs(10);
        // Count binds: 20 events within a minute, 5 kept.
        let mut log = filled(5, MINUTE, 1..=20, start, Duration::ZERO);
        assert_eq!(retained(&log, 0), [16, 17, 18, 19, 20]);
        assert_eq!(log.resume(Some("15"), 20, start), Resume::After(15));
        assert_eq!(log.resume(Some("14"), 20, start), Resume::Resync);
        // Age binds: one every 10 s, room for 100, the last minute's 7 kept (60 s..=120 s).
        let mut log = filled(100, MINUTE, 1..=13, start, step);
        assert_eq!(retained(&log, 0), [7, 8, 9, 10, 11, 12, 13]);
        let last = start + step * 12;
        assert_eq!(log.resume(Some("6"), 13, last), Resume::After(6));
        assert_eq!(log.resume(Some("5"), 13, last), Resume::Resync);
    }

    #[test]
    fn boundaries_of_the_last_event_id() {
        let now = Instant::now();
        // Holds 5..=9 (capacity 5); the latest id is 9.
        let mut log = filled(5, MINUTE, 1..=9, now, Duration::ZERO);
        // Exactly the oldest retained − 1: everything retained is replayed.
        assert_eq!(log.resume(Some("4"), 9, now), Resume::After(4));
        assert_eq!(retained(&log, 4), [5, 6, 7, 8, 9]);
        // One further back: event 4 is gone.
        assert_eq!(log.resume(Some("3"), 9, now), Resume::Resync);
        // The oldest retained itself, and one before the latest.
        assert_eq!(log.resume(Some("5"), 9, now), Resume::After(5));
        assert_eq!(log.resume(Some("8"), 9, now), Resume::After(8));
        assert_eq!(retained(&log, 8), [9]);
        // Equal to the latest: nothing to replay.
        assert_eq!(log.resume(Some("9"), 9, now), Resume::Live);
        // Ahead of the latest (another log's id, or a client bug).
        assert_eq!(log.resume(Some("10"), 9, now), Resume::Resync);
        assert_eq!(
            log.resume(Some("18446744073709551615"), 9, now),
            Resume::Resync
        );
        // Garbage.
        for bad in ["", " ", "abc", "-1", "4.0", "0x4", "18446744073709551616"] {
            assert_eq!(log.resume(Some(bad), 9, now), Resume::Resync, "{bad:?}");
        }
        // Surrounding whitespace is tolerated.
        assert_eq!(log.resume(Some(" 4 "), 9, now), Resume::After(4));
        // No id: live only.
        assert_eq!(log.resume(None, 9, now), Resume::Live);
    }

    #[test]
    fn an_empty_log_resumes_from_zero_live_and_from_anything_else_with_a_resync() {
        let now = Instant::now();
        let mut log = EventLog::new(8, MINUTE);
        assert_eq!(log.resume(Some("0"), 0, now), Resume::Live);
        assert_eq!(log.resume(Some("1"), 0, now), Resume::Resync);
        assert_eq!(retained(&log, 0), Vec::<u64>::new());
        // From zero with one event retained: replays it.
        log.push(event(1), now);
        assert_eq!(log.resume(Some("0"), 1, now), Resume::After(0));
        assert_eq!(retained(&log, 0), [1]);
    }

    #[test]
    fn clear_forgets_everything() {
        let now = Instant::now();
        let mut log = filled(8, MINUTE, 1..=3, now, Duration::ZERO);
        log.clear();
        assert_eq!(log.len(), 0);
        assert_eq!(log.resume(Some("2"), 3, now), Resume::Resync);
    }
}
