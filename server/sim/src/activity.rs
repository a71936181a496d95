//! "Other users": random background actions that keep the cloud changing, bounded per project.
//! Only resources they created themselves (named `activity-…`) are ever deleted by them.

use rand::Rng;
use serde_json::Map;

use crate::model::compute::{self, Action, ServerSpec};
use crate::model::image::{self, ImageSpec};
use crate::model::volume::{self, VolumeSpec};
use crate::model::{Record, World, network};

/// Name prefix of everything background activity creates.
const PREFIX: &str = "activity-";

/// Takes one random action in a random project; returns a short description of it.
pub(crate) fn act(world: &mut World, cap: usize) -> String {
    let projects: Vec<String> = world
        .identity
        .projects
        .iter()
        .map(|p| p.id.clone())
        .collect();
    if projects.is_empty() {
        return "nothing".into();
    }
    let project = projects[world.rng.random_range(0..projects.len())].clone();
    let user = world
        .identity
        .users
        .iter()
        .find(|u| !world.identity.roles_on(&u.id, &project).is_empty())
        .map(|u| u.id.clone())
        .unwrap_or_default();
    match world.rng.random_range(0..6) {
        0 => servers(world, &project, &user, cap),
        1 => power(world, &project),
        2 => volumes(world, &project, &user, cap),
        3 => attachment(world, &project),
        4 => images(world, &project, cap),
        _ => networks(world, &project, cap),
    }
}

fn own<'a>(records: &'a [Record], project: &str, name_key: &str) -> Vec<&'a Record> {
    records
        .iter()
        .filter(|r| r.project_id == project && r.str(name_key).starts_with(PREFIX))
        .collect()
}

fn pick(world: &mut World, ids: Vec<String>) -> Option<String> {
    if ids.is_empty() {
        return None;
    }
    let index = world.rng.random_range(0..ids.len());
    ids.into_iter().nth(index)
}

fn should_delete(world: &mut World, count: usize, cap: usize) -> bool {
    count >= cap || (count > 0 && world.rng.random_bool(0.4))
}

fn servers(world: &mut World, project: &str, user: &str, cap: usize) -> String {
    let mine: Vec<String> = own(&world.servers, project, "name")
        .iter()
        .map(|r| r.id.clone())
        .collect();
    if should_delete(world, mine.len(), cap) {
        let Some(id) = pick(world, mine) else {
            return "nothing".into();
        };
        return match compute::act(world, &id, Action::Delete) {
            Ok(()) => format!("deleted server {id}"),
            Err(_) => "nothing".into(),
        };
    }
    let name = format!("{PREFIX}{}", world.hex(6));
    let spec = ServerSpec {
        project_id: project.to_owned(),
        user_id: user.to_owned(),
        name,
        flavor_id: world.rng.random_range(1..=3).to_string(),
        image_id: world
            .images
            .first()
            .map(|i| i.id.clone())
            .unwrap_or_default(),
        metadata: Map::new(),
        key_name: None,
        availability_zone: "nova".into(),
        with_port: true,
    };
    format!("created server {}", compute::create_server(world, spec))
}

fn power(world: &mut World, project: &str) -> String {
    let settled: Vec<String> = world
        .servers
        .iter()
        .filter(|s| s.project_id == project && s.body["OS-EXT-STS:task_state"].is_null())
        .filter(|s| matches!(s.str("status"), "ACTIVE" | "SHUTOFF"))
        .map(|s| s.id.clone())
        .collect();
    let Some(id) = pick(world, settled) else {
        return "nothing".into();
    };
    let stopped = compute::server(world, &id).is_some_and(|s| s.str("status") == "SHUTOFF");
    let action = match stopped {
        true => Action::Start,
        _ if world.rng.random_bool(0.3) => Action::SoftReboot,
        _ => Action::Stop,
    };
    match compute::act(world, &id, action) {
        Ok(()) => format!("{action:?} server {id}"),
        Err(_) => "nothing".into(),
    }
}

