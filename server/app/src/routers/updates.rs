//! `updates.subscribe`: the one stream of notices per client.

use futures::StreamExt;
use tidings_rpc::{EventStream, Registry, RpcError};

use super::AppCtx;
use crate::state::AppState;
use crate::updates::{SubscribeRequest, UpdateNotice};

pub(super) fn mount(r: &mut Registry<AppState>) {
    r.subscription::<Option<SubscribeRequest>, UpdateNotice, _, _>("updates.subscribe", subscribe);
}

/// Streams notices, replaying from `lastEventId` when given (or a resync when that is no
/// longer possible).
async fn subscribe(ctx: AppCtx, input: Option<SubscribeRequest>) -> Result<EventStream, RpcError> {
    let request = input.unwrap_or_default();
    Ok(ctx.state.updates.subscribe_caught_up(request).await.boxed())
}
