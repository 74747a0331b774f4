"""A model-based test of the ledger: random sequences of money writes against one customer, checked
after every step against a model kept in Python and against the ledger's own invariants:

- funds.balance == the sum of the customer's entries == the model's balance;
- funds.held == the sum of active holds == the model's, and never negative;
- the floor: available = balance + credit_limit - held >= 0, as long as every debit is covered
  (``LedgerWithUncoveredDebits`` adds uncovered charges and manual debits and drops the floor);
- replays of an idempotency key return the first row and move nothing; a reused key is a conflict.

Every example uses a fresh customer (the database is not reset between examples) and a frozen clock
a day later than the previous example's, so the holds of earlier examples have all expired.
"""

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tripleplay import clock
from tripleplay.core.actors import Actor
from tripleplay.core.errors import IdempotencyConflict, InsufficientFunds
from tripleplay.customers.services import create_customer
from tripleplay.ledger import selectors
from tripleplay.ledger.models import Funds, Hold, LedgerEntry
from tripleplay.ledger.services import (
    HoldExpired,
    HoldNotActive,
    capture_hold,
    expire_holds,
    place_hold,
    post_charge,
    post_credit,
    post_debit,
    record_payment,
    refund,
    release_hold,
)
from tripleplay.money import Money

pytestmark = pytest.mark.django_db

ACTOR = Actor.system("stateful")
BASE = datetime(2030, 1, 1, tzinfo=UTC)
_epochs = itertools.count()

amounts = st.integers(min_value=1, max_value=3000)
picks = st.integers(min_value=0, max_value=10_000)

RUN = hsettings(max_examples=30, stateful_step_count=25, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])


def usd(minor: int) -> Money:
    return Money(minor, "USD")


