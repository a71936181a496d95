//! Neutron v2.0 under `/network/v2.0`: networks (list, show, create, update, delete), subnets and
//! ports (`ports`: create, show, update, delete), quotas and zones (`quotas`), and the read-only
//! lists of routers, floating IPs, security groups and rules. Every list honours Neutron's
//! equality filters on top-level fields (`?name=…&status=…`).

mod ports;
mod quotas;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::{ApiError, Params, Scoped};
use crate::model::network::{self, NetworkError};
use crate::model::{Record, World};
use crate::sim::Sim;

/// Query parameters that are not field filters.
const NOT_FILTERS: [&str; 6] = [
    "fields",
    "limit",
    "marker",
    "sort_key",
    "sort_dir",
    "page_reverse",
];

/// The Neutron routes.
pub(crate) fn mount() -> Router<Sim> {
    Router::new()
        .route(
            "/network/v2.0/networks",
            get(list_networks).post(create_network),
        )
        .route(
            "/network/v2.0/networks/{network_id}",
            get(show_network).put(update_network).delete(delete_network),
        )
        .route(
            "/network/v2.0/subnets",
            get(list_subnets).post(ports::create_subnet),
        )
        .route(
            "/network/v2.0/ports",
            get(list_ports).post(ports::create_port),
        )
        .merge(ports::mount())
        .merge(quotas::mount())
        .route("/network/v2.0/routers", get(list_routers))
        .route("/network/v2.0/floatingips", get(list_floating_ips))
        .route("/network/v2.0/security-groups", get(list_security_groups))
        .route(
            "/network/v2.0/security-group-rules",
            get(list_security_group_rules),
        )
}

fn matches_filters(record: &Record, params: &Params) -> bool {
    params
        .iter()
        .filter(|(k, _)| !NOT_FILTERS.contains(&k.as_str()))
        .all(|(key, wanted)| match record.body.get(key) {
            Some(Value::String(s)) => s == wanted,
            Some(Value::Bool(b)) => b.to_string() == *wanted,
            Some(Value::Number(n)) => n.to_string() == *wanted,
            Some(Value::Null) => wanted.is_empty(),
            _ => false,
        })
}

/// A list answer: the caller's records (all for admins, plus `extra` visibility), filtered.
fn list(
    records: &[Record],
    key: &str,
    caller: &Scoped,
    params: &Params,
    extra: fn(&Record) -> bool,
) -> Json<Value> {
    let items: Vec<&serde_json::Map<String, Value>> = records
        .iter()
        .filter(|r| caller.admin || r.project_id == caller.project_id || extra(r))
        .filter(|r| matches_filters(r, params))
        .map(|r| &r.body)
        .collect();
    Json(json!({ key: items }))
}

fn public_network(network: &Record) -> bool {
    network.body["shared"] == true || network.body["router:external"] == true
}

fn own_only(_: &Record) -> bool {
    false
}

fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError::neutron(StatusCode::BAD_REQUEST, "HTTPBadRequest", message)
}

fn not_found(id: &str) -> ApiError {
    ApiError::neutron(
        StatusCode::NOT_FOUND,
        "NetworkNotFound",
        format!("Network {id} could not be found."),
    )
}

/// `GET /v2.0/networks`: own, shared and external networks (admins: all).
async fn list_networks(
    State(sim): State<Sim>,
    caller: Scoped,
    Query(params): Query<Params>,
) -> Json<Value> {
    list(
        &sim.world().networks,
        "networks",
        &caller,
        &params,
        public_network,
    )
}

/// A single network as served: Neutron's show and create answers also carry `tags`.
fn single(network: &Record) -> Value {
    let mut body = network.body.clone();
    body.entry("tags").or_insert_with(|| json!([]));
    json!({ "network": body })
}

fn visible<'a>(world: &'a World, caller: &Scoped, id: &str) -> Result<&'a Record, ApiError> {
    network::network(world, id)
        .filter(|n| caller.admin || n.project_id == caller.project_id || public_network(n))
        .ok_or_else(|| not_found(id))
}

