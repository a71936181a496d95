//! Neutron quotas (`/v2.0/quotas/{project_id}`, its `details` with usage and `default`),
//! availability zones and the extensions list, which clients read to learn what they may ask.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::api::{ApiError, Scoped};
use crate::model::{Record, World};
use crate::sim::Sim;

/// The quota and zone routes.
pub(super) fn mount() -> Router<Sim> {
    Router::new()
        .route("/network/v2.0/quotas/{project_id}", get(show_quota))
        .route(
            "/network/v2.0/quotas/{project_id}/details",
            get(show_quota_details),
        )
        .route(
            "/network/v2.0/quotas/{project_id}/default",
            get(show_quota_default),
        )
        .route("/network/v2.0/availability_zones", get(availability_zones))
        .route("/network/v2.0/extensions", get(list_extensions))
        .route("/network/v2.0/extensions/{alias}", get(show_extension))
}

/// The sample's extensions whose attributes or calls this simulator serves.
const EXTENSIONS: [&str; 9] = [
    "security-group",
    "binding",
    "provider",
    "quotas",
    "external-net",
    "router",
    "allowed-address-pairs",
    "extra_dhcp_opt",
    "data-plane-status",
];

fn extensions(world: &World) -> Vec<Value> {
    world.templates.network_extensions["extensions"]
        .as_array()
        .map(|all| {
            all.iter()
                .filter(|e| e["alias"].as_str().is_some_and(|a| EXTENSIONS.contains(&a)))
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

/// `GET /v2.0/extensions`.
async fn list_extensions(State(sim): State<Sim>, _caller: Scoped) -> Json<Value> {
    Json(json!({ "extensions": extensions(&sim.world()) }))
}

/// `GET /v2.0/extensions/{alias}`.
async fn show_extension(
    State(sim): State<Sim>,
    _caller: Scoped,
    Path(alias): Path<String>,
) -> Result<Json<Value>, ApiError> {
    extensions(&sim.world())
        .into_iter()
        .find(|e| e["alias"] == alias.as_str())
        .map(|e| Json(json!({ "extension": e })))
        .ok_or_else(|| {
            ApiError::neutron(
                StatusCode::NOT_FOUND,
                "ExtensionNotFound",
                format!("Extension with alias {alias} does not exist"),
            )
        })
}

fn may_read(caller: &Scoped, project_id: &str) -> Result<(), ApiError> {
    if caller.admin || caller.project_id == project_id {
        Ok(())
    } else {
        Err(ApiError::neutron(
            StatusCode::FORBIDDEN,
            "HTTPForbidden",
            "(rule:get_quota) is disallowed by policy",
        ))
    }
}

/// `GET /v2.0/quotas/{project_id}`: the sample's limits (every project has them).
async fn show_quota(
    State(sim): State<Sim>,
    caller: Scoped,
    Path(project_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    may_read(&caller, &project_id)?;
    Ok(Json(
        json!({ "quota": sim.world().templates.network_quota }),
    ))
}

/// `GET /v2.0/quotas/{project_id}/default`.
async fn show_quota_default(State(sim): State<Sim>, _caller: Scoped) -> Json<Value> {
    Json(json!({ "quota": sim.world().templates.network_quota }))
}

fn used(world: &World, project_id: &str, resource: &str) -> usize {
    let of = |records: &[Record]| {
        records
            .iter()
            .filter(|r| r.project_id == project_id)
            .count()
    };
    match resource {
        "network" => of(&world.networks),
        "subnet" => of(&world.subnets),
        "port" => of(&world.ports),
        "router" => of(&world.routers),
        "floatingip" => of(&world.floating_ips),
        "security_group" => of(&world.security_groups),
        "security_group_rule" => of(&world.security_group_rules),
        _ => 0,
    }
}

/// `GET /v2.0/quotas/{project_id}/details`: each limit with `used` and `reserved`.
async fn show_quota_details(
    State(sim): State<Sim>,
    caller: Scoped,
    Path(project_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    may_read(&caller, &project_id)?;
    let world = sim.world();
    let quota: serde_json::Map<String, Value> = world
        .templates
        .network_quota
        .iter()
        .map(|(resource, limit)| {
            let detail = json!({
                "used": used(&world, &project_id, resource),
                "limit": limit,
                "reserved": 0,
            });
            (resource.clone(), detail)
        })
        .collect();
    Ok(Json(json!({ "quota": quota })))
}

/// `GET /v2.0/availability_zones`: the sample zones.
async fn availability_zones(State(sim): State<Sim>, _caller: Scoped) -> Json<Value> {
    Json(sim.world().templates.network_availability_zones.clone())
}
