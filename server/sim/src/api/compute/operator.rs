//! What an operator's everyday Nova commands read: absolute limits and quota sets with real
//! usage, availability zones (list and detail) and, for admins, the one hypervisor.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::views;
use crate::api::{ApiError, Microversion, Params, Scoped};
use crate::model::compute::flavor_of;
use crate::model::{Record, World, stable_uuid};
use crate::sim::Sim;
use crate::templates::Object;

/// The limits every project gets (Nova's defaults are lower; the demo creates a lot).
const INSTANCES: u64 = 50;
/// Cores per project.
const CORES: u64 = 200;
/// RAM per project, in MiB.
const RAM_MB: u64 = 512_000;

/// The one simulated compute host, as servers name it.
const HOST: &str = "compute-1";
/// Its hypervisor's name.
const HYPERVISOR: &str = "compute-1.sim.local";

/// The operator routes.
pub(super) fn mount() -> Router<Sim> {
    Router::new()
        .route("/compute/v2.1/limits", get(show_limits))
        .route(
            "/compute/v2.1/os-quota-sets/{project_id}",
            get(show_quota_set),
        )
        .route(
            "/compute/v2.1/os-quota-sets/{project_id}/detail",
            get(show_quota_detail),
        )
        .route(
            "/compute/v2.1/os-quota-sets/{project_id}/defaults",
            get(show_quota_defaults),
        )
        .route(
            "/compute/v2.1/os-availability-zone",
            get(availability_zones),
        )
        .route(
            "/compute/v2.1/os-availability-zone/detail",
            get(availability_zones_detail),
        )
        .route("/compute/v2.1/os-hypervisors", get(list_hypervisors))
        .route(
            "/compute/v2.1/os-hypervisors/detail",
            get(list_hypervisors_detail),
        )
        .route(
            "/compute/v2.1/os-hypervisors/{hypervisor_id}",
            get(show_hypervisor),
        )
}

/// What one project uses now.
struct Usage {
    instances: u64,
    cores: u64,
    ram: u64,
    server_groups: u64,
    security_groups: u64,
    floating_ips: u64,
    key_pairs: u64,
}

fn count(records: &[Record], project_id: &str) -> u64 {
    records
        .iter()
        .filter(|r| r.project_id == project_id)
        .count() as u64
}

fn usage(world: &World, project_id: &str, user_id: &str) -> Usage {
    let servers: Vec<&Record> = world
        .servers
        .iter()
        .filter(|s| s.project_id == project_id)
        .collect();
    let flavors = servers.iter().filter_map(|s| flavor_of(world, s));
    let (cores, ram) = flavors.fold((0, 0), |(c, r), f| {
        (
            c + f["vcpus"].as_u64().unwrap_or(0),
            r + f["ram"].as_u64().unwrap_or(0),
        )
    });
    Usage {
        instances: servers.len() as u64,
        cores,
        ram,
        server_groups: count(&world.server_groups, project_id),
        security_groups: count(&world.security_groups, project_id),
        floating_ips: count(&world.floating_ips, project_id),
        key_pairs: count(&world.keypairs, user_id),
    }
}

fn forbidden(rule: &str) -> ApiError {
    ApiError::nova(
        StatusCode::FORBIDDEN,
        format!("Policy doesn't allow {rule} to be performed."),
    )
}

/// `GET /limits`: the project's limits and real usage (admins may pass `tenant_id`).
async fn show_limits(
    State(sim): State<Sim>,
    caller: Scoped,
    version: Microversion,
    Query(params): Query<Params>,
) -> Json<Value> {
    let world = sim.world();
    let project = params
        .get("tenant_id")
        .filter(|_| caller.admin)
        .unwrap_or(&caller.project_id);
    let used = usage(&world, project, &caller.user_id);
    let mut absolute = world.templates.compute_limits.clone();
    let fields = [
        ("maxTotalInstances", INSTANCES),
        ("maxTotalCores", CORES),
        ("maxTotalRAMSize", RAM_MB),
        ("totalInstancesUsed", used.instances),
        ("totalCoresUsed", used.cores),
        ("totalRAMUsed", used.ram),
        ("totalServerGroupsUsed", used.server_groups),
        ("totalSecurityGroupsUsed", used.security_groups),
        ("totalFloatingIpsUsed", used.floating_ips),
    ];
    for (key, value) in fields {
        absolute.insert(key.into(), json!(value));
    }
    let absolute = views::limits(absolute, version);
    Json(json!({ "limits": { "absolute": absolute, "rate": [] } }))
}

