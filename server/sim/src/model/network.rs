//! Neutron networks, subnets, ports, routers, floating IPs and security groups.

use serde_json::{Value, json};

use super::{Record, World, find, position};

/// Why a network could not be deleted.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum NetworkError {
    /// No such network.
    NotFound,
    /// Instances still have ports on it (Neutron's `NetworkInUse`).
    InUse,
}

/// Adds an ACTIVE network; returns its id.
pub(crate) fn create_network(
    world: &mut World,
    project_id: &str,
    name: &str,
    external: bool,
) -> String {
    let id = world.uuid();
    let now = world.now().seconds_z();
    let mut body = world.templates.network.clone();
    let fields = [
        ("id", json!(id)),
        ("name", json!(name)),
        ("project_id", json!(project_id)),
        ("tenant_id", json!(project_id)),
        ("created_at", json!(now)),
        ("updated_at", json!(now)),
        ("subnets", json!([])),
        ("router:external", json!(external)),
        ("shared", json!(false)),
        ("is_default", json!(external)),
        ("qos_policy_id", Value::Null),
        ("dns_domain", json!("")),
        ("revision_number", json!(1)),
        ("vlan_transparent", json!(false)),
        ("qinq", json!(false)),
    ];
    for (key, value) in fields {
        body.insert(key.to_owned(), value);
    }
    world.networks.push(Record::new(project_id, body));
    id
}

/// Adds the IPv4 subnet `{prefix}.0/24` to a network; returns its id.
pub(crate) fn create_subnet(
    world: &mut World,
    network_id: &str,
    name: &str,
    prefix: &str,
) -> String {
    let cidr = Cidr::parse(&format!("{prefix}.0/24")).unwrap_or(Cidr {
        network: 0x0a00_0000,
        bits: 24,
    });
    create_subnet_in(world, network_id, name, cidr).unwrap_or_default()
}

/// An IPv4 network in CIDR notation, as subnets are created with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Cidr {
    /// The network address (host bits cleared).
    pub network: u32,
    /// The prefix length, 8 to 30.
    pub bits: u32,
}

impl Cidr {
    /// Parses `a.b.c.d/n` (IPv4, prefix length 8 to 30), clearing host bits.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let (address, bits) = text.split_once('/')?;
        let bits: u32 = bits.parse().ok().filter(|b| (8..=30).contains(b))?;
        let address: std::net::Ipv4Addr = address.parse().ok()?;
        let mask = u32::MAX << (32 - bits);
        Some(Self {
            network: u32::from(address) & mask,
            bits,
        })
    }

    fn nth(self, n: u32) -> String {
        std::net::Ipv4Addr::from(self.network + n).to_string()
    }

    fn size(self) -> u32 {
        1 << (32 - self.bits)
    }
}

/// Adds an IPv4 subnet (gateway at the first address, the rest but the broadcast address
/// allocatable) to a network; returns its id, or `None` when there is no such network.
pub(crate) fn create_subnet_in(
    world: &mut World,
    network_id: &str,
    name: &str,
    cidr: Cidr,
) -> Option<String> {
    let id = world.uuid();
    let now = world.now().seconds_z();
    let network = super::find_mut(&mut world.networks, network_id)?;
    if let Some(list) = network
        .body
        .get_mut("subnets")
        .and_then(Value::as_array_mut)
    {
        list.push(json!(id));
    }
    network.set("updated_at", now.clone());
    let project_id = network.project_id.clone();
    let external = network.body["router:external"].clone();
    let mut body = world.templates.subnet.clone();
    let fields = [
        ("id", json!(id)),
        ("name", json!(name)),
        ("network_id", json!(network_id)),
        ("project_id", json!(project_id)),
        ("tenant_id", json!(project_id)),
        ("cidr", json!(format!("{}/{}", cidr.nth(0), cidr.bits))),
        ("gateway_ip", json!(cidr.nth(1))),
        (
            "allocation_pools",
            json!([{ "start": cidr.nth(2), "end": cidr.nth(cidr.size() - 2) }]),
        ),
        ("created_at", json!(now)),
        ("updated_at", json!(now)),
        ("router:external", external),
        ("tags", json!([])),
        ("revision_number", json!(0)),
    ];
    for (key, value) in fields {
        body.insert(key.to_owned(), value);
    }
    world.subnets.push(Record::new(&project_id, body));
    Some(id)
}

/// Why a subnet or port operation was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum PortError {
    /// No such network, subnet or port.
    NotFound,
    /// The network has no subnet, or its subnet no free address (Neutron's
    /// `IpAddressGenerationFailure`).
    NoAddress,
    /// A port still has an address on the subnet (Neutron's `SubnetInUse`).
    InUse,
}

