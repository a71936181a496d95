//! Operator procedures, guarded by the admin bearer token.

use serde::{Deserialize, Serialize};
use tidings_rpc::{ErrorCode, Registry, RpcError};

use super::AppCtx;
use crate::auth::throttle::Outcome;
use crate::state::AppState;
use crate::updates::UpdateType;

pub(super) fn mount(r: &mut Registry<AppState>) {
    // Authorized by the operator's token, not by a session.
    r.mutation("admin.notify", notify).public();
}

/// Input of `admin.notify`.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
pub(crate) struct NotifyInput {
    /// What changed.
    #[serde(rename = "type")]
    pub kind: UpdateType,
    /// The project it changed in; global when absent.
    #[serde(default)]
    #[specta(optional)]
    pub scope: Option<String>,
}

/// What `admin.notify` did.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NotifyResult {
    /// The id of the latest event after the notice (coalesced notices may be sent a little
    /// later, with a larger id).
    pub last_event_id: String,
}

/// Makes every subscriber that shows `type` refetch; benchmarks use it as their trigger.
async fn notify(ctx: AppCtx, input: NotifyInput) -> Result<NotifyResult, RpcError> {
    authorize(&ctx).await?;
    ctx.state.updates.notify(input.kind, input.scope.as_deref());
    Ok(NotifyResult {
        last_event_id: ctx.state.updates.last_event_id().to_string(),
    })
}

/// Checks `Authorization: Bearer <admin token>` in constant time, after reserving the check with
/// the throttle (failed checks are counted per client address; past the budget the token is
/// not even compared).
async fn authorize(ctx: &AppCtx) -> Result<(), RpcError> {
    let Some(expected) = ctx.state.admin_token.as_deref() else {
        return Err(RpcError::new(
            ErrorCode::Forbidden,
            "admin operations are disabled (no admin token configured)",
        ));
    };
    let given = ctx
        .meta
        .headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| {
            RpcError::new(
                ErrorCode::Unauthorized,
                "missing Authorization: Bearer <admin token>",
            )
        })?;
    let sessions = &ctx.state.sessions;
    let client = sessions.config().proxies.client_ip(&ctx.meta);
    let check = sessions.throttle().admin_token(client).await?;
    if constant_time_eq(given.as_bytes(), expected.as_bytes()) {
        check.settle(Outcome::Success);
        Ok(())
    } else {
        check.settle(Outcome::Failure);
        Err(RpcError::new(
            ErrorCode::Unauthorized,
            "invalid admin token",
        ))
    }
}

/// Whether `given` is `expected`, in a time that depends on neither where they differ nor
/// whether their lengths match (only on the expected token's length).
fn constant_time_eq(given: &[u8], expected: &[u8]) -> bool {
    let mut diff = u8::from(given.len() != expected.len());
    for (i, byte) in expected.iter().enumerate() {
        diff |= byte ^ given.get(i).copied().unwrap_or(0);
    }
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn tokens_match_only_when_equal() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secreT", b"secret"));
        assert!(!constant_time_eq(b"secret-and-more", b"secret"));
        assert!(!constant_time_eq(b"secre", b"secret"));
        assert!(!constant_time_eq(b"", b"secret"));
        // A prefix padded with zero bytes is not the token either.
        assert!(!constant_time_eq(b"secret\0", b"secret"));
    }
}
