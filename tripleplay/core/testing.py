"""Helpers for tests that start real processes: a free loopback port, and a tripleplay command run to
completion. Test support only; nothing in the application imports this module."""

from __future__ import annotations

import socket
import subprocess
import sys


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_cli(*args: str, env: dict, timeout: float) -> str:
    """``tripleplay ARGS`` in a child process with ``env``; its stdout, or an assertion error carrying the
    end of its output when it fails."""
    done = subprocess.run([sys.executable, "-m", "tripleplay.cli", *args], env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout
