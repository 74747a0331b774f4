from datetime import UTC, datetime, timedelta

import pytest
from django.db import DatabaseError, IntegrityError, transaction

from tripleplay import clock
from tripleplay.audit.models import AuditEvent
from tripleplay.core.errors import Conflict, IdempotencyConflict, InsufficientFunds, InvalidInput
from tripleplay.customers.services import change_customer_status
from tripleplay.ledger import selectors
from tripleplay.ledger.models import EntryKind, Funds, Hold, HoldStatus, LedgerEntry
from tripleplay.ledger.services import (
    DEFAULT_HOLD_TTL,
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
    set_credit_limit,
)
from tripleplay.money import Money

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def usd(minor: int) -> Money:
    return Money(minor, "USD")


def funds(customer) -> Funds:
    return Funds.objects.get(customer_id=customer.pk)


def snapshot(customer) -> dict:
    """Everything a refused write must leave untouched."""
    f = funds(customer)
    return {
        "balance": f.balance_minor,
        "held": f.held_minor,
        "credit_limit": f.credit_limit_minor,
        "entries": LedgerEntry.objects.count(),
        "holds": list(Hold.objects.order_by("id").values_list("id", "status", "captured_minor")),
        "audit": AuditEvent.objects.count(),
    }


def assert_consistent(customer):
    f = funds(customer)
    assert f.balance_minor == selectors.sum_of_entries(customer)
    assert f.held_minor == selectors.sum_of_active_holds(customer)
    assert f.held_minor >= 0


@pytest.fixture
def prepaid(make_customer):
    return make_customer("prepaid")


@pytest.fixture
def postpaid(make_customer):
    return make_customer("postpaid", credit_limit_minor=1000)


def pay(actor, customer, minor, key=None):
    return record_payment(actor, customer, usd(minor), idempotency_key=key or f"pay-{customer.pk}-{minor}-{next_key()}")


_counter = iter(range(1, 10**9))


def next_key() -> str:
    return f"k{next(_counter)}"


# -- entries move the balance exactly -------------------------------------------------------------


def test_each_kind_moves_the_balance_exactly_and_records_balance_after(actor, prepaid):
    steps = [
        (lambda: record_payment(actor, prepaid, usd(1000), idempotency_key="p1", method="card", reference="R-1"),
         EntryKind.PAYMENT, 1000, 1000),
        (lambda: post_charge(actor, prepaid, usd(250), description="Sports", idempotency_key="c1",
                             service_type="iptv", source="subscription"),
         EntryKind.CHARGE, -250, 750),
        (lambda: post_credit(actor, prepaid, usd(100), reason="goodwill", idempotency_key="cr1"),
         EntryKind.CREDIT, 100, 850),
        (lambda: post_debit(actor, prepaid, usd(50), reason="correction", idempotency_key="d1"),
         EntryKind.ADJUSTMENT, -50, 800),
        (lambda: refund(actor, prepaid, usd(300), reason="overpaid", idempotency_key="r1"),
         EntryKind.REFUND, -300, 500),
        (lambda: post_charge(actor, prepaid, usd(700), description="usage", idempotency_key="c2"),
         EntryKind.CHARGE, -700, -200),  # not must_cover: may go below zero
    ]
    for i, (call, kind, amount, balance_after) in enumerate(steps, start=1):
        entry = call()
        entry.refresh_from_db()
        assert (entry.kind, entry.amount_minor, entry.balance_after_minor) == (kind, amount, balance_after)
        assert entry.currency == "USD" and entry.customer_id == prepaid.pk
        assert (entry.actor_kind, entry.actor_name) == ("system", "test")
        assert funds(prepaid).balance_minor == balance_after
        assert LedgerEntry.objects.filter(customer=prepaid).count() == i
        event = AuditEvent.objects.get(action=f"ledger.{kind}", object_id=str(entry.pk))
        assert event.data["amount_minor"] == amount and event.data["balance_after_minor"] == balance_after
    assert_consistent(prepaid)
    payment = LedgerEntry.objects.get(idempotency_key="p1")
    assert (payment.source, payment.reference, payment.description) == ("card", "R-1", "Payment (card)")
    charge = LedgerEntry.objects.get(idempotency_key="c1")
    assert (charge.service_type, charge.source, charge.description) == ("iptv", "subscription", "Sports")
    assert LedgerEntry.objects.get(idempotency_key="cr1").reason == "goodwill"
    view = selectors.funds_of(prepaid)
    assert view.balance == usd(-200) and view.amount_owed == usd(200) and view.available == usd(-200)
    assert [e.idempotency_key for e in selectors.entries_of(prepaid, kind=EntryKind.CHARGE)] == ["c2", "c1"]


