"""History: this migration created the PPV hot path's database functions (one round trip per
authorize and per confirm instead of eight). Their SQL now lives in files owned by the app whose
tables each writes (ppv/sql, ledger/sql) and is installed by ppv 0005 and ledger 0004, on a fresh
database and on one that ran this migration before (CREATE OR REPLACE, the same signatures). Kept,
doing nothing, because later migrations depend on it."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("ppv", "0001_initial"), ("ledger", "0002_append_only_entries"), ("audit", "0001_initial")]
    operations = [migrations.RunPython(migrations.RunPython.noop, migrations.RunPython.noop)]
