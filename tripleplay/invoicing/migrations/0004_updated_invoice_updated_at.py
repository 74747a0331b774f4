"""updated_at on Invoice: the time of its last change, for "what changed since" (D250).

Existing rows get their creation time: none has a record of a later change.
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [("invoicing", "0003_fewer_indexes")]

    operations = [
        migrations.AddField(model_name="invoice", name="updated_at", field=models.DateTimeField(null=True)),
        migrations.RunSQL("UPDATE invoicing_invoice SET updated_at = created_at", migrations.RunSQL.noop),
        migrations.AlterField(model_name="invoice", name="updated_at", field=models.DateTimeField(db_index=True)),
    ]
