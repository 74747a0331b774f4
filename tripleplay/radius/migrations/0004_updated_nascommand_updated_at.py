"""updated_at on NasCommand: the time of its last change, for "what changed since" (D250).

Existing rows get their creation time: none has a record of a later change.
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [("radius", "0003_radperf_sql_functions")]

    operations = [
        migrations.AddField(model_name="nascommand", name="updated_at", field=models.DateTimeField(null=True)),
        migrations.RunSQL("UPDATE radius_nascommand SET updated_at = created_at", migrations.RunSQL.noop),
        migrations.AlterField(model_name="nascommand", name="updated_at", field=models.DateTimeField(db_index=True)),
    ]
