//! Cinder volumes, snapshots and backups, and the attach/detach handshake with Nova servers.

use serde_json::{Value, json};

use super::{Record, World, find_mut, position};
use crate::templates::Object;

/// Ticks a new volume stays `creating`.
const CREATE_TICKS: u32 = 2;

/// What a new volume is made of.
#[derive(Clone, Debug, Default)]
pub(crate) struct VolumeSpec {
    /// Owning project.
    pub project_id: String,
    /// Creating user.
    pub user_id: String,
    /// Display name (Cinder allows none).
    pub name: Option<String>,
    /// Free text (Cinder allows none).
    pub description: Option<String>,
    /// Size in GiB.
    pub size: u64,
    /// Volume type name.
    pub volume_type: Option<String>,
    /// User metadata.
    pub metadata: Object,
    /// Image the volume is created from; makes it bootable.
    pub image_id: Option<String>,
}

/// Why a volume operation was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum VolumeError {
    /// No such volume (or server).
    NotFound(String),
    /// The volume's state does not allow it (Cinder's and Nova's 400 `badRequest`).
    Invalid(String),
}

/// Adds a volume in `creating`; returns its id.
pub(crate) fn create_volume(world: &mut World, spec: VolumeSpec) -> String {
    let id = world.uuid();
    let now = world.now().micros();
    let mut body = world.templates.volume.clone();
    let bootable = if spec.image_id.is_some() {
        "true"
    } else {
        "false"
    };
    let fields = [
        ("id", json!(id)),
        ("name", json!(spec.name)),
        ("description", json!(spec.description)),
        ("size", json!(spec.size)),
        ("status", json!("creating")),
        ("attachments", json!([])),
        ("availability_zone", json!("nova")),
        ("bootable", json!(bootable)),
        ("created_at", json!(now)),
        ("updated_at", Value::Null),
        ("metadata", Value::Object(spec.metadata)),
        ("os-vol-host-attr:host", json!("sim@lvm#lvm")),
        ("os-vol-tenant-attr:tenant_id", json!(spec.project_id)),
        ("user_id", json!(spec.user_id)),
        (
            "volume_type",
            json!(spec.volume_type.unwrap_or_else(|| "__DEFAULT__".into())),
        ),
    ];
    for (key, value) in fields {
        body.insert(key.to_owned(), value);
    }
    world.volumes.push(Record::new(&spec.project_id, body));
    id
}

/// Whether a volume is attached (or being attached) to a server.
pub(crate) fn attached_to(volume: &Record, server_id: &str) -> bool {
    volume.body["attachments"]
        .as_array()
        .is_some_and(|list| list.iter().any(|a| a["server_id"] == server_id))
}

/// The device a volume is attached at on a server.
pub(crate) fn device_on(volume: &Record, server_id: &str) -> Option<String> {
    let list = volume.body["attachments"].as_array()?;
    let attachment = list.iter().find(|a| a["server_id"] == server_id)?;
    attachment["device"].as_str().map(str::to_owned)
}

/// Starts attaching an available volume of the server's project; returns the device.
pub(crate) fn attach(
    world: &mut World,
    server_id: &str,
    volume_id: &str,
) -> Result<String, VolumeError> {
    let used = world
        .volumes
        .iter()
        .filter(|v| attached_to(v, server_id))
        .count();
    let device = format!("/dev/vd{}", char::from(b'b' + (used as u8).min(24)));
    let attachment_id = world.uuid();
    let now = world.now().micros();
    let volume = find_mut(&mut world.volumes, volume_id)
        .ok_or_else(|| VolumeError::NotFound(format!("Volume {volume_id} could not be found.")))?;
    if volume.str("status") != "available" {
        return Err(VolumeError::Invalid(format!(
            "Invalid volume: volume {volume_id} status must be available, but current status is: {}",
            volume.str("status")
        )));
    }
    volume.set(
        "attachments",
        json!([{
            "server_id": server_id,
            "attachment_id": attachment_id,
            "attached_at": now,
            "host_name": "compute-1",
            "volume_id": volume_id,
            "device": device,
            "id": volume_id,
        }]),
    );
    volume.enter("status", "attaching");
    volume.set("updated_at", now);
    Ok(device)
}

