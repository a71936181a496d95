//! Images: what instances boot from.

use serde::{Deserialize, Serialize};
use tidings_openstack::model::Image;
use tidings_openstack::{CreateImage, IdKind};
use tidings_rpc::{Encoded, ErrorCode, Registry, RpcError};

use super::{
    AppCtx, ById, ProjectFilter, announce, check_optional_id, find, list, owner_of, session,
};
use crate::auth::Session;
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
    find(
        &ctx,
        &ctx.state.sources.images,
        IdKind::Image,
        "id",
        &input.id,
        |i| &i.id,
    )
    .await
}

/// Input of `images.create`: registers an image record (its data is uploaded separately).
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreateImageInput {
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

/// Glance's visibilities, and whether setting one takes an administrator: `public` and
/// `community` images are offered to every tenant.
const VISIBILITIES: [(&str, bool); 4] = [
    ("private", false),
    ("shared", false),
    ("community", true),
    ("public", true),
];

/// Checks that the caller may give an image `visibility`: BAD_REQUEST for one Glance does not
/// have, FORBIDDEN for one that reaches every tenant unless they administer the cloud.
fn check_visibility(session: &Session, visibility: Option<&str>) -> Result<(), RpcError> {
    let Some(visibility) = visibility else {
        return Ok(());
    };
    let Some((_, admin_only)) = VISIBILITIES.iter().find(|(name, _)| *name == visibility) else {
        return Err(RpcError::bad_request(
            "Invalid input at \"visibility\": one of private, shared, community, public",
        ));
    };
    if *admin_only && !session.is_admin() {
        return Err(RpcError::new(
            ErrorCode::Forbidden,
            format!("only administrators may publish {visibility} images"),
        ));
    }
    Ok(())
}

async fn create(ctx: AppCtx, input: CreateImageInput) -> Result<Image, RpcError> {
    check_optional_id(IdKind::Project, "projectId", input.project_id.as_deref())?;
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
    check_visibility(&session, request.visibility.as_deref())?;
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
        IdKind::Image,
        "id",
        &input.id,
        |i| &i.id,
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
