//! How Nova's answers change along its microversions: the records hold the 2.1 shapes of the
//! base samples, and these views add, drop or reshape the keys later versions changed (the
//! 2.100 server sample, the 2.102 flavors, 2.64 server groups, 2.89 attachments, 2.57 limits).
//! Versions whose changes concern calls this simulator does not serve change nothing here.

use serde_json::{Value, json};

use crate::api::Microversion;
use crate::model::{Record, World};
use crate::templates::Object;

/// Extended attributes only admins see (the base samples are rendered for an admin).
const ADMIN_KEYS: [&str; 3] = [
    "OS-EXT-SRV-ATTR:host",
    "OS-EXT-SRV-ATTR:hypervisor_hostname",
    "OS-EXT-SRV-ATTR:instance_name",
];

/// Keys of the 2.100 server sample and the microversion that brought each into server
/// answers (`OS-EXT-SRV-ATTR:hostname` comes at 2.3 for admins and at 2.90 for everyone).
const SERVER_KEYS: [(&str, u32); 9] = [
    ("OS-EXT-SRV-ATTR:hostname", 90),
    ("locked", 9),
    ("description", 19),
    ("tags", 26),
    ("trusted_image_certificates", 63),
    ("server_groups", 71),
    ("locked_reason", 73),
    ("pinned_availability_zone", 96),
    ("scheduler_hints", 100),
];

/// How a server is being shown.
#[derive(Clone, Copy, Debug)]
pub(super) struct ServerView {
    /// The negotiated microversion.
    pub version: Microversion,
    /// `GET /servers/detail`, whose sample writes `""` where show writes `null` and which
    /// carries no `server_groups`.
    pub detail: bool,
    /// Whether the caller is an admin (who sees the extended attributes).
    pub admin: bool,
}

/// A server's body as `view` shows it: `body` is its 2.1 admin form, links in place.
pub(super) fn server(world: &World, record: &Record, mut body: Object, view: ServerView) -> Object {
    let ServerView {
        version,
        detail,
        admin,
    } = view;
    if !admin {
        body.retain(|key, _| !ADMIN_KEYS.contains(&key.as_str()));
    }
    if version.at_least(3)
        && let Some(Value::Array(volumes)) = body.get_mut("os-extended-volumes:volumes_attached")
    {
        for volume in volumes.iter_mut().filter_map(Value::as_object_mut) {
            volume.insert("delete_on_termination".into(), json!(false));
        }
    }
    if version.at_least(47)
        && let Some(flavor) = crate::model::compute::flavor_of(world, record)
    {
        body.insert("flavor".into(), embedded_flavor(flavor));
    }
    if version.at_least(98)
        && let Some(image) = body.get_mut("image").and_then(Value::as_object_mut)
    {
        image.insert("properties".into(), json!({}));
    }
    for (key, since) in SERVER_KEYS {
        let since = if admin && key == "OS-EXT-SRV-ATTR:hostname" {
            3
        } else {
            since
        };
        if !version.at_least(since) || (detail && key == "server_groups") {
            continue;
        }
        let value = match key {
            "OS-EXT-SRV-ATTR:hostname" => json!(hostname(record.str("name"))),
            "locked" => json!(record.body.get("locked").cloned().unwrap_or(json!(false))),
            "tags" => record.body.get("tags").cloned().unwrap_or(json!([])),
            "description" | "locked_reason" => match record.body.get(key) {
                Some(Value::String(text)) => json!(text),
                _ if detail => json!(""),
                _ => Value::Null,
            },
            "pinned_availability_zone" => record.body.get(key).cloned().unwrap_or(Value::Null),
            "scheduler_hints" => record.body.get(key).cloned().unwrap_or(json!({})),
            "server_groups" => json!([]),
            _ => Value::Null,
        };
        body.insert(key.into(), value);
    }
    body
}

