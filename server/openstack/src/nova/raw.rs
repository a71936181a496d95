//! Nova's JSON shapes, tolerant of the differences between microversions, and their mapping
//! into the model.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::de::{count, limit, non_empty, nullable, string_or_int, swap_mb};
use crate::model::{
    AvailabilityZone, ComputeLimits, Flavor, FlavorSummary, Hypervisor, Instance, InstanceAddress,
    Keypair, Quota, ResourceRef, ServerGroup, VolumeAttachment,
};

#[derive(Deserialize)]
pub(super) struct Servers {
    pub(super) servers: Vec<Server>,
    /// A `next` link when Nova paged the list (more than its `max_limit` servers).
    #[serde(default)]
    pub(super) servers_links: Vec<Link>,
}

/// A pagination link of a list answer.
#[derive(Deserialize)]
pub(super) struct Link {
    #[serde(default)]
    pub(super) rel: String,
}

/// A page of a paged list: its items and whether Nova links a next page.
pub(super) trait Page {
    type Item;
    /// The id of an item, which is the marker of the page after it.
    fn id(item: &Self::Item) -> &str;
    /// The items, and whether a `next` link follows.
    fn into_parts(self) -> (Vec<Self::Item>, bool);
}

fn has_next(links: &[Link]) -> bool {
    links.iter().any(|l| l.rel == "next")
}

impl Page for Servers {
    type Item = Server;
    fn id(item: &Server) -> &str {
        &item.id
    }
    fn into_parts(self) -> (Vec<Server>, bool) {
        let next = has_next(&self.servers_links);
        (self.servers, next)
    }
}

#[derive(Deserialize)]
pub(super) struct ServerEnvelope {
    pub(super) server: Server,
}

#[derive(Deserialize)]
pub(super) struct Server {
    id: String,
    #[serde(default, deserialize_with = "nullable")]
    name: String,
    #[serde(default, deserialize_with = "nullable")]
    status: String,
    #[serde(default, deserialize_with = "nullable")]
    progress: u32,
    #[serde(default, deserialize_with = "nullable")]
    tenant_id: String,
    #[serde(default, deserialize_with = "nullable")]
    user_id: String,
    #[serde(default)]
    flavor: Option<ServerFlavor>,
    /// An object with `id` and links, or `""` when booted from a volume.
    #[serde(default)]
    image: Option<serde_json::Value>,
    #[serde(default, deserialize_with = "nullable")]
    addresses: BTreeMap<String, Vec<Address>>,
    #[serde(default, deserialize_with = "nullable")]
    created: String,
    #[serde(default, deserialize_with = "nullable")]
    updated: String,
    #[serde(
        rename = "OS-EXT-AZ:availability_zone",
        default,
        deserialize_with = "non_empty"
    )]
    availability_zone: Option<String>,
    #[serde(default, deserialize_with = "non_empty")]
    key_name: Option<String>,
    #[serde(rename = "OS-EXT-STS:power_state", default)]
    power_state: Option<i64>,
    #[serde(rename = "OS-EXT-STS:task_state", default)]
    task_state: Option<String>,
    #[serde(rename = "OS-EXT-STS:vm_state", default)]
    vm_state: Option<String>,
    #[serde(
        rename = "os-extended-volumes:volumes_attached",
        default,
        deserialize_with = "nullable"
    )]
    volumes_attached: Vec<Id>,
    #[serde(default, deserialize_with = "nullable")]
    metadata: BTreeMap<String, String>,
}

/// `{"id", "links"}` up to 2.46; the embedded description (`original_name`, `ram`...) from 2.47.
#[derive(Deserialize)]
struct ServerFlavor {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    original_name: Option<String>,
    #[serde(default)]
    vcpus: Option<u32>,
    #[serde(default)]
    ram: Option<u32>,
    #[serde(default)]
    disk: Option<u32>,
}

#[derive(Deserialize)]
struct Address {
    addr: String,
    #[serde(default = "ipv4")]
    version: u32,
    #[serde(rename = "OS-EXT-IPS:type", default)]
    kind: Option<String>,
}

fn ipv4() -> u32 {
    4
}

#[derive(Deserialize)]
pub(super) struct Id {
    pub(super) id: String,
}

/// Nova's power states (nova/compute/power_state.py).
fn power_state_name(state: i64) -> String {
    match state {
        0 => "NOSTATE".to_owned(),
        1 => "RUNNING".to_owned(),
        3 => "PAUSED".to_owned(),
        4 => "SHUTDOWN".to_owned(),
        6 => "CRASHED".to_owned(),
        7 => "SUSPENDED".to_owned(),
        other => other.to_string(),
    }
}

