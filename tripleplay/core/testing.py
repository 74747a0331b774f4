"""Helpers for tests that start real processes: a free loopback port, and a tripleplay command run to
completion. Test support only; nothing in the application imports this module."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path


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


def start_serve(env: dict, log_path, *, timeout: float = 30, port: int | None = None,
                server: str = "gunicorn") -> tuple[subprocess.Popen, str]:
    """``tripleplay serve --server SERVER`` (one worker, four threads) on a free 127.0.0.1 port, its output in
    ``log_path``; returns (process, base URL) once /healthz answers 200. Fails with the log if it dies
    or does not answer within ``timeout`` seconds. The caller stops the process. ``port``: one chosen
    beforehand (when the environment must name the server's own address)."""
    import httpx

    port = port or free_port()
    with open(log_path, "ab") as log:  # appending: other processes of the test may share the log
        process = subprocess.Popen([sys.executable, "-m", "tripleplay.cli", "serve", "--host", "127.0.0.1",
                                   "--port", str(port), "--workers", "1", "--threads", "4", "--server", server],
                                  env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        assert process.poll() is None, Path(log_path).read_text()
        try:
            if httpx.get(url + "/healthz", timeout=2, trust_env=False).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, f"no answer from /healthz within {timeout:g} s:\n{Path(log_path).read_text()}"
        time.sleep(0.2)
