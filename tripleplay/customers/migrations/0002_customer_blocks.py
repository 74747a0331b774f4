"""Each source's hold on a customer as data (CustomerBlock), backfilled from today's statuses.

Until now who held a suspended or blocked customer was told by the text of status_reason; the texts
below are the ones tripleplay.collections and tripleplay.subscriptions wrote (copied here: a
migration must not change meaning when the code does). Any other suspension or block was an
operator's. Closed customers get no hold: closed is final.
"""

import django.db.models.deletion
from django.db import migrations, models

OVERDUE = "overdue invoice (collections)"
OVERDUE_BLOCK = "overdue invoice: blocked by collections"
INSUFFICIENT_FUNDS = "insufficient funds"


def _source_of(status, reason):
    if status == "suspended" and reason == OVERDUE:
        return "collections"
    if status == "blocked" and reason == OVERDUE_BLOCK:
        return "collections"
    if status == "suspended" and reason == INSUFFICIENT_FUNDS:
        return "funds"
    return "operator"


def backfill_holds(apps, schema_editor):
    Customer = apps.get_model("customers", "Customer")
    CustomerStatusChange = apps.get_model("customers", "CustomerStatusChange")
    CustomerBlock = apps.get_model("customers", "CustomerBlock")
    held = Customer.objects.filter(status__in=("suspended", "blocked")).order_by("id")
    for customer in held.iterator():
        # Who put it there: the history row of its latest change to that status.
        change = (CustomerStatusChange.objects.filter(customer_id=customer.pk, to_status=customer.status)
                  .order_by("-at", "-id").first())
        CustomerBlock.objects.create(
            customer_id=customer.pk, source=_source_of(customer.status, customer.status_reason),
            effect="block" if customer.status == "blocked" else "suspend",
            reason=customer.status_reason or f"{customer.status} before holds were recorded",
            since=customer.status_changed_at,
            actor_kind=change.actor_kind if change else "system",
            actor_ref=change.actor_ref if change else "migration",
            actor_name=change.actor_name if change else "migration",
        )


class Migration(migrations.Migration):

    dependencies = [
        ('customers', '0001_initial'),
    ]

    operations = [
        migrations.CreateModel(
            name='CustomerBlock',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('actor_kind', models.CharField(max_length=16)),
                ('actor_ref', models.CharField(max_length=64)),
                ('actor_name', models.CharField(max_length=150)),
                ('source', models.CharField(choices=[('operator', 'Operator'), ('collections', 'Collections'), ('funds', 'Funds'), ('network', 'Network')], max_length=12)),
                ('effect', models.CharField(choices=[('suspend', 'Suspend'), ('block', 'Block')], max_length=8)),
                ('reason', models.CharField(max_length=200)),
                ('since', models.DateTimeField()),
                ('lifted_at', models.DateTimeField(blank=True, null=True)),
                ('lift_reason', models.CharField(blank=True, max_length=200)),
                ('lifted_by', models.CharField(blank=True, max_length=190)),
                ('customer', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='blocks', to='customers.customer')),
            ],
            options={
                'ordering': ['since', 'id'],
                'constraints': [models.UniqueConstraint(condition=models.Q(('lifted_at__isnull', True)), fields=('customer', 'source'), name='one_current_block_per_customer_source')],
            },
        ),
        migrations.RunPython(backfill_holds, migrations.RunPython.noop),
    ]
