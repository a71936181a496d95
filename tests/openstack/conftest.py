"""The stack every module of the tier runs against (stack.py): one per session, stopped by
pid at the end whatever happened. The JSON-RPC client of tests/python talks to Tidings.
"""

import pathlib
import sys
import time

import pytest

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "python"))

from stack import Stack  # noqa: E402


@pytest.fixture(scope="session")
def stack():
    running = Stack().start()
    try:
        yield running
    finally:
        running.stop()


def eventually(check, timeout=15, what="the condition"):
    """`check()`'s first truthy value, asked every 0.2 s for up to `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen within {timeout} s (last: {last!r})")
