//! The bounded, ordered event log that reconnecting subscribers replay from.

use std::collections::VecDeque;
use std::sync::Arc;

use tidings_rpc::Notice;

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

/// The last `capacity` events, oldest first. Ids in the log are consecutive.
#[derive(Debug)]
pub(super) struct EventLog {
    capacity: usize,
    events: VecDeque<Logged>,
}

impl EventLog {
    /// An empty log retaining at most `capacity` events (0 retains none: every resume is a gap).
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            events: VecDeque::with_capacity(capacity.min(4096)),
        }
    }

    /// Forgets every event: the log restarts (a shared bus lost continuity).
    pub(super) fn clear(&mut self) {
        self.events.clear();
    }

    /// Appends `event`, evicting the oldest when full.
    pub(super) fn push(&mut self, event: Logged) {
        if self.capacity == 0 {
            return;
        }
        if self.events.len() == self.capacity {
            self.events.pop_front();
        }
        self.events.push_back(event);
    }

    /// Decides where a subscriber resumes, `current` being the latest event id.
    pub(super) fn resume(&self, last_event_id: Option<&str>, current: u64) -> Resume {
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
        let oldest = self.events.front().map_or(current + 1, |event| event.id);
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
            .map_or(0, |first| seen.saturating_sub(first.id - 1));
        self.events
            .iter()
            .skip(usize::try_from(skip).unwrap_or(usize::MAX))
    }
}
