"""The ``tripleplay`` command.

``tripleplay COMMAND [options]`` runs one of tripleplay's management commands (every command in a
``tripleplay.*`` app, plus Django's ``migrate``) with DJANGO_SETTINGS_MODULE defaulting to
``tripleplay.settings``. ``tripleplay`` alone or ``--help`` lists them; ``tripleplay COMMAND --help``
shows a command's options; ``tripleplay django ...`` reaches any other Django command (like manage.py).
Exit status: 0 on success, 1 when a command fails, 2 for usage errors such as an unknown command.
"""

from __future__ import annotations

import difflib
import os
import sys
import textwrap

PROG = "tripleplay"

# The first commands in the list, in this order (the daily ones); any other tripleplay command
# follows alphabetically, so a command added by a new management command file is listed by itself.
ORDER = ("serve", "migrate", "createadmin", "create-api-client", "demo", "expire-holds")
# Django's own commands that belong to the tripleplay command set, with our summary.
DJANGO_COMMANDS = {"migrate": "Create or upgrade the database schema (run it after every upgrade)."}

EPILOG = """\
Run 'tripleplay COMMAND --help' for the options of a command.
'tripleplay django COMMAND ...' runs any other Django management command (as manage.py would).

Configuration comes from the environment: DATABASE_URL (default: SQLite under TRIPLEPLAY_HOME,
default ./var), TRIPLEPLAY_SECRET_KEY, TRIPLEPLAY_DEBUG, TRIPLEPLAY_ALLOWED_HOSTS; see README.md."""


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tripleplay")
    except PackageNotFoundError:
        return "unknown"


def _summary(help_text: str) -> str:
    return (help_text or "").strip().split("\n")[0]


def commands() -> dict[str, str]:
    """Name -> one-line summary of every tripleplay command, in listing order."""
    import django
    from django.core.management import get_commands, load_command_class

    django.setup()
    found = dict(DJANGO_COMMANDS)
    for name, app in get_commands().items():
        if app == PROG or app.startswith(PROG + "."):
            found[name] = _summary(load_command_class(app, name).help)
    ordered = [n for n in ORDER if n in found] + sorted(n for n in found if n not in ORDER)
    return {n: found[n] for n in ordered}


def usage(available: dict[str, str]) -> str:
    width = max(len(n) for n in available) + 2
    wrap = textwrap.TextWrapper(width=100, initial_indent="", subsequent_indent=" " * (width + 2))
    rows = [wrap.fill(f"  {name:<{width}}{summary}") for name, summary in available.items()]
    return "\n".join([
        f"usage: {PROG} COMMAND [options]",
        "",
        "Tripleplay: converged real-time billing for IPTV, internet, voice and messaging.",
        "",
        "Commands:",
        *rows,
        "",
        EPILOG,
    ])


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tripleplay.settings")
    argv = list(sys.argv[1:] if argv is None else argv)
    name = argv[0] if argv else "--help"
    if name == "--version":
        print(f"{PROG} {_version()}")
        return 0
    if name == "help" and len(argv) > 1:  # `tripleplay help serve` == `tripleplay serve --help`
        argv, name = [argv[1], "--help"], argv[1]

    try:
        available = commands()
    except Exception as e:  # noqa: BLE001 - a broken configuration must be reported, not a traceback
        print(f"{PROG}: cannot load the configuration: {type(e).__name__}: {e}", file=sys.stderr)
        return 1

    if name in ("-h", "--help", "help"):
        print(usage(available))
        return 0
    if name == "django":
        return _run([f"{PROG} django", *argv[1:]])
    if name not in available:
        close = difflib.get_close_matches(name, list(available), n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        print(f"{PROG}: unknown command '{name}'.{hint} Run '{PROG} --help' for the list.", file=sys.stderr)
        return 2
    return _run([PROG, name, *argv[1:]])


def _run(argv: list[str]) -> int:
    from django.core.management import execute_from_command_line

    from tripleplay.core.errors import DomainError

    try:
        execute_from_command_line(argv)  # a failing command exits with its own status (CommandError: 1)
    except DomainError as e:  # a service refused: say why, without a traceback
        print(f"{PROG}: error: {e.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