/// Removes a subnet unless a port still has an address on it (DHCP ports go with it).
pub(crate) fn delete_subnet(world: &mut World, id: &str) -> Result<(), PortError> {
    let index = position(&world.subnets, id).ok_or(PortError::NotFound)?;
    let on_subnet = |p: &Record| {
        p.body["fixed_ips"]
            .as_array()
            .is_some_and(|ips| ips.iter().any(|ip| ip["subnet_id"] == id))
    };
    if world
        .ports
        .iter()
        .any(|p| on_subnet(p) && p.str("device_owner") != "network:dhcp")
    {
        return Err(PortError::InUse);
    }
    let subnet = world.subnets.remove(index);
    world.ports.retain(|p| !on_subnet(p));
    if let Some(network) = super::find_mut(&mut world.networks, subnet.str("network_id"))
        && let Some(list) = network
            .body
            .get_mut("subnets")
            .and_then(Value::as_array_mut)
    {
        list.retain(|s| s != id);
    }
    Ok(())
}

/// Adds an unbound port (no device) on a network's first subnet; returns its id.
pub(crate) fn create_user_port(
    world: &mut World,
    network_id: &str,
    name: &str,
) -> Result<String, PortError> {
    let network = find(&world.networks, network_id)
        .cloned()
        .ok_or(PortError::NotFound)?;
    let subnet = world
        .subnets
        .iter()
        .find(|s| s.str("network_id") == network_id)
        .cloned()
        .ok_or(PortError::NoAddress)?;
    let address = next_address(world, &subnet).ok_or(PortError::NoAddress)?;
    let mac = world.mac();
    let id = create_port(world, &network, &subnet, &address, &mac, "", "");
    if let Some(port) = super::find_mut(&mut world.ports, &id) {
        port.set("name", name);
        port.set("status", "DOWN");
        port.set("binding:vif_type", "unbound");
        port.set("binding:host_id", "");
    }
    Ok(id)
}

/// Removes a port (and the floating IP association that pointed at it).
pub(crate) fn delete_port(world: &mut World, id: &str) -> Result<(), PortError> {
    let index = position(&world.ports, id).ok_or(PortError::NotFound)?;
    world.ports.remove(index);
    for fip in world
        .floating_ips
        .iter_mut()
        .filter(|f| f.str("port_id") == id)
    {
        for key in ["port_id", "fixed_ip_address", "router_id", "port_details"] {
            fip.set(key, Value::Null);
        }
        fip.set("status", "DOWN");
    }
    Ok(())
}

/// Creates a compute port for a new server on its project's first private network and returns
/// Nova's `addresses` map for it (empty when the project has no network).
pub(crate) fn attach_server_port(world: &mut World, project_id: &str, server_id: &str) -> Value {
    let Some(network) = private_network(world, project_id).cloned() else {
        return json!({});
    };
    let Some(subnet) = world
        .subnets
        .iter()
        .find(|s| s.str("network_id") == network.id)
        .cloned()
    else {
        return json!({});
    };
    let Some(address) = next_address(world, &subnet) else {
        return json!({});
    };
    let mac = world.mac();
    create_port(
        world,
        &network,
        &subnet,
        &address,
        &mac,
        server_id,
        "compute:nova",
    );
    json!({ network.str("name"): [{
        "addr": address,
        "OS-EXT-IPS-MAC:mac_addr": mac,
        "OS-EXT-IPS:type": "fixed",
        "version": 4,
    }]})
}

/// The first address of the subnet's allocation pool no port holds, from `.10` on in a /24
/// (the seeded addresses start there).
fn next_address(world: &World, subnet: &Record) -> Option<String> {
    let pool = &subnet.body["allocation_pools"][0];
    let bound = |key: &str| {
        pool[key]
            .as_str()
            .and_then(|a| a.parse::<std::net::Ipv4Addr>().ok())
            .map(u32::from)
    };
    let (start, end) = (bound("start")?, bound("end")?);
    let used: Vec<u32> = world
        .ports
        .iter()
        .filter_map(|p| p.body["fixed_ips"][0]["ip_address"].as_str())
        .filter_map(|ip| ip.parse::<std::net::Ipv4Addr>().ok().map(u32::from))
        .collect();
    let highest = used
        .iter()
        .copied()
        .filter(|a| (start..=end).contains(a))
        .max();
    let first = if end - start > 16 { start + 8 } else { start };
    let next = highest.map_or(first, |h| (h + 1).max(first));
    (next..=end)
        .chain(start..next)
        .find(|a| !used.contains(a))
        .map(|a| std::net::Ipv4Addr::from(a).to_string())
}