/// `GET /v2.0/networks/{id}`.
async fn show_network(
    State(sim): State<Sim>,
    caller: Scoped,
    Path(network_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let world = sim.world();
    Ok(Json(
        json!({ "network": visible(&world, &caller, &network_id)?.body }),
    ))
}

/// `POST /v2.0/networks`: an ACTIVE network in the token's project.
async fn create_network(
    State(sim): State<Sim>,
    caller: Scoped,
    Json(request): Json<Value>,
) -> Result<Response, ApiError> {
    let spec = request
        .get("network")
        .and_then(Value::as_object)
        .ok_or_else(|| {
            ApiError::neutron(
                StatusCode::BAD_REQUEST,
                "HTTPBadRequest",
                "Resource body required.",
            )
        })?;
    let external = spec
        .get("router:external")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if external && !caller.admin {
        return Err(ApiError::neutron(
            StatusCode::FORBIDDEN,
            "HTTPForbidden",
            "(rule:create_network:router:external) is disallowed by policy",
        ));
    }
    let name = spec.get("name").and_then(Value::as_str).unwrap_or_default();
    let mut world = sim.world();
    let id = network::create_network(&mut world, &caller.project_id, name, external);
    if let Some(record) = crate::model::find_mut(&mut world.networks, &id) {
        for key in ["admin_state_up", "shared", "description", "mtu"] {
            if let Some(value) = spec.get(key) {
                record.set(key, value.clone());
            }
        }
    }
    let body = single(visible(&world, &caller, &id)?);
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// `PUT /v2.0/networks/{id}`: name, description, `admin_state_up` and `mtu`.
async fn update_network(
    State(sim): State<Sim>,
    caller: Scoped,
    Path(network_id): Path<String>,
    Json(request): Json<Value>,
) -> Result<Json<Value>, ApiError> {
    let fields = request
        .get("network")
        .and_then(Value::as_object)
        .ok_or_else(|| bad_request("Resource body required."))?;
    let mut world = sim.world();
    let network = visible(&world, &caller, &network_id)?;
    if !caller.admin && network.project_id != caller.project_id {
        return Err(not_found(&network_id));
    }
    let now = world.now().seconds_z();
    let record = crate::model::find_mut(&mut world.networks, &network_id)
        .ok_or_else(|| not_found(&network_id))?;
    for (key, value) in fields {
        if !["name", "description", "admin_state_up", "mtu"].contains(&key.as_str()) {
            return Err(bad_request(format!(
                "Updating {key} is not simulated; name, description, admin_state_up and mtu are."
            )));
        }
        record.set(key, value.clone());
    }
    let revision = record.body["revision_number"].as_u64().unwrap_or(0) + 1;
    record.set("revision_number", revision);
    record.set("updated_at", now);
    Ok(Json(single(record)))
}

/// `DELETE /v2.0/networks/{id}`: refused while instances have ports on it.
async fn delete_network(
    State(sim): State<Sim>,
    caller: Scoped,
    Path(network_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let mut world = sim.world();
    let network = visible(&world, &caller, &network_id)?;
    if !caller.admin && network.project_id != caller.project_id {
        return Err(not_found(&network_id));
    }
    network::delete_network(&mut world, &network_id).map_err(|e| match e {
        NetworkError::NotFound => not_found(&network_id),
        NetworkError::InUse => ApiError::neutron(
            StatusCode::CONFLICT,
            "NetworkInUse",
            format!("Unable to complete operation on network {network_id}. There are one or more ports still in use on the network."),
        ),
    })?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v2.0/subnets`.
async fn list_subnets(
    State(sim): State<Sim>,
    caller: Scoped,
    Query(params): Query<Params>,
) -> Json<Value> {
    let world = sim.world();
    let public: Vec<String> = world
        .networks
        .iter()
        .filter(|n| public_network(n))
        .map(|n| n.id.clone())
        .collect();
    let items: Vec<&serde_json::Map<String, Value>> = world
        .subnets
        .iter()
        .filter(|s| {
            caller.admin
                || s.project_id == caller.project_id
                || public.iter().any(|n| n == s.str("network_id"))
        })
        .filter(|s| matches_filters(s, &params))
        .map(|s| &s.body)
        .collect();
    Json(json!({ "subnets": items }))
}

/// `GET /v2.0/ports`.
async fn list_ports(
    State(sim): State<Sim>,
    caller: Scoped,
    Query(params): Query<Params>,
) -> Json<Value> {
    list(&sim.world().ports, "ports", &caller, &params, own_only)
}

/// `GET /v2.0/routers`.
async fn list_routers(
    State(sim): State<Sim>,
    caller: Scoped,
    Query(params): Query<Params>,
) -> Json<Value> {
    list(&sim.world().routers, "routers", &caller, &params, own_only)
}

/// `GET /v2.0/floatingips`.
async fn list_floating_ips(
    State(sim): State<Sim>,
    caller: Scoped,
    Query(params): Query<Params>,
) -> Json<Value> {
    list(
        &sim.world().floating_ips,
        "floatingips",
        &caller,
        &params,
        own_only,
    )
}

/// `GET /v2.0/security-groups`.
async fn list_security_groups(
    State(sim): State<Sim>,
    caller: Scoped,
    Query(params): Query<Params>,
) -> Json<Value> {
    list(
        &sim.world().security_groups,
        "security_groups",
        &caller,
        &params,
        own_only,
    )
}

/// `GET /v2.0/security-group-rules`.
async fn list_security_group_rules(
    State(sim): State<Sim>,
    caller: Scoped,
    Query(params): Query<Params>,
) -> Json<Value> {
    list(
        &sim.world().security_group_rules,
        "security_group_rules",
        &caller,
        &params,
        own_only,
    )
}
