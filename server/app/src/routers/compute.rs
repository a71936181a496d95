//! Compute: instances and what they are built from (flavors, keypairs, zones, server groups).

use serde::{Deserialize, Serialize};
use tidings_openstack::model::{
    AvailabilityZone, ComputeLimits, Flavor, Instance, Keypair, ServerGroup, VolumeAttachment,
};
use tidings_openstack::{Client, CreateInstance, IdKind};
use tidings_rpc::{Encoded, Registry, RpcError};

use super::{
    AppCtx, ById, ProjectFilter, all, announce, check_id, check_optional_id, find, list, owner_of,
    reading_in, session,
};
use crate::error;
use crate::state::AppState;
use crate::updates::UpdateType::{Compute, Volumes};

pub(super) fn mount(r: &mut Registry<AppState>) {
    let compute = [Compute.as_str()];
    r.query("compute.instances.getAll", get_instances)
        .invalidated_by_types(compute);
    r.query("compute.instances.getById", get_instance)
        .invalidated_by_types(compute);
    r.query("compute.instances.getAttachments", get_attachments)
        .invalidated_by_types([Compute.as_str(), Volumes.as_str()]);
    r.query("compute.flavors.getAll", get_flavors)
        .invalidated_by_types(compute);
    r.query("compute.keypairs.getAll", get_keypairs)
        .invalidated_by_types(compute);
    r.query("compute.serverGroups.getAll", get_server_groups)
        .invalidated_by_types(compute);
    r.query("compute.availabilityZones.getAll", get_availability_zones)
        .invalidated_by_types(compute);
    r.query("compute.limits.get", get_limits)
        .invalidated_by_types(compute);
    r.mutation("compute.instances.create", create_instance);
    r.mutation("compute.instances.delete", delete_instance);
    r.mutation("compute.instances.start", start_instance);
    r.mutation("compute.instances.stop", stop_instance);
    r.mutation("compute.instances.reboot", reboot_instance);
}

async fn get_instances(
    ctx: AppCtx,
    input: Option<ProjectFilter>,
) -> Result<Encoded<Vec<Instance>>, RpcError> {
    list(&ctx, &ctx.state.sources.instances, input).await
}

async fn get_instance(ctx: AppCtx, input: ById) -> Result<Instance, RpcError> {
    find(
        &ctx,
        &ctx.state.sources.instances,
        IdKind::Instance,
        "id",
        &input.id,
        |i| &i.id,
    )
    .await
}

/// Asked live, with the caller's own credentials in the instance's project.
async fn get_attachments(ctx: AppCtx, input: ById) -> Result<Vec<VolumeAttachment>, RpcError> {
    let project = project_of(&ctx, "id", &input.id).await?;
    reading_in(&*session(&ctx)?, &project)?
        .list_volume_attachments(&input.id)
        .await
        .map_err(error::upstream)
}

async fn get_flavors(ctx: AppCtx, _: ()) -> Result<Encoded<Vec<Flavor>>, RpcError> {
    all(&ctx.state.sources.flavors).await
}

/// Key pairs belong to users: an administrator sees the polled list, anyone else their own,
/// asked with their own credentials.
async fn get_keypairs(ctx: AppCtx, _: ()) -> Result<Encoded<Vec<Keypair>>, RpcError> {
    let session = session(&ctx)?;
    if session.is_admin() {
        return all(&ctx.state.sources.keypairs).await;
    }
    let Some(client) = session.home_client() else {
        return Encoded::new(&Vec::new());
    };
    let mine = client.list_keypairs().await.map_err(error::upstream)?;
    Encoded::new(&mine)
}

async fn get_server_groups(
    ctx: AppCtx,
    input: Option<ProjectFilter>,
) -> Result<Encoded<Vec<ServerGroup>>, RpcError> {
    list(&ctx, &ctx.state.sources.server_groups, input).await
}

async fn get_availability_zones(
    ctx: AppCtx,
    _: (),
) -> Result<Encoded<Vec<AvailabilityZone>>, RpcError> {
    all(&ctx.state.sources.availability_zones).await
}

