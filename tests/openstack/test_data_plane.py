"""The simulator as the data plane behind the real Keystone (`tidings sim --keystone`): Nova,
Cinder and Neutron hold Keystone's projects, accept its tokens and obey its roles, for
Tidings and for the stock `openstack` command alike; its own Keystone is not served.
"""

import requests

from jsonrpc_client import call, login
from stack import password


def test_tidings_sees_each_projects_simulated_resources(stack):
    demo = stack.project_ids["demo"]
    alice = login(stack.tidings_url, "alice", password("alice"))["token"]
    servers = call(stack.tidings_url, "compute.instances.getAll", token=alice)["result"]
    assert sorted(s["name"] for s in servers) == ["demo-db-1", "demo-web-1", "demo-web-2"]
    assert all(s["projectId"] == demo for s in servers)
    volumes = call(stack.tidings_url, "volumes.getAll", token=alice)["result"]
    assert {v["name"] for v in volumes} >= {"demo-data", "demo-scratch"}
    networks = call(stack.tidings_url, "networks.getAll", token=alice)["result"]
    assert "demo-net" in {n["name"] for n in networks}


def test_the_openstack_command_lists_the_same_servers_through_keystones_catalog(stack):
    alice = login(stack.tidings_url, "alice", password("alice"))["token"]
    tidings = {s["id"] for s in call(stack.tidings_url, "compute.instances.getAll",
                                     token=alice)["result"]}
    listed = stack.openstack("server", "list", "-f", "json",
                             username="alice", pw=password("alice"), project="demo")
    assert {s["ID"] for s in listed} == tidings


def test_a_mutation_runs_with_the_users_keystone_token(stack):
    demo = stack.project_ids["demo"]
    alice = login(stack.tidings_url, "alice", password("alice"))["token"]
    created = call(stack.tidings_url, "networks.create",
                   {"projectId": demo, "name": "made-by-alice"}, token=alice)
    assert created["result"]["projectId"] == demo, created
    sdk = stack.session("alice", password("alice"), "demo")
    nets = sdk.get(f"{stack.sim_url}/network/v2.0/networks").json()["networks"]
    assert "made-by-alice" in {n["name"] for n in nets}


def test_the_simulator_refuses_what_keystone_does_not_vouch_for(stack):
    refused = requests.get(f"{stack.sim_url}/compute/v2.1/servers",
                           headers={"X-Auth-Token": "gAAAAAnot-a-keystone-token"}, timeout=10)
    assert refused.status_code == 401
    own = requests.post(f"{stack.sim_url}/identity/v3/auth/tokens", json={}, timeout=10)
    assert own.status_code == 404, "the simulator's own Keystone is not served"