# -- idempotency ------------------------------------------------------------------------------------

WRITES = {
    "payment": (lambda a, c, m, k: record_payment(a, c, m, idempotency_key=k), 1),
    "credit": (lambda a, c, m, k: post_credit(a, c, m, reason="goodwill", idempotency_key=k), 1),
    "charge": (lambda a, c, m, k: post_charge(a, c, m, description="fee", idempotency_key=k), -1),
    "covered_charge": (lambda a, c, m, k: post_charge(a, c, m, description="fee", idempotency_key=k,
                                                      must_cover=True), -1),
    "debit": (lambda a, c, m, k: post_debit(a, c, m, reason="fix", idempotency_key=k), -1),
    "refund": (lambda a, c, m, k: refund(a, c, m, reason="back", idempotency_key=k), -1),
}


@pytest.mark.parametrize("write", sorted(WRITES))
def test_replay_with_the_same_key_returns_the_first_entry_and_moves_the_balance_once(actor, prepaid, write):
    pay(actor, prepaid, 5000, key="seed")
    call, sign = WRITES[write]
    first = call(actor, prepaid, usd(700), "same-key")
    before = snapshot(prepaid)
    assert before["balance"] == 5000 + sign * 700
    again = call(actor, prepaid, usd(700), " same-key ")  # keys are trimmed
    assert again.pk == first.pk
    assert snapshot(prepaid) == before
    assert LedgerEntry.objects.filter(idempotency_key="same-key").count() == 1
    assert_consistent(prepaid)


@pytest.mark.parametrize("write", sorted(WRITES))
def test_same_key_for_a_different_request_is_a_conflict_and_writes_nothing(actor, prepaid, make_customer, write):
    other_customer = make_customer()
    pay(actor, prepaid, 5000, key="seed")
    call, _ = WRITES[write]
    first = call(actor, prepaid, usd(700), "key-1")
    before = snapshot(prepaid)
    with pytest.raises(IdempotencyConflict) as err:
        call(actor, prepaid, usd(701), "key-1")  # different amount
    assert err.value.code == "idempotency_key_reused"
    assert err.value.details == {"idempotency_key": "key-1"}
    with pytest.raises(IdempotencyConflict):  # same amount, another customer
        call(actor, other_customer, usd(700), "key-1")
    other_kind = "payment" if write != "payment" else "credit"
    with pytest.raises(IdempotencyConflict):  # same amount, another kind of write
        WRITES[other_kind][0](actor, prepaid, usd(700), "key-1")
    assert snapshot(prepaid) == before
    assert funds(other_customer).balance_minor == 0
    assert LedgerEntry.objects.get(idempotency_key="key-1").pk == first.pk


def test_same_key_conflict_writes_nothing_exact_counts(actor, prepaid, postpaid):
    pay(actor, prepaid, 1000, key="k")
    entries, audit = LedgerEntry.objects.count(), AuditEvent.objects.count()
    with pytest.raises(IdempotencyConflict):
        record_payment(actor, prepaid, usd(999), idempotency_key="k")
    with pytest.raises(IdempotencyConflict):
        record_payment(actor, postpaid, usd(1000), idempotency_key="k")
    with pytest.raises(IdempotencyConflict):
        record_payment(actor, prepaid, usd(1000), idempotency_key="k", method="card")
    assert (LedgerEntry.objects.count(), AuditEvent.objects.count()) == (entries, audit)
    assert funds(prepaid).balance_minor == 1000 and funds(postpaid).balance_minor == 0


