//! Glance v2 under `/image/v2`: images with `first`/`next` paging, create, JSON-patch update,
//! data upload and delete.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::{ApiError, Params, Scoped, limit, page};
use crate::model::image::{self, ImageError, ImageSpec};
use crate::model::{Record, World, find};
use crate::sim::Sim;

/// Glance's page size without `limit`.
const DEFAULT_PAGE: usize = 25;
/// Glance's largest page.
const MAX_PAGE: usize = 1000;
/// The only patch media type Glance accepts.
const PATCH_TYPE: &str = "application/openstack-images-v2.1-json-patch";

/// The Glance routes.
pub(crate) fn mount() -> Router<Sim> {
    Router::new()
        .route("/image/v2/images", get(list_images).post(create_image))
        .route(
            "/image/v2/images/{image_id}",
            get(show_image).patch(update_image).delete(delete_image),
        )
        .route("/image/v2/images/{image_id}/file", put(upload_image))
}

fn error(e: ImageError, id: &str) -> ApiError {
    match e {
        ImageError::NotFound => ApiError::glance(
            StatusCode::NOT_FOUND,
            format!("No image found with ID {id}"),
        ),
        ImageError::Forbidden(m) => ApiError::glance(StatusCode::FORBIDDEN, m),
        ImageError::BadRequest(m) => ApiError::glance(StatusCode::BAD_REQUEST, m),
        ImageError::Conflict(m) => ApiError::glance(StatusCode::CONFLICT, m),
    }
}

fn visible(caller: &Scoped, image: &Record) -> bool {
    caller.admin
        || image.project_id == caller.project_id
        || matches!(image.str("visibility"), "public" | "community")
}

/// Which of the visible images Glance's listing shows: those of one `visibility`, or of any
/// with `all`; without it, community images only of the caller's own project. Hidden images
/// (`os_hidden`) only with `os_hidden=true`, and then only they.
struct Listing<'a> {
    visibility: Option<&'a str>,
    hidden: bool,
}

impl<'a> Listing<'a> {
    fn of(params: &'a Params) -> Result<Self, String> {
        let visibility = params.get("visibility").map(String::as_str);
        if let Some(v) = visibility
            && !matches!(v, "all" | "public" | "private" | "shared" | "community")
        {
            return Err(format!("Invalid visibility value: {v}"));
        }
        let hidden = match params.get("os_hidden").map(|v| v.to_ascii_lowercase()) {
            None => false,
            Some(v) if v == "true" => true,
            Some(v) if v == "false" => false,
            Some(v) => {
                return Err(format!(
                    "Invalid value '{v}' for 'os_hidden' filter. Valid values are 'true' or 'false'."
                ));
            }
        };
        Ok(Self { visibility, hidden })
    }

    fn shows(&self, caller: &Scoped, image: &Record) -> bool {
        let visibility = image.str("visibility");
        let by_visibility = match self.visibility {
            Some("all") => true,
            Some(wanted) => visibility == wanted,
            None => visibility != "community" || image.project_id == caller.project_id,
        };
        let hidden = image.body.get("os_hidden").and_then(Value::as_bool) == Some(true);
        by_visibility && hidden == self.hidden
    }
}

/// `GET /v2/images`: visible images, newest first, `limit`/`marker` paged with `next` links.
async fn list_images(
    State(sim): State<Sim>,
    caller: Scoped,
    Query(params): Query<Params>,
) -> Result<Json<Value>, ApiError> {
    let bad = |m: String| ApiError::glance(StatusCode::BAD_REQUEST, m);
    let listing = Listing::of(&params).map_err(bad)?;
    let world = sim.world();
    let items: Vec<&Record> = world
        .images
        .iter()
        .rev()
        .filter(|i| visible(&caller, i) && listing.shows(&caller, i))
        .filter(|i| {
            ["name", "status", "owner"]
                .iter()
                .all(|k| params.get(*k).is_none_or(|v| v == i.str(k)))
        })
        .collect();
    let size = limit(&params, DEFAULT_PAGE, MAX_PAGE).map_err(bad)?;
    let (items, more) = page(items, params.get("marker").map(String::as_str), size).map_err(bad)?;
    let mut query: Vec<String> = params
        .iter()
        .filter(|(k, _)| *k != "marker")
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    query.sort();
    let first = if query.is_empty() {
        "/v2/images".to_owned()
    } else {
        format!("/v2/images?{}", query.join("&"))
    };
    let images: Vec<&serde_json::Map<String, Value>> = items.iter().map(|i| &i.body).collect();
    let mut body = json!({ "images": images, "schema": "/v2/schemas/images", "first": first });
    if let (true, Some(last)) = (more, items.last()) {
        query.push(format!("marker={}", last.id));
        body["next"] = json!(format!("/v2/images?{}", query.join("&")));
    }
    Ok(Json(body))
}

