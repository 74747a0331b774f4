"""The fast window of a charging session (D280): what the ledger has of it (posted_*), the window the
database function charges within and the settle job's index; the charging core's functions installed
again (sessions/sql: sessions_update_charge keeps posted_* equal to what it posts and closes any
window). On PostgreSQL the table keeps a fifth of each page free, so that the function's UPDATE of a
session row (no indexed column) stays on its page (a HOT update: no index written)."""

from django.db import migrations, models
from django.db.models import F

from tripleplay.core.sqlfiles import install


def posted(apps, schema_editor):
    # Every existing session's charges were posted as they were made.
    apps.get_model("charging_sessions", "ChargingSession").objects.update(
        posted_minor=F("charged_minor"), posted_billed=F("billed"), posted_wire=F("used_wire"))


def functions(apps, schema_editor):
    install(schema_editor, "sessions")
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE charging_sessions_chargingsession SET (fillfactor = 80)", params=None)


class Migration(migrations.Migration):

    dependencies = [
        ('charging_sessions', '0002_radperf_sql_functions'),
        ('customers', '0004_integ_external_id_metadata'),
        ('ledger', '0004_sql_functions'),
    ]

    operations = [
        migrations.AddField(
            model_name='chargingsession',
            name='fast_idle_seconds',
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='chargingsession',
            name='fast_steps',
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name='chargingsession',
            name='fast_until',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='chargingsession',
            name='posted_billed',
            field=models.BigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='chargingsession',
            name='posted_minor',
            field=models.BigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='chargingsession',
            name='posted_wire',
            field=models.BigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='chargingsession',
            name='windowed',
            field=models.BooleanField(default=False),
        ),
        migrations.AddConstraint(
            model_name='chargingsession',
            constraint=models.CheckConstraint(condition=models.Q(('posted_minor__gte', 0), ('posted_minor__lte', models.F('charged_minor'))), name='charging_session_posted_le_charged'),
        ),
        migrations.AddIndex(
            model_name='chargingsession',
            index=models.Index(condition=models.Q(('fast_until__isnull', False), ('status', 'active')),
                               fields=['fast_until'], name='charging_session_fast_until'),
        ),
        migrations.RunPython(posted, migrations.RunPython.noop),
        migrations.RunPython(functions, migrations.RunPython.noop),
    ]
