"""Money through the API: funds, payments, credits, debits, refunds, holds; strict amounts and
idempotency keys."""

from datetime import timedelta

import pytest

from tripleplay import clock
from tripleplay.api.tests.conftest import error_of, new_customer, snapshot
from tripleplay.ledger.models import LedgerEntry
from tripleplay.ledger.selectors import funds_of, sum_of_entries

pytestmark = pytest.mark.django_db


def usd(minor: int) -> dict:
    sign = "-" if minor < 0 else ""
    return {"amount_minor": minor, "amount": f"{sign}{abs(minor) // 100}.{abs(minor) % 100:02d}", "currency": "USD"}


def funds(api, customer) -> dict:
    r = api.get(f"/customers/{customer.pk}/funds")
    assert r.status_code == 200
    return r.json()


def test_payment_happy_path(finance, customer):
    r = finance.post(f"/customers/{customer.pk}/payments",
                     {"amount_minor": 1250, "method": "card", "reference": "rcpt-7"}, key="pay-1")
    assert r.status_code == 201, r.content
    body = r.json()
    assert isinstance(body.pop("id"), int)
    assert body == {
        "customer_id": customer.pk,
        "account_id": None,
        "kind": "payment",
        "amount": usd(1250),
        "balance_after": usd(1250),
        "description": "Payment (card)",
        "reason": "",
        "source": "card",
        "reference": "rcpt-7",
        "service_type": "",
        "idempotency_key": "pay-1",
        "created_at": "2026-03-10T12:00:00Z",
        "actor": {"kind": "api_client", "name": "test-finance"},
    }
    assert funds(finance, customer)["balance"] == usd(1250)


@pytest.mark.parametrize("raw", [
    '{"amount_minor": 12.5}',
    '{"amount_minor": "1250"}',
    '{"amount_minor": 1e3}',
    '{"amount_minor": 1000.0}',
    '{"amount_minor": true}',
    '{"amount_minor": null}',
    '{"amount_minor": -100}',
    '{"amount_minor": 0}',
    '{"amount_minor": 10000000000000000}',
    '{"amount_minor": NaN}',
    '{}',
])
@pytest.mark.parametrize("path", ["payments", "credits", "debits", "refunds", "holds"])
def test_amounts_are_strict_positive_integers(finance, customer, raw, path):
    finance.post(f"/customers/{customer.pk}/payments", {"amount_minor": 5000}, key="seed")
    before = snapshot()
    body = raw if path in ("payments", "holds") else raw[:-1] + (', "reason": "r"}' if raw != "{}" else '"reason": "r"}')
    r = finance.post(f"/customers/{customer.pk}/{path}", raw=body, key=f"k-{path}")
    assert r.status_code in (400, 422), r.content
    err = error_of(r)
    if "NaN" in raw:
        assert (r.status_code, err["code"]) == (400, "invalid_json")
    else:
        assert (r.status_code, err["code"]) == (422, "invalid_input")
        assert [e["field"] for e in err["details"]["errors"]] == ["amount_minor"]
    assert snapshot() == before


def test_currency_field_is_not_accepted(finance, customer):
    before = snapshot()
    r = finance.post(f"/customers/{customer.pk}/payments", {"amount_minor": 100, "currency": "EUR"}, key="c-1")
    assert r.status_code == 422
    assert error_of(r)["details"]["errors"][0]["type"] == "extra_forbidden"
    assert snapshot() == before


@pytest.mark.parametrize("path, body", [
    ("payments", {"amount_minor": 100}),
    ("credits", {"amount_minor": 100, "reason": "r"}),
    ("debits", {"amount_minor": 100, "reason": "r"}),
    ("refunds", {"amount_minor": 100, "reason": "r"}),
    ("holds", {"amount_minor": 100}),
])
@pytest.mark.parametrize("key", [None, "", "   "])
def test_money_posts_require_an_idempotency_key(finance, customer, path, body, key):
    before = snapshot()
    r = finance.post(f"/customers/{customer.pk}/{path}", body, key=key)
    assert r.status_code == 400
    assert error_of(r)["code"] == "idempotency_key_required"
    assert snapshot() == before


def test_overlong_idempotency_key_is_422(finance, customer):
    before = snapshot()
    r = finance.post(f"/customers/{customer.pk}/payments", {"amount_minor": 100}, key="k" * 129)
    assert r.status_code == 422
    assert error_of(r)["code"] == "invalid_idempotency_key"
    assert snapshot() == before


