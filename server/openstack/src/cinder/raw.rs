//! Cinder's JSON shapes (string `bootable`, nullable names, admin-only owner) and their mapping
//! into the model.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::de::{count, limit, loose_bool, nullable};
use crate::model::{
    Quota, ResourceRef, Volume, VolumeAttachment, VolumeBackup, VolumeQuota, VolumeSnapshot,
    VolumeType,
};

#[derive(Deserialize)]
pub(super) struct Volumes {
    pub(super) volumes: Vec<RawVolume>,
}

#[derive(Deserialize)]
pub(super) struct VolumeEnvelope {
    pub(super) volume: RawVolume,
}

#[derive(Deserialize)]
pub(super) struct RawVolume {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    status: String,
    size: u32,
    #[serde(default)]
    volume_type: Option<String>,
    #[serde(default, deserialize_with = "loose_bool")]
    bootable: bool,
    #[serde(default, deserialize_with = "nullable")]
    encrypted: bool,
    #[serde(default, deserialize_with = "nullable")]
    multiattach: bool,
    #[serde(default)]
    availability_zone: Option<String>,
    #[serde(rename = "os-vol-tenant-attr:tenant_id", default)]
    tenant_id: Option<String>,
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    snapshot_id: Option<String>,
    #[serde(default)]
    source_volid: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    attachments: Vec<RawAttachment>,
    #[serde(default, deserialize_with = "nullable")]
    created_at: String,
    #[serde(default)]
    updated_at: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    metadata: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct RawAttachment {
    server_id: String,
    volume_id: String,
    #[serde(default)]
    attachment_id: Option<String>,
    #[serde(default)]
    device: Option<String>,
    #[serde(default)]
    attached_at: Option<String>,
}

impl From<RawVolume> for Volume {
    fn from(raw: RawVolume) -> Self {
        let attachments = raw
            .attachments
            .into_iter()
            .map(|a| VolumeAttachment {
                attachment_id: a.attachment_id,
                server_id: a.server_id,
                volume_id: a.volume_id,
                device: a.device,
                attached_at: a.attached_at,
                delete_on_termination: None,
            })
            .collect();
        Self {
            id: raw.id,
            name: raw.name.filter(|n| !n.is_empty()),
            description: raw.description.filter(|d| !d.is_empty()),
            status: raw.status,
            size_gb: raw.size,
            volume_type: raw.volume_type,
            bootable: raw.bootable,
            encrypted: raw.encrypted,
            multiattach: raw.multiattach,
            availability_zone: raw.availability_zone,
            project_id: raw.tenant_id,
            user_id: raw.user_id,
            snapshot_id: raw.snapshot_id,
            source_volume_id: raw.source_volid,
            attachments,
            created_at: raw.created_at,
            updated_at: raw.updated_at,
            metadata: raw.metadata,
        }
    }
}

#[derive(Deserialize)]
pub(super) struct VolumeRefs {
    pub(super) volumes: Vec<RawVolumeRef>,
}

#[derive(Deserialize)]
pub(super) struct RawVolumeRef {
    id: String,
    #[serde(default)]
    name: Option<String>,
}

impl From<RawVolumeRef> for ResourceRef {
    fn from(raw: RawVolumeRef) -> Self {
        Self {
            id: raw.id,
            name: raw.name,
        }
    }
}

#[derive(Deserialize)]
pub(super) struct Snapshots {
    pub(super) snapshots: Vec<RawSnapshot>,
}

#[derive(Deserialize)]
pub(super) struct RawSnapshot {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    status: String,
    size: u32,
    volume_id: String,
    #[serde(rename = "os-extended-snapshot-attributes:project_id", default)]
    project_id: Option<String>,
    #[serde(rename = "os-extended-snapshot-attributes:progress", default)]
    progress: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    created_at: String,
    #[serde(default)]
    updated_at: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    metadata: BTreeMap<String, String>,
}

impl From<RawSnapshot> for VolumeSnapshot {
    fn from(raw: RawSnapshot) -> Self {
        Self {
            id: raw.id,
            name: raw.name,
            description: raw.description,
            status: raw.status,
            size_gb: raw.size,
            volume_id: raw.volume_id,
            project_id: raw.project_id,
            progress: raw.progress,
            created_at: raw.created_at,
            updated_at: raw.updated_at,
            metadata: raw.metadata,
        }
    }
}

#[derive(Deserialize)]
pub(super) struct Types {
    pub(super) volume_types: Vec<RawType>,
}

#[derive(Deserialize)]
pub(super) struct RawType {
    id: String,
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default = "public_by_default")]
    is_public: bool,
    #[serde(default, deserialize_with = "nullable")]
    extra_specs: BTreeMap<String, String>,
}

