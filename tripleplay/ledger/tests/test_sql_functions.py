"""The database functions kept as .sql files (ledger/sql, ppv/sql) are installed as the files say them
(PostgreSQL). A file changed without a migration that installs it again would leave databases migrated
before with the old definition; ``definitions_differ`` is how to see it."""

from __future__ import annotations

import pytest
from django.db import connection

from tripleplay.core.sqlfiles import definitions_differ, function_names, sql_files

pytestmark = pytest.mark.postgres


def test_the_files_are_the_ones_the_hot_path_calls():
    assert [n for p in sql_files("ledger") for n in function_names(p)] == [
        "ledger_capture_hold", "ledger_place_hold", "ledger_available_funds", "ppv_py_json"]
    assert [n for p in sql_files("ppv") for n in function_names(p)] == ["ppv_authorize_approve", "ppv_confirm_charge"]


@pytest.mark.parametrize("app", ["ledger", "ppv"])
def test_installed_definitions_equal_the_files(db, app):
    assert definitions_differ(app) == []


def test_a_definition_changed_in_the_database_is_found(db):
    with connection.cursor() as cursor:
        cursor.execute("CREATE OR REPLACE FUNCTION ppv_py_json(s text) RETURNS text LANGUAGE sql IMMUTABLE STRICT"
                       " AS $$ SELECT to_json(s)::text $$")
        assert definitions_differ("ledger") == ["ppv_py_json"]
        cursor.execute("DROP FUNCTION ledger_capture_hold")
        assert definitions_differ("ledger") == ["ledger_capture_hold", "ppv_py_json"]
    assert definitions_differ("ppv") == []