/// The flavor as embedded in a server from 2.47: its sizes and name, no id or links.
fn embedded_flavor(flavor: &Object) -> Value {
    json!({
        "disk": flavor["disk"],
        "ephemeral": flavor["OS-FLV-EXT-DATA:ephemeral"],
        "extra_specs": {},
        "original_name": flavor["name"],
        "ram": flavor["ram"],
        "swap": flavor["swap"].as_u64().unwrap_or(0),
        "vcpus": flavor["vcpus"],
    })
}

/// Nova's default hostname of a server: its name, lowercased, with what DNS refuses dropped.
fn hostname(name: &str) -> String {
    let host: String = name
        .chars()
        .map(|c| if c == ' ' || c == '_' { '-' } else { c })
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '.')
        .collect::<String>()
        .to_ascii_lowercase();
    host.trim_matches(|c| c == '-' || c == '.').to_owned()
}

/// A flavor at `version`: `description` from 2.55, `extra_specs` from 2.61, `swap` an integer
/// from 2.75, no `rxtx_factor` or `OS-FLV-DISABLED:disabled` from 2.102.
pub(super) fn flavor(mut flavor: Object, version: Microversion) -> Object {
    if version.at_least(55) {
        flavor.insert("description".into(), Value::Null);
    }
    if version.at_least(61) {
        flavor.insert("extra_specs".into(), json!({}));
    }
    if version.at_least(75) && flavor.get("swap") == Some(&json!("")) {
        flavor.insert("swap".into(), json!(0));
    }
    if version.at_least(102) {
        flavor.remove("rxtx_factor");
        flavor.remove("OS-FLV-DISABLED:disabled");
    }
    flavor
}

/// A keypair at `version`: `type` from 2.2.
pub(super) fn keypair(mut keypair: Object, version: Microversion) -> Object {
    if version.at_least(2) {
        keypair.insert("type".into(), json!("ssh"));
    }
    keypair
}

/// A server group at `version`: `project_id` and `user_id` from 2.13; one `policy` with
/// `rules` instead of `policies` and `metadata` from 2.64.
pub(super) fn server_group(record: &Record, user_id: &str, version: Microversion) -> Object {
    let mut group = record.body.clone();
    if version.at_least(13) {
        group.insert("project_id".into(), json!(record.project_id));
        group.insert("user_id".into(), json!(user_id));
    }
    if version.at_least(64) {
        let policy = group["policies"][0].clone();
        group.remove("policies");
        group.remove("metadata");
        group.insert("policy".into(), policy);
        group.insert("rules".into(), json!({}));
    }
    group
}

/// A volume attachment at `version`: `tag` from 2.70, `delete_on_termination` from 2.79, and
/// from 2.89 `attachment_id` and `bdm_uuid` instead of `id`.
pub(super) fn attachment(mut body: Object, volume: &Record, version: Microversion) -> Object {
    if version.at_least(70) {
        body.insert("tag".into(), Value::Null);
    }
    if version.at_least(79) {
        body.insert("delete_on_termination".into(), json!(false));
    }
    if version.at_least(89) {
        body.remove("id");
        let attachment = &volume.body["attachments"][0];
        body.insert("attachment_id".into(), attachment["attachment_id"].clone());
        let bdm = crate::model::stable_uuid(&format!("bdm/{}", volume.id));
        body.insert("bdm_uuid".into(), json!(bdm));
    }
    body
}

/// Absolute limits at `version`: the proxied network limits go at 2.36, the image metadata
/// limit at 2.39, the personality ones at 2.57.
pub(super) fn limits(mut absolute: Object, version: Microversion) -> Object {
    if version.at_least(36) {
        for key in [
            "maxSecurityGroupRules",
            "maxSecurityGroups",
            "maxTotalFloatingIps",
            "totalSecurityGroupsUsed",
            "totalFloatingIpsUsed",
        ] {
            absolute.remove(key);
        }
    }
    if version.at_least(39) {
        absolute.remove("maxImageMeta");
    }
    if version.at_least(57) {
        absolute.remove("maxPersonality");
        absolute.remove("maxPersonalitySize");
    }
    absolute
}
