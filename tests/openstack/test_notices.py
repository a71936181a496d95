"""Notices of changes made by another client: an image created with the real `openstack`
command reaches a Tidings subscriber within one poll interval (the worker's, 2 s), and only
the subscribers who may see it.
"""

import json
import time

from jsonrpc_client import connect_ws, login, subscribe
from stack import password

POLL_INTERVAL = 2.0
# One poll of the images takes Glance a moment of its own (two listings), and the command
# returns a moment after Glance stored the image.
SLACK = 1.5


def notices_for(ws, seconds):
    """Every updates.notice on the socket within `seconds`."""
    deadline, seen = time.monotonic() + seconds, []
    while (left := deadline - time.monotonic()) > 0:
        try:
            message = json.loads(ws.recv(timeout=left))
        except TimeoutError:
            break
        if message.get("method") == "updates.notice":
            seen.append(message["params"]["result"]["data"])
    return seen


def test_an_image_made_with_the_openstack_command_is_heard_within_a_poll(stack):
    demo = stack.project_ids["demo"]
    alice = login(stack.tidings_url, "alice", password("alice"))["token"]
    bob = login(stack.tidings_url, "bob", password("bob"))["token"]
    with connect_ws(stack.tidings_url, alice) as alice_ws, \
            connect_ws(stack.tidings_url, bob) as bob_ws:
        subscribe(alice_ws)
        subscribe(bob_ws)
        notices_for(alice_ws, 0.5)
        notices_for(bob_ws, 0.1)
        created = stack.openstack("image", "create", "--private", "--disk-format", "raw",
                                  "--container-format", "bare", "from-the-cli", "-f", "json",
                                  username="alice", pw=password("alice"), project="demo")
        done = time.monotonic()
        assert created["owner"] == demo and created["name"] == "from-the-cli", created
        heard = None
        while heard is None and time.monotonic() - done < POLL_INTERVAL + SLACK + 5:
            for notice in notices_for(alice_ws, 0.2):
                if notice == {"type": "images", "scope": demo}:
                    heard = time.monotonic() - done
        assert heard is not None, "alice never heard of the image"
        print(f"heard {heard:.2f} s after the command returned")
        assert heard <= POLL_INTERVAL + SLACK, f"heard after {heard:.2f} s"
        assert {"type": "images", "scope": demo} not in notices_for(bob_ws, 1.0)
