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
//! and how many of its calls run at once is bounded (`Session::call_permit`).

pub mod origin;
pub mod proxy;
mod session;
mod sessions;
mod tickets;
pub mod visibility;

pub use proxy::TrustedProxies;
pub use session::{Me, ProjectAccess, Session};
pub use sessions::{COOKIE_NAME, SessionConfig, Sessions};
pub use visibility::{ProjectSet, Visibility};
