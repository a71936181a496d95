//! Nova: servers and their actions, flavors, keypairs, limits, zones, groups, attachments,
//! hypervisors and the version document.

use axum::http::Method;
use tidings_openstack::{CreateInstance, Service};

use crate::support::{ADMIN_PROJECT, FakeCloud, Reply, fixture, nova};

#[tokio::test]
async fn servers_detail_at_2_1_lists_every_project_with_flavor_ids() {
    let cloud = FakeCloud::start().await;
    cloud.get(
        &nova("/servers/detail"),
        "nova/servers/servers-details-resp.json",
    );
    let instances = cloud.client().list_instances().await.unwrap();
    assert_eq!(instances.len(), 1);
    let server = &instances[0];
    assert_eq!(server.id, "f5dc173b-6804-445a-a6d8-c705dad5b5eb");
    assert_eq!(server.name, "new-server-test");
    assert_eq!(server.status, "ACTIVE");
    assert_eq!(server.project_id, "6f70656e737461636b20342065766572");
    assert_eq!(server.flavor.id.as_deref(), Some("1"));
    assert_eq!(server.flavor.name, None);
    assert_eq!(
        server.image_id.as_deref(),
        Some("70a599e0-31e7-49b7-b260-868f441e862b")
    );
    assert_eq!(server.addresses.len(), 1);
    assert_eq!(server.addresses[0].network, "private");
    assert_eq!(server.addresses[0].addr, "192.168.1.30");
    assert_eq!(server.addresses[0].version, 4);
    assert_eq!(server.addresses[0].kind.as_deref(), Some("fixed"));
    assert_eq!(server.power_state.as_deref(), Some("RUNNING"));
    assert_eq!(server.vm_state.as_deref(), Some("active"));
    assert_eq!(server.task_state, None);
    assert_eq!(server.key_name, None);
    assert_eq!(server.availability_zone.as_deref(), Some("us-west"));
    assert_eq!(server.attached_volume_ids, ["volume_id1", "volume_id2"]);
    assert_eq!(server.metadata["My Server Name"], "Apache1");

    let request = &cloud.requests()[0];
    assert_eq!(request.query.as_deref(), Some("all_tenants=1"));
    assert_eq!(request.token.as_deref(), Some("token-1"));
}

#[tokio::test]
async fn servers_detail_at_2_100_embeds_the_flavor() {
    let cloud = FakeCloud::start().await;
    cloud.get(
        &nova("/servers/detail"),
        "nova/servers/v2.100/servers-details-resp.json",
    );
    let instances = cloud.client().list_instances().await.unwrap();
    let flavor = &instances[0].flavor;
    assert_eq!(flavor.id, None);
    assert_eq!(flavor.name.as_deref(), Some("m1.tiny"));
    assert_eq!(flavor.ram_mb, Some(512));
    assert_eq!(flavor.vcpus, Some(1));
    assert_eq!(flavor.disk_gb, Some(1));
}

#[tokio::test]
async fn servers_list_gives_refs() {
    let cloud = FakeCloud::start().await;
    cloud.get(&nova("/servers"), "nova/servers/servers-list-resp.json");
    let refs = cloud.client().list_instance_refs().await.unwrap();
    assert_eq!(refs[0].id, "22c91117-08de-4894-9aa9-6ef382400985");
    assert_eq!(refs[0].name.as_deref(), Some("new-server-test"));
}

#[tokio::test]
async fn server_get_at_2_1() {
    let cloud = FakeCloud::start().await;
    let id = "0e44cc9c-e052-415d-afbf-469b0d384170";
    cloud.get(
        &nova(&format!("/servers/{id}")),
        "nova/servers/server-get-resp.json",
    );
    let server = cloud.client().get_instance(id).await.unwrap();
    assert_eq!(server.id, id);
    assert_eq!(server.user_id, "admin");
    assert_eq!(server.flavor.id.as_deref(), Some("1"));
    assert_eq!(server.progress, 0);
}

#[tokio::test]
async fn server_get_at_2_100_with_null_description_and_key() {
    let cloud = FakeCloud::start().await;
    let id = "0e44cc9c-e052-415d-afbf-469b0d384170";
    cloud.get(
        &nova(&format!("/servers/{id}")),
        "nova/servers/v2.100/server-get-resp.json",
    );
    let server = cloud.client().get_instance(id).await.unwrap();
    assert_eq!(server.key_name, None);
    assert_eq!(server.task_state, None);
    assert_eq!(server.flavor.name.as_deref(), Some("m1.tiny"));
    assert_eq!(server.attached_volume_ids, ["volume_id1", "volume_id2"]);
    assert_eq!(server.updated, "2013-09-03T04:01:33Z");
}

