"""PostgreSQL: radius_sql_interim on the session's narrow window row (D296) instead of the charging
session row; the radius app's files installed again."""

from django.db import migrations

from tripleplay.core.sqlfiles import install


def up(apps, schema_editor):
    install(schema_editor, "radius")


class Migration(migrations.Migration):
    dependencies = [("radius", "0008_radfast2_one_row_interim"), ("charging_sessions", "0005_radfast3_window_table")]
    operations = [migrations.RunPython(up, migrations.RunPython.noop)]
