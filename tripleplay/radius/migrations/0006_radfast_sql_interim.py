"""PostgreSQL: radius_sql_interim (radius/sql/radius_sql_interim.sql, D280), an Interim-Update inside its
session's fast window in one statement, for FreeRADIUS's rlm_sql and the accounting view; the radius
app's files installed again (radius_interim_update is unchanged)."""

from django.db import migrations

from tripleplay.core.sqlfiles import install


def up(apps, schema_editor):
    install(schema_editor, "radius")


def down(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS radius_sql_interim", params=None)


class Migration(migrations.Migration):
    dependencies = [("radius", "0005_radauth_sql_path"), ("charging_sessions", "0003_radfast_fast_window")]
    operations = [migrations.RunPython(up, down)]
