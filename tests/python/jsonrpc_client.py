"""A small JSON-RPC 2.0 client for the suites: calls over HTTP with `requests`, the
subscription over a WebSocket with `websockets`, the session as `Authorization: Bearer`.
"""

import json

import requests
from websockets.sync.client import connect

# The bearer token the server is started with; it authorizes `admin.*` (admin.notify)
# without a session.
ADMIN_TOKEN = "test-token"


def bearer(token):
    return {"Authorization": f"Bearer {token}"} if token else {}


def call(base, method, params=None, id_=1, token=None):
    """One call to /rpc; `token` is a session token (or the admin token for admin.*)."""
    body = {"jsonrpc": "2.0", "id": id_, "method": method}
    if params is not None:
        body["params"] = params
    return requests.post(f"{base}/rpc", json=body, headers=bearer(token), timeout=10).json()


def login(base, username, password=None):
    """`auth.login` over JSON-RPC: returns its result, `{"token", "me"}`."""
    reply = call(base, "auth.login", {"username": username, "password": password or username})
    assert "result" in reply, f"auth.login as {username}: {reply}"
    assert isinstance(reply["result"]["token"], str) and reply["result"]["token"]
    return reply["result"]


def project_id(base, token, name):
    projects = call(base, "projects.getAll", token=token)["result"]
    return next(p["id"] for p in projects if p["name"] == name)


def connect_ws(base, token=None, **kwargs):
    """A WebSocket to /rpc presenting the session on the upgrade request."""
    url = base.replace("http://", "ws://") + "/rpc"
    return connect(url, additional_headers=bearer(token), **kwargs)


def subscribe(ws, params=None, id_=1):
    """Sends updates.subscribe and returns the subscription id from its reply."""
    body = {"jsonrpc": "2.0", "id": id_, "method": "updates.subscribe"}
    if params is not None:
        body["params"] = params
    ws.send(json.dumps(body))
    reply = json.loads(ws.recv(timeout=5))
    assert reply.get("id") == id_ and "result" in reply, reply
    return reply["result"]


def next_notice(ws, timeout=5):
    """The next `updates.notice` on the socket (replies to other calls are skipped)."""
    while True:
        message = json.loads(ws.recv(timeout=timeout))
        if message.get("method") == "updates.notice":
            return message