/// The quota set's limits at `version`: the 2.1 sample until 2.36 dropped the proxied network
/// quotas, the 2.57 sample (no injected files) from then on.
fn quota_limits(world: &World, version: Microversion) -> Object {
    let mut quota = if version.at_least(57) {
        world.templates.compute_quota_set_v2_57.clone()
    } else {
        world.templates.compute_quota_set.clone()
    };
    if version.at_least(36) {
        for key in [
            "fixed_ips",
            "floating_ips",
            "security_group_rules",
            "security_groups",
        ] {
            quota.remove(key);
        }
    }
    quota.insert("instances".into(), json!(INSTANCES));
    quota.insert("cores".into(), json!(CORES));
    quota.insert("ram".into(), json!(RAM_MB));
    quota.remove("id");
    quota
}

/// Whether the caller may read a project's quotas: its own, or any for an admin.
fn may_read(caller: &Scoped, project_id: &str) -> Result<(), ApiError> {
    if caller.admin || caller.project_id == project_id {
        Ok(())
    } else {
        Err(forbidden("os_compute_api:os-quota-sets:show"))
    }
}

fn quota_answer(mut quota: Object, project_id: &str) -> Json<Value> {
    quota.insert("id".into(), json!(project_id));
    Json(json!({ "quota_set": quota }))
}

