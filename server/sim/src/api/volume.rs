//! Cinder v3 under `/volume/v3` (the `/{project_id}` form is mapped onto it before routing):
//! volumes, snapshots, types, backups, limits, quota sets and availability zones. Volumes gain
//! the keys of later microversions (the v3.65 and v3.69 samples) when those are asked for.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::middleware::from_fn;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Map, Value, json};

use super::{
    ApiError, Base, Microversion, Microversions, Params, Scoped, flag, limit, negotiate, page,
};
use crate::model::volume::{self, VolumeError, VolumeSpec};
use crate::model::{Record, World, find, stable_uuid};
use crate::sim::Sim;

/// Cinder's microversion range (from its version document).
pub(crate) const CINDER: Microversions = Microversions {
    service: "volume",
    legacy_header: None,
    major: 3,
    min: 0,
    max: 71,
};

/// Cinder's default and largest page.
const MAX_PAGE: usize = 1000;

/// Keys Cinder leaves out of the create answer (admin-only attributes).
const NOT_IN_CREATE: [&str; 4] = [
    "os-vol-host-attr:host",
    "os-vol-mig-status-attr:migstat",
    "os-vol-mig-status-attr:name_id",
    "os-vol-tenant-attr:tenant_id",
];

/// The Cinder routes.
pub(crate) fn mount() -> Router<Sim> {
    Router::new()
        .route("/volume/v3/volumes", get(list_volumes).post(create_volume))
        .route("/volume/v3/volumes/detail", get(list_volumes_detail))
        .route(
            "/volume/v3/volumes/{volume_id}",
            get(show_volume).delete(delete_volume),
        )
        .route("/volume/v3/snapshots/detail", get(list_snapshots))
        .route("/volume/v3/types", get(list_types))
        .route("/volume/v3/backups/detail", get(list_backups))
        .route("/volume/v3/limits", get(show_limits))
        .route("/volume/v3/os-quota-sets/{project_id}", get(show_quota_set))
        .route(
            "/volume/v3/os-quota-sets/{project_id}/defaults",
            get(show_quota_defaults),
        )
        .route("/volume/v3/os-availability-zone", get(availability_zones))
        .layer(from_fn(|request, next| negotiate(CINDER, request, next)))
}

fn links(base: &str, project_id: &str, kind: &str, id: &str) -> Value {
    json!([
        { "href": format!("{base}/volume/v3/{project_id}/{kind}/{id}"), "rel": "self" },
        { "href": format!("{base}/volume/{project_id}/{kind}/{id}"), "rel": "bookmark" },
    ])
}

/// Keys later microversions added to volumes, with the version of each (`shared_targets`
/// became tri-state, `null` here, at 3.69).
const VOLUME_KEYS: [(&str, u32); 7] = [
    ("group_id", 13),
    ("provider_id", 21),
    ("service_uuid", 48),
    ("shared_targets", 48),
    ("cluster_name", 61),
    ("volume_type_id", 63),
    ("consumes_quota", 65),
];

fn volume_json(world: &World, base: &str, volume: &Record, version: Microversion) -> Value {
    let mut body = volume.body.clone();
    for (key, since) in VOLUME_KEYS {
        if !version.at_least(since) {
            continue;
        }
        let value = match key {
            "service_uuid" => json!(stable_uuid("cinder-volume")),
            "shared_targets" if version.at_least(69) => Value::Null,
            "shared_targets" | "consumes_quota" => json!(true),
            "volume_type_id" => json!(type_id(world, volume.str("volume_type"))),
            _ => Value::Null,
        };
        body.insert(key.into(), value);
    }
    body.insert(
        "links".into(),
        links(base, &volume.project_id, "volumes", &volume.id),
    );
    Value::Object(body)
}

fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError::nova(StatusCode::BAD_REQUEST, message)
}