@pytest.mark.parametrize("key", [None, "", "   ", "x" * 129, "tab\there"])
def test_an_idempotency_key_is_required_and_checked(actor, prepaid, key):
    before = snapshot(prepaid)
    with pytest.raises(InvalidInput):
        record_payment(actor, prepaid, usd(100), idempotency_key=key)
    with pytest.raises(InvalidInput):
        place_hold(actor, prepaid, usd(100), idempotency_key=key)
    assert snapshot(prepaid) == before


# -- input checks ------------------------------------------------------------------------------------


@pytest.mark.parametrize("write", sorted(WRITES))
@pytest.mark.parametrize("amount", [usd(0), usd(-100), Money(100, "EUR")])
def test_bad_amounts_are_refused_and_write_nothing(actor, prepaid, write, amount):
    pay(actor, prepaid, 5000)
    before = snapshot(prepaid)
    with pytest.raises(InvalidInput):
        WRITES[write][0](actor, prepaid, amount, "bad-amount")
    assert snapshot(prepaid) == before


def test_reason_and_method_are_checked(actor, prepaid):
    before = snapshot(prepaid)
    with pytest.raises(InvalidInput):
        post_credit(actor, prepaid, usd(100), reason="  ", idempotency_key="x1")
    with pytest.raises(InvalidInput):
        post_debit(actor, prepaid, usd(100), reason="", idempotency_key="x2")
    with pytest.raises(InvalidInput):
        refund(actor, prepaid, usd(100), reason="", idempotency_key="x3")
    with pytest.raises(InvalidInput):
        record_payment(actor, prepaid, usd(100), idempotency_key="x4", method="bitcoin")
    assert snapshot(prepaid) == before


def test_an_account_of_another_customer_is_refused(actor, prepaid, make_customer, make_account):
    other = make_customer()
    account = make_account(other)
    before = snapshot(prepaid)
    with pytest.raises(InvalidInput) as err:
        post_charge(actor, prepaid, usd(100), description="x", idempotency_key="acc", account=account)
    assert err.value.code == "account_mismatch"
    assert snapshot(prepaid) == before
    own = make_account(prepaid)
    entry = post_charge(actor, prepaid, usd(100), description="x", idempotency_key="acc", account=own)
    assert entry.account_id == own.pk and funds(prepaid).balance_minor == -100


# -- covered debits ------------------------------------------------------------------------------


def test_must_cover_charge_is_refused_when_funds_do_not_cover_it(actor, prepaid):
    pay(actor, prepaid, 500)
    before = snapshot(prepaid)
    with pytest.raises(InsufficientFunds) as err:
        post_charge(actor, prepaid, usd(501), description="ppv", idempotency_key="c", must_cover=True)
    assert err.value.code == "insufficient_funds"
    assert err.value.details == {"amount_minor": 501, "available_minor": 500}
    assert snapshot(prepaid) == before
    assert not LedgerEntry.objects.filter(idempotency_key="c").exists()
    # the refused key was not used up: the same request succeeds once funds cover it
    pay(actor, prepaid, 1)
    entry = post_charge(actor, prepaid, usd(501), description="ppv", idempotency_key="c", must_cover=True)
    assert entry.balance_after_minor == 0 and funds(prepaid).balance_minor == 0
    with pytest.raises(InsufficientFunds):
        post_charge(actor, prepaid, usd(1), description="ppv", idempotency_key="c2", must_cover=True)
    assert_consistent(prepaid)


