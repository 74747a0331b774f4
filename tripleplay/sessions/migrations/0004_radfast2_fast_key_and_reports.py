"""The fast window as a bigint[] read by subscript, the session's lookup key for the fast path, and
the client's counters on the session row (D295): the database function updates this row only.
Windows open when this runs are closed first (their fast_until brought to now): the settle job
posts what they charged and the session's next report opens a window in the new form. On
PostgreSQL the row's wide values (the window, the answers) are kept out of the heap row
(toast_tuple_target 128): the function's UPDATE writes a new version of the narrow rest only."""

from django.db import migrations, models
from django.db.models import Q
from django.db.models.functions import Least, Now

import tripleplay.core.fields


def close_windows(apps, schema_editor):
    apps.get_model("charging_sessions", "ChargingSession").objects.filter(fast_until__isnull=False).update(
        fast_until=Least("fast_until", Now()))


def narrow_rows(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE charging_sessions_chargingsession SET (toast_tuple_target = 128)",
                              params=None)


class Migration(migrations.Migration):

    dependencies = [
        ('charging_sessions', '0003_radfast_fast_window'),
        ('customers', '0004_integ_external_id_metadata'),
        ('ledger', '0005_ledger_read_functions'),
    ]

    operations = [
        migrations.RunPython(close_windows, migrations.RunPython.noop),
        migrations.RemoveField(
            model_name='chargingsession',
            name='fast_steps',
        ),
        migrations.AddField(
            model_name='chargingsession',
            name='fast_key',
            field=models.CharField(blank=True, max_length=300, null=True),
        ),
        migrations.AddField(
            model_name='chargingsession',
            name='fast_reports',
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='chargingsession',
            name='fast_window',
            field=tripleplay.core.fields.BigIntegerList(blank=True, default=list),
        ),
        migrations.AddField(
            model_name='chargingsession',
            name='reported_address',
            field=models.GenericIPAddressField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='chargingsession',
            name='reported_input',
            field=models.BigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='chargingsession',
            name='reported_output',
            field=models.BigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='chargingsession',
            name='reported_seconds',
            field=models.BigIntegerField(default=0),
        ),
        migrations.RunPython(narrow_rows, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='chargingsession',
            constraint=models.UniqueConstraint(condition=Q(('fast_key__isnull', False)), fields=('fast_key',),
                                               name='charging_session_fast_key_unique'),
        ),
    ]
