//! Nova servers, keypairs and server groups: creation from the samples, the power actions and
//! the build/stop/start/reboot/delete transitions the clock advances.

use serde_json::{Value, json};

use super::{Record, World, find, find_mut, network, position};
use crate::templates::Object;

/// Build progress gained per tick; a build takes four ticks.
const BUILD_STEP: u64 = 25;

/// What a new server is made of.
#[derive(Clone, Debug)]
pub(crate) struct ServerSpec {
    /// Owning project.
    pub project_id: String,
    /// Creating user.
    pub user_id: String,
    /// Display name.
    pub name: String,
    /// Flavor id (one of the sample flavors).
    pub flavor_id: String,
    /// Image id.
    pub image_id: String,
    /// User metadata.
    pub metadata: Object,
    /// Keypair name, if any.
    pub key_name: Option<String>,
    /// Availability zone.
    pub availability_zone: String,
    /// Whether to plug a port on the project's private network (bulk benchmark servers don't).
    pub with_port: bool,
}

/// A power or lifecycle request on a server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    /// `os-start`.
    Start,
    /// `os-stop`.
    Stop,
    /// `reboot` with type SOFT.
    SoftReboot,
    /// `reboot` with type HARD.
    HardReboot,
    /// `DELETE /servers/{id}`.
    Delete,
}

impl Action {
    fn verb(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::Stop => "stop",
            Self::SoftReboot | Self::HardReboot => "reboot",
            Self::Delete => "delete",
        }
    }
}

/// Why an action was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ActionError {
    /// No such server.
    NotFound,
    /// The server's state does not allow it (Nova's 409 `conflictingRequest`).
    Conflict(String),
}

/// Adds a server in BUILD and its port on the project's first network; returns its id.
pub(crate) fn create_server(world: &mut World, spec: ServerSpec) -> String {
    let id = world.uuid();
    let now = world.now().seconds_z();
    let instance = format!("instance-{:08x}", world.next_instance);
    world.next_instance += 1;
    let host_id = world.hex(56);
    let addresses = if spec.with_port {
        network::attach_server_port(world, &spec.project_id, &id)
    } else {
        json!({})
    };
    let mut body = world.templates.server.clone();
    let fields = [
        ("id", json!(id)),
        ("name", json!(spec.name)),
        ("accessIPv4", json!("")),
        ("accessIPv6", json!("")),
        ("addresses", addresses),
        ("created", json!(now)),
        ("updated", json!(now)),
        ("flavor", json!({ "id": spec.flavor_id })),
        ("image", json!({ "id": spec.image_id })),
        ("hostId", json!(host_id)),
        ("key_name", json!(spec.key_name)),
        ("metadata", Value::Object(spec.metadata)),
        ("OS-EXT-AZ:availability_zone", json!(spec.availability_zone)),
        ("OS-EXT-SRV-ATTR:host", json!("compute-1")),
        (
            "OS-EXT-SRV-ATTR:hypervisor_hostname",
            json!("compute-1.sim.local"),
        ),
        ("OS-EXT-SRV-ATTR:instance_name", json!(instance)),
        ("OS-EXT-STS:power_state", json!(0)),
        ("OS-EXT-STS:task_state", json!("spawning")),
        ("OS-EXT-STS:vm_state", json!("building")),
        ("os-extended-volumes:volumes_attached", json!([])),
        ("OS-SRV-USG:launched_at", Value::Null),
        ("OS-SRV-USG:terminated_at", Value::Null),
        ("progress", json!(0)),
        ("status", json!("BUILD")),
        ("tenant_id", json!(spec.project_id)),
        ("user_id", json!(spec.user_id)),
    ];
    for (key, value) in fields {
        body.insert(key.to_owned(), value);
    }
    world.servers.push(Record::new(&spec.project_id, body));
    id
}

/// Makes a server ACTIVE at once (seeding), as if its build had finished.
pub(crate) fn finish_build(server: &mut Record, launched_at: &str) {
    server.set("status", "ACTIVE");
    server.set("OS-EXT-STS:vm_state", "active");
    server.set("OS-EXT-STS:task_state", Value::Null);
    server.set("OS-EXT-STS:power_state", 1);
    server.set("OS-SRV-USG:launched_at", launched_at);
    server.set("progress", 100);
    server.ticks = 0;
}

/// Makes a server SHUTOFF at once.
pub(crate) fn finish_stop(server: &mut Record) {
    server.set("status", "SHUTOFF");
    server.set("OS-EXT-STS:vm_state", "stopped");
    server.set("OS-EXT-STS:task_state", Value::Null);
    server.set("OS-EXT-STS:power_state", 4);
    server.ticks = 0;
}

