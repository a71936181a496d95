//! Glance models.

use serde::{Deserialize, Serialize};

/// A Glance image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Image {
    /// Image id.
    pub id: String,
    /// Display name.
    pub name: Option<String>,
    /// Status, e.g. `queued`, `saving`, `active`, `deactivated`.
    pub status: String,
    /// `public`, `private`, `shared` or `community`.
    pub visibility: String,
    /// Disk format, e.g. `qcow2`, `raw`.
    pub disk_format: Option<String>,
    /// Container format, e.g. `bare`.
    pub container_format: Option<String>,
    /// Owning project.
    pub owner: Option<String>,
    /// Size of the image data in bytes; `null` until data is uploaded.
    /// Exported to TypeScript as `number`: exact below 2^53 bytes (8 PiB).
    #[specta(type = Option<f64>)]
    pub size_bytes: Option<u64>,
    /// Virtual disk size in bytes, when known.
    /// Exported to TypeScript as `number`: exact below 2^53 bytes (8 PiB).
    #[specta(type = Option<f64>)]
    pub virtual_size_bytes: Option<u64>,
    /// Minimum root disk in GiB to boot it.
    pub min_disk_gb: u32,
    /// Minimum memory in MiB to boot it.
    pub min_ram_mb: u32,
    /// Whether it is protected from deletion.
    pub protected: bool,
    /// Whether it is hidden from default listings.
    pub hidden: bool,
    /// MD5 of the data; `null` until data is uploaded.
    pub checksum: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Creation time.
    pub created_at: String,
    /// Last change.
    pub updated_at: Option<String>,
}
