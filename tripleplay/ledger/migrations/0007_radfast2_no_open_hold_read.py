"""PostgreSQL: ledger_open_hold_minor dropped: its only caller, radius_sql_interim, reads no hold since
D295 (a window is opened with its hold and closed with it; radius 0008 replaces the function)."""

from django.db import migrations

SCALAR = """CREATE OR REPLACE FUNCTION ledger_open_hold_minor(p_hold bigint, p_now timestamptz) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT h.amount_minor FROM ledger_hold h WHERE h.id = p_hold AND h.status = 'active' AND h.expires_at > p_now
$$"""


def up(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS ledger_open_hold_minor(bigint, timestamptz)", params=None)


def down(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(SCALAR, params=None)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0006_radauth2_available_funds")]
    operations = [migrations.RunPython(up, down)]