fn volumes(world: &mut World, project: &str, user: &str, cap: usize) -> String {
    let mine: Vec<String> = own(&world.volumes, project, "name")
        .iter()
        .filter(|v| v.str("status") == "available")
        .map(|v| v.id.clone())
        .collect();
    let total = own(&world.volumes, project, "name").len();
    if should_delete(world, total, cap) {
        let Some(id) = pick(world, mine) else {
            return "nothing".into();
        };
        return match volume::delete(world, &id) {
            Ok(()) => format!("deleted volume {id}"),
            Err(_) => "nothing".into(),
        };
    }
    let spec = VolumeSpec {
        project_id: project.to_owned(),
        user_id: user.to_owned(),
        name: Some(format!("{PREFIX}{}", world.hex(6))),
        size: world.rng.random_range(1..=50),
        ..VolumeSpec::default()
    };
    format!("created volume {}", volume::create_volume(world, spec))
}

fn attachment(world: &mut World, project: &str) -> String {
    let in_use: Vec<(String, String)> = world
        .volumes
        .iter()
        .filter(|v| v.project_id == project && v.str("status") == "in-use")
        .filter_map(|v| {
            Some((
                v.body["attachments"][0]["server_id"].as_str()?.to_owned(),
                v.id.clone(),
            ))
        })
        .collect();
    let available = world
        .volumes
        .iter()
        .find(|v| v.project_id == project && v.str("status") == "available");
    let server = world
        .servers
        .iter()
        .find(|s| s.project_id == project && s.str("status") == "ACTIVE");
    if let (Some(volume), Some(server), false) = (available, server, world.rng.random_bool(0.5)) {
        let (server_id, volume_id) = (server.id.clone(), volume.id.clone());
        return match volume::attach(world, &server_id, &volume_id) {
            Ok(_) => format!("attached volume {volume_id} to {server_id}"),
            Err(_) => "nothing".into(),
        };
    }
    let Some((server_id, volume_id)) = in_use.into_iter().next() else {
        return "nothing".into();
    };
    match volume::detach(world, &server_id, &volume_id) {
        Ok(()) => format!("detached volume {volume_id} from {server_id}"),
        Err(_) => "nothing".into(),
    }
}

fn images(world: &mut World, project: &str, cap: usize) -> String {
    let mine: Vec<String> = own(&world.images, project, "name")
        .iter()
        .map(|i| i.id.clone())
        .collect();
    if should_delete(world, mine.len(), cap) {
        let Some(id) = pick(world, mine) else {
            return "nothing".into();
        };
        return match image::delete(world, &id) {
            Ok(()) => format!("deleted image {id}"),
            Err(_) => "nothing".into(),
        };
    }
    let spec = ImageSpec {
        owner: project.to_owned(),
        name: format!("{PREFIX}{}", world.hex(6)),
        id: None,
        disk_format: "qcow2".into(),
        container_format: "bare".into(),
        visibility: "private".into(),
        tags: vec!["snapshot".into()],
        min_disk: 0,
        min_ram: 0,
    };
    match image::create_image(world, spec) {
        Ok(id) => format!("created image {id}"),
        Err(_) => "nothing".into(),
    }
}

fn networks(world: &mut World, project: &str, cap: usize) -> String {
    let mine: Vec<String> = own(&world.networks, project, "name")
        .iter()
        .map(|n| n.id.clone())
        .collect();
    if should_delete(world, mine.len(), cap) {
        let Some(id) = pick(world, mine) else {
            return "nothing".into();
        };
        return match network::delete_network(world, &id) {
            Ok(()) => format!("deleted network {id}"),
            Err(_) => "nothing".into(),
        };
    }
    let name = format!("{PREFIX}net-{}", world.hex(4));
    let id = network::create_network(world, project, &name, false);
    let prefix = format!("192.168.{}", world.rng.random_range(0..=255));
    network::create_subnet(world, &id, &format!("{name}-subnet"), &prefix);
    format!("created network {id}")
}