def test_payment_idempotency(finance, customer):
    first = finance.post(f"/customers/{customer.pk}/payments", {"amount_minor": 1000}, key="same")
    events = snapshot()["audit_events"]
    again = finance.post(f"/customers/{customer.pk}/payments", {"amount_minor": 1000}, key="same")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert LedgerEntry.objects.filter(customer=customer).count() == 1
    assert funds(finance, customer)["balance"] == usd(1000)
    assert snapshot()["audit_events"] == events

    before = snapshot()
    r = finance.post(f"/customers/{customer.pk}/payments", {"amount_minor": 2000}, key="same")
    assert r.status_code == 409
    err = error_of(r)
    assert err["code"] == "idempotency_key_reused"
    assert err["details"] == {"idempotency_key": "same"}
    r = finance.post(f"/customers/{customer.pk}/credits", {"amount_minor": 1000, "reason": "x"}, key="same")
    assert r.status_code == 409
    assert snapshot() == before


def test_funds_after_payment_hold_capture_and_debit(finance, customer):
    # credit limit 50.00
    assert funds(finance, customer) == {
        "customer_id": customer.pk, "currency": "USD", "balance": usd(0), "credit_limit": usd(5000),
        "held": usd(0), "available": usd(5000), "amount_owed": usd(0),
    }
    assert finance.post(f"/customers/{customer.pk}/payments", {"amount_minor": 10000}, key="p").status_code == 201
    r = finance.post(f"/customers/{customer.pk}/holds", {"amount_minor": 3000, "reference": "ppv-1"}, key="h")
    assert r.status_code == 201, r.content
    hold = r.json()
    assert (hold["status"], hold["amount"], hold["captured"], hold["entry"]) == ("active", usd(3000), None, None)
    assert hold["expires_at"] == "2026-03-10T12:15:00Z"
    f = funds(finance, customer)
    assert (f["balance"], f["held"], f["available"]) == (usd(10000), usd(3000), usd(12000))

    r = finance.post(f"/holds/{hold['id']}/capture", {"amount_minor": 2000})
    assert r.status_code == 200, r.content
    captured = r.json()
    assert (captured["status"], captured["captured"]) == ("captured", usd(2000))
    assert (captured["entry"]["kind"], captured["entry"]["amount"]) == ("charge", usd(-2000))
    assert captured["entry"]["balance_after"] == usd(8000)
    assert funds(finance, customer) == {
        "customer_id": customer.pk, "currency": "USD", "balance": usd(8000), "credit_limit": usd(5000),
        "held": usd(0), "available": usd(13000), "amount_owed": usd(0),
    }
    assert finance.post(f"/customers/{customer.pk}/debits", {"amount_minor": 20000, "reason": "fix"},
                        key="d").status_code == 201
    f = funds(finance, customer)
    assert (f["balance"], f["available"], f["amount_owed"]) == (usd(-12000), usd(-7000), usd(12000))
    assert sum_of_entries(customer) == -12000


def test_capture_is_idempotent_and_bounded(finance, customer):
    finance.post(f"/customers/{customer.pk}/payments", {"amount_minor": 10000}, key="p")
    hold = finance.post(f"/customers/{customer.pk}/holds", {"amount_minor": 3000}, key="h").json()
    before = snapshot()
    r = finance.post(f"/holds/{hold['id']}/capture", {"amount_minor": 3001})
    assert r.status_code == 422
    assert snapshot() == before
    first = finance.post(f"/holds/{hold['id']}/capture")  # no body: the whole hold
    assert first.status_code == 200
    assert first.json()["captured"] == usd(3000)
    after = snapshot()
    again = finance.post(f"/holds/{hold['id']}/capture", {})
    assert again.json() == first.json()
    assert snapshot() == after
    r = finance.post(f"/holds/{hold['id']}/capture", {"amount_minor": 100})
    assert r.status_code == 409
    assert error_of(r)["code"] == "hold_not_active"
    r = finance.post(f"/holds/{hold['id']}/release", {"reason": "too late"})
    assert r.status_code == 409
    assert error_of(r)["code"] == "hold_not_active"
    assert snapshot() == after
    assert funds(finance, customer)["balance"] == usd(7000)


def test_release_gives_funds_back(finance, customer):
    hold = finance.post(f"/customers/{customer.pk}/holds", {"amount_minor": 4000}, key="h").json()
    assert funds(finance, customer)["available"] == usd(1000)
    r = finance.post(f"/holds/{hold['id']}/release", {"reason": "cancelled"})
    assert r.status_code == 200
    assert (r.json()["status"], r.json()["settled_at"]) == ("released", "2026-03-10T12:00:00Z")
    assert funds(finance, customer)["available"] == usd(5000)
    assert finance.post(f"/holds/{hold['id']}/release").json()["status"] == "released"
    assert funds(finance, customer)["held"] == usd(0)
    assert finance.get(f"/holds/{hold['id']}").json()["status"] == "released"


