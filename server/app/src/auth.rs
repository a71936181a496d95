//! Sessions: who is calling, which projects they may see, and what they may do there.
//!
//! `auth.login` checks a user's password against Keystone and opens a server-side session: a
//! random opaque token that browsers keep in an HttpOnly cookie and other clients send as
//! `Authorization: Bearer <token>` (or as the `token` connection parameter of a tRPC
//! WebSocket). Never in a URL: an SSE subscription that cannot send the cookie opens with a
//! short-lived, single-use ticket from `auth.streamTicket` instead (`tickets`). The user's
//! Keystone credentials and tokens stay on the server, in the session's own OpenStack client,
//! which renews its tokens before they expire. Every domain procedure and `updates.subscribe`
//! require a session (the registry's guard); what a session may see is its [`Visibility`],
//! and how many of its calls run at once is bounded (`Session::call_permit`). Sessions live in
//! this process, or, with `--bus redis://…`, in Redis, found by a hash of the token and sealed
//! under a key derived from it, so a client may land on any instance ([`store`] has the
//! design, `record` the sealing).

pub mod origin;
pub mod proxy;
pub(crate) mod record;
mod session;
mod sessions;
pub mod store;
pub mod throttle;
mod tickets;
pub mod visibility;

pub use proxy::TrustedProxies;
pub use record::session_id;
pub use session::{Me, ProjectAccess, Session};
pub use sessions::{COOKIE_NAME, SessionConfig, Sessions};
pub use store::{SessionStore, SharedSessions};
pub use throttle::{Throttle, ThrottleConfig};
pub use visibility::{ProjectSet, Visibility};
