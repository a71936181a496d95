//! Logging in and out: `auth.login`, `auth.logout`, `auth.me`, and `auth.streamTicket` for
//! SSE subscriptions that cannot send the session cookie.

use serde::{Deserialize, Serialize};
use tidings_rpc::{Registry, RpcError};

use super::AppCtx;
use crate::auth::Me;
use crate::state::AppState;

pub(super) fn mount(r: &mut Registry<AppState>) {
    r.mutation("auth.login", login).public();
    r.mutation("auth.logout", logout).public();
    r.query("auth.me", me);
    r.mutation("auth.streamTicket", stream_ticket);
}

/// Input of `auth.login`. `Debug` hides the password.
#[derive(Clone, Serialize, Deserialize, specta::Type)]
pub(crate) struct LoginInput {
    /// Keystone user name.
    pub username: String,
    /// Keystone password (checked by Keystone, kept on the server only).
    pub password: String,
    /// Only this project (name or id); absent: every project the user has a role on.
    #[serde(default)]
    #[specta(optional)]
    pub project: Option<String>,
}

impl std::fmt::Debug for LoginInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginInput")
            .field("username", &self.username)
            .field("password", &"***")
            .field("project", &self.project)
            .finish()
    }
}

/// What `auth.login` returns. `Debug` hides the token.
#[derive(Clone, Serialize, Deserialize, specta::Type)]
pub(crate) struct LoginResult {
    /// The session token, for clients without cookies: send it as `Authorization: Bearer
    /// <token>` (or the `token` connection parameter of a WebSocket). Browsers need not keep
    /// it: the HttpOnly cookie set with this answer carries the session.
    pub token: String,
    /// Who is logged in.
    pub me: Me,
}

impl std::fmt::Debug for LoginResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginResult")
            .field("token", &"***")
            .field("me", &self.me)
            .finish()
    }
}

/// Opens a session; sets the session cookie on HTTP.
async fn login(ctx: AppCtx, input: LoginInput) -> Result<LoginResult, RpcError> {
    if input.username.is_empty() || input.password.is_empty() {
        return Err(RpcError::bad_request(
            "Invalid input: username and password are required",
        ));
    }
    let sessions = &ctx.state.sessions;
    // A login replaces the session the client had, if any (if the session store cannot be
    // told, that session runs out by its idle time-out).
    let _ = sessions.end_presented(&ctx.meta).await;
    let client = sessions.config().proxies.client_ip(&ctx.meta);
    let session = sessions
        .login(
            &input.username,
            &input.password,
            input.project.as_deref(),
            client,
        )
        .await?;
    sessions.set_cookie(&session, &ctx.meta);
    Ok(LoginResult {
        token: session.token().to_owned(),
        me: session.me(),
    })
}

/// Ends the caller's session (its open streams end too, on every instance) and clears the
/// cookie. Succeeds without a session: logging out twice is not an error. Fails with
/// `SERVICE_UNAVAILABLE` when a shared session store cannot be told (try again).
async fn logout(ctx: AppCtx, _: ()) -> Result<(), RpcError> {
    ctx.state.sessions.clear_cookie(&ctx.meta);
    ctx.state.sessions.end_presented(&ctx.meta).await
}

/// What `auth.streamTicket` returns.
#[derive(Clone, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StreamTicket {
    /// Opens one `updates.subscribe` over SSE as the caller's session: pass it as the
    /// `ticket` connection parameter (`httpSubscriptionLink({ connectionParams: { ticket } })`).
    /// Usable once, until it expires or the session ends.
    pub ticket: String,
    /// Seconds it stays usable.
    pub expires_in_seconds: u32,
}

impl std::fmt::Debug for StreamTicket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamTicket")
            .field("expires_in_seconds", &self.expires_in_seconds)
            .finish_non_exhaustive()
    }
}

/// A single-use ticket that opens one SSE subscription as the caller's session, for browsers
/// that cannot send the session cookie with it (another origin): the session token itself is
/// never accepted in a URL.
async fn stream_ticket(ctx: AppCtx, _: ()) -> Result<StreamTicket, RpcError> {
    let sessions = &ctx.state.sessions;
    let session = sessions.require(&ctx.meta)?;
    let ttl = sessions.config().ticket_ttl;
    Ok(StreamTicket {
        ticket: sessions.issue_ticket(&session)?,
        expires_in_seconds: u32::try_from(ttl.as_secs()).unwrap_or(u32::MAX),
    })
}

/// Who the caller is.
async fn me(ctx: AppCtx, _: ()) -> Result<Me, RpcError> {
    Ok(ctx.state.sessions.require(&ctx.meta)?.me())
}
