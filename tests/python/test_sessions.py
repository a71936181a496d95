"""Sessions over JSON-RPC: each user's WebSocket subscription carries only the notices of the
projects that user has a role on, plus global ones; logging out ends it. Notices are caused
with admin.notify (the admin bearer token), on a server of this module's own that nothing
else touches.
"""

import json

import pytest
from websockets.exceptions import ConnectionClosed

from jsonrpc_client import ADMIN_TOKEN, call, connect_ws, login, next_notice, project_id, subscribe

QUIET_SECONDS = 0.5


def notify(base, type_, scope=None):
    params = {"type": type_} if scope is None else {"type": type_, "scope": scope}
    reply = call(base, "admin.notify", params, token=ADMIN_TOKEN)
    assert "result" in reply, reply


def notices_until_quiet(ws, last_type):
    """Every notice up to the first of `last_type`, then any that follow within QUIET_SECONDS."""
    notices = [next_notice(ws)]
    while notices[-1]["params"]["result"]["data"]["type"] != last_type:
        notices.append(next_notice(ws))
    try:
        while True:
            notices.append(next_notice(ws, timeout=QUIET_SECONDS))
    except TimeoutError:
        pass
    return notices


def compare_ids(a, b):
    if a.isdigit() and b.isdigit():
        return (int(a) > int(b)) - (int(a) < int(b))
    return (a > b) - (a < b)


@pytest.fixture(scope="module")
def projects(server):
    admin = login(server, "admin")["token"]
    return {name: project_id(server, admin, name) for name in ("demo", "ops")}


def test_each_users_subscription_gets_only_its_projects_and_global_notices(server, projects):
    demo, ops = projects["demo"], projects["ops"]
    alice, bob = login(server, "alice")["token"], login(server, "bob")["token"]
    with connect_ws(server, alice) as alice_ws, connect_ws(server, bob) as bob_ws:
        alice_sub, bob_sub = subscribe(alice_ws), subscribe(bob_ws)

        # The same type in both projects, so only the scope tells them apart.
        notify(server, "networks", demo)
        notify(server, "networks", ops)
        notify(server, "images")

        for who, ws, subscription, expected in [
            ("alice", alice_ws, alice_sub, [{"type": "networks", "scope": demo}, {"type": "images"}]),
            ("bob", bob_ws, bob_sub, [{"type": "networks", "scope": ops}, {"type": "images"}]),
        ]:
            notices = notices_until_quiet(ws, "images")
            assert [n["params"]["result"]["data"] for n in notices] == expected, (who, notices)
            assert all(n["params"]["subscription"] == subscription for n in notices), notices
            ids = [n["params"]["result"]["id"] for n in notices]
            assert all(isinstance(i, str) and i for i in ids), ids
            assert all(compare_ids(a, b) < 0 for a, b in zip(ids, ids[1:])), f"{who}: ids {ids}"


def test_logout_ends_the_subscription_with_unauthorized(server):
    alice = login(server, "alice")["token"]
    with connect_ws(server, alice) as ws:
        subscription = subscribe(ws)
        assert call(server, "auth.logout", token=alice)["result"] is None
        ended = next_notice(ws)
        assert ended["params"]["subscription"] == subscription
        assert ended["params"]["error"]["code"] == -32001
        assert ended["params"]["error"]["data"]["code"] == "UNAUTHORIZED"
        ws.send(json.dumps({"jsonrpc": "2.0", "id": 9, "method": "projects.getAll"}))
        try:
            reply = json.loads(ws.recv(timeout=5))
        except ConnectionClosed:
            reply = None
        if reply is not None:
            assert reply["id"] == 9 and reply["error"]["data"]["code"] == "UNAUTHORIZED", reply
    assert call(server, "projects.getAll", token=alice)["error"]["code"] == -32001


def test_a_reader_may_not_change_and_no_one_sees_other_projects(server, projects):
    carol = login(server, "carol")["token"]
    forbidden = call(server, "volumes.create",
                     {"projectId": projects["demo"], "name": "py-reader", "sizeGb": 1}, token=carol)
    assert forbidden["error"]["code"] == -32003
    assert forbidden["error"]["data"]["code"] == "FORBIDDEN"
    bob = login(server, "bob")["token"]
    assert [p["id"] for p in call(server, "projects.getAll", token=bob)["result"]] == [projects["ops"]]
    other = call(server, "volumes.getAll", {"projectId": projects["demo"]}, token=bob)
    assert other["error"]["data"]["code"] == "FORBIDDEN"
