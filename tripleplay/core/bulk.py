"""Set-based writes and reads that know no table: ids reserved before rows are written, rows inserted
by COPY (PostgreSQL) or one executemany (SQLite), rows updated from a list of values in one UPDATE,
"is one of" lookups. Bulk rating, the invoice run and the ledger's set-based API (ledger/bulk.py)
all write through these; which tables they may name is theirs to say (only the ledger names the
money tables: tripleplay/ledger/tests/test_one_door.py).

Why not bulk_create / bulk_update: for a batch of a thousand invoices the run writes ~20,000 rows, and
Django's per-object compilation of INSERT and CASE-WHEN UPDATE statements cost more than the
database's own work. Every helper runs inside the caller's transaction: ids taken from a sequence are
lost on a rollback (ids may have holes)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import date, datetime

from django.db import connection, models
from psycopg.copy import Copy, FileWriter
from psycopg.types.json import Jsonb

# PostgreSQL types of typed (binary COPY) column maps: column name -> type, in row order.
TEXT, INT8, INT4, TIMESTAMPTZ, JSONB, BOOL, DATE = "text", "int8", "int4", "timestamptz", "jsonb", "bool", "date"


def _as_is(text: str) -> str:
    return text


def jsonb_text(text: str) -> Jsonb:
    """A jsonb value for COPY from JSON text already encoded."""
    return Jsonb(text, dumps=_as_is)


def batches(values: list, size: int | None = None) -> Iterator[list]:
    size = size or (10_000 if connection.vendor == "postgresql" else 900)
    for i in range(0, len(values), size):
        yield values[i:i + size]


def select_in(sql: str, params: list, values: list) -> list[tuple]:
    """Run ``sql`` whose ``{in}`` is "is one of ``values``": one ``= ANY(array)`` on PostgreSQL (one
    parameter, however many values), IN lists in batches on SQLite."""
    if not values:
        return []
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute(sql.replace("{in}", "= ANY(%s)"), [*params, values])
            return cur.fetchall()
        rows = []
        for batch in batches(values):
            cur.execute(sql.replace("{in}", f"IN ({', '.join(['%s'] * len(batch))})"), [*params, *batch])
            rows += cur.fetchall()
        return rows


_SEQUENCES: dict[str, str] = {}


def reserve_ids(table: str, n: int) -> list[int]:
    """``n`` new primary keys of ``table``, taken now so that rows can point at each other before they
    are written (xDR -> ledger entry) and be written by COPY."""
    if n <= 0:
        return []
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            sequence = _SEQUENCES.get(table)
            if sequence is None:
                cur.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
                sequence = _SEQUENCES[table] = cur.fetchone()[0]
            cur.execute("SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [sequence, n])
            return [r[0] for r in cur.fetchall()]
        # SQLite: the IMMEDIATE transaction holds the database's write lock, nobody inserts meanwhile;
        # AUTOINCREMENT's counter moves past explicit ids by itself.
        cur.execute(f"SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = '{table}'), 0),"
                    f" coalesce((SELECT max(id) FROM {table}), 0))")
        start = cur.fetchone()[0] + 1
        return list(range(start, start + n))


def take_ids(model: type[models.Model], count: int) -> list[int]:
    """``count`` new primary keys for ``model``'s table."""
    return reserve_ids(model._meta.db_table, count)


def insert_rows(table: str, columns: dict[str, str], rows: list[tuple]) -> None:
    """Binary COPY on PostgreSQL (``columns``: name -> PostgreSQL type, in row order; binary with the
    types given is about four times faster than text COPY); executemany on SQLite (datetimes adapted as
    Django stores them). JSON columns are given as text."""
    if not rows:
        return
    names = ", ".join(columns)
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            # The driver's own copy(): wrap its errors into Django's (IntegrityError ...) as execute() does.
            sql = f"COPY {table} ({names}) FROM STDIN (FORMAT BINARY)"
            with connection.wrap_database_errors, cur.cursor.copy(sql) as copy:
                copy.set_types(list(columns.values()))
                for row in rows:
                    copy.write_row(row)
            return
        adapt = connection.ops.adapt_datetimefield_value
        rows = [tuple(adapt(v) if isinstance(v, datetime) else v.isoformat() if isinstance(v, date) else v
                      for v in row) for row in rows]
        cur.executemany(f"INSERT INTO {table} ({names}) VALUES ({', '.join(['%s'] * len(columns))})", rows)


