//! Neutron subnets and ports one by one: show, create, update (name and description) and
//! delete, as `openstack subnet create` and `openstack port create` drive them.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::{bad_request, visible};
use crate::api::{ApiError, Scoped};
use crate::model::network::{self, Cidr, PortError};
use crate::model::{Record, World, find, find_mut};
use crate::sim::Sim;

/// The subnet and port routes (the lists are in the parent).
pub(super) fn mount() -> Router<Sim> {
    Router::new()
        .route(
            "/network/v2.0/subnets/{subnet_id}",
            get(show_subnet).put(update_subnet).delete(delete_subnet),
        )
        .route(
            "/network/v2.0/ports/{port_id}",
            get(show_port).put(update_port).delete(delete_port),
        )
}

fn not_found(kind: &str, id: &str) -> ApiError {
    let title = if kind == "Subnet" {
        "SubnetNotFound"
    } else {
        "PortNotFound"
    };
    ApiError::neutron(
        StatusCode::NOT_FOUND,
        title,
        format!("{kind} {id} could not be found."),
    )
}

fn port_error(error: PortError, kind: &str, id: &str) -> ApiError {
    match error {
        PortError::NotFound => not_found(kind, id),
        PortError::NoAddress => ApiError::neutron(
            StatusCode::CONFLICT,
            "IpAddressGenerationFailure",
            format!("No more IP addresses available on network {id}."),
        ),
        PortError::InUse => ApiError::neutron(
            StatusCode::CONFLICT,
            "SubnetInUse",
            format!(
                "Unable to complete operation on subnet {id}: One or more ports have an IP \
                 allocation from this subnet."
            ),
        ),
    }
}

/// The record if the caller owns it (admins own everything); others' are not found.
fn owned<'a>(records: &'a [Record], caller: &Scoped, id: &str) -> Option<&'a Record> {
    find(records, id).filter(|r| caller.admin || r.project_id == caller.project_id)
}

/// `POST /v2.0/subnets`: an IPv4 subnet from `cidr` on a network the caller owns.
pub(super) async fn create_subnet(
    State(sim): State<Sim>,
    caller: Scoped,
    Json(request): Json<Value>,
) -> Result<Response, ApiError> {
    let spec = &request["subnet"];
    let network_id = spec["network_id"]
        .as_str()
        .ok_or_else(|| bad_request("Invalid input for network_id."))?;
    let cidr_text = spec["cidr"].as_str().unwrap_or_default();
    let cidr = Cidr::parse(cidr_text).ok_or_else(|| {
        bad_request(format!(
            "Invalid input for cidr. Reason: '{cidr_text}' is not a valid IPv4 subnet this \
             simulator serves."
        ))
    })?;
    if spec["ip_version"].as_u64().is_some_and(|v| v != 4) {
        return Err(bad_request("Only IPv4 subnets are simulated."));
    }
    let mut world = sim.world();
    let network = visible(&world, &caller, network_id)?;
    if !caller.admin && network.project_id != caller.project_id {
        return Err(super::not_found(network_id));
    }
    let name = spec["name"].as_str().unwrap_or_default();
    let id = network::create_subnet_in(&mut world, network_id, name, cidr)
        .ok_or_else(|| super::not_found(network_id))?;
    if let Some(subnet) = find_mut(&mut world.subnets, &id) {
        for key in [
            "description",
            "enable_dhcp",
            "dns_nameservers",
            "gateway_ip",
        ] {
            if let Some(value) = spec.get(key).filter(|v| !v.is_null()) {
                subnet.set(key, value.clone());
            }
        }
    }
    let body = subnet_body(&world, &id);
    Ok((StatusCode::CREATED, Json(json!({ "subnet": body }))).into_response())
}

fn subnet_body(world: &World, id: &str) -> Value {
    find(&world.subnets, id).map_or(Value::Null, |s| Value::Object(s.body.clone()))
}

