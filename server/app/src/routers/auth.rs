//! Logging in and out: `auth.login`, `auth.logout`, `auth.me`.

use serde::{Deserialize, Serialize};
use tidings_rpc::{Registry, RpcError};

use super::AppCtx;
use crate::auth::Me;
use crate::state::AppState;

pub(super) fn mount(r: &mut Registry<AppState>) {
    r.mutation("auth.login", login).public();
    r.mutation("auth.logout", logout).public();
    r.query("auth.me", me);
}

/// Input of `auth.login`.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
pub struct LoginInput {
    /// Keystone user name.
    pub username: String,
    /// Keystone password (checked by Keystone, kept on the server only).
    pub password: String,
    /// Only this project (name or id); absent: every project the user has a role on.
    #[serde(default)]
    #[specta(optional)]
    pub project: Option<String>,
}

/// What `auth.login` returns.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
pub struct LoginResult {
    /// The session token, for clients without cookies: send it as `Authorization: Bearer
    /// <token>` (or the `token` connection parameter of a WebSocket). Browsers need not keep
    /// it: the HttpOnly cookie set with this answer carries the session.
    pub token: String,
    /// Who is logged in.
    pub me: Me,
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

/// Who the caller is.
async fn me(ctx: AppCtx, _: ()) -> Result<Me, RpcError> {
    Ok(ctx.state.sessions.require(&ctx.meta)?.me())
}
