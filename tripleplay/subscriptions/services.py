"""Recurring charges (docs/charging.md): every subscription (AccountProduct) charged up to a date by
its plan, once per (subscription, kind, period), and prepaid suspension when funds run out.

- ``charge_all`` / ``charge_customer``: the `tripleplay charge` command and the worker's "charge" job.
  One short transaction per item (a period's fee, a credit, a one-off fee): the assignment row is
  locked, the SubscriptionCharge row and its ledger entry are written together, so a rerun, or a
  concurrent run, finds the row and charges nothing twice (ledger keys ``sub:<id>:<kind>:<n>`` too).
- Prepaid: an in-advance fee (activation, periodic in advance, daily) must be covered by available
  funds. When it is not, nothing is written, the fee stays due, later covered fees of the customer
  wait behind it, and the funds hold the customer (its "funds" CustomerBlock suspends it, which
  disables its IPTV subscribers through provisioning). A payment (``ledger.services.record_payment``,
  through the ledger's payment hooks: ``on_payment_locking`` and ``on_payment_recorded`` below) or the
  next run charges what is due and lifts that hold, and only that one, once everything due is charged.

Lock order (docs/concurrency.md): customer row, assignment rows, then the funds row.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from django.db import transaction

from tripleplay import clock
from tripleplay.core.actors import Actor
from tripleplay.core.errors import Conflict, InsufficientFunds
from tripleplay.customers.models import (
    AccountProduct,
    AssignmentRole,
    BalanceModel,
    BlockEffect,
    BlockSource,
    Customer,
    Status,
)
from tripleplay.customers.selectors import has_block, held_by, held_spans_by_account
from tripleplay.customers.services import add_addon, change_main_product, remove_addon
from tripleplay.ledger.hooks import Payment
from tripleplay.ledger.models import EntryKind
from tripleplay.ledger.selectors import funds_of
from tripleplay.ledger.services import post_charge, post_entry
from tripleplay.money import Money
from tripleplay.promotions import selectors as promotions
from tripleplay.subscriptions import holds, schedule
from tripleplay.subscriptions.models import SubscriptionCharge
from tripleplay.subscriptions.selectors import charged_items, due_items, service_type_of, terms_of

log = logging.getLogger("tripleplay.charge")

INSUFFICIENT_FUNDS = "insufficient funds"  # the funds hold's reason, for people
SOURCE = "subscription"

_LABELS = {
    schedule.ACTIVATION: "activation fee",
    schedule.PERIODIC: "subscription fee",
    schedule.DAILY_FEE: "daily fee",
    schedule.UNUSED_CREDIT: "unused part of the subscription fee",
    schedule.EARLY_CANCELLATION: "early cancellation fee",
    schedule.HOLD_CREDIT: "vacation hold: fee of the held days back",
    schedule.HOLD_CHARGE: "vacation hold: fee of the days not held after all",
}


@dataclass
class ChargeReport:
    through: date
    customers: int = 0
    subscriptions: int = 0
    charges: int = 0
    credits: int = 0
    charged: Counter = field(default_factory=Counter)  # currency -> minor units charged
    credited: Counter = field(default_factory=Counter)
    due: int = 0  # fees left due (prepaid without funds)
    # customer ids whose status the funds' hold changed: suspended by it, active again when it lifted
    suspended: list[int] = field(default_factory=list)
    unsuspended: list[int] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def entries(self) -> int:
        return self.charges + self.credits

    def summary(self) -> str:
        money = lambda c: ", ".join(str(Money(v, k)) for k, v in sorted(c.items())) or "0"  # noqa: E731
        return (f"through {self.through}: {self.customers} customers, {self.subscriptions} subscriptions; "
                f"{self.charges} charges ({money(self.charged)}), {self.credits} credits ({money(self.credited)}); "
                f"{self.due} fees left due; suspended {len(self.suspended)}, unsuspended {len(self.unsuspended)}; "
                f"{len(self.failures)} failures")


def needs_cover(item: schedule.Item, terms: schedule.Terms) -> bool:
    """A prepaid customer pays these before the service is used; the others (arrears, credits,
    early cancellation) are for what has happened and are charged whatever the funds."""
    return item.kind in (schedule.ACTIVATION, schedule.DAILY_FEE) or (
        item.kind == schedule.PERIODIC and terms.charge_mode == schedule.IN_ADVANCE)


def charge_all(actor: Actor, through: date | None = None,
               progress: Callable[[int, int, ChargeReport], None] | None = None) -> ChargeReport:
    """Charge every subscription of every customer that is not closed, up to ``through`` (default
    today). A customer whose charging fails is reported and skipped; the others go on."""
    through = through or clock.today()
    report = ChargeReport(through)
    # Closed customers are left out: closing ended their subscriptions, and the ledger refuses
    # charges and credits to a closed customer (final settlement belongs to invoicing).
    ids = list(Customer.objects.exclude(status=Status.CLOSED).filter(accounts__products__start_date__lte=through)
               .distinct().order_by("id").values_list("id", flat=True))
    for i, customer_id in enumerate(ids, 1):
        try:
            charge_customer(actor, Customer.objects.get(pk=customer_id), through, report)
        except Exception as e:  # one customer's failure must not stop the run; the run reports it
            log.exception("charging customer #%s failed", customer_id)
            report.failures.append(f"customer #{customer_id}: {type(e).__name__}: {e}")
        if progress:
            progress(i, len(ids), report)
    return report


def charge_customer(actor: Actor, customer: Customer, through: date | None = None,
                    report: ChargeReport | None = None) -> ChargeReport:
    """Charge what ``customer``'s subscriptions owe up to ``through``, oldest due first."""
    through = through or clock.today()
    report = report or ChargeReport(through)
    report.customers += 1
    assignments = list(AccountProduct.objects.filter(account__customer=customer, start_date__lte=through)
                       .select_related("plan__product", "account", promotions.GRANT)
                       .prefetch_related("product__services")
                       .order_by("id"))
    work = []
    spans = held_spans_by_account(customer)  # vacation holds (holds.py)
    for a in assignments:
        report.subscriptions += 1
        terms = holds.with_holds(terms_of(a, customer), spans.get(a.account_id, ()))  # promos, vacation holds
        for item in schedule.pending(terms, a.start_date, a.end_date, through, charged_items(a)):
            work.append((item, a, terms))
    work.sort(key=lambda w: (w[0].due, schedule.same_day_order(w[0]), w[1].pk, w[0].index))
    prepaid = customer.balance_model == BalanceModel.PREPAID
    short = False
    for item, a, terms in work:
        covered = prepaid and needs_cover(item, terms)
        if covered and short:  # fees are paid in due order: a later one waits behind the unpaid one
            report.due += 1
            continue
        try:
            row = charge_item(actor, customer, a, item, must_cover=covered)
        except InsufficientFunds:
            short = True
            report.due += 1
            continue
        if row is None:
            continue
        if item.is_credit:
            report.credits += 1
            report.credited[row.currency] += row.amount_minor
        else:
            report.charges += 1
            report.charged[row.currency] += row.amount_minor
    if short:
        _suspend_for_funds(actor, customer, report)
    else:
        _lift_funds_suspension(actor, customer, report)
    return report


