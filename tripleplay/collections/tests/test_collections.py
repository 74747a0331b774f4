"""Collections, end to end: an invoice left unpaid goes through the policy's steps on a moved clock;
suspension disables the subscriber on a simulated IPTV platform (a separate process, real HTTP), and a
payment that clears the overdue amount re-enables it. Every step is recorded and e-mailed with the PDF
(written into the notifications outbox in the step's transaction, delivered by the worker)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.core import mail

from tripleplay import clock
from tripleplay.collections.models import CollectionAction
from tripleplay.collections.policy import Step, parse
from tripleplay.collections.services import OVERDUE, run_collections
from tripleplay.customers.models import Status
from tripleplay.customers.selectors import current_blocks
from tripleplay.invoicing.models import Invoice
from tripleplay.invoicing.services import run_invoices
from tripleplay.ledger.models import LedgerEntry
from tripleplay.ledger.services import record_payment
from tripleplay.money import Money

D = date


def at(day: date, hour: int = 9) -> None:
    clock.freeze(datetime(day.year, day.month, day.day, hour, tzinfo=UTC))


def steps(customer):
    return list(CollectionAction.objects.filter(customer=customer).values_list("day", "action", "outcome"))


def deliver() -> list[str]:
    """The worker: the invoice-documents job stores the PDFs, the delivery loop sends; the subjects sent."""
    from tripleplay.invoicing.documents import store_pending
    from tripleplay.notifications.delivery import Deliverer

    store_pending()
    Deliverer(seed=1).run_once()
    return [m.subject for m in mail.outbox]


def holds(customer):
    return list(current_blocks(customer).values_list("source", "effect"))


@pytest.fixture
def tv(db, actor):
    from tripleplay.iptv.tests.conftest import make_platform, make_tv_catalog
    from tripleplay.simulators.testing import running_simulator

    with running_simulator("ministra") as sim:
        yield sim, make_tv_catalog(actor, make_platform(actor, sim))


def test_unpaid_invoice_goes_through_the_steps_and_a_payment_reenables_the_subscriber(tv, actor, make_customer):
    from tripleplay.customers.services import create_account
    from tripleplay.iptv.tests.conftest import drain
    from tripleplay.subscriptions.services import charge_all

    sim, cat = tv
    at(D(2026, 1, 1))
    c = make_customer("postpaid", credit_limit_minor=100_000, tax_rate="10", email="late@example.com", name="Late Payer")
    account = create_account(actor, c, main_plan=cat.tv_plan, addon_plans=[cat.sports_plan], login="late-tv")
    charge_all(actor, D(2026, 1, 1))
    drain()
    sid = f"tp-{account.pk}"
    assert sim.subscribers()[sid]["enabled"] is True

    at(D(2026, 2, 1))
    run_invoices(actor, D(2026, 2, 1))
    inv = Invoice.objects.get(customer=c)
    assert (inv.total_minor, inv.due_date, inv.status) == (2200, D(2026, 2, 15), "unpaid")
    policy = parse("0:reminder,7:late_fee:500,14:suspend,30:block")

    at(D(2026, 2, 14))
    assert run_collections(actor, steps=policy).steps == {}  # not due yet
    at(D(2026, 2, 15))
    run_collections(actor, steps=policy)
    assert steps(c) == [(0, "reminder", "done")]
    assert deliver() == ["Your invoice INV-000001", "Payment reminder: invoice INV-000001"]
    reminder = mail.outbox[1]
    assert reminder.to == ["late@example.com"]
    assert reminder.body == ("Dear Late Payer,\n\ninvoice INV-000001, due on 15 February 2026, still has US$22.00 "
                             "open.\nPlease pay it soon; the invoice is attached.\n")
    name, pdf, mime = reminder.attachments[0]
    assert (name, mime, pdf[:5]) == ("INV-000001.pdf", "application/pdf", b"%PDF-")

    at(D(2026, 2, 22))
    report = run_collections(actor, steps=policy)
    assert (report.overdue_marked, report.steps) == (1, {"late_fee": 1})  # past due: overdue now
    inv.refresh_from_db()
    assert inv.status == "overdue"
    fee = LedgerEntry.objects.get(customer=c, source="late_fee")
    assert (fee.kind, fee.amount_minor, fee.description) == (
        "charge", -500, "Late fee: invoice INV-000001 unpaid 7 days after due")
    run_collections(actor, steps=policy)  # again the same day: nothing twice
    assert steps(c) == [(0, "reminder", "done"), (7, "late_fee", "done")]

    at(D(2026, 3, 1))
    run_collections(actor, steps=policy)
    c.refresh_from_db()
    assert (c.status, c.status_reason) == (Status.SUSPENDED, OVERDUE)
    drain()
    assert sim.subscribers()[sid]["enabled"] is False

    at(D(2026, 3, 2))
    record_payment(actor, c, Money(1000, "USD"), idempotency_key="part", method="card")  # not enough
    c.refresh_from_db()
    inv.refresh_from_db()
    assert (c.status, inv.settled_minor, inv.status) == (Status.SUSPENDED, 1000, "overdue")
    record_payment(actor, c, Money(1200, "USD"), idempotency_key="rest", method="card")
    c.refresh_from_db()
    inv.refresh_from_db()
    assert (c.status, inv.settled_minor, inv.status) == (Status.ACTIVE, 2200, "paid")
    drain()
    assert sim.subscribers()[sid]["enabled"] is True
    assert steps(c) == [(0, "reminder", "done"), (7, "late_fee", "done"), (14, "suspend", "done"),
                        (None, "lift", "done")]
    assert deliver() == [
        "Your invoice INV-000001", "Payment reminder: invoice INV-000001",
        "Late fee charged: invoice INV-000001 is overdue", "Service suspended: invoice INV-000001 is overdue"]
    assert "A late fee of US$5.00 was charged.\n" in mail.outbox[2].body
    at(D(2026, 3, 20))
    run_collections(actor, steps=policy)  # paid: no block
    assert c.collection_actions.count() == 4


def test_block_at_day_30_stays_after_payment_and_other_suspensions_are_left_alone(db, actor, make_customer,
                                                                                 catalog, make_account):
    from tripleplay.customers.services import change_customer_status
    from tripleplay.subscriptions.services import INSUFFICIENT_FUNDS, charge_all

    at(D(2026, 1, 1))
    blocked = make_customer("postpaid", credit_limit_minor=100_000)
    make_account(blocked, main_plan=catalog.internet_plan)
    prepaid = make_customer("prepaid")
    make_account(prepaid, main_plan=catalog.internet_plan)  # no funds: suspended by charging
    charge_all(actor, D(2026, 1, 1))
    prepaid.refresh_from_db()
    assert (prepaid.status, prepaid.status_reason) == (Status.SUSPENDED, INSUFFICIENT_FUNDS)
    from tripleplay.ledger.services import post_debit

    post_debit(actor, prepaid, Money(700, "USD"), reason="unreturned router", idempotency_key="router")
    at(D(2026, 2, 1))
    run_invoices(actor, D(2026, 2, 1))
    policy = [Step(14, "suspend"), Step(30, "block")]
    at(D(2026, 3, 3))  # 16 days after the due date
    run_collections(actor, steps=policy)
    prepaid.refresh_from_db()
    # suspended for insufficient funds already: collections holds it too (its own hold, beside the
    # funds'), the status and its reason stay
    assert (prepaid.status, prepaid.status_reason, steps(prepaid)) == (Status.SUSPENDED, INSUFFICIENT_FUNDS,
                                                                       [(14, "suspend", "done")])
    assert holds(prepaid) == [("funds", "suspend"), ("collections", "suspend")]
    at(D(2026, 3, 17))  # 30 days
    run_collections(actor, steps=policy)
    blocked.refresh_from_db()
    assert blocked.status == Status.BLOCKED and steps(blocked) == [(14, "suspend", "done"), (30, "block", "done")]
    record_payment(actor, blocked, Money(3000, "USD"), idempotency_key="all", method="card")
    blocked.refresh_from_db()
    assert blocked.status == Status.BLOCKED  # a block is lifted by an operator (D25)
    change_customer_status(actor, blocked, "active", reason="paid, unblocked by finance")


def _funds_and_collections_hold(actor, make_customer, make_account, catalog):
    """A prepaid customer without funds (suspended by charging on Jan 1, 30.00 a month left due) and
    an unpaid 7.00 invoice (Feb 1, due Feb 15) that collections suspends for on Mar 3: both hold it."""
    from tripleplay.ledger.services import post_debit
    from tripleplay.subscriptions.services import INSUFFICIENT_FUNDS, charge_all

    at(D(2026, 1, 1))
    c = make_customer("prepaid")
    make_account(c, main_plan=catalog.internet_plan)
    charge_all(actor, D(2026, 1, 1))
    post_debit(actor, c, Money(700, "USD"), reason="unreturned router", idempotency_key="router")
    at(D(2026, 2, 1))
    run_invoices(actor, D(2026, 2, 1))
    at(D(2026, 3, 3))
    charge_all(actor, D(2026, 3, 3))
    run_collections(actor, steps=[Step(14, "suspend")])
    c.refresh_from_db()
    assert (c.status, c.status_reason, holds(c)) == (Status.SUSPENDED, INSUFFICIENT_FUNDS,
                                                     [("funds", "suspend"), ("collections", "suspend")])
    return c


def test_paying_the_overdue_invoice_only_leaves_the_funds_suspension(db, actor, make_customer, make_account, catalog):
    from tripleplay.ledger.selectors import funds_of
    from tripleplay.subscriptions.services import INSUFFICIENT_FUNDS

    c = _funds_and_collections_hold(actor, make_customer, make_account, catalog)
    record_payment(actor, c, Money(700, "USD"), idempotency_key="invoice", method="card")
    c.refresh_from_db()
    assert Invoice.objects.get(customer=c).status == "paid"
    assert (c.status, c.status_reason, holds(c)) == (Status.SUSPENDED, INSUFFICIENT_FUNDS, [("funds", "suspend")])
    assert steps(c) == [(14, "suspend", "done"), (None, "lift", "done")]
    record_payment(actor, c, Money(9000, "USD"), idempotency_key="fees", method="card")  # Jan, Feb, Mar
    c.refresh_from_db()
    assert (c.status, c.status_reason, holds(c), funds_of(c).balance.minor) == (
        Status.ACTIVE, "funds sufficient: due fees charged", [], 0)


def test_covering_the_fees_only_leaves_the_collections_suspension(db, actor, make_customer, make_account, catalog):
    from tripleplay.ledger.services import post_credit
    from tripleplay.subscriptions.services import charge_all

    c = _funds_and_collections_hold(actor, make_customer, make_account, catalog)
    post_credit(actor, c, Money(9700, "USD"), reason="goodwill", idempotency_key="goodwill")  # settles no invoice
    assert charge_all(actor, D(2026, 3, 3)).unsuspended == []  # the funds' hold lifted, not the status
    c.refresh_from_db()
    assert Invoice.objects.get(customer=c).status == "overdue"
    assert (c.status, c.status_reason, holds(c)) == (Status.SUSPENDED, OVERDUE, [("collections", "suspend")])
    record_payment(actor, c, Money(700, "USD"), idempotency_key="invoice", method="card")
    c.refresh_from_db()
    assert (c.status, c.status_reason, holds(c)) == (Status.ACTIVE, "overdue invoices paid", [])


def test_a_payment_that_clears_the_invoices_leaves_an_operator_block(db, actor, make_customer, make_account, catalog):
    from tripleplay.customers.services import change_customer_status
    from tripleplay.subscriptions.services import charge_all

    at(D(2026, 1, 1))
    c = make_customer("postpaid", credit_limit_minor=100_000)
    make_account(c, main_plan=catalog.internet_plan)
    charge_all(actor, D(2026, 1, 1))
    at(D(2026, 2, 1))
    run_invoices(actor, D(2026, 2, 1))
    at(D(2026, 3, 3))
    run_collections(actor, steps=[Step(14, "suspend")])
    change_customer_status(actor, c, "blocked", reason="fraud check")
    record_payment(actor, c, Money(3000, "USD"), idempotency_key="all", method="card")
    c.refresh_from_db()
    assert Invoice.objects.get(customer=c).status == "paid"
    assert (c.status, c.status_reason, holds(c)) == (Status.BLOCKED, "fraud check", [("operator", "block")])
    assert steps(c) == [(14, "suspend", "done"), (None, "lift", "done")]


@pytest.mark.parametrize("text, error", [("3:nap", True), ("7:late_fee", True), ("0:reminder:5", True),
                                         ("-1:reminder", True), ("0:reminder, 14:suspend", False)])
def test_policy_parsing(text, error):
    if error:
        with pytest.raises(ValueError):
            parse(text)
    else:
        assert parse(text) == [Step(0, "reminder"), Step(14, "suspend")]
