"""The vouchers endpoints: batches (codes once), redemption on behalf of a customer, the IVR call
with its own token, refusals in the error shape, the throttle's 429, roles."""

from __future__ import annotations

import pytest

from tripleplay.api.tests.conftest import SYSTEM, Api, error_of, new_customer, snapshot
from tripleplay.customers import services as customer_services
from tripleplay.ledger.models import LedgerEntry
from tripleplay.vouchers import services as voucher_services
from tripleplay.vouchers.models import FailedRedemption, Voucher

pytestmark = pytest.mark.django_db

BATCH = {"name": "Shop cards 10", "value_minor": 1000, "currency": "USD", "count": 3,
         "expires_at": "2026-06-30T00:00:00+00:00"}


def _batch(api, key="b1", **changes):
    response = api.post("/voucher-batches", BATCH | changes, key=key)
    assert response.status_code == 201, response.content
    return response.json()


def test_finance_creates_a_batch_and_sees_its_codes_once(finance, support):
    body = _batch(finance)
    batch = body["batch"]
    assert batch["value"] == {"amount_minor": 1000, "amount": "10.00", "currency": "USD"}
    assert (batch["count"], batch["redeemed_count"], batch["is_active"]) == (3, 0, True)
    assert [c["serial"] for c in body["codes"]] == [1, 2, 3]
    assert all(len(c["code"]) == 20 and c["printable"].replace(" ", "") == c["code"] for c in body["codes"])
    listed = support.get("/voucher-batches").json()
    assert listed["count"] == 1 and "codes" not in listed["items"][0]
    assert "codes" not in support.get(f"/voucher-batches/{batch['id']}").json()
    retry = finance.post("/voucher-batches", BATCH, key="b1")
    assert retry.status_code == 409 and error_of(retry)["code"] == "voucher_batch_exists"
    assert Voucher.objects.count() == 3


@pytest.mark.parametrize("changes, field", [
    ({"value_minor": 0}, "value_minor"), ({"value_minor": 10.5}, "value_minor"), ({"count": 0}, "count"),
    ({"count": 10_001}, "count"), ({"expires_at": "2026-06-30T00:00:00"}, "expires_at"),
    ({"name": "a\u0000b"}, "name"), ({"unknown": 1}, "unknown"),
])
def test_bad_batches_are_422_and_write_nothing(finance, changes, field):
    before = snapshot()
    response = finance.post("/voucher-batches", BATCH | changes, key="bad")
    assert response.status_code == 422, response.content
    assert field in str(error_of(response)["details"])
    assert snapshot() == before and not Voucher.objects.exists()


def test_a_past_expiry_and_an_unknown_currency_are_refused(finance):
    past = finance.post("/voucher-batches", BATCH | {"expires_at": "2026-01-01T00:00:00Z"}, key="p")
    assert past.status_code == 422 and error_of(past)["details"]["field"] == "expires_at"
    bad = finance.post("/voucher-batches", BATCH | {"currency": "XYZ"}, key="c")
    assert bad.status_code == 422 and error_of(bad)["code"] == "unknown_currency"
    assert finance.post("/voucher-batches", BATCH).status_code == 400  # no Idempotency-Key


def test_support_redeems_for_a_customer_and_cannot_create_or_disable(finance, support, prepaid):
    body = _batch(finance)
    assert support.post("/voucher-batches", BATCH, key="s").status_code == 403
    code = body["codes"][0]["printable"]
    response = support.post(f"/customers/{prepaid.pk}/voucher-redemptions", {"code": code})
    assert response.status_code == 201, response.content
    out = response.json()
    assert out["amount"]["amount_minor"] == 1000 and out["balance_after"]["amount_minor"] == 1000
    assert (out["customer_id"], out["serial"], out["channel"]) == (prepaid.pk, 1, "api")
    entry = LedgerEntry.objects.get(pk=out["entry_id"])
    assert (entry.kind, entry.source, entry.amount_minor, entry.actor_name) == ("payment", "voucher", 1000,
                                                                                "test-support")
    again = support.post(f"/customers/{prepaid.pk}/voucher-redemptions", {"code": code})
    assert again.status_code == 409
    assert error_of(again)["code"] == "voucher_used"
    assert error_of(again)["details"]["redeemed_by_this_customer"] is True
    assert support.post(f"/voucher-batches/{body['batch']['id']}/disable").status_code == 403
    redemptions = support.get("/voucher-redemptions", {"customer_id": prepaid.pk}).json()
    assert [r["voucher_id"] for r in redemptions["items"]] == [out["voucher_id"]]


