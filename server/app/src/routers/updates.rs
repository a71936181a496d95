//! `updates.subscribe`: the one stream of notices per client.

use futures::StreamExt;
use tidings_rpc::{EventStream, Registry, RpcError};

use super::{AppCtx, session};
use crate::state::AppState;
use crate::updates::{SubscribeRequest, UpdateNotice};

pub(super) fn mount(r: &mut Registry<AppState>) {
    r.subscription::<Option<SubscribeRequest>, UpdateNotice, _, _>("updates.subscribe", subscribe);
}

/// Streams notices, replaying from `lastEventId` when given (or a resync when that is no
/// longer possible).
///
/// Only notices the caller may see arrive: those scoped to a project it has a role on, and
/// global ones. The stream counts against the session's stream limit and ends with
/// `UNAUTHORIZED` when the session does (logout, expiry).
async fn subscribe(ctx: AppCtx, input: Option<SubscribeRequest>) -> Result<EventStream, RpcError> {
    let session = session(&ctx)?;
    let request = input.unwrap_or_default();
    let stream = ctx
        .state
        .updates
        .subscribe_caught_up(request, session.visibility().clone())
        .await
        .boxed();
    session.own_stream(stream, ctx.state.sessions.config().max_streams)
}
