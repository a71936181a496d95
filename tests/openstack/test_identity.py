"""Logging in to Tidings against a real Keystone: roles as Keystone expands them (implied
roles the simulator never gives), a user without roles, a disabled user, an expired
password (security_compliance.change_password_upon_first_use), and logging out revoking the
session's Keystone tokens.
"""

import sqlite3
import time

from conftest import eventually
from jsonrpc_client import call, login
from stack import ADMIN_PASSWORD, RUN, password


def me_of(stack, name):
    return login(stack.tidings_url, name, ADMIN_PASSWORD if name == "admin" else password(name))["me"]


def roles(me):
    return {p["name"]: set(p["roles"]) for p in me["projects"]}


def keystone_login(stack, name, pw):
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": name, "domain": {"id": "default"}, "password": pw}}}}}
    return stack.admin().post(f"{stack.keystone_url}/auth/tokens", json=body,
                              authenticated=False, raise_exc=False)


def test_roles_are_keystones_implied_roles_included(stack):
    admin = me_of(stack, "admin")
    assert admin["admin"] is True
    assert roles(admin) == {"admin": {"admin", "manager", "member", "reader"}}
    alice = me_of(stack, "alice")
    assert alice["admin"] is False
    assert roles(alice) == {"demo": {"member", "reader"}}
    assert roles(me_of(stack, "dave")) == {"ops": {"manager", "member", "reader"}}
    assert roles(me_of(stack, "carol")) == {"demo": {"reader"}}
    assert alice["userId"] == stack.user_ids["alice"]


def test_a_manager_may_change_what_a_reader_may_only_read(stack):
    dave = login(stack.tidings_url, "dave", password("dave"))["token"]
    created = call(stack.tidings_url, "volumes.create",
                   {"projectId": stack.project_ids["ops"], "name": "by-a-manager", "sizeGb": 1},
                   token=dave)
    assert created["result"]["name"] == "by-a-manager", created
    carol = login(stack.tidings_url, "carol", password("carol"))["token"]
    refused = call(stack.tidings_url, "volumes.create",
                   {"projectId": stack.project_ids["demo"], "name": "by-a-reader", "sizeGb": 1},
                   token=carol)
    assert refused["error"]["data"]["code"] == "FORBIDDEN", refused
    volumes = call(stack.tidings_url, "volumes.getAll", token=carol)["result"]
    assert volumes and all(v["projectId"] == stack.project_ids["demo"] for v in volumes)


def test_a_user_without_roles_logs_in_to_nothing_of_anyones(stack):
    loner = login(stack.tidings_url, "loner", password("loner"))
    assert loner["me"]["projects"] == [] and loner["me"]["admin"] is False
    token = loner["token"]
    assert call(stack.tidings_url, "projects.getAll", token=token)["result"] == []
    assert call(stack.tidings_url, "compute.instances.getAll", token=token)["result"] == []
    images = call(stack.tidings_url, "images.getAll", token=token)["result"]
    assert all(i["visibility"] in ("public", "community") for i in images), images


def test_disabled_users_and_expired_passwords_are_refused(stack):
    for name in ("frozen", "expired"):
        refused = call(stack.tidings_url, "auth.login",
                       {"username": name, "password": password(name)})
        assert refused["error"]["data"]["code"] == "UNAUTHORIZED", (name, refused)
    # It is Keystone that says why.
    frozen = keystone_login(stack, "frozen", password("frozen"))
    assert frozen.status_code == 401
    expired = keystone_login(stack, "expired", password("expired"))
    assert expired.status_code == 401
    assert "password is expired" in expired.json()["error"]["message"]
    # Changed (Keystone's self-service change, no token needed), it is accepted.
    changed = stack.admin().post(
        f"{stack.keystone_url}/users/{stack.user_ids['expired']}/password",
        json={"user": {"original_password": password("expired"), "password": "renewed-pw"}},
        authenticated=False, raise_exc=False)
    assert changed.status_code == 204, changed.text
    # The change revokes the user's tokens by a revocation event stamped to the second, which
    # also refuses tokens issued later in that second: a login must wait for the next.
    time.sleep(1.1)
    me = login(stack.tidings_url, "expired", "renewed-pw")["me"]
    assert roles(me) == {"demo": {"member", "reader"}}
    wrong = call(stack.tidings_url, "auth.login", {"username": "alice", "password": "nope"})
    assert wrong["error"]["data"]["code"] == "UNAUTHORIZED"


def revoked_audit_ids():
    """Audit ids Keystone has recorded revocations of (its revocation_event table)."""
    with sqlite3.connect(RUN / "keystone.db") as db:
        rows = db.execute("SELECT audit_id FROM revocation_event WHERE audit_id IS NOT NULL")
        return {audit_id for (audit_id,) in rows}


def test_logging_out_revokes_the_sessions_keystone_tokens(stack):
    before = revoked_audit_ids()
    bob = login(stack.tidings_url, "bob", password("bob"))["token"]
    assert call(stack.tidings_url, "volumes.getAll", token=bob)["result"] is not None
    assert call(stack.tidings_url, "auth.logout", token=bob)["result"] is None
    # One unscoped token to list bob's projects, one scoped to `ops`.
    new = eventually(lambda: len(revoked_audit_ids() - before) >= 2 and revoked_audit_ids() - before,
                     what="the revocation of bob's tokens")
    assert len(new) >= 2, new
    after = call(stack.tidings_url, "volumes.getAll", token=bob)
    assert after["error"]["data"]["code"] == "UNAUTHORIZED"