impl From<Server> for Instance {
    fn from(raw: Server) -> Self {
        let flavor = raw.flavor.map_or(
            FlavorSummary {
                id: None,
                name: None,
                vcpus: None,
                ram_mb: None,
                disk_gb: None,
            },
            |f| FlavorSummary {
                id: f.id,
                name: f.original_name,
                vcpus: f.vcpus,
                ram_mb: f.ram,
                disk_gb: f.disk,
            },
        );
        let image_id = raw
            .image
            .as_ref()
            .and_then(|image| image.get("id"))
            .and_then(|id| id.as_str())
            .map(str::to_owned);
        let addresses = raw
            .addresses
            .into_iter()
            .flat_map(|(network, addrs)| {
                addrs.into_iter().map(move |a| InstanceAddress {
                    network: network.clone(),
                    addr: a.addr,
                    version: a.version,
                    kind: a.kind,
                })
            })
            .collect();
        Self {
            id: raw.id,
            name: raw.name,
            status: raw.status,
            progress: raw.progress,
            project_id: raw.tenant_id,
            user_id: raw.user_id,
            flavor,
            image_id,
            addresses,
            created: raw.created,
            updated: raw.updated,
            availability_zone: raw.availability_zone,
            key_name: raw.key_name,
            power_state: raw.power_state.map(power_state_name),
            task_state: raw.task_state,
            vm_state: raw.vm_state,
            attached_volume_ids: raw.volumes_attached.into_iter().map(|v| v.id).collect(),
            metadata: raw.metadata,
        }
    }
}

#[derive(Deserialize)]
pub(super) struct ServerRefs {
    pub(super) servers: Vec<ServerRef>,
    #[serde(default)]
    pub(super) servers_links: Vec<Link>,
}

impl Page for ServerRefs {
    type Item = ServerRef;
    fn id(item: &ServerRef) -> &str {
        &item.id
    }
    fn into_parts(self) -> (Vec<ServerRef>, bool) {
        let next = has_next(&self.servers_links);
        (self.servers, next)
    }
}

#[derive(Deserialize)]
pub(super) struct ServerRef {
    id: String,
    #[serde(default)]
    name: Option<String>,
}

impl From<ServerRef> for ResourceRef {
    fn from(raw: ServerRef) -> Self {
        Self {
            id: raw.id,
            name: raw.name,
        }
    }
}

#[derive(Deserialize)]
pub(super) struct CreatedEnvelope {
    pub(super) server: Id,
}

#[derive(Deserialize)]
pub(super) struct Flavors {
    pub(super) flavors: Vec<RawFlavor>,
}

#[derive(Deserialize)]
pub(super) struct RawFlavor {
    id: String,
    name: String,
    vcpus: u32,
    ram: u32,
    #[serde(default, deserialize_with = "nullable")]
    disk: u32,
    #[serde(
        rename = "OS-FLV-EXT-DATA:ephemeral",
        default,
        deserialize_with = "nullable"
    )]
    ephemeral: u32,
    #[serde(default, deserialize_with = "swap_mb")]
    swap: u32,
    #[serde(rename = "os-flavor-access:is_public", default = "public_by_default")]
    is_public: bool,
    #[serde(rename = "OS-FLV-DISABLED:disabled", default)]
    disabled: bool,
    #[serde(default, deserialize_with = "non_empty")]
    description: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    extra_specs: BTreeMap<String, String>,
}

fn public_by_default() -> bool {
    true
}

impl From<RawFlavor> for Flavor {
    fn from(raw: RawFlavor) -> Self {
        Self {
            id: raw.id,
            name: raw.name,
            vcpus: raw.vcpus,
            ram_mb: raw.ram,
            disk_gb: raw.disk,
            ephemeral_gb: raw.ephemeral,
            swap_mb: raw.swap,
            is_public: raw.is_public,
            disabled: raw.disabled,
            description: raw.description,
            extra_specs: raw.extra_specs,
        }
    }
}

#[derive(Deserialize)]
pub(super) struct Keypairs {
    pub(super) keypairs: Vec<KeypairEnvelope>,
}

#[derive(Deserialize)]
pub(super) struct KeypairEnvelope {
    pub(super) keypair: RawKeypair,
}

#[derive(Deserialize)]
pub(super) struct RawKeypair {
    name: String,
    #[serde(default, deserialize_with = "nullable")]
    fingerprint: String,
    #[serde(default, deserialize_with = "nullable")]
    public_key: String,
    #[serde(rename = "type", default)]
    kind: Option<String>,
}

impl From<RawKeypair> for Keypair {
    fn from(raw: RawKeypair) -> Self {
        Self {
            name: raw.name,
            fingerprint: raw.fingerprint,
            public_key: raw.public_key,
            kind: raw.kind,
        }
    }
}

#[derive(Deserialize)]
pub(super) struct Limits {
    pub(super) limits: LimitsBody,
}

#[derive(Deserialize)]
pub(super) struct LimitsBody {
    pub(super) absolute: BTreeMap<String, i64>,
}

