//! The upstream lists the BackgroundWorker polls, one [`SourceHandle`] each. Queries read their
//! last good value; mutations refresh the list they changed.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tidings_openstack::Client;
use tidings_openstack::model::{
    AvailabilityZone, Flavor, FloatingIp, Image, Instance, Keypair, Network, Port, Project, Router,
    SecurityGroup, ServerGroup, Subnet, Volume, VolumeBackup, VolumeSnapshot, VolumeType,
};

use crate::updates::UpdateType;
use crate::worker::{SourceHandle, SourceHealth, SourceSpec, Worker};

/// Lists that rarely change (flavors, zones, types) are polled this many times less often.
const SLOW_FACTOR: u32 = 15;

/// Every polled source.
pub struct Sources {
    /// Keystone projects.
    pub projects: SourceHandle<Project>,
    /// Nova servers of every project.
    pub instances: SourceHandle<Instance>,
    /// Nova flavors.
    pub flavors: SourceHandle<Flavor>,
    /// Nova keypairs of the service user.
    pub keypairs: SourceHandle<Keypair>,
    /// Nova server groups.
    pub server_groups: SourceHandle<ServerGroup>,
    /// Nova availability zones.
    pub availability_zones: SourceHandle<AvailabilityZone>,
    /// Cinder volumes of every project.
    pub volumes: SourceHandle<Volume>,
    /// Cinder snapshots.
    pub snapshots: SourceHandle<VolumeSnapshot>,
    /// Cinder backups.
    pub backups: SourceHandle<VolumeBackup>,
    /// Cinder volume types.
    pub volume_types: SourceHandle<VolumeType>,
    /// Glance images.
    pub images: SourceHandle<Image>,
    /// Neutron networks.
    pub networks: SourceHandle<Network>,
    /// Neutron subnets.
    pub subnets: SourceHandle<Subnet>,
    /// Neutron ports.
    pub ports: SourceHandle<Port>,
    /// Neutron routers.
    pub routers: SourceHandle<Router>,
    /// Neutron floating IPs.
    pub floating_ips: SourceHandle<FloatingIp>,
    /// Neutron security groups (with their rules).
    pub security_groups: SourceHandle<SecurityGroup>,
    /// Operations in progress, derived from the instance, volume and image lists.
    pub operations: SourceHandle<Operation>,
}

/// A long-running operation shown with a progress bar.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Operation {
    /// What is happening: `instance.build`, `volume.creating`, `image.saving`, …
    pub kind: String,
    /// The resource's id.
    pub resource_id: String,
    /// The resource's name.
    pub resource_name: String,
    /// The project it belongs to, when known.
    pub project_id: Option<String>,
    /// The upstream status behind the operation (`BUILD`, `creating`, …).
    pub status: String,
    /// Percent done, when the upstream reports it.
    pub progress: Option<u32>,
}

/// The scope of an item's notices: the project whose members alone may see it, if any.
fn by_project<T: HasProject>(item: &T) -> Option<&str> {
    item.scope()
}

/// Items that belong to a project (their notices are scoped to it).
pub trait HasProject {
    /// The owning project's id.
    fn project(&self) -> Option<&str>;

    /// Who may see the item: the project whose members alone may (its notices are scoped to
    /// it), or `None` for everyone (public images, shared networks, unowned things).
    fn scope(&self) -> Option<&str> {
        self.project()
    }
}

macro_rules! has_project {
    ($($ty:ty => |$x:ident| $e:expr),* $(,)?) => {
        $(impl HasProject for $ty { fn project(&self) -> Option<&str> { let $x = self; $e } })*
    };
}

has_project! {
    Project => |p| Some(p.id.as_str()),
    Instance => |i| Some(i.project_id.as_str()),
    Volume => |v| v.project_id.as_deref(),
    VolumeSnapshot => |s| s.project_id.as_deref(),
    Subnet => |s| s.project_id.as_deref(),
    Port => |p| p.project_id.as_deref(),
    Router => |r| r.project_id.as_deref(),
    FloatingIp => |f| f.project_id.as_deref(),
    SecurityGroup => |g| g.project_id.as_deref(),
    ServerGroup => |g| g.project_id.as_deref(),
    Operation => |o| o.project_id.as_deref(),
}

impl HasProject for Image {
    fn project(&self) -> Option<&str> {
        self.owner.as_deref()
    }

    /// Public and community images are everyone's; private and shared ones their owner's.
    fn scope(&self) -> Option<&str> {
        match self.visibility.as_str() {
            "public" | "community" => None,
            _ => self.project(),
        }
    }
}

impl HasProject for Network {
    fn project(&self) -> Option<&str> {
        self.project_id.as_deref()
    }

    /// Shared and external networks are everyone's.
    fn scope(&self) -> Option<&str> {
        if self.shared || self.external {
            None
        } else {
            self.project()
        }
    }
}

fn global<T>(_: &T) -> Option<&str> {
    None
}

macro_rules! source {
    ($worker:expr, $client:expr, $interval:expr, $name:literal, $ty:expr, $scope:expr, $method:ident) => {{
        let client = $client.clone();
        $worker.add(
            SourceSpec::new($name, $ty, $scope, move || {
                let client = client.clone();
                async move { client.$method().await }
            })
            .with_interval($interval),
        )
    }};
}

