"""PostgreSQL: radius_sql_post_auth_batch (radius/sql/radius_sql_authorize.sql, D290), the SQL path's
accepted logins recorded many to a statement, and radius_sql_authorize_pap reading the funds through the
ledger's set-returning ledger_available_funds (D291); the radius app's files installed again."""

from django.db import migrations

from tripleplay.core.sqlfiles import install


def up(apps, schema_editor):
    install(schema_editor, "radius")


def down(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS radius_sql_post_auth_batch", params=None)


class Migration(migrations.Migration):
    dependencies = [("radius", "0006_radfast_sql_interim"), ("ledger", "0006_radauth2_available_funds")]
    operations = [migrations.RunPython(up, down)]