class LedgerMachine(RuleBasedStateMachine):
    balance_model = "prepaid"
    credit_limit = 0
    floor = True  # every debit is covered: available never goes below zero

    def __init__(self):
        super().__init__()
        clock.freeze(BASE + timedelta(days=next(_epochs)))
        expire_holds()  # earlier examples' holds are all past expiry now: sweep them
        self.customer = create_customer(ACTOR, name="stateful", currency="USD", balance_model=self.balance_model,
                                        credit_limit_minor=self.credit_limit)
        self.balance = 0
        self.entries = 0
        self.holds: dict[int, dict] = {}  # pk -> amount, expires_at, status, captured, entry
        self.entry_keys: dict[str, tuple[str, int, int]] = {}  # key -> (kind, amount, entry pk)
        self.hold_keys: dict[str, tuple[int, int]] = {}  # key -> (amount, hold pk)
        self._keys = itertools.count()

    # -- model helpers -----------------------------------------------------------------------------
    def key(self) -> str:
        return f"sm-{self.customer.pk}-{next(self._keys)}"

    @property
    def held(self) -> int:
        return sum(h["amount"] for h in self.holds.values() if h["status"] == "active")

    @property
    def available(self) -> int:
        return self.balance + self.credit_limit - self.held

    def _write(self, kind: str, call, amount: int, sign: int, covered_by: int | None):
        """Run a write; the model says whether it must succeed (covered_by is None: always)."""
        key = self.key()
        if covered_by is not None and amount > covered_by:
            with pytest.raises(InsufficientFunds):
                call(amount, key)
            return
        entry = call(amount, key)
        self.balance += sign * amount
        self.entries += 1
        assert entry.amount_minor == sign * amount
        assert entry.balance_after_minor == self.balance
        self.entry_keys[key] = (kind, amount, entry.pk)

    WRITES = {
        "payment": lambda c, a, k: record_payment(ACTOR, c, usd(a), idempotency_key=k),
        "credit": lambda c, a, k: post_credit(ACTOR, c, usd(a), reason="goodwill", idempotency_key=k),
        "charge": lambda c, a, k: post_charge(ACTOR, c, usd(a), description="ppv", idempotency_key=k,
                                              must_cover=True),
        "refund": lambda c, a, k: refund(ACTOR, c, usd(a), reason="back", idempotency_key=k),
        "usage": lambda c, a, k: post_charge(ACTOR, c, usd(a), description="usage", idempotency_key=k),
        "debit": lambda c, a, k: post_debit(ACTOR, c, usd(a), reason="fix", idempotency_key=k),
    }

    def call(self, kind: str):
        return lambda a, k: self.WRITES[kind](self.customer, a, k)

    def pick_hold(self, i: int) -> int:
        return sorted(self.holds)[i % len(self.holds)]

    # -- rules ---------------------------------------------------------------------------------------
    @initialize(opening=st.one_of(st.just(0), st.integers(min_value=1, max_value=6000)))
    def opening_payment(self, opening):
        """Most examples start with money, so that holds and charges get somewhere quickly."""
        if opening:
            self._write("payment", self.call("payment"), opening, +1, None)

    @rule(amount=amounts)
    def payment(self, amount):
        self._write("payment", self.call("payment"), amount, +1, None)

    @rule(amount=amounts)
    def credit(self, amount):
        self._write("credit", self.call("credit"), amount, +1, None)

    @rule(amount=amounts)
    def covered_charge(self, amount):
        self._write("charge", self.call("charge"), amount, -1, self.available)

    @rule(amount=amounts)
    def refund(self, amount):
        self._write("refund", self.call("refund"), amount, -1, self.balance - self.held)

    @rule(amount=amounts, ttl_minutes=st.integers(min_value=1, max_value=120))
    def place(self, amount, ttl_minutes):
        key = self.key()
        expires_at = clock.now() + timedelta(minutes=ttl_minutes)
        if amount > self.available:
            with pytest.raises(InsufficientFunds):
                place_hold(ACTOR, self.customer, usd(amount), idempotency_key=key, expires_at=expires_at)
            assert not Hold.objects.filter(idempotency_key=key).exists()
            return
        hold = place_hold(ACTOR, self.customer, usd(amount), idempotency_key=key, expires_at=expires_at)
        self.holds[hold.pk] = {"amount": amount, "expires_at": expires_at, "status": "active", "captured": None,
                               "entry": None}
        self.hold_keys[key] = (amount, hold.pk)

    @precondition(lambda self: self.holds)
    @rule(i=picks, percent=st.one_of(st.none(), st.integers(min_value=1, max_value=100)))
    def capture(self, i, percent):
        pk = self.pick_hold(i)
        h = self.holds[pk]
        amount = None if percent is None else max(1, h["amount"] * percent // 100)
        wanted = h["amount"] if amount is None else amount
        call = lambda: capture_hold(ACTOR, Hold.objects.get(pk=pk), amount=None if amount is None else usd(amount))  # noqa: E731
        if h["status"] == "active" and clock.now() < h["expires_at"]:
            entry = call()
            h.update(status="captured", captured=wanted, entry=entry.pk)
            self.balance -= wanted
            self.entries += 1
            assert (entry.amount_minor, entry.balance_after_minor) == (-wanted, self.balance)
        elif h["status"] == "active":  # past expiry, not yet swept: expired on the spot
            with pytest.raises(HoldExpired):
                call()
            h["status"] = "expired"
        elif h["status"] == "captured" and h["captured"] == wanted:
            assert call().pk == h["entry"]
        elif h["status"] == "expired":
            with pytest.raises(HoldExpired):
                call()
        else:  # released, or captured for another amount
            with pytest.raises(HoldNotActive):
                call()

    @precondition(lambda self: self.holds)
    @rule(i=picks)
    def release(self, i):
        pk = self.pick_hold(i)
        h = self.holds[pk]
        if h["status"] == "captured":
            with pytest.raises(HoldNotActive):
                release_hold(ACTOR, Hold.objects.get(pk=pk))
            return
        if h["status"] == "active":
            h["status"] = "released"
        assert release_hold(ACTOR, Hold.objects.get(pk=pk)).status == h["status"]

    @rule(minutes=st.integers(min_value=1, max_value=90))
    def expire(self, minutes):
        now = clock.advance(timedelta(minutes=minutes))
        due = [h for h in self.holds.values() if h["status"] == "active" and h["expires_at"] <= now]
        assert expire_holds() == len(due)
        for h in due:
            h["status"] = "expired"

    @precondition(lambda self: self.entry_keys)
    @rule(i=picks, same=st.booleans())
    def replay_entry(self, i, same):
        key = sorted(self.entry_keys)[i % len(self.entry_keys)]
        kind, amount, pk = self.entry_keys[key]
        if same:
            assert self.call(kind)(amount, key).pk == pk
        else:
            with pytest.raises(IdempotencyConflict):
                self.call(kind)(amount + 1, key)

    @precondition(lambda self: self.hold_keys)
    @rule(i=picks, same=st.booleans())
    def replay_hold(self, i, same):
        key = sorted(self.hold_keys)[i % len(self.hold_keys)]
        amount, pk = self.hold_keys[key]
        if same:
            assert place_hold(ACTOR, self.customer, usd(amount), idempotency_key=key).pk == pk
        else:
            with pytest.raises(IdempotencyConflict):
                place_hold(ACTOR, self.customer, usd(amount + 1), idempotency_key=key)

    # -- invariants ------------------------------------------------------------------------------------
    @invariant()
    def funds_match_the_ledger_and_the_model(self):
        f = Funds.objects.get(customer_id=self.customer.pk)
        assert f.balance_minor == selectors.sum_of_entries(self.customer) == self.balance
        assert f.held_minor == selectors.sum_of_active_holds(self.customer) == self.held
        assert f.held_minor >= 0
        assert f.credit_limit_minor == self.credit_limit
        if self.floor:
            assert f.available_minor >= 0
        assert LedgerEntry.objects.filter(customer_id=self.customer.pk).count() == self.entries

    @invariant()
    def hold_states_match_the_model(self):
        rows = Hold.objects.filter(customer_id=self.customer.pk).values_list("pk", "status", "captured_minor")
        assert {pk: (status, captured) for pk, status, captured in rows} == {
            pk: (h["status"], h["captured"]) for pk, h in self.holds.items()}


class LedgerWithUncoveredDebits(LedgerMachine):
    """Usage charges and manual debits are not covered: they may take available below zero. Every
    other invariant still holds, and covered writes keep refusing what the funds do not cover."""

    floor = False

    @rule(amount=amounts)
    def usage_charge(self, amount):
        self._write("usage", self.call("usage"), amount, -1, None)

    @rule(amount=amounts)
    def manual_debit(self, amount):
        self._write("debit", self.call("debit"), amount, -1, None)


def machine(base, **attrs):
    return type(f"{base.__name__}_{attrs['balance_model']}", (base,), attrs)


@pytest.mark.parametrize(
    "base, attrs",
    [
        (LedgerMachine, dict(balance_model="prepaid", credit_limit=0)),
        (LedgerMachine, dict(balance_model="postpaid", credit_limit=2000)),
        (LedgerWithUncoveredDebits, dict(balance_model="prepaid", credit_limit=0)),
        (LedgerWithUncoveredDebits, dict(balance_model="postpaid", credit_limit=2000)),
    ],
    ids=["prepaid", "postpaid", "prepaid-uncovered", "postpaid-uncovered"],
)
def test_ledger_state_machine(db, base, attrs):
    run_state_machine_as_test(machine(base, **attrs), settings=RUN)
