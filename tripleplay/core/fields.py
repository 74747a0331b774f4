"""Model fields the apps share.

``BigIntegerList``: a list of integers that a database function reads by subscript. On PostgreSQL
a ``bigint[]`` column (written as one array literal, ``Int8List``; read by psycopg as a Python list;
``a[k]`` is O(1) for an array of fixed-width values without NULLs); on SQLite, which has no arrays
and no such functions, JSON text. Django's own ArrayField is PostgreSQL-only: its column type would
reach SQLite and its values could not be bound there."""

from __future__ import annotations

import json

import psycopg
from django.core.exceptions import ValidationError
from django.db import models
from psycopg import postgres
from psycopg.adapt import Dumper


class Int8List(list):
    """A BigIntegerList's value on its way to PostgreSQL: written as one ``bigint[]`` literal by
    ``Int8ListDumper``. psycopg's own list dumper inspects and quotes each element in Python (a fast
    window's 768 numbers took 1.2 ms of an Accounting-Start, D298); the text form is the same array."""


class Int8ListDumper(Dumper):
    """``Int8List`` as PostgreSQL's array text, typed ``int8[]`` (client-side binding, Django's default,
    writes ``'{1,2}'::int8[]``; server-side binding sends the text with that type)."""

    oid = postgres.types["int8"].array_oid

    def dump(self, obj: Int8List) -> bytes:
        return ("{" + ",".join(map(str, obj)) + "}").encode()


psycopg.adapters.register_dumper(Int8List, Int8ListDumper)


class BigIntegerList(models.Field):
    description = "A list of 64-bit integers (bigint[] on PostgreSQL, JSON text elsewhere)"

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("default", list)
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)

    def db_type(self, connection):
        return "bigint[]" if connection.vendor == "postgresql" else "text"

    def get_db_prep_value(self, value, connection, prepared=False):
        if value is None:
            return None
        value = [int(v) for v in value]
        return Int8List(value) if connection.vendor == "postgresql" else json.dumps(value)

    def from_db_value(self, value, expression, connection):
        if value is None or isinstance(value, list):
            return value
        return json.loads(value)

    def to_python(self, value):
        if value is None or isinstance(value, list):
            return value
        try:
            return [int(v) for v in json.loads(value)]
        except (TypeError, ValueError) as e:
            raise ValidationError(f"not a list of integers: {e}") from e
