"""Images through a real Glance: each user sees in Tidings what Glance lets them see
(private, shared, community, public, hidden), the list pages past Glance's 25, and images
are created (queued: no data uploaded), deleted and refused with Glance's own words, free of
its HTML.
"""

import pytest

from conftest import eventually
from jsonrpc_client import call, login
from stack import ADMIN_PASSWORD, password

PATCH = "application/openstack-images-v2.1-json-patch"
# name: (owner's user, their project, visibility, hidden)
IMAGES = {
    "demo-private": ("alice", "demo", "private", False),
    "demo-shared": ("alice", "demo", "shared", False),
    "demo-community": ("alice", "demo", "community", False),
    "demo-hidden": ("alice", "demo", "private", True),
    "ops-private": ("bob", "ops", "private", False),
    "admin-public": ("admin", "admin", "public", False),
    "admin-community": ("admin", "admin", "community", False),
    "admin-hidden-public": ("admin", "admin", "public", True),
}


def session_of(stack, name, project):
    if name == "admin":
        return stack.admin()
    return stack.session(name, password(name), project)


def glance_create(session, stack, name, visibility="private", **extra):
    body = {"name": name, "disk_format": "raw", "container_format": "bare",
            "visibility": visibility, **extra}
    reply = session.post(f"{stack.glance_url}/v2/images", json=body)
    return reply.json()


def glance_names(session, stack, query):
    """Every image name of a Glance listing, following its `next` links."""
    names, url = [], f"{stack.glance_url}/v2/images?{query}"
    while url:
        page = session.get(url).json()
        names += [i["name"] for i in page["images"]]
        url = f"{stack.glance_url}{page['next']}" if page.get("next") else None
    return names


def tidings_images(stack, token):
    reply = call(stack.tidings_url, "images.getAll", token=token)
    assert "result" in reply, reply
    return {i["name"]: i for i in reply["result"]}


@pytest.fixture(scope="module")
def tokens(stack):
    return {name: login(stack.tidings_url, name, ADMIN_PASSWORD if name == "admin"
                        else password(name))["token"] for name in ("admin", "alice", "bob")}


@pytest.fixture(scope="module")
def images(stack, tokens):
    ids = {}
    for name, (user, project, visibility, hidden) in IMAGES.items():
        session = session_of(stack, user, project)
        image = glance_create(session, stack, name, visibility)
        if hidden:
            session.patch(f"{stack.glance_url}/v2/images/{image['id']}",
                          json=[{"op": "replace", "path": "/os_hidden", "value": True}],
                          headers={"Content-Type": PATCH})
        ids[name] = image["id"]
    eventually(lambda: set(IMAGES) <= set(tidings_images(stack, tokens["admin"])),
               what="every image in the administrator's list")
    return ids


def test_glance_leaves_community_and_hidden_images_out_of_its_default_listing(stack, images):
    alice = session_of(stack, "alice", "demo")
    default = glance_names(alice, stack, "")
    assert "admin-community" not in default and "demo-hidden" not in default
    assert "demo-community" in default, "one's own community images are listed"
    hidden = glance_names(alice, stack, "os_hidden=true")
    assert sorted(hidden) == ["admin-hidden-public", "demo-hidden"], "hidden ones alone"


@pytest.mark.parametrize("user,project", [("alice", "demo"), ("bob", "ops")])
def test_each_user_sees_what_glance_lets_them_see(stack, images, tokens, user, project):
    glance = session_of(stack, user, project)
    theirs = set(glance_names(glance, stack, "visibility=all")) | set(
        glance_names(glance, stack, "visibility=all&os_hidden=true"))

    def same():
        seen = set(tidings_images(stack, tokens[user]))
        return seen == theirs and seen

    eventually(same, what=f"{user}'s images in Tidings equal to Glance's")
    shown = tidings_images(stack, tokens[user])
    mine = {n for n, (owner, *_) in IMAGES.items() if owner == user}
    assert mine <= set(shown)
    if user == "alice":
        assert {"admin-public", "admin-community", "admin-hidden-public"} <= set(shown)
        assert "ops-private" not in shown
    else:
        assert {"admin-public", "admin-community", "demo-community"} <= set(shown)
        assert not {"demo-private", "demo-shared", "demo-hidden"} & set(shown)
    assert shown["admin-hidden-public"]["hidden"] is True
    assert shown["admin-community"]["visibility"] == "community"


