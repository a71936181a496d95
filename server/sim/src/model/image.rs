//! Glance images: creation, upload, JSON-patch updates, and the queued → saving → active path.
//!
//! Digests are stand-ins of the right length (xxh3 based), not real md5/sha512 values.

use serde_json::{Value, json};
use xxhash_rust::xxh3::{xxh3_128, xxh3_128_with_seed};

use super::{Record, World, find_mut, position};

/// Ticks a created image waits in `queued` before its data "arrive" by themselves.
const QUEUED_TICKS: u32 = 3;

/// Fields a JSON patch may not touch (Glance answers 403).
const READ_ONLY: [&str; 14] = [
    "id",
    "status",
    "self",
    "file",
    "schema",
    "size",
    "checksum",
    "created_at",
    "updated_at",
    "owner",
    "os_hash_algo",
    "os_hash_value",
    "virtual_size",
    "locations",
];

/// What a new image is made of.
#[derive(Clone, Debug)]
pub(crate) struct ImageSpec {
    /// Owning project.
    pub owner: String,
    /// Display name.
    pub name: String,
    /// Client-chosen id, as Glance allows.
    pub id: Option<String>,
    /// `raw`, `qcow2`, …
    pub disk_format: String,
    /// `bare`, `ovf`, …
    pub container_format: String,
    /// `public`, `private`, `shared` or `community`.
    pub visibility: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Minimum disk in GB.
    pub min_disk: u64,
    /// Minimum RAM in MB.
    pub min_ram: u64,
}

/// Why an image operation was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ImageError {
    /// No such image.
    NotFound,
    /// Forbidden (read-only attribute, protected image).
    Forbidden(String),
    /// Malformed request (bad patch op, wrong state, duplicate id).
    BadRequest(String),
    /// The id is already taken.
    Conflict(String),
}

/// Adds a `queued` image; returns its id.
pub(crate) fn create_image(world: &mut World, spec: ImageSpec) -> Result<String, ImageError> {
    let id = match spec.id {
        Some(id) if position(&world.images, &id).is_some() => {
            return Err(ImageError::Conflict(format!(
                "Image with identifier {id} already exists!"
            )));
        }
        Some(id) => id,
        None => world.uuid(),
    };
    let now = world.now().seconds_z();
    let mut body = world.templates.image.clone();
    let fields = [
        ("id", json!(id)),
        ("name", json!(spec.name)),
        ("status", json!("queued")),
        ("owner", json!(spec.owner)),
        ("visibility", json!(spec.visibility)),
        ("disk_format", json!(spec.disk_format)),
        ("container_format", json!(spec.container_format)),
        ("tags", json!(spec.tags)),
        ("min_disk", json!(spec.min_disk)),
        ("min_ram", json!(spec.min_ram)),
        ("protected", json!(false)),
        ("os_hidden", json!(false)),
        ("size", Value::Null),
        ("checksum", Value::Null),
        ("os_hash_algo", Value::Null),
        ("os_hash_value", Value::Null),
        ("virtual_size", Value::Null),
        ("created_at", json!(now)),
        ("updated_at", json!(now)),
        ("self", json!(format!("/v2/images/{id}"))),
        ("file", json!(format!("/v2/images/{id}/file"))),
    ];
    for (key, value) in fields {
        body.insert(key.to_owned(), value);
    }
    world.images.push(Record::new(&spec.owner, body));
    Ok(id)
}

/// Stores image data: the image goes `saving`, and `active` on the next tick.
pub(crate) fn upload(world: &mut World, id: &str, data: &[u8]) -> Result<(), ImageError> {
    let now = world.now().seconds_z();
    let image = find_mut(&mut world.images, id).ok_or(ImageError::NotFound)?;
    if image.str("status") != "queued" {
        return Err(ImageError::Conflict(format!(
            "Image status transition from {} to saving is not allowed",
            image.str("status")
        )));
    }
    set_data(image, data);
    image.enter("status", "saving");
    image.set("updated_at", now);
    Ok(())
}

/// Fills size and digests for the given data.
pub(crate) fn set_data(image: &mut Record, data: &[u8]) {
    let hash: String = (0..4)
        .map(|seed| format!("{:032x}", xxh3_128_with_seed(data, seed)))
        .collect();
    image.set("size", data.len());
    image.set("checksum", format!("{:032x}", xxh3_128(data)));
    image.set("os_hash_algo", "sha512");
    image.set("os_hash_value", hash);
}

/// Deletes an image unless it is protected.
pub(crate) fn delete(world: &mut World, id: &str) -> Result<(), ImageError> {
    let index = position(&world.images, id).ok_or(ImageError::NotFound)?;
    if world.images[index].body["protected"] == true {
        return Err(ImageError::Forbidden(format!(
            "Image {id} is protected and cannot be deleted."
        )));
    }
    world.images.remove(index);
    Ok(())
}

/// Applies a JSON-patch (RFC 6902 subset Glance accepts: add, replace, remove on top-level
/// members and custom properties).
pub(crate) fn patch(world: &mut World, id: &str, ops: &[Value]) -> Result<(), ImageError> {
    let now = world.now().seconds_z();
    let image = find_mut(&mut world.images, id).ok_or(ImageError::NotFound)?;
    let mut body = image.body.clone();
    for op in ops {
        let kind = op["op"].as_str().unwrap_or_default();
        let path = op["path"].as_str().unwrap_or_default();
        let key = path
            .strip_prefix('/')
            .filter(|k| !k.is_empty() && !k.contains('/'))
            .ok_or_else(|| {
                ImageError::BadRequest(format!("Invalid JSON pointer for this resource: '{path}'"))
            })?;
        if READ_ONLY.contains(&key) {
            return Err(ImageError::Forbidden(format!(
                "Attribute '{key}' is read-only."
            )));
        }
        match kind {
            "add" | "replace" => {
                let value = op.get("value").cloned().ok_or_else(|| {
                    ImageError::BadRequest(format!("Operation '{kind}' on '{path}' needs a value"))
                })?;
                if kind == "replace" && !body.contains_key(key) {
                    return Err(ImageError::Conflict(format!(
                        "Property {key} does not exist."
                    )));
                }
                body.insert(key.to_owned(), value);
            }
            "remove" => {
                if body.remove(key).is_none() {
                    return Err(ImageError::Conflict(format!(
                        "Property {key} does not exist."
                    )));
                }
            }
            other => {
                return Err(ImageError::BadRequest(format!(
                    "Unsupported patch operation '{other}'"
                )));
            }
        }
    }
    body.insert("updated_at".into(), json!(now));
    image.body = body;
    Ok(())
}

/// One clock step for every image; returns how many changed.
pub(crate) fn advance(world: &mut World) -> usize {
    let now = world.now().seconds_z();
    let mut changed = 0;
    for image in &mut world.images {
        image.ticks += 1;
        match image.str("status") {
            "queued" if image.ticks >= QUEUED_TICKS => {
                let data = format!("{}:{}", image.id, image.str("name")).repeat(4096);
                set_data(image, data.as_bytes());
                image.enter("status", "saving");
            }
            "saving" => image.enter("status", "active"),
            _ => continue,
        }
        image.set("updated_at", now.clone());
        changed += 1;
    }
    changed
}
