"""What promotions let upper layers react to (tripleplay.core.hooks).

``TRIAL_ENDING`` runs in the daily trials job (``services.remind_trials``), once per trial whose
reminder is due, in the transaction that marks it reminded: a handler that writes to an outbox (the
notifications app's ``notify(customer, "trial_ending", ...)``) commits with that mark, so the
reminder is neither lost nor sent twice. Not required: with no handler the mark is still set.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from tripleplay.core.actors import Actor
from tripleplay.core.hooks import Hook
from tripleplay.customers.models import AccountProduct, Customer


@dataclass(frozen=True)
class TrialEnding:
    customer: Customer
    assignment: AccountProduct
    promotion: str  # the promotion's name
    trial_end: date  # the first day after the trial: paid from then, or the product ends then
    converts: bool
    key: str  # idempotency key for the notice: "trial_ending:<grant id>"


TRIAL_ENDING: Hook[[Actor, TrialEnding]] = Hook(
    "promotions.trial_ending",
    doc="A free trial ends in the promotion's reminder_days: remind the customer (notifications).",
)