impl From<BTreeMap<String, i64>> for ComputeLimits {
    fn from(absolute: BTreeMap<String, i64>) -> Self {
        let quota = |max: &str, used: Option<&str>| Quota {
            limit: absolute.get(max).copied().and_then(limit),
            in_use: used.and_then(|used| absolute.get(used)).copied().map(count),
        };
        Self {
            instances: quota("maxTotalInstances", Some("totalInstancesUsed")),
            cores: quota("maxTotalCores", Some("totalCoresUsed")),
            ram_mb: quota("maxTotalRAMSize", Some("totalRAMUsed")),
            server_groups: quota("maxServerGroups", Some("totalServerGroupsUsed")),
            keypairs: quota("maxTotalKeypairs", None),
            server_group_members: quota("maxServerGroupMembers", None),
            server_meta: quota("maxServerMeta", None),
        }
    }
}

#[derive(Deserialize)]
pub(super) struct Zones {
    #[serde(rename = "availabilityZoneInfo")]
    pub(super) zones: Vec<Zone>,
}

#[derive(Deserialize)]
pub(super) struct Zone {
    #[serde(rename = "zoneName")]
    name: String,
    #[serde(rename = "zoneState")]
    state: ZoneState,
    /// Host name to its services; `null` in the non-detailed listing.
    #[serde(default, deserialize_with = "nullable")]
    hosts: BTreeMap<String, serde_json::Value>,
}

#[derive(Deserialize)]
struct ZoneState {
    available: bool,
}

impl From<Zone> for AvailabilityZone {
    fn from(raw: Zone) -> Self {
        Self {
            name: raw.name,
            available: raw.state.available,
            hosts: raw.hosts.into_keys().collect(),
        }
    }
}

#[derive(Deserialize)]
pub(super) struct ServerGroups {
    pub(super) server_groups: Vec<RawServerGroup>,
}

#[derive(Deserialize)]
pub(super) struct RawServerGroup {
    id: String,
    #[serde(default, deserialize_with = "nullable")]
    name: String,
    /// From 2.64.
    #[serde(default)]
    policy: Option<String>,
    /// Up to 2.63.
    #[serde(default, deserialize_with = "nullable")]
    policies: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    members: Vec<String>,
    #[serde(default)]
    project_id: Option<String>,
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    rules: BTreeMap<String, serde_json::Value>,
}

impl From<RawServerGroup> for ServerGroup {
    fn from(raw: RawServerGroup) -> Self {
        let policy = raw
            .policy
            .or_else(|| raw.policies.into_iter().next())
            .unwrap_or_default();
        let max_server_per_host = raw
            .rules
            .get("max_server_per_host")
            .and_then(serde_json::Value::as_u64)
            .and_then(|n| u32::try_from(n).ok());
        Self {
            id: raw.id,
            name: raw.name,
            policy,
            members: raw.members,
            project_id: raw.project_id,
            user_id: raw.user_id,
            max_server_per_host,
        }
    }
}

#[derive(Deserialize)]
pub(super) struct Attachments {
    #[serde(rename = "volumeAttachments")]
    pub(super) volume_attachments: Vec<RawAttachment>,
}

#[derive(Deserialize)]
pub(super) struct AttachmentEnvelope {
    #[serde(rename = "volumeAttachment")]
    pub(super) volume_attachment: RawAttachment,
}

/// Up to 2.88 `id` equals `volumeId`; from 2.89 there is `attachment_id` instead.
#[derive(Deserialize)]
pub(super) struct RawAttachment {
    #[serde(rename = "serverId")]
    server_id: String,
    #[serde(rename = "volumeId")]
    volume_id: String,
    #[serde(default)]
    device: Option<String>,
    #[serde(default)]
    attachment_id: Option<String>,
    #[serde(default)]
    delete_on_termination: Option<bool>,
}

impl From<RawAttachment> for VolumeAttachment {
    fn from(raw: RawAttachment) -> Self {
        Self {
            attachment_id: raw.attachment_id,
            server_id: raw.server_id,
            volume_id: raw.volume_id,
            device: raw.device,
            attached_at: None,
            delete_on_termination: raw.delete_on_termination,
        }
    }
}

#[derive(Deserialize)]
pub(super) struct Hypervisors {
    pub(super) hypervisors: Vec<RawHypervisor>,
}

#[derive(Deserialize)]
pub(super) struct RawHypervisor {
    #[serde(deserialize_with = "string_or_int")]
    id: String,
    hypervisor_hostname: String,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    hypervisor_type: Option<String>,
    #[serde(default)]
    host_ip: Option<String>,
}

impl From<RawHypervisor> for Hypervisor {
    fn from(raw: RawHypervisor) -> Self {
        Self {
            id: raw.id,
            hostname: raw.hypervisor_hostname,
            state: raw.state,
            status: raw.status,
            hypervisor_type: raw.hypervisor_type,
            host_ip: raw.host_ip,
        }
    }
}
