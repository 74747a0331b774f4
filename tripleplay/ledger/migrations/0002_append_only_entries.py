"""The ledger is append-only, enforced by the database itself, not only by the code.

PostgreSQL: a trigger refuses UPDATE and DELETE on ledger entries (TRUNCATE, used only by test
flushes and disaster recovery, is a different statement and is not blocked).
SQLite: a trigger refuses UPDATE. DELETE is not blocked there because Django's test flush deletes
rows; no code path deletes entries (the admin cannot) and PostgreSQL, the production database,
refuses it.
"""

from django.db import migrations

PG_UP = """
CREATE OR REPLACE FUNCTION ledger_entry_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'ledger entries are append-only: % refused', TG_OP USING ERRCODE = 'integrity_constraint_violation';
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER ledger_entry_append_only BEFORE UPDATE OR DELETE ON ledger_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION ledger_entry_append_only();
"""
PG_DOWN = """
DROP TRIGGER IF EXISTS ledger_entry_append_only ON ledger_ledgerentry;
DROP FUNCTION IF EXISTS ledger_entry_append_only();
"""
SQLITE_UP = """
CREATE TRIGGER ledger_entry_no_update BEFORE UPDATE ON ledger_ledgerentry
BEGIN
    SELECT RAISE(ABORT, 'ledger entries are append-only: UPDATE refused');
END;
"""
SQLITE_DOWN = "DROP TRIGGER IF EXISTS ledger_entry_no_update;"


def up(apps, schema_editor):
    sql = {"postgresql": PG_UP, "sqlite": SQLITE_UP}.get(schema_editor.connection.vendor)
    if sql:
        schema_editor.execute(sql, params=None)


def down(apps, schema_editor):
    sql = {"postgresql": PG_DOWN, "sqlite": SQLITE_DOWN}.get(schema_editor.connection.vendor)
    if sql:
        schema_editor.execute(sql, params=None)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]
    operations = [migrations.RunPython(up, down)]