def test_must_cover_uses_the_credit_limit_and_counts_holds(actor, postpaid):
    place_hold(actor, postpaid, usd(300), idempotency_key="h")
    with pytest.raises(InsufficientFunds) as err:
        post_charge(actor, postpaid, usd(701), description="x", idempotency_key="c1", must_cover=True)
    assert err.value.details["available_minor"] == 700
    entry = post_charge(actor, postpaid, usd(700), description="x", idempotency_key="c2", must_cover=True)
    assert entry.balance_after_minor == -700
    f = funds(postpaid)
    assert (f.balance_minor, f.held_minor, f.available_minor) == (-700, 300, 0)
    # an uncovered charge (usage that happened) still goes through, below the floor
    post_charge(actor, postpaid, usd(50), description="usage", idempotency_key="c3")
    f = funds(postpaid)
    assert (f.balance_minor, f.available_minor) == (-750, -50)
    assert_consistent(postpaid)


def test_refund_only_out_of_the_customers_own_money(actor, postpaid, prepaid):
    before = snapshot(postpaid)
    with pytest.raises(InsufficientFunds):
        refund(actor, postpaid, usd(1), reason="no", idempotency_key="r0")  # 10.00 credit, 0 balance
    assert snapshot(postpaid) == before
    pay(actor, prepaid, 500)
    place_hold(actor, prepaid, usd(200), idempotency_key="h1")
    with pytest.raises(InsufficientFunds):
        refund(actor, prepaid, usd(301), reason="too much", idempotency_key="r1")  # 500 - 200 held
    entry = refund(actor, prepaid, usd(300), reason="ok", idempotency_key="r2")
    assert entry.balance_after_minor == 200
    f = funds(prepaid)
    assert (f.balance_minor, f.held_minor, f.available_minor) == (200, 200, 0)
    pay(actor, postpaid, 400)
    with pytest.raises(InsufficientFunds):
        refund(actor, postpaid, usd(401), reason="x", idempotency_key="r3")
    assert refund(actor, postpaid, usd(400), reason="x", idempotency_key="r4").balance_after_minor == 0


def test_manual_debit_is_not_covered(actor, prepaid):
    entry = post_debit(actor, prepaid, usd(123), reason="correction", idempotency_key="d")
    assert (entry.kind, entry.amount_minor, entry.balance_after_minor) == ("adjustment", -123, -123)


def test_set_credit_limit(actor, postpaid):
    set_credit_limit(actor, postpaid, usd(2500))
    assert funds(postpaid).credit_limit_minor == 2500
    assert post_charge(actor, postpaid, usd(2500), description="x", idempotency_key="c",
                       must_cover=True).balance_after_minor == -2500
    with pytest.raises(InvalidInput):
        set_credit_limit(actor, postpaid, usd(-1))
    with pytest.raises(InvalidInput):
        set_credit_limit(actor, postpaid, Money(100, "EUR"))
    assert funds(postpaid).credit_limit_minor == 2500


# -- holds ----------------------------------------------------------------------------------------


@pytest.fixture
def funded(actor, prepaid):
    """A prepaid customer with exactly 10.00, and the clock frozen at T0."""
    clock.freeze(T0)
    pay(actor, prepaid, 1000, key="topup")
    return prepaid


def test_place_hold_within_available(actor, funded):
    hold = place_hold(actor, funded, usd(400), idempotency_key="h1", reference="ppv-1", description="Match")
    hold.refresh_from_db()
    assert (hold.status, hold.amount_minor, hold.currency) == (HoldStatus.ACTIVE, 400, "USD")
    assert (hold.created_at, hold.expires_at) == (T0, T0 + DEFAULT_HOLD_TTL)
    assert (hold.captured_minor, hold.entry_id, hold.settled_at) == (None, None, None)
    f = funds(funded)
    assert (f.balance_minor, f.held_minor, f.available_minor) == (1000, 400, 600)
    assert LedgerEntry.objects.filter(customer=funded).count() == 1  # holds are not entries
    assert AuditEvent.objects.filter(action="hold.placed", object_id=str(hold.pk)).count() == 1
    # the rest is available, to the unit
    second = place_hold(actor, funded, usd(600), idempotency_key="h2", expires_at=T0 + timedelta(hours=2))
    assert second.expires_at == T0 + timedelta(hours=2)
    assert funds(funded).available_minor == 0
    assert_consistent(funded)


