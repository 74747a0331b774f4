"""Pay-per-view services: authorize, confirm, cancel, purchase, expiry, refund, with exact outcomes.

Every test ends with the ledger invariants checked for every customer (balance == sum of entries,
held == sum of active holds, each purchase agreeing with its hold): see ``_invariants_after``.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from tripleplay import clock
from tripleplay.audit.models import AuditEvent
from tripleplay.core.actors import Actor
from tripleplay.core.errors import Conflict, InvalidInput
from tripleplay.customers.services import change_account_status, change_customer_status, remove_addon
from tripleplay.ledger.models import Hold, LedgerEntry
from tripleplay.ledger.services import place_hold
from tripleplay.money import Money
from tripleplay.ppv import jobs, services
from tripleplay.ppv.models import PpvPurchase
from tripleplay.ppv.tests.conftest import T0, assert_ledger_invariants, funds, state

OPERATOR = Actor.system("ppv-test-operator")
APPROVED_MSG = "approved: funds held until confirmed or cancelled"
EXPIRES = "2026-03-10T12:15:00Z"  # T0 + 15 minutes


@pytest.fixture(autouse=True)
def _invariants_after(db, ppv_code_path):
    yield
    assert_ledger_invariants()


@pytest.fixture
def w(ppv_world):
    return ppv_world


def authorize(w, tid="T1", subscriber=None, **kw):
    return services.authorize(w.platform, transaction_id=tid, subscriber=subscriber, **kw)


def body(answer) -> dict:
    return {**answer, "_http": answer.http_status}


def approved(p, buyer, *, amount, available, event_id="fight", tid="T1", expires_at=EXPIRES) -> dict:
    return {"result": "approved", "code": "ok", "message": APPROVED_MSG, "transaction_id": tid,
            "authorization_id": p.pk, "subscriber": buyer.ref, "event_id": event_id, "amount_minor": amount,
            "currency": "USD", "available_minor": available, "expires_at": expires_at, "_http": 200}


def entries(customer):
    return list(LedgerEntry.objects.filter(customer=customer).order_by("pk"))


# -- approve --------------------------------------------------------------------------------------


def test_approve_holds_exactly_the_price(w):
    w.event("fight", 1250, title="Big Fight")
    b = w.buyer(5000)
    a = authorize(w, subscriber=b.ref, event_id="fight")
    p = PpvPurchase.objects.get()
    assert body(a) == approved(p, b, amount=1250, available=3750)
    assert funds(b.customer) == (5000, 1250, 3750)
    hold = Hold.objects.get()
    assert (hold.customer_id, hold.account_id, hold.amount_minor, hold.status, hold.expires_at, hold.reference,
            hold.description) == (b.customer.pk, b.account.pk, 1250, "active", T0 + timedelta(minutes=15), "T1",
                                  "PPV: Big Fight")
    assert (p.status, p.decline_code, p.hold_id, p.account_id, p.customer_id, p.event.external_id, p.title,
            p.content_owner, p.price_minor, p.currency, p.charge_id, p.charged_minor, p.authorized_at, p.expires_at,
            p.finished_at) == ("authorized", "", hold.pk, b.account.pk, b.customer.pk, "fight", "Big Fight",
                               "Fight Promotions Ltd", 1250, "USD", None, None, T0, T0 + timedelta(minutes=15), None)
    assert [e.kind for e in entries(b.customer)] == ["payment"]  # a hold is not an entry


def test_approve_with_matching_explicit_price_and_currency(w):
    w.event("fight", 1000)
    b = w.buyer(1000)
    a = authorize(w, subscriber=b.ref, event_id="fight", price_minor=1000, currency="USD")
    assert body(a) == approved(PpvPurchase.objects.get(), b, amount=1000, available=0)
    assert funds(b.customer) == (1000, 1000, 0)


def test_postpaid_buys_on_its_credit_limit(w):
    w.event("fight", 1000)
    b = w.buyer(balance_model="postpaid", credit_limit_minor=3000)
    a = authorize(w, subscriber=b.ref, event_id="fight")
    assert (a["result"], a["available_minor"]) == ("approved", 2000)
    assert funds(b.customer) == (0, 1000, 2000)


def test_hold_lifetime_comes_from_settings(w, settings):
    settings.TRIPLEPLAY_PPV_HOLD_SECONDS = 60
    w.event("fight", 100)
    b = w.buyer(100)
    a = authorize(w, subscriber=b.ref, event_id="fight")
    assert a["expires_at"] == "2026-03-10T12:01:00Z"
    assert Hold.objects.get().expires_at == PpvPurchase.objects.get().expires_at == T0 + timedelta(seconds=60)


def test_event_window_bounds(w):
    w.event("live", 100, starts_at=T0, ends_at=T0 + timedelta(hours=2))
    b = w.buyer(1000)
    assert authorize(w, "T1", b.ref, event_id="live")["result"] == "approved"  # starts_at is inclusive
    clock.freeze(T0 + timedelta(hours=2) - timedelta(seconds=1))
    assert authorize(w, "T2", b.ref, event_id="live")["result"] == "approved"
    clock.freeze(T0 + timedelta(hours=2))  # ends_at is exclusive
    assert authorize(w, "T3", b.ref, event_id="live")["code"] == "event_not_available"


# -- declines -------------------------------------------------------------------------------------


def assert_declined(w, answer, code, *, buyer=None, before=None, available=None, event_id="fight", amount=100,
                    currency="USD"):
    """A declined answer with ``code``: one declined purchase row more, no hold, no entry, no funds moved."""
    p = PpvPurchase.objects.get(transaction_id=answer["transaction_id"])
    assert answer.http_status == 200
    assert {k: v for k, v in answer.items() if k != "message"} == {
        "result": "declined", "code": code, "transaction_id": p.transaction_id, "authorization_id": p.pk,
        "subscriber": p.subscriber_ref, "event_id": event_id, "amount_minor": amount, "currency": currency,
        "available_minor": available, "expires_at": None}
    assert (p.status, p.decline_code, p.hold_id, p.charge_id, p.expires_at, p.finished_at) == (
        "declined", code, None, None, None, T0)
    if buyer is not None:
        assert (p.customer_id, p.account_id) == (buyer.customer.pk, buyer.account.pk)
    if before is not None:
        after = state()
        assert after["purchases"][:-1] == before["purchases"]
        assert len(after["purchases"]) == len(before["purchases"]) + 1
        assert {k: after[k] for k in ("entries", "holds", "funds")} == {
            k: before[k] for k in ("entries", "holds", "funds")}
    return p


def test_decline_insufficient_funds_reports_what_is_available(w):
    w.event("fight", 1000)
    b = w.buyer(999)
    before = state()
    a = authorize(w, subscriber=b.ref, event_id="fight")
    assert_declined(w, a, "insufficient_funds", buyer=b, before=before, available=999, amount=1000)
    assert a["message"] == "available funds do not cover the price"
    assert funds(b.customer) == (999, 0, 999)


def test_decline_insufficient_funds_counts_other_holds(w):
    w.event("fight", 600)
    b = w.buyer(1000)
    assert authorize(w, "T1", b.ref, event_id="fight")["available_minor"] == 400
    before = state()
    a = authorize(w, "T2", b.ref, event_id="fight")
    assert_declined(w, a, "insufficient_funds", buyer=b, before=before, available=400, amount=600)


@pytest.mark.parametrize("status, code", [("blocked", "customer_blocked"), ("suspended", "customer_suspended"),
                                          ("closed", "customer_closed")])
def test_decline_by_customer_status(w, actor, status, code):
    w.event("fight", 100)
    b = w.buyer(1000)
    change_customer_status(actor, b.customer, status, reason="test")
    before = state()
    assert_declined(w, authorize(w, subscriber=b.ref, event_id="fight"), code, buyer=b, before=before)


@pytest.mark.parametrize("status, code", [("blocked", "account_blocked"), ("suspended", "account_suspended"),
                                          ("closed", "account_closed")])
def test_decline_by_account_status(w, actor, status, code):
    w.event("fight", 100)
    b = w.buyer(1000)
    change_account_status(actor, b.account, status, reason="test")
    before = state()
    assert_declined(w, authorize(w, subscriber=b.ref, event_id="fight"), code, buyer=b, before=before)


def test_decline_ppv_disabled_without_the_ppv_addon(w):
    w.event("fight", 100)
    b = w.buyer(1000, ppv=False)
    before = state()
    assert_declined(w, authorize(w, subscriber=b.ref, event_id="fight"), "ppv_disabled", buyer=b, before=before)


def test_decline_ppv_disabled_once_the_addon_has_ended(w, actor):
    w.event("fight", 100)
    b = w.buyer(1000)
    assert authorize(w, "T1", b.ref, event_id="fight")["result"] == "approved"
    assignment = b.account.products.get(product__code="ppv")
    remove_addon(actor, b.account, assignment.pk, end_date=clock.today())  # ends today: no longer current
    before = state()
    assert_declined(w, authorize(w, "T2", b.ref, event_id="fight"), "ppv_disabled", buyer=b, before=before)


def test_decline_unknown_subscriber(w):
    w.event("fight", 100)
    w.buyer(1000)
    before = state()
    p = assert_declined(w, authorize(w, subscriber="tp-999999", event_id="fight"), "unknown_subscriber",
                        before=before, amount=None, currency=None)
    assert (p.account_id, p.customer_id, p.event_id, p.price_minor) == (None, None, None, None)


def test_subscriber_of_another_platform_is_unknown_here_and_nothing_is_touched(w):
    w.event("fight", 100)
    w.event("fight", 100, platform=w.other_platform)
    theirs = w.buyer(1000, other_platform=True)
    before = state()
    mine = authorize(w, "T1", theirs.ref, event_id="fight")
    p = assert_declined(w, mine, "unknown_subscriber", before=before, amount=None, currency=None)
    assert (p.platform_id, p.account_id, p.customer_id) == (w.platform.pk, None, None)
    unknown = authorize(w, "T2", "tp-999999", event_id="fight")
    assert {k: v for k, v in mine.items() if k not in ("transaction_id", "authorization_id", "subscriber", "message")} \
        == {k: v for k, v in unknown.items() if k not in ("transaction_id", "authorization_id", "subscriber", "message")}
    assert funds(theirs.customer) == (1000, 0, 1000)
    # on its own platform the same subscriber buys normally
    a = services.authorize(w.other_platform, transaction_id="T1", subscriber=theirs.ref, event_id="fight")
    assert (a["result"], a["available_minor"]) == ("approved", 900)


def test_decline_unknown_event(w):
    w.event("other-fight", 100, platform=w.other_platform)  # another platform's event is unknown here
    b = w.buyer(1000)
    for tid, event_id in (("T1", "nope"), ("T2", "other-fight")):
        before = state()
        p = assert_declined(w, authorize(w, tid, b.ref, event_id=event_id), "unknown_event", buyer=b, before=before,
                            event_id=event_id, amount=None)
        assert (p.event_id, p.price_minor) == (None, None)


@pytest.mark.parametrize("window", ["not_started", "ended", "retired"])
def test_decline_event_not_available(w, window):
    fields = {"not_started": {"starts_at": T0 + timedelta(seconds=1)},
              "ended": {"starts_at": T0 - timedelta(hours=3), "ends_at": T0 - timedelta(hours=1)},
              "retired": {"status": "retired", "retired_at": T0}}[window]
    w.event("fight", 100, **fields)
    b = w.buyer(1000)
    before = state()
    p = assert_declined(w, authorize(w, subscriber=b.ref, event_id="fight"), "event_not_available", buyer=b,
                        before=before)
    assert p.event.external_id == "fight"


def test_decline_price_mismatch(w):
    w.event("fight", 1000)
    b = w.buyer(5000)
    before = state()
    a = authorize(w, subscriber=b.ref, event_id="fight", price_minor=900)
    p = assert_declined(w, a, "price_mismatch", buyer=b, before=before, amount=None)
    assert a["message"] == "the event costs 1000, not 900"
    assert p.price_minor is None


def test_decline_currency_mismatch_event_priced_in_another_currency(w):
    w.event("fight", 1000, currency="EUR")
    b = w.buyer(5000)
    before = state()
    assert_declined(w, authorize(w, subscriber=b.ref, event_id="fight"), "currency_mismatch", buyer=b,
                    before=before, amount=1000, currency="EUR")


def test_decline_currency_mismatch_explicit_price(w):
    b = w.buyer(5000)
    before = state()
    assert_declined(w, authorize(w, subscriber=b.ref, price_minor=300, currency="EUR"), "currency_mismatch", buyer=b,
                    before=before, event_id=None, amount=300, currency="EUR")


def test_decline_currency_mismatch_request_currency_differs_from_the_event(w):
    """The platform says EUR for a USD event: charging USD would not be what the platform sold."""
    w.event("fight", 1000)
    b = w.buyer(5000)
    before = state()
    assert_declined(w, authorize(w, subscriber=b.ref, event_id="fight", price_minor=1000, currency="EUR"),
                    "currency_mismatch", buyer=b, before=before, amount=1000)


def test_declines_are_checked_in_a_fixed_order(w, actor):
    """Unknown event beats a blocked customer; a blocked customer beats missing funds."""
    b = w.buyer(0)
    w.event("fight", 100)
    change_customer_status(actor, b.customer, "blocked", reason="test")
    assert authorize(w, "T1", b.ref, event_id="nope")["code"] == "unknown_event"
    assert authorize(w, "T2", b.ref, event_id="fight")["code"] == "customer_blocked"


def test_invalid_requests_raise_and_write_nothing(w):
    b = w.buyer(1000)
    before = state()
    for kw in ({"transaction_id": "", "subscriber": b.ref, "price_minor": 1},
               {"transaction_id": "x" * 101, "subscriber": b.ref, "price_minor": 1},
               {"transaction_id": "T1", "subscriber": b.ref},
               {"transaction_id": "T1", "subscriber": b.ref, "price_minor": -1},
               {"transaction_id": "T1", "subscriber": b.ref, "price_minor": True},
               {"transaction_id": "T1", "subscriber": b.ref, "price_minor": 100, "currency": "EURO"}):
        with pytest.raises(InvalidInput):
            services.authorize(w.platform, **kw)
    assert state() == before


# -- explicit price, zero price -------------------------------------------------------------------


def test_explicit_price_without_event(w):
    b = w.buyer(1000)
    a = authorize(w, subscriber=b.ref, price_minor=250)
    p = PpvPurchase.objects.get()
    assert body(a) == approved(p, b, amount=250, available=750, event_id=None)
    assert (p.event_id, p.event_ref, p.title, p.content_owner, p.currency) == (
        None, "", "Pay-per-view purchase", "", "USD")
    assert funds(b.customer) == (1000, 250, 750)
    c = services.confirm(w.platform, transaction_id="T1")
    assert (c["result"], c["amount_minor"], c["available_minor"]) == ("confirmed", 250, 750)
    assert funds(b.customer) == (750, 0, 750)
    assert entries(b.customer)[-1].data == {"platform": "ppvtv", "event": "", "content_owner": "",
                                            "transaction_id": "T1"}


@pytest.mark.parametrize("how", ["event", "explicit"])
def test_price_zero_approves_without_hold_and_confirm_charges_nothing(w, how):
    w.event("free", 0)
    b = w.buyer(0)  # no money at all
    kw = {"event_id": "free"} if how == "event" else {"price_minor": 0}
    a = authorize(w, subscriber=b.ref, **kw)
    p = PpvPurchase.objects.get()
    assert body(a) == approved(p, b, amount=0, available=0, event_id="free" if how == "event" else None)
    assert (p.status, p.hold_id, Hold.objects.count()) == ("authorized", None, 0)
    c = services.confirm(w.platform, transaction_id="T1")
    assert (c.http_status, c["result"], c["code"], c["amount_minor"]) == (200, "confirmed", "ok", 0)
    p.refresh_from_db()
    assert (p.status, p.charged_minor, p.charge_id) == ("confirmed", 0, None)
    assert entries(b.customer) == [] and funds(b.customer) == (0, 0, 0)
    with pytest.raises(Conflict) as e:
        services.refund(OPERATOR, p, reason="nothing to give back")
    assert e.value.code == "not_refundable"


# -- confirm --------------------------------------------------------------------------------------


def test_confirm_turns_the_hold_into_one_charge(w):
    w.event("fight", 1250, title="Big Fight")
    b = w.buyer(5000)
    authorize(w, subscriber=b.ref, event_id="fight")
    clock.advance(timedelta(minutes=5))
    c = services.confirm(w.platform, transaction_id="T1")
    p = PpvPurchase.objects.get()
    assert body(c) == {"result": "confirmed", "code": "ok", "message": "charged", "transaction_id": "T1",
                       "authorization_id": p.pk, "subscriber": b.ref, "event_id": "fight", "amount_minor": 1250,
                       "currency": "USD", "available_minor": 3750, "expires_at": EXPIRES, "_http": 200}
    assert funds(b.customer) == (3750, 0, 3750)
    payment, charge = entries(b.customer)
    assert (charge.kind, charge.amount_minor, charge.balance_after_minor, charge.service_type, charge.source,
            charge.reference, charge.description, charge.account_id, charge.data) == (
        "charge", -1250, 3750, "ppv", "ppv", "T1", "PPV: Big Fight", b.account.pk,
        {"platform": "ppvtv", "event": "fight", "content_owner": "Fight Promotions Ltd", "transaction_id": "T1"})
    hold = Hold.objects.get()
    assert (hold.status, hold.captured_minor, hold.entry_id) == ("captured", 1250, charge.pk)
    assert (p.status, p.charge_id, p.charged_minor, p.finished_at) == ("confirmed", charge.pk, 1250,
                                                                       T0 + timedelta(minutes=5))


def test_confirm_a_lower_final_amount_charges_only_that(w):
    w.event("fight", 1000)
    b = w.buyer(5000)
    authorize(w, subscriber=b.ref, event_id="fight")
    c = services.confirm(w.platform, transaction_id="T1", amount_minor=400)
    assert (c["result"], c["amount_minor"], c["available_minor"]) == ("confirmed", 400, 4600)
    assert funds(b.customer) == (4600, 0, 4600)
    assert [e.amount_minor for e in entries(b.customer)] == [5000, -400]
    assert Hold.objects.get().captured_minor == 400


def test_confirm_at_zero_releases_everything(w):
    w.event("fight", 1000)
    b = w.buyer(5000)
    authorize(w, subscriber=b.ref, event_id="fight")
    c = services.confirm(w.platform, transaction_id="T1", amount_minor=0)
    assert (c["result"], c["amount_minor"], c["available_minor"]) == ("confirmed", 0, 5000)
    assert funds(b.customer) == (5000, 0, 5000)
    assert Hold.objects.get().status == "released"
    assert len(entries(b.customer)) == 1


def test_confirm_above_the_held_amount_is_refused_and_changes_nothing(w):
    w.event("fight", 1000)
    b = w.buyer(5000)
    authorize(w, subscriber=b.ref, event_id="fight")
    before = state()
    c = services.confirm(w.platform, transaction_id="T1", amount_minor=1001)
    assert (c.http_status, c["result"], c["code"], c["message"]) == (
        422, "error", "invalid_amount", "the final amount must be 0..1000 minor units")
    assert state() == before
    assert funds(b.customer) == (5000, 1000, 4000)
    # the authorization is still open: the right amount goes through afterwards
    assert services.confirm(w.platform, transaction_id="T1", amount_minor=1000)["result"] == "confirmed"


def test_confirm_by_authorization_id(w):
    w.event("fight", 300)
    b = w.buyer(1000)
    a = authorize(w, subscriber=b.ref, event_id="fight")
    c = services.confirm(w.platform, authorization_id=a["authorization_id"])
    assert (c["result"], c["transaction_id"], c["amount_minor"]) == ("confirmed", "T1", 300)
    assert funds(b.customer) == (700, 0, 700)
    # the retry by transaction id gets the same answer
    assert body(services.confirm(w.platform, transaction_id="T1")) == body(c)


def test_confirm_or_cancel_of_unknown_or_foreign_authorizations_is_404(w):
    w.event("fight", 300)
    b = w.buyer(1000)
    a = authorize(w, subscriber=b.ref, event_id="fight")
    before = state()
    for call in (services.confirm, services.cancel):
        for kw in ({"transaction_id": "nope"}, {"authorization_id": a["authorization_id"] + 1000}):
            r = call(w.platform, **kw)
            assert (r.http_status, r["result"], r["code"]) == (404, "error", "unknown_authorization")
        # another platform cannot settle this platform's authorization
        for kw in ({"transaction_id": "T1"}, {"authorization_id": a["authorization_id"]}):
            assert call(w.other_platform, **kw)["code"] == "unknown_authorization"
    assert state() == before
    with pytest.raises(InvalidInput):
        services.confirm(w.platform)


def test_confirm_a_declined_authorization_is_409(w):
    w.event("fight", 300)
    b = w.buyer(100)
    authorize(w, subscriber=b.ref, event_id="fight")
    before = state()
    for call in (services.confirm, services.cancel):
        r = call(w.platform, transaction_id="T1")
        assert (r.http_status, r["code"]) == (409, "authorization_declined")
    assert state() == before


# -- retries --------------------------------------------------------------------------------------


def test_authorize_retry_returns_the_first_answer_and_changes_nothing(w):
    w.event("fight", 300)
    b = w.buyer(1000)
    first = authorize(w, subscriber=b.ref, event_id="fight")
    before = state()
    clock.advance(timedelta(minutes=1))
    for _ in range(3):
        assert body(authorize(w, subscriber=b.ref, event_id="fight")) == body(first)
    assert state() == before
    assert funds(b.customer) == (1000, 300, 700)


def test_declined_authorize_retry_stays_declined_even_after_a_top_up(w, actor):
    from tripleplay.ledger.services import record_payment

    w.event("fight", 300)
    b = w.buyer(100)
    first = authorize(w, subscriber=b.ref, event_id="fight")
    record_payment(actor, b.customer, Money(1000, "USD"), idempotency_key="top-up")
    before = state()
    again = authorize(w, subscriber=b.ref, event_id="fight")
    assert body(again) == body(first)
    assert (again["code"], again["available_minor"]) == ("insufficient_funds", 100)
    assert state() == before


@pytest.mark.parametrize("change", [{"event_id": "other"}, {"price_minor": 300}, {"currency": "USD"},
                                    {"subscriber": "tp-999999"}])
def test_authorize_same_transaction_id_other_parameters_is_409(w, change):
    w.event("fight", 300)
    w.event("other", 300)
    b = w.buyer(1000)
    first = authorize(w, subscriber=b.ref, event_id="fight")
    before = state()
    kw = {"subscriber": b.ref, "event_id": "fight", **change}
    r = authorize(w, **kw)
    assert body(r) == {"result": "error", "code": "transaction_id_reused",
                       "message": "transaction T1 was authorized with other parameters", "transaction_id": "T1",
                       "authorization_id": first["authorization_id"], "_http": 409}
    assert state() == before


def test_confirm_retry_returns_the_first_answer_and_changes_nothing(w):
    w.event("fight", 300)
    b = w.buyer(1000)
    authorize(w, subscriber=b.ref, event_id="fight")
    first = services.confirm(w.platform, transaction_id="T1", amount_minor=200)
    before = state()
    clock.advance(timedelta(hours=1))  # long past the hold's expiry: a retry still replays
    for kw in ({"transaction_id": "T1"}, {"transaction_id": "T1", "amount_minor": 200},
               {"authorization_id": first["authorization_id"]}):
        assert body(services.confirm(w.platform, **kw)) == body(first)
    assert state() == before
    assert funds(b.customer) == (800, 0, 800)


def test_confirm_again_with_another_amount_is_409(w):
    w.event("fight", 300)
    b = w.buyer(1000)
    authorize(w, subscriber=b.ref, event_id="fight")
    services.confirm(w.platform, transaction_id="T1")
    before = state()
    r = services.confirm(w.platform, transaction_id="T1", amount_minor=100)
    assert (r.http_status, r["result"], r["code"]) == (409, "error", "transaction_id_reused")
    assert state() == before


def test_cancel_retry_returns_the_first_answer_and_changes_nothing(w):
    w.event("fight", 300)
    b = w.buyer(1000)
    authorize(w, subscriber=b.ref, event_id="fight")
    first = services.cancel(w.platform, transaction_id="T1")
    before = state()
    for kw in ({"transaction_id": "T1"}, {"authorization_id": first["authorization_id"]}):
        assert body(services.cancel(w.platform, **kw)) == body(first)
    assert state() == before


def test_authorize_retry_after_confirm_replays_the_authorization(w):
    w.event("fight", 300)
    b = w.buyer(1000)
    first = authorize(w, subscriber=b.ref, event_id="fight")
    services.confirm(w.platform, transaction_id="T1")
    before = state()
    again = authorize(w, subscriber=b.ref, event_id="fight")
    assert body(again) == body(first)
    assert (again["result"], again["available_minor"]) == ("approved", 700)  # as first told
    assert state() == before
    assert funds(b.customer) == (700, 0, 700)


def test_transaction_ids_are_per_platform(w):
    w.event("fight", 300)
    w.event("fight", 300, platform=w.other_platform)
    mine, theirs = w.buyer(1000), w.buyer(1000, other_platform=True)
    a = authorize(w, "T1", mine.ref, event_id="fight")
    b = services.authorize(w.other_platform, transaction_id="T1", subscriber=theirs.ref, event_id="fight")
    assert a["result"] == b["result"] == "approved"
    assert a["authorization_id"] != b["authorization_id"]
    services.cancel(w.other_platform, transaction_id="T1")
    assert PpvPurchase.objects.get(platform=w.platform).status == "authorized"
    assert funds(mine.customer) == (1000, 300, 700) and funds(theirs.customer) == (1000, 0, 1000)


# -- cancel ---------------------------------------------------------------------------------------


def test_cancel_releases_the_hold(w):
    w.event("fight", 300)
    b = w.buyer(1000)
    authorize(w, subscriber=b.ref, event_id="fight")
    clock.advance(timedelta(minutes=2))
    c = services.cancel(w.platform, transaction_id="T1")
    p = PpvPurchase.objects.get()
    assert body(c) == {"result": "cancelled", "code": "ok", "message": "funds released", "transaction_id": "T1",
                       "authorization_id": p.pk, "subscriber": b.ref, "event_id": "fight", "amount_minor": 300,
                       "currency": "USD", "available_minor": 1000, "expires_at": EXPIRES, "_http": 200}
    assert funds(b.customer) == (1000, 0, 1000)
    assert Hold.objects.get().status == "released"
    assert (p.status, p.finished_at, p.charge_id) == ("cancelled", T0 + timedelta(minutes=2), None)
    assert len(entries(b.customer)) == 1


def test_confirm_after_cancel_is_409(w):
    w.event("fight", 300)
    b = w.buyer(1000)
    authorize(w, subscriber=b.ref, event_id="fight")
    services.cancel(w.platform, transaction_id="T1")
    before = state()
    r = services.confirm(w.platform, transaction_id="T1")
    assert (r.http_status, r["result"], r["code"], r["message"]) == (
        409, "error", "authorization_cancelled", "the authorization was cancelled")
    assert state() == before
    assert funds(b.customer) == (1000, 0, 1000)


def test_cancel_after_confirm_is_409(w):
    w.event("fight", 300)
    b = w.buyer(1000)
    authorize(w, subscriber=b.ref, event_id="fight")
    services.confirm(w.platform, transaction_id="T1")
    before = state()
    r = services.cancel(w.platform, transaction_id="T1")
    assert (r.http_status, r["result"], r["code"]) == (409, "error", "already_confirmed")
    assert state() == before
    assert funds(b.customer) == (700, 0, 700)


# -- expiry ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("late", [timedelta(0), timedelta(seconds=1)])
def test_confirm_after_expiry_is_409_and_releases_the_funds(w, late):
    w.event("fight", 300)
    b = w.buyer(1000)
    authorize(w, subscriber=b.ref, event_id="fight")
    clock.freeze(T0 + timedelta(minutes=15) + late)  # expires_at itself is already too late
    r = services.confirm(w.platform, transaction_id="T1")
    assert (r.http_status, r["result"], r["code"]) == (409, "error", "authorization_expired")
    p = PpvPurchase.objects.get()
    assert (p.status, p.finished_at, p.charge_id) == ("expired", T0 + timedelta(minutes=15) + late, None)
    assert Hold.objects.get().status == "expired"
    assert funds(b.customer) == (1000, 0, 1000)
    assert len(entries(b.customer)) == 1
    assert services.cancel(w.platform, transaction_id="T1")["code"] == "authorization_expired"


def test_confirm_just_before_expiry_charges(w):
    w.event("fight", 300)
    b = w.buyer(1000)
    authorize(w, subscriber=b.ref, event_id="fight")
    clock.freeze(T0 + timedelta(minutes=15) - timedelta(seconds=1))
    assert services.confirm(w.platform, transaction_id="T1")["result"] == "confirmed"
    assert funds(b.customer) == (700, 0, 700)


def test_expire_authorizations_releases_and_marks_expired(w):
    w.event("fight", 300)
    b = w.buyer(1000)
    authorize(w, "T1", b.ref, event_id="fight")
    clock.advance(timedelta(minutes=5))
    authorize(w, "T2", b.ref, event_id="fight")  # expires 5 minutes later
    authorize(w, "T3", b.ref, event_id="fight")
    services.confirm(w.platform, transaction_id="T3")
    assert funds(b.customer) == (700, 600, 100)
    clock.freeze(T0 + timedelta(minutes=15))
    assert services.expire_authorizations() == 1
    status = dict(PpvPurchase.objects.values_list("transaction_id", "status"))
    assert status == {"T1": "expired", "T2": "authorized", "T3": "confirmed"}
    assert funds(b.customer) == (700, 300, 400)
    assert PpvPurchase.objects.get(transaction_id="T1").finished_at == T0 + timedelta(minutes=15)
    assert services.expire_authorizations() == 0
    clock.advance(timedelta(minutes=5))
    assert services.expire_authorizations() == 1
    assert funds(b.customer) == (700, 0, 700)
    assert list(Hold.objects.order_by("pk").values_list("status", flat=True)) == ["expired", "expired", "captured"]


def test_worker_job_expires_ppv_authorizations_and_other_holds(w, actor):
    w.event("fight", 300)
    b = w.buyer(1000)
    authorize(w, subscriber=b.ref, event_id="fight")
    place_hold(actor, b.customer, Money(200, "USD"), idempotency_key="not-ppv", expires_at=T0 + timedelta(minutes=1))
    assert funds(b.customer) == (1000, 500, 500)
    clock.freeze(T0 + timedelta(minutes=15, seconds=1))
    assert jobs.expire_holds() == "expired 1 PPV authorizations, released 1 other expired holds"
    assert PpvPurchase.objects.get().status == "expired"
    assert funds(b.customer) == (1000, 0, 1000)
    assert jobs.expire_holds() == "expired 0 PPV authorizations, released 0 other expired holds"


def test_hold_expired_by_the_generic_sweep_still_ends_the_purchase(w):
    """The ledger's own sweep may get to the hold first: confirm then reports the expiry, once."""
    from tripleplay.ledger.services import expire_holds

    w.event("fight", 300)
    b = w.buyer(1000)
    authorize(w, subscriber=b.ref, event_id="fight")
    clock.advance(timedelta(minutes=20))
    assert expire_holds() == 1
    assert funds(b.customer) == (1000, 0, 1000)
    assert services.confirm(w.platform, transaction_id="T1")["code"] == "authorization_expired"
    assert PpvPurchase.objects.get().status == "expired"
    assert funds(b.customer) == (1000, 0, 1000)