/// A project's limits, asked with the caller's own credentials in it; an administrator who
/// names none gets the service's home project (no input of theirs reaches the upstream).
async fn get_limits(ctx: AppCtx, input: Option<ProjectFilter>) -> Result<ComputeLimits, RpcError> {
    let session = session(&ctx)?;
    let project = input.and_then(|f| f.project_id);
    check_optional_id(IdKind::Project, "projectId", project.as_deref())?;
    let project = match project {
        Some(project) => Some(project),
        None if session.is_admin() => None,
        None => session.project_ids().next().map(str::to_owned),
    };
    let client = match &project {
        Some(project) => reading_in(&session, project)?,
        None => ctx.state.openstack.clone(),
    };
    client.compute_limits(None).await.map_err(error::upstream)
}

/// Input of `compute.instances.create`.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreateInstanceInput {
    /// The project that will own the instance.
    pub project_id: String,
    /// Its name.
    pub name: String,
    /// The flavor (size) id.
    pub flavor_id: String,
    /// The image to boot from.
    pub image_id: String,
    /// The network to attach, if any.
    #[serde(default)]
    #[specta(optional)]
    pub network_id: Option<String>,
    /// The keypair to inject, if any.
    #[serde(default)]
    #[specta(optional)]
    pub key_name: Option<String>,
}

/// Checks the ids of a boot request by the shapes OpenStack gives them.
fn check_boot_ids(input: &CreateInstanceInput) -> Result<(), RpcError> {
    check_id(IdKind::Project, "projectId", &input.project_id)?;
    check_id(IdKind::Flavor, "flavorId", &input.flavor_id)?;
    check_id(IdKind::Image, "imageId", &input.image_id)?;
    check_optional_id(IdKind::Network, "networkId", input.network_id.as_deref())?;
    check_optional_id(IdKind::Keypair, "keyName", input.key_name.as_deref())
}

async fn create_instance(ctx: AppCtx, input: CreateInstanceInput) -> Result<Instance, RpcError> {
    check_boot_ids(&input)?;
    if input.name.trim().is_empty() {
        return Err(RpcError::bad_request(
            "Invalid input at \"name\": must not be empty",
        ));
    }
    let request = CreateInstance {
        name: input.name,
        flavor_id: input.flavor_id,
        image_id: input.image_id,
        network_id: input.network_id,
        key_name: input.key_name,
    };
    let created = session(&ctx)?
        .acting_in(&input.project_id)?
        .create_instance(&input.project_id, request)
        .await
        .map_err(error::upstream)?;
    announce(
        &ctx,
        &ctx.state.sources.instances,
        Compute,
        Some(&input.project_id),
    )
    .await;
    Ok(created)
}

/// The project of an instance (named by input field `field`) the caller may see (NOT_FOUND
/// otherwise).
pub(super) async fn project_of(ctx: &AppCtx, field: &str, id: &str) -> Result<String, RpcError> {
    owner_of(
        ctx,
        &ctx.state.sources.instances,
        IdKind::Instance,
        field,
        id,
        |i| &i.id,
    )
    .await
    .map(|owner| owner.project)
}

/// Runs an action on an existing instance as the caller (who must be allowed to change its
/// project), then announces the change in its project.
async fn act(
    ctx: &AppCtx,
    id: &str,
    action: impl AsyncFnOnce(&Client, &str) -> Result<(), tidings_openstack::Error>,
) -> Result<(), RpcError> {
    let project = project_of(ctx, "id", id).await?;
    let client = session(ctx)?.acting_in(&project)?;
    action(&client, id).await.map_err(error::upstream)?;
    announce(ctx, &ctx.state.sources.instances, Compute, Some(&project)).await;
    Ok(())
}

async fn delete_instance(ctx: AppCtx, input: ById) -> Result<(), RpcError> {
    act(&ctx, &input.id, async |os, id| os.delete_instance(id).await).await
}

async fn start_instance(ctx: AppCtx, input: ById) -> Result<(), RpcError> {
    act(&ctx, &input.id, async |os, id| os.start_instance(id).await).await
}

async fn stop_instance(ctx: AppCtx, input: ById) -> Result<(), RpcError> {
    act(&ctx, &input.id, async |os, id| os.stop_instance(id).await).await
}

/// Input of `compute.instances.reboot`.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
pub(crate) struct RebootInput {
    /// The instance.
    pub id: String,
    /// A hard reboot (power cycle) instead of a soft one.
    #[serde(default)]
    #[specta(optional)]
    pub hard: Option<bool>,
}

async fn reboot_instance(ctx: AppCtx, input: RebootInput) -> Result<(), RpcError> {
    let hard = input.hard.unwrap_or(false);
    act(&ctx, &input.id, async |os, id| {
        os.reboot_instance(id, hard).await
    })
    .await
}
