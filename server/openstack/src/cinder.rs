//! Cinder v3: volumes, snapshots, volume types, backups, quotas and limits. Listings run in the
//! home (admin) scope with `all_tenants=1`; creation runs in the target project's scope.

mod raw;

use reqwest::Method;
use serde::Serialize;
use serde_json::json;

use crate::client::{Call, Client};
use crate::error::{Error, Service};
use crate::ids::IdKind;
use crate::model::{ResourceRef, Volume, VolumeBackup, VolumeQuota, VolumeSnapshot, VolumeType};

/// What volume to create.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct CreateVolume {
    /// Display name.
    pub name: String,
    /// Size in GiB.
    pub size_gb: u32,
    /// Free text.
    pub description: Option<String>,
    /// Volume type name or id; the default type when absent.
    pub volume_type: Option<String>,
}

impl Client {
    /// Every volume of every project (`GET /volumes/detail?all_tenants=1`).
    pub async fn list_volumes(&self) -> Result<Vec<Volume>, Error> {
        let call = Call::get(Service::Volume, ["volumes", "detail"]).query("all_tenants", "1");
        let raw: raw::Volumes = self.fetch(call).await?;
        Ok(raw.volumes.into_iter().map(Volume::from).collect())
    }

    /// Ids and names of every volume (`GET /volumes?all_tenants=1`).
    pub async fn list_volume_refs(&self) -> Result<Vec<ResourceRef>, Error> {
        let call = Call::get(Service::Volume, ["volumes"]).query("all_tenants", "1");
        let raw: raw::VolumeRefs = self.fetch(call).await?;
        Ok(raw.volumes.into_iter().map(ResourceRef::from).collect())
    }

    /// One volume (`GET /volumes/{id}`).
    pub async fn get_volume(&self, volume_id: &str) -> Result<Volume, Error> {
        IdKind::Volume.check(volume_id)?;
        let call = Call::get(Service::Volume, ["volumes", volume_id]);
        let raw: raw::VolumeEnvelope = self.fetch(call).await?;
        Ok(raw.volume.into())
    }

    /// Creates a volume in `project_id` (`POST /volumes` with a token scoped to it).
    pub async fn create_volume(
        &self,
        project_id: &str,
        request: CreateVolume,
    ) -> Result<Volume, Error> {
        let mut volume = json!({ "name": request.name, "size": request.size_gb });
        if let Some(description) = request.description {
            volume["description"] = json!(description);
        }
        if let Some(volume_type) = request.volume_type {
            volume["volume_type"] = json!(volume_type);
        }
        let call = Call::new(Service::Volume, Method::POST, ["volumes"])
            .json(json!({ "volume": volume }))
            .in_project(project_id);
        let raw: raw::VolumeEnvelope = self.fetch(call).await?;
        let mut created = Volume::from(raw.volume);
        // Non-admin answers leave out the owner; it is the project the token was scoped to.
        created
            .project_id
            .get_or_insert_with(|| project_id.to_owned());
        Ok(created)
    }

    /// Deletes a volume (`DELETE /volumes/{id}`).
    pub async fn delete_volume(&self, volume_id: &str) -> Result<(), Error> {
        IdKind::Volume.check(volume_id)?;
        let path = ["volumes", volume_id];
        self.send(Call::new(Service::Volume, Method::DELETE, path))
            .await
    }

    /// Every snapshot of every project (`GET /snapshots/detail?all_tenants=1`).
    pub async fn list_snapshots(&self) -> Result<Vec<VolumeSnapshot>, Error> {
        let call = Call::get(Service::Volume, ["snapshots", "detail"]).query("all_tenants", "1");
        let raw: raw::Snapshots = self.fetch(call).await?;
        Ok(raw
            .snapshots
            .into_iter()
            .map(VolumeSnapshot::from)
            .collect())
    }

    /// Volume types (`GET /types`).
    pub async fn list_volume_types(&self) -> Result<Vec<VolumeType>, Error> {
        let raw: raw::Types = self.fetch(Call::get(Service::Volume, ["types"])).await?;
        Ok(raw.volume_types.into_iter().map(VolumeType::from).collect())
    }

    /// Every backup of every project (`GET /backups/detail?all_tenants=1`).
    pub async fn list_backups(&self) -> Result<Vec<VolumeBackup>, Error> {
        let call = Call::get(Service::Volume, ["backups", "detail"]).query("all_tenants", "1");
        let raw: raw::Backups = self.fetch(call).await?;
        Ok(raw.backups.into_iter().map(VolumeBackup::from).collect())
    }

    /// Quotas and usage of a project (`GET /os-quota-sets/{project_id}?usage=true`).
    pub async fn volume_quota(&self, project_id: &str) -> Result<VolumeQuota, Error> {
        IdKind::Project.check(project_id)?;
        let call = Call::get(Service::Volume, ["os-quota-sets", project_id]).query("usage", "true");
        let raw: raw::QuotaSetEnvelope = self.fetch(call).await?;
        Ok(raw.quota_set.into())
    }

    /// Limits and usage of the home project (`GET /limits`).
    pub async fn volume_limits(&self) -> Result<VolumeQuota, Error> {
        let raw: raw::Limits = self.fetch(Call::get(Service::Volume, ["limits"])).await?;
        Ok(raw.limits.absolute.into())
    }
}