def test_cancel_after_expiry_but_before_the_sweep_cancels(w):
    w.event("fight", 300)
    b = w.buyer(1000)
    authorize(w, subscriber=b.ref, event_id="fight")
    clock.advance(timedelta(minutes=20))
    c = services.cancel(w.platform, transaction_id="T1")
    assert (c.http_status, c["result"], c["available_minor"]) == (200, "cancelled", 1000)
    assert (PpvPurchase.objects.get().status, Hold.objects.get().status) == ("cancelled", "released")
    assert services.expire_authorizations() == 0
    assert funds(b.customer) == (1000, 0, 1000)


# -- purchase (authorize + confirm) ---------------------------------------------------------------


def test_purchase_charges_in_one_call(w):
    w.event("fight", 300)
    b = w.buyer(1000)
    r = services.purchase(w.platform, transaction_id="T1", subscriber=b.ref, event_id="fight")
    p = PpvPurchase.objects.get()
    assert body(r) == {"result": "confirmed", "code": "ok", "message": "charged", "transaction_id": "T1",
                       "authorization_id": p.pk, "subscriber": b.ref, "event_id": "fight", "amount_minor": 300,
                       "currency": "USD", "available_minor": 700, "expires_at": EXPIRES, "_http": 200}
    assert (p.status, p.charged_minor) == ("confirmed", 300)
    assert funds(b.customer) == (700, 0, 700)
    assert [(e.kind, e.amount_minor) for e in entries(b.customer)] == [("payment", 1000), ("charge", -300)]
    before = state()
    assert body(services.purchase(w.platform, transaction_id="T1", subscriber=b.ref, event_id="fight")) == body(r)
    assert state() == before


