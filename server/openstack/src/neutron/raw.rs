//! Neutron's JSON shapes (owner in both `project_id` and `tenant_id`, possibly empty) and their
//! mapping into the model.

use serde::Deserialize;

use crate::de::{non_empty, nullable};
use crate::model::{
    AllocationPool, FixedIp, FloatingIp, Network, Port, Route, Router, SecurityGroup,
    SecurityGroupRule, Subnet,
};

/// The owner of a resource: `project_id`, or the older `tenant_id`; empty means none.
#[derive(Deserialize, Default)]
struct Owner {
    #[serde(default, deserialize_with = "non_empty")]
    project_id: Option<String>,
    #[serde(default, deserialize_with = "non_empty")]
    tenant_id: Option<String>,
}

impl Owner {
    fn id(self) -> Option<String> {
        self.project_id.or(self.tenant_id)
    }
}

#[derive(Deserialize)]
pub(super) struct Networks {
    pub(super) networks: Vec<RawNetwork>,
}

#[derive(Deserialize)]
pub(super) struct NetworkEnvelope {
    pub(super) network: RawNetwork,
}

#[derive(Deserialize)]
pub(super) struct RawNetwork {
    id: String,
    #[serde(default, deserialize_with = "nullable")]
    name: String,
    #[serde(default, deserialize_with = "non_empty")]
    description: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    status: String,
    #[serde(flatten)]
    owner: Owner,
    #[serde(default = "up")]
    admin_state_up: bool,
    #[serde(default, deserialize_with = "nullable")]
    shared: bool,
    #[serde(rename = "router:external", default, deserialize_with = "nullable")]
    external: bool,
    #[serde(default)]
    mtu: Option<u32>,
    #[serde(default, deserialize_with = "nullable")]
    subnets: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    availability_zones: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    tags: Vec<String>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    updated_at: Option<String>,
}

fn up() -> bool {
    true
}

impl From<RawNetwork> for Network {
    fn from(raw: RawNetwork) -> Self {
        Self {
            id: raw.id,
            name: raw.name,
            description: raw.description,
            status: raw.status,
            project_id: raw.owner.id(),
            admin_state_up: raw.admin_state_up,
            shared: raw.shared,
            external: raw.external,
            mtu: raw.mtu,
            subnet_ids: raw.subnets,
            availability_zones: raw.availability_zones,
            tags: raw.tags,
            created_at: raw.created_at,
            updated_at: raw.updated_at,
        }
    }
}

#[derive(Deserialize)]
pub(super) struct Subnets {
    pub(super) subnets: Vec<RawSubnet>,
}

#[derive(Deserialize)]
pub(super) struct RawSubnet {
    id: String,
    #[serde(default, deserialize_with = "nullable")]
    name: String,
    #[serde(default, deserialize_with = "non_empty")]
    description: Option<String>,
    network_id: String,
    #[serde(flatten)]
    owner: Owner,
    cidr: String,
    ip_version: u32,
    #[serde(default)]
    gateway_ip: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    enable_dhcp: bool,
    #[serde(default, deserialize_with = "nullable")]
    allocation_pools: Vec<AllocationPool>,
    #[serde(default, deserialize_with = "nullable")]
    dns_nameservers: Vec<String>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    updated_at: Option<String>,
}

impl From<RawSubnet> for Subnet {
    fn from(raw: RawSubnet) -> Self {
        Self {
            id: raw.id,
            name: raw.name,
            description: raw.description,
            network_id: raw.network_id,
            project_id: raw.owner.id(),
            cidr: raw.cidr,
            ip_version: raw.ip_version,
            gateway_ip: raw.gateway_ip,
            enable_dhcp: raw.enable_dhcp,
            allocation_pools: raw.allocation_pools,
            dns_nameservers: raw.dns_nameservers,
            created_at: raw.created_at,
            updated_at: raw.updated_at,
        }
    }
}

#[derive(Deserialize)]
struct RawFixedIp {
    ip_address: String,
    subnet_id: String,
}

impl From<RawFixedIp> for FixedIp {
    fn from(raw: RawFixedIp) -> Self {
        Self {
            ip_address: raw.ip_address,
            subnet_id: raw.subnet_id,
        }
    }
}

#[derive(Deserialize)]
pub(super) struct Ports {
    pub(super) ports: Vec<RawPort>,
}

#[derive(Deserialize)]
pub(super) struct RawPort {
    id: String,
    #[serde(default, deserialize_with = "nullable")]
    name: String,
    network_id: String,
    #[serde(flatten)]
    owner: Owner,
    #[serde(default, deserialize_with = "nullable")]
    mac_address: String,
    #[serde(default, deserialize_with = "nullable")]
    status: String,
    #[serde(default = "up")]
    admin_state_up: bool,
    #[serde(default, deserialize_with = "non_empty")]
    device_id: Option<String>,
    #[serde(default, deserialize_with = "non_empty")]
    device_owner: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    fixed_ips: Vec<RawFixedIp>,
    #[serde(default, deserialize_with = "nullable")]
    security_groups: Vec<String>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    updated_at: Option<String>,
}

impl From<RawPort> for Port {
    fn from(raw: RawPort) -> Self {
        Self {
            id: raw.id,
            name: raw.name,
            network_id: raw.network_id,
            project_id: raw.owner.id(),
            mac_address: raw.mac_address,
            status: raw.status,
            admin_state_up: raw.admin_state_up,
            device_id: raw.device_id,
            device_owner: raw.device_owner,
            fixed_ips: raw.fixed_ips.into_iter().map(FixedIp::from).collect(),
            security_group_ids: raw.security_groups,
            created_at: raw.created_at,
            updated_at: raw.updated_at,
        }
    }
}

