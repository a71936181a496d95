//! The upstream projects' published API samples, parsed once per simulator and used as the
//! templates every simulated object is cloned from, so that answers keep the exact key sets and
//! value kinds (quirks included) of the real services.

use serde_json::{Map, Value};

/// A JSON object.
pub(crate) type Object = Map<String, Value>;

macro_rules! fixture {
    ($path:literal) => {
        include_str!(concat!("../../../tests/fixtures/openstack/", $path))
    };
}

/// One parsed sample object per resource kind.
pub(crate) struct Templates {
    /// Keystone project-scoped token body (`token` member).
    pub token_scoped: Object,
    /// Keystone unscoped token body (`token` member).
    pub token_unscoped: Object,
    /// One catalog entry (service) with its endpoint list.
    pub catalog_service: Object,
    /// One catalog endpoint.
    pub catalog_endpoint: Object,
    /// A project as listed by `/v3/projects` and `/v3/users/{id}/projects`.
    pub project: Object,
    /// A project as listed by `/v3/auth/projects`.
    pub scope_project: Object,
    /// A Nova server in its detailed (admin, 2.1) form.
    pub server: Object,
    /// The Nova server-create answer (`server` member).
    pub server_created: Object,
    /// Nova's flavor list, served as is apart from links.
    pub flavors: Vec<Object>,
    /// A Nova keypair (inner `keypair` member).
    pub keypair: Object,
    /// Nova's absolute limits.
    pub compute_limits: Object,
    /// Nova's availability-zone detail answer.
    pub availability_zones: Value,
    /// A Nova server group (2.1 form).
    pub server_group: Object,
    /// A Nova volume attachment.
    pub volume_attachment: Object,
    /// A Cinder volume in its detailed form.
    pub volume: Object,
    /// A Cinder snapshot in its detailed form.
    pub snapshot: Object,
    /// Cinder's volume types, served as is.
    pub volume_types: Value,
    /// A Cinder backup in its detailed form.
    pub backup: Object,
    /// Cinder's absolute limits.
    pub volume_limits: Object,
    /// A Cinder quota set (plain form).
    pub quota_set: Object,
    /// A Glance image.
    pub image: Object,
    /// A Neutron network.
    pub network: Object,
    /// A Neutron subnet.
    pub subnet: Object,
    /// A Neutron port.
    pub port: Object,
    /// A Neutron router.
    pub router: Object,
    /// A Neutron floating IP with port details.
    pub floating_ip: Object,
    /// A Neutron security group (its `security_group_rules` member included).
    pub security_group: Object,
    /// A Neutron security group rule as listed on its own.
    pub security_group_rule: Object,
    /// Keystone's version document (`version` member) and its root list (`versions`).
    pub identity_version: Value,
    /// Keystone's root `{"versions": {"values": [...]}}`.
    pub identity_versions: Value,
    /// A Keystone user as shown by `/v3/users/{id}`.
    pub user: Object,
    /// A Keystone role as listed by `/v3/roles`.
    pub role: Object,
    /// Nova's root version list.
    pub compute_versions: Value,
    /// Nova's `/v2.1` version document.
    pub compute_version: Value,
    /// Nova's quota set (2.1 form, before 2.36 dropped the proxied network quotas).
    pub compute_quota_set: Object,
    /// Nova's quota set from 2.57 (no injected files).
    pub compute_quota_set_v2_57: Object,
    /// Nova's availability-zone list (non-detail) answer.
    pub availability_zone_list: Value,
    /// A Nova hypervisor as shown at 2.88.
    pub hypervisor: Object,
    /// Cinder's root version list.
    pub volume_versions: Value,
    /// Cinder's `/v3/` version answer.
    pub volume_version: Value,
    /// Cinder's availability-zone list.
    pub volume_availability_zones: Value,
    /// Glance's version list.
    pub image_versions: Value,
    /// Neutron's root version list.
    pub network_versions: Value,
    /// Neutron's `/v2.0` resource list.
    pub network_resources: Value,
    /// Neutron's quota of a project (`quota` member).
    pub network_quota: Object,
    /// Neutron's availability zones.
    pub network_availability_zones: Value,
    /// Neutron's extension list.
    pub network_extensions: Value,
}

