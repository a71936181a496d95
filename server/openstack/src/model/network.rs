//! Neutron models: networks, subnets, ports, routers, floating IPs and security groups.

use serde::{Deserialize, Serialize};

/// A Neutron network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Network {
    /// Network id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// Status, e.g. `ACTIVE`, `DOWN`.
    pub status: String,
    /// Owning project (`project_id`, or the older `tenant_id`).
    pub project_id: Option<String>,
    /// Administrative state.
    pub admin_state_up: bool,
    /// Whether every project may use it.
    pub shared: bool,
    /// Whether it is an external (provider) network (`router:external`).
    pub external: bool,
    /// MTU, when reported.
    pub mtu: Option<u32>,
    /// Its subnets.
    pub subnet_ids: Vec<String>,
    /// Availability zones it is in.
    pub availability_zones: Vec<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Creation time.
    pub created_at: Option<String>,
    /// Last change.
    pub updated_at: Option<String>,
}

/// A Neutron subnet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Subnet {
    /// Subnet id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// Its network.
    pub network_id: String,
    /// Owning project.
    pub project_id: Option<String>,
    /// CIDR, e.g. `10.0.0.0/24`.
    pub cidr: String,
    /// 4 or 6.
    pub ip_version: u32,
    /// Gateway address.
    pub gateway_ip: Option<String>,
    /// Whether DHCP is on.
    pub enable_dhcp: bool,
    /// Allocation pools.
    pub allocation_pools: Vec<AllocationPool>,
    /// DNS servers handed out.
    pub dns_nameservers: Vec<String>,
    /// Creation time.
    pub created_at: Option<String>,
    /// Last change.
    pub updated_at: Option<String>,
}

/// An address range of a subnet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct AllocationPool {
    /// First address.
    pub start: String,
    /// Last address.
    pub end: String,
}

/// An address of a port or a router gateway on a subnet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct FixedIp {
    /// The address.
    pub ip_address: String,
    /// Its subnet.
    pub subnet_id: String,
}

/// A Neutron port.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Port {
    /// Port id.
    pub id: String,
    /// Name (often empty).
    pub name: String,
    /// Its network.
    pub network_id: String,
    /// Owning project.
    pub project_id: Option<String>,
    /// MAC address.
    pub mac_address: String,
    /// Status, e.g. `ACTIVE`, `DOWN`.
    pub status: String,
    /// Administrative state.
    pub admin_state_up: bool,
    /// What uses it (a server or router id).
    pub device_id: Option<String>,
    /// What kind of thing uses it, e.g. `compute:nova`, `network:router_interface`.
    pub device_owner: Option<String>,
    /// Its addresses.
    pub fixed_ips: Vec<FixedIp>,
    /// Security groups applied to it.
    pub security_group_ids: Vec<String>,
    /// Creation time.
    pub created_at: Option<String>,
    /// Last change.
    pub updated_at: Option<String>,
}

/// A Neutron router.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Router {
    /// Router id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// Status, e.g. `ACTIVE`.
    pub status: String,
    /// Owning project.
    pub project_id: Option<String>,
    /// Administrative state.
    pub admin_state_up: bool,
    /// External network of the gateway, when it has one.
    pub external_network_id: Option<String>,
    /// Gateway addresses on the external network.
    pub external_fixed_ips: Vec<FixedIp>,
    /// Whether SNAT is on for the gateway.
    pub enable_snat: Option<bool>,
    /// Static routes.
    pub routes: Vec<Route>,
    /// Creation time.
    pub created_at: Option<String>,
    /// Last change.
    pub updated_at: Option<String>,
}

/// A static route of a router.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Route {
    /// Destination CIDR.
    pub destination: String,
    /// Next hop address.
    pub nexthop: String,
}

/// A Neutron floating IP.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct FloatingIp {
    /// Floating IP id.
    pub id: String,
    /// The public address.
    pub floating_ip_address: String,
    /// The private address it maps to, when associated.
    pub fixed_ip_address: Option<String>,
    /// The external network it comes from.
    pub floating_network_id: String,
    /// The port it is associated with.
    pub port_id: Option<String>,
    /// The router doing the NAT.
    pub router_id: Option<String>,
    /// Owning project.
    pub project_id: Option<String>,
    /// Status, e.g. `ACTIVE`, `DOWN`.
    pub status: String,
    /// Free text.
    pub description: Option<String>,
    /// Creation time.
    pub created_at: Option<String>,
    /// Last change.
    pub updated_at: Option<String>,
}

/// A Neutron security group with its rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct SecurityGroup {
    /// Group id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// Owning project.
    pub project_id: Option<String>,
    /// Its rules.
    pub rules: Vec<SecurityGroupRule>,
    /// Creation time.
    pub created_at: Option<String>,
    /// Last change.
    pub updated_at: Option<String>,
}

/// A rule of a security group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct SecurityGroupRule {
    /// Rule id.
    pub id: String,
    /// Its group.
    pub security_group_id: String,
    /// `ingress` or `egress`.
    pub direction: String,
    /// `IPv4` or `IPv6`.
    pub ethertype: String,
    /// Protocol, e.g. `tcp`; `null` for any.
    pub protocol: Option<String>,
    /// Lowest port; `null` for any.
    pub port_range_min: Option<u32>,
    /// Highest port; `null` for any.
    pub port_range_max: Option<u32>,
    /// Remote CIDR.
    pub remote_ip_prefix: Option<String>,
    /// Remote security group.
    pub remote_group_id: Option<String>,
    /// Free text.
    pub description: Option<String>,
}
