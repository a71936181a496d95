//! Operator procedures, guarded by the admin bearer token.

use serde::{Deserialize, Serialize};
use tidings_rpc::{ErrorCode, Registry, RpcError};

use super::AppCtx;
use crate::state::AppState;
use crate::updates::UpdateType;

pub(super) fn mount(r: &mut Registry<AppState>) {
    // Authorized by the operator's token, not by a session.
    r.mutation("admin.notify", notify).public();
}

/// Input of `admin.notify`.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
pub struct NotifyInput {
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
pub struct NotifyResult {
    /// The id of the latest event after the notice (coalesced notices may be sent a little
    /// later, with a larger id).
    pub last_event_id: String,
}

/// Makes every subscriber that shows `type` refetch; benchmarks use it as their trigger.
async fn notify(ctx: AppCtx, input: NotifyInput) -> Result<NotifyResult, RpcError> {
    authorize(&ctx)?;
    ctx.state.updates.notify(input.kind, input.scope.as_deref());
    Ok(NotifyResult {
        last_event_id: ctx.state.updates.last_event_id().to_string(),
    })
}

/// Checks `Authorization: Bearer <admin token>` in constant time.
fn authorize(ctx: &AppCtx) -> Result<(), RpcError> {
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
    if constant_time_eq(given.as_bytes(), expected.as_bytes()) {
        Ok(())
    } else {
        Err(RpcError::new(
            ErrorCode::Unauthorized,
            "invalid admin token",
        ))
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
