//! Cinder models: volumes, snapshots, types, backups and quotas.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Quota, VolumeAttachment};

/// A Cinder volume.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Volume {
    /// Volume id.
    pub id: String,
    /// Display name; `null` when unnamed.
    pub name: Option<String>,
    /// Free text.
    pub description: Option<String>,
    /// Cinder status, e.g. `creating`, `available`, `in-use`, `error`.
    pub status: String,
    /// Size in GiB.
    pub size_gb: u32,
    /// Volume type name.
    pub volume_type: Option<String>,
    /// Whether it can be booted from (Cinder sends the string `"true"`/`"false"`).
    pub bootable: bool,
    /// Whether it is encrypted.
    pub encrypted: bool,
    /// Whether it may be attached to several servers.
    pub multiattach: bool,
    /// Availability zone.
    pub availability_zone: Option<String>,
    /// Owning project (admin view, or the project it was created in).
    pub project_id: Option<String>,
    /// Creating user.
    pub user_id: Option<String>,
    /// Snapshot it was created from.
    pub snapshot_id: Option<String>,
    /// Volume it was cloned from.
    pub source_volume_id: Option<String>,
    /// Where it is attached.
    pub attachments: Vec<VolumeAttachment>,
    /// Creation time.
    pub created_at: String,
    /// Last change.
    pub updated_at: Option<String>,
    /// User metadata.
    pub metadata: BTreeMap<String, String>,
}

/// A Cinder volume snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct VolumeSnapshot {
    /// Snapshot id.
    pub id: String,
    /// Display name.
    pub name: Option<String>,
    /// Free text.
    pub description: Option<String>,
    /// Status, e.g. `creating`, `available`.
    pub status: String,
    /// Size in GiB.
    pub size_gb: u32,
    /// Source volume.
    pub volume_id: String,
    /// Owning project (admin view).
    pub project_id: Option<String>,
    /// Progress as Cinder reports it, e.g. `"100%"`.
    pub progress: Option<String>,
    /// Creation time.
    pub created_at: String,
    /// Last change.
    pub updated_at: Option<String>,
    /// User metadata.
    pub metadata: BTreeMap<String, String>,
}

/// A Cinder volume type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct VolumeType {
    /// Type id.
    pub id: String,
    /// Type name.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// Whether every project may use it.
    pub is_public: bool,
    /// Extra specs (admin view).
    pub extra_specs: BTreeMap<String, String>,
}

/// A Cinder volume backup.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct VolumeBackup {
    /// Backup id.
    pub id: String,
    /// Display name.
    pub name: Option<String>,
    /// Free text.
    pub description: Option<String>,
    /// Status, e.g. `creating`, `available`.
    pub status: String,
    /// Size in GiB.
    pub size_gb: u32,
    /// Source volume.
    pub volume_id: String,
    /// Source snapshot, when backed up from one.
    pub snapshot_id: Option<String>,
    /// Availability zone.
    pub availability_zone: Option<String>,
    /// Backend container.
    pub container: Option<String>,
    /// Whether it is incremental.
    pub is_incremental: bool,
    /// Whether incremental backups depend on it.
    pub has_dependent_backups: bool,
    /// Why it failed, when it did.
    pub fail_reason: Option<String>,
    /// Creation time.
    pub created_at: String,
    /// Last change.
    pub updated_at: Option<String>,
    /// Time of the data it holds.
    pub data_timestamp: Option<String>,
}

/// Cinder quotas and usage of a project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct VolumeQuota {
    /// Volumes.
    pub volumes: Quota,
    /// GiB of volumes and snapshots.
    pub gigabytes: Quota,
    /// Snapshots.
    pub snapshots: Quota,
    /// Backups.
    pub backups: Quota,
    /// GiB of backups.
    pub backup_gigabytes: Quota,
}