def test_refusals_have_clear_codes(finance, prepaid, api_catalog):
    euro = new_customer("Euro", currency="EUR", balance_model="prepaid")
    body = _batch(finance)
    disabled = _batch(finance, key="b2")
    assert finance.post(f"/voucher-batches/{disabled['batch']['id']}/disable",
                        {"reason": "box stolen"}).json()["is_active"] is False
    cases = [
        (prepaid, disabled["codes"][0]["code"], 409, "voucher_disabled"),
        (euro, body["codes"][0]["code"], 409, "voucher_currency_mismatch"),
        (prepaid, "9" * 20 if all(c["code"] != "9" * 20 for c in body["codes"]) else "8" * 20, 409,
         "voucher_not_found"),
        (prepaid, "123", 422, "voucher_code_malformed"),
    ]
    before = LedgerEntry.objects.count()
    for customer, code, status, expected in cases:
        response = finance.post(f"/customers/{customer.pk}/voucher-redemptions", {"code": code})
        assert (response.status_code, error_of(response)["code"]) == (status, expected)
    assert LedgerEntry.objects.count() == before
    other = new_customer("Other")
    account = customer_services.create_account(SYSTEM, other, main_plan=api_catalog["basic_plan"], login="other-1")
    mismatch = finance.post(f"/customers/{prepaid.pk}/voucher-redemptions",
                            {"code": body["codes"][1]["code"], "account_id": account.pk})
    assert (mismatch.status_code, error_of(mismatch)["code"]) == (422, "account_mismatch")


def test_the_throttle_answers_429_before_looking_at_the_code(finance, prepaid, settings):
    settings.TRIPLEPLAY_VOUCHER_MAX_FAILURES = 2
    good = _batch(finance)["codes"][0]["code"]
    for guess in ("1" * 20, "2" * 20):
        assert finance.post(f"/customers/{prepaid.pk}/voucher-redemptions", {"code": guess}).status_code == 409
    throttled = finance.post(f"/customers/{prepaid.pk}/voucher-redemptions", {"code": good})
    assert throttled.status_code == 429
    err = error_of(throttled)
    assert err["code"] == "throttled" and err["details"]["retry_after_seconds"] == 900
    assert not LedgerEntry.objects.exists()
    assert FailedRedemption.objects.count() == 4  # two per attempt (customer, client); none for the 429


def test_the_ivr_redeems_with_its_own_token_only(admin, finance, prepaid, api_catalog):
    account = customer_services.create_account(SYSTEM, prepaid, main_plan=api_catalog["basic_plan"],
                                               phone_number="15550001111")
    created = admin.post("/ivr-clients", {"name": "asterisk"})
    assert created.status_code == 201
    token = created.json()["token"]
    assert token.startswith("tpivr_")
    assert finance.post("/ivr-clients", {"name": "x"}).status_code == 403
    ivr = Api(token)
    code = _batch(finance)["codes"][2]["code"]
    response = ivr.post("/ivr/voucher-redemptions", {"phone_number": "+15550001111", "code": code})
    assert response.status_code == 201, response.content
    out = response.json()
    assert (out["customer_id"], out["account_id"], out["channel"]) == (prepaid.pk, account.pk, "ivr")
    assert out["balance_after"]["amount_minor"] == 1000
    unknown = ivr.post("/ivr/voucher-redemptions", {"phone_number": "15550009999", "code": code})
    assert (unknown.status_code, error_of(unknown)["code"]) == (404, "phone_number_not_found")
    # the IVR token opens nothing else; API tokens do not open the IVR endpoint
    assert ivr.get("/customers").status_code == 401
    assert finance.post("/ivr/voucher-redemptions", {"phone_number": "15550001111", "code": code}).status_code == 401
    client_id = created.json()["id"]
    assert admin.post(f"/ivr-clients/{client_id}/revoke").json()["is_active"] is False
    assert ivr.post("/ivr/voucher-redemptions", {"phone_number": "15550001111", "code": code}).status_code == 401
    assert [c["name"] for c in admin.get("/ivr-clients").json()["items"]] == ["asterisk"]
    assert voucher_services.IVR_TOKEN_PREFIX == "tpivr_"


def test_unknown_ids_are_404(support):
    assert support.get("/voucher-batches/999").status_code == 404
    assert support.post("/customers/999/voucher-redemptions", {"code": "1" * 20}).status_code == 404