/// Starts an action on a server, checking its state like Nova does.
pub(crate) fn act(world: &mut World, id: &str, action: Action) -> Result<(), ActionError> {
    let now = world.now().seconds_z();
    let server = find_mut(&mut world.servers, id).ok_or(ActionError::NotFound)?;
    let status = server.str("status").to_owned();
    let task = server.str("OS-EXT-STS:task_state").to_owned();
    let allowed = match action {
        Action::Delete => task != "deleting",
        _ if !task.is_empty() => false,
        Action::Start => status == "SHUTOFF",
        Action::Stop => status == "ACTIVE" || status == "ERROR",
        Action::SoftReboot => status == "ACTIVE",
        Action::HardReboot => matches!(status.as_str(), "ACTIVE" | "SHUTOFF" | "ERROR"),
    };
    if !allowed {
        if action == Action::Delete {
            return Ok(());
        }
        let vm_state = server.str("OS-EXT-STS:vm_state").to_owned();
        let what = if task.is_empty() {
            format!("vm_state {vm_state}")
        } else {
            format!("task_state {task}")
        };
        return Err(ActionError::Conflict(format!(
            "Cannot '{}' instance {id} while it is in {what}",
            action.verb()
        )));
    }
    let (status, task) = match action {
        Action::Start => (status.as_str(), "powering-on"),
        Action::Stop => (status.as_str(), "powering-off"),
        Action::SoftReboot => ("REBOOT", "reboot_started"),
        Action::HardReboot => ("HARD_REBOOT", "reboot_started_hard"),
        Action::Delete => (status.as_str(), "deleting"),
    };
    let status = status.to_owned();
    server.set("status", status);
    server.set("OS-EXT-STS:task_state", task);
    server.set("updated", now);
    server.ticks = 0;
    Ok(())
}

/// One clock step for every server; returns how many changed.
pub(crate) fn advance(world: &mut World) -> usize {
    let now = world.now();
    let mut changed = 0;
    let mut gone = Vec::new();
    for server in &mut world.servers {
        server.ticks += 1;
        let before = server.body.clone();
        match (server.str("status"), server.str("OS-EXT-STS:task_state")) {
            (_, "deleting") => gone.push(server.id.clone()),
            ("BUILD", _) => {
                let progress = server.body["progress"].as_u64().unwrap_or(0) + BUILD_STEP;
                if progress >= 100 {
                    finish_build(server, &now.micros());
                } else {
                    server.set("progress", progress);
                    server.set(
                        "OS-EXT-STS:task_state",
                        if progress < 50 {
                            "networking"
                        } else {
                            "spawning"
                        },
                    );
                }
            }
            (_, "powering-off") => finish_stop(server),
            (_, "powering-on" | "reboot_started" | "reboot_started_hard") => {
                let launched = server.body["OS-SRV-USG:launched_at"].clone();
                finish_build(server, launched.as_str().unwrap_or(&now.micros()));
            }
            _ => {}
        }
        if server.body != before {
            server.set("updated", now.seconds_z());
            changed += 1;
        }
    }
    changed += gone.len();
    for id in gone {
        remove_server(world, &id);
    }
    changed
}

/// Removes a server and what hangs off it: ports, volume attachments, floating IP association.
pub(crate) fn remove_server(world: &mut World, id: &str) {
    if let Some(index) = position(&world.servers, id) {
        world.servers.remove(index);
    }
    for volume in world
        .volumes
        .iter_mut()
        .filter(|v| super::volume::attached_to(v, id))
    {
        volume.set("attachments", json!([]));
        volume.enter("status", "available");
    }
    network::release_server_ports(world, id);
}

/// Flavor of a server, for usage counting.
pub(crate) fn flavor_of<'a>(world: &'a World, server: &Record) -> Option<&'a Object> {
    let flavor_id = server.body["flavor"]["id"].as_str()?;
    world
        .templates
        .flavors
        .iter()
        .find(|f| f["id"] == flavor_id)
}

/// Whether a flavor id exists.
pub(crate) fn flavor_exists(world: &World, flavor_id: &str) -> bool {
    world.templates.flavors.iter().any(|f| f["id"] == flavor_id)
}

/// Adds a keypair owned by a user.
pub(crate) fn create_keypair(world: &mut World, user_id: &str, name: &str) {
    let mut body = world.templates.keypair.clone();
    let fingerprint: Vec<String> = (0..16).map(|_| world.hex(2)).collect();
    let key = world.hex(64);
    body.insert("name".into(), json!(name));
    body.insert("fingerprint".into(), json!(fingerprint.join(":")));
    body.insert(
        "public_key".into(),
        json!(format!("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5{key} {name}\n")),
    );
    let mut record = Record::new(user_id, body);
    record.id = name.to_owned();
    world.keypairs.push(record);
}

/// Adds a server group to a project.
pub(crate) fn create_server_group(world: &mut World, project_id: &str, name: &str, policy: &str) {
    let mut body = world.templates.server_group.clone();
    body.insert("id".into(), json!(world.uuid()));
    body.insert("name".into(), json!(name));
    body.insert("policies".into(), json!([policy]));
    body.insert("members".into(), json!([]));
    body.insert("metadata".into(), json!({}));
    world.server_groups.push(Record::new(project_id, body));
}

/// The server with this id.
pub(crate) fn server<'a>(world: &'a World, id: &str) -> Option<&'a Record> {
    find(&world.servers, id)
}
