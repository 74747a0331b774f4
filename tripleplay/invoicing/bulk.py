"""Set-based writes for the invoice run: ids taken in one statement, rows inserted with COPY
(PostgreSQL) or one executemany (SQLite), rows updated from a VALUES list in one UPDATE.

Why not bulk_create / bulk_update: for a batch of a thousand invoices the run writes ~20,000 rows, and
Django's per-object compilation of INSERT and CASE-WHEN UPDATE statements cost more than the
database's own work (the profile of bench/invoicing.py: 14 of 21 seconds). Every helper runs inside
the caller's transaction: ids taken from the sequence are lost on a rollback (ids may have holes;
invoice *numbers* come from the series row and never do)."""

from __future__ import annotations

import json

from django.db import connection, models


def _table(model: type[models.Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def take_ids(model: type[models.Model], count: int) -> list[int]:
    """``count`` new primary keys for ``model``'s table."""
    if count <= 0:
        return []
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, count])
            return [r[0] for r in cursor.fetchall()]
        # SQLite: the IMMEDIATE transaction holds the database's write lock, nobody inserts meanwhile;
        # AUTOINCREMENT's counter moves past explicit ids by itself.
        cursor.execute(f"SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = %s), 0),"
                       f" COALESCE((SELECT MAX(id) FROM {_table(model)}), 0))", [table])
        first = cursor.fetchone()[0] + 1
        return list(range(first, first + count))


def insert(model: type[models.Model], columns: list[str], rows: list[tuple]) -> None:
    """Insert ``rows`` (tuples of Python values in ``columns`` order, attnames) into ``model``'s table."""
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