/// `GET /os-quota-sets/{project_id}`.
async fn show_quota_set(
    State(sim): State<Sim>,
    caller: Scoped,
    version: Microversion,
    Path(project_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    may_read(&caller, &project_id)?;
    let world = sim.world();
    Ok(quota_answer(quota_limits(&world, version), &project_id))
}

/// `GET /os-quota-sets/{project_id}/defaults`: the same limits (every project has them).
async fn show_quota_defaults(
    State(sim): State<Sim>,
    _caller: Scoped,
    version: Microversion,
    Path(project_id): Path<String>,
) -> Json<Value> {
    let world = sim.world();
    quota_answer(quota_limits(&world, version), &project_id)
}

/// `GET /os-quota-sets/{project_id}/detail`: each limit with `in_use` and `reserved`.
async fn show_quota_detail(
    State(sim): State<Sim>,
    caller: Scoped,
    version: Microversion,
    Path(project_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    may_read(&caller, &project_id)?;
    let world = sim.world();
    let used = usage(&world, &project_id, &caller.user_id);
    let mut quota = quota_limits(&world, version);
    for (key, value) in quota.iter_mut() {
        let in_use = match key.as_str() {
            "instances" => used.instances,
            "cores" => used.cores,
            "ram" => used.ram,
            "server_groups" => used.server_groups,
            "security_groups" => used.security_groups,
            "floating_ips" => used.floating_ips,
            "key_pairs" => used.key_pairs,
            _ => 0,
        };
        *value = json!({ "in_use": in_use, "limit": value.clone(), "reserved": 0 });
    }
    Ok(quota_answer(quota, &project_id))
}

/// `GET /os-availability-zone`: the zones, without their hosts.
async fn availability_zones(State(sim): State<Sim>, _caller: Scoped) -> Json<Value> {
    Json(sim.world().templates.availability_zone_list.clone())
}

/// `GET /os-availability-zone/detail`: the sample zones with their hosts and services (admin
/// only, as Nova's default policy has it).
async fn availability_zones_detail(
    State(sim): State<Sim>,
    caller: Scoped,
) -> Result<Json<Value>, ApiError> {
    admin_only(&caller, "os_compute_api:os-availability-zone:detail")?;
    Ok(Json(sim.world().templates.availability_zones.clone()))
}

/// The one hypervisor at `version`: UUID ids from 2.53 (integers before), the statistics
/// until 2.88 dropped them.
fn hypervisor(world: &World, version: Microversion, detail: bool) -> Value {
    let mut body = world.templates.hypervisor.clone();
    let (hypervisor_id, service_id) = if version.at_least(53) {
        (
            json!(stable_uuid("hypervisor")),
            json!(stable_uuid("service")),
        )
    } else {
        (json!(1), json!(2))
    };
    body.insert("id".into(), hypervisor_id);
    body.insert("hypervisor_hostname".into(), json!(HYPERVISOR));
    body.insert("host_ip".into(), json!("192.168.122.10"));
    body.insert(
        "service".into(),
        json!({ "disabled_reason": null, "host": HOST, "id": service_id }),
    );
    if !detail {
        let keep = ["id", "hypervisor_hostname", "state", "status"];
        body.retain(|k, _| keep.contains(&k.as_str()));
        return Value::Object(body);
    }
    if !version.at_least(88) {
        let servers = world.servers.iter();
        let flavors: Vec<&Object> = servers.filter_map(|s| flavor_of(world, s)).collect();
        let sum = |key: &str| -> u64 { flavors.iter().map(|f| f[key].as_u64().unwrap_or(0)).sum() };
        let (vcpus, memory, disk) = (64u64, 262_144u64, 2048u64);
        let stats = [
            ("vcpus", json!(vcpus)),
            ("memory_mb", json!(memory)),
            ("local_gb", json!(disk)),
            ("vcpus_used", json!(sum("vcpus"))),
            ("memory_mb_used", json!(sum("ram"))),
            ("local_gb_used", json!(sum("disk"))),
            ("free_ram_mb", json!(memory.saturating_sub(sum("ram")))),
            ("free_disk_gb", json!(disk.saturating_sub(sum("disk")))),
            ("current_workload", json!(0)),
            ("running_vms", json!(world.servers.len())),
            (
                "disk_available_least",
                json!(disk.saturating_sub(sum("disk"))),
            ),
            ("cpu_info", json!("{}")),
        ];
        for (key, value) in stats {
            body.insert(key.into(), value);
        }
        body.remove("uptime");
    }
    Value::Object(body)
}

fn admin_only(caller: &Scoped, rule: &str) -> Result<(), ApiError> {
    if caller.admin {
        Ok(())
    } else {
        Err(forbidden(rule))
    }
}

/// `GET /os-hypervisors` (admin).
async fn list_hypervisors(
    State(sim): State<Sim>,
    caller: Scoped,
    version: Microversion,
) -> Result<Json<Value>, ApiError> {
    admin_only(&caller, "os_compute_api:os-hypervisors:list")?;
    let world = sim.world();
    Ok(Json(
        json!({ "hypervisors": [hypervisor(&world, version, false)] }),
    ))
}

/// `GET /os-hypervisors/detail` (admin).
async fn list_hypervisors_detail(
    State(sim): State<Sim>,
    caller: Scoped,
    version: Microversion,
) -> Result<Json<Value>, ApiError> {
    admin_only(&caller, "os_compute_api:os-hypervisors:list-detail")?;
    let world = sim.world();
    Ok(Json(
        json!({ "hypervisors": [hypervisor(&world, version, true)] }),
    ))
}

/// `GET /os-hypervisors/{id}` (admin).
async fn show_hypervisor(
    State(sim): State<Sim>,
    caller: Scoped,
    version: Microversion,
    Path(hypervisor_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    admin_only(&caller, "os_compute_api:os-hypervisors:show")?;
    let world = sim.world();
    let found = hypervisor(&world, version, true);
    let matches = match &found["id"] {
        Value::String(id) => *id == hypervisor_id,
        other => {
            *other
                == hypervisor_id
                    .parse::<u64>()
                    .map_or(Value::Null, |n| json!(n))
        }
    };
    if !matches {
        return Err(ApiError::nova(
            StatusCode::NOT_FOUND,
            format!("Hypervisor with ID '{hypervisor_id}' could not be found."),
        ));
    }
    Ok(Json(json!({ "hypervisor": found })))
}
