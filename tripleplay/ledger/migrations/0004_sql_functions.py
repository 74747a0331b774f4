"""PostgreSQL: the ledger's database functions (ledger/sql/*.sql: a hold placed, a hold captured, and
the JSON string helper their fingerprints use), called by the PPV hot path's functions (ppv/sql).
Installed from the files; a later change of a file comes with a migration that installs them again."""

from django.db import migrations

from tripleplay.core.sqlfiles import install, uninstall


def up(apps, schema_editor):
    install(schema_editor, "ledger")


def down(apps, schema_editor):
    uninstall(schema_editor, "ledger")


class Migration(migrations.Migration):
    dependencies = [("ledger", "0003_lean_indexes"), ("audit", "0002_lean_indexes")]
    operations = [migrations.RunPython(up, down)]
