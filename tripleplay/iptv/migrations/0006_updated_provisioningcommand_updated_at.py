"""updated_at on ProvisioningCommand: the time of its last change, for "what changed since" (D250).

Existing rows get their creation time: none has a record of a later change.
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [("iptv", "0005_tvipbill_inbound_secret")]

    operations = [
        migrations.AddField(model_name="provisioningcommand", name="updated_at", field=models.DateTimeField(null=True)),
        migrations.RunSQL("UPDATE iptv_provisioningcommand SET updated_at = created_at", migrations.RunSQL.noop),
        migrations.AlterField(model_name="provisioningcommand", name="updated_at", field=models.DateTimeField(db_index=True)),
    ]