fn create_port(
    world: &mut World,
    network: &Record,
    subnet: &Record,
    address: &str,
    mac: &str,
    device_id: &str,
    owner: &str,
) -> String {
    let id = world.uuid();
    let now = world.now().seconds_z();
    let group = world
        .security_groups
        .iter()
        .find(|g| g.project_id == network.project_id)
        .map(|g| g.id.clone());
    let mut body = world.templates.port.clone();
    let fields = [
        ("id", json!(id)),
        ("name", json!("")),
        ("network_id", json!(network.id)),
        ("project_id", json!(network.project_id)),
        ("tenant_id", json!(network.project_id)),
        ("device_id", json!(device_id)),
        ("device_owner", json!(owner)),
        ("mac_address", json!(mac)),
        (
            "fixed_ips",
            json!([{ "ip_address": address, "subnet_id": subnet.id }]),
        ),
        (
            "dns_assignment",
            json!([{ "hostname": format!("host-{}", address.replace('.', "-")),
            "ip_address": address, "fqdn": format!("host-{}.sim.local.", address.replace('.', "-")) }]),
        ),
        ("dns_name", json!("")),
        ("dns_domain", json!("")),
        (
            "security_groups",
            json!(group.into_iter().collect::<Vec<_>>()),
        ),
        ("created_at", json!(now)),
        ("updated_at", json!(now)),
        ("tags", json!([])),
        ("qos_network_policy_id", Value::Null),
        ("qos_policy_id", Value::Null),
        ("port_security_enabled", json!(true)),
        ("extra_dhcp_opts", json!([])),
    ];
    for (key, value) in fields {
        body.insert(key.to_owned(), value);
    }
    world.ports.push(Record::new(&network.project_id, body));
    id
}

/// Removes a server's ports and clears the floating IPs that pointed at them.
pub(crate) fn release_server_ports(world: &mut World, server_id: &str) {
    let ports: Vec<String> = world
        .ports
        .iter()
        .filter(|p| p.str("device_id") == server_id)
        .map(|p| p.id.clone())
        .collect();
    world.ports.retain(|p| p.str("device_id") != server_id);
    for fip in world
        .floating_ips
        .iter_mut()
        .filter(|f| ports.iter().any(|p| f.str("port_id") == p))
    {
        for key in ["port_id", "fixed_ip_address", "router_id", "port_details"] {
            fip.set(key, Value::Null);
        }
        fip.set("status", "DOWN");
    }
}

/// Deletes a network and its subnets unless instances still use it.
pub(crate) fn delete_network(world: &mut World, id: &str) -> Result<(), NetworkError> {
    let index = position(&world.networks, id).ok_or(NetworkError::NotFound)?;
    if world
        .ports
        .iter()
        .any(|p| p.str("network_id") == id && p.str("device_owner").starts_with("compute:"))
    {
        return Err(NetworkError::InUse);
    }
    world.networks.remove(index);
    world.subnets.retain(|s| s.str("network_id") != id);
    world.ports.retain(|p| p.str("network_id") != id);
    Ok(())
}

/// Adds a router with a gateway on the external network.
pub(crate) fn create_router(world: &mut World, project_id: &str, name: &str, external_id: &str) {
    let gateway_subnet = world
        .subnets
        .iter()
        .find(|s| s.str("network_id") == external_id)
        .map(|s| s.id.clone());
    let gateway_ip = format!("172.24.4.{}", world.routers.len() + 2);
    let now = world.now().seconds_z();
    let mut body = world.templates.router.clone();
    let fields = [
        ("id", json!(world.uuid())),
        ("name", json!(name)),
        ("project_id", json!(project_id)),
        ("tenant_id", json!(project_id)),
        (
            "external_gateway_info",
            json!({
                "enable_snat": true,
                "external_fixed_ips": [{ "ip_address": gateway_ip, "subnet_id": gateway_subnet }],
                "network_id": external_id,
            }),
        ),
        ("flavor_id", Value::Null),
        ("routes", json!([])),
        ("conntrack_helpers", json!([])),
        ("created_at", json!(now)),
        ("updated_at", json!(now)),
        ("tags", json!([])),
    ];
    for (key, value) in fields {
        body.insert(key.to_owned(), value);
    }
    world.routers.push(Record::new(project_id, body));
}

