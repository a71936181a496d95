//! Nova v2.1: servers and their actions, flavors, keypairs, limits, zones, server groups,
//! volume attachments and hypervisors. No microversion header is sent, so the base (2.1) shapes
//! are what a real Nova returns; the raw types also accept the later shapes (embedded flavor,
//! single `policy`, attachments without `id`) so a newer default does not break parsing.

mod raw;

use reqwest::Method;
use serde::Serialize;
use serde_json::json;

use crate::client::{Call, Client};
use crate::error::{Error, Service};
use crate::ids::IdKind;
use crate::model::{
    AvailabilityZone, ComputeLimits, Flavor, Hypervisor, Instance, Keypair, ResourceRef,
    ServerGroup, VolumeAttachment,
};

/// What to boot.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct CreateInstance {
    /// Display name.
    pub name: String,
    /// Flavor id.
    pub flavor_id: String,
    /// Image id.
    pub image_id: String,
    /// Network to attach; Nova picks per its policy when absent.
    pub network_id: Option<String>,
    /// Keypair to inject.
    pub key_name: Option<String>,
}

/// Most pages followed for one list, a guard against a cloud whose links never end.
const MAX_PAGES: usize = 10_000;

/// `servers/{server_id}/{rest..}`, once the id is known to be a server's.
fn server_path<'a>(server_id: &'a str, rest: &[&'a str]) -> Result<Vec<&'a str>, Error> {
    IdKind::Instance.check(server_id)?;
    Ok(["servers", server_id]
        .into_iter()
        .chain(rest.iter().copied())
        .collect())
}

impl Client {
    /// Every server of every project (`GET /servers/detail?all_tenants=1`, every page).
    pub async fn list_instances(&self) -> Result<Vec<Instance>, Error> {
        let servers = self
            .all_pages::<raw::Servers>(&["servers", "detail"])
            .await?;
        Ok(servers.into_iter().map(Instance::from).collect())
    }

    /// Ids and names of every server (`GET /servers?all_tenants=1`, every page).
    pub async fn list_instance_refs(&self) -> Result<Vec<ResourceRef>, Error> {
        let servers = self.all_pages::<raw::ServerRefs>(&["servers"]).await?;
        Ok(servers.into_iter().map(ResourceRef::from).collect())
    }

    /// Every page of a server list: Nova answers at most its `max_limit` servers at a time and
    /// links the next page (`servers_links`, `rel: next`), whose marker is the last server's id.
    async fn all_pages<P: raw::Page + serde::de::DeserializeOwned>(
        &self,
        path: &[&'static str],
    ) -> Result<Vec<P::Item>, Error> {
        let mut items = Vec::new();
        let mut marker: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut call = Call::get(Service::Compute, path).query("all_tenants", "1");
            if let Some(marker) = &marker {
                call = call.query("marker", marker.clone());
            }
            let (page, next) = self.fetch::<P>(call).await?.into_parts();
            // A cloud that ignores the marker answers the same page again: it ends the list.
            let repeated = marker.is_some() && page.first().map(P::id) == marker.as_deref();
            if repeated {
                return Ok(items);
            }
            let last = page.last().map(|item| P::id(item).to_owned());
            items.extend(page);
            match last {
                Some(last) if next => marker = Some(last),
                _ => return Ok(items),
            }
        }
        Err(Error::Decode {
            service: Service::Compute,
            detail: format!("/{}: more than {MAX_PAGES} pages", path.join("/")),
        })
    }

    /// One server (`GET /servers/{id}`).
    pub async fn get_instance(&self, server_id: &str) -> Result<Instance, Error> {
        let call = Call::get(Service::Compute, server_path(server_id, &[])?);
        let raw: raw::ServerEnvelope = self.fetch(call).await?;
        Ok(raw.server.into())
    }

    /// Boots a server in `project_id` (`POST /servers` with a token scoped to it) and returns
    /// it as Nova describes it right after.
    pub async fn create_instance(
        &self,
        project_id: &str,
        request: CreateInstance,
    ) -> Result<Instance, Error> {
        let mut server = json!({
            "name": request.name,
            "flavorRef": request.flavor_id,
            "imageRef": request.image_id,
        });
        if let Some(network_id) = request.network_id {
            server["networks"] = json!([{ "uuid": network_id }]);
        }
        if let Some(key_name) = request.key_name {
            server["key_name"] = json!(key_name);
        }
        let call = Call::new(Service::Compute, Method::POST, ["servers"])
            .json(json!({ "server": server }))
            .in_project(project_id);
        let created: raw::CreatedEnvelope = self.fetch(call).await?;
        let call = Call::get(Service::Compute, server_path(&created.server.id, &[])?)
            .in_project(project_id);
        let raw: raw::ServerEnvelope = self.fetch(call).await?;
        Ok(raw.server.into())
    }

    /// Deletes a server (`DELETE /servers/{id}`).
    pub async fn delete_instance(&self, server_id: &str) -> Result<(), Error> {
        let path = server_path(server_id, &[])?;
        self.send(Call::new(Service::Compute, Method::DELETE, path))
            .await
    }

    /// Powers a server on (`os-start` action).
    pub async fn start_instance(&self, server_id: &str) -> Result<(), Error> {
        self.server_action(server_id, json!({ "os-start": null }))
            .await
    }

    /// Powers a server off (`os-stop` action).
    pub async fn stop_instance(&self, server_id: &str) -> Result<(), Error> {
        self.server_action(server_id, json!({ "os-stop": null }))
            .await
    }

    /// Reboots a server, `HARD` (power cycle) or `SOFT` (ACPI).
    pub async fn reboot_instance(&self, server_id: &str, hard: bool) -> Result<(), Error> {
        let kind = if hard { "HARD" } else { "SOFT" };
        self.server_action(server_id, json!({ "reboot": { "type": kind } }))
            .await
    }

    async fn server_action(&self, server_id: &str, body: serde_json::Value) -> Result<(), Error> {
        let path = server_path(server_id, &["action"])?;
        self.send(Call::new(Service::Compute, Method::POST, path).json(body))
            .await
    }

    /// Every flavor (`GET /flavors/detail`).
    pub async fn list_flavors(&self) -> Result<Vec<Flavor>, Error> {
        let raw: raw::Flavors = self
            .fetch(Call::get(Service::Compute, ["flavors", "detail"]))
            .await?;
        Ok(raw.flavors.into_iter().map(Flavor::from).collect())
    }

    /// The keypairs of the authenticated user (`GET /os-keypairs`).
    pub async fn list_keypairs(&self) -> Result<Vec<Keypair>, Error> {
        let raw: raw::Keypairs = self
            .fetch(Call::get(Service::Compute, ["os-keypairs"]))
            .await?;
        Ok(raw.keypairs.into_iter().map(|k| k.keypair.into()).collect())
    }

    /// Absolute limits and usage (`GET /limits`), of `project_id` when given (admin only),
    /// else of the home project.
    pub async fn compute_limits(&self, project_id: Option<&str>) -> Result<ComputeLimits, Error> {
        let mut call = Call::get(Service::Compute, ["limits"]);
        if let Some(project_id) = project_id {
            IdKind::Project.check(project_id)?;
            call = call.query("tenant_id", project_id);
        }
        let raw: raw::Limits = self.fetch(call).await?;
        Ok(raw.limits.absolute.into())
    }

    /// Availability zones with their hosts (`GET /os-availability-zone/detail`).
    pub async fn list_availability_zones(&self) -> Result<Vec<AvailabilityZone>, Error> {
        let call = Call::get(Service::Compute, ["os-availability-zone", "detail"]);
        let raw: raw::Zones = self.fetch(call).await?;
        Ok(raw.zones.into_iter().map(AvailabilityZone::from).collect())
    }

    /// Server groups of every project (`GET /os-server-groups?all_projects=True`).
    pub async fn list_server_groups(&self) -> Result<Vec<ServerGroup>, Error> {
        let call = Call::get(Service::Compute, ["os-server-groups"]).query("all_projects", "True");
        let raw: raw::ServerGroups = self.fetch(call).await?;
        Ok(raw
            .server_groups
            .into_iter()
            .map(ServerGroup::from)
            .collect())
    }

    /// The volumes attached to a server (`GET /servers/{id}/os-volume_attachments`).
    pub async fn list_volume_attachments(
        &self,
        server_id: &str,
    ) -> Result<Vec<VolumeAttachment>, Error> {
        let call = Call::get(
            Service::Compute,
            server_path(server_id, &["os-volume_attachments"])?,
        );
        let raw: raw::Attachments = self.fetch(call).await?;
        Ok(raw
            .volume_attachments
            .into_iter()
            .map(VolumeAttachment::from)
            .collect())
    }

    /// Attaches a volume to a server (`POST /servers/{id}/os-volume_attachments`).
    pub async fn attach_volume(
        &self,
        server_id: &str,
        volume_id: &str,
    ) -> Result<VolumeAttachment, Error> {
        IdKind::Volume.check(volume_id)?;
        let path = server_path(server_id, &["os-volume_attachments"])?;
        let body = json!({ "volumeAttachment": { "volumeId": volume_id } });
        let call = Call::new(Service::Compute, Method::POST, path).json(body);
        let raw: raw::AttachmentEnvelope = self.fetch(call).await?;
        Ok(raw.volume_attachment.into())
    }

    /// Detaches a volume (`DELETE /servers/{id}/os-volume_attachments/{volume_id}`).
    pub async fn detach_volume(&self, server_id: &str, volume_id: &str) -> Result<(), Error> {
        IdKind::Volume.check(volume_id)?;
        let path = server_path(server_id, &["os-volume_attachments", volume_id])?;
        self.send(Call::new(Service::Compute, Method::DELETE, path))
            .await
    }

    /// Compute nodes (`GET /os-hypervisors/detail`; admin only).
    pub async fn list_hypervisors(&self) -> Result<Vec<Hypervisor>, Error> {
        let call = Call::get(Service::Compute, ["os-hypervisors", "detail"]);
        let raw: raw::Hypervisors = self.fetch(call).await?;
        Ok(raw.hypervisors.into_iter().map(Hypervisor::from).collect())
    }
}