def copy_data(cursor, columns: dict[str, str], rows: list[tuple]) -> bytes:
    """``rows`` as binary COPY data, formatted by the driver without sending anything
    (``psycopg.copy.FileWriter``): a second thread formats, the main thread only sends.
    ``cursor``: a psycopg cursor of the connection (for its adapters), never executed."""
    out = io.BytesIO()
    with Copy(cursor, binary=True, writer=FileWriter(out)) as copy:
        copy.set_types(list(columns.values()))
        for row in rows:
            copy.write_row(row)
    return out.getvalue()


def send_copy_data(table: str, columns: dict[str, str], data: bytes) -> None:
    """Write binary COPY data made by ``copy_data`` (PostgreSQL)."""
    with connection.cursor() as cur, connection.wrap_database_errors, cur.cursor.copy(
            f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.write(data)


def _table(model: type[models.Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def insert(model: type[models.Model], columns: list[str], rows: list[tuple]) -> None:
    """Insert ``rows`` (tuples of Python values in ``columns`` order, attnames) into ``model``'s table:
    text COPY on PostgreSQL (values converted by the driver, JSON fields dumped here), executemany with
    each field's own conversion on SQLite."""
    if not rows:
        return
    fields = [model._meta.get_field(c) for c in columns]
    names = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            json_at = [i for i, f in enumerate(fields) if isinstance(f, models.JSONField)]
            with cursor.cursor.copy(f"COPY {_table(model)} ({names}) FROM STDIN") as copy:
                for row in rows:
                    if json_at:
                        row = list(row)
                        for i in json_at:
                            row[i] = json.dumps(row[i])
                    copy.write_row(row)
            return
        marks = ", ".join(["%s"] * len(fields))
        prepared = [tuple(f.get_db_prep_save(v, connection) for f, v in zip(fields, row, strict=True)) for row in rows]
        cursor.executemany(f"INSERT INTO {_table(model)} ({names}) VALUES ({marks})", prepared)


def update_from_values(model: type[models.Model], key: str, columns: list[str], rows: list[tuple],
                       chunk: int = 2000) -> None:
    """``UPDATE table SET columns = v.columns FROM (rows) v WHERE table.key = v.key``; each row is
    (key, *values). PostgreSQL: one array parameter per column, unnested (a VALUES list of a thousand
    rows costs psycopg more to parse for placeholders than the database takes to run the UPDATE)."""
    if not rows:
        return
    fields = [model._meta.get_field(c) for c in [key, *columns]]
    cols = [f.column for f in fields]
    alias = [f"c{i}" for i in range(len(cols))]
    table = _table(model)
    sets = ", ".join(f"{connection.ops.quote_name(c)} = v.{a}" for c, a in zip(cols[1:], alias[1:], strict=True))
    where = f"{table}.{connection.ops.quote_name(cols[0])} = v.{alias[0]}"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            arrays = ", ".join(f"%s::{_cast(f)}[]" for f in fields)
            # Integers and dates go to psycopg as they are (get_db_prep_save would return them unchanged).
            params = [[f.get_db_prep_save(row[i], connection) for row in rows] if _cast(f) == "text"
                      else [row[i] for row in rows] for i, f in enumerate(fields)]
            cursor.execute(f"UPDATE {table} SET {sets} FROM unnest({arrays}) AS v({', '.join(alias)}) WHERE {where}",
                           params)
            return
        for start in range(0, len(rows), chunk):
            part = rows[start:start + chunk]
            values = ", ".join(["(" + ", ".join(["%s"] * len(cols)) + ")"] * len(part))
            params = [f.get_db_prep_save(v, connection) for row in part for f, v in zip(fields, row, strict=True)]
            cursor.execute(f"WITH v({', '.join(alias)}) AS (VALUES {values}) UPDATE {table} SET {sets} FROM v"
                           f" WHERE {where}", params)


def _cast(field: models.Field) -> str:
    """The PostgreSQL type of a column's array parameter."""
    if isinstance(field, models.DateField) and not isinstance(field, models.DateTimeField):
        return "date"
    if isinstance(field, (models.BigIntegerField, models.ForeignKey, models.OneToOneField, models.IntegerField)):
        return "bigint"
    return "text"
