"""Pay-per-view over the REST API: the platforms' JSON calls (POST /ppv/authorize, confirm, cancel,
purchase; platform inbound token) and the operators' endpoints (purchases, refunds, revenue).

The fixtures here (``ppv_world``, ``state``) are shared with test_ppv_xml.py."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.db.models import Sum

from tripleplay import clock
from tripleplay.api.schemas import MAX_ID, MAX_MINOR
from tripleplay.api.tests.conftest import NOW, SYSTEM, Api, error_of, new_customer
from tripleplay.catalog import services as catalog_services
from tripleplay.core.validation import NUL_MESSAGE, SURROGATE_MESSAGE
from tripleplay.customers import services as customer_services
from tripleplay.iptv.configuration import create_platform, issue_inbound_token
from tripleplay.iptv.models import ChannelPackage, Platform, PpvEvent, Subscriber
from tripleplay.iptv.packages import link_package
from tripleplay.ledger import services as ledger_services
from tripleplay.ledger.models import Funds, Hold, LedgerEntry
from tripleplay.money import Money
from tripleplay.ppv.models import PpvPurchase

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ppv_request_path")]

EXPIRES = "2026-03-10T12:15:00Z"  # NOW + the default 15 minute hold


@dataclass
class World:
    platform: Platform
    token: str
    other: Platform  # a second platform, with its own subscriber
    other_token: str
    customer: object  # prepaid, 50.00 USD paid in
    account: object  # main "tv" + add-on "ppv"
    sub: str  # the account's subscriber id on ``platform``
    no_ppv_sub: str  # an account of the same customer without the ppv add-on
    other_customer: object
    other_sub: str  # the other customer's subscriber on ``other`` only
    fight: PpvEvent  # 19.99 USD, Ringside
    movie: PpvEvent  # 5.00 USD, Cinema Co
    other_event: PpvEvent  # on ``other``: 3.00 USD


def _platform(code: str) -> tuple[Platform, str]:
    p = create_platform(SYSTEM, code=code, name=code.title(), kind="generic_xml", base_url="http://127.0.0.1:9")
    return p, issue_inbound_token(SYSTEM, p)


def _package(platform: Platform, external_id: str) -> ChannelPackage:
    return ChannelPackage.objects.create(platform=platform, external_id=external_id, name=external_id.title(),
                                         first_seen_at=NOW, updated_at=NOW)


def _event(platform: Platform, external_id: str, price: int, owner: str) -> PpvEvent:
    return PpvEvent.objects.create(platform=platform, external_id=external_id, title=external_id.title(),
                                   price_minor=price, currency="USD", content_owner=owner, first_seen_at=NOW,
                                   updated_at=NOW, starts_at=NOW - timedelta(hours=1), ends_at=NOW + timedelta(days=7))


def _main_plan(code: str, platform: Platform):
    product = catalog_services.create_product(SYSTEM, code=code, name=code.title(), kind="main", currency="USD",
                                              services=["iptv"])
    plan = catalog_services.create_plan(SYSTEM, product, code=f"{code}-monthly", name=code, periodic_fee_minor=1500)
    link_package(SYSTEM, _package(platform, f"{code}-basic"), product)
    return plan


def _funded(name: str, amount_minor: int):
    customer = new_customer(name, balance_model="prepaid")
    ledger_services.record_payment(SYSTEM, customer, Money(amount_minor, "USD"), idempotency_key=f"pay-{name}")
    return customer


@pytest.fixture
def ppv_world(db) -> World:
    platform, token = _platform("ppv-tv")
    other, other_token = _platform("other-tv")
    tv_plan, other_plan = _main_plan("tv", platform), _main_plan("tv-other", other)
    ppv = catalog_services.create_product(SYSTEM, code="ppv", name="Pay-per-view", kind="addon", currency="USD",
                                          services=["ppv"])
    ppv_plan = catalog_services.create_plan(SYSTEM, ppv, code="ppv-access", name="PPV", periodic_fee_minor=0)
    customer = _funded("Ada Lovelace", 5000)
    account = customer_services.create_account(SYSTEM, customer, main_plan=tv_plan, addon_plans=[ppv_plan])
    no_ppv = customer_services.create_account(SYSTEM, customer, main_plan=tv_plan)
    other_customer = _funded("Otto Other", 5000)
    other_account = customer_services.create_account(SYSTEM, other_customer, main_plan=other_plan,
                                                     addon_plans=[ppv_plan])
    sub = Subscriber.objects.get(account=account, platform=platform).external_id
    assert sub == f"tp-{account.pk}"
    other_sub = Subscriber.objects.get(account=other_account, platform=other).external_id
    assert not Subscriber.objects.filter(account=other_account, platform=platform).exists()
    return World(platform, token, other, other_token, customer, account, sub,
                 Subscriber.objects.get(account=no_ppv, platform=platform).external_id, other_customer, other_sub,
                 _event(platform, "fight", 1999, "Ringside"), _event(platform, "movie", 500, "Cinema Co"),
                 _event(other, "other-fight", 300, "Elsewhere"))


def state() -> dict:
    """Everything a PPV call may change."""
    return {
        "purchases": list(PpvPurchase.objects.order_by("id").values_list("id", "status", "charged_minor",
                                                                           "refund_entry_id")),
        "holds": list(Hold.objects.order_by("id").values_list("id", "status", "amount_minor")),
        "entries": LedgerEntry.objects.count(),
        "funds": list(Funds.objects.order_by("customer_id").values_list("customer_id", "balance_minor", "held_minor")),
    }


def funds(customer) -> tuple[int, int]:
    f = Funds.objects.get(customer=customer)
    return f.balance_minor, f.held_minor


def answer(result, code, w: World, tx, *, amount=None, available=None, expires=None, event=None, sub=None,
           auth_id=None, message=None) -> dict:
    body = {"result": result, "code": code, "transaction_id": tx, "subscriber": sub or w.sub, "event_id": event,
            "amount_minor": amount, "currency": "USD", "available_minor": available, "expires_at": expires}
    if auth_id is not None:
        body["authorization_id"] = auth_id
    if message is not None:
        body["message"] = message
    return body


def subset(body: dict, expected: dict) -> dict:
    return {k: body.get(k) for k in expected}


@pytest.fixture
def platform_api(ppv_world) -> Api:
    return Api(ppv_world.token)


@pytest.fixture
def other_api(ppv_world) -> Api:
    return Api(ppv_world.other_token)


# -- platforms: authentication ----------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["none", "bad", "api_client", "other_scheme"])
def test_platform_calls_need_a_platform_token(ppv_world, admin, who):
    api = {"none": Api(), "bad": Api("tpp_not-a-real-token"), "api_client": Api(admin.token),
           "other_scheme": Api(headers={"Authorization": f"Basic {ppv_world.token}"})}[who]
    before = state()
    for call, body in (("authorize", {"transaction_id": "t-1", "subscriber": ppv_world.sub, "event_id": "fight"}),
                       ("purchase", {"transaction_id": "t-2", "subscriber": ppv_world.sub, "event_id": "fight"}),
                       ("confirm", {"transaction_id": "t-1"}), ("cancel", {"transaction_id": "t-1"})):
        r = api.post(f"/ppv/{call}", body)
        assert r.status_code == 401, (call, r.content)
        assert error_of(r)["code"] == "unauthenticated"
    assert state() == before


def test_operators_cannot_use_a_platform_token(ppv_world, platform_api):
    r = platform_api.get("/ppv/purchases")
    assert r.status_code == 401
    assert platform_api.get("/customers").status_code == 401


# -- platforms: authorize, confirm, cancel, purchase -------------------------------------------------------------


def test_authorize_then_confirm_with_exact_funds_and_identical_retries(ppv_world, platform_api):
    w = ppv_world
    entries = LedgerEntry.objects.count()
    r = platform_api.post("/ppv/authorize", {"transaction_id": "tx-1", "subscriber": w.sub, "event_id": "fight"})
    assert r.status_code == 200, r.content
    first = r.json()
    assert subset(first, answer("approved", "ok", w, "tx-1", amount=1999, available=3001, expires=EXPIRES,
                                event="fight")) == answer("approved", "ok", w, "tx-1", amount=1999, available=3001,
                                                          expires=EXPIRES, event="fight")
    purchase = PpvPurchase.objects.get()
    assert first["authorization_id"] == purchase.pk
    assert (purchase.status, purchase.hold.status, purchase.hold.amount_minor) == ("authorized", "active", 1999)
    assert funds(w.customer) == (5000, 1999)
    assert LedgerEntry.objects.count() == entries

    before = state()
    retry = platform_api.post("/ppv/authorize", {"transaction_id": "tx-1", "subscriber": w.sub, "event_id": "fight"})
    assert (retry.status_code, retry.json()) == (200, first)
    assert state() == before

    r = platform_api.post("/ppv/confirm", {"authorization_id": purchase.pk})
    assert r.status_code == 200, r.content
    confirmed = r.json()
    assert subset(confirmed, answer("confirmed", "ok", w, "tx-1", amount=1999, available=3001, expires=EXPIRES,
                                    event="fight", auth_id=purchase.pk, message="charged")) == answer(
        "confirmed", "ok", w, "tx-1", amount=1999, available=3001, expires=EXPIRES, event="fight",
        auth_id=purchase.pk, message="charged")
    assert funds(w.customer) == (3001, 0)
    assert LedgerEntry.objects.count() == entries + 1
    purchase.refresh_from_db()
    assert (purchase.status, purchase.charged_minor, purchase.charge.amount_minor) == ("confirmed", 1999, -1999)

    before = state()
    for body in ({"authorization_id": purchase.pk}, {"transaction_id": "tx-1"}):
        retry = platform_api.post("/ppv/confirm", body)
        assert (retry.status_code, retry.json()) == (200, confirmed)
    assert state() == before
    # Confirmed: cancelling is too late, and nothing moves.
    r = platform_api.post("/ppv/cancel", {"transaction_id": "tx-1"})
    assert (r.status_code, r.json()["code"]) == (409, "already_confirmed")
    assert state() == before


def test_confirm_a_lower_final_amount(ppv_world, platform_api):
    w = ppv_world
    platform_api.post("/ppv/authorize", {"transaction_id": "tx-1", "subscriber": w.sub, "event_id": "fight"})
    r = platform_api.post("/ppv/confirm", {"transaction_id": "tx-1", "amount_minor": 2000})
    assert (r.status_code, r.json()["code"]) == (422, "invalid_amount")
    assert funds(w.customer) == (5000, 1999)
    r = platform_api.post("/ppv/confirm", {"transaction_id": "tx-1", "amount_minor": 1500})
    assert (r.status_code, r.json()["amount_minor"], r.json()["available_minor"]) == (200, 1500, 3500)
    assert funds(w.customer) == (3500, 0)
    r = platform_api.post("/ppv/confirm", {"transaction_id": "tx-1", "amount_minor": 1400})
    assert (r.status_code, r.json()["code"]) == (409, "transaction_id_reused")


def test_declined_insufficient_funds_and_retry(ppv_world, platform_api):
    w = ppv_world
    before = state()
    body = {"transaction_id": "tx-big", "subscriber": w.sub, "price_minor": 5001, "currency": "USD"}
    r = platform_api.post("/ppv/authorize", body)
    assert r.status_code == 200, r.content
    declined = r.json()
    assert subset(declined, answer("declined", "insufficient_funds", w, "tx-big", amount=5001, available=5000)) == \
        answer("declined", "insufficient_funds", w, "tx-big", amount=5001, available=5000)
    assert funds(w.customer) == (5000, 0)
    assert state()["holds"] == before["holds"] and state()["entries"] == before["entries"]
    assert PpvPurchase.objects.get().status == "declined"
    after = state()
    assert platform_api.post("/ppv/authorize", body).json() == declined
    assert state() == after
    # The whole of the available funds is fine.
    r = platform_api.post("/ppv/authorize", {**body, "transaction_id": "tx-all", "price_minor": 5000})
    assert (r.json()["result"], r.json()["available_minor"]) == ("approved", 0)
    # Confirming the declined one: 409, nothing moves.
    before = state()
    r = platform_api.post("/ppv/confirm", {"transaction_id": "tx-big"})
    assert (r.status_code, r.json()["code"]) == (409, "authorization_declined")
    assert state() == before


@pytest.mark.parametrize("sub_attr, body, code", [
    ("no_ppv_sub", {"event_id": "fight"}, "ppv_disabled"),
    ("sub", {"event_id": "no-such-event"}, "unknown_event"),
    ("sub", {"event_id": "fight", "price_minor": 1000}, "price_mismatch"),
    ("sub", {"price_minor": 100, "currency": "EUR"}, "currency_mismatch"),
    ("sub", {"event_id": "other-fight"}, "unknown_event"),  # another platform's event
])
def test_declines(ppv_world, platform_api, sub_attr, body, code):
    w = ppv_world
    r = platform_api.post("/ppv/authorize", {"transaction_id": "tx-d", "subscriber": getattr(w, sub_attr), **body})
    assert (r.status_code, r.json()["result"], r.json()["code"]) == (200, "declined", code)
    assert funds(w.customer) == (5000, 0)
    assert Hold.objects.count() == 0


def test_cancel_releases_the_funds(ppv_world, platform_api):
    w = ppv_world
    r = platform_api.post("/ppv/authorize", {"transaction_id": "tx-c", "subscriber": w.sub, "event_id": "movie"})
    assert (r.json()["available_minor"], funds(w.customer)) == (4500, (5000, 500))
    r = platform_api.post("/ppv/cancel", {"transaction_id": "tx-c"})
    assert r.status_code == 200
    cancelled = r.json()
    assert subset(cancelled, answer("cancelled", "ok", w, "tx-c", amount=500, available=5000, expires=EXPIRES,
                                    event="movie")) == answer("cancelled", "ok", w, "tx-c", amount=500,
                                                              available=5000, expires=EXPIRES, event="movie")
    assert funds(w.customer) == (5000, 0)
    assert Hold.objects.get().status == "released"
    before = state()
    assert platform_api.post("/ppv/cancel", {"authorization_id": cancelled["authorization_id"]}).json() == cancelled
    r = platform_api.post("/ppv/confirm", {"transaction_id": "tx-c"})
    assert (r.status_code, r.json()["code"]) == (409, "authorization_cancelled")
    assert state() == before


def test_purchase_in_one_call(ppv_world, platform_api):
    w = ppv_world
    entries = LedgerEntry.objects.count()
    body = {"transaction_id": "tx-p", "subscriber": w.sub, "event_id": "fight"}
    r = platform_api.post("/ppv/purchase", body)
    assert r.status_code == 200, r.content
    bought = r.json()
    assert subset(bought, answer("confirmed", "ok", w, "tx-p", amount=1999, available=3001, expires=EXPIRES,
                                 event="fight")) == answer("confirmed", "ok", w, "tx-p", amount=1999, available=3001,
                                                           expires=EXPIRES, event="fight")
    assert funds(w.customer) == (3001, 0)
    assert LedgerEntry.objects.count() == entries + 1
    before = state()
    assert platform_api.post("/ppv/purchase", body).json() == bought
    assert state() == before
    # The same transaction id for something else: refused, nothing moves.
    r = platform_api.post("/ppv/purchase", {**body, "event_id": "movie"})
    assert (r.status_code, r.json()["code"]) == (409, "transaction_id_reused")
    assert state() == before


def test_purchase_declined(ppv_world, platform_api):
    r = platform_api.post("/ppv/purchase", {"transaction_id": "tx-p", "subscriber": ppv_world.sub,
                                            "price_minor": 9999})
    assert (r.status_code, r.json()["result"], r.json()["code"]) == (200, "declined", "insufficient_funds")
    assert funds(ppv_world.customer) == (5000, 0)


def test_a_platform_cannot_touch_another_platforms_subscriber_or_authorization(ppv_world, platform_api, other_api):
    w = ppv_world
    before = state()
    # The other platform's subscriber is unknown here.
    r = platform_api.post("/ppv/authorize", {"transaction_id": "tx-x", "subscriber": w.other_sub, "event_id": "fight"})
    assert (r.status_code, r.json()["result"], r.json()["code"]) == (200, "declined", "unknown_subscriber")
    assert r.json()["available_minor"] is None and r.json()["currency"] is None
    assert state()["holds"] == before["holds"] and state()["funds"] == before["funds"]
    # Its own authorization, on the other platform.
    r = other_api.post("/ppv/authorize", {"transaction_id": "tx-o", "subscriber": w.other_sub,
                                          "event_id": "other-fight"})
    assert (r.json()["result"], funds(w.other_customer)) == ("approved", (5000, 300))
    theirs = r.json()["authorization_id"]
    before = state()
    for call, body in (("confirm", {"authorization_id": theirs}), ("confirm", {"transaction_id": "tx-o"}),
                       ("cancel", {"authorization_id": theirs}), ("cancel", {"transaction_id": "tx-o"})):
        r = platform_api.post(f"/ppv/{call}", body)
        assert (r.status_code, r.json()["result"], r.json()["code"]) == (404, "error", "unknown_authorization")
    assert state() == before
    # The same transaction id on two platforms is two purchases.
    r = platform_api.post("/ppv/authorize", {"transaction_id": "tx-o", "subscriber": w.sub, "event_id": "movie"})
    assert r.json()["result"] == "approved"
    assert other_api.post("/ppv/confirm", {"transaction_id": "tx-o"}).json()["amount_minor"] == 300
    assert funds(w.other_customer) == (4700, 0) and funds(w.customer) == (5000, 500)


@pytest.mark.parametrize("call, raw", [
    ("authorize", "not json"),
    ("authorize", '{"transaction_id": "tx-m", "subscriber": "SUB", "price_minor": 12.5}'),
    ("authorize", '{"transaction_id": "tx-m", "subscriber": "SUB", "price_minor": 1e3}'),
    ("authorize", '{"transaction_id": "tx-m", "subscriber": "SUB", "price_minor": "1999"}'),
    ("authorize", '{"transaction_id": "tx-m", "subscriber": "SUB", "price_minor": true}'),
    ("authorize", '{"transaction_id": "tx-m", "subscriber": "SUB", "price_minor": -1}'),
    ("authorize", '{"transaction_id": "tx-m", "subscriber": "SUB", "event_id": "fight", "discount": 1}'),
    ("authorize", '{"subscriber": "SUB", "event_id": "fight"}'),
    ("authorize", '{"transaction_id": "", "subscriber": "SUB", "event_id": "fight"}'),
    ("authorize", '{"transaction_id": 17, "subscriber": "SUB", "event_id": "fight"}'),
    ("authorize", '{"transaction_id": "tx-m", "subscriber": "SUB"}'),
    ("authorize", '{"transaction_id": "tx-m\\u0000", "subscriber": "SUB", "event_id": "fight"}'),
    ("authorize", '[]'),
    ("purchase", '{"transaction_id": "tx-m", "subscriber": "SUB", "price_minor": 10.0}'),
    ("confirm", '{"transaction_id": "tx-ok", "amount_minor": 10.5}'),
    ("confirm", '{"transaction_id": "tx-ok", "amount_minor": "100"}'),
    ("confirm", '{"authorization_id": "AUTH"}'),
    ("confirm", '{}'),
    ("confirm", '{"transaction_id": "tx-ok", "extra": 1}'),
    ("cancel", '{"authorization_id": 1.0}'),
    ("cancel", '{}'),
])
def test_malformed_requests_change_nothing(ppv_world, platform_api, call, raw):
    w = ppv_world
    r = platform_api.post("/ppv/authorize", {"transaction_id": "tx-ok", "subscriber": w.sub, "event_id": "fight"})
    auth_id = r.json()["authorization_id"]
    before = state()
    r = platform_api.post(f"/ppv/{call}", raw=raw.replace("SUB", w.sub).replace('"AUTH"', f'"{auth_id}"'))
    assert 400 <= r.status_code < 500 and r.status_code != 404, r.content
    assert (r.status_code, error_of(r)["code"]) in ((400, "invalid_json"), (422, "invalid_input")), r.content
    assert state() == before
    assert PpvPurchase.objects.count() == 1


AT_MOST_MINOR = f"Input should be less than or equal to {MAX_MINOR}"
AT_MOST_ID = f"Input should be less than or equal to {MAX_ID}"


@pytest.mark.parametrize("call, body, field, kind, message", [
    ("purchase", {"price_minor": 2**64}, "price_minor", "less_than_equal", AT_MOST_MINOR),
    ("authorize", {"price_minor": 10**30}, "price_minor", "less_than_equal", AT_MOST_MINOR),
    ("confirm", {"amount_minor": 2**63}, "amount_minor", "less_than_equal", AT_MOST_MINOR),
    ("cancel", {"authorization_id": 2**63}, "authorization_id", "less_than_equal", AT_MOST_ID),
    ("authorize", {"transaction_id": "tx\x00"}, "transaction_id", "unstorable_text", NUL_MESSAGE),
    ("authorize", {"subscriber": "\ud800"}, "subscriber", "unstorable_text", SURROGATE_MESSAGE),
    ("purchase", {"event_id": "fi\x00ght"}, "event_id", "unstorable_text", NUL_MESSAGE),
])
def test_out_of_range_numbers_and_unstorable_text_are_422_on_both_paths(ppv_world, platform_api, call, body, field,
                                                                       kind, message):
    """D69: the XML endpoint's XSD refuses a price beyond 64 bits; the JSON calls refuse it too, as
    they refuse what no database stores, before any query (the lean path hands them to Django)."""
    w = ppv_world
    platform_api.post("/ppv/authorize", {"transaction_id": "tx-ok", "subscriber": w.sub, "event_id": "fight"})
    before = state()
    base = {"transaction_id": "tx-bad", "subscriber": w.sub} if call in ("authorize", "purchase") else {}
    if call in ("authorize", "purchase") and "event_id" not in body and "price_minor" not in body:
        base["event_id"] = "fight"
    if call == "confirm":
        base["transaction_id"] = "tx-ok"
    r = platform_api.post(f"/ppv/{call}", raw=json.dumps({**base, **body}))
    assert r.status_code == 422, r.content
    err = error_of(r)
    assert (err["code"], err["message"]) == ("invalid_input", "the request is not valid")
    assert [(e["location"], e["field"], e["type"], e["message"]) for e in err["details"]["errors"]] == [
        ("body", field, kind, message)]
    assert state() == before
    assert PpvPurchase.objects.count() == 1


# -- operators ---------------------------------------------------------------------------------------------------


@pytest.fixture
def sales(ppv_world, platform_api, other_api):
    """On 2026-03-10: fight bought twice (19.99), movie bought and refunded the next day (5.00), an
    explicit-price purchase (3.00, no owner), one declined, one only authorized (1.00), and a purchase on the
    other platform (3.00, Elsewhere)."""
    w = ppv_world

    def buy(tx, **body):
        r = platform_api.post("/ppv/purchase", {"transaction_id": tx, "subscriber": w.sub, **body})
        assert r.status_code == 200, r.content
        return r.json()

    ids = {
        "fight-1": buy("s-1", event_id="fight")["authorization_id"],
        "fight-2": buy("s-2", event_id="fight")["authorization_id"],
        "movie": buy("s-3", event_id="movie")["authorization_id"],
        "plain": buy("s-4", price_minor=300)["authorization_id"],
        "declined": buy("s-5", price_minor=999999)["authorization_id"],
    }
    r = platform_api.post("/ppv/authorize", {"transaction_id": "s-6", "subscriber": w.sub, "price_minor": 100})
    assert r.json()["result"] == "approved"
    ids["open"] = r.json()["authorization_id"]
    r = other_api.post("/ppv/purchase", {"transaction_id": "o-1", "subscriber": w.other_sub, "event_id": "other-fight"})
    ids["other"] = r.json()["authorization_id"]
    # 5000 - 1999 - 1999 - 500 - 300 = 202, and 100 held by the open authorization
    assert funds(w.customer) == (202, 100)
    return ids


def test_list_and_filter_purchases(ppv_world, sales, support):
    w = ppv_world
    r = support.get("/ppv/purchases")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["count"] == 7
    assert [p["id"] for p in body["items"]] == sorted(sales.values(), reverse=True)
    first = next(p for p in body["items"] if p["id"] == sales["fight-1"])
    assert first == {
        "id": sales["fight-1"], "platform_id": w.platform.pk, "platform_code": "ppv-tv", "transaction_id": "s-1",
        "subscriber": w.sub, "customer_id": w.customer.pk, "account_id": w.account.pk, "event_id": w.fight.pk,
        "event_ref": "fight", "title": "Fight", "content_owner": "Ringside", "status": "confirmed",
        "decline_code": "", "price": {"amount_minor": 1999, "amount": "19.99", "currency": "USD"},
        "charged": {"amount_minor": 1999, "amount": "19.99", "currency": "USD"},
        "authorized_at": "2026-03-10T12:00:00Z", "expires_at": EXPIRES, "finished_at": "2026-03-10T12:00:00Z"}

    def ids(**params):
        r = support.get("/ppv/purchases", params)
        assert r.status_code == 200, r.content
        return sorted(p["id"] for p in r.json()["items"])

    assert ids(status="confirmed") == sorted([sales["fight-1"], sales["fight-2"], sales["movie"], sales["plain"],
                                              sales["other"]])
    assert ids(status="declined") == [sales["declined"]]
    assert ids(status="authorized") == [sales["open"]]
    assert ids(platform_id=w.other.pk) == [sales["other"]]
    assert ids(customer_id=w.other_customer.pk) == [sales["other"]]
    assert ids(account_id=w.account.pk, status="confirmed") == sorted(
        [sales["fight-1"], sales["fight-2"], sales["movie"], sales["plain"]])
    assert ids(customer_id=999999) == []
    r = support.get("/ppv/purchases", {"status": "bogus"})
    assert r.status_code == 422 and error_of(r)["code"] == "invalid_input"
    r = support.get("/ppv/purchases", {"limit": 2, "offset": 1})
    assert r.json()["count"] == 7 and len(r.json()["items"]) == 2


def test_purchase_detail(ppv_world, sales, finance):
    w = ppv_world
    r = finance.get(f"/ppv/purchases/{sales['movie']}")
    assert r.status_code == 200, r.content
    p = PpvPurchase.objects.get(pk=sales["movie"])
    body = r.json()
    assert body["event"] == {"id": w.movie.pk, "external_id": "movie", "title": "Movie", "content_owner": "Cinema Co",
                             "price": {"amount_minor": 500, "amount": "5.00", "currency": "USD"},
                             "starts_at": "2026-03-10T11:00:00Z", "ends_at": "2026-03-17T12:00:00Z",
                             "status": "active"}
    assert (body["hold_id"], body["charge_entry_id"], body["refund_entry_id"]) == (p.hold_id, p.charge_id, None)
    assert (body["refunded"], body["refunded_at"], body["status"]) == (None, None, "confirmed")
    r = finance.get(f"/ppv/purchases/{sales['declined']}")
    body = r.json()
    assert (body["status"], body["decline_code"], body["hold_id"], body["charge_entry_id"], body["charged"]) == (
        "declined", "insufficient_funds", None, None, None)
    assert body["price"] == {"amount_minor": 999999, "amount": "9999.99", "currency": "USD"}
    assert body["event"] is None
    r = finance.get("/ppv/purchases/999999")
    assert (r.status_code, error_of(r)["code"]) == (404, "not_found")


def test_refund_roles_and_exact_funds(ppv_world, sales, admin, finance, support, db_snapshot):
    w = ppv_world
    before = state()
    r = support.post(f"/ppv/purchases/{sales['movie']}/refund", {"reason": "stream failed"})
    assert (r.status_code, error_of(r)["code"]) == (403, "permission_denied")
    assert state() == before
    for bad in ({}, {"reason": ""}, {"reason": "   "}, {"reason": 5}, {"reason": "x", "amount_minor": 1}):
        r = finance.post(f"/ppv/purchases/{sales['movie']}/refund", bad)
        assert r.status_code == 422, (bad, r.content)
    assert state() == before

    with clock.frozen(NOW + timedelta(days=1)):
        r = finance.post(f"/ppv/purchases/{sales['movie']}/refund", {"reason": "stream failed"})
    assert r.status_code == 200, r.content
    body = r.json()
    p = PpvPurchase.objects.get(pk=sales["movie"])
    assert (body["status"], body["refunded"], body["refund_entry_id"], body["refunded_at"]) == (
        "refunded", {"amount_minor": 500, "amount": "5.00", "currency": "USD"}, p.refund_entry_id,
        "2026-03-11T12:00:00Z")
    assert (p.refund_entry.amount_minor, p.refund_entry.kind) == (500, "credit")
    assert funds(w.customer) == (702, 100)

    after = state()
    r = admin.post(f"/ppv/purchases/{sales['movie']}/refund", {"reason": "again"})
    assert (r.status_code, error_of(r)["code"]) == (409, "not_refundable")
    for key in ("declined", "open"):
        r = admin.post(f"/ppv/purchases/{sales[key]}/refund", {"reason": "no"})
        assert (r.status_code, error_of(r)["code"]) == (409, "not_refundable")
    r = admin.post("/ppv/purchases/999999/refund", {"reason": "no"})
    assert r.status_code == 404
    assert state() == after
    r = admin.post(f"/ppv/purchases/{sales['fight-1']}/refund", {"reason": "goodwill"})
    assert r.status_code == 200
    assert funds(w.customer) == (2701, 100)


def revenue_rows(api, start, end):
    r = api.get("/ppv/revenue", {"from": start, "to": end})
    assert r.status_code == 200, r.content
    body = r.json()
    assert (body["from"], body["to"]) == (start, end)
    return {(row["content_owner"], row["currency"]): (row["confirmed"]["amount_minor"], row["confirmed_count"],
                                                      row["refunded"]["amount_minor"], row["refunded_count"],
                                                      row["net"]["amount_minor"]) for row in body["rows"]}


def test_revenue_per_content_owner(ppv_world, sales, finance, support):
    day = {"Ringside": (3998, 2, 0, 0, 3998), "Cinema Co": (500, 1, 0, 0, 500), "": (300, 1, 0, 0, 300),
           "Elsewhere": (300, 1, 0, 0, 300)}
    assert revenue_rows(support, "2026-03-10", "2026-03-10") == {(k, "USD"): v for k, v in day.items()}
    assert revenue_rows(support, "2026-03-09", "2026-03-09") == {}
    with clock.frozen(NOW + timedelta(days=1)):
        assert finance.post(f"/ppv/purchases/{sales['movie']}/refund", {"reason": "stream failed"}).status_code == 200
    # Refunds count in the period they are made in; the period of the sale keeps its sale.
    assert revenue_rows(support, "2026-03-10", "2026-03-10") == {(k, "USD"): v for k, v in day.items()}
    assert revenue_rows(support, "2026-03-11", "2026-03-11") == {("Cinema Co", "USD"): (0, 0, 500, 1, -500)}
    both = revenue_rows(support, "2026-03-01", "2026-03-31")
    assert both[("Cinema Co", "USD")] == (500, 1, 500, 1, 0)
    assert both[("Ringside", "USD")] == (3998, 2, 0, 0, 3998)
    r = support.get("/ppv/revenue", {"from": "2026-03-01", "to": "2026-03-31"})
    assert [row["content_owner"] for row in r.json()["rows"]] == ["", "Cinema Co", "Elsewhere", "Ringside"]
    assert r.json()["rows"][1]["net"] == {"amount_minor": 0, "amount": "0.00", "currency": "USD"}


@pytest.mark.parametrize("params", [{}, {"from": "2026-03-10"}, {"from": "2026-03-10", "to": "2026-03-09"},
                                    {"from": "10/03/2026", "to": "2026-03-10"},
                                    {"from": "2026-03-10T00:00:00Z", "to": "2026-03-10"},
                                    {"from": "2000-01-01", "to": "2026-03-10"}])
def test_revenue_bad_periods(ppv_world, support, params):
    r = support.get("/ppv/revenue", params)
    assert r.status_code == 422, r.content
    assert error_of(r)["code"] == "invalid_input"


def test_operator_endpoints_need_an_operator(ppv_world, anon):
    assert anon.get("/ppv/purchases").status_code == 401
    assert anon.get("/ppv/revenue", {"from": "2026-03-10", "to": "2026-03-10"}).status_code == 401


def test_openapi_describes_the_ppv_endpoints(db, anon):
    doc = anon.get("/openapi.json").json()
    assert doc["paths"]["/api/v1/ppv/revenue"]["get"]["tags"] == ["ppv"]
    params = {p["name"] for p in doc["paths"]["/api/v1/ppv/revenue"]["get"]["parameters"]}
    assert params == {"from", "to"}
    params = {p["name"] for p in doc["paths"]["/api/v1/ppv/purchases"]["get"]["parameters"]}
    assert {"status", "platform_id", "customer_id", "account_id", "limit", "offset"} <= params


def test_funds_sum_is_consistent(ppv_world, sales):
    """The ledger agrees with the funds row after a mix of PPV calls."""
    total = LedgerEntry.objects.filter(customer=ppv_world.customer).aggregate(s=Sum("amount_minor"))["s"]
    assert total == funds(ppv_world.customer)[0] == 202


# -- operators: their own PPV events ---------------------------------------------------------------------------


def test_an_operator_creates_a_ppv_event_that_platforms_can_sell_and_imports_leave_alone(ppv_world, admin, finance,
                                                                                         platform_api):
    from tripleplay.iptv.catalog_import import import_catalog
    from tripleplay.iptv.models import PpvEvent

    w = ppv_world
    body = {"platform_id": w.platform.pk, "external_id": "concert-7", "title": "Live Concert", "price_minor": 1200,
            "currency": "USD", "content_owner": "Stage Rights"}
    r = finance.post("/ppv/events", body)
    assert r.status_code == 403
    r = admin.post("/ppv/events", body)
    assert r.status_code == 201, r.content
    assert (r.json()["external_id"], r.json()["price"], r.json()["status"]) == (
        "concert-7", {"amount_minor": 1200, "amount": "12.00", "currency": "USD"}, "active")
    assert admin.post("/ppv/events", body).status_code == 409
    assert admin.post("/ppv/events", {**body, "external_id": "x", "price_minor": 12.5}).status_code == 422

    a = platform_api.post("/ppv/authorize", {"transaction_id": "OP-1", "subscriber": w.sub, "event_id": "concert-7"})
    assert (a.status_code, a.json()["result"], a.json()["amount_minor"]) == (200, "approved", 1200)
    # A pull or push of the platform's catalog that does not list it does not retire it.
    report = import_catalog(SYSTEM, w.platform, [], [], source="push")
    assert "concert-7" not in report.ppv_events["retired"]
    assert PpvEvent.objects.get(platform=w.platform, external_id="concert-7").status == "active"
