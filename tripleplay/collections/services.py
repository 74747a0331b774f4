"""Collections (docs/invoicing.md): the policy's steps applied to invoices left unpaid after their
due date, and the suspension lifted when a payment clears what is overdue.

- ``run_collections`` (the `tripleplay collections` command and the worker's job): marks invoices
  overdue, then for every open invoice whose due date has passed by a step's day performs that step
  once (a CollectionAction row per (invoice, day, action): idempotent). Each step is one short
  transaction; it is recorded on the customer, and the hook COLLECTION_STEP_DONE lets notifications
  write the customer's notice (e-mail with the invoice's PDF, SMS) in it.
- suspend / block set collections' own hold on the customer (a "collections" CustomerBlock, through
  tripleplay.customers.services.set_block), which derives the status and writes the IPTV
  provisioning commands in the same transaction: the subscribers are disabled on the platforms.
  Collections holds the customer whatever other source holds it too, and a payment lifts only its
  own suspension: the customer stays suspended or blocked while another source (prepaid funds, the
  operator) holds it, and collections' block stays for an operator to lift (docs/decisions.md D25).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date

from django.db import IntegrityError, transaction

from tripleplay import clock
from tripleplay.collections import policy
from tripleplay.collections.hooks import COLLECTION_STEP_DONE
from tripleplay.collections.models import Action, CollectionAction, Outcome
from tripleplay.core.actors import Actor
from tripleplay.customers.models import BlockEffect, BlockSource, Customer, Status
from tripleplay.customers.selectors import current_block
from tripleplay.invoicing.models import OPEN_STATUSES, DocumentKind, Invoice, InvoiceStatus
from tripleplay.money import Money

log = logging.getLogger("tripleplay.collections")

OVERDUE = "overdue invoice (collections)"  # the reasons of collections' holds, for people
OVERDUE_BLOCK = "overdue invoice: blocked by collections"


@dataclass
class CollectionsReport:
    today: date
    overdue_marked: int = 0
    steps: dict = field(default_factory=dict)  # action -> count done
    failures: list[str] = field(default_factory=list)

    def summary(self) -> str:
        done = ", ".join(f"{k} {v}" for k, v in sorted(self.steps.items())) or "no steps"
        return f"{self.today}: {self.overdue_marked} invoices became overdue; {done}; {len(self.failures)} failures"


def run_collections(actor: Actor, today: date | None = None, steps: list[policy.Step] | None = None) -> CollectionsReport:
    from tripleplay.invoicing.services import mark_overdue

    today = today or clock.today()
    steps = policy.configured() if steps is None else steps
    report = CollectionsReport(today, overdue_marked=mark_overdue(today))
    if not steps:
        return report
    first_day = min(s.day for s in steps)
    candidates = (Invoice.objects.filter(kind=DocumentKind.INVOICE, status__in=OPEN_STATUSES,
                                         due_date__lte=today.fromordinal(today.toordinal() - first_day))
                  .order_by("customer_id", "due_date", "number").values_list("pk", "due_date"))
    for pk, due_date in candidates:
        age = (today - due_date).days
        done = set(CollectionAction.objects.filter(invoice_id=pk).values_list("day", "action"))
        for step in steps:
            if step.day > age or (step.day, step.action) in done:
                continue
            try:
                outcome = perform_step(actor, pk, step, today)
            except Exception as e:  # one invoice's failure must not stop the others; reported
                log.exception("collections step %s for invoice #%s failed", step, pk)
                report.failures.append(f"invoice #{pk} {step.action}: {type(e).__name__}: {e}")
                break
            if outcome == Outcome.DONE:
                report.steps[step.action] = report.steps.get(step.action, 0) + 1
    return report


def perform_step(actor: Actor, invoice_id: int, step: policy.Step, today: date) -> str | None:
    """One step for one invoice, in one transaction; returns the outcome, or None when there is
    nothing to do (paid meanwhile, or done by another run)."""
    from tripleplay.ledger.services import post_charge

    action = None
    with transaction.atomic():
        inv = Invoice.objects.select_related("customer").get(pk=invoice_id)
        # NO KEY: a charge inserting an entry (KEY SHARE on the customer) while holding the funds row
        # must not wait on us, since the late fee below needs that funds row (docs/concurrency.md).
        customer = Customer.objects.select_for_update(no_key=True).get(pk=inv.customer_id)
        if inv.status not in OPEN_STATUSES:
            return None  # paid meanwhile
        if CollectionAction.objects.filter(invoice_id=invoice_id, day=step.day, action=step.action).exists():
            return None  # another run did it
        outcome, detail, entry = Outcome.DONE, "", None
        if step.action == Action.REMINDER:
            detail = f"reminder for {inv.number_text}, {inv.open_minor} minor units open"
        elif step.action == Action.LATE_FEE:
            if customer.status == Status.CLOSED:
                outcome, detail = Outcome.SKIPPED, "customer closed"
            else:
                entry = post_charge(actor, customer, Money(step.amount_minor, customer.currency),
                                    description=f"Late fee: invoice {inv.number_text} unpaid {step.day} days after due",
                                    idempotency_key=f"collections:{inv.pk}:late_fee:{step.day}", source="late_fee",
                                    data={"invoice": inv.number_text})
                detail = f"late fee {Money(step.amount_minor, customer.currency)}"
        elif step.action == Action.SUSPEND:
            outcome, detail = _hold(actor, customer, BlockEffect.SUSPEND, OVERDUE,
                                    done=f"suspended: {inv.number_text} overdue")
        elif step.action == Action.BLOCK:
            outcome, detail = _hold(actor, customer, BlockEffect.BLOCK, OVERDUE_BLOCK,
                                    done=f"blocked: {inv.number_text} overdue")
        action = _record(actor, customer, step.action, outcome, detail, invoice=inv, day=step.day, entry=entry)
        if action is not None and outcome == Outcome.DONE:
            # notifications writes the customer's notices (e-mail with the PDF, SMS) in this transaction.
            COLLECTION_STEP_DONE(actor, action)
    return outcome


def _hold(actor: Actor, customer: Customer, effect: str, reason: str, *, done: str) -> tuple[str, str]:
    """Collections' own hold (customer row locked), whatever else holds the customer: a customer
    suspended for insufficient funds or blocked by an operator is held by collections too, and stays
    so when the other hold lifts. Returns (outcome, detail) for the step's record."""
    from tripleplay.customers.services import set_block

    if customer.status == Status.CLOSED:
        return Outcome.SKIPPED, "customer is closed"
    held = current_block(customer, BlockSource.COLLECTIONS)
    if held is not None and held.effect in (effect, BlockEffect.BLOCK):
        return Outcome.SKIPPED, f"collections already holds the customer ({held.effect})"
    set_block(actor, customer, BlockSource.COLLECTIONS, effect, reason=reason)
    return Outcome.DONE, done


def _record(actor: Actor, customer: Customer, action: str, outcome: str, detail: str, *, invoice=None, day=None,
            entry=None) -> CollectionAction | None:
    row = CollectionAction(customer=customer, invoice=invoice, day=day, action=action, outcome=outcome,
                           detail=detail[:200], entry=entry, at=clock.now())
    row.set_actor(actor)
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:
        return None
    return row


def lift_if_cleared(actor: Actor, customer: Customer) -> bool:
    """After a payment (customer row locked by the payment): if collections suspends the customer and
    no invoice is overdue any more, lift that suspension (the customer is active again unless
    another source holds it; its IPTV subscribers are re-enabled when it is). Collections' block is
    not lifted by a payment (D25)."""
    from tripleplay.customers.services import lift_block

    held = current_block(customer, BlockSource.COLLECTIONS)
    if held is None or held.effect != BlockEffect.SUSPEND:
        return False
    if Invoice.objects.filter(customer_id=customer.pk, status=InvoiceStatus.OVERDUE).exists():
        return False
    lift_block(actor, customer, BlockSource.COLLECTIONS, reason="overdue invoices paid")
    _record(actor, customer, Action.LIFT, Outcome.DONE, "suspension lifted: overdue invoices paid")
    return True
