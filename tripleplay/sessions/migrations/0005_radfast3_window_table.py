"""A session's fast window in a narrow table of its own (D296): the one row the database function reads
and writes per Interim-Update (ChargingWindow), instead of the charging session's wide row. Windows
open when this runs are closed first (fast_until brought to now): the settle job posts what they
charged and the session's next report opens one in the new table. On PostgreSQL the window table
keeps half of each page free (its UPDATE stays on the page, a HOT update), and the session row's
toast_tuple_target of 0004 is reset (no fast write to it any more)."""

from django.db import migrations, models
from django.db.models.functions import Least, Now

import tripleplay.core.fields


def close_windows(apps, schema_editor):
    apps.get_model("charging_sessions", "ChargingSession").objects.filter(fast_until__isnull=False).update(
        fast_until=Least("fast_until", Now()))


def storage(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE charging_sessions_chargingwindow SET (fillfactor = 50)", params=None)
        schema_editor.execute("ALTER TABLE charging_sessions_chargingsession RESET (toast_tuple_target)", params=None)


class Migration(migrations.Migration):

    dependencies = [
        ('charging_sessions', '0004_radfast2_fast_key_and_reports'),
    ]

    operations = [
        migrations.RunPython(close_windows, migrations.RunPython.noop),
        migrations.CreateModel(
            name='ChargingWindow',
            fields=[
                ('session', models.OneToOneField(on_delete=models.deletion.CASCADE, primary_key=True, related_name='window',
                                                 serialize=False, to='charging_sessions.chargingsession')),
                ('key', models.CharField(blank=True, max_length=300, null=True, unique=True)),
                ('hold_id', models.BigIntegerField(blank=True, null=True)),
                ('until', models.DateTimeField(blank=True, null=True)),
                ('used_wire', models.BigIntegerField(default=0)),
                ('billed', models.BigIntegerField(default=0)),
                ('charged_minor', models.BigIntegerField(default=0)),
                ('last_seen_at', models.DateTimeField()),
                ('reported_input', models.BigIntegerField(default=0)),
                ('reported_output', models.BigIntegerField(default=0)),
                ('reported_seconds', models.BigIntegerField(default=0)),
                ('reported_address', models.GenericIPAddressField(blank=True, null=True)),
                ('reports', models.PositiveIntegerField(default=0)),
                ('steps', tripleplay.core.fields.BigIntegerList(blank=True, default=list)),
            ],
        ),
        migrations.RemoveConstraint(
            model_name='chargingsession',
            name='charging_session_fast_key_unique',
        ),
        migrations.RemoveField(
            model_name='chargingsession',
            name='fast_key',
        ),
        migrations.RemoveField(
            model_name='chargingsession',
            name='fast_reports',
        ),
        migrations.RemoveField(
            model_name='chargingsession',
            name='fast_window',
        ),
        migrations.RemoveField(
            model_name='chargingsession',
            name='reported_address',
        ),
        migrations.RemoveField(
            model_name='chargingsession',
            name='reported_input',
        ),
        migrations.RemoveField(
            model_name='chargingsession',
            name='reported_output',
        ),
        migrations.RemoveField(
            model_name='chargingsession',
            name='reported_seconds',
        ),
        migrations.RunPython(storage, migrations.RunPython.noop),
    ]
