from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, models
from django.db.models import QuerySet, Sum

from tripleplay.core.errors import NotFound
from tripleplay.customers.models import Customer
from tripleplay.ledger.models import Funds, Hold, LedgerEntry
from tripleplay.money import Money


@dataclass(frozen=True)
class FundsView:
    balance: Money
    credit_limit: Money
    held: Money
    available: Money
    amount_owed: Money  # what the customer owes: max(0, -balance)


def funds_of(customer: Customer | int) -> FundsView:
    customer_id = customer if isinstance(customer, int) else customer.pk
    f = Funds.objects.get(customer_id=customer_id)
    c = f.currency
    return FundsView(
        balance=Money(f.balance_minor, c),
        credit_limit=Money(f.credit_limit_minor, c),
        held=Money(f.held_minor, c),
        available=Money(f.available_minor, c),
        amount_owed=Money(max(0, -f.balance_minor), c),
    )


def entries_of(customer: Customer | int, *, kind: str | None = None) -> QuerySet[LedgerEntry]:
    customer_id = customer if isinstance(customer, int) else customer.pk
    qs = LedgerEntry.objects.filter(customer_id=customer_id)
    if kind:
        qs = qs.filter(kind=kind)
    return qs.order_by("-id")


def holds_of(customer: Customer | int, *, status: str | None = None) -> QuerySet[Hold]:
    customer_id = customer if isinstance(customer, int) else customer.pk
    qs = Hold.objects.filter(customer_id=customer_id)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-id")


def sum_of_entries(customer: Customer | int) -> int:
    """The ledger's own total, for invariant checks: must always equal the funds balance."""
    customer_id = customer if isinstance(customer, int) else customer.pk
    return LedgerEntry.objects.filter(customer_id=customer_id).aggregate(s=Sum("amount_minor"))["s"] or 0


def sum_of_active_holds(customer: Customer | int) -> int:
    customer_id = customer if isinstance(customer, int) else customer.pk
    return Hold.objects.filter(customer_id=customer_id, status="active").aggregate(s=Sum("amount_minor"))["s"] or 0


def hold(hold_id: int) -> Hold:
    try:
        return Hold.objects.select_related("entry").get(pk=hold_id)
    except (Hold.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"hold {hold_id} does not exist") from None


