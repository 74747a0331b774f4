"""Fewer index writes per hold and entry (docs/ppv.md, Performance; decision D52): the unique
idempotency keys become UniqueConstraints (no varchar_pattern_ops twin), the entry's customer index
is left to (customer, id), the hold's expiry index holds only active holds, the hold's entry is
unique where set (no index of NULLs), and account ids are not indexed in holds and entries (no
query selects by them; accounts are never deleted).

SQLite alters a column by rebuilding the table, which drops its triggers: the append-only trigger
of migration 0002 is created again at the end, and again when the migration is unapplied
(test_ledger_entries_cannot_be_updated).
"""

import django.db.models.deletion
from django.db import migrations, models

SQLITE_APPEND_ONLY = """
CREATE TRIGGER IF NOT EXISTS ledger_entry_no_update BEFORE UPDATE ON ledger_ledgerentry
BEGIN
    SELECT RAISE(ABORT, 'ledger entries are append-only: UPDATE refused');
END;
"""


def restore_sqlite_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(SQLITE_APPEND_ONLY, params=None)


class Migration(migrations.Migration):

    dependencies = [
        ('customers', '0001_initial'),
        ('ledger', '0002_append_only_entries'),
    ]

    operations = [
        # Reversed last: unapplying the AlterFields rebuilds the table on SQLite too.
        migrations.RunPython(migrations.RunPython.noop, restore_sqlite_trigger),
        migrations.RemoveIndex(
            model_name='hold',
            name='ledger_hold_status_396601_idx',
        ),
        migrations.AlterField(
            model_name='hold',
            name='expires_at',
            field=models.DateTimeField(),
        ),
        migrations.AlterField(
            model_name='hold',
            name='idempotency_key',
            field=models.CharField(max_length=128),
        ),
        migrations.AlterField(
            model_name='ledgerentry',
            name='customer',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='entries', to='customers.customer'),
        ),
        migrations.AlterField(
            model_name='ledgerentry',
            name='idempotency_key',
            field=models.CharField(max_length=128),
        ),
        migrations.AddIndex(
            model_name='hold',
            index=models.Index(condition=models.Q(('status', 'active')), fields=['expires_at'], name='ledger_hold_active_expiry'),
        ),
        migrations.AddConstraint(
            model_name='hold',
            constraint=models.UniqueConstraint(fields=('idempotency_key',), name='ledger_hold_idempotency_key_unique'),
        ),
        migrations.AddConstraint(
            model_name='ledgerentry',
            constraint=models.UniqueConstraint(fields=('idempotency_key',), name='ledger_entry_idempotency_key_unique'),
        ),
        migrations.AlterField(
            model_name='hold',
            name='entry',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='ledger.ledgerentry'),
        ),
        migrations.AddConstraint(
            model_name='hold',
            constraint=models.UniqueConstraint(condition=models.Q(('entry__isnull', False)), fields=('entry',), name='ledger_hold_entry_unique'),
        ),
        migrations.AlterField(
            model_name='hold',
            name='account',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='holds', to='customers.account'),
        ),
        migrations.AlterField(
            model_name='ledgerentry',
            name='account',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='entries', to='customers.account'),
        ),
        migrations.RunPython(restore_sqlite_trigger, migrations.RunPython.noop),
    ]