def charge_item(actor: Actor, customer: Customer, assignment: AccountProduct, item: schedule.Item, *,
                must_cover: bool) -> SubscriptionCharge | None:
    """Write one item (its SubscriptionCharge row and ledger entry) in one short transaction; None if
    another run charged it first. Raises InsufficientFunds (nothing written) when ``must_cover``
    and the funds do not cover it."""
    plan = assignment.plan
    currency = plan.product.currency
    key = f"sub:{assignment.pk}:{item.kind}:{item.index}"
    data = {"plan": plan.code, "period_start": item.period_start.isoformat(),
            "period_end": item.period_end.isoformat(), "days": item.days, "of_days": item.of_days,
            "kind": item.kind, "period_index": item.index, "assignment": assignment.pk}
    label = _LABELS[item.kind]
    if item.promotion:  # promos: the invoice line names the promotion that priced the fee
        data["promotion"] = item.promotion
        label = f"{label} ({item.promotion})"
    last_day = item.period_end.toordinal() - 1
    description = (f"{plan.name}: {label} {item.period_start.isoformat()}.."
                   f"{date.fromordinal(max(last_day, item.period_start.toordinal())).isoformat()}")
    if item.held_days:  # vacation holds (holds.py): the held days at the hold fee, said on the line
        data["held_days"] = item.held_days
        if item.kind in (schedule.PERIODIC, schedule.DAILY_FEE):
            description += f", {item.held_days} days on vacation hold"
        else:
            description += f" ({item.held_days} days held)"
    common = dict(idempotency_key=key, description=description, account=assignment.account,
                  service_type=service_type_of(assignment.product), source=SOURCE, data=data)
    with transaction.atomic():
        # The assignment row serializes runs charging the same subscription (lock order: before funds).
        list(AccountProduct.objects.select_for_update().filter(pk=assignment.pk).values_list("pk", flat=True))
        if SubscriptionCharge.objects.filter(assignment=assignment, kind=item.kind, period_index=item.index).exists():
            return None
        amount = Money(item.amount, currency)
        if item.is_credit:
            entry = post_entry(actor, customer, kind=EntryKind.CREDIT, amount=amount, **common)
        else:
            entry = post_charge(actor, customer, amount, must_cover=must_cover, **common)
        return SubscriptionCharge.objects.create(
            assignment=assignment, customer=customer, kind=item.kind, period_index=item.index,
            amount_minor=item.amount, currency=currency, period_start=item.period_start, period_end=item.period_end,
            days=item.days, of_days=item.of_days, due_date=item.due, entry=entry, created_at=clock.now())


