//! Nova models: instances, flavors, keypairs, limits, zones, server groups, attachments.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Quota;

/// A Nova server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Instance {
    /// Server id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Nova status, e.g. `ACTIVE`, `BUILD`, `SHUTOFF`, `ERROR`.
    pub status: String,
    /// Build or migration progress in percent.
    pub progress: u32,
    /// Owning project.
    pub project_id: String,
    /// Creating user.
    pub user_id: String,
    /// The flavor, as far as the upstream described it.
    pub flavor: FlavorSummary,
    /// Boot image; `null` for servers booted from a volume.
    pub image_id: Option<String>,
    /// IP addresses, ordered by network name.
    pub addresses: Vec<InstanceAddress>,
    /// Creation time.
    pub created: String,
    /// Last change.
    pub updated: String,
    /// Availability zone.
    pub availability_zone: Option<String>,
    /// Injected keypair.
    pub key_name: Option<String>,
    /// Hypervisor power state: `NOSTATE`, `RUNNING`, `PAUSED`, `SHUTDOWN`, `CRASHED`, `SUSPENDED`.
    pub power_state: Option<String>,
    /// Task in progress, e.g. `spawning`, `rebooting`.
    pub task_state: Option<String>,
    /// VM state, e.g. `active`, `stopped`.
    pub vm_state: Option<String>,
    /// Ids of the attached volumes.
    pub attached_volume_ids: Vec<String>,
    /// User metadata.
    pub metadata: BTreeMap<String, String>,
}

/// The flavor of an instance: an id (microversion < 2.47) or the embedded description (>= 2.47).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct FlavorSummary {
    /// Flavor id (only before 2.47).
    pub id: Option<String>,
    /// Flavor name (only from 2.47).
    pub name: Option<String>,
    /// Virtual CPUs (only from 2.47).
    pub vcpus: Option<u32>,
    /// Memory in MiB (only from 2.47).
    pub ram_mb: Option<u32>,
    /// Root disk in GiB (only from 2.47).
    pub disk_gb: Option<u32>,
}

/// One IP address of an instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct InstanceAddress {
    /// Network name.
    pub network: String,
    /// The address.
    pub addr: String,
    /// 4 or 6.
    pub version: u32,
    /// `fixed` or `floating`, when reported.
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

/// A Nova flavor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Flavor {
    /// Flavor id.
    pub id: String,
    /// Flavor name.
    pub name: String,
    /// Virtual CPUs.
    pub vcpus: u32,
    /// Memory in MiB.
    pub ram_mb: u32,
    /// Root disk in GiB.
    pub disk_gb: u32,
    /// Ephemeral disk in GiB.
    pub ephemeral_gb: u32,
    /// Swap in MiB (Nova's `""` means none and becomes 0).
    pub swap_mb: u32,
    /// Whether every project may use it.
    pub is_public: bool,
    /// Whether it is disabled.
    pub disabled: bool,
    /// Free text (from 2.55).
    pub description: Option<String>,
    /// Extra specs (from 2.61).
    pub extra_specs: BTreeMap<String, String>,
}

/// A Nova keypair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Keypair {
    /// Keypair name (its id).
    pub name: String,
    /// Fingerprint of the public key.
    pub fingerprint: String,
    /// The public key.
    pub public_key: String,
    /// `ssh` or `x509` (from 2.2; `null` before).
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

/// Nova absolute limits and usage of a project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ComputeLimits {
    /// Servers.
    pub instances: Quota,
    /// Virtual CPUs.
    pub cores: Quota,
    /// Memory in MiB.
    pub ram_mb: Quota,
    /// Server groups.
    pub server_groups: Quota,
    /// Keypairs per user (no usage reported).
    pub keypairs: Quota,
    /// Members per server group (no usage reported).
    pub server_group_members: Quota,
    /// Metadata items per server (no usage reported).
    pub server_meta: Quota,
}

/// A Nova availability zone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct AvailabilityZone {
    /// Zone name.
    pub name: String,
    /// Whether the zone is available.
    pub available: bool,
    /// Host names in the zone, sorted (empty when not reported).
    pub hosts: Vec<String>,
}

/// A Nova server group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ServerGroup {
    /// Group id.
    pub id: String,
    /// Group name.
    pub name: String,
    /// Scheduling policy, e.g. `anti-affinity` (from `policy`, or the first of `policies`).
    pub policy: String,
    /// Member server ids.
    pub members: Vec<String>,
    /// Owning project (from 2.13).
    pub project_id: Option<String>,
    /// Owning user (from 2.13).
    pub user_id: Option<String>,
    /// The `max_server_per_host` rule (from 2.64).
    pub max_server_per_host: Option<u32>,
}

/// The attachment of a volume to a server (Nova's and Cinder's views).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct VolumeAttachment {
    /// Cinder attachment id, when reported (Nova from 2.89, Cinder always).
    pub attachment_id: Option<String>,
    /// The server.
    pub server_id: String,
    /// The volume.
    pub volume_id: String,
    /// Device path in the guest, e.g. `/dev/vdb`.
    pub device: Option<String>,
    /// When the volume was attached (Cinder only).
    pub attached_at: Option<String>,
    /// Whether the volume goes with the server (Nova from 2.79).
    pub delete_on_termination: Option<bool>,
}

/// A Nova hypervisor (compute node).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Hypervisor {
    /// Hypervisor id (a UUID from 2.53, an integer before, always as a string).
    pub id: String,
    /// Host name.
    pub hostname: String,
    /// `up` or `down`.
    pub state: Option<String>,
    /// `enabled` or `disabled`.
    pub status: Option<String>,
    /// Hypervisor type, e.g. `QEMU` (detail only).
    pub hypervisor_type: Option<String>,
    /// Management IP (detail only).
    pub host_ip: Option<String>,
}
