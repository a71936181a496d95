"""The server the JSON-RPC suites run against: the real `tidings` binary (TIDINGS_BIN, default
target/debug/tidings), one per test module, so each module starts from a quiet server.
"""

import os
import pathlib
import re
import subprocess
import time

import pytest
import requests

from jsonrpc_client import ADMIN_TOKEN

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = os.environ.get("TIDINGS_BIN", str(ROOT / "target" / "debug" / "tidings"))


@pytest.fixture(scope="module")
def server():
    """A `tidings serve` on a free port over a quiet simulator; killed by pid at the end."""
    proc = subprocess.Popen(
        [BIN, "serve", "--listen", "127.0.0.1:0", "--sim-activity", "0",
         "--admin-token", ADMIN_TOKEN],
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