#[derive(Deserialize)]
pub(super) struct Routers {
    pub(super) routers: Vec<RawRouter>,
}

#[derive(Deserialize)]
struct RawGateway {
    #[serde(default)]
    network_id: Option<String>,
    #[serde(default)]
    enable_snat: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    external_fixed_ips: Vec<RawFixedIp>,
}

#[derive(Deserialize)]
pub(super) struct RawRouter {
    id: String,
    #[serde(default, deserialize_with = "nullable")]
    name: String,
    #[serde(default, deserialize_with = "non_empty")]
    description: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    status: String,
    #[serde(flatten)]
    owner: Owner,
    #[serde(default = "up")]
    admin_state_up: bool,
    #[serde(default)]
    external_gateway_info: Option<RawGateway>,
    #[serde(default, deserialize_with = "nullable")]
    routes: Vec<Route>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    updated_at: Option<String>,
}

impl From<RawRouter> for Router {
    fn from(raw: RawRouter) -> Self {
        let (external_network_id, enable_snat, external_fixed_ips) = match raw.external_gateway_info
        {
            Some(gateway) => (
                gateway.network_id,
                gateway.enable_snat,
                gateway
                    .external_fixed_ips
                    .into_iter()
                    .map(FixedIp::from)
                    .collect(),
            ),
            None => (None, None, Vec::new()),
        };
        Self {
            id: raw.id,
            name: raw.name,
            description: raw.description,
            status: raw.status,
            project_id: raw.owner.id(),
            admin_state_up: raw.admin_state_up,
            external_network_id,
            external_fixed_ips,
            enable_snat,
            routes: raw.routes,
            created_at: raw.created_at,
            updated_at: raw.updated_at,
        }
    }
}

#[derive(Deserialize)]
pub(super) struct FloatingIps {
    pub(super) floatingips: Vec<RawFloatingIp>,
}

#[derive(Deserialize)]
pub(super) struct RawFloatingIp {
    id: String,
    floating_ip_address: String,
    #[serde(default)]
    fixed_ip_address: Option<String>,
    floating_network_id: String,
    #[serde(default)]
    port_id: Option<String>,
    #[serde(default)]
    router_id: Option<String>,
    #[serde(flatten)]
    owner: Owner,
    #[serde(default, deserialize_with = "nullable")]
    status: String,
    #[serde(default, deserialize_with = "non_empty")]
    description: Option<String>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    updated_at: Option<String>,
}

impl From<RawFloatingIp> for FloatingIp {
    fn from(raw: RawFloatingIp) -> Self {
        Self {
            id: raw.id,
            floating_ip_address: raw.floating_ip_address,
            fixed_ip_address: raw.fixed_ip_address,
            floating_network_id: raw.floating_network_id,
            port_id: raw.port_id,
            router_id: raw.router_id,
            project_id: raw.owner.id(),
            status: raw.status,
            description: raw.description,
            created_at: raw.created_at,
            updated_at: raw.updated_at,
        }
    }
}

#[derive(Deserialize)]
pub(super) struct SecurityGroups {
    pub(super) security_groups: Vec<RawSecurityGroup>,
}

#[derive(Deserialize)]
pub(super) struct RawSecurityGroup {
    id: String,
    #[serde(default, deserialize_with = "nullable")]
    name: String,
    #[serde(default, deserialize_with = "non_empty")]
    description: Option<String>,
    #[serde(flatten)]
    owner: Owner,
    #[serde(default, deserialize_with = "nullable")]
    security_group_rules: Vec<RawRule>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    updated_at: Option<String>,
}

impl From<RawSecurityGroup> for SecurityGroup {
    fn from(raw: RawSecurityGroup) -> Self {
        Self {
            id: raw.id,
            name: raw.name,
            description: raw.description,
            project_id: raw.owner.id(),
            rules: raw
                .security_group_rules
                .into_iter()
                .map(SecurityGroupRule::from)
                .collect(),
            created_at: raw.created_at,
            updated_at: raw.updated_at,
        }
    }
}

#[derive(Deserialize)]
pub(super) struct SecurityGroupRules {
    pub(super) security_group_rules: Vec<RawRule>,
}

#[derive(Deserialize)]
pub(super) struct RawRule {
    id: String,
    security_group_id: String,
    direction: String,
    #[serde(default, deserialize_with = "nullable")]
    ethertype: String,
    #[serde(default)]
    protocol: Option<String>,
    #[serde(default)]
    port_range_min: Option<u32>,
    #[serde(default)]
    port_range_max: Option<u32>,
    #[serde(default)]
    remote_ip_prefix: Option<String>,
    #[serde(default)]
    remote_group_id: Option<String>,
    #[serde(default, deserialize_with = "non_empty")]
    description: Option<String>,
}

impl From<RawRule> for SecurityGroupRule {
    fn from(raw: RawRule) -> Self {
        Self {
            id: raw.id,
            security_group_id: raw.security_group_id,
            direction: raw.direction,
            ethertype: raw.ethertype,
            protocol: raw.protocol,
            port_range_min: raw.port_range_min,
            port_range_max: raw.port_range_max,
            remote_ip_prefix: raw.remote_ip_prefix,
            remote_group_id: raw.remote_group_id,
            description: raw.description,
        }
    }
}