def test_place_hold_over_available_is_refused(actor, funded):
    place_hold(actor, funded, usd(400), idempotency_key="h1")
    before = snapshot(funded)
    with pytest.raises(InsufficientFunds) as err:
        place_hold(actor, funded, usd(601), idempotency_key="h2")
    assert err.value.details == {"amount_minor": 601, "available_minor": 600}
    assert snapshot(funded) == before
    assert not Hold.objects.filter(idempotency_key="h2").exists()


def test_place_hold_uses_the_credit_limit(actor, postpaid):
    place_hold(actor, postpaid, usd(1000), idempotency_key="h1")
    with pytest.raises(InsufficientFunds):
        place_hold(actor, postpaid, usd(1), idempotency_key="h2")
    f = funds(postpaid)
    assert (f.balance_minor, f.held_minor, f.available_minor) == (0, 1000, 0)


def test_place_hold_is_idempotent(actor, funded):
    hold = place_hold(actor, funded, usd(400), idempotency_key="h1")
    before = snapshot(funded)
    assert place_hold(actor, funded, usd(400), idempotency_key="h1").pk == hold.pk
    assert snapshot(funded) == before
    with pytest.raises(IdempotencyConflict):
        place_hold(actor, funded, usd(401), idempotency_key="h1")
    with pytest.raises(IdempotencyConflict):
        place_hold(actor, funded, usd(400), idempotency_key="h1", reference="other")
    assert snapshot(funded) == before


@pytest.mark.parametrize("expires_in", [timedelta(0), timedelta(seconds=-1)])
def test_a_hold_must_expire_in_the_future(actor, funded, expires_in):
    before = snapshot(funded)
    with pytest.raises(InvalidInput):
        place_hold(actor, funded, usd(100), idempotency_key="h", expires_at=T0 + expires_in)
    assert snapshot(funded) == before


@pytest.mark.parametrize(
    "capture, balance_after",
    [(None, 600), (usd(400), 600), (usd(150), 850), (usd(1), 999)],
)
def test_capture_takes_the_captured_amount_and_releases_the_rest(actor, funded, capture, balance_after):
    hold = place_hold(actor, funded, usd(400), idempotency_key="h1", reference="ppv-9", description="Final")
    clock.advance(timedelta(minutes=5))
    entry = capture_hold(actor, hold, amount=capture, service_type="ppv")
    captured = 1000 - balance_after
    entry.refresh_from_db()
    assert (entry.kind, entry.amount_minor, entry.balance_after_minor) == ("charge", -captured, balance_after)
    assert (entry.reference, entry.description, entry.service_type, entry.source) == ("ppv-9", "Final", "ppv", "hold")
    assert entry.idempotency_key == f"hold:{hold.pk}:capture"
    hold.refresh_from_db()
    assert (hold.status, hold.captured_minor, hold.entry_id) == (HoldStatus.CAPTURED, captured, entry.pk)
    assert hold.settled_at == T0 + timedelta(minutes=5)
    f = funds(funded)
    assert (f.balance_minor, f.held_minor, f.available_minor) == (balance_after, 0, balance_after)
    assert_consistent(funded)
    # capturing again returns the same entry and moves nothing
    before = snapshot(funded)
    assert capture_hold(actor, hold, amount=capture).pk == entry.pk
    assert snapshot(funded) == before
    # ... but not for another amount
    other = usd(captured - 1) if captured > 1 else usd(2)
    with pytest.raises(HoldNotActive):
        capture_hold(actor, hold, amount=other)
    assert snapshot(funded) == before
    # a captured hold cannot be released
    with pytest.raises(HoldNotActive):
        release_hold(actor, hold)
    assert snapshot(funded) == before


