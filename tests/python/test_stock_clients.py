"""Stock OpenStack clients against `tidings sim`: `openstacksdk` (its Python API, configured by a
clouds.yaml) and `python-openstackclient` (the `openstack` command of the venv, configured by
OS_* variables), both with their default settings: password auth at the simulator's identity
URL, version discovery and microversion negotiation as they do them against a real cloud.

A real `tidings serve` polls the same simulator, and a subscriber logged in as alice (a member
of `demo`, the project the clients work in) must hear of every change they make: each step
below waits for its notice on the subscriber's JSON-RPC WebSocket.
"""

import json
import os
import pathlib
import subprocess
import sys
import time

import openstack
import pytest

from jsonrpc_client import connect_ws, login, project_id, subscribe

OPENSTACK = str(pathlib.Path(sys.executable).with_name("openstack"))
NOTICE_SECONDS = 15
# Longer than two polls of the server (`--poll-interval 300ms` in conftest.py).
QUIET_SECONDS = 0.7


def credentials(auth_url, user, project):
    return {"auth_url": auth_url, "username": user, "password": user, "project_name": project,
            "user_domain_name": "Default", "project_domain_name": "Default"}


@pytest.fixture(scope="module")
def clouds_yaml(cloud, tmp_path_factory):
    """A clouds.yaml naming `alice` (member of demo) and `admin`, nothing but credentials."""
    path = tmp_path_factory.mktemp("clouds") / "clouds.yaml"
    clouds = {name: {"auth": credentials(cloud["auth_url"], user, project)}
              for name, user, project in [("alice", "alice", "demo"), ("admin", "admin", "admin")]}
    path.write_text(json.dumps({"clouds": clouds}))
    return path


@pytest.fixture(scope="module")
def sdk(clouds_yaml):
    """An openstacksdk Connection for alice from the clouds.yaml."""
    config = openstack.config.OpenStackConfig(config_files=[str(clouds_yaml)])
    conn = openstack.connection.Connection(config=config.get_one("alice"))
    yield conn
    conn.close()


def cli(cloud, *args, user="alice", project="demo", check=True):
    """Runs `openstack ARGS -f json` from the venv as `user` on `project`; returns its JSON."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env.update({f"OS_{k.upper()}": v for k, v in credentials(cloud["auth_url"], user, project).items()})
    done = subprocess.run([OPENSTACK, *args], env=env, capture_output=True, text=True, timeout=60)
    if not check:
        return done
    assert done.returncode == 0, f"openstack {' '.join(args)}: {done.stderr}"
    return json.loads(done.stdout) if done.stdout.strip() else None


class Subscriber:
    """alice's `updates.subscribe` over JSON-RPC on a WebSocket to the real Tidings server."""

    def __init__(self, ws):
        self.ws = ws

    def drain(self):
        """Forgets what arrived so far (notices of earlier steps and their transitions), until
        the stream has been quiet for longer than two of the server's polls, so that a late
        notice of the step before cannot pass for the next one's."""
        try:
            while True:
                self.ws.recv(timeout=QUIET_SECONDS)
        except TimeoutError:
            pass

    def expect(self, type_, scope, why):
        """Waits for a notice of `type_` in `scope` (None: a global notice)."""
        deadline = time.monotonic() + NOTICE_SECONDS
        seen = []
        while (left := deadline - time.monotonic()) > 0:
            try:
                message = json.loads(self.ws.recv(timeout=left))
            except TimeoutError:
                break
            data = message.get("params", {}).get("result", {}).get("data")
            if message.get("method") == "updates.notice" and data:
                seen.append(data)
                if data.get("type") == type_ and data.get("scope") == scope:
                    return
        raise AssertionError(f"no {type_!r} notice in {scope} after {why}; saw {seen}")


@pytest.fixture(scope="module")
def demo(cloud):
    admin = login(cloud["tidings"], "admin")["token"]
    return project_id(cloud["tidings"], admin, "demo")


@pytest.fixture(scope="module")
def subscriber(cloud):
    alice = login(cloud["tidings"], "alice")["token"]
    with connect_ws(cloud["tidings"], alice) as ws:
        subscribe(ws)
        yield Subscriber(ws)


