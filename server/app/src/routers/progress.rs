//! Progress: operations under way (instance builds, volume and image transitions), for
//! progress bars.

use tidings_rpc::{Encoded, Registry, RpcError};

use super::{AppCtx, ProjectFilter, list};
use crate::sources::Operation;
use crate::state::AppState;
use crate::updates::UpdateType::Progress;

pub(super) fn mount(r: &mut Registry<AppState>) {
    r.query("progress.getActive", get_active)
        .invalidated_by_types([Progress.as_str()]);
}

async fn get_active(
    ctx: AppCtx,
    input: Option<ProjectFilter>,
) -> Result<Encoded<Vec<Operation>>, RpcError> {
    list(&ctx, &ctx.state.sources.operations, input).await
}
