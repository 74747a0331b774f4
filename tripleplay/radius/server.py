"""FreeRADIUS as a separate process: render the configuration template (./freeradius/) for a
tripleplay URL, token and loopback ports, and start / stop ``freeradius -f -d DIR``. Used by the
tests, the demo, ``tripleplay radius-config`` and docs/radius.md's deployment steps."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tripleplay.core.processes import stop_process

TEMPLATE = Path(__file__).with_name("freeradius")
BINARY = "freeradius"


def installed() -> bool:
    return shutil.which(BINARY) is not None


@dataclass(frozen=True)
class Settings:
    tripleplay_url: str  # e.g. http://127.0.0.1:8000
    token: str  # TRIPLEPLAY_RADIUS_TOKEN
    auth_port: int = 1812
    acct_port: int = 1813
    listen_address: str = "127.0.0.1"
    client_network: str = "127.0.0.0/8"  # where NAS packets may come from (each NAS still must be configured)
    client_lifetime: int = 60  # seconds FreeRADIUS caches a NAS's secret
    threads: int = 16
    timeout: int = 4  # seconds rlm_rest waits for tripleplay
    # tripleplay's PostgreSQL for the rlm_sql instance tripleplay_sql (D272); sql_host None: no SQL
    # path, the module is not rendered and the site asks rlm_rest alone (SQLite, TRIPLEPLAY_RADIUS_SQL=0).
    sql_host: str | None = None
    sql_port: int | None = None
    sql_user: str | None = None
    sql_password: str | None = None
    sql_database: str | None = None
    time_zone: str = "UTC"  # settings.TIME_ZONE: the "today" of a product's dates

    @property
    def sql(self) -> bool:
        return self.sql_host is not None


def database_user(database: dict) -> str:
    """The user a Django DATABASES entry logs in as (``postgres`` when it names none), as rendered."""
    return database.get("USER") or "postgres"


def sql_settings(database: dict) -> dict:
    """Settings' sql_* fields for a Django DATABASES entry on PostgreSQL ({} for another engine)."""
    if "postgresql" not in database.get("ENGINE", ""):
        return {}
    return {"sql_host": database.get("HOST") or "127.0.0.1", "sql_port": int(database.get("PORT") or 5432),
            "sql_user": database_user(database), "sql_password": database.get("PASSWORD") or "",
            "sql_database": database["NAME"]}


def sql_settings_from_database(alias: str = "default") -> dict:
    """Settings' sql_* fields for Django's database ``alias`` (its live connection settings, so a test
    database is the test's): {} (no SQL path, rlm_rest only) unless it is PostgreSQL, TRIPLEPLAY_RADIUS_SQL
    is on and FreeRADIUS has rlm_sql's PostgreSQL driver. With TRIPLEPLAY_RADIUS_SQL_URL, that URL's
    (the SQL path's own role, D301); without, the database's own login (see ``owner_login``)."""
    from django.conf import settings
    from django.db import connections

    if not settings.TRIPLEPLAY_RADIUS_SQL or not sql_driver_installed():
        return {}
    found = sql_settings(connections[alias].settings_dict)
    if found and settings.TRIPLEPLAY_RADIUS_SQL_URL:
        found = sql_settings_from_url(settings.TRIPLEPLAY_RADIUS_SQL_URL)
        if not found:
            raise ValueError("TRIPLEPLAY_RADIUS_SQL_URL must be a postgres:// URL")
    return {**found, "time_zone": settings.TIME_ZONE} if found else {}


def owner_login(sql: dict) -> bool:
    """Whether the sql_* fields log in as tripleplay's own database user (no TRIPLEPLAY_RADIUS_SQL_URL, or
    one with the same user): FreeRADIUS would hold the owner's rights on the whole database (D301)."""
    from django.db import connections

    return bool(sql) and sql.get("sql_user") == database_user(connections["default"].settings_dict)


SQL_DRIVER = Path("/usr/lib/freeradius/rlm_sql_postgresql.so")  # Debian's freeradius-postgresql


def sql_driver_installed() -> bool:
    """Whether this machine's FreeRADIUS has rlm_sql's PostgreSQL driver; without it the SQL path is
    not rendered (rlm_rest only), rather than a configuration FreeRADIUS refuses."""
    return SQL_DRIVER.exists()


def sql_settings_from_url(url: str) -> dict:
    """Settings' sql_* fields from a DATABASE_URL (postgres://user:password@host:port/name; {} for another)."""
    import dj_database_url

    return sql_settings(dj_database_url.parse(url)) if url else {}


SQL_ONLY = ("tripleplay_sql",)  # template files of the SQL path (mods/)
_SQL_BLOCK = re.compile(r"^[ \t]*# @SQL@\n(.*?)^[ \t]*# @END_SQL@\n", re.MULTILINE | re.DOTALL)
_REST_BLOCK = re.compile(r"^[ \t]*# @REST_ONLY@\n(.*?)^[ \t]*# @END_REST_ONLY@\n", re.MULTILINE | re.DOTALL)


