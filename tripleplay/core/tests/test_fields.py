"""BigIntegerList: a list of 64-bit integers in a bigint[] column (PostgreSQL) or JSON text."""

import pytest
from django.db import connection

from tripleplay.core.fields import BigIntegerList, Int8List


def test_values_go_to_the_database_as_integers():
    field = BigIntegerList()
    value = field.get_db_prep_value(["1", 2, True], connection)
    if connection.vendor == "postgresql":
        assert isinstance(value, Int8List) and value == [1, 2, 1]
    else:
        assert value == "[1, 2, 1]"
    assert field.get_db_prep_value(None, connection) is None


@pytest.mark.postgres
@pytest.mark.django_db
def test_an_int8list_is_one_bigint_array_literal_both_ways():
    # One literal instead of psycopg's per-element list dumper (D298): the same array comes back.
    values = Int8List([0, -1, 2**63 - 1, -(2**63), 768])
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s, pg_typeof(%s)::text, cardinality(%s)", [values, values, Int8List([])])
        assert cursor.fetchone() == ([0, -1, 2**63 - 1, -(2**63), 768], "bigint[]", 0)
