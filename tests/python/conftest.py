"""The servers the Python suites run against: the real `tidings` binary (TIDINGS_BIN, default
target/debug/tidings), one per test module, so each module starts from a quiet server: `server`
over its embedded simulator, `cloud` as a `tidings sim` plus a `tidings serve` polling it.
"""

import os
import pathlib
import re
import subprocess
import threading
import time

import pytest
import requests

from jsonrpc_client import ADMIN_TOKEN

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = os.environ.get("TIDINGS_BIN", str(ROOT / "target" / "debug" / "tidings"))


@pytest.fixture(scope="module")
def server():
    """A `tidings serve` on a free port over a quiet simulator; killed by pid at the end."""
    proc, base = _start(
        ["serve", "--listen", "127.0.0.1:0", "--sim-activity", "0", "--admin-token", ADMIN_TOKEN],
        r"listening on (http://\S+)",
    )
    try:
        _wait_ready(base)
        yield base
    finally:
        proc.kill()
        proc.wait(timeout=10)


def _wait_ready(base, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if requests.get(f"{base}/readyz", timeout=2).status_code == 200:
            return
        time.sleep(0.05)
    raise AssertionError(f"{base} never became ready")


def _start(args, pattern, timeout=30):
    """Starts `tidings ARGS` and returns (process, the address it printed); what it prints
    afterwards is read and dropped, so that a full pipe never stalls it."""
    proc = subprocess.Popen([BIN, *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        found = re.search(pattern, line)
        if found:
            threading.Thread(target=proc.stdout.read, daemon=True).start()
            return proc, found.group(1)
    proc.kill()
    proc.wait(timeout=10)
    raise AssertionError(f"tidings {args[0]} never printed its address")


@pytest.fixture(scope="module")
def cloud():
    """A `tidings sim` (quiet, a fast clock) and a `tidings serve` polling it as its upstream:
    `{"sim": base URL, "auth_url": Keystone's URL, "tidings": the server's base URL}`. Both are
    killed by pid at the end."""
    sim, sim_base = _start(
        ["sim", "--listen", "127.0.0.1:0", "--sim-activity", "0", "--sim-tick", "200ms"],
        r"simulator listening on (http://\S+)",
    )
    serve = None
    try:
        auth_url = f"{sim_base}/identity/v3"
        serve, base = _start(
            ["serve", "--listen", "127.0.0.1:0", "--upstream", auth_url,
             "--poll-interval", "300ms", "--admin-token", ADMIN_TOKEN],
            r"listening on (http://\S+)",
        )
        _wait_ready(base)
        yield {"sim": sim_base, "auth_url": auth_url, "tidings": base}
    finally:
        for proc in (serve, sim):
            if proc is not None:
                proc.kill()
                proc.wait(timeout=10)


def pytest_configure(config):
    """openstacksdk warns of its own deprecations on every call; they are not this suite's."""
    config.addinivalue_line("filterwarnings", r"ignore:::openstack(\..*)?")
