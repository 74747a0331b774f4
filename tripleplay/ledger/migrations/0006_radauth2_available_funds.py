"""PostgreSQL: a customer's available funds as a set-returning read, ledger_available_funds
(ledger/sql/ledger_reads.sql, D291), which the caller's plan inlines, instead of the scalar
ledger_available_minor, whose body PostgreSQL planned again at every Access-Request. Installs the ledger's
files again and drops the scalar function (radius 0007 replaces its only caller)."""

from django.db import migrations

from tripleplay.core.sqlfiles import install

SCALAR = """CREATE OR REPLACE FUNCTION ledger_available_minor(p_customer bigint) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT f.balance_minor + f.credit_limit_minor - f.held_minor FROM ledger_funds f WHERE f.customer_id = p_customer
$$"""


def up(apps, schema_editor):
    install(schema_editor, "ledger")
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS ledger_available_minor(bigint)", params=None)


def down(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(SCALAR, params=None)
        schema_editor.execute("DROP FUNCTION IF EXISTS ledger_available_funds(bigint)", params=None)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0005_ledger_read_functions")]
    operations = [migrations.RunPython(up, down)]
