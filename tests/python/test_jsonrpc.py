"""JSON-RPC 2.0 at /rpc from another ecosystem: `requests` for HTTP calls, `websockets` for
the subscription, against the real `tidings` binary (TIDINGS_BIN, default target/debug/tidings).
"""

import json
import os
import pathlib
import re
import subprocess
import time

import pytest
import requests
from websockets.sync.client import connect

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = os.environ.get("TIDINGS_BIN", str(ROOT / "target" / "debug" / "tidings"))


@pytest.fixture(scope="module")
def server():
    """A `tidings serve` on a free port over a quiet simulator; killed by pid at the end."""
    proc = subprocess.Popen(
        [BIN, "serve", "--listen", "127.0.0.1:0", "--sim-activity", "0",
         "--admin-token", "test-token"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        base = None
        deadline = time.monotonic() + 30
        while base is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            found = re.search(r"listening on (http://\S+)", line)
            if found:
                base = found.group(1)
        assert base, "tidings never printed its address"
        while time.monotonic() < deadline:
            if requests.get(f"{base}/readyz", timeout=2).status_code == 200:
                break
            time.sleep(0.05)
        yield base
    finally:
        proc.kill()
        proc.wait(timeout=10)


def call(base, method, params=None, id_=1):
    body = {"jsonrpc": "2.0", "id": id_, "method": method}
    if params is not None:
        body["params"] = params
    return requests.post(f"{base}/rpc", json=body, timeout=10).json()


def demo_project(base):
    projects = call(base, "projects.getAll")["result"]
    return next(p["id"] for p in projects if p["name"] == "demo")


def test_query(server):
    reply = call(server, "projects.getAll")
    assert reply["jsonrpc"] == "2.0" and reply["id"] == 1
    assert any(p["name"] == "demo" for p in reply["result"])


def test_mutation_by_name_and_by_position(server):
    demo = demo_project(server)
    by_name = call(server, "volumes.create", {"projectId": demo, "name": "py", "sizeGb": 1})
    assert by_name["result"]["name"] == "py"
    by_position = call(server, "volumes.create", [{"projectId": demo, "name": "py2", "sizeGb": 1}])
    assert by_position["result"]["name"] == "py2"


def test_errors(server):
    invalid = call(server, "volumes.create", {"projectId": "x", "name": "d", "sizeGb": "big"})
    assert invalid["error"]["code"] == -32602
    assert "sizeGb" in invalid["error"]["message"]
    assert call(server, "no.such.method")["error"]["code"] == -32601
    missing = call(server, "projects.getById", {"id": "nope"})
    assert missing["error"]["code"] == -32004
    assert missing["error"]["data"] == {
        "code": "NOT_FOUND", "httpStatus": 404, "path": "projects.getById",
    }


def test_batch(server):
    batch = [
        {"jsonrpc": "2.0", "id": "a", "method": "projects.getAll"},
        {"jsonrpc": "2.0", "id": "b", "method": "no.such.method"},
    ]
    replies = requests.post(f"{server}/rpc", json=batch, timeout=10).json()
    by_id = {r["id"]: r for r in replies}
    assert "result" in by_id["a"] and by_id["b"]["error"]["code"] == -32601


def test_subscription_receives_the_notice_a_mutation_caused(server):
    demo = demo_project(server)
    url = server.replace("http://", "ws://") + "/rpc"
    with connect(url) as ws:
        ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "updates.subscribe",
                            "params": {"types": ["volumes"]}}))
        subscription = json.loads(ws.recv(timeout=5))["result"]
        call(server, "volumes.create", {"projectId": demo, "name": "ws", "sizeGb": 1})
        while True:
            message = json.loads(ws.recv(timeout=5))
            if message.get("method") == "updates.notice":
                break
        params = message["params"]
        assert params["subscription"] == subscription
        assert params["result"]["data"] == {"type": "volumes", "scope": demo}
        assert params["result"]["id"]
        ws.send(json.dumps({"jsonrpc": "2.0", "id": 2, "method": "updates.unsubscribe",
                            "params": [subscription]}))
        while True:
            reply = json.loads(ws.recv(timeout=5))
            if reply.get("id") == 2:
                assert reply["result"] is True
                break
