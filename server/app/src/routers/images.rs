//! Images: what instances boot from.

use serde::{Deserialize, Serialize};
use tidings_openstack::CreateImage;
use tidings_openstack::model::Image;
use tidings_rpc::{Encoded, Registry, RpcError};

use super::{AppCtx, ById, ProjectFilter, announce, find, list, owner_of, session};
use crate::error;
use crate::sources::HasProject;
use crate::state::AppState;
use crate::updates::UpdateType::Images;

pub(super) fn mount(r: &mut Registry<AppState>) {
    r.query("images.getAll", get_all)
        .invalidated_by_types([Images.as_str()]);
    r.query("images.getById", get_by_id)
        .invalidated_by_types([Images.as_str()]);
    r.mutation("images.create", create);
    r.mutation("images.delete", delete);
}

async fn get_all(
    ctx: AppCtx,
    input: Option<ProjectFilter>,
) -> Result<Encoded<Vec<Image>>, RpcError> {
    list(&ctx, &ctx.state.sources.images, input).await
}

async fn get_by_id(ctx: AppCtx, input: ById) -> Result<Image, RpcError> {
    find(&ctx, &ctx.state.sources.images, "Image", &input.id, |i| {
        &i.id
    })
    .await
}

/// Input of `images.create`: registers an image record (its data is uploaded separately).
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct CreateImageInput {
    /// The project that will own the image; absent: the caller's first project (the service
    /// project for an administrator).
    #[serde(default)]
    #[specta(optional)]
    pub project_id: Option<String>,
    /// Its name.
    pub name: String,
    /// Disk format (`qcow2`, `raw`, …).
    pub disk_format: String,
    /// Container format (`bare`, …).
    pub container_format: String,
    /// `private`, `shared`, `community` or `public`.
    #[serde(default)]
    #[specta(optional)]
    pub visibility: Option<String>,
}

async fn create(ctx: AppCtx, input: CreateImageInput) -> Result<Image, RpcError> {
    let request = CreateImage {
        name: input.name,
        disk_format: input.disk_format,
        container_format: input.container_format,
        visibility: input.visibility,
        min_disk_gb: None,
        min_ram_mb: None,
        tags: Vec::new(),
    };
    let session = session(&ctx)?;
    if matches!(request.visibility.as_deref(), Some("public")) && !session.is_admin() {
        return Err(RpcError::new(
            tidings_rpc::ErrorCode::Forbidden,
            "only administrators may publish public images",
        ));
    }
    let project = match input.project_id {
        Some(project) => Some(project),
        None if session.is_admin() => None,
        None => session.project_ids().next().map(str::to_owned),
    };
    let os = match &project {
        Some(project) => session.acting_in(project)?,
        None => ctx.state.openstack.clone(),
    };
    let created = os
        .create_image(project.as_deref(), request)
        .await
        .map_err(error::upstream)?;
    announce(&ctx, &ctx.state.sources.images, Images, created.scope()).await;
    Ok(created)
}

async fn delete(ctx: AppCtx, input: ById) -> Result<(), RpcError> {
    let owner = owner_of(
        &ctx,
        &ctx.state.sources.images,
        "Image",
        &input.id,
        |i| &i.id,
        async |os, id| os.get_image(id).await,
    )
    .await?;
    session(&ctx)?
        .acting_in(&owner.project)?
        .delete_image(&input.id)
        .await
        .map_err(error::upstream)?;
    announce(
        &ctx,
        &ctx.state.sources.images,
        Images,
        owner.scope.as_deref(),
    )
    .await;
    Ok(())
}
