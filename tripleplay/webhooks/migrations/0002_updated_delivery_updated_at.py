"""updated_at on Delivery: the time of its last change, for "what changed since" (D250).

Existing rows get their creation time: none has a record of a later change.
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [("webhooks", "0001_endpoints_events_deliveries")]

    operations = [
        migrations.AddField(model_name="delivery", name="updated_at", field=models.DateTimeField(null=True)),
        migrations.RunSQL("UPDATE webhooks_delivery SET updated_at = created_at", migrations.RunSQL.noop),
        migrations.AlterField(model_name="delivery", name="updated_at", field=models.DateTimeField(db_index=True)),
    ]