def test_discovery_finds_every_service_and_negotiates_microversions(sdk, cloud):
    sdk.authorize()
    assert sdk.current_project_id
    compute = sdk.compute.get_endpoint_data()
    assert compute.min_microversion == (2, 1) and compute.max_microversion == (2, 104)
    volume = sdk.block_storage.get_endpoint_data()
    assert volume.max_microversion == (3, 71)
    assert sdk.image.get_endpoint_data().api_version[0] == 2
    assert sdk.network.get_endpoint_data().api_version == (2, 0)
    token = cli(cloud, "token", "issue", "-f", "json")
    assert token["project_id"] == sdk.current_project_id and token["id"]
    services = {entry["Type"] for entry in cli(cloud, "catalog", "list", "-f", "json")}
    assert {"identity", "compute", "volumev3", "image", "network"} <= services


def test_wrong_password_is_refused(cloud):
    conn = openstack.connection.Connection(
        auth={**credentials(cloud["auth_url"], "alice", "demo"), "password": "nope"})
    with pytest.raises(openstack.exceptions.SDKException, match="HTTP 401"):
        conn.authorize()


def test_server_lifecycle_with_the_sdk(sdk, subscriber, demo):
    flavor = next(f for f in sdk.compute.flavors() if f.name == "m1.tiny")
    image = next(i for i in sdk.image.images() if i.status == "active")
    network = next(n for n in sdk.network.networks() if n.project_id == demo)
    subscriber.drain()
    server = sdk.compute.create_server(name="sdk-vm", flavor_id=flavor.id, image_id=image.id,
                                       networks=[{"uuid": network.id}])
    subscriber.expect("compute", demo, "server create")
    server = sdk.compute.wait_for_server(server, status="ACTIVE", interval=0.2, wait=30)
    assert server.flavor.original_name == "m1.tiny"  # the 2.47+ embedded flavor
    assert server.addresses and server.is_locked is False
    subscriber.drain()
    sdk.compute.stop_server(server)
    subscriber.expect("compute", demo, "server stop")
    sdk.compute.wait_for_server(server, status="SHUTOFF", interval=0.2, wait=30)
    subscriber.drain()
    sdk.compute.start_server(server)
    subscriber.expect("compute", demo, "server start")
    sdk.compute.wait_for_server(server, status="ACTIVE", interval=0.2, wait=30)
    subscriber.drain()
    sdk.compute.delete_server(server)
    subscriber.expect("compute", demo, "server delete")
    sdk.compute.wait_for_delete(server, interval=0.2, wait=30)


def test_volume_create_attach_delete_with_the_sdk(sdk, subscriber, demo):
    flavor = next(f for f in sdk.compute.flavors() if f.name == "m1.tiny")
    image = next(i for i in sdk.image.images() if i.status == "active")
    network = next(n for n in sdk.network.networks() if n.project_id == demo)
    server = sdk.compute.create_server(name="sdk-vol-host", flavor_id=flavor.id,
                                       image_id=image.id, networks=[{"uuid": network.id}])
    server = sdk.compute.wait_for_server(server, status="ACTIVE", interval=0.2, wait=30)
    subscriber.drain()
    volume = sdk.block_storage.create_volume(name="sdk-vol", size=1)
    subscriber.expect("volumes", demo, "volume create")
    volume = sdk.block_storage.wait_for_status(volume, "available", interval=0.2, wait=30)
    subscriber.drain()
    attachment = sdk.compute.create_volume_attachment(server, volume_id=volume.id)
    assert attachment.volume_id == volume.id
    subscriber.expect("volumes", demo, "volume attach")
    sdk.block_storage.wait_for_status(volume, "in-use", interval=0.2, wait=30)
    attachments = list(sdk.compute.volume_attachments(server))
    assert [a.volume_id for a in attachments] == [volume.id]
    assert attachments[0].attachment_id  # 2.89: attachment_id instead of id
    subscriber.drain()
    sdk.compute.delete_volume_attachment(server, volume)
    subscriber.expect("volumes", demo, "volume detach")
    sdk.block_storage.wait_for_status(volume, "available", interval=0.2, wait=30)
    subscriber.drain()
    sdk.block_storage.delete_volume(volume)
    subscriber.expect("volumes", demo, "volume delete")
    sdk.block_storage.wait_for_delete(volume, interval=0.2, wait=30)
    sdk.compute.delete_server(server)
    sdk.compute.wait_for_delete(server, interval=0.2, wait=30)


