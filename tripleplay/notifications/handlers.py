"""The handlers of the lower apps' hooks (registered in tripleplay.notifications.apps): each turns a
change into plain context values and writes the notices with ``services.notify`` in the change's
transaction. The variables each kind offers are listed in catalogue.KINDS; change them together."""

from __future__ import annotations

from datetime import timedelta

from tripleplay.collections.models import CollectionAction
from tripleplay.core.actors import Actor
from tripleplay.customers.models import BlockSource, Customer, CustomerStatusChange, Status
from tripleplay.customers.selectors import current_block
from tripleplay.invoicing.models import DocumentKind, Invoice
from tripleplay.money import Money
from tripleplay.notifications import catalogue
from tripleplay.notifications.services import Request, notify, notify_many
from tripleplay.promotions.hooks import TrialEnding


def customer_changed(actor: Actor, customer: Customer, event: str) -> None:
    """A customer now suspended gets the "suspended" notice, unless collections suspended it: the
    collections step's own notice says why, and which invoice lifts it."""
    if event == "Customer/Updated" or customer.status != Status.SUSPENDED:
        return
    change = CustomerStatusChange.objects.filter(customer=customer).order_by("-id").first()
    if change is None or change.to_status != Status.SUSPENDED:
        return
    if current_block(customer, BlockSource.COLLECTIONS) is not None:
        return
    notify(customer, "suspended", {"customer_name": customer.name, "reason": change.reason},
           key=f"{customer.pk}:{change.pk}")


def invoices_issued(actor: Actor, invoices: list[Invoice]) -> None:
    """The run's invoices carry only their customer_id: the customers are read in one query (those with
    an address only). The e-mail attaches the invoice's PDF, rendered after the run by the
    invoice-documents job: the delivery worker sends it once the PDF is stored (D200)."""
    invoices = [inv for inv in invoices if inv.kind != DocumentKind.CREDIT_NOTE]
    customers = Customer.objects.filter(pk__in={inv.customer_id for inv in invoices}).exclude(phone="", email="")
    by_id = {c.pk: c for c in customers.only("id", "name", "email", "phone")}
    notify_many([Request(by_id[inv.customer_id], "invoice_issued", {
        "customer_name": (inv.bill_to or {}).get("name") or by_id[inv.customer_id].name,
        "invoice_number": inv.number_text, "issue_date": inv.issue_date,
        "total": Money(inv.total_minor, inv.currency), "amount_due": Money(inv.amount_due_minor, inv.currency),
        "due_date": inv.due_date}, key=str(inv.pk), invoice_id=inv.pk) for inv in invoices if inv.customer_id in by_id])


def credit_note_issued(actor: Actor, credit_note: Invoice) -> None:
    """A voided invoice's credit note (invoicing.CREDIT_NOTE_ISSUED), e-mailed with its PDF."""
    customer = Customer.objects.get(pk=credit_note.customer_id)
    notify(customer, "credit_note_issued", {
        "customer_name": (credit_note.bill_to or {}).get("name") or customer.name,
        "credit_note_number": credit_note.number_text, "invoice_number": credit_note.credit_note_for.number_text,
        "issue_date": credit_note.issue_date, "total": Money(credit_note.total_minor, credit_note.currency),
        "amount_due": Money(credit_note.amount_due_minor, credit_note.currency)},
        key=str(credit_note.pk), invoice_id=credit_note.pk)


def collection_step_done(actor: Actor, action: CollectionAction) -> None:
    kind = catalogue.COLLECTION_KINDS.get(action.action)
    inv = action.invoice
    if kind is None or inv is None:
        return
    context = {"customer_name": (inv.bill_to or {}).get("name") or action.customer.name,
               "invoice_number": inv.number_text, "open_amount": Money(inv.open_minor, inv.currency),
               "due_date": inv.due_date}
    if action.entry is not None:
        context["late_fee"] = Money(abs(action.entry.amount_minor), action.entry.currency)
    notify(action.customer, kind, context, key=str(action.pk), invoice_id=inv.pk)


def trial_ending(actor: Actor, trial: TrialEnding) -> None:
    """The trials job's reminder (promotions.hooks.TRIAL_ENDING), in the transaction that marks the
    grant reminded: ``last_day`` is the trial's last free day."""
    notify(trial.customer, "trial_ending", {
        "customer_name": trial.customer.name, "package": trial.assignment.product.name,
        "last_day": trial.trial_end - timedelta(days=1)}, key=trial.key)