def entries_to_invoice(customer_ids: list[int], cutoff: datetime, *, marked_by: type[models.Model],
                       entry: Callable) -> dict[int, list]:
    """The entries of ``customer_ids`` created before ``cutoff`` that no row of ``marked_by`` (a model
    with an ``entry_id`` column: the invoice run's marks) points at, per customer, each as
    ``entry(id, kind, amount_minor, source, service_type, description, data)``. ``data`` holds only
    what an invoice line prints: a subscription fee's period, a usage charge's split per service; and
    a fee's kind and assignment (bundle discounts are computed from them).

    Plain SQL: the invoice run reads ~10 entries per customer, and the ORM's per-value converters cost
    more than the query."""
    entries = connection.ops.quote_name(LedgerEntry._meta.db_table)
    marks = connection.ops.quote_name(marked_by._meta.db_table)
    at = connection.ops.adapt_datetimefield_value(cutoff)
    unmarked = f"e.created_at < %s AND NOT EXISTS (SELECT 1 FROM {marks} m WHERE m.entry_id = e.id)"
    out: dict[int, list] = {}
    if connection.vendor == "postgresql":
        # Each candidate's mark looked up by the marks' primary key, whatever the planner believes of the
        # table (D261): OFFSET 0 keeps the EXISTS from becoming an anti-join, which on the marks table
        # the invoice run is filling (a first run: an empty table's statistics) was planned as a hash of
        # every mark, 150 ms a batch half-way through 100,000 customers and growing.
        unmarked = f"e.created_at < %s AND NOT EXISTS (SELECT 1 FROM {marks} m WHERE m.entry_id = e.id OFFSET 0)"
        # The two period fields as text and the usage split as JSON only where there is one: most
        # entries' data is then never parsed (a third of the run's Python time went to json.loads).
        # One array parameter for the customers: no thousand placeholders for psycopg to scan.
        sql = (f"SELECT e.id, e.customer_id, e.kind, e.amount_minor, e.source, e.service_type, e.description,"
               f" CASE WHEN e.source = 'subscription' THEN e.data->>'period_start' END,"
               f" CASE WHEN e.source = 'subscription' THEN e.data->>'period_end' END,"
               f" CASE WHEN e.source = 'usage' THEN e.data->'services' END,"
               # A fee's kind and assignment: which fees a bundle rule discounts (tripleplay.bundles).
               f" CASE WHEN e.source = 'subscription' THEN e.data->>'kind' END,"
               f" CASE WHEN e.source = 'subscription' THEN e.data->>'assignment' END"
               f" FROM {entries} e WHERE e.customer_id = ANY(%s::bigint[]) AND {unmarked}")
        with connection.cursor() as cursor:
            cursor.execute(sql, [customer_ids, at])
            rows = cursor.fetchall()
        for eid, cid, kind, amount, source, service, description, start, end, services, fee, assignment in rows:
            if source == "subscription":
                data = {"period_start": start, "period_end": end, "kind": fee, "assignment": assignment}
            elif services is not None:  # Django reads jsonb as text (JSONField parses it)
                data = {"services": json.loads(services) if isinstance(services, str) else services}
            else:
                data = {}
            mine = out.get(cid)
            if mine is None:
                mine = out[cid] = []
            mine.append(entry(eid, kind, amount, source, service, description, data))
        return out
    sql = (f"SELECT e.id, e.customer_id, e.kind, e.amount_minor, e.source, e.service_type, e.description,"
           f" CASE WHEN e.source IN (%s, %s) THEN e.data END FROM {entries} e"
           f" WHERE e.customer_id IN ({', '.join(['%s'] * len(customer_ids))}) AND {unmarked}")
    with connection.cursor() as cursor:
        cursor.execute(sql, ["subscription", "usage", *customer_ids, at])
        rows = cursor.fetchall()
    for eid, cid, kind, amount, source, service, description, data in rows:
        if isinstance(data, str):  # SQLite hands JSON back as text
            data = json.loads(data)
        out.setdefault(cid, []).append(entry(eid, kind, amount, source, service, description, data or {}))
    return out


def posted_keys(keys: list[str]) -> set[str]:
    """Which of ``keys`` are idempotency keys of entries already posted (a set-based caller skips
    them). PostgreSQL: one array parameter, not thousands of placeholders."""
    if not keys:
        return set()
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(LedgerEntry._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT idempotency_key FROM {table} WHERE idempotency_key = ANY(%s)", [keys])
            return {row[0] for row in cursor.fetchall()}
    found: set[str] = set()
    for start in range(0, len(keys), 500):
        found.update(LedgerEntry.objects.filter(idempotency_key__in=keys[start:start + 500])
                     .values_list("idempotency_key", flat=True))
    return found


# -- for raw-SQL reads on another app's hot path (one statement, D212) ----------------------------------
# The ledger alone names its tables in SQL (ledger/tests/test_one_door.py): a reader elsewhere embeds
# these joins and this expression instead of spelling the money tables itself.

def hold_join_sql(alias: str, hold_id_column: str) -> str:
    """``LEFT JOIN`` of the hold whose id is ``hold_id_column`` (none: NULL columns), as ``alias``."""
    return f"LEFT JOIN {Hold._meta.db_table} {alias} ON {alias}.id = {hold_id_column}"


def funds_join_sql(alias: str, customer_id_column: str) -> str:
    """``JOIN`` of the funds of the customer whose id is ``customer_id_column``, as ``alias``."""
    return f"JOIN {Funds._meta.db_table} {alias} ON {alias}.customer_id = {customer_id_column}"


def available_sql(alias: str) -> str:
    """What the customer may still spend, from the funds row ``alias`` (as ``Funds.available_minor``)."""
    return f"{alias}.balance_minor + {alias}.credit_limit_minor - {alias}.held_minor"