def _suspended_for_funds(customer: Customer) -> bool:
    return has_block(customer, BlockSource.FUNDS)


def _short_of_funds(customer: Customer, through: date) -> bool:
    """Whether the oldest covered fee still due is more than the available funds (read under the
    customer's lock: a payment that arrived since the run tried the fee counts)."""
    available = funds_of(customer).available.minor
    for a, item in due_items(customer, through):
        if needs_cover(item, schedule.Terms.of(a.plan, customer)):  # holds change no charge mode
            return item.amount > available
    return False


def _suspend_for_funds(actor: Actor, customer: Customer, report: ChargeReport) -> None:
    from tripleplay.customers.services import set_block

    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        # Funds hold the customer whatever else does: a blocked or otherwise suspended customer
        # stays so, and falls back to this suspension if the other hold is lifted first. The fee
        # stays due either way.
        if (customer.status != Status.CLOSED and not _suspended_for_funds(customer)
                and _short_of_funds(customer, report.through)):
            previous = customer.status
            customer = set_block(actor, customer, BlockSource.FUNDS, BlockEffect.SUSPEND, reason=INSUFFICIENT_FUNDS)
            if customer.status != previous:
                report.suspended.append(customer.pk)


def _lift_funds_suspension(actor: Actor, customer: Customer, report: ChargeReport) -> None:
    """Everything due is charged: lift the funds' hold (never another source's)."""
    from tripleplay.customers.services import lift_block

    if not _suspended_for_funds(customer):
        return  # the common case, without a lock
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        if (_suspended_for_funds(customer) and not _short_of_funds(customer, report.through)
                and not funds_of(customer).available.is_negative()):
            previous = customer.status
            customer = lift_block(actor, customer, BlockSource.FUNDS, reason="funds sufficient: due fees charged")
            if customer.status != previous:
                report.unsuspended.append(customer.pk)


# -- the payment hooks (handlers of tripleplay.ledger.hooks, registered in tripleplay.subscriptions.apps) --


def lock_for_payment(customer: Customer) -> bool:
    """Inside the payment's transaction, before its funds UPDATE: if the customer is suspended for
    insufficient funds, lock its row and its assignment rows now, so the charges that follow the
    payment keep the lock order (customer, assignments, funds). Returns whether it is so suspended."""
    # The payment locked the customer row before this (invoicing's lock_for_payment): a funds hold
    # placed by a concurrent charge run has committed and is seen here.
    locked = list(Customer.objects.select_for_update().filter(held_by(BlockSource.FUNDS), pk=customer.pk)
                  .values_list("pk", flat=True))
    if not locked:
        return False
    list(AccountProduct.objects.select_for_update(of=("self",)).filter(account__customer_id=customer.pk)
         .order_by("id").values_list("pk", flat=True))
    return True


def settle_after_payment(actor: Actor, customer: Customer) -> ChargeReport | None:
    """After a payment to a customer suspended for insufficient funds (same transaction): charge
    what is due up to today and, if everything is covered, lift the suspension.

    A failure here must not lose the payment: it rolls back to a savepoint, is logged, and the
    next charge run (which charges and lifts the same way) does the work."""
    try:
        with transaction.atomic():
            return charge_customer(actor, customer, clock.today())
    except Exception:
        log.exception("charging due fees after a payment of customer #%s failed", customer.pk)
        return None


def on_payment_locking(payment: Payment) -> None:
    if lock_for_payment(payment.customer):
        payment.to_settle.add(__name__)


def on_payment_recorded(payment: Payment) -> None:
    if __name__ in payment.to_settle:
        settle_after_payment(payment.actor, payment.customer)


# -- self-service add-ons (the subscriber portal, tripleplay.selfcare; docs/selfcare.md, D81) --------


@dataclass(frozen=True)
class AddonQuote:
    """What adding ``plan`` today costs the customer at once, shown before the subscriber confirms."""

    plan_id: int
    start: date
    due_now: Money  # every fee due on the first day: activation, the first period in advance, the first day
    periodic_fee: Money
    period: str
    charge_mode: str
    must_cover: bool  # prepaid and a fee paid before use: available funds must cover ``due_now``
    available: Money

    @property
    def covered(self) -> bool:
        return not self.must_cover or self.available >= self.due_now


def _first_day_items(terms: schedule.Terms, start: date) -> list[schedule.Item]:
    return [i for i in schedule.owed(terms, start, None, start) if not i.is_credit]


