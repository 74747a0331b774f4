from __future__ import annotations

from datetime import date

from django.db.models import Case, Exists, OuterRef, Q, QuerySet, Value, When

from tripleplay.core.errors import NotFound
from tripleplay.customers.models import (
    Account,
    AccountProduct,
    AccountStatusChange,
    Customer,
    CustomerBlock,
    CustomerStatusChange,
    HoldStatus,
    VacationHold,
)


def customers(*, status: str | None = None, search: str | None = None,
              external_id: str | None = None) -> QuerySet[Customer]:
    qs = Customer.objects.select_related("funds")
    if external_id is not None:
        qs = qs.filter(external_id=external_id)
    if status:
        qs = qs.filter(status=status)
    if search:
        qs = qs.filter(
            Q(name__icontains=search) | Q(email__icontains=search) | Q(accounts__login__icontains=search)
        ).distinct()
    return qs.order_by("id")


def customer(customer_id: int) -> Customer:
    try:
        return Customer.objects.select_related("funds").get(pk=customer_id)
    except (Customer.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"customer {customer_id} does not exist") from None


def accounts(*, customer_id: int | None = None, status: str | None = None,
             search: str | None = None, external_id: str | None = None) -> QuerySet[Account]:
    qs = Account.objects.all()
    if external_id is not None:
        qs = qs.filter(external_id=external_id)
    if customer_id:
        qs = qs.filter(customer_id=customer_id)
    if status:
        qs = qs.filter(status=status)
    if search:
        qs = qs.filter(Q(login__icontains=search) | Q(phone_number__icontains=search)
                       | Q(device_id__icontains=search))
    return qs.order_by("id")


def account(account_id: int) -> Account:
    try:
        return Account.objects.select_related("customer").get(pk=account_id)
    except (Account.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"account {account_id} does not exist") from None


def current_products(account: Account) -> QuerySet[AccountProduct]:
    """The main product first, then add-ons in the order they were added."""
    main_first = Case(When(role="main", then=Value(0)), default=Value(1))
    return account.products.filter(end_date__isnull=True).select_related("product", "plan").order_by(main_first, "id")


def current_products_of_accounts(account_ids: list[int]) -> QuerySet[AccountProduct]:
    """``current_products`` of several accounts in one query, account by account."""
    main_first = Case(When(role="main", then=Value(0)), default=Value(1))
    return (AccountProduct.objects.filter(account_id__in=account_ids, end_date__isnull=True)
            .select_related("product", "plan").order_by("account_id", main_first, "id"))


def product_history(account: Account) -> QuerySet[AccountProduct]:
    return account.products.select_related("product", "plan").order_by("start_date", "id")


def customer_status_history(customer: Customer) -> QuerySet[CustomerStatusChange]:
    return CustomerStatusChange.objects.filter(customer=customer).order_by("at", "id")


def account_status_history(account: Account) -> QuerySet[AccountStatusChange]:
    return AccountStatusChange.objects.filter(account=account).order_by("at", "id")


# -- holds (tripleplay.customers.blocking) ------------------------------------------------------------


def current_blocks(customer: Customer) -> QuerySet[CustomerBlock]:
    """Every source's current hold on ``customer``, in the order they were placed."""
    return CustomerBlock.objects.filter(customer_id=customer.pk, lifted_at__isnull=True).order_by("since", "id")


def current_block(customer: Customer, source: str) -> CustomerBlock | None:
    """``source``'s current hold on ``customer``, or None."""
    return CustomerBlock.objects.filter(customer_id=customer.pk, source=source, lifted_at__isnull=True).first()


def has_block(customer: Customer, source: str) -> bool:
    """Whether ``source`` holds ``customer`` (suspends or blocks it)."""
    return CustomerBlock.objects.filter(customer_id=customer.pk, source=source, lifted_at__isnull=True).exists()


def held_by(source: str) -> Exists:
    """A filter for customer querysets: ``source`` holds the customer (one query with the lock
    that needs it, e.g. ``Customer.objects.select_for_update().filter(held_by(FUNDS), pk=...)``)."""
    return Exists(CustomerBlock.objects.filter(customer_id=OuterRef("pk"), source=source, lifted_at__isnull=True))


def block_history(customer: Customer) -> QuerySet[CustomerBlock]:
    return CustomerBlock.objects.filter(customer_id=customer.pk).order_by("since", "id")


# -- vacation holds (tripleplay.customers.vacation; docs/charging.md#vacation-holds) ------------------


def vacation_holds(account: Account | int) -> QuerySet[VacationHold]:
    account_id = account if isinstance(account, int) else account.pk
    return VacationHold.objects.filter(account_id=account_id).order_by("-start_date", "-id")


def open_vacation_holds_of_accounts(account_ids) -> dict[int, list[VacationHold]]:
    """account id -> its scheduled and active holds, newest first: one query for several accounts."""
    found: dict[int, list[VacationHold]] = {pk: [] for pk in account_ids}
    for h in (VacationHold.objects.filter(account_id__in=list(found), status__in=[HoldStatus.SCHEDULED, HoldStatus.ACTIVE])
              .order_by("-start_date", "-id")):
        found[h.account_id].append(h)
    return found


def vacation_hold(hold_id: int) -> VacationHold:
    try:
        return VacationHold.objects.select_related("account").get(pk=hold_id)
    except (VacationHold.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"vacation hold {hold_id} does not exist") from None


def on_hold(account: Account | int) -> bool:
    """Whether the account is on a started vacation hold: the platforms keep it disabled."""
    account_id = account if isinstance(account, int) else account.pk
    return VacationHold.objects.filter(account_id=account_id, status=HoldStatus.ACTIVE).exists()


def held_spans(account: Account | int) -> tuple[tuple[date, date], ...]:
    """[start, end) of every hold of the account that counts for fees (every one not cancelled)."""
    account_id = account if isinstance(account, int) else account.pk
    return tuple(VacationHold.objects.filter(account_id=account_id).exclude(status=HoldStatus.CANCELLED)
                 .order_by("start_date").values_list("start_date", "end_date"))


def held_spans_by_account(customer: Customer | int) -> dict[int, tuple[tuple[date, date], ...]]:
    """account id -> ``held_spans`` of each of the customer's accounts that has one (one query)."""
    customer_id = customer if isinstance(customer, int) else customer.pk
    out: dict[int, list] = {}
    for account_id, start, end in (VacationHold.objects.filter(customer_id=customer_id)
                                   .exclude(status=HoldStatus.CANCELLED).order_by("start_date")
                                   .values_list("account_id", "start_date", "end_date")):
        out.setdefault(account_id, []).append((start, end))
    return {k: tuple(v) for k, v in out.items()}
