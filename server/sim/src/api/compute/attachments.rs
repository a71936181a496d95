//! Nova volume attachments: `/servers/{id}/os-volume_attachments`, which drive the Cinder
//! volume through attaching → in-use and detaching → available.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::{not_found, owned, views};
use crate::api::{ApiError, Microversion, Scoped};
use crate::model::volume::{self, VolumeError};
use crate::model::{Record, World, find};
use crate::sim::Sim;

/// The attachment routes.
pub(super) fn mount() -> Router<Sim> {
    Router::new()
        .route(
            "/compute/v2.1/servers/{server_id}/os-volume_attachments",
            get(list_attachments).post(attach_volume),
        )
        .route(
            "/compute/v2.1/servers/{server_id}/os-volume_attachments/{volume_id}",
            get(show_attachment).delete(detach_volume),
        )
}

fn attachment_json(
    world: &World,
    server_id: &str,
    volume: &Record,
    version: Microversion,
) -> Value {
    let mut body = world.templates.volume_attachment.clone();
    body.insert("device".into(), json!(volume::device_on(volume, server_id)));
    body.insert("id".into(), json!(volume.id));
    body.insert("serverId".into(), json!(server_id));
    body.insert("volumeId".into(), json!(volume.id));
    Value::Object(views::attachment(body, volume, version))
}

/// `GET /servers/{id}/os-volume_attachments`.
async fn list_attachments(
    State(sim): State<Sim>,
    caller: Scoped,
    version: Microversion,
    Path(server_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let world = sim.world();
    owned(&world, &caller, &server_id)?;
    let items: Vec<Value> = world
        .volumes
        .iter()
        .filter(|v| volume::attached_to(v, &server_id))
        .map(|v| attachment_json(&world, &server_id, v, version))
        .collect();
    Ok(Json(json!({ "volumeAttachments": items })))
}

/// `GET /servers/{id}/os-volume_attachments/{volume_id}`.
async fn show_attachment(
    State(sim): State<Sim>,
    caller: Scoped,
    version: Microversion,
    Path((server_id, volume_id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let world = sim.world();
    owned(&world, &caller, &server_id)?;
    let volume = find(&world.volumes, &volume_id)
        .filter(|v| volume::attached_to(v, &server_id))
        .ok_or_else(|| {
            ApiError::nova(
                StatusCode::NOT_FOUND,
                format!("volume_id not found: {volume_id}"),
            )
        })?;
    Ok(Json(
        json!({ "volumeAttachment": attachment_json(&world, &server_id, volume, version) }),
    ))
}

/// `POST /servers/{id}/os-volume_attachments`: the volume goes attaching, then in-use. From
/// 2.101 the answer is `202 Accepted` without a body.
async fn attach_volume(
    State(sim): State<Sim>,
    caller: Scoped,
    version: Microversion,
    Path(server_id): Path<String>,
    Json(request): Json<Value>,
) -> Result<Response, ApiError> {
    let volume_id = request["volumeAttachment"]["volumeId"]
        .as_str()
        .ok_or_else(|| {
            ApiError::nova(
                StatusCode::BAD_REQUEST,
                "Invalid input for field/attribute volumeId.",
            )
        })?
        .to_owned();
    let mut world = sim.world();
    let server = owned(&world, &caller, &server_id)?;
    if !matches!(server.str("status"), "ACTIVE" | "SHUTOFF")
        || !server.body["OS-EXT-STS:task_state"].is_null()
    {
        let message = format!(
            "Cannot 'attach_volume' instance {server_id} while it is in vm_state {}",
            server.str("OS-EXT-STS:vm_state")
        );
        return Err(ApiError::nova(StatusCode::CONFLICT, message));
    }
    let project = server.project_id.clone();
    if find(&world.volumes, &volume_id).is_none_or(|v| v.project_id != project) {
        return Err(not_found("Volume", &volume_id));
    }
    volume::attach(&mut world, &server_id, &volume_id).map_err(volume_error)?;
    if version.at_least(101) {
        return Ok(StatusCode::ACCEPTED.into_response());
    }
    let volume = find(&world.volumes, &volume_id).ok_or_else(|| not_found("Volume", &volume_id))?;
    let body = attachment_json(&world, &server_id, volume, version);
    Ok(Json(json!({ "volumeAttachment": body })).into_response())
}

fn volume_error(error: VolumeError) -> ApiError {
    match error {
        VolumeError::NotFound(message) => ApiError::nova(StatusCode::NOT_FOUND, message),
        VolumeError::Invalid(message) => ApiError::nova(StatusCode::BAD_REQUEST, message),
    }
}

/// `DELETE /servers/{id}/os-volume_attachments/{volume_id}`: detaching, then available.
async fn detach_volume(
    State(sim): State<Sim>,
    caller: Scoped,
    Path((server_id, volume_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let mut world = sim.world();
    owned(&world, &caller, &server_id)?;
    volume::detach(&mut world, &server_id, &volume_id).map_err(volume_error)?;
    Ok(StatusCode::ACCEPTED)
}