#[tokio::test]
async fn create_server_runs_in_the_target_project_and_returns_the_server() {
    let cloud = FakeCloud::start().await;
    let project = "b0b0b0b0";
    let created = "f5dc173b-6804-445a-a6d8-c705dad5b5eb";
    let base = format!("/compute/v2.1/{project}");
    cloud.on(
        Method::POST,
        &format!("{base}/servers"),
        Reply::status(202, fixture("nova/servers/server-create-resp.json")),
    );
    cloud.get(
        &format!("{base}/servers/{created}"),
        "nova/servers/server-get-resp.json",
    );
    let request = CreateInstance {
        name: "new-server-test".to_owned(),
        flavor_id: "1".to_owned(),
        image_id: "70a599e0-31e7-49b7-b260-868f441e862b".to_owned(),
        network_id: None,
        key_name: None,
    };
    let server = cloud
        .client()
        .create_instance(project, request)
        .await
        .unwrap();
    assert_eq!(server.name, "new-server-test");

    let auth = cloud.auth_requests();
    assert_eq!(auth.len(), 1, "only the project-scoped token is needed");
    assert_eq!(auth[0].json()["auth"]["scope"]["project"]["id"], project);
    let requests = cloud.requests();
    let post = &requests[0];
    assert_eq!(post.method, Method::POST);
    let body = post.json();
    assert_eq!(body["server"]["flavorRef"], "1");
    assert_eq!(
        body["server"]["imageRef"],
        "70a599e0-31e7-49b7-b260-868f441e862b"
    );
    assert!(body["server"].get("networks").is_none());
    assert_eq!(requests[1].path, format!("{base}/servers/{created}"));
}

#[tokio::test]
async fn create_server_at_2_100_with_network_and_key() {
    let cloud = FakeCloud::start().await;
    let created = "f5dc173b-6804-445a-a6d8-c705dad5b5eb";
    cloud.on(
        Method::POST,
        &nova("/servers"),
        Reply::status(202, fixture("nova/servers/v2.100/server-create-resp.json")),
    );
    cloud.get(
        &nova(&format!("/servers/{created}")),
        "nova/servers/v2.100/server-get-resp.json",
    );
    let request = CreateInstance {
        name: "web".to_owned(),
        flavor_id: "1".to_owned(),
        image_id: "img".to_owned(),
        network_id: Some("net-1".to_owned()),
        key_name: Some("mykey".to_owned()),
    };
    let client = cloud.client();
    client
        .create_instance(ADMIN_PROJECT, request)
        .await
        .unwrap();
    let body = cloud.requests()[0].json();
    assert_eq!(body["server"]["networks"][0]["uuid"], "net-1");
    assert_eq!(body["server"]["key_name"], "mykey");
    assert_eq!(
        cloud.auth_requests().len(),
        1,
        "the home project's token is reused for its own id"
    );
}

#[tokio::test]
async fn actions_send_the_documented_bodies() {
    let cloud = FakeCloud::start().await;
    let action = nova("/servers/5ae5b4a1-1f0a-4c55-9e5b-2b0d6b7c8d91/action");
    cloud.on(Method::POST, &action, Reply::status(202, ""));
    cloud.on(
        Method::DELETE,
        &nova("/servers/5ae5b4a1-1f0a-4c55-9e5b-2b0d6b7c8d91"),
        Reply::status(204, ""),
    );
    let client = cloud.client();
    client
        .start_instance("5ae5b4a1-1f0a-4c55-9e5b-2b0d6b7c8d91")
        .await
        .unwrap();
    client
        .stop_instance("5ae5b4a1-1f0a-4c55-9e5b-2b0d6b7c8d91")
        .await
        .unwrap();
    client
        .reboot_instance("5ae5b4a1-1f0a-4c55-9e5b-2b0d6b7c8d91", true)
        .await
        .unwrap();
    client
        .reboot_instance("5ae5b4a1-1f0a-4c55-9e5b-2b0d6b7c8d91", false)
        .await
        .unwrap();
    client
        .delete_instance("5ae5b4a1-1f0a-4c55-9e5b-2b0d6b7c8d91")
        .await
        .unwrap();
    let sample = |path| serde_json::from_str::<serde_json::Value>(&fixture(path)).unwrap();
    let bodies: Vec<_> = cloud.requests().iter().take(4).map(|r| r.json()).collect();
    assert_eq!(bodies[0], sample("nova/servers/server-action-start.json"));
    assert_eq!(bodies[1], sample("nova/servers/server-action-stop.json"));
    assert_eq!(bodies[2], sample("nova/servers/server-action-reboot.json"));
    assert_eq!(bodies[3]["reboot"]["type"], "SOFT");
    assert_eq!(cloud.requests()[4].method, Method::DELETE);
}

