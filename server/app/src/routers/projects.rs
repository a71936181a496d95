//! Projects: the tenants of the cloud, and their quotas.

use serde::{Deserialize, Serialize};
use tidings_openstack::IdKind;
use tidings_openstack::model::{ComputeLimits, Project, VolumeQuota};
use tidings_rpc::{Encoded, Registry, RpcError};

use super::{AppCtx, ById, ProjectFilter, check_id, find, list, reading_in, session};
use crate::error;
use crate::state::AppState;
use crate::updates::UpdateType::{Compute, Projects, Volumes};

pub(super) fn mount(r: &mut Registry<AppState>) {
    r.query("projects.getAll", get_all)
        .invalidated_by_types([Projects.as_str()]);
    r.query("projects.getById", get_by_id)
        .invalidated_by_types([Projects.as_str()]);
    r.query("projects.getQuotas", get_quotas)
        .invalidated_by_types([Compute.as_str(), Volumes.as_str()]);
}

/// The projects the caller has a role on (every project for an administrator), or only the
/// one named (FORBIDDEN without a role there).
async fn get_all(
    ctx: AppCtx,
    input: Option<ProjectFilter>,
) -> Result<Encoded<Vec<Project>>, RpcError> {
    list(&ctx, &ctx.state.sources.projects, input).await
}

async fn get_by_id(ctx: AppCtx, input: ById) -> Result<Project, RpcError> {
    find(
        &ctx,
        &ctx.state.sources.projects,
        IdKind::Project,
        "id",
        &input.id,
        |p| &p.id,
    )
    .await
}

/// Input of `projects.getQuotas`.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub(crate) struct QuotasInput {
    /// The project.
    pub project_id: String,
}

/// A project's limits and usage across services.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ProjectQuotas {
    /// Nova limits and usage.
    pub compute: ComputeLimits,
    /// Cinder quotas and usage.
    pub volume: VolumeQuota,
}

/// Asked live, with the caller's own credentials in the project.
async fn get_quotas(ctx: AppCtx, input: QuotasInput) -> Result<ProjectQuotas, RpcError> {
    check_id(IdKind::Project, "projectId", &input.project_id)?;
    let os = reading_in(&*session(&ctx)?, &input.project_id)?;
    let (compute, volume) =
        tokio::try_join!(os.compute_limits(None), os.volume_quota(&input.project_id))
            .map_err(error::upstream)?;
    Ok(ProjectQuotas { compute, volume })
}
