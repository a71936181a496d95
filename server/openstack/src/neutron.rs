//! Neutron v2.0: networks, subnets, ports, routers, floating IPs and security groups. An admin
//! token sees every project's resources without a filter.

mod raw;

use reqwest::Method;
use serde_json::json;

use crate::client::{Call, Client};
use crate::error::{Error, Service};
use crate::ids::IdKind;
use crate::model::{FloatingIp, Network, Port, Router, SecurityGroup, SecurityGroupRule, Subnet};

impl Client {
    /// Every network (`GET /v2.0/networks`).
    pub async fn list_networks(&self) -> Result<Vec<Network>, Error> {
        let raw: raw::Networks = self
            .fetch(Call::get(Service::Network, ["v2.0", "networks"]))
            .await?;
        Ok(raw.networks.into_iter().map(Network::from).collect())
    }

    /// One network (`GET /v2.0/networks/{id}`).
    pub async fn get_network(&self, network_id: &str) -> Result<Network, Error> {
        IdKind::Network.check(network_id)?;
        let call = Call::get(Service::Network, ["v2.0", "networks", network_id]);
        let raw: raw::NetworkEnvelope = self.fetch(call).await?;
        Ok(raw.network.into())
    }

    /// Creates a network in `project_id` (`POST /v2.0/networks` with a token scoped to it).
    pub async fn create_network(&self, project_id: &str, name: &str) -> Result<Network, Error> {
        let body = json!({ "network": { "name": name, "admin_state_up": true } });
        let call = Call::new(Service::Network, Method::POST, ["v2.0", "networks"])
            .json(body)
            .in_project(project_id);
        let raw: raw::NetworkEnvelope = self.fetch(call).await?;
        Ok(raw.network.into())
    }

    /// Deletes a network (`DELETE /v2.0/networks/{id}`).
    pub async fn delete_network(&self, network_id: &str) -> Result<(), Error> {
        IdKind::Network.check(network_id)?;
        let path = ["v2.0", "networks", network_id];
        self.send(Call::new(Service::Network, Method::DELETE, path))
            .await
    }

    /// Every subnet (`GET /v2.0/subnets`).
    pub async fn list_subnets(&self) -> Result<Vec<Subnet>, Error> {
        let raw: raw::Subnets = self
            .fetch(Call::get(Service::Network, ["v2.0", "subnets"]))
            .await?;
        Ok(raw.subnets.into_iter().map(Subnet::from).collect())
    }

    /// Every port (`GET /v2.0/ports`).
    pub async fn list_ports(&self) -> Result<Vec<Port>, Error> {
        let raw: raw::Ports = self
            .fetch(Call::get(Service::Network, ["v2.0", "ports"]))
            .await?;
        Ok(raw.ports.into_iter().map(Port::from).collect())
    }

    /// Every router (`GET /v2.0/routers`).
    pub async fn list_routers(&self) -> Result<Vec<Router>, Error> {
        let raw: raw::Routers = self
            .fetch(Call::get(Service::Network, ["v2.0", "routers"]))
            .await?;
        Ok(raw.routers.into_iter().map(Router::from).collect())
    }

    /// Every floating IP (`GET /v2.0/floatingips`).
    pub async fn list_floating_ips(&self) -> Result<Vec<FloatingIp>, Error> {
        let raw: raw::FloatingIps = self
            .fetch(Call::get(Service::Network, ["v2.0", "floatingips"]))
            .await?;
        Ok(raw.floatingips.into_iter().map(FloatingIp::from).collect())
    }

    /// Every security group with its rules (`GET /v2.0/security-groups`).
    pub async fn list_security_groups(&self) -> Result<Vec<SecurityGroup>, Error> {
        let raw: raw::SecurityGroups = self
            .fetch(Call::get(Service::Network, ["v2.0", "security-groups"]))
            .await?;
        Ok(raw
            .security_groups
            .into_iter()
            .map(SecurityGroup::from)
            .collect())
    }

    /// Every security group rule (`GET /v2.0/security-group-rules`).
    pub async fn list_security_group_rules(&self) -> Result<Vec<SecurityGroupRule>, Error> {
        let raw: raw::SecurityGroupRules = self
            .fetch(Call::get(
                Service::Network,
                ["v2.0", "security-group-rules"],
            ))
            .await?;
        Ok(raw
            .security_group_rules
            .into_iter()
            .map(SecurityGroupRule::from)
            .collect())
    }
}
