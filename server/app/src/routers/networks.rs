//! Networks: Neutron networks, subnets, ports, routers, floating IPs and security groups.

use serde::{Deserialize, Serialize};
use tidings_openstack::IdKind;
use tidings_openstack::model::{FloatingIp, Network, Port, Router, SecurityGroup, Subnet};
use tidings_rpc::{Encoded, Registry, RpcError};

use super::{AppCtx, ById, ProjectFilter, announce, check_id, find, list, owner_of, session};
use crate::error;
use crate::state::AppState;
use crate::updates::UpdateType::Networks;

pub(super) fn mount(r: &mut Registry<AppState>) {
    let networks = [Networks.as_str()];
    r.query("networks.getAll", get_all)
        .invalidated_by_types(networks);
    r.query("networks.getById", get_by_id)
        .invalidated_by_types(networks);
    r.query("networks.subnets.getAll", get_subnets)
        .invalidated_by_types(networks);
    r.query("networks.ports.getAll", get_ports)
        .invalidated_by_types(networks);
    r.query("networks.routers.getAll", get_routers)
        .invalidated_by_types(networks);
    r.query("networks.floatingIps.getAll", get_floating_ips)
        .invalidated_by_types(networks);
    r.query("networks.securityGroups.getAll", get_security_groups)
        .invalidated_by_types(networks);
    r.mutation("networks.create", create);
    r.mutation("networks.delete", delete);
}

async fn get_all(
    ctx: AppCtx,
    input: Option<ProjectFilter>,
) -> Result<Encoded<Vec<Network>>, RpcError> {
    list(&ctx, &ctx.state.sources.networks, input).await
}

async fn get_by_id(ctx: AppCtx, input: ById) -> Result<Network, RpcError> {
    find(
        &ctx,
        &ctx.state.sources.networks,
        IdKind::Network,
        "id",
        &input.id,
        |n| &n.id,
    )
    .await
}

async fn get_subnets(
    ctx: AppCtx,
    input: Option<ProjectFilter>,
) -> Result<Encoded<Vec<Subnet>>, RpcError> {
    list(&ctx, &ctx.state.sources.subnets, input).await
}

async fn get_ports(
    ctx: AppCtx,
    input: Option<ProjectFilter>,
) -> Result<Encoded<Vec<Port>>, RpcError> {
    list(&ctx, &ctx.state.sources.ports, input).await
}

async fn get_routers(
    ctx: AppCtx,
    input: Option<ProjectFilter>,
) -> Result<Encoded<Vec<Router>>, RpcError> {
    list(&ctx, &ctx.state.sources.routers, input).await
}

async fn get_floating_ips(
    ctx: AppCtx,
    input: Option<ProjectFilter>,
) -> Result<Encoded<Vec<FloatingIp>>, RpcError> {
    list(&ctx, &ctx.state.sources.floating_ips, input).await
}

async fn get_security_groups(
    ctx: AppCtx,
    input: Option<ProjectFilter>,
) -> Result<Encoded<Vec<SecurityGroup>>, RpcError> {
    list(&ctx, &ctx.state.sources.security_groups, input).await
}

/// Input of `networks.create`.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreateNetworkInput {
    /// The project that will own the network.
    pub project_id: String,
    /// Its name.
    pub name: String,
}

async fn create(ctx: AppCtx, input: CreateNetworkInput) -> Result<Network, RpcError> {
    check_id(IdKind::Project, "projectId", &input.project_id)?;
    let created = session(&ctx)?
        .acting_in(&input.project_id)?
        .create_network(&input.project_id, &input.name)
        .await
        .map_err(error::upstream)?;
    announce(
        &ctx,
        &ctx.state.sources.networks,
        Networks,
        Some(&input.project_id),
    )
    .await;
    Ok(created)
}

async fn delete(ctx: AppCtx, input: ById) -> Result<(), RpcError> {
    let owner = owner_of(
        &ctx,
        &ctx.state.sources.networks,
        IdKind::Network,
        "id",
        &input.id,
        |n| &n.id,
    )
    .await?;
    session(&ctx)?
        .acting_in(&owner.project)?
        .delete_network(&input.id)
        .await
        .map_err(error::upstream)?;
    announce(
        &ctx,
        &ctx.state.sources.networks,
        Networks,
        owner.scope.as_deref(),
    )
    .await;
    Ok(())
}