def test_the_administrator_sees_every_image(stack, images, tokens):
    assert set(IMAGES) <= set(tidings_images(stack, tokens["admin"]))
    one = call(stack.tidings_url, "images.getById", {"id": images["demo-hidden"]},
               token=tokens["admin"])["result"]
    assert one["hidden"] is True and one["owner"] == stack.project_ids["demo"]


def test_the_list_pages_past_glances_25(stack, tokens):
    admin = stack.admin()
    for n in range(30):
        glance_create(admin, stack, f"page-{n:02}")
    page = admin.get(f"{stack.glance_url}/v2/images").json()
    assert len(page["images"]) == 25 and page.get("next"), "Glance pages by 25"
    eventually(lambda: {f"page-{n:02}" for n in range(30)} <= set(tidings_images(stack, tokens["admin"])),
               what="all 30 paged images in Tidings")


def test_create_is_a_queued_image_until_data_arrive_and_delete_removes_it(stack, tokens):
    demo = stack.project_ids["demo"]
    created = call(stack.tidings_url, "images.create",
                   {"projectId": demo, "name": "from-tidings", "diskFormat": "qcow2",
                    "containerFormat": "bare"}, token=tokens["alice"])
    image = created["result"]
    assert image["status"] == "queued" and image["sizeBytes"] is None, image
    assert image["owner"] == demo
    # Glance's default visibility for a new image is `shared` (the simulator's is private).
    assert image["visibility"] == "shared"
    glance = session_of(stack, "alice", "demo")
    stored = glance.get(f"{stack.glance_url}/v2/images/{image['id']}").json()
    assert stored["status"] == "queued" and stored["size"] is None
    shown = call(stack.tidings_url, "images.getById", {"id": image["id"]}, token=tokens["alice"])
    assert shown["result"]["status"] == "queued"
    hidden_from_bob = call(stack.tidings_url, "images.getById", {"id": image["id"]},
                           token=tokens["bob"])
    assert hidden_from_bob["error"]["data"]["code"] == "NOT_FOUND"

    deleted = call(stack.tidings_url, "images.delete", {"id": image["id"]}, token=tokens["alice"])
    assert deleted.get("result", "error") is None, deleted
    gone = glance.get(f"{stack.glance_url}/v2/images/{image['id']}", raise_exc=False)
    assert gone.status_code == 404
    eventually(lambda: "from-tidings" not in tidings_images(stack, tokens["alice"]),
               what="the deleted image leaving the list")


def test_glances_refusals_reach_clients_as_its_sentences(stack, tokens):
    demo = stack.project_ids["demo"]
    bad = call(stack.tidings_url, "images.create",
               {"projectId": demo, "name": "bad", "diskFormat": "floppy",
                "containerFormat": "bare"}, token=tokens["alice"])
    error = bad["error"]
    assert error["data"]["code"] == "BAD_REQUEST", bad
    assert error["message"].startswith(
        "Provided object does not match schema 'image': 'floppy' is not one of"), error
    glance = session_of(stack, "alice", "demo")
    protected = glance_create(glance, stack, "protected-one", protected=True)
    eventually(lambda: "protected-one" in tidings_images(stack, tokens["alice"]),
               what="the protected image in the list")
    refused = call(stack.tidings_url, "images.delete", {"id": protected["id"]},
                   token=tokens["alice"])["error"]
    assert refused["data"]["code"] == "FORBIDDEN", refused
    assert refused["message"] == f"Image {protected['id']} is protected and cannot be deleted."
    for message in (error["message"], refused["message"]):
        assert "<" not in message and "&#" not in message, message
