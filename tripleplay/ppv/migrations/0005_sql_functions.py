"""PostgreSQL: the PPV hot path's database functions (ppv/sql/*.sql), installed from the files. They
replace the definitions migration 0002 used to create (a database migrated before keeps its functions'
names and signatures, with bodies that now call the ledger's functions for every money write); a
later change of a file comes with a migration that installs them again."""

from django.db import migrations

from tripleplay.core.sqlfiles import install, uninstall


def up(apps, schema_editor):
    install(schema_editor, "ppv")


def down(apps, schema_editor):
    uninstall(schema_editor, "ppv")


class Migration(migrations.Migration):
    dependencies = [("ppv", "0004_partial_entry_uniques"), ("ledger", "0004_sql_functions")]
    operations = [migrations.RunPython(up, down)]