fn public_by_default() -> bool {
    true
}

impl From<RawType> for VolumeType {
    fn from(raw: RawType) -> Self {
        Self {
            id: raw.id,
            name: raw.name,
            description: raw.description,
            is_public: raw.is_public,
            extra_specs: raw.extra_specs,
        }
    }
}

#[derive(Deserialize)]
pub(super) struct Backups {
    pub(super) backups: Vec<RawBackup>,
}

#[derive(Deserialize)]
pub(super) struct RawBackup {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    status: String,
    #[serde(default, deserialize_with = "nullable")]
    size: u32,
    volume_id: String,
    #[serde(default)]
    snapshot_id: Option<String>,
    #[serde(default)]
    availability_zone: Option<String>,
    #[serde(default)]
    container: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    is_incremental: bool,
    #[serde(default, deserialize_with = "nullable")]
    has_dependent_backups: bool,
    #[serde(default)]
    fail_reason: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    created_at: String,
    #[serde(default)]
    updated_at: Option<String>,
    #[serde(default)]
    data_timestamp: Option<String>,
}

impl From<RawBackup> for VolumeBackup {
    fn from(raw: RawBackup) -> Self {
        Self {
            id: raw.id,
            name: raw.name,
            description: raw.description,
            status: raw.status,
            size_gb: raw.size,
            volume_id: raw.volume_id,
            snapshot_id: raw.snapshot_id,
            availability_zone: raw.availability_zone,
            container: raw.container,
            is_incremental: raw.is_incremental,
            has_dependent_backups: raw.has_dependent_backups,
            fail_reason: raw.fail_reason,
            created_at: raw.created_at,
            updated_at: raw.updated_at,
            data_timestamp: raw.data_timestamp,
        }
    }
}

#[derive(Deserialize)]
pub(super) struct QuotaSetEnvelope {
    pub(super) quota_set: BTreeMap<String, QuotaValue>,
}

/// A quota-set entry: `{limit, in_use, reserved}` with `?usage=true`, a bare limit without,
/// and anything else (the `id` string) ignored.
#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum QuotaValue {
    Usage { limit: i64, in_use: i64 },
    Limit(i64),
    Other(#[allow(dead_code, reason = "only matched to be skipped")] serde::de::IgnoredAny),
}

impl From<BTreeMap<String, QuotaValue>> for VolumeQuota {
    fn from(set: BTreeMap<String, QuotaValue>) -> Self {
        let quota = |key: &str| match set.get(key) {
            Some(QuotaValue::Usage { limit: max, in_use }) => Quota {
                limit: limit(*max),
                in_use: Some(count(*in_use)),
            },
            Some(QuotaValue::Limit(max)) => Quota {
                limit: limit(*max),
                in_use: None,
            },
            Some(QuotaValue::Other(_)) | None => Quota {
                limit: None,
                in_use: None,
            },
        };
        Self {
            volumes: quota("volumes"),
            gigabytes: quota("gigabytes"),
            snapshots: quota("snapshots"),
            backups: quota("backups"),
            backup_gigabytes: quota("backup_gigabytes"),
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

impl From<BTreeMap<String, i64>> for VolumeQuota {
    fn from(absolute: BTreeMap<String, i64>) -> Self {
        let quota = |max: &str, used: &str| Quota {
            limit: absolute.get(max).copied().and_then(limit),
            in_use: absolute.get(used).copied().map(count),
        };
        Self {
            volumes: quota("maxTotalVolumes", "totalVolumesUsed"),
            gigabytes: quota("maxTotalVolumeGigabytes", "totalGigabytesUsed"),
            snapshots: quota("maxTotalSnapshots", "totalSnapshotsUsed"),
            backups: quota("maxTotalBackups", "totalBackupsUsed"),
            backup_gigabytes: quota("maxTotalBackupGigabytes", "totalBackupGigabytesUsed"),
        }
    }
}
