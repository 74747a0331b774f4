"""PostgreSQL: EXECUTE on the ledger app's database functions (ledger/sql/*.sql) revoked from PUBLIC (D300):
tripleplay's own login owns and calls them; FreeRADIUS's SQL-path role (radius.sqlrole) is granted only the
SQL path's functions, so it cannot call these. The files installed again (unchanged) and revoked."""

from django.db import migrations

from tripleplay.core.sqlfiles import install


def up(apps, schema_editor):
    install(schema_editor, "ledger")


class Migration(migrations.Migration):
    dependencies = [("ledger", "0007_radfast2_no_open_hold_read")]
    operations = [migrations.RunPython(up, migrations.RunPython.noop)]
