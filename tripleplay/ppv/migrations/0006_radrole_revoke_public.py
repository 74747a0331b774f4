"""PostgreSQL: EXECUTE on the ppv app's database functions (ppv/sql/*.sql) revoked from PUBLIC (D300):
tripleplay's own login owns and calls them; FreeRADIUS's SQL-path role (radius.sqlrole) is granted only the
SQL path's functions, so it cannot call these. The files installed again (unchanged) and revoked."""

from django.db import migrations

from tripleplay.core.sqlfiles import install


def up(apps, schema_editor):
    install(schema_editor, "ppv")


class Migration(migrations.Migration):
    dependencies = [("ppv", "0005_sql_functions")]
    operations = [migrations.RunPython(up, migrations.RunPython.noop)]
