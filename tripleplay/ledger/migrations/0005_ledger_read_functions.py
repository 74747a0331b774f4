"""PostgreSQL: the ledger's read functions (ledger/sql/ledger_reads.sql: a customer's available funds,
what an active hold holds), for the RADIUS SQL path's functions (radius/sql), which may not name the
money tables themselves (the one door). Installs the ledger's files again."""

from django.db import migrations

from tripleplay.core.sqlfiles import install


def up(apps, schema_editor):
    install(schema_editor, "ledger")


def down(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS ledger_available_minor(bigint)", params=None)
        schema_editor.execute("DROP FUNCTION IF EXISTS ledger_open_hold_minor(bigint, timestamptz)", params=None)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0004_sql_functions")]
    operations = [migrations.RunPython(up, down)]