fn visible_image<'a>(world: &'a World, caller: &Scoped, id: &str) -> Result<&'a Record, ApiError> {
    find(&world.images, id)
        .filter(|i| visible(caller, i))
        .ok_or_else(|| error(ImageError::NotFound, id))
}

fn owned_image(world: &World, caller: &Scoped, id: &str) -> Result<(), ApiError> {
    let image = visible_image(world, caller, id)?;
    if caller.admin || image.project_id == caller.project_id {
        Ok(())
    } else {
        Err(ApiError::glance(
            StatusCode::FORBIDDEN,
            format!("You are not permitted to modify image {id}."),
        ))
    }
}

/// `GET /v2/images/{id}`.
async fn show_image(
    State(sim): State<Sim>,
    caller: Scoped,
    Path(image_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let world = sim.world();
    Ok(Json(Value::Object(
        visible_image(&world, &caller, &image_id)?.body.clone(),
    )))
}

/// `POST /v2/images`: a `queued` image owned by the token's project.
async fn create_image(
    State(sim): State<Sim>,
    caller: Scoped,
    Json(request): Json<Value>,
) -> Result<Response, ApiError> {
    let text = |key: &str, default: &str| {
        request
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or(default)
            .to_owned()
    };
    let number = |key: &str| request.get(key).and_then(Value::as_u64).unwrap_or(0);
    let visibility = text("visibility", "private");
    if !matches!(
        visibility.as_str(),
        "public" | "private" | "shared" | "community"
    ) {
        return Err(ApiError::glance(
            StatusCode::BAD_REQUEST,
            format!("Invalid visibility value: {visibility}"),
        ));
    }
    let spec = ImageSpec {
        owner: caller.project_id.clone(),
        name: text("name", ""),
        id: request.get("id").and_then(Value::as_str).map(str::to_owned),
        disk_format: text("disk_format", "raw"),
        container_format: text("container_format", "bare"),
        visibility,
        tags: request
            .get("tags")
            .and_then(|t| serde_json::from_value(t.clone()).ok())
            .unwrap_or_default(),
        min_disk: number("min_disk"),
        min_ram: number("min_ram"),
    };
    let mut world = sim.world();
    let id = image::create_image(&mut world, spec).map_err(|e| error(e, ""))?;
    let image = find(&world.images, &id).ok_or_else(|| error(ImageError::NotFound, &id))?;
    let location = format!("/v2/images/{id}");
    let mut body = image.body.clone();
    // Glance's create answer (unlike show and list) also lists the image's locations.
    body.insert("locations".into(), json!([]));
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(Value::Object(body)),
    )
        .into_response())
}

/// `PATCH /v2/images/{id}` with a JSON-patch body of Glance's media type.
async fn update_image(
    State(sim): State<Sim>,
    caller: Scoped,
    Path(image_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !content_type.starts_with(PATCH_TYPE) {
        let message = format!("Unsupported Content-Type; use {PATCH_TYPE}");
        return Err(ApiError::glance(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            message,
        ));
    }
    let ops: Vec<Value> = serde_json::from_slice(&body).map_err(|_| {
        ApiError::glance(
            StatusCode::BAD_REQUEST,
            "Request body must be a JSON array of operation objects.",
        )
    })?;
    let mut world = sim.world();
    owned_image(&world, &caller, &image_id)?;
    image::patch(&mut world, &image_id, &ops).map_err(|e| error(e, &image_id))?;
    let image =
        find(&world.images, &image_id).ok_or_else(|| error(ImageError::NotFound, &image_id))?;
    Ok(Json(Value::Object(image.body.clone())))
}

/// `PUT /v2/images/{id}/file`: stores the data; `saving`, then `active` on the next tick.
async fn upload_image(
    State(sim): State<Sim>,
    caller: Scoped,
    Path(image_id): Path<String>,
    data: Bytes,
) -> Result<StatusCode, ApiError> {
    let mut world = sim.world();
    owned_image(&world, &caller, &image_id)?;
    image::upload(&mut world, &image_id, &data).map_err(|e| error(e, &image_id))?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /v2/images/{id}`.
async fn delete_image(
    State(sim): State<Sim>,
    caller: Scoped,
    Path(image_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let mut world = sim.world();
    owned_image(&world, &caller, &image_id)?;
    image::delete(&mut world, &image_id).map_err(|e| error(e, &image_id))?;
    Ok(StatusCode::NO_CONTENT)
}