def test_capture_for_a_different_amount_after_capture_is_hold_not_active(actor, funded):
    hold = place_hold(actor, funded, usd(400), idempotency_key="h1")
    capture_hold(actor, hold, amount=usd(100))
    with pytest.raises(HoldNotActive) as err:
        capture_hold(actor, hold)  # the full amount this time
    assert err.value.details == {"captured_minor": 100}
    assert funds(funded).balance_minor == 900


@pytest.mark.parametrize("amount", [usd(0), usd(-1), usd(401), Money(100, "EUR")])
def test_capture_amount_is_checked(actor, funded, amount):
    hold = place_hold(actor, funded, usd(400), idempotency_key="h1")
    before = snapshot(funded)
    with pytest.raises(InvalidInput):
        capture_hold(actor, hold, amount=amount)
    assert snapshot(funded) == before
    hold.refresh_from_db()
    assert hold.status == HoldStatus.ACTIVE


def test_release_gives_the_funds_back_and_is_idempotent(actor, funded):
    hold = place_hold(actor, funded, usd(400), idempotency_key="h1")
    released = release_hold(actor, hold, reason="cancelled")
    assert released.status == HoldStatus.RELEASED and released.settled_at == T0
    f = funds(funded)
    assert (f.balance_minor, f.held_minor, f.available_minor) == (1000, 0, 1000)
    before = snapshot(funded)
    assert release_hold(actor, hold).status == HoldStatus.RELEASED
    assert snapshot(funded) == before  # held did not go below zero, no second audit event
    assert AuditEvent.objects.filter(action="hold.released", object_id=str(hold.pk)).count() == 1
    with pytest.raises(HoldNotActive):
        capture_hold(actor, hold)
    assert snapshot(funded) == before
    assert LedgerEntry.objects.filter(customer=funded).count() == 1


@pytest.mark.parametrize("past_expiry", [timedelta(minutes=15), timedelta(minutes=16), timedelta(days=3)])
def test_capture_after_expiry_raises_and_releases_the_funds(actor, funded, past_expiry):
    hold = place_hold(actor, funded, usd(400), idempotency_key="h1")
    clock.advance(past_expiry)  # expires_at itself is already too late
    with pytest.raises(HoldExpired) as err:
        capture_hold(actor, hold)
    assert err.value.code == "hold_expired"
    hold.refresh_from_db()
    assert (hold.status, hold.captured_minor, hold.entry_id) == (HoldStatus.EXPIRED, None, None)
    f = funds(funded)
    assert (f.balance_minor, f.held_minor, f.available_minor) == (1000, 0, 1000)
    assert LedgerEntry.objects.filter(customer=funded).count() == 1
    before = snapshot(funded)
    with pytest.raises(HoldExpired):
        capture_hold(actor, hold)
    assert release_hold(actor, hold).status == HoldStatus.EXPIRED  # nothing left to release
    assert snapshot(funded) == before
    assert expire_holds() == 0


def test_capture_just_before_expiry_succeeds(actor, funded):
    hold = place_hold(actor, funded, usd(400), idempotency_key="h1")
    clock.advance(DEFAULT_HOLD_TTL - timedelta(microseconds=1))
    assert capture_hold(actor, hold).balance_after_minor == 600