/// The visible volumes, newest first, as one page plus the `volumes_links` when more follow.
fn select<'a>(
    world: &'a World,
    caller: &Scoped,
    params: &Params,
) -> Result<(Vec<&'a Record>, bool), ApiError> {
    let all = flag(params, "all_tenants");
    let items: Vec<&Record> = world
        .volumes
        .iter()
        .rev()
        .filter(|v| caller.sees(v, all))
        .filter(|v| params.get("status").is_none_or(|s| s == v.str("status")))
        .filter(|v| params.get("name").is_none_or(|n| n == v.str("name")))
        .collect();
    let size = limit(params, MAX_PAGE, MAX_PAGE).map_err(bad_request)?;
    page(items, params.get("marker").map(String::as_str), size).map_err(bad_request)
}

fn with_next(
    mut body: Value,
    base: &str,
    caller: &Scoped,
    path: &str,
    more: bool,
    last: Option<&Record>,
) -> Value {
    if let (true, Some(last)) = (more, last) {
        let href = format!(
            "{base}/volume/v3/{}/{path}?marker={}",
            caller.project_id, last.id
        );
        body["volumes_links"] = json!([{ "href": href, "rel": "next" }]);
    }
    body
}

/// `GET /volumes`: ids, names and links.
async fn list_volumes(
    State(sim): State<Sim>,
    Base(base): Base,
    caller: Scoped,
    Query(params): Query<Params>,
) -> Result<Json<Value>, ApiError> {
    let world = sim.world();
    let (items, more) = select(&world, &caller, &params)?;
    let volumes: Vec<Value> = items
        .iter()
        .map(|v| json!({ "id": v.id, "links": links(&base, &v.project_id, "volumes", &v.id), "name": v.body["name"] }))
        .collect();
    Ok(Json(with_next(
        json!({ "volumes": volumes }),
        &base,
        &caller,
        "volumes",
        more,
        items.last().copied(),
    )))
}

/// `GET /volumes/detail`: full volumes; admins see every project with `all_tenants=1`.
async fn list_volumes_detail(
    State(sim): State<Sim>,
    Base(base): Base,
    caller: Scoped,
    version: Microversion,
    Query(params): Query<Params>,
) -> Result<Json<Value>, ApiError> {
    let world = sim.world();
    let (items, more) = select(&world, &caller, &params)?;
    let volumes: Vec<Value> = items
        .iter()
        .map(|v| volume_json(&world, &base, v, version))
        .collect();
    Ok(Json(with_next(
        json!({ "volumes": volumes }),
        &base,
        &caller,
        "volumes/detail",
        more,
        items.last().copied(),
    )))
}

fn owned<'a>(world: &'a World, caller: &Scoped, id: &str) -> Result<&'a Record, ApiError> {
    find(&world.volumes, id)
        .filter(|v| caller.owns(v))
        .ok_or_else(|| {
            ApiError::nova(
                StatusCode::NOT_FOUND,
                format!("Volume {id} could not be found."),
            )
        })
}