def quote_addon(customer: Customer, plan, day: date | None = None) -> AddonQuote:
    start = day or clock.today()
    terms = schedule.Terms.of(plan, customer)  # a plan aligned to the billing period needs the customer's cycle
    items = _first_day_items(terms, start)
    prepaid = customer.balance_model == BalanceModel.PREPAID
    return AddonQuote(plan.pk, start, Money(sum(i.amount for i in items), terms.currency),
                      Money(terms.periodic_fee, terms.currency), terms.period, terms.charge_mode,
                      prepaid and any(needs_cover(i, terms) for i in items), funds_of(customer).available)


def add_addon_and_charge(actor: Actor, account, plan, *, written: list | None = None) -> AccountProduct:
    """Add an add-on from today and charge, in the same transaction, every fee due on its first day
    (the charge run would charge the same items, under the same keys ``sub:<id>:<kind>:<n>``, later).
    For a prepaid customer those fees must be covered by available funds (the ledger's conditional
    UPDATE): when they are not, InsufficientFunds and nothing exists, neither the add-on nor its
    provisioning command. Only an active customer orders (409 customer_not_active). ``written``, when
    given, receives the SubscriptionCharge rows written (a TV-screen order answers their sum).
    Lock order: account, IPTV subscriber rows (the outbox), assignment, funds."""
    with transaction.atomic():
        assignment = add_addon(actor, account, plan)
        customer = Customer.objects.get(pk=assignment.account.customer_id)
        if customer.status != Status.ACTIVE:
            raise Conflict(f"customer #{customer.pk} is {customer.status}: only an active customer orders",
                           code="customer_not_active")
        _charge_first_day(actor, customer, assignment, written)
    return assignment


# -- orders from the TV screen (tripleplay.orders, docs/orders.md, D180-D182) -------------------------
# The same door as the portal's add_addon_and_charge: the catalog change (customers.services, whose
# ACCOUNT_CHANGED writes the IPTV outbox rows) and its first-day fees (or the unused part credited
# back) in one transaction, under the charge run's own keys ``sub:<id>:<kind>:<n>``.


def _charge_first_day(actor: Actor, customer: Customer, assignment: AccountProduct, written: list | None) -> None:
    terms = schedule.Terms.of(assignment.plan, customer)  # the customer's cycle: billing-period alignment
    prepaid = customer.balance_model == BalanceModel.PREPAID
    for item in _first_day_items(terms, assignment.start_date):
        row = charge_item(actor, customer, assignment, item, must_cover=prepaid and needs_cover(item, terms))
        if row is not None and written is not None:
            written.append(row)


def _credit_ended(actor: Actor, customer: Customer, assignment: AccountProduct, written: list | None) -> None:
    """Credit now the unused part of an assignment that ended today (the charge run would credit the
    same item, under the same key, later). Only credits: a fee still due stays the run's to charge."""
    assignment = AccountProduct.objects.select_related("plan__product").get(pk=assignment.pk)
    terms = terms_of(assignment, customer)
    for item in schedule.pending(terms, assignment.start_date, assignment.end_date, clock.today(),
                                 charged_items(assignment)):
        if item.is_credit:
            row = charge_item(actor, customer, assignment, item, must_cover=False)
            if row is not None and written is not None:
                written.append(row)


def _only_active(customer: Customer) -> None:
    if customer.status != Status.ACTIVE:
        raise Conflict(f"customer #{customer.pk} is {customer.status}: only an active customer orders",
                       code="customer_not_active")


def change_main_product_and_charge(actor: Actor, account, plan, *, written: list | None = None) -> AccountProduct:
    """Replace the main product from today: the old one's unused part credited back, then every fee of
    the new one due on its first day charged (covered by available funds for a prepaid customer,
    after that credit; else InsufficientFunds and nothing changed). Lock order as add_addon_and_charge."""
    with transaction.atomic():
        current = AccountProduct.objects.get(account=account, role=AssignmentRole.MAIN, end_date__isnull=True)
        assignment = change_main_product(actor, account, plan)
        customer = Customer.objects.get(pk=assignment.account.customer_id)
        _only_active(customer)
        _credit_ended(actor, customer, current, written)
        _charge_first_day(actor, customer, assignment, written)
    return assignment


def remove_addon_and_credit(actor: Actor, account, assignment_id: int, *, reason: str,
                            written: list | None = None) -> AccountProduct:
    """End an add-on today and credit its unused part at once (a paid-in-advance period)."""
    with transaction.atomic():
        assignment = remove_addon(actor, account, assignment_id, reason=reason)
        customer = Customer.objects.get(pk=assignment.account.customer_id)
        _only_active(customer)
        _credit_ended(actor, customer, assignment, written)
    return assignment
