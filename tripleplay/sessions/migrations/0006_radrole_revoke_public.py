"""PostgreSQL: EXECUTE on the sessions app's database functions (sessions/sql/*.sql) revoked from PUBLIC (D300):
tripleplay's own login owns and calls them; FreeRADIUS's SQL-path role (radius.sqlrole) is granted only the
SQL path's functions, so it cannot call these. The files installed again (unchanged) and revoked."""

from django.db import migrations

from tripleplay.core.sqlfiles import install


def up(apps, schema_editor):
    install(schema_editor, "sessions")


class Migration(migrations.Migration):
    dependencies = [("charging_sessions", "0005_radfast3_window_table")]
    operations = [migrations.RunPython(up, migrations.RunPython.noop)]
