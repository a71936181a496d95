//! Stream tickets: short-lived, single-use stand-ins for a session token, for the one place a
//! browser cannot send a header, the URL of an SSE subscription (`?connectionParams=`). URLs
//! end up in proxy logs and browser histories; a ticket found there is already used or expired.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tidings_rpc::{ErrorCode, RpcError};

/// Most tickets one session may hold unused at once; asking for more is refused.
const MAX_PER_SESSION: usize = 16;

/// One unused ticket.
struct Ticket {
    /// The session it stands for.
    session: Arc<str>,
    /// When it stops being accepted.
    expires: Instant,
}

/// The unused tickets of every session.
#[derive(Default)]
pub(super) struct Tickets {
    open: Mutex<HashMap<String, Ticket>>,
}

impl Tickets {
    /// A new ticket standing for the session with `token` for `ttl`.
    pub(super) fn issue(&self, token: &Arc<str>, ttl: Duration) -> Result<String, RpcError> {
        let now = Instant::now();
        let mut open = self.lock();
        open.retain(|_, ticket| ticket.expires > now);
        let held = open
            .values()
            .filter(|ticket| ticket.session == *token)
            .count();
        if held >= MAX_PER_SESSION {
            return Err(RpcError::new(
                ErrorCode::TooManyRequests,
                format!("this session already holds {held} unused stream tickets"),
            ));
        }
        let ticket = super::sessions::new_token();
        open.insert(
            ticket.to_string(),
            Ticket {
                session: Arc::clone(token),
                expires: now + ttl,
            },
        );
        Ok(ticket.to_string())
    }

    /// Uses up `ticket`: the token of the session it stands for, if it is unused and unexpired.
    pub(super) fn redeem(&self, ticket: &str) -> Option<Arc<str>> {
        let ticket = self.lock().remove(ticket)?;
        (ticket.expires > Instant::now()).then_some(ticket.session)
    }

    /// Forgets the tickets of the session with `token` (it ended).
    pub(super) fn forget(&self, token: &str) {
        self.lock().retain(|_, ticket| &*ticket.session != token);
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Ticket>> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_is_used_once() {
        let tickets = Tickets::default();
        let token: Arc<str> = Arc::from("session");
        let ticket = tickets.issue(&token, Duration::from_secs(30)).unwrap();
        assert_eq!(tickets.redeem(&ticket).as_deref(), Some("session"));
        assert_eq!(tickets.redeem(&ticket), None);
    }

    #[test]
    fn expired_and_forgotten_tickets_are_refused() {
        let tickets = Tickets::default();
        let token: Arc<str> = Arc::from("session");
        let expired = tickets.issue(&token, Duration::ZERO).unwrap();
        assert_eq!(tickets.redeem(&expired), None);
        let ticket = tickets.issue(&token, Duration::from_secs(30)).unwrap();
        tickets.forget("session");
        assert_eq!(tickets.redeem(&ticket), None);
    }

    #[test]
    fn a_session_holds_a_bounded_number_of_tickets() {
        let tickets = Tickets::default();
        let token: Arc<str> = Arc::from("session");
        for _ in 0..MAX_PER_SESSION {
            tickets.issue(&token, Duration::from_secs(30)).unwrap();
        }
        let refused = tickets.issue(&token, Duration::from_secs(30)).unwrap_err();
        assert_eq!(refused.code, ErrorCode::TooManyRequests);
        let other: Arc<str> = Arc::from("other");
        assert!(tickets.issue(&other, Duration::from_secs(30)).is_ok());
    }
}
