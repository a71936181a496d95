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