#[tokio::test]
async fn flavors_at_2_1_have_empty_string_swap() {
    let cloud = FakeCloud::start().await;
    cloud.get(
        &nova("/flavors/detail"),
        "nova/flavors/flavors-detail-resp.json",
    );
    let flavors = cloud.client().list_flavors().await.unwrap();
    let tiny = &flavors[0];
    assert_eq!((tiny.id.as_str(), tiny.name.as_str()), ("1", "m1.tiny"));
    assert_eq!((tiny.vcpus, tiny.ram_mb, tiny.disk_gb), (1, 512, 1));
    assert_eq!(tiny.swap_mb, 0);
    assert!(tiny.is_public && !tiny.disabled);
}

#[tokio::test]
async fn flavors_at_2_102_have_integer_swap_and_extra_specs() {
    let cloud = FakeCloud::start().await;
    cloud.get(
        &nova("/flavors/detail"),
        "nova/flavors/v2.102/flavors-detail-resp.json",
    );
    let flavors = cloud.client().list_flavors().await.unwrap();
    assert_eq!(flavors[0].swap_mb, 0);
    assert_eq!(flavors[0].description, None);
    let specs = flavors.iter().find(|f| f.name == "m1.tiny.specs").unwrap();
    assert_eq!(specs.extra_specs["hw:numa_nodes"], "1");
}

#[tokio::test]
async fn keypairs_at_2_1_have_no_type() {
    let cloud = FakeCloud::start().await;
    cloud.get(
        &nova("/os-keypairs"),
        "nova/os-keypairs/keypairs-list-resp.json",
    );
    let keypairs = cloud.client().list_keypairs().await.unwrap();
    assert_eq!(
        keypairs[0].name,
        "keypair-50ca852e-273f-4cdc-8949-45feba200837"
    );
    assert_eq!(
        keypairs[0].fingerprint,
        "7e:eb:ab:24:ba:d1:e1:88:ae:9a:fb:66:53:df:d3:bd"
    );
    assert!(keypairs[0].public_key.starts_with("ssh-rsa "));
    assert_eq!(keypairs[0].kind, None);
}

#[tokio::test]
async fn keypairs_at_2_35_have_a_type() {
    let cloud = FakeCloud::start().await;
    cloud.get(
        &nova("/os-keypairs"),
        "nova/os-keypairs/v2.35/keypairs-list-resp.json",
    );
    let keypairs = cloud.client().list_keypairs().await.unwrap();
    assert_eq!(keypairs[0].kind.as_deref(), Some("ssh"));
}

#[tokio::test]
async fn limits_at_2_1_map_to_quotas() {
    let cloud = FakeCloud::start().await;
    cloud.get(&nova("/limits"), "nova/limits/limit-get-resp.json");
    let limits = cloud.client().compute_limits(Some("p1")).await.unwrap();
    assert_eq!(limits.cores.limit, Some(20));
    assert_eq!(limits.cores.in_use, Some(0));
    assert_eq!(limits.ram_mb.limit, Some(51200));
    assert_eq!(limits.instances.limit, Some(10));
    assert_eq!(limits.keypairs.limit, Some(100));
    assert_eq!(limits.keypairs.in_use, None);
    assert_eq!(cloud.requests()[0].query.as_deref(), Some("tenant_id=p1"));
}

#[tokio::test]
async fn limits_at_2_57_parse() {
    let cloud = FakeCloud::start().await;
    cloud.get(&nova("/limits"), "nova/limits/v2.57/limit-get-resp.json");
    let limits = cloud.client().compute_limits(None).await.unwrap();
    assert_eq!(limits.server_groups.limit, Some(10));
    assert_eq!(limits.server_group_members.limit, Some(10));
    assert_eq!(cloud.requests()[0].query, None);
}