def test_capture_after_expiry_is_refused(finance, customer):
    hold = finance.post(f"/customers/{customer.pk}/holds", {"amount_minor": 1000, "expires_in_seconds": 60},
                        key="h").json()
    assert hold["expires_at"] == "2026-03-10T12:01:00Z"
    clock.advance(timedelta(seconds=61))
    r = finance.post(f"/holds/{hold['id']}/capture")
    assert r.status_code == 409
    assert error_of(r)["code"] == "hold_expired"
    assert finance.get(f"/holds/{hold['id']}").json()["status"] == "expired"
    assert funds(finance, customer)["held"] == usd(0)


def test_hold_over_available_is_409_and_writes_nothing(finance, prepaid):
    finance.post(f"/customers/{prepaid.pk}/payments", {"amount_minor": 500}, key="p")
    before = snapshot()
    r = finance.post(f"/customers/{prepaid.pk}/holds", {"amount_minor": 501}, key="h")
    assert r.status_code == 409
    err = error_of(r)
    assert err["code"] == "insufficient_funds"
    assert err["details"] == {"amount_minor": 501, "available_minor": 500}
    assert snapshot() == before
    assert finance.post(f"/customers/{prepaid.pk}/holds", {"amount_minor": 500}, key="h2").status_code == 201


@pytest.mark.parametrize("seconds", [0, -5, 30 * 24 * 3600 + 1, 1.5])
def test_hold_expiry_bounds(finance, customer, seconds):
    before = snapshot()
    r = finance.post(f"/customers/{customer.pk}/holds", {"amount_minor": 100, "expires_in_seconds": seconds}, key="h")
    assert r.status_code == 422
    assert snapshot() == before


def test_refund_only_from_own_money(finance, customer):
    finance.post(f"/customers/{customer.pk}/payments", {"amount_minor": 1000}, key="p")
    before = snapshot()
    r = finance.post(f"/customers/{customer.pk}/refunds", {"amount_minor": 1001, "reason": "overpaid"}, key="r")
    assert r.status_code == 409
    assert error_of(r)["code"] == "insufficient_funds"
    assert snapshot() == before
    r = finance.post(f"/customers/{customer.pk}/refunds", {"amount_minor": 1000, "reason": "overpaid",
                                                           "reference": "bank-1"}, key="r2")
    assert r.status_code == 201
    assert (r.json()["kind"], r.json()["amount"], r.json()["reason"]) == ("refund", usd(-1000), "overpaid")


def test_credit_and_debit_with_account(finance, customer, api_catalog):
    account = finance.post("/accounts", {"customer_id": customer.pk, "login": "ada-tv",
                                         "main_plan_id": api_catalog["basic_plan"].pk}).json()
    r = finance.post(f"/customers/{customer.pk}/credits", {"amount_minor": 300, "reason": "outage",
                                                           "account_id": account["id"]}, key="c")
    assert r.status_code == 201
    assert (r.json()["kind"], r.json()["account_id"], r.json()["description"]) == ("credit", account["id"], "Credit: outage")
    r = finance.post(f"/customers/{customer.pk}/debits", {"amount_minor": 100, "reason": "fee"}, key="d")
    assert (r.json()["kind"], r.json()["amount"]) == ("adjustment", usd(-100))
    assert funds(finance, customer)["balance"] == usd(200)


def test_account_of_another_customer_or_unknown(finance, customer, api_catalog):
    other = new_customer("Other")
    account = finance.post("/accounts", {"customer_id": other.pk, "main_plan_id": api_catalog["basic_plan"].pk}).json()
    before = snapshot()
    r = finance.post(f"/customers/{customer.pk}/credits", {"amount_minor": 300, "reason": "x",
                                                           "account_id": account["id"]}, key="c")
    assert r.status_code == 422
    assert error_of(r)["code"] == "account_mismatch"
    r = finance.post(f"/customers/{customer.pk}/credits", {"amount_minor": 300, "reason": "x", "account_id": 999999},
                     key="c2")
    assert r.status_code == 404
    assert snapshot() == before