impl Templates {
    /// Parses the embedded samples. They are part of the build, so a failure is a build defect.
    pub(crate) fn load() -> Self {
        let token_scoped = member(
            fixture!("keystone/admin/auth-password-project-scoped-response.json"),
            &["token"],
        );
        let catalog_service = nth(&token_scoped["catalog"], 0);
        let catalog_endpoint = nth(&catalog_service["endpoints"], 0);
        Self {
            token_unscoped: member(
                fixture!("keystone/auth/responses/unscoped-password.json"),
                &["token"],
            ),
            catalog_service,
            catalog_endpoint,
            token_scoped,
            project: first(
                fixture!("keystone/admin/user-projects-list-response.json"),
                "projects",
            ),
            scope_project: first(
                fixture!("keystone/admin/get-available-project-scopes-response.json"),
                "projects",
            ),
            server: first(
                fixture!("nova/servers/servers-details-resp.json"),
                "servers",
            ),
            server_created: member(
                fixture!("nova/servers/server-create-resp.json"),
                &["server"],
            ),
            flavors: all(fixture!("nova/flavors/flavors-detail-resp.json"), "flavors"),
            keypair: first_member(
                fixture!("nova/os-keypairs/keypairs-list-resp.json"),
                "keypairs",
                "keypair",
            ),
            compute_limits: member(
                fixture!("nova/limits/limit-get-resp.json"),
                &["limits", "absolute"],
            ),
            availability_zones: parse(fixture!(
                "nova/os-availability-zone/availability-zone-detail-resp.json"
            )),
            server_group: first(
                fixture!("nova/os-server-groups/server-groups-list-resp.json"),
                "server_groups",
            ),
            volume_attachment: first(
                fixture!("nova/os-volume_attachments/list-volume-attachments-resp.json"),
                "volumeAttachments",
            ),
            volume: first(
                fixture!("cinder/volumes/volumes-list-detailed-response.json"),
                "volumes",
            ),
            snapshot: first(
                fixture!("cinder/snapshots/snapshots-list-detailed-response.json"),
                "snapshots",
            ),
            volume_types: parse(fixture!(
                "cinder/volume_type/volume-types-list-response.json"
            )),
            backup: first(
                fixture!("cinder/backups/backups-list-detailed-response.json"),
                "backups",
            ),
            volume_limits: member(
                fixture!("cinder/limits/limits-show-response.json"),
                &["limits", "absolute"],
            ),
            quota_set: member(
                fixture!("cinder/quota_sets/quotas-show-response.json"),
                &["quota_set"],
            ),
            image: first(fixture!("glance/images-list-response.json"), "images"),
            network: first(
                fixture!("neutron/networks/networks-list-response.json"),
                "networks",
            ),
            subnet: first(
                fixture!("neutron/subnets/subnets-list-response.json"),
                "subnets",
            ),
            port: first(fixture!("neutron/ports/ports-list-response.json"), "ports"),
            router: first(
                fixture!("neutron/routers/routers-list-response.json"),
                "routers",
            ),
            floating_ip: first(
                fixture!("neutron/floatingips/floating-ips-list-response.json"),
                "floatingips",
            ),
            security_group: first(
                fixture!("neutron/security-groups/security-groups-list-response.json"),
                "security_groups",
            ),
            security_group_rule: first(
                fixture!("neutron/security-groups/security-group-rules-list-response.json"),
                "security_group_rules",
            ),
            identity_version: parse(fixture!("keystone/admin/identity-version-response.json")),
            identity_versions: parse(fixture!("keystone/admin/identity-versions-response.json")),
            user: member(
                fixture!("keystone/admin/user-show-response.json"),
                &["user"],
            ),
            role: first(fixture!("keystone/admin/roles-list-response.json"), "roles"),
            compute_versions: parse(fixture!("nova/versions/versions-get-resp.json")),
            compute_version: parse(fixture!("nova/versions/v21-version-get-resp.json")),
            compute_quota_set: member(
                fixture!("nova/os-quota-sets/quotas-show-get-resp.json"),
                &["quota_set"],
            ),
            compute_quota_set_v2_57: member(
                fixture!("nova/os-quota-sets/v2.57/quotas-show-get-resp.json"),
                &["quota_set"],
            ),
            availability_zone_list: parse(fixture!(
                "nova/os-availability-zone/availability-zone-list-resp.json"
            )),
            hypervisor: member(
                fixture!("nova/os-hypervisors/v2.88/hypervisors-show-resp.json"),
                &["hypervisor"],
            ),
            volume_versions: parse(fixture!("cinder/versions/versions-response.json")),
            volume_version: parse(fixture!("cinder/versions/version-show-response.json")),
            volume_availability_zones: parse(fixture!(
                "cinder/availability-zone-list-response.json"
            )),
            image_versions: parse(fixture!("glance/versions/image-versions-response.json")),
            network_versions: parse(fixture!("neutron/networks/versions-list-response.json")),
            network_resources: parse(fixture!("neutron/networks/version-show-response.json")),
            network_quota: member(
                fixture!("neutron/quotas/quotas-list-for-project-response.json"),
                &["quota"],
            ),
            network_availability_zones: parse(fixture!(
                "neutron/availability-zones/azs-list-response.json"
            )),
            network_extensions: parse(fixture!("neutron/extensions/extensions-list-response.json")),
        }
    }
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).expect("embedded OpenStack samples are valid JSON")
}

fn object(value: &Value) -> Object {
    value
        .as_object()
        .cloned()
        .expect("embedded OpenStack sample member is an object")
}

fn nth(list: &Value, index: usize) -> Object {
    object(&list[index])
}

fn member(text: &str, path: &[&str]) -> Object {
    let root = parse(text);
    object(path.iter().fold(&root, |value, key| &value[*key]))
}

fn first(text: &str, list: &str) -> Object {
    nth(&parse(text)[list], 0)
}

fn first_member(text: &str, list: &str, inner: &str) -> Object {
    object(&parse(text)[list][0][inner])
}

fn all(text: &str, list: &str) -> Vec<Object> {
    parse(text)[list]
        .as_array()
        .map(|items| items.iter().map(object).collect())
        .unwrap_or_default()
}
