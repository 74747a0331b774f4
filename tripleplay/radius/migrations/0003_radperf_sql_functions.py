"""PostgreSQL: the radius app's database function (radius/sql/*.sql: an Interim-Update's session row
and its charge in one call, D212), installed from the files; it calls the charging core's
(sessions/sql). A later change of a file comes with a migration that installs them again."""

from django.db import migrations

from tripleplay.core.sqlfiles import install, uninstall


def up(apps, schema_editor):
    install(schema_editor, "radius")


def down(apps, schema_editor):
    uninstall(schema_editor, "radius")


class Migration(migrations.Migration):
    dependencies = [("radius", "0002_radius_coa_reconcile"), ("charging_sessions", "0002_radperf_sql_functions")]
    operations = [migrations.RunPython(up, down)]