def test_money_for_unknown_customer_or_hold_is_404(finance):
    before = snapshot()
    for path, body in [("/customers/999999/payments", {"amount_minor": 100}),
                       ("/customers/999999/holds", {"amount_minor": 100}),
                       ("/holds/999999/capture", None), ("/holds/999999/release", None)]:
        r = finance.post(path, body, key="k")
        assert r.status_code == 404, path
        assert error_of(r)["code"] == "not_found"
    for path in ["/customers/999999/funds", "/customers/999999/entries", "/customers/999999/holds", "/holds/999999"]:
        assert finance.get(path).status_code == 404
    assert snapshot() == before


def test_reason_required(finance, customer):
    before = snapshot()
    r = finance.post(f"/customers/{customer.pk}/credits", {"amount_minor": 100, "reason": " "}, key="c")
    assert r.status_code == 422
    [e] = error_of(r)["details"]["errors"]  # refused at the edge, as the document says (D97)
    assert (e["field"], e["type"]) == ("reason", "required_text")
    r = finance.post(f"/customers/{customer.pk}/credits", {"amount_minor": 100}, key="c")
    assert r.status_code == 422
    r = finance.post(f"/customers/{customer.pk}/payments", {"amount_minor": 100, "method": "gold"}, key="p")
    assert r.status_code == 422
    assert snapshot() == before


def test_closed_customer_takes_payments_and_refunds_only(finance, customer, api_catalog):
    finance.post(f"/customers/{customer.pk}/status", {"status": "closed", "reason": "moved away"})
    r = finance.post(f"/customers/{customer.pk}/payments", {"amount_minor": 700}, key="p")
    assert r.status_code == 201
    before = snapshot()
    for path, body in [("credits", {"amount_minor": 100, "reason": "x"}),
                       ("debits", {"amount_minor": 100, "reason": "x"}),
                       ("holds", {"amount_minor": 100})]:
        r = finance.post(f"/customers/{customer.pk}/{path}", body, key=f"k-{path}")
        assert r.status_code == 409, path
        assert error_of(r)["code"] == "customer_closed"
    r = finance.post("/accounts", {"customer_id": customer.pk, "main_plan_id": api_catalog["basic_plan"].pk})
    assert r.status_code == 409
    assert error_of(r)["code"] == "customer_closed"
    assert snapshot() == before
    r = finance.post(f"/customers/{customer.pk}/refunds", {"amount_minor": 700, "reason": "final"}, key="r")
    assert r.status_code == 201
    assert funds_of(customer).balance.minor == 0


def test_entries_and_holds_listing(support, finance, customer):
    ids = []
    for i in range(5):
        ids.append(finance.post(f"/customers/{customer.pk}/payments", {"amount_minor": 100 + i}, key=f"p{i}").json()["id"])
    ids.append(finance.post(f"/customers/{customer.pk}/credits", {"amount_minor": 50, "reason": "x"}, key="c").json()["id"])
    r = support.get(f"/customers/{customer.pk}/entries", {"limit": 2})
    assert r.json()["count"] == 6
    assert [e["id"] for e in r.json()["items"]] == [ids[5], ids[4]]  # newest first
    r = support.get(f"/customers/{customer.pk}/entries", {"kind": "payment", "offset": 1, "limit": 10})
    assert r.json()["count"] == 5
    assert [e["id"] for e in r.json()["items"]] == [ids[3], ids[2], ids[1], ids[0]]
    assert support.get(f"/customers/{customer.pk}/entries", {"kind": "bogus"}).status_code == 422

    h1 = finance.post(f"/customers/{customer.pk}/holds", {"amount_minor": 100}, key="h1").json()["id"]
    h2 = finance.post(f"/customers/{customer.pk}/holds", {"amount_minor": 100}, key="h2").json()["id"]
    finance.post(f"/holds/{h1}/release")
    assert [h["id"] for h in support.get(f"/customers/{customer.pk}/holds").json()["items"]] == [h2, h1]
    assert [h["id"] for h in support.get(f"/customers/{customer.pk}/holds", {"status": "active"}).json()["items"]] == [h2]
    assert [h["id"] for h in support.get(f"/customers/{customer.pk}/holds", {"status": "released"}).json()["items"]] == [h1]


def test_hold_idempotency(finance, customer):
    a = finance.post(f"/customers/{customer.pk}/holds", {"amount_minor": 1000}, key="h")
    b = finance.post(f"/customers/{customer.pk}/holds", {"amount_minor": 1000}, key="h")
    assert (a.status_code, b.status_code) == (201, 201)
    assert a.json() == b.json()
    assert funds(finance, customer)["held"] == usd(1000)
    r = finance.post(f"/customers/{customer.pk}/holds", {"amount_minor": 999}, key="h")
    assert r.status_code == 409
    assert error_of(r)["code"] == "idempotency_key_reused"
