"""Helpers for tests that start real processes: a free loopback port, a tripleplay command run to
completion, a temporary SQLite home seeded and served, the provisioning worker run until idle and
funds read back through the REST API. Test support only; nothing in the application imports this module
(what stops a process, which the application needs too, is core/processes.py)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from tripleplay.core.processes import stop_process


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
    or does not answer within ``timeout`` seconds. The caller stops the process (``stop_serve``). The
    server leads a process group of its own, so that stopping it also stops any worker it leaves
    behind (granian's, when it is killed after the grace). ``port``: one chosen beforehand (when the
    environment must name the server's own address)."""
    import httpx

    port = port or free_port()
    with open(log_path, "ab") as log:  # appending: other processes of the test may share the log
        process = subprocess.Popen([sys.executable, "-m", "tripleplay.cli", "serve", "--host", "127.0.0.1",
                                   "--port", str(port), "--workers", "1", "--threads", "4", "--server", server],
                                  env=env, stdout=log, stderr=subprocess.STDOUT, process_group=0)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        assert process.poll() is None, Path(log_path).read_text()
        try:
            if httpx.get(url + "/healthz", timeout=2, trust_env=False).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        if time.monotonic() >= deadline:
            stop_process(process)  # the caller gets no process to stop
            raise AssertionError(f"no answer from /healthz within {timeout:g} s:\n{Path(log_path).read_text()}")
        time.sleep(0.2)


def home_env(home, **extra: str) -> dict:
    """The environment of tripleplay commands on a temporary SQLite home (``TRIPLEPLAY_HOME``, demo mode):
    this process's, without its database URL and secret key, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "TRIPLEPLAY_SECRET_KEY")}
    env.update(TRIPLEPLAY_HOME=str(home), TRIPLEPLAY_DEMO="1", DJANGO_SETTINGS_MODULE="tripleplay.settings", **extra)
    return env


def migrate_and_seed(env: dict, script: str, *, timeout: float = 120) -> dict:
    """Migrate the home of ``env``, then run ``script`` in `tripleplay django shell`; the JSON of the one
    line it prints as ``SEED <json>``."""
    run_cli("migrate", "-v", "0", env=env, timeout=180)
    out = run_cli("django", "shell", "-c", script, env=env, timeout=timeout)
    return json.loads(next(line for line in out.splitlines() if line.startswith("SEED "))[5:])


def stop_serve(process: subprocess.Popen | None, *, grace: float = 20) -> None:
    """Stop a server of ``start_serve`` and its workers, or any child process a test started (a worker,
    Kamailio): ``core.processes.stop_process``."""
    stop_process(process, grace=grace)


def provision(env: dict) -> None:
    """One `tripleplay worker --until-idle` run, as in production: tripleplay tells the platforms what changed."""
    run_cli("worker", "--until-idle", "--no-jobs", "--threads", "1", "--poll-seconds", "0.05",
            "--retry-base-seconds", "0.01", "--retry-cap-seconds", "0.05", env=env, timeout=120)


def admin_client(url: str, token: str):
    """An httpx client of the REST API (``url``/api/v1) with an admin token; the caller closes it."""
    import httpx

    return httpx.Client(base_url=url + "/api/v1", timeout=10, trust_env=False,
                        headers={"Authorization": f"Bearer {token}"})


def customer_funds(admin, customer_id: int) -> dict:
    """A customer's balance, held and available funds (minor units) read through the REST API."""
    r = admin.get(f"/customers/{customer_id}/funds")
    assert r.status_code == 200, r.text
    body = r.json()
    return {k: body[k]["amount_minor"] for k in ("balance", "held", "available")}