def test_expire_holds_sweeps_only_holds_past_their_expiry(actor, funded, make_customer):
    h5 = place_hold(actor, funded, usd(100), idempotency_key="h5", expires_at=T0 + timedelta(minutes=5))
    h10 = place_hold(actor, funded, usd(200), idempotency_key="h10", expires_at=T0 + timedelta(minutes=10))
    h30 = place_hold(actor, funded, usd(300), idempotency_key="h30", expires_at=T0 + timedelta(minutes=30))
    captured = place_hold(actor, funded, usd(50), idempotency_key="hc", expires_at=T0 + timedelta(minutes=1))
    capture_hold(actor, captured)
    assert expire_holds() == 0
    clock.advance(timedelta(minutes=10))
    assert expire_holds() == 2
    statuses = dict(Hold.objects.filter(customer=funded).values_list("idempotency_key", "status"))
    assert statuses == {"h5": "expired", "h10": "expired", "h30": "active", "hc": "captured"}
    f = funds(funded)
    assert (f.balance_minor, f.held_minor, f.available_minor) == (950, 300, 650)
    for h in (h5, h10):
        h.refresh_from_db()
        assert h.settled_at == T0 + timedelta(minutes=10)
        event = AuditEvent.objects.get(action="hold.expired", object_id=str(h.pk))
        assert (event.actor_kind, event.actor_name) == ("system", "hold-expiry")
    assert expire_holds() == 0  # a second run changes nothing
    clock.advance(timedelta(minutes=20))
    assert expire_holds() == 1
    f = funds(funded)
    assert (f.balance_minor, f.held_minor, f.available_minor) == (950, 0, 950)
    h30.refresh_from_db()
    assert h30.status == HoldStatus.EXPIRED
    assert_consistent(funded)


def test_expire_holds_respects_the_limit(actor, funded):
    for i in range(5):
        place_hold(actor, funded, usd(10), idempotency_key=f"h{i}", expires_at=T0 + timedelta(minutes=i + 1))
    clock.advance(timedelta(hours=1))
    assert expire_holds(limit=2) == 2
    assert list(Hold.objects.filter(status="expired").values_list("idempotency_key", flat=True)) == ["h0", "h1"]
    assert expire_holds() == 3
    assert funds(funded).held_minor == 0


# -- closed customers ------------------------------------------------------------------------------


def test_a_closed_customer_only_settles(actor, funded):
    hold = place_hold(actor, funded, usd(100), idempotency_key="h-open")
    release_hold(actor, hold)
    customer = change_customer_status(actor, funded, "closed", reason="moved away")
    before = snapshot(customer)
    refused = [
        lambda: post_charge(actor, customer, usd(100), description="x", idempotency_key="c"),
        lambda: post_charge(actor, customer, usd(100), description="x", idempotency_key="c2", must_cover=True),
        lambda: post_credit(actor, customer, usd(100), reason="x", idempotency_key="cr"),
        lambda: post_debit(actor, customer, usd(100), reason="x", idempotency_key="d"),
        lambda: place_hold(actor, customer, usd(100), idempotency_key="h"),
    ]
    for call in refused:
        with pytest.raises(Conflict) as err:
            call()
        assert err.value.code == "customer_closed"
    assert snapshot(customer) == before
    assert record_payment(actor, customer, usd(250), idempotency_key="final-pay").balance_after_minor == 1250
    assert refund(actor, customer, usd(1250), reason="closing", idempotency_key="final-refund").balance_after_minor == 0
    assert funds(customer).balance_minor == 0
    assert_consistent(customer)


def test_a_write_accepted_before_closing_still_replays(actor, funded):
    entry = post_credit(actor, funded, usd(100), reason="x", idempotency_key="cr")
    customer = change_customer_status(actor, funded, "closed", reason="bye")
    assert post_credit(actor, customer, usd(100), reason="x", idempotency_key="cr").pk == entry.pk


# -- the database itself guards the ledger ----------------------------------------------------------


def test_ledger_entries_cannot_be_updated(actor, prepaid):
    entry = pay(actor, prepaid, 1000)
    with pytest.raises(DatabaseError) as err:  # IntegrityError on both backends; any django.db.Error will do
        with transaction.atomic():
            LedgerEntry.objects.filter(pk=entry.pk).update(amount_minor=1)
    assert "append-only" in str(err.value)
    entry.description = "changed"
    with pytest.raises(DatabaseError):
        with transaction.atomic():
            entry.save()
    entry.refresh_from_db()
    assert (entry.amount_minor, entry.description) == (1000, "Payment (manual)")
    assert funds(prepaid).balance_minor == 1000


