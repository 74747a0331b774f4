"""What the ledger lets upper layers react to, inside its own transaction (tripleplay.core.hooks).

Registered by (AppConfig.ready()): tripleplay.invoicing.apps and tripleplay.subscriptions.apps.
``PAYMENT_LOCKING.handlers()`` and ``PAYMENT_RECORDED.handlers()`` list them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tripleplay.core.actors import Actor
from tripleplay.core.hooks import Hook
from tripleplay.customers.models import Customer
from tripleplay.ledger.models import LedgerEntry
from tripleplay.money import Money


@dataclass
class Payment:
    """A payment inside record_payment's transaction, as both payment hooks see it (the same object).

    ``to_settle``: names a PAYMENT_LOCKING handler adds when it found work to do once the payment is
    recorded, so that its PAYMENT_RECORDED handler does only that work (a customer suspended for
    insufficient funds is charged its due fees; any other customer is not)."""

    actor: Actor
    customer: Customer
    amount: Money
    entry: LedgerEntry | None = None  # set once the funds have moved
    to_settle: set[str] = field(default_factory=set)


PAYMENT_LOCKING: Hook[[Payment]] = Hook(
    "ledger.payment_locking",
    doc="Before the payment's funds UPDATE: take the row locks the reactions will need, in the lock "
        "order customer row -> assignment rows -> funds row (docs/concurrency.md). Orders: invoicing 10 "
        "(customer row), subscriptions 20 (customer and assignment rows).",
)

PAYMENT_RECORDED: Hook[[Payment]] = Hook(
    "ledger.payment_recorded",
    doc="After the payment's entry is written, same transaction: charge the fees a prepaid suspension "
        "left due (subscriptions, order 10), then settle open invoices and let collections lift its "
        "suspension (invoicing, order 20). A handler must not lose the payment: it catches and logs "
        "its own failure back to a savepoint. Except the outbox: webhooks (order 30) writes the "
        "payment.recorded event, which commits with its payment or neither does.",
)