/// `GET /v2.0/subnets/{id}`: own subnets and those of shared or external networks.
async fn show_subnet(
    State(sim): State<Sim>,
    caller: Scoped,
    Path(subnet_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let world = sim.world();
    let subnet = find(&world.subnets, &subnet_id)
        .filter(|s| visible(&world, &caller, s.str("network_id")).is_ok())
        .ok_or_else(|| not_found("Subnet", &subnet_id))?;
    Ok(Json(json!({ "subnet": subnet.body })))
}

/// Applies the `name` and `description` of an update body; other fields are refused.
fn rename(record: &mut Record, spec: &Value, now: String) -> Result<(), ApiError> {
    let fields = spec
        .as_object()
        .ok_or_else(|| bad_request("Resource body required."))?;
    for (key, value) in fields {
        match (key.as_str(), value) {
            ("name" | "description", Value::String(_)) => record.set(key, value.clone()),
            _ => {
                return Err(bad_request(format!(
                    "Updating {key} is not simulated; only name and description are."
                )));
            }
        }
    }
    let revision = record.body["revision_number"].as_u64().unwrap_or(0) + 1;
    record.set("revision_number", revision);
    record.set("updated_at", now);
    Ok(())
}

/// `PUT /v2.0/subnets/{id}`: name and description.
async fn update_subnet(
    State(sim): State<Sim>,
    caller: Scoped,
    Path(subnet_id): Path<String>,
    Json(request): Json<Value>,
) -> Result<Json<Value>, ApiError> {
    let mut world = sim.world();
    owned(&world.subnets, &caller, &subnet_id).ok_or_else(|| not_found("Subnet", &subnet_id))?;
    let now = world.now().seconds_z();
    let subnet =
        find_mut(&mut world.subnets, &subnet_id).ok_or_else(|| not_found("Subnet", &subnet_id))?;
    rename(subnet, &request["subnet"], now)?;
    Ok(Json(json!({ "subnet": subnet.body })))
}

/// `DELETE /v2.0/subnets/{id}`: refused while instances have addresses on it.
async fn delete_subnet(
    State(sim): State<Sim>,
    caller: Scoped,
    Path(subnet_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let mut world = sim.world();
    owned(&world.subnets, &caller, &subnet_id).ok_or_else(|| not_found("Subnet", &subnet_id))?;
    network::delete_subnet(&mut world, &subnet_id)
        .map_err(|e| port_error(e, "Subnet", &subnet_id))?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v2.0/ports`: a port with the next free address of the network's first subnet.
pub(super) async fn create_port(
    State(sim): State<Sim>,
    caller: Scoped,
    Json(request): Json<Value>,
) -> Result<Response, ApiError> {
    let spec = &request["port"];
    let network_id = spec["network_id"]
        .as_str()
        .ok_or_else(|| bad_request("Invalid input for network_id."))?;
    let mut world = sim.world();
    visible(&world, &caller, network_id)?;
    let name = spec["name"].as_str().unwrap_or_default();
    let id = network::create_user_port(&mut world, network_id, name)
        .map_err(|e| port_error(e, "Network", network_id))?;
    let project = caller.project_id.clone();
    if let Some(port) = find_mut(&mut world.ports, &id) {
        port.project_id.clone_from(&project);
        port.set("project_id", project.clone());
        port.set("tenant_id", project);
        for key in ["description", "admin_state_up", "device_id", "device_owner"] {
            if let Some(value) = spec.get(key).filter(|v| !v.is_null()) {
                port.set(key, value.clone());
            }
        }
    }
    let body = find(&world.ports, &id).map_or(Value::Null, |p| Value::Object(p.body.clone()));
    Ok((StatusCode::CREATED, Json(json!({ "port": body }))).into_response())
}

/// `GET /v2.0/ports/{id}`.
async fn show_port(
    State(sim): State<Sim>,
    caller: Scoped,
    Path(port_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let world = sim.world();
    let port = owned(&world.ports, &caller, &port_id).ok_or_else(|| not_found("Port", &port_id))?;
    Ok(Json(json!({ "port": port.body })))
}

/// `PUT /v2.0/ports/{id}`: name and description.
async fn update_port(
    State(sim): State<Sim>,
    caller: Scoped,
    Path(port_id): Path<String>,
    Json(request): Json<Value>,
) -> Result<Json<Value>, ApiError> {
    let mut world = sim.world();
    owned(&world.ports, &caller, &port_id).ok_or_else(|| not_found("Port", &port_id))?;
    let now = world.now().seconds_z();
    let port = find_mut(&mut world.ports, &port_id).ok_or_else(|| not_found("Port", &port_id))?;
    rename(port, &request["port"], now)?;
    Ok(Json(json!({ "port": port.body })))
}

/// `DELETE /v2.0/ports/{id}`.
async fn delete_port(
    State(sim): State<Sim>,
    caller: Scoped,
    Path(port_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let mut world = sim.world();
    owned(&world.ports, &caller, &port_id).ok_or_else(|| not_found("Port", &port_id))?;
    network::delete_port(&mut world, &port_id).map_err(|e| port_error(e, "Port", &port_id))?;
    Ok(StatusCode::NO_CONTENT)
}