def test_purchase_declined(w):
    w.event("fight", 300)
    b = w.buyer(200)
    before = state()
    r = services.purchase(w.platform, transaction_id="T1", subscriber=b.ref, event_id="fight")
    assert_declined(w, r, "insufficient_funds", buyer=b, before=before, available=200, amount=300)
    assert body(services.purchase(w.platform, transaction_id="T1", subscriber=b.ref, event_id="fight")) == body(r)


# -- refund ---------------------------------------------------------------------------------------


def test_refund_credits_the_charged_amount(w):
    w.event("fight", 300, title="Big Fight")
    b = w.buyer(1000)
    authorize(w, subscriber=b.ref, event_id="fight")
    services.confirm(w.platform, transaction_id="T1", amount_minor=250)
    p = services.refund(OPERATOR, PpvPurchase.objects.get(), reason="stream failed")
    p.refresh_from_db()
    credit = entries(b.customer)[-1]
    assert (credit.kind, credit.amount_minor, credit.balance_after_minor, credit.account_id, credit.reason) == (
        "credit", 250, 1000, b.account.pk, "PPV refund: Big Fight (stream failed)")
    assert (p.status, p.refund_entry_id, p.charged_minor) == ("refunded", credit.pk, 250)
    assert funds(b.customer) == (1000, 0, 1000)
    # a platform's retry of confirm still gets its first answer; cancel says it was confirmed
    assert services.confirm(w.platform, transaction_id="T1")["result"] == "confirmed"
    assert services.cancel(w.platform, transaction_id="T1")["code"] == "already_confirmed"
    before = state()
    with pytest.raises(Conflict) as e:
        services.refund(OPERATOR, p, reason="again")
    assert e.value.code == "not_refundable"
    assert state() == before