def test_image_create_and_delete_with_the_cli(cloud, subscriber, demo, tmp_path):
    data = tmp_path / "disk.raw"
    data.write_bytes(b"\0" * 4096)
    subscriber.drain()
    image = cli(cloud, "image", "create", "--file", str(data), "--disk-format", "raw",
                "--container-format", "bare", "cli-image", "-f", "json")
    subscriber.expect("images", demo, "image create")
    assert image["name"] == "cli-image" and image["owner"] == demo
    listed = {i["Name"]: i for i in cli(cloud, "image", "list", "-f", "json")}
    assert "cli-image" in listed
    subscriber.drain()
    cli(cloud, "image", "delete", image["id"])
    subscriber.expect("images", demo, "image delete")


def test_network_subnet_port_lifecycle_with_the_cli(cloud, subscriber, demo):
    subscriber.drain()
    network = cli(cloud, "network", "create", "cli-net", "-f", "json")
    subscriber.expect("networks", demo, "network create")
    subscriber.drain()
    subnet = cli(cloud, "subnet", "create", "--network", network["id"], "--subnet-range",
                 "10.77.0.0/24", "cli-subnet", "-f", "json")
    assert subnet["cidr"] == "10.77.0.0/24" and subnet["gateway_ip"] == "10.77.0.1"
    subscriber.expect("networks", demo, "subnet create")
    subscriber.drain()
    port = cli(cloud, "port", "create", "--network", network["id"], "cli-port", "-f", "json")
    assert port["fixed_ips"][0]["subnet_id"] == subnet["id"]
    subscriber.expect("networks", demo, "port create")
    subscriber.drain()
    cli(cloud, "port", "delete", port["id"])
    subscriber.expect("networks", demo, "port delete")
    subscriber.drain()
    cli(cloud, "subnet", "delete", subnet["id"])
    subscriber.expect("networks", demo, "subnet delete")
    subscriber.drain()
    cli(cloud, "network", "delete", network["id"])
    subscriber.expect("networks", demo, "network delete")


def test_quotas_limits_and_zones_with_the_cli(cloud, sdk, demo):
    quota = cli(cloud, "quota", "show", "-f", "json")
    by_resource = {row["Resource"]: row["Limit"] for row in quota}
    assert by_resource["instances"] == 50 and by_resource["volumes"] == 50
    assert by_resource["networks"] == 10 and by_resource["ports"] == 50
    limits = {row["Name"]: row["Value"] for row in cli(cloud, "limits", "show", "--absolute",
                                                       "-f", "json")}
    assert limits["max_total_instances"] == 50 and limits["max_total_volumes"] == 50
    servers = list(sdk.compute.servers())
    assert limits["total_instances_used"] == len(servers)
    zones = cli(cloud, "availability", "zone", "list", "-f", "json")
    assert {"nova"} == {z["Zone Name"] for z in zones}
    usage = sdk.compute.get_quota_set(demo, usage=True)
    assert usage.usage["instances"] == len(servers)


def test_admin_reads_hypervisors_users_and_roles_and_others_may_not(cloud):
    hypervisors = cli(cloud, "hypervisor", "list", "-f", "json", user="admin", project="admin")
    assert [h["Hypervisor Hostname"] for h in hypervisors] == ["compute-1.sim.local"]
    users = {u["Name"] for u in cli(cloud, "user", "list", "-f", "json", user="admin",
                                    project="admin")}
    assert {"admin", "alice", "bob", "carol"} <= users
    roles = {r["Name"] for r in cli(cloud, "role", "list", "-f", "json", user="admin",
                                    project="admin")}
    assert {"admin", "member", "reader"} <= roles
    refused = cli(cloud, "hypervisor", "list", check=False)
    assert refused.returncode != 0 and "403" in refused.stderr