impl Sources {
    /// Registers every source with `worker`, polling each every `interval` (slow-changing
    /// lists less often).
    pub fn register(worker: &mut Worker, client: &Client, interval: Duration) -> Self {
        use UpdateType::*;
        let slow = interval * SLOW_FACTOR;
        let instances = source!(
            worker,
            client,
            interval,
            "instances",
            Compute,
            by_project,
            list_instances
        );
        let volumes = source!(
            worker,
            client,
            interval,
            "volumes",
            Volumes,
            by_project,
            list_volumes
        );
        let images = source!(
            worker,
            client,
            interval,
            "images",
            Images,
            by_project,
            list_images
        );
        let operations = {
            let (i, v, g) = (instances.clone(), volumes.clone(), images.clone());
            worker.add(
                SourceSpec::new("operations", Progress, by_project, move || {
                    let (i, v, g) = (i.clone(), v.clone(), g.clone());
                    async move { Ok::<_, std::convert::Infallible>(derive_operations(&i, &v, &g)) }
                })
                .with_interval(interval / 2),
            )
        };
        Self {
            projects: source!(
                worker,
                client,
                interval,
                "projects",
                Projects,
                by_project,
                list_projects
            ),
            flavors: source!(
                worker,
                client,
                slow,
                "flavors",
                Compute,
                global,
                list_flavors
            ),
            keypairs: source!(
                worker,
                client,
                slow,
                "keypairs",
                Compute,
                global,
                list_keypairs
            ),
            server_groups: source!(
                worker,
                client,
                slow,
                "server_groups",
                Compute,
                by_project,
                list_server_groups
            ),
            availability_zones: source!(
                worker,
                client,
                slow,
                "availability_zones",
                Compute,
                global,
                list_availability_zones
            ),
            snapshots: source!(
                worker,
                client,
                interval,
                "snapshots",
                Volumes,
                by_project,
                list_snapshots
            ),
            backups: source!(
                worker,
                client,
                interval,
                "backups",
                Volumes,
                global,
                list_backups
            ),
            volume_types: source!(
                worker,
                client,
                slow,
                "volume_types",
                Volumes,
                global,
                list_volume_types
            ),
            networks: source!(
                worker,
                client,
                interval,
                "networks",
                Networks,
                by_project,
                list_networks
            ),
            subnets: source!(
                worker,
                client,
                interval,
                "subnets",
                Networks,
                by_project,
                list_subnets
            ),
            ports: source!(
                worker, client, interval, "ports", Networks, by_project, list_ports
            ),
            routers: source!(
                worker,
                client,
                interval,
                "routers",
                Networks,
                by_project,
                list_routers
            ),
            floating_ips: source!(
                worker,
                client,
                interval,
                "floating_ips",
                Networks,
                by_project,
                list_floating_ips
            ),
            security_groups: source!(
                worker,
                client,
                slow,
                "security_groups",
                Networks,
                by_project,
                list_security_groups
            ),
            instances,
            volumes,
            images,
            operations,
        }
    }
}

impl Sources {
    /// Each source's name and how it is doing.
    pub fn health(&self) -> Vec<(&'static str, SourceHealth)> {
        macro_rules! each {
            ($($field:ident),*) => { vec![$((self.$field.name(), self.$field.health())),*] };
        }
        each!(
            projects,
            instances,
            flavors,
            keypairs,
            server_groups,
            availability_zones,
            volumes,
            snapshots,
            backups,
            volume_types,
            images,
            networks,
            subnets,
            ports,
            routers,
            floating_ips,
            security_groups,
            operations
        )
    }
}

const VOLUME_BUSY: &[&str] = &[
    "creating",
    "attaching",
    "detaching",
    "deleting",
    "extending",
    "downloading",
    "uploading",
];
const IMAGE_BUSY: &[&str] = &["queued", "saving", "importing", "uploading"];

/// Operations in progress, from the last good lists (no upstream call of its own).
fn derive_operations(
    instances: &SourceHandle<Instance>,
    volumes: &SourceHandle<Volume>,
    images: &SourceHandle<Image>,
) -> Vec<Operation> {
    let mut out = Vec::new();
    for i in instances.current().iter().flat_map(|list| list.iter()) {
        let busy = i.status == "BUILD" || i.task_state.is_some();
        if busy {
            let kind = match (&*i.status, i.task_state.as_deref()) {
                ("BUILD", _) => "instance.build".to_owned(),
                (_, Some(task)) => format!("instance.{task}"),
                _ => "instance.busy".to_owned(),
            };
            out.push(Operation {
                kind,
                resource_id: i.id.clone(),
                resource_name: i.name.clone(),
                project_id: Some(i.project_id.clone()),
                status: i.status.clone(),
                progress: Some(i.progress),
            });
        }
    }
    for v in volumes.current().iter().flat_map(|list| list.iter()) {
        if VOLUME_BUSY.contains(&v.status.as_str()) {
            out.push(Operation {
                kind: format!("volume.{}", v.status),
                resource_id: v.id.clone(),
                resource_name: v.name.clone().unwrap_or_default(),
                project_id: v.project_id.clone(),
                status: v.status.clone(),
                progress: None,
            });
        }
    }
    for g in images.current().iter().flat_map(|list| list.iter()) {
        if IMAGE_BUSY.contains(&g.status.as_str()) {
            out.push(Operation {
                kind: format!("image.{}", g.status),
                resource_id: g.id.clone(),
                resource_name: g.name.clone().unwrap_or_default(),
                project_id: g.owner.clone(),
                status: g.status.clone(),
                progress: None,
            });
        }
    }
    out
}
