"""One row of a hand-written hot-path statement, prepared on PostgreSQL (D210).

The statements FreeRADIUS's calls run thousands of times a second are written once with ``%s``
placeholders. On PostgreSQL they run as the PPV hot path's do (ppv.services._execute_prepared, D51):
server-side binding on a psycopg RawCursor (the ``%s`` turned into ``$n`` once per statement) and a
prepared statement, so that PostgreSQL parses and plans each one once per connection. Django's
connection.cursor() is a ClientCursor, which quotes the parameters into the text and is never
prepared. On SQLite (and any other vendor) they run on Django's cursor as written.

Django's error translation (``wrap_database_errors``) and its debug query log still apply.
"""

from __future__ import annotations

import re
import time

from django.db import DEFAULT_DB_ALIAS, connections

_NEVER_AUTOMATIC = 2 ** 31 - 1  # psycopg prepares a statement after this many executions: never, unasked
_PLACEHOLDER = re.compile(r"%s")
_NUMBERED: dict[str, str] = {}


def _numbered(sql: str) -> str:
    out = _NUMBERED.get(sql)
    if out is None:
        counter = iter(range(1, 10_000))
        out = _NUMBERED[sql] = _PLACEHOLDER.sub(lambda _m: f"${next(counter)}", sql)
    return out


def fetch_one(sql: str, params: list, *, using: str = DEFAULT_DB_ALIAS) -> tuple | None:
    """The first row of ``sql`` (``%s`` placeholders, no literal ``%``), or None; for a statement that
    returns no rows (PostgreSQL), ``(rowcount,)``."""
    db = connections[using]
    if db.vendor != "postgresql":
        with db.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()
    import psycopg
    from psycopg import pq

    db.ensure_connection()
    pg = db.connection
    if pg.prepare_threshold is None:
        pg.prepare_threshold = _NEVER_AUTOMATIC
    started = time.monotonic()
    with db.wrap_database_errors, psycopg.RawCursor(pg) as cursor:
        cursor.execute(_numbered(sql), params, prepare=True)
        # The result's status, not cursor.description: description builds a Column object per column
        # on every call (a twelfth of authorize's time in process, D241).
        returns_rows = cursor.pgresult is not None and cursor.pgresult.status == pq.ExecStatus.TUPLES_OK
        row = cursor.fetchone() if returns_rows else (cursor.rowcount,)
    if db.queries_logged:
        db.queries_log.append({"sql": sql, "time": f"{time.monotonic() - started:.3f}"})
    return row


def execute(sql: str, params: list, *, using: str = DEFAULT_DB_ALIAS) -> int:
    """Run a hand-written write (``%s`` placeholders); the rows it changed."""
    db = connections[using]
    if db.vendor != "postgresql":
        with db.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.rowcount
    return fetch_one(sql, params, using=using)[0]
