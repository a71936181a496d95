//! Neutron: networks, subnets, ports, routers, floating IPs and security groups.

use axum::http::Method;

use crate::support::{FakeCloud, Reply, fixture, neutron};

#[tokio::test]
async fn networks_list_parses() {
    let cloud = FakeCloud::start().await;
    cloud.get(
        &neutron("/v2.0/networks"),
        "neutron/networks/networks-list-response.json",
    );
    let networks = cloud.client().list_networks().await.unwrap();
    assert_eq!(networks.len(), 2);
    assert_eq!(networks[0].name, "net1");
    assert_eq!(
        networks[0].project_id.as_deref(),
        Some("4fd44f30292945e481c7b8a0c8908869")
    );
    assert_eq!(
        networks[0].subnet_ids,
        ["54d6f61d-db07-451c-9ab3-b9609b6b6f0b"]
    );
    assert_eq!(networks[0].mtu, Some(1500));
    assert_eq!(networks[0].description, None);
    assert!(!networks[0].external && !networks[0].shared);
}

#[tokio::test]
async fn network_show_and_create_parse() {
    let cloud = FakeCloud::start().await;
    let id = "d32019d3-bc6e-4319-9c1d-6722fc136a22";
    cloud.get(
        &neutron(&format!("/v2.0/networks/{id}")),
        "neutron/networks/network-show-response.json",
    );
    cloud.on(
        Method::POST,
        &neutron("/v2.0/networks"),
        Reply::status(201, fixture("neutron/networks/network-show-response.json")),
    );
    let client = cloud.client();
    let network = client.get_network(id).await.unwrap();
    assert_eq!(network.name, "private-network");
    assert!(network.shared);
    assert_eq!(network.availability_zones, ["nova"]);
    let created = client
        .create_network("4fd44f30292945e481c7b8a0c8908869", "private-network")
        .await
        .unwrap();
    assert_eq!(created, network);
    assert_eq!(
        cloud.requests()[1].json()["network"]["name"],
        "private-network"
    );
    let scoped = &cloud.auth_requests()[1];
    assert_eq!(
        scoped.json()["auth"]["scope"]["project"]["id"],
        "4fd44f30292945e481c7b8a0c8908869"
    );
}

#[tokio::test]
async fn delete_network_sends_delete() {
    let cloud = FakeCloud::start().await;
    cloud.on(
        Method::DELETE,
        &neutron("/v2.0/networks/2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e"),
        Reply::status(204, ""),
    );
    cloud
        .client()
        .delete_network("2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e")
        .await
        .unwrap();
    assert_eq!(cloud.requests()[0].method, Method::DELETE);
}

#[tokio::test]
async fn subnets_list_parses() {
    let cloud = FakeCloud::start().await;
    cloud.get(
        &neutron("/v2.0/subnets"),
        "neutron/subnets/subnets-list-response.json",
    );
    let subnets = cloud.client().list_subnets().await.unwrap();
    assert_eq!(subnets[0].cidr, "10.0.0.0/24");
    assert_eq!(subnets[0].ip_version, 4);
    assert_eq!(subnets[0].gateway_ip.as_deref(), Some("10.0.0.1"));
    assert_eq!(subnets[0].allocation_pools[0].start, "10.0.0.2");
    assert!(subnets[0].enable_dhcp);
}

#[tokio::test]
async fn ports_list_treats_empty_project_as_none() {
    let cloud = FakeCloud::start().await;
    cloud.get(
        &neutron("/v2.0/ports"),
        "neutron/ports/ports-list-response.json",
    );
    let ports = cloud.client().list_ports().await.unwrap();
    assert_eq!(ports[0].project_id, None);
    assert_eq!(
        ports[0].device_owner.as_deref(),
        Some("network:router_gateway")
    );
    assert_eq!(ports[0].fixed_ips[0].ip_address, "172.24.4.2");
    assert_eq!(ports[0].mac_address, "fa:16:3e:58:42:ed");
    assert_eq!(
        ports[1].project_id.as_deref(),
        Some("d397de8a63f341818f198abb0966f6f3")
    );
}

#[tokio::test]
async fn routers_list_parses_the_gateway() {
    let cloud = FakeCloud::start().await;
    cloud.get(
        &neutron("/v2.0/routers"),
        "neutron/routers/routers-list-response.json",
    );
    let routers = cloud.client().list_routers().await.unwrap();
    let router = &routers[0];
    assert_eq!(router.name, "router2");
    assert_eq!(
        router.external_network_id.as_deref(),
        Some("ae34051f-aa6c-4c75-abf5-50dc9ac99ef3")
    );
    assert_eq!(router.external_fixed_ips.len(), 2);
    assert_eq!(router.enable_snat, Some(true));
    assert_eq!(router.routes[0].destination, "179.24.1.0/24");
    assert_eq!(router.routes[0].nexthop, "172.24.3.99");
}

#[tokio::test]
async fn floating_ips_list_parses_associated_and_free() {
    let cloud = FakeCloud::start().await;
    cloud.get(
        &neutron("/v2.0/floatingips"),
        "neutron/floatingips/floating-ips-list-response.json",
    );
    let ips = cloud.client().list_floating_ips().await.unwrap();
    assert_eq!(ips[0].floating_ip_address, "172.24.4.228");
    assert_eq!(ips[0].fixed_ip_address.as_deref(), Some("10.0.0.3"));
    assert_eq!(ips[0].status, "ACTIVE");
    assert_eq!(ips[1].port_id, None);
    assert_eq!(ips[1].router_id, None);
    assert_eq!(ips[1].status, "DOWN");
}

#[tokio::test]
async fn security_groups_list_embeds_rules() {
    let cloud = FakeCloud::start().await;
    cloud.get(
        &neutron("/v2.0/security-groups"),
        "neutron/security-groups/security-groups-list-response.json",
    );
    let groups = cloud.client().list_security_groups().await.unwrap();
    assert_eq!(groups[0].name, "default");
    assert_eq!(groups[0].rules.len(), 4);
    assert_eq!(groups[0].rules[0].direction, "egress");
    assert_eq!(groups[0].rules[0].ethertype, "IPv6");
    assert_eq!(groups[0].rules[0].protocol, None);
    assert_eq!(
        groups[0].rules[2].remote_group_id.as_deref(),
        Some("85cc3048-abc3-43cc-89b3-377341426ac5")
    );
}

#[tokio::test]
async fn security_group_rules_list_parses() {
    let cloud = FakeCloud::start().await;
    cloud.get(
        &neutron("/v2.0/security-group-rules"),
        "neutron/security-groups/security-group-rules-list-response.json",
    );
    let rules = cloud.client().list_security_group_rules().await.unwrap();
    assert_eq!(rules.len(), 4);
    assert_eq!(rules[3].id, "f7d45c89-008e-4bab-88ad-d6811724c51c");
    assert_eq!(rules[3].port_range_min, None);
    assert_eq!(
        rules[3].security_group_id,
        "85cc3048-abc3-43cc-89b3-377341426ac5"
    );
}
