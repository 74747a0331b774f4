"""PostgreSQL: the charging core's database function (sessions/sql/*.sql: a report that adds usage,
charged in one call, D212), installed from the files; it calls the ledger's (ledger/sql) and writes the
interval's xDR (rating). A later change of a file comes with a migration that installs them again."""

from django.db import migrations

from tripleplay.core.sqlfiles import install, uninstall


def up(apps, schema_editor):
    install(schema_editor, "sessions")


def down(apps, schema_editor):
    uninstall(schema_editor, "sessions")


class Migration(migrations.Migration):
    dependencies = [("charging_sessions", "0001_charging_sessions_and_softswitches"), ("ledger", "0004_sql_functions"),
                    ("rating", "0004_rate_first_next_interval_prices")]
    operations = [migrations.RunPython(up, down)]
