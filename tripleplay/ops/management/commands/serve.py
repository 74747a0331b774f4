"""`tripleplay serve`: the production web server.

Gunicorn runs inside this process (``gunicorn.app.base.BaseApplication``) with threaded workers
(gthread) serving ``tripleplay.wsgi:application``; WhiteNoise serves the static files, so neither a
separate gunicorn command line nor ``collectstatic`` is needed. ``--server granian`` runs Granian
(HTTP in Rust, the same WSGI application in Python worker processes) instead: the choice for
platform-facing PPV traffic (docs/operations.md, measured in bench/ppv.py). Put a TLS-terminating
proxy in front of either for anything beyond loopback.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections

from tripleplay.settings import env_bool

INSECURE_KEY_MESSAGE = (
    "refusing to start: TRIPLEPLAY_SECRET_KEY is not set, and the built-in development key is public "
    "(anyone could forge sessions). Set TRIPLEPLAY_SECRET_KEY to a long random secret, for example the "
    "output of: python3 -c 'import secrets; print(secrets.token_urlsafe(50))'. "
    "For local development only, TRIPLEPLAY_DEBUG=1 (or TRIPLEPLAY_DEMO=1) accepts the built-in key."
)


def check_secret_key() -> None:
    """Refuse the public development key unless this is a development or demo run."""
    if settings.SECRET_KEY != settings.INSECURE_DEFAULT_SECRET_KEY:
        return
    if settings.DEBUG or env_bool("TRIPLEPLAY_DEBUG") or env_bool("TRIPLEPLAY_DEMO"):
        return
    raise CommandError(INSECURE_KEY_MESSAGE)


def warn_about_database(stderr) -> None:
    """A server on an unmigrated or unreachable database answers errors: say so at start, but start
    (the database may come up later; /readyz reports it meanwhile)."""
    from django.db.migrations.executor import MigrationExecutor

    try:
        executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception as e:  # noqa: BLE001 - any failure here is reported, not fatal
        stderr.write(f"warning: cannot read the database's migration state ({type(e).__name__}: {e})")
        return
    if pending:
        stderr.write(f"warning: {len(pending)} database migration(s) not applied: run 'tripleplay migrate'")


def add_server_arguments(parser, *, host: bool = True) -> None:
    if host:
        parser.add_argument("--host", default="127.0.0.1",
                            help="address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)")
    parser.add_argument("--port", type=int, default=8000, help="TCP port (default 8000)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker process (default 4)")
    parser.add_argument("--timeout", type=int, default=30,
                        help="seconds a request may take before its worker is restarted (default 30; granian: "
                             "seconds a stopping worker gets to finish its requests)")
    parser.add_argument("--server", choices=SERVERS, default="gunicorn",
                        help="gunicorn (threaded workers, the default) or granian (recommended for PPV traffic)")
    parser.add_argument("--no-access-log", dest="access_log", action="store_false",
                        help="do not log every request (saves CPU per request on busy PPV endpoints)")


SERVERS = ("gunicorn", "granian")


def check_server_options(*, port: int, workers: int, threads: int, timeout: int) -> None:
    if not 1 <= port <= 65535:
        raise CommandError("--port must be 1..65535")
    for name, value in (("workers", workers), ("threads", threads), ("timeout", timeout)):
        if value < 1:
            raise CommandError(f"--{name} must be at least 1")


def _bind_address(host: str, port: int) -> str:
    if ":" in host and not host.startswith("["):  # a bare IPv6 address
        host = f"[{host}]"
    return f"{host}:{port}"


def run_server(*, host: str, port: int, workers: int, threads: int, timeout: int, stdout=None,
               server: str = "gunicorn", access_log: bool = True) -> None:
    """Run the server in the foreground until SIGTERM/SIGINT (then a graceful stop, exit status 0)."""
    check_server_options(port=port, workers=workers, threads=threads, timeout=timeout)
    if server not in SERVERS:
        raise CommandError(f"--server must be one of {', '.join(SERVERS)}")
    # WhiteNoise serves from the finders (no collectstatic needed) but warns when STATIC_ROOT is missing.
    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
    connections.close_all()  # whatever the checks or the migration opened: never share it across fork
    if stdout is not None:
        stdout.write(f"Tripleplay serving on http://{_bind_address(host, port)}/ "
                     f"({server}: {workers} worker(s) x {threads} thread(s)); Ctrl+C to stop.")
        stdout.flush()
    if server == "granian":
        _run_granian(host=host, port=port, workers=workers, threads=threads, timeout=timeout, access_log=access_log)
    else:
        _run_gunicorn(host=host, port=port, workers=workers, threads=threads, timeout=timeout, access_log=access_log)


def _run_granian(*, host: str, port: int, workers: int, threads: int, timeout: int, access_log: bool) -> None:
    from granian import Granian
    from granian.constants import Interfaces

    # Each worker process imports the application itself (nothing is shared across the fork);
    # ``threads`` is the number of threads running the WSGI application in each of them. A worker that
    # dies (killed by the OOM killer, a crash in a C extension) is started again, as gunicorn's
    # arbiter does; by default granian would stop the whole server instead.
    Granian("tripleplay.wsgi:application", address=host.strip("[]"), port=port, interface=Interfaces.WSGI,
            workers=workers, blocking_threads=threads, log_access=access_log, workers_kill_timeout=timeout,
            respawn_failed_workers=True).serve()


def _run_gunicorn(*, host: str, port: int, workers: int, threads: int, timeout: int, access_log: bool) -> None:
    from gunicorn.app.base import BaseApplication

    options = {
        "bind": [_bind_address(host, port)],
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        "timeout": timeout,
        "graceful_timeout": min(timeout, 30),
        "keepalive": 5,
        "accesslog": "-" if access_log else None,
        "errorlog": "-",
        "loglevel": "info",
        "proc_name": "tripleplay",
    }

    class TripleplayServer(BaseApplication):
        def load_config(self):
            for key, value in options.items():
                self.cfg.set(key, value)
            # Gunicorn >= 25.1 opens a control socket at one fixed per-user path by default; two
            # servers of one user would fight over it, and tripleplay does not use it.
            if "control_socket_disable" in self.cfg.settings:
                self.cfg.set("control_socket_disable", True)

        def load(self):
            # Imported in each worker after the fork (no preload): a worker never inherits the
            # master's database connections.
            from tripleplay.wsgi import application

            return application

    TripleplayServer().run()


class Command(BaseCommand):
    help = "Run the production web server (gunicorn; not Django's runserver)."

    def add_arguments(self, parser):
        add_server_arguments(parser)

    def handle(self, *args, **options):
        check_secret_key()
        warn_about_database(self.stderr)
        run_server(host=options["host"], port=options["port"], workers=options["workers"],
                   threads=options["threads"], timeout=options["timeout"], stdout=self.stdout,
                   server=options["server"], access_log=options["access_log"])
