"""One row of a hand-written hot-path statement, prepared on PostgreSQL (D210).

The statements FreeRADIUS's calls run thousands of times a second are written once with ``%s``
placeholders. On PostgreSQL they run as the PPV hot path's database functions do (``run``, D51):
server-side binding on a psycopg RawCursor (the ``%s`` turned into ``$n`` once per statement) and a
prepared statement, so that PostgreSQL parses and plans each one once per connection. Django's
connection.cursor() is a ClientCursor, which quotes the parameters into the text and is never
prepared. On SQLite (and any other vendor) they run on Django's cursor as written.

Django's error translation (``wrap_database_errors``) and its debug query log still apply.
"""

from __future__ import annotations

import re
import time

import psycopg
from django.db import DEFAULT_DB_ALIAS, connections
from psycopg import pq

_NEVER_AUTOMATIC = 2 ** 31 - 1  # psycopg prepares a statement after this many executions: never, unasked
_PLACEHOLDER = re.compile(r"%s")
_NUMBERED: dict[str, str] = {}


def _numbered(sql: str) -> str:
    out = _NUMBERED.get(sql)
    if out is None:
        counter = iter(range(1, 10_000))
        out = _NUMBERED[sql] = _PLACEHOLDER.sub(lambda _m: f"${next(counter)}", sql)
    return out


def run(db, sql: str, params: list, *, logged_as: str | None = None) -> tuple | None:
    """The first row of ``sql`` (``$n`` placeholders) run as a prepared statement on ``db``, a Django
    PostgreSQL connection, or None; for a statement that returns no rows, ``(rowcount,)``. The query log
    (DEBUG) shows ``logged_as`` or else ``sql``.

    Two things of Django's defaults would silently turn preparing off (they did until D51): the
    connection's cursor() is a ClientCursor (client-side binding, never prepared), hence a psycopg
    RawCursor of our own here; and Django opens the connection with prepare_threshold=None, which makes
    psycopg ignore prepare=True. A threshold no statement reaches keeps automatic preparing off for
    everything else; only these calls ask for it (ppv/tests/test_db_hot_path.py checks they are prepared)."""
    db.ensure_connection()
    pg = db.connection
    if pg.prepare_threshold is None:
        pg.prepare_threshold = _NEVER_AUTOMATIC
    started = time.monotonic()
    with db.wrap_database_errors, psycopg.RawCursor(pg) as cursor:
        cursor.execute(sql, params, prepare=True)
        # The result's status, not cursor.description: description builds a Column object per column
        # on every call (a twelfth of authorize's time in process, D241).
        returns_rows = cursor.pgresult is not None and cursor.pgresult.status == pq.ExecStatus.TUPLES_OK
        row = cursor.fetchone() if returns_rows else (cursor.rowcount,)
    if db.queries_logged:
        db.queries_log.append({"sql": logged_as or sql, "time": f"{time.monotonic() - started:.3f}"})
    return row


def fetch_one(sql: str, params: list, *, using: str = DEFAULT_DB_ALIAS) -> tuple | None:
    """The first row of ``sql`` (``%s`` placeholders, no literal ``%``), or None; for a statement that
    returns no rows (PostgreSQL), ``(rowcount,)``."""
    db = connections[using]
    if db.vendor != "postgresql":
        with db.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()
    return run(db, _numbered(sql), params, logged_as=sql)


def execute(sql: str, params: list, *, using: str = DEFAULT_DB_ALIAS) -> int:
    """Run a hand-written write (``%s`` placeholders); the rows it changed."""
    db = connections[using]
    if db.vendor != "postgresql":
        with db.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.rowcount
    return fetch_one(sql, params, using=using)[0]