#[tokio::test]
async fn availability_zones_detail_lists_hosts() {
    let cloud = FakeCloud::start().await;
    cloud.get(
        &nova("/os-availability-zone/detail"),
        "nova/os-availability-zone/availability-zone-detail-resp.json",
    );
    let zones = cloud.client().list_availability_zones().await.unwrap();
    assert_eq!(zones.len(), 2);
    assert_eq!(zones[0].name, "internal");
    assert_eq!(zones[0].hosts, ["conductor", "scheduler"]);
    assert_eq!(zones[1].name, "nova");
    assert!(zones[1].available);
}

#[tokio::test]
async fn availability_zones_without_hosts_parse() {
    let cloud = FakeCloud::start().await;
    cloud.get(
        &nova("/os-availability-zone/detail"),
        "nova/os-availability-zone/availability-zone-list-resp.json",
    );
    let zones = cloud.client().list_availability_zones().await.unwrap();
    assert_eq!(zones[0].name, "nova");
    assert!(zones[0].hosts.is_empty());
}

#[tokio::test]
async fn server_groups_before_2_64_take_the_first_policy() {
    let cloud = FakeCloud::start().await;
    cloud.get(
        &nova("/os-server-groups"),
        "nova/os-server-groups/server-groups-list-resp.json",
    );
    let groups = cloud.client().list_server_groups().await.unwrap();
    assert_eq!(groups[0].policy, "anti-affinity");
    assert_eq!(groups[0].project_id, None);
    assert_eq!(groups[0].max_server_per_host, None);
    assert_eq!(
        cloud.requests()[0].query.as_deref(),
        Some("all_projects=True")
    );
}

#[tokio::test]
async fn server_groups_from_2_64_have_policy_and_rules() {
    let cloud = FakeCloud::start().await;
    cloud.get(
        &nova("/os-server-groups"),
        "nova/os-server-groups/v2.64/server-groups-list-resp.json",
    );
    let groups = cloud.client().list_server_groups().await.unwrap();
    assert_eq!(groups[0].policy, "anti-affinity");
    assert_eq!(groups[0].max_server_per_host, Some(3));
    assert_eq!(groups[0].user_id.as_deref(), Some("fake"));
}

#[tokio::test]
async fn volume_attachments_at_2_1_have_no_attachment_id() {
    let cloud = FakeCloud::start().await;
    let server = "4b293d31-ebd5-4a7f-be03-874b90021e54";
    cloud.get(
        &nova(&format!("/servers/{server}/os-volume_attachments")),
        "nova/os-volume_attachments/list-volume-attachments-resp.json",
    );
    let attachments = cloud
        .client()
        .list_volume_attachments(server)
        .await
        .unwrap();
    assert_eq!(attachments.len(), 2);
    assert_eq!(
        attachments[0].volume_id,
        "227cc671-f30b-4488-96fd-7d0bf13648d8"
    );
    assert_eq!(attachments[0].server_id, server);
    assert_eq!(attachments[0].device.as_deref(), Some("/dev/sdc"));
    assert_eq!(attachments[0].attachment_id, None);
}

#[tokio::test]
async fn volume_attachments_at_2_101_carry_attachment_ids() {
    let cloud = FakeCloud::start().await;
    let server = "7696780b-3f53-4688-ab25-019bfcbbd806";
    cloud.get(
        &nova(&format!("/servers/{server}/os-volume_attachments")),
        "nova/os-volume_attachments/v2.101/list-volume-attachments-resp.json",
    );
    let attachments = cloud
        .client()
        .list_volume_attachments(server)
        .await
        .unwrap();
    assert_eq!(
        attachments[1].attachment_id.as_deref(),
        Some("c5684109-0311-4fca-9814-350e46ab7d2a")
    );
    assert_eq!(attachments[1].delete_on_termination, Some(true));
}

