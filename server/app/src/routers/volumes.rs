//! Volumes: block storage, its snapshots, backups and types, and attaching volumes to
//! instances.

use serde::{Deserialize, Serialize};
use tidings_openstack::model::{Volume, VolumeBackup, VolumeSnapshot, VolumeType};
use tidings_openstack::{Client, CreateVolume, IdKind};
use tidings_rpc::{Encoded, Registry, RpcError};

use super::{
    AppCtx, ById, ProjectFilter, all, announce, check_id, find, list, owner_of, session,
    unavailable,
};
use crate::error;
use crate::sources::HasProject;
use crate::state::AppState;
use crate::updates::UpdateType::{Compute, Volumes};

pub(super) fn mount(r: &mut Registry<AppState>) {
    let volumes = [Volumes.as_str()];
    r.query("volumes.getAll", get_all)
        .invalidated_by_types(volumes);
    r.query("volumes.getById", get_by_id)
        .invalidated_by_types(volumes);
    r.query("volumes.snapshots.getAll", get_snapshots)
        .invalidated_by_types(volumes);
    r.query("volumes.backups.getAll", get_backups)
        .invalidated_by_types(volumes);
    r.query("volumes.types.getAll", get_types)
        .invalidated_by_types(volumes);
    r.mutation("volumes.create", create);
    r.mutation("volumes.delete", delete);
    r.mutation("volumes.attach", attach);
    r.mutation("volumes.detach", detach);
}

async fn get_all(
    ctx: AppCtx,
    input: Option<ProjectFilter>,
) -> Result<Encoded<Vec<Volume>>, RpcError> {
    list(&ctx, &ctx.state.sources.volumes, input).await
}

async fn get_by_id(ctx: AppCtx, input: ById) -> Result<Volume, RpcError> {
    find(
        &ctx,
        &ctx.state.sources.volumes,
        IdKind::Volume,
        "id",
        &input.id,
        |v| &v.id,
    )
    .await
}

async fn get_snapshots(
    ctx: AppCtx,
    input: Option<ProjectFilter>,
) -> Result<Encoded<Vec<VolumeSnapshot>>, RpcError> {
    list(&ctx, &ctx.state.sources.snapshots, input).await
}

/// Backups carry no project: they belong to their volume's. An administrator sees them all,
/// anyone else those of volumes they may see; narrowed to one project's volumes when asked
/// (FORBIDDEN for a project the caller has no role on).
async fn get_backups(
    ctx: AppCtx,
    input: Option<ProjectFilter>,
) -> Result<Encoded<Vec<VolumeBackup>>, RpcError> {
    let session = session(&ctx)?;
    let project = input.and_then(|f| f.project_id);
    match &project {
        Some(project) => session.may_read(project)?,
        None if session.is_admin() => return all(&ctx.state.sources.backups).await,
        None => {}
    }
    let backups = ctx.state.sources.backups.get().await.map_err(unavailable)?;
    let volumes = ctx.state.sources.volumes.get().await.map_err(unavailable)?;
    let visibility = session.visibility();
    let of_volumes: std::collections::HashSet<&str> = volumes
        .iter()
        .filter(|v| match &project {
            Some(project) => v.project() == Some(project.as_str()),
            None => visibility.sees(v.scope()),
        })
        .map(|v| v.id.as_str())
        .collect();
    let shown: Vec<&VolumeBackup> = backups
        .iter()
        .filter(|b| of_volumes.contains(b.volume_id.as_str()))
        .collect();
    let json = serde_json::to_vec(&shown).map_err(RpcError::internal)?;
    Ok(Encoded::from_bytes(json.into()))
}

async fn get_types(ctx: AppCtx, _: ()) -> Result<Encoded<Vec<VolumeType>>, RpcError> {
    all(&ctx.state.sources.volume_types).await
}

/// Input of `volumes.create`.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreateVolumeInput {
    /// The project that will own the volume.
    pub project_id: String,
    /// Its name.
    pub name: String,
    /// Size in GiB (at least 1).
    pub size_gb: u32,
    /// A description.
    #[serde(default)]
    #[specta(optional)]
    pub description: Option<String>,
    /// The volume type's name.
    #[serde(default)]
    #[specta(optional)]
    pub volume_type: Option<String>,
}

async fn create(ctx: AppCtx, input: CreateVolumeInput) -> Result<Volume, RpcError> {
    check_id(IdKind::Project, "projectId", &input.project_id)?;
    if input.size_gb == 0 {
        return Err(RpcError::bad_request(
            "Invalid input at \"sizeGb\": must be at least 1",
        ));
    }
    let request = CreateVolume {
        name: input.name,
        size_gb: input.size_gb,
        description: input.description,
        volume_type: input.volume_type,
    };
    let created = session(&ctx)?
        .acting_in(&input.project_id)?
        .create_volume(&input.project_id, request)
        .await
        .map_err(error::upstream)?;
    announce(
        &ctx,
        &ctx.state.sources.volumes,
        Volumes,
        Some(&input.project_id),
    )
    .await;
    Ok(created)
}

/// The project of a volume (named by input field `field`) the caller may see (NOT_FOUND
/// otherwise).
async fn project_of(ctx: &AppCtx, field: &str, id: &str) -> Result<String, RpcError> {
    owner_of(
        ctx,
        &ctx.state.sources.volumes,
        IdKind::Volume,
        field,
        id,
        |v| &v.id,
    )
    .await
    .map(|owner| owner.project)
}

async fn delete(ctx: AppCtx, input: ById) -> Result<(), RpcError> {
    let project = project_of(&ctx, "id", &input.id).await?;
    session(&ctx)?
        .acting_in(&project)?
        .delete_volume(&input.id)
        .await
        .map_err(error::upstream)?;
    announce(&ctx, &ctx.state.sources.volumes, Volumes, Some(&project)).await;
    Ok(())
}

/// Input of `volumes.attach` and `volumes.detach`.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AttachmentInput {
    /// The volume.
    pub volume_id: String,
    /// The instance.
    pub instance_id: String,
}

async fn attach(ctx: AppCtx, input: AttachmentInput) -> Result<(), RpcError> {
    change_attachment(&ctx, &input, async |os, server, volume| {
        os.attach_volume(server, volume).await.map(drop)
    })
    .await
}

async fn detach(ctx: AppCtx, input: AttachmentInput) -> Result<(), RpcError> {
    change_attachment(&ctx, &input, async |os, server, volume| {
        os.detach_volume(server, volume).await
    })
    .await
}

/// Attaches or detaches, then announces the change to both the volume and the instance.
async fn change_attachment(
    ctx: &AppCtx,
    input: &AttachmentInput,
    change: impl AsyncFnOnce(&Client, &str, &str) -> Result<(), tidings_openstack::Error>,
) -> Result<(), RpcError> {
    check_id(IdKind::Volume, "volumeId", &input.volume_id)?;
    check_id(IdKind::Instance, "instanceId", &input.instance_id)?;
    let project = project_of(ctx, "volumeId", &input.volume_id).await?;
    let instance_project =
        super::compute::project_of(ctx, "instanceId", &input.instance_id).await?;
    let client = session(ctx)?.acting_in(&project)?;
    if instance_project != project {
        return Err(RpcError::bad_request(
            "the volume and the instance belong to different projects",
        ));
    }
    change(&client, &input.instance_id, &input.volume_id)
        .await
        .map_err(error::upstream)?;
    tokio::join!(
        announce(ctx, &ctx.state.sources.volumes, Volumes, Some(&project)),
        announce(ctx, &ctx.state.sources.instances, Compute, Some(&project)),
    );
    Ok(())
}
