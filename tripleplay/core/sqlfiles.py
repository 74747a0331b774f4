"""Database functions kept as .sql files in the app that owns them (``tripleplay/<app>/sql/*.sql``),
installed by that app's migrations on PostgreSQL (SQLite has none: it keeps the Python path).

A file is one or more ``CREATE OR REPLACE FUNCTION`` statements, run as it is: installing is
idempotent, so a migration that installs an app's files can be added whenever a file changes, and a
fresh database and an old one both end with the files' definitions. Every installed function is
executable by its owner (tripleplay's login) alone unless granted (D300). ``definitions_differ`` says
which installed functions differ from their files (the test of each app that has any)."""

from __future__ import annotations

import re
from importlib import import_module
from pathlib import Path

from django.db import connection, transaction

_FUNCTION = re.compile(r"CREATE OR REPLACE FUNCTION\s+(\w+)\s*\(", re.IGNORECASE)


def sql_files(app: str) -> list[Path]:
    """The app's .sql files, in name order (``app``: the package under tripleplay, e.g. "ledger")."""
    return sorted((Path(import_module(f"tripleplay.{app}").__file__).parent / "sql").glob("*.sql"))


def function_names(path: Path) -> list[str]:
    return _FUNCTION.findall(path.read_text())


def install(schema_editor, app: str) -> None:
    """Create or replace every function of the app's files (a migration's RunPython), then revoke EXECUTE
    on each from PUBLIC (D300): tripleplay's own login owns and calls them; another role calls only what it
    is granted (radius.sqlrole: the SQL path's three). CREATE OR REPLACE keeps a function's grants; the
    migration's transaction means a new one is never callable by PUBLIC in between."""
    if schema_editor.connection.vendor != "postgresql":
        return
    for path in sql_files(app):
        schema_editor.execute(path.read_text(), params=None)
    revoke_public(schema_editor, app)


def revoke_public(schema_editor, app: str) -> None:
    """REVOKE EXECUTE FROM PUBLIC on every function (each overload) the app's files name (PostgreSQL)."""
    if schema_editor.connection.vendor != "postgresql":
        return
    names = [name for path in sql_files(app) for name in function_names(path)]
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT p.oid::regprocedure::text FROM pg_proc p"
                       " WHERE p.pronamespace = 'public'::regnamespace AND p.proname = ANY(%s) ORDER BY 1", [names])
        signatures = [row[0] for row in cursor.fetchall()]
    for signature in signatures:
        schema_editor.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC", params=None)


def uninstall(schema_editor, app: str) -> None:
    """Drop every function of the app's files (the reverse of ``install``)."""
    if schema_editor.connection.vendor != "postgresql":
        return
    for path in reversed(sql_files(app)):
        for name in reversed(function_names(path)):
            schema_editor.execute(f"DROP FUNCTION IF EXISTS {name}", params=None)


def _definitions(names: list[str]) -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT p.proname, pg_get_functiondef(p.oid) FROM pg_proc p"
                       " WHERE p.pronamespace = 'public'::regnamespace AND p.proname = ANY(%s)", [names])
        return dict(cursor.fetchall())


def definitions_differ(app: str) -> list[str]:
    """The functions of the app's files whose installed definition (PostgreSQL's own text of it) is not
    the one the file creates, or that are missing. Runs the files in a savepoint rolled back: nothing
    installed changes."""
    names = [name for path in sql_files(app) for name in function_names(path)]
    installed = _definitions(names)
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                for path in sql_files(app):
                    cursor.execute(path.read_text())
            from_files = _definitions(names)
            raise _RollBack
    except _RollBack:
        pass
    return sorted(name for name in names if installed.get(name) != from_files.get(name))


class _RollBack(Exception):
    pass