@pytest.mark.parametrize("end", ["authorized", "declined", "cancelled", "expired"])
def test_refund_of_a_purchase_that_was_not_confirmed_is_refused(w, end):
    w.event("fight", 300)
    b = w.buyer(200 if end == "declined" else 1000)
    authorize(w, subscriber=b.ref, event_id="fight")
    if end == "cancelled":
        services.cancel(w.platform, transaction_id="T1")
    elif end == "expired":
        clock.advance(timedelta(hours=1))
        services.expire_authorizations()
    p = PpvPurchase.objects.get()
    assert p.status == end
    before = state()
    with pytest.raises(Conflict) as e:
        services.refund(OPERATOR, p, reason="no")
    assert e.value.code == "not_refundable"
    assert state() == before


def test_an_authorization_id_and_a_transaction_id_that_disagree_find_nothing(w):
    w.event("fight", 300)
    b = w.buyer(1000)
    a = authorize(w, subscriber=b.ref, event_id="fight")
    before = state()
    answer = services.confirm(w.platform, authorization_id=a["authorization_id"], transaction_id="T-other")
    assert (answer.http_status, answer["code"]) == (404, "unknown_authorization")
    assert state() == before


def test_a_lower_case_currency_is_bad_input(w):
    from tripleplay.core.errors import InvalidInput

    b = w.buyer(1000)
    before = state()
    with pytest.raises(InvalidInput):
        services.authorize(w.platform, transaction_id="T9", subscriber=b.ref, price_minor=100, currency="usd")
    assert state() == before


def test_the_hold_and_the_charge_are_recorded_as_the_platforms(w):
    w.event("fight", 1250)
    b = w.buyer(5000)
    authorize(w, subscriber=b.ref, event_id="fight")
    services.confirm(w.platform, transaction_id="T1")
    charge = entries(b.customer)[-1]
    assert (charge.kind, charge.amount_minor, charge.actor_kind, charge.actor_ref, charge.actor_name) == (
        "charge", -1250, "api_client", f"platform:{w.platform.pk}", f"platform {w.platform.code}")
    hold_audit = AuditEvent.objects.filter(object_type="hold").order_by("pk")
    assert [(a.action, a.actor_kind, a.actor_ref, a.actor_name) for a in hold_audit] == [
        (action, "api_client", f"platform:{w.platform.pk}", f"platform {w.platform.code}")
        for action in ("hold.placed", "hold.captured")]
