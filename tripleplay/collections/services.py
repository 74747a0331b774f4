"""Collections (docs/invoicing.md): the policy's steps applied to invoices left unpaid after their
due date, and the suspension lifted when a payment clears what is overdue.

- ``run_collections`` (the `tripleplay collections` command and the worker's job): marks invoices
  overdue, then for every open invoice whose due date has passed by a step's day performs that step
  once (a CollectionAction row per (invoice, day, action): idempotent). Each step is one short
  transaction; it is recorded on the customer and notified by e-mail.
- suspend / block change the customer's status through tripleplay.customers.services, which writes
  the IPTV provisioning commands in the same transaction: the subscribers are disabled on the
  platforms. Collections suspends only an active customer, with its own reason (OVERDUE), and lifts
  only a suspension with that reason: a prepaid customer's "insufficient funds" suspension belongs to
  tripleplay.subscriptions, and a block stays for an operator to lift (docs/decisions.md D25).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date

from django.db import IntegrityError, transaction

from tripleplay import clock
from tripleplay.collections import policy
from tripleplay.collections.models import Action, CollectionAction, Outcome
from tripleplay.core.actors import Actor
from tripleplay.customers.models import Customer, Status
from tripleplay.invoicing.models import OPEN_STATUSES, DocumentKind, Invoice, InvoiceStatus
from tripleplay.money import Money

log = logging.getLogger("tripleplay.collections")

OVERDUE = "overdue invoice (collections)"  # the suspension reason collections sets and lifts
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
    """One step for one invoice, in one transaction; returns the outcome, or None when the step must
    wait (the customer is suspended for another reason: collections suspends it once that lifts)."""
    from tripleplay.customers.services import change_customer_status
    from tripleplay.invoicing.notifications import send_collection_notice
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
            if customer.status == Status.ACTIVE:
                change_customer_status(actor, customer, Status.SUSPENDED, reason=OVERDUE)
                detail = f"suspended: {inv.number_text} overdue"
            elif customer.status == Status.SUSPENDED:
                return None  # suspended for another reason: try again once that is lifted
            else:
                outcome, detail = Outcome.SKIPPED, f"customer is {customer.status}"
        elif step.action == Action.BLOCK:
            if customer.status in (Status.ACTIVE, Status.SUSPENDED):
                change_customer_status(actor, customer, Status.BLOCKED, reason=OVERDUE_BLOCK)
                detail = f"blocked: {inv.number_text} overdue"
            else:
                outcome, detail = Outcome.SKIPPED, f"customer is {customer.status}"
        action = _record(actor, customer, step.action, outcome, detail, invoice=inv, day=step.day, entry=entry)
    if action is not None and outcome == Outcome.DONE:
        # After the commit: an e-mail is not transactional; a failure is logged, the step stays done.
        try:
            send_collection_notice(action)
        except Exception:
            log.exception("collections notice for %s failed", action)
    return outcome


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
    """After a payment (customer row locked by the payment): if collections suspended the customer
    and no invoice is overdue any more, make it active again (which re-enables its IPTV subscribers)."""
    from tripleplay.customers.services import change_customer_status

    customer = Customer.objects.get(pk=customer.pk)
    if customer.status != Status.SUSPENDED or customer.status_reason != OVERDUE:
        return False
    if Invoice.objects.filter(customer_id=customer.pk, status=InvoiceStatus.OVERDUE).exists():
        return False
    # Only a suspension collections imposed itself (its last word on the customer is a suspend), not
    # one an operator happened to give the same reason.
    last = (CollectionAction.objects.filter(customer_id=customer.pk, outcome=Outcome.DONE,
                                            action__in=(Action.SUSPEND, Action.LIFT)).order_by("-at", "-id").first())
    if last is None or last.action != Action.SUSPEND:
        return False
    change_customer_status(actor, customer, Status.ACTIVE, reason="overdue invoices paid")
    _record(actor, customer, Action.LIFT, Outcome.DONE, "suspension lifted: overdue invoices paid")
    return True