def render_config(dest: Path, settings: Settings, run_dir: Path | None = None) -> Path:
    """Write the configuration into ``dest`` (created, or overwritten), placeholders filled."""
    dest = Path(dest).resolve()
    run_dir = Path(run_dir or dest / "run").resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    for value, what in ((settings.token, "token"), (settings.tripleplay_url, "tripleplay URL")):
        if not value or any(c in value for c in "'\"\\\n %{}"):
            raise ValueError(f"the {what} must be non-empty, without quotes, spaces, backslashes, % or braces")
    values = {"CONF_DIR": str(dest), "RUN_DIR": str(run_dir), "TRIPLEPLAY_URL": settings.tripleplay_url.rstrip("/"),
              "TOKEN": settings.token, "AUTH_PORT": str(settings.auth_port), "ACCT_PORT": str(settings.acct_port),
              "LISTEN_ADDRESS": settings.listen_address, "CLIENT_NETWORK": settings.client_network,
              "CLIENT_LIFETIME": str(settings.client_lifetime), "THREADS": str(settings.threads),
              "TIMEOUT": str(settings.timeout)}
    sql = settings.sql_host is not None
    if sql:
        for value, what in ((settings.sql_host, "SQL host"), (settings.sql_user, "SQL user"),
                            (settings.sql_password or "x", "SQL password"), (settings.sql_database, "SQL database"),
                            (settings.time_zone, "time zone")):
            if not value or any(c in value for c in "'\"\\\n %{}`"):
                raise ValueError(f"the {what} must be non-empty, without quotes, spaces, backslashes, % or braces")
        values.update({"SQL_HOST": settings.sql_host, "SQL_PORT": str(settings.sql_port or 5432),
                       "SQL_USER": settings.sql_user, "SQL_PASSWORD": settings.sql_password or "",
                       "SQL_DATABASE": settings.sql_database, "TIME_ZONE": settings.time_zone})
    # A rendering without the SQL path leaves none behind; sites/tripleplay_logins (D273) is gone (D290).
    for old in (dest / "mods" / "tripleplay_sql", dest / "sites" / "tripleplay_logins"):
        old.unlink(missing_ok=True)
    for source in TEMPLATE.rglob("*"):
        if source.is_dir() or source.name.startswith(("__", ".")):
            continue
        if source.name in SQL_ONLY and not sql:
            continue
        target = dest / source.relative_to(TEMPLATE)
        target.parent.mkdir(parents=True, exist_ok=True)
        text = source.read_text()
        # The site's SQL-path lines (# @SQL@ ... # @END_SQL@) or the rest-only ones they replace.
        text = (_REST_BLOCK if sql else _SQL_BLOCK).sub("", text)
        text = (_SQL_BLOCK if sql else _REST_BLOCK).sub(r"\1", text)
        for key, value in values.items():
            text = text.replace(f"@{key}@", value)
        target.write_text(text)
        target.chmod(0o600)  # it holds the token
    return dest


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def logins_environment(settings: Settings) -> dict[str, str]:
    """libpq's PG* variables for the logins reader (``radius.logins``): the database rlm_sql uses."""
    return {"PGHOST": settings.sql_host or "", "PGPORT": str(settings.sql_port or 5432),
            "PGUSER": settings.sql_user or "", "PGPASSWORD": settings.sql_password or "",
            "PGDATABASE": settings.sql_database or ""}


class FreeradiusProcess:
    """``freeradius -f -d DIR`` with its output in DIR/run/freeradius.log; with the SQL path also the
    reader that records its accepted logins (``python -m tripleplay.radius.logins DIR/run/logins``, D290),
    its output in DIR/run/logins.log."""

    def __init__(self, conf_dir: Path, settings: Settings, *, debug: bool = False):
        self.conf_dir, self.settings, self.debug = Path(conf_dir), settings, debug
        self.proc: subprocess.Popen | None = None
        self.logins: subprocess.Popen | None = None
        self.log_path = self.conf_dir / "run" / "freeradius.log"

    def start(self, timeout: float = 20) -> FreeradiusProcess:
        render_config(self.conf_dir, self.settings)
        check = subprocess.run([BINARY, "-C", "-d", str(self.conf_dir)], capture_output=True, text=True, timeout=60)
        if check.returncode != 0:
            raise RuntimeError(f"freeradius refuses the configuration:\n{check.stdout[-4000:]}{check.stderr[-2000:]}")
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([BINARY, "-f", "-d", str(self.conf_dir), *(["-xx"] if self.debug else [])],
                                         stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while "Ready to process requests" not in self.log_path.read_text(errors="replace"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"freeradius did not start:\n{self.log_path.read_text(errors='replace')[-4000:]}")
            time.sleep(0.1)
        if self.settings.sql:
            with open(self.conf_dir / "run" / "logins.log", "ab") as log:
                self.logins = subprocess.Popen(
                    [sys.executable, "-m", "tripleplay.radius.logins", str(self.conf_dir / "run" / "logins"),
                     "--exit-with-parent"],  # a test or bench killed outright leaves no reader behind
                    env={**os.environ, **logins_environment(self.settings)}, cwd=Path(__file__).resolve().parents[2],
                    stdout=log, stderr=subprocess.STDOUT)
        return self

    def stop(self) -> None:
        """FreeRADIUS first, then the logins reader, which records what FreeRADIUS wrote before it exits."""
        stop_process(self.proc, grace=10)
        stop_process(self.logins, grace=30)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
