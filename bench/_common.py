"""Shared helpers for the benchmarks: a throw-away PostgreSQL database and the pgbench baseline.

Benchmarks target 127.0.0.1 only and are bounded in size and time."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG = {"host": os.environ.get("PGHOST", "127.0.0.1"), "port": os.environ.get("PGPORT", "5432"),
      "user": os.environ.get("PGUSER", "postgres")}


def pg_url(name: str) -> str:
    return f"postgres://{PG['user']}@{PG['host']}:{PG['port']}/{name}"


def _pg(cmd: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([cmd, "-h", PG["host"], "-p", PG["port"], "-U", PG["user"], *args],
                          check=True, capture_output=True, text=True)


@contextmanager
def scratch_database(prefix: str):
    name = f"{prefix}_{os.getpid()}_{int(time.time())}"
    _pg("createdb", name)
    try:
        yield name
    finally:
        subprocess.run(["dropdb", "-h", PG["host"], "-p", PG["port"], "-U", PG["user"], "--if-exists", name],
                       capture_output=True)


def pgbench_baseline(seconds: int = 10, clients: int = 4) -> dict:
    """The machine's own PostgreSQL: pgbench's single-row UPDATE transactions per second."""
    if not shutil.which("pgbench"):
        return {"error": "pgbench not installed (apt-get install postgresql-contrib or postgresql-client)"}
    with scratch_database("tp_pgbench") as db:
        _pg("pgbench", "-i", "-q", "-s", "1", db)
        out = _pg("pgbench", "-n", "-b", "simple-update", "-c", str(clients), "-j", "2", "-T", str(seconds), db).stdout
    tps = re.search(r"tps = ([\d.]+)", out)
    return {"tps": float(tps.group(1)) if tps else None, "clients": clients, "seconds": seconds,
            "script": "simple-update (single-row UPDATEs + INSERT)"}


def tripleplay(*args: str, env: dict, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tripleplay.cli", *args], env=env, check=True, cwd=ROOT, **kwargs)


def django_env(database: str, home: Path) -> dict:
    return {**os.environ, "DATABASE_URL": pg_url(database), "TRIPLEPLAY_HOME": str(home),
            "DJANGO_SETTINGS_MODULE": "tripleplay.settings"}