/// `GET /volumes/{id}`.
async fn show_volume(
    State(sim): State<Sim>,
    Base(base): Base,
    caller: Scoped,
    version: Microversion,
    Path(volume_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let world = sim.world();
    let volume = owned(&world, &caller, &volume_id)?;
    Ok(Json(
        json!({ "volume": volume_json(&world, &base, volume, version) }),
    ))
}

/// `POST /volumes`: a new volume, `creating` then `available` after a couple of ticks.
async fn create_volume(
    State(sim): State<Sim>,
    Base(base): Base,
    caller: Scoped,
    version: Microversion,
    Json(request): Json<Value>,
) -> Result<Response, ApiError> {
    let spec = request
        .get("volume")
        .and_then(Value::as_object)
        .ok_or_else(|| bad_request("Missing required element 'volume' in request body."))?;
    let size = spec.get("size").and_then(Value::as_u64).filter(|s| *s > 0);
    let size = size
        .ok_or_else(|| bad_request("Invalid input received: 'size' must be a positive integer."))?;
    let text = |key: &str| spec.get(key).and_then(Value::as_str).map(str::to_owned);
    let volume_type = text("volume_type");
    let mut world = sim.world();
    if let Some(name) = &volume_type
        && !world.templates.volume_types["volume_types"]
            .as_array()
            .is_some_and(|t| t.iter().any(|t| t["name"] == *name || t["id"] == *name))
    {
        return Err(ApiError::nova(
            StatusCode::NOT_FOUND,
            format!("Volume type with name {name} could not be found."),
        ));
    }
    let spec = VolumeSpec {
        project_id: caller.project_id.clone(),
        user_id: caller.user_id.clone(),
        name: text("name"),
        description: text("description"),
        size,
        volume_type,
        metadata: spec
            .get("metadata")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_else(Map::new),
        image_id: text("imageRef"),
    };
    let id = volume::create_volume(&mut world, spec);
    let volume = find(&world.volumes, &id).ok_or_else(|| bad_request("Volume creation failed."))?;
    let mut body = volume_json(&world, &base, volume, version);
    if let Some(object) = body.as_object_mut() {
        for key in NOT_IN_CREATE {
            object.remove(key);
        }
    }
    Ok((StatusCode::ACCEPTED, Json(json!({ "volume": body }))).into_response())
}

/// `DELETE /volumes/{id}`: `deleting`, then gone on the next tick.
async fn delete_volume(
    State(sim): State<Sim>,
    caller: Scoped,
    Path(volume_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let mut world = sim.world();
    owned(&world, &caller, &volume_id)?;
    volume::delete(&mut world, &volume_id).map_err(|e| match e {
        VolumeError::NotFound(m) => ApiError::nova(StatusCode::NOT_FOUND, m),
        VolumeError::Invalid(m) => bad_request(m),
    })?;
    Ok(StatusCode::ACCEPTED)
}

/// `GET /snapshots/detail`.
async fn list_snapshots(
    State(sim): State<Sim>,
    caller: Scoped,
    Query(params): Query<Params>,
) -> Json<Value> {
    let world = sim.world();
    let all = flag(&params, "all_tenants");
    let items: Vec<&Map<String, Value>> = world
        .snapshots
        .iter()
        .rev()
        .filter(|s| caller.sees(s, all))
        .map(|s| &s.body)
        .collect();
    Json(json!({ "snapshots": items }))
}

/// `GET /types`: the sample volume types.
async fn list_types(State(sim): State<Sim>, _caller: Scoped) -> Json<Value> {
    Json(sim.world().templates.volume_types.clone())
}

/// `GET /backups/detail`.
async fn list_backups(
    State(sim): State<Sim>,
    Base(base): Base,
    caller: Scoped,
    Query(params): Query<Params>,
) -> Json<Value> {
    let world = sim.world();
    let all = flag(&params, "all_tenants");
    let items: Vec<Value> = world
        .backups
        .iter()
        .rev()
        .filter(|b| caller.sees(b, all))
        .map(|b| {
            let mut body = b.body.clone();
            body.insert(
                "links".into(),
                links(&base, &b.project_id, "backups", &b.id),
            );
            Value::Object(body)
        })
        .collect();
    Json(json!({ "backups": items }))
}

/// Real usage of one project.
struct Usage {
    volumes: u64,
    gigabytes: u64,
    snapshots: u64,
    backups: u64,
    backup_gigabytes: u64,
}

fn usage(world: &World, project_id: &str) -> Usage {
    let size = |r: &&Record| r.body["size"].as_u64().unwrap_or(0);
    let volumes: Vec<&Record> = world
        .volumes
        .iter()
        .filter(|v| v.project_id == project_id)
        .collect();
    let backups: Vec<&Record> = world
        .backups
        .iter()
        .filter(|b| b.project_id == project_id)
        .collect();
    Usage {
        volumes: volumes.len() as u64,
        gigabytes: volumes.iter().map(size).sum(),
        snapshots: world
            .snapshots
            .iter()
            .filter(|s| s.project_id == project_id)
            .count() as u64,
        backups: backups.len() as u64,
        backup_gigabytes: backups.iter().map(size).sum(),
    }
}

/// `GET /limits`: the project's limits with real usage.
async fn show_limits(State(sim): State<Sim>, caller: Scoped) -> Json<Value> {
    let world = sim.world();
    let used = usage(&world, &caller.project_id);
    let mut absolute = world.templates.volume_limits.clone();
    let fields = [
        ("maxTotalVolumes", 50),
        ("maxTotalSnapshots", 50),
        ("maxTotalBackups", 50),
        ("totalVolumesUsed", used.volumes),
        ("totalGigabytesUsed", used.gigabytes),
        ("totalSnapshotsUsed", used.snapshots),
        ("totalBackupsUsed", used.backups),
        ("totalBackupGigabytesUsed", used.backup_gigabytes),
    ];
    for (key, value) in fields {
        absolute.insert(key.into(), json!(value));
    }
    Json(json!({ "limits": { "rate": [], "absolute": absolute } }))
}

/// `GET /os-quota-sets/{project_id}` (`?usage=true` for in-use counts): own project or admin.
async fn show_quota_set(
    State(sim): State<Sim>,
    caller: Scoped,
    Path(project_id): Path<String>,
    Query(params): Query<Params>,
) -> Result<Json<Value>, ApiError> {
    if !caller.admin && caller.project_id != project_id {
        return Err(ApiError::nova(
            StatusCode::FORBIDDEN,
            "Policy doesn't allow volume_extension:quotas:show to be performed.",
        ));
    }
    let world = sim.world();
    let used = usage(&world, &project_id);
    let mut quota = world.templates.quota_set.clone();
    for key in ["volumes", "snapshots", "backups"] {
        quota.insert(key.into(), json!(50));
    }
    let in_use = |key: &str| match key {
        "volumes" | "volumes___DEFAULT__" => used.volumes,
        "gigabytes" | "gigabytes___DEFAULT__" => used.gigabytes,
        "snapshots" | "snapshots___DEFAULT__" => used.snapshots,
        "backups" => used.backups,
        "backup_gigabytes" => used.backup_gigabytes,
        _ => 0,
    };
    if flag(&params, "usage") {
        for (key, value) in quota.iter_mut().filter(|(k, _)| k.as_str() != "id") {
            *value = json!({ "in_use": in_use(key), "limit": value.clone(), "reserved": 0 });
        }
    }
    quota.insert("id".into(), json!(project_id));
    Ok(Json(json!({ "quota_set": quota })))
}

/// The id of a volume type by name (the default type is not among the samples).
fn type_id(world: &World, name: &str) -> String {
    world.templates.volume_types["volume_types"]
        .as_array()
        .and_then(|types| types.iter().find(|t| t["name"] == name))
        .and_then(|t| t["id"].as_str())
        .map_or_else(
            || stable_uuid(&format!("volume-type/{name}")),
            str::to_owned,
        )
}

/// `GET /os-quota-sets/{project_id}/defaults`: the limits every project starts with.
async fn show_quota_defaults(
    State(sim): State<Sim>,
    _caller: Scoped,
    Path(project_id): Path<String>,
) -> Json<Value> {
    let world = sim.world();
    let mut quota = world.templates.quota_set.clone();
    for key in ["volumes", "snapshots", "backups"] {
        quota.insert(key.into(), json!(50));
    }
    quota.insert("id".into(), json!(project_id));
    Json(json!({ "quota_set": quota }))
}

/// `GET /os-availability-zone`: the sample zone.
async fn availability_zones(State(sim): State<Sim>, _caller: Scoped) -> Json<Value> {
    Json(sim.world().templates.volume_availability_zones.clone())
}
