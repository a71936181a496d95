//! The initial inventory: per project a network, subnet, router, security group, a few servers,
//! volumes (one attached), a snapshot, a backup, a floating IP and images; public images; one
//! keypair per user; and optionally many bulk instances for benchmarks.

use rand::Rng;
use serde_json::{Map, json};

use crate::config::SimConfig;
use crate::model::compute::{self, ServerSpec};
use crate::model::image::{self, ImageSpec};
use crate::model::volume::{self, VolumeSpec};
use crate::model::{World, find_mut, network};

/// Public images every project sees.
const PUBLIC_IMAGES: [&str; 3] = [
    "cirros-0.6.2-x86_64-disk",
    "ubuntu-24.04-server-cloudimg",
    "fedora-40-cloud-base",
];

/// Servers seeded in each project, with whether they start stopped.
const SERVERS: [(&str, bool); 3] = [("web-1", false), ("web-2", false), ("db-1", true)];

/// Fills a fresh world.
pub(crate) fn populate(world: &mut World, config: &SimConfig) {
    let projects: Vec<(String, String)> = world
        .identity
        .projects
        .iter()
        .map(|p| (p.id.clone(), p.name.clone()))
        .collect();
    let users: Vec<(String, String)> = world
        .identity
        .users
        .iter()
        .map(|u| (u.id.clone(), u.name.clone()))
        .collect();
    // The `admin` project owns what every project shares (the first of a foreign Keystone's
    // when it has none of that name); a store with no project yet has nothing to seed.
    let Some(admin_project) = projects
        .iter()
        .find(|(_, name)| name == "admin")
        .or(projects.first())
        .map(|(id, _)| id.clone())
    else {
        return;
    };
    let external = network::create_network(world, &admin_project, "public", true);
    network::create_subnet(world, &external, "public-subnet", "172.24.4");
    let public_images: Vec<String> = PUBLIC_IMAGES
        .iter()
        .map(|name| active_image(world, &admin_project, name, "public"))
        .collect();
    for (user_id, name) in &users {
        compute::create_keypair(world, user_id, &format!("{name}-key"));
    }
    for (index, (project_id, name)) in projects.iter().enumerate() {
        let owner = users
            .iter()
            .find(|(id, _)| !world.identity.roles_on(id, project_id).is_empty())
            .map_or_else(String::new, |(id, _)| id.clone());
        seed_project(
            world,
            project_id,
            name,
            &owner,
            index,
            &external,
            &public_images,
        );
    }
    let first_user = users.first().map_or("", |(id, _)| id.as_str());
    seed_bulk(
        world,
        config.extra_instances,
        first_user,
        &projects,
        &public_images,
    );
}

fn active_image(world: &mut World, owner: &str, name: &str, visibility: &str) -> String {
    let spec = ImageSpec {
        owner: owner.to_owned(),
        name: name.to_owned(),
        id: None,
        disk_format: "qcow2".into(),
        container_format: "bare".into(),
        visibility: visibility.to_owned(),
        tags: Vec::new(),
        min_disk: 1,
        min_ram: 0,
    };
    let id = image::create_image(world, spec).unwrap_or_default();
    if let Some(record) = find_mut(&mut world.images, &id) {
        image::set_data(record, name.repeat(64 * 1024).as_bytes());
        record.set("status", "active");
    }
    id
}

fn seed_project(
    world: &mut World,
    project_id: &str,
    name: &str,
    user_id: &str,
    index: usize,
    external: &str,
    images: &[String],
) {
    network::create_default_security_group(world, project_id);
    let net = network::create_network(world, project_id, &format!("{name}-net"), false);
    network::create_subnet(
        world,
        &net,
        &format!("{name}-subnet"),
        &format!("10.{}.0", index + 1),
    );
    network::create_router(world, project_id, &format!("{name}-router"), external);
    active_image(world, project_id, &format!("{name}-golden"), "private");
    compute::create_server_group(
        world,
        project_id,
        &format!("{name}-spread"),
        "anti-affinity",
    );
    let launched = world.now().micros();
    let mut servers = Vec::new();
    for (server_name, stopped) in SERVERS {
        let spec = ServerSpec {
            project_id: project_id.to_owned(),
            user_id: user_id.to_owned(),
            name: format!("{name}-{server_name}"),
            flavor_id: world.rng.random_range(1..=4).to_string(),
            image_id: images[world.rng.random_range(0..images.len())].clone(),
            metadata: Map::from_iter([(
                "role".to_owned(),
                json!(server_name.trim_end_matches(|c: char| c == '-' || c.is_ascii_digit())),
            )]),
            key_name: None,
            availability_zone: "nova".into(),
            with_port: true,
        };
        let id = compute::create_server(world, spec);
        if let Some(server) = find_mut(&mut world.servers, &id) {
            compute::finish_build(server, &launched);
            if stopped {
                compute::finish_stop(server);
            }
        }
        servers.push(id);
    }
    network::create_floating_ip(world, project_id, external, Some(&servers[0]));
    let data = available_volume(world, project_id, user_id, &format!("{name}-data"), 10);
    let scratch = available_volume(world, project_id, user_id, &format!("{name}-scratch"), 20);
    if volume::attach(world, &servers[0], &data).is_ok()
        && let Some(record) = find_mut(&mut world.volumes, &data)
    {
        record.enter("status", "in-use");
    }
    volume::create_snapshot(world, &scratch, &format!("{name}-scratch-snap"));
    volume::create_backup(world, &data, &format!("{name}-data-backup"));
}

fn available_volume(
    world: &mut World,
    project_id: &str,
    user_id: &str,
    name: &str,
    size: u64,
) -> String {
    let spec = VolumeSpec {
        project_id: project_id.to_owned(),
        user_id: user_id.to_owned(),
        name: Some(name.to_owned()),
        description: Some(format!("{name} volume")),
        size,
        ..VolumeSpec::default()
    };
    let id = volume::create_volume(world, spec);
    if let Some(record) = find_mut(&mut world.volumes, &id) {
        record.enter("status", "available");
    }
    id
}

/// Adds `count` ACTIVE instances with long names and about 700 bytes of metadata each.
fn seed_bulk(
    world: &mut World,
    count: usize,
    user_id: &str,
    projects: &[(String, String)],
    images: &[String],
) {
    let launched = world.now().micros();
    for n in 0..count {
        let (project_id, project) = &projects[n % projects.len()];
        let metadata = (0..8)
            .map(|k| {
                (
                    format!("bench-key-{k:02}"),
                    json!(format!("{project}-{n:06}-{}", "v".repeat(64))),
                )
            })
            .collect();
        let spec = ServerSpec {
            project_id: project_id.clone(),
            user_id: user_id.to_owned(),
            name: format!(
                "bench-{project}-instance-{n:06}-with-a-deliberately-long-descriptive-name"
            ),
            flavor_id: "1".into(),
            image_id: images[n % images.len()].clone(),
            metadata,
            key_name: None,
            availability_zone: "nova".into(),
            with_port: false,
        };
        let id = compute::create_server(world, spec);
        if let Some(server) = find_mut(&mut world.servers, &id) {
            compute::finish_build(server, &launched);
        }
    }
}
