"""The handlers of the lower apps' hooks (registered in tripleplay.webhooks.apps): each turns a change
into its event's payload and writes it with ``events.emit`` in the change's transaction. The payloads
are documented in docs/webhooks.md; change them together."""

from __future__ import annotations

from tripleplay.core.actors import Actor
from tripleplay.customers.models import Customer, CustomerStatusChange
from tripleplay.invoicing.models import Invoice
from tripleplay.iptv.models import ProvisioningCommand, Subscriber
from tripleplay.ledger.hooks import Payment
from tripleplay.orders.models import TvOrder
from tripleplay.sessions.hooks import SessionMustEnd
from tripleplay.webhooks.events import NewEvent, emit, iso


def customer_changed(actor: Actor, customer: Customer, event: str) -> None:
    if event == "Customer/Updated":  # a name or contact change, not a status change
        return
    change = CustomerStatusChange.objects.filter(customer=customer).order_by("-id").first()
    if change is None:
        return
    emit("customer.status_changed", [NewEvent({
        "customer_id": customer.pk, "from": change.from_status, "to": change.to_status, "reason": change.reason,
        "changed_at": iso(change.at), "changed_by": actor.name})])


def payment_recorded(payment: Payment) -> None:
    e = payment.entry
    if e is None:
        return
    emit("payment.recorded", [NewEvent({
        "customer_id": payment.customer.pk, "entry_id": e.pk, "amount_minor": e.amount_minor, "currency": e.currency,
        "balance_after_minor": e.balance_after_minor, "reference": e.reference, "description": e.description,
        "recorded_at": iso(e.created_at)})])


def invoice_payload(inv: Invoice) -> dict:
    return {"invoice_id": inv.pk, "number": inv.number_text, "customer_id": inv.customer_id, "currency": inv.currency,
            "period_start": inv.period_start.isoformat(), "period_end": inv.period_end.isoformat(),
            "issue_date": inv.issue_date.isoformat(), "due_date": inv.due_date.isoformat(),
            "subtotal_minor": inv.subtotal_minor, "tax_minor": inv.tax_minor, "total_minor": inv.total_minor,
            "amount_due_minor": inv.amount_due_minor, "settled_minor": inv.settled_minor, "status": inv.status,
            "out_of_turn": inv.out_of_turn}


def invoices_issued(actor: Actor, invoices: list[Invoice]) -> None:
    emit("invoice.issued", [NewEvent(invoice_payload(inv)) for inv in invoices])


def invoices_paid(invoices: list[Invoice]) -> None:
    emit("invoice.paid", [NewEvent(invoice_payload(inv)) for inv in invoices])


def provisioning_failed(sub: Subscriber, command: ProvisioningCommand, error: str) -> None:
    emit("provisioning.failed", [NewEvent({
        "platform": sub.platform.code, "subscriber": sub.external_id, "account_id": sub.account_id,
        "customer_id": sub.account.customer_id, "command_id": command.pk, "event": command.event,
        "attempts": command.attempts + 1, "error": error[:500]})])


def session_must_end(ended: SessionMustEnd) -> None:
    """Billing forced a charging session to end (its quota could not be renewed, or its account or
    customer is no longer allowed): in the report's transaction, beside the RADIUS app's
    Disconnect-Request to the NAS (order 10; this runs at 20)."""
    emit("session.disconnected", [NewEvent({
        "session": ended.session_pk, "client": ended.client, "session_id": ended.session_id,
        "account_id": ended.account_id, "customer_id": ended.customer_id, "reason": ended.reason,
        "code": ended.code})])


def order_placed(order: TvOrder) -> None:
    """A TV-screen order was done (tripleplay.orders): in the order's transaction."""
    emit("order.placed", [NewEvent({
        "order_id": order.pk, "platform": order.platform.code, "transaction_id": order.transaction_id,
        "subscriber": order.subscriber_ref, "account_id": order.account_id, "customer_id": order.customer_id,
        "action": order.action, "product": order.product_ref, "plan": order.plan.code if order.plan_id else None,
        "amount_minor": order.charged_minor, "currency": order.currency, "placed_at": iso(order.created_at)})])