@pytest.mark.postgres
def test_ledger_entries_cannot_be_deleted_on_postgresql(actor, prepaid):
    entry = pay(actor, prepaid, 1000)
    with pytest.raises(IntegrityError, match="append-only"):
        with transaction.atomic():
            LedgerEntry.objects.filter(pk=entry.pk).delete()
    with pytest.raises(IntegrityError):
        with transaction.atomic():
            entry.delete()
    assert LedgerEntry.objects.filter(pk=entry.pk).exists()


@pytest.mark.parametrize(
    "field, value",
    [("held_minor", -1), ("credit_limit_minor", -1)],
)
def test_funds_check_constraints(prepaid, field, value):
    with pytest.raises(IntegrityError):
        with transaction.atomic():
            Funds.objects.filter(customer_id=prepaid.pk).update(**{field: value})
    f = funds(prepaid)
    assert (f.held_minor, f.credit_limit_minor) == (0, 0)


@pytest.mark.parametrize(
    "kind, amount",
    [("payment", -1), ("payment", 0), ("credit", -5), ("charge", 5), ("refund", 1), ("adjustment", 0)],
)
def test_entry_sign_must_match_kind(prepaid, kind, amount):
    with pytest.raises(IntegrityError):
        with transaction.atomic():
            LedgerEntry.objects.create(
                customer=prepaid, kind=kind, amount_minor=amount, currency="USD", balance_after_minor=0,
                description="x", idempotency_key="raw", request_fingerprint="x", created_at=clock.now(),
                actor_kind="system", actor_ref="t", actor_name="t",
            )
    assert not LedgerEntry.objects.exists()


def test_hold_check_constraints(actor, funded):
    hold = place_hold(actor, funded, usd(100), idempotency_key="h1")
    bad_updates = [
        {"amount_minor": 0},
        {"status": "captured"},  # captured without an amount
        {"captured_minor": 50},  # an amount on an active hold
        {"status": "captured", "captured_minor": 101},  # more than held
        {"status": "captured", "captured_minor": 0},
    ]
    for update in bad_updates:
        with pytest.raises(IntegrityError):
            with transaction.atomic():
                Hold.objects.filter(pk=hold.pk).update(**update)
    hold.refresh_from_db()
    assert (hold.status, hold.amount_minor, hold.captured_minor) == ("active", 100, None)


def test_a_client_key_cannot_take_the_key_a_capture_will_use(actor, funded):
    """Captures write their entry under 'hold:<id>:capture'; a client's key must not squat on it."""
    with pytest.raises(InvalidInput) as err:
        record_payment(actor, funded, usd(100), idempotency_key=f"hold:{Hold.objects.count() + 1}:capture")
    assert err.value.code == "invalid_idempotency_key"
    hold = place_hold(actor, funded, usd(400), idempotency_key="h1")
    with pytest.raises(InvalidInput):
        post_charge(actor, funded, usd(1), description="x", idempotency_key=f"hold:{hold.pk}:capture")
    assert capture_hold(actor, hold).balance_after_minor == 600
    assert funds(funded).balance_minor == 600


def test_a_stale_customer_instance_cannot_charge_after_close(actor, funded):
    stale = type(funded).objects.get(pk=funded.pk)
    change_customer_status(actor, funded, "closed", reason="bye")
    with pytest.raises(Conflict):
        post_charge(actor, stale, usd(100), description="x", idempotency_key="late")
    assert funds(funded).balance_minor == 1000
    assert not LedgerEntry.objects.filter(idempotency_key="late").exists()


def test_a_stale_customer_instance_cannot_hold_after_close(actor, funded):
    stale = type(funded).objects.get(pk=funded.pk)
    change_customer_status(actor, funded, "closed", reason="bye")
    with pytest.raises(Conflict) as err:
        place_hold(actor, stale, usd(100), idempotency_key="late-hold")
    assert err.value.code == "customer_closed"
    assert funds(funded).held_minor == 0
    assert not Hold.objects.filter(idempotency_key="late-hold").exists()