/// Starts detaching a volume from a server.
pub(crate) fn detach(
    world: &mut World,
    server_id: &str,
    volume_id: &str,
) -> Result<(), VolumeError> {
    let now = world.now().micros();
    let volume = find_mut(&mut world.volumes, volume_id)
        .filter(|v| attached_to(v, server_id))
        .ok_or_else(|| {
            VolumeError::NotFound(format!(
                "volume_id {volume_id} not found as attached to {server_id}"
            ))
        })?;
    if volume.str("status") != "in-use" {
        return Err(VolumeError::Invalid(format!(
            "Invalid volume: volume {volume_id} status must be in-use, but current status is: {}",
            volume.str("status")
        )));
    }
    volume.enter("status", "detaching");
    volume.set("updated_at", now);
    Ok(())
}

/// Starts deleting a volume, refusing attached ones and ones with snapshots like Cinder does.
pub(crate) fn delete(world: &mut World, volume_id: &str) -> Result<(), VolumeError> {
    let has_snapshots = world
        .snapshots
        .iter()
        .any(|s| s.str("volume_id") == volume_id);
    let volume = find_mut(&mut world.volumes, volume_id)
        .ok_or_else(|| VolumeError::NotFound(format!("Volume {volume_id} could not be found.")))?;
    let status = volume.str("status");
    if !matches!(status, "available" | "error" | "deleting") || has_snapshots {
        return Err(VolumeError::Invalid(format!(
            "Invalid volume: Volume status must be available or error and must not be attached or \
             have snapshots, but current status is: {status}"
        )));
    }
    if status != "deleting" {
        volume.enter("status", "deleting");
    }
    Ok(())
}

/// One clock step for every volume; returns how many changed.
pub(crate) fn advance(world: &mut World) -> usize {
    let now = world.now().micros();
    let mut changed = 0;
    let mut gone = Vec::new();
    for volume in &mut world.volumes {
        volume.ticks += 1;
        let next = match volume.str("status") {
            "creating" if volume.ticks >= CREATE_TICKS => "available",
            "attaching" => "in-use",
            "detaching" => {
                volume.set("attachments", json!([]));
                "available"
            }
            "deleting" => {
                gone.push(volume.id.clone());
                continue;
            }
            _ => continue,
        };
        volume.enter("status", next);
        volume.set("updated_at", now.clone());
        changed += 1;
    }
    changed += gone.len();
    for id in gone {
        if let Some(index) = position(&world.volumes, &id) {
            world.volumes.remove(index);
        }
    }
    changed
}

/// Adds an available snapshot of a volume.
pub(crate) fn create_snapshot(world: &mut World, volume_id: &str, name: &str) {
    let Some(volume) = super::find(&world.volumes, volume_id).cloned() else {
        return;
    };
    let mut body = world.templates.snapshot.clone();
    let fields = [
        ("id", json!(world.uuid())),
        ("name", json!(name)),
        (
            "description",
            json!(format!("Snapshot of {}", volume.str("name"))),
        ),
        ("created_at", json!(world.now().micros())),
        ("metadata", json!({})),
        ("os-extended-snapshot-attributes:progress", json!("100%")),
        (
            "os-extended-snapshot-attributes:project_id",
            json!(volume.project_id),
        ),
        ("size", volume.body["size"].clone()),
        ("status", json!("available")),
        ("volume_id", json!(volume_id)),
    ];
    for (key, value) in fields {
        body.insert(key.to_owned(), value);
    }
    world.snapshots.push(Record::new(&volume.project_id, body));
}

/// Adds an available backup of a volume.
pub(crate) fn create_backup(world: &mut World, volume_id: &str, name: &str) {
    let Some(volume) = super::find(&world.volumes, volume_id).cloned() else {
        return;
    };
    let now = world.now().micros();
    let mut body = world.templates.backup.clone();
    let fields = [
        ("id", json!(world.uuid())),
        ("name", json!(name)),
        (
            "description",
            json!(format!("Backup of {}", volume.str("name"))),
        ),
        ("availability_zone", json!("nova")),
        ("container", json!("volumebackups")),
        ("created_at", json!(now)),
        ("data_timestamp", json!(now)),
        ("updated_at", json!(now)),
        (
            "object_count",
            json!(volume.body["size"].as_u64().unwrap_or(1) * 2),
        ),
        ("size", volume.body["size"].clone()),
        ("status", json!("available")),
        ("volume_id", json!(volume_id)),
    ];
    for (key, value) in fields {
        body.insert(key.to_owned(), value);
    }
    world.backups.push(Record::new(&volume.project_id, body));
}