#[tokio::test]
async fn attach_and_detach_a_volume() {
    let cloud = FakeCloud::start().await;
    let path = nova("/servers/5ae5b4a1-1f0a-4c55-9e5b-2b0d6b7c8d91/os-volume_attachments");
    let answer = r#"{"volumeAttachment": {"device": "/dev/vdb", "id": "0c3f2b1a-7d6e-4f5a-8b9c-1d2e3f4a5b6c", "serverId": "5ae5b4a1-1f0a-4c55-9e5b-2b0d6b7c8d91", "volumeId": "0c3f2b1a-7d6e-4f5a-8b9c-1d2e3f4a5b6c"}}"#;
    cloud.on(Method::POST, &path, Reply::ok(answer));
    cloud.on(
        Method::DELETE,
        &format!("{path}/0c3f2b1a-7d6e-4f5a-8b9c-1d2e3f4a5b6c"),
        Reply::status(202, ""),
    );
    let client = cloud.client();
    let attachment = client
        .attach_volume(
            "5ae5b4a1-1f0a-4c55-9e5b-2b0d6b7c8d91",
            "0c3f2b1a-7d6e-4f5a-8b9c-1d2e3f4a5b6c",
        )
        .await
        .unwrap();
    assert_eq!(attachment.device.as_deref(), Some("/dev/vdb"));
    client
        .detach_volume(
            "5ae5b4a1-1f0a-4c55-9e5b-2b0d6b7c8d91",
            "0c3f2b1a-7d6e-4f5a-8b9c-1d2e3f4a5b6c",
        )
        .await
        .unwrap();
    assert_eq!(
        cloud.requests()[0].json()["volumeAttachment"]["volumeId"],
        "0c3f2b1a-7d6e-4f5a-8b9c-1d2e3f4a5b6c"
    );
    assert_eq!(cloud.requests()[1].method, Method::DELETE);
}

#[tokio::test]
async fn hypervisors_detail_at_2_88() {
    let cloud = FakeCloud::start().await;
    cloud.get(
        &nova("/os-hypervisors/detail"),
        "nova/os-hypervisors/v2.88/hypervisors-detail-resp.json",
    );
    let hypervisors = cloud.client().list_hypervisors().await.unwrap();
    assert_eq!(hypervisors[0].id, "f6d28711-9c10-470e-8b31-c03f498b0032");
    assert_eq!(hypervisors[0].hostname, "host2");
    assert_eq!(hypervisors[0].host_ip.as_deref(), Some("192.168.1.135"));
    assert_eq!(hypervisors[0].state.as_deref(), Some("up"));
}

#[tokio::test]
async fn hypervisors_list_at_2_88_lacks_detail_fields() {
    let cloud = FakeCloud::start().await;
    cloud.get(
        &nova("/os-hypervisors/detail"),
        "nova/os-hypervisors/v2.88/hypervisors-list-resp.json",
    );
    let hypervisors = cloud.client().list_hypervisors().await.unwrap();
    assert_eq!(hypervisors[0].id, "bfb90ba3-e13e-4413-90ff-5cdbfea727e2");
    assert_eq!(hypervisors[0].hypervisor_type, None);
}

#[tokio::test]
async fn compute_version_document_is_read_at_the_root() {
    let cloud = FakeCloud::start().await;
    cloud.get("/compute/", "nova/versions/versions-get-resp.json");
    let versions = cloud.client().api_versions(Service::Compute).await.unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0].max_microversion, None);
    assert_eq!(versions[1].id, "v2.1");
    assert_eq!(versions[1].status, "CURRENT");
    assert_eq!(versions[1].max_microversion.as_deref(), Some("2.104"));
    assert_eq!(versions[1].min_microversion.as_deref(), Some("2.1"));
}

#[tokio::test]
async fn servers_list_follows_next_links() {
    let cloud = FakeCloud::start().await;
    let page = |ids: &[&str], next: bool| {
        let servers: Vec<_> = ids
            .iter()
            .map(|id| serde_json::json!({ "id": id, "name": id, "status": "ACTIVE" }))
            .collect();
        let mut body = serde_json::json!({ "servers": servers });
        if next {
            body["servers_links"] =
                serde_json::json!([{ "href": "http://x/servers/detail?marker=b", "rel": "next" }]);
        }
        Reply::ok(body.to_string())
    };
    cloud
        .on(
            Method::GET,
            &nova("/servers/detail"),
            page(&["a", "b"], true),
        )
        .on(Method::GET, &nova("/servers/detail"), page(&["c"], false));
    let instances = cloud.client().list_instances().await.unwrap();
    let ids: Vec<_> = instances.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, ["a", "b", "c"]);
    let queries: Vec<_> = cloud
        .requests()
        .into_iter()
        .map(|r| r.query.unwrap_or_default())
        .collect();
    assert_eq!(queries, ["all_tenants=1", "all_tenants=1&marker=b"]);
}