/// Adds a floating IP on the external network, associated with a server's port when given.
pub(crate) fn create_floating_ip(
    world: &mut World,
    project_id: &str,
    external_id: &str,
    server_id: Option<&str>,
) {
    let address = format!("172.24.4.{}", 100 + world.floating_ips.len());
    let port = server_id.and_then(|s| {
        world
            .ports
            .iter()
            .find(|p| p.str("device_id") == s)
            .cloned()
    });
    let router = world
        .routers
        .iter()
        .find(|r| r.project_id == project_id)
        .map(|r| r.id.clone());
    let now = world.now().seconds_z();
    let mut body = world.templates.floating_ip.clone();
    let details = port.as_ref().map(|p| {
        json!({
            "status": "ACTIVE", "name": "", "admin_state_up": true, "network_id": p.str("network_id"),
            "device_owner": p.str("device_owner"), "mac_address": p.str("mac_address"),
            "device_id": p.str("device_id"),
        })
    });
    let fields = [
        ("id", json!(world.uuid())),
        ("project_id", json!(project_id)),
        ("tenant_id", json!(project_id)),
        ("floating_network_id", json!(external_id)),
        ("floating_ip_address", json!(address)),
        (
            "fixed_ip_address",
            port.as_ref().map_or(Value::Null, |p| {
                p.body["fixed_ips"][0]["ip_address"].clone()
            }),
        ),
        ("port_id", json!(port.as_ref().map(|p| p.id.clone()))),
        (
            "router_id",
            if port.is_some() {
                json!(router)
            } else {
                Value::Null
            },
        ),
        ("port_details", details.unwrap_or(Value::Null)),
        (
            "status",
            json!(if port.is_some() { "ACTIVE" } else { "DOWN" }),
        ),
        ("description", json!("")),
        ("dns_domain", json!("")),
        ("dns_name", json!("")),
        ("tags", json!([])),
        ("qos_network_policy_id", Value::Null),
        ("qos_policy_id", Value::Null),
        ("created_at", json!(now)),
        ("updated_at", json!(now)),
    ];
    for (key, value) in fields {
        body.insert(key.to_owned(), value);
    }
    world.floating_ips.push(Record::new(project_id, body));
}

/// Adds a project's `default` security group with Neutron's four default rules.
pub(crate) fn create_default_security_group(world: &mut World, project_id: &str) {
    let group_id = world.uuid();
    let now = world.now().seconds_z();
    let mut rules = Vec::new();
    for (direction, ethertype, remote) in [
        ("egress", "IPv4", None),
        ("egress", "IPv6", None),
        ("ingress", "IPv4", Some(group_id.as_str())),
        ("ingress", "IPv6", Some(group_id.as_str())),
    ] {
        let mut rule = world.templates.security_group_rule.clone();
        let fields = [
            ("id", json!(world.uuid())),
            ("direction", json!(direction)),
            ("ethertype", json!(ethertype)),
            ("remote_group_id", json!(remote)),
            ("security_group_id", json!(group_id)),
            ("project_id", json!(project_id)),
            ("tenant_id", json!(project_id)),
            ("created_at", json!(now)),
            ("updated_at", json!(now)),
            ("belongs_to_default_sg", json!(true)),
        ];
        for (key, value) in fields {
            rule.insert(key.to_owned(), value);
        }
        rules.push(Record::new(project_id, rule));
    }
    let embedded_template = world.templates.security_group["security_group_rules"][0].clone();
    let embedded: Vec<Value> = rules
        .iter()
        .map(|r| {
            let mut item = embedded_template.as_object().cloned().unwrap_or_default();
            for (key, value) in item.iter_mut() {
                if let Some(v) = r.body.get(key) {
                    *value = v.clone();
                }
            }
            item.insert("tags".into(), json!([]));
            Value::Object(item)
        })
        .collect();
    let mut body = world.templates.security_group.clone();
    let fields = [
        ("id", json!(group_id)),
        ("name", json!("default")),
        ("description", json!("Default security group")),
        ("project_id", json!(project_id)),
        ("tenant_id", json!(project_id)),
        ("security_group_rules", Value::Array(embedded)),
        ("created_at", json!(now)),
        ("updated_at", json!(now)),
        ("tags", json!([])),
    ];
    for (key, value) in fields {
        body.insert(key.to_owned(), value);
    }
    world.security_groups.push(Record::new(project_id, body));
    world.security_group_rules.extend(rules);
}

/// The project's private network, if any.
pub(crate) fn private_network<'a>(world: &'a World, project_id: &str) -> Option<&'a Record> {
    world
        .networks
        .iter()
        .find(|n| n.project_id == project_id && n.body["router:external"] == false)
}

/// The network with this id.
pub(crate) fn network<'a>(world: &'a World, id: &str) -> Option<&'a Record> {
    find(&world.networks, id)
}
