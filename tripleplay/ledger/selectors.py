from __future__ import annotations

from dataclasses import dataclass

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
