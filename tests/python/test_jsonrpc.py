"""JSON-RPC 2.0 at /rpc from another ecosystem: `requests` for HTTP calls, `websockets` for
the subscription, against the real `tidings` binary (the `server` fixture in conftest.py).
Every call but auth.login presents the session of `admin` (who sees every project) as
`Authorization: Bearer <token>`, on HTTP and on the WebSocket's upgrade request.
"""

import json

import pytest
import requests

from jsonrpc_client import bearer, call, connect_ws, login, next_notice, project_id, subscribe


@pytest.fixture(scope="module")
def token(server):
    """The admin's session, logged in over JSON-RPC."""
    return login(server, "admin")["token"]


def test_login_answers_a_token_and_who_logged_in(server):
    reply = call(server, "auth.login", {"username": "alice", "password": "alice"})
    assert reply["jsonrpc"] == "2.0" and reply["id"] == 1
    result = reply["result"]
    assert len(result["token"]) == 64
    me = result["me"]
    assert me["userName"] == "alice" and me["admin"] is False
    assert [p["name"] for p in me["projects"]] == ["demo"]
    assert "member" in me["projects"][0]["roles"]
    again = call(server, "auth.me", token=result["token"])["result"]
    assert 0 < again.pop("expiresInSeconds") <= me.pop("expiresInSeconds")
    assert again == me
    wrong = call(server, "auth.login", {"username": "alice", "password": "nope"})
    assert wrong["error"]["code"] == -32001
    assert wrong["error"]["data"]["code"] == "UNAUTHORIZED"


def test_without_a_session_calls_are_unauthorized(server):
    for token in (None, "f" * 64):
        reply = call(server, "projects.getAll", token=token)
        assert reply["error"]["code"] == -32001
        assert reply["error"]["data"] == {
            "code": "UNAUTHORIZED", "httpStatus": 401, "path": "projects.getAll",
        }
        with connect_ws(server, token) as ws:
            ws.send(json.dumps({"jsonrpc": "2.0", "id": 7, "method": "updates.subscribe"}))
            reply = json.loads(ws.recv(timeout=5))
            assert reply["id"] == 7 and reply["error"]["code"] == -32001
            assert reply["error"]["data"]["code"] == "UNAUTHORIZED"


def test_query(server, token):
    reply = call(server, "projects.getAll", token=token)
    assert reply["jsonrpc"] == "2.0" and reply["id"] == 1
    assert any(p["name"] == "demo" for p in reply["result"])


def test_mutation_by_name_and_by_position(server, token):
    demo = project_id(server, token, "demo")
    by_name = call(server, "volumes.create", {"projectId": demo, "name": "py", "sizeGb": 1}, token=token)
    assert by_name["result"]["name"] == "py"
    by_position = call(server, "volumes.create", [{"projectId": demo, "name": "py2", "sizeGb": 1}], token=token)
    assert by_position["result"]["name"] == "py2"


def test_errors(server, token):
    invalid = call(server, "volumes.create", {"projectId": "x", "name": "d", "sizeGb": "big"}, token=token)
    assert invalid["error"]["code"] == -32602
    assert "sizeGb" in invalid["error"]["message"]
    assert call(server, "no.such.method", token=token)["error"]["code"] == -32601
    missing = call(server, "projects.getById", {"id": "nope"}, token=token)
    assert missing["error"]["code"] == -32004
    assert missing["error"]["data"] == {
        "code": "NOT_FOUND", "httpStatus": 404, "path": "projects.getById",
    }


def test_batch(server, token):
    batch = [
        {"jsonrpc": "2.0", "id": "a", "method": "projects.getAll"},
        {"jsonrpc": "2.0", "id": "b", "method": "no.such.method"},
    ]
    replies = requests.post(f"{server}/rpc", json=batch, headers=bearer(token), timeout=10).json()
    by_id = {r["id"]: r for r in replies}
    assert "result" in by_id["a"] and by_id["b"]["error"]["code"] == -32601


def test_subscription_receives_the_notice_a_mutation_caused(server, token):
    demo = project_id(server, token, "demo")
    with connect_ws(server, token) as ws:
        subscription = subscribe(ws, {"types": ["volumes"]})
        call(server, "volumes.create", {"projectId": demo, "name": "ws", "sizeGb": 1}, token=token)
        message = next_notice(ws)
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
