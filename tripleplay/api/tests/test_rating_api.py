"""POST /api/v1/xdrs (batch of usage records), the error list and re-rating, through the API. Prices
(tripleplay/rating/tests/conftest.py): default 0.10/min at 60/60, "44" 0.20/min at 30/6 plus 0.05 a call,
"447" 0.30/min at 1/1; 10 free minutes a month; SMS 0.05."""

from __future__ import annotations

import pytest

from tripleplay.api.rating import MAX_BATCH
from tripleplay.api.tests.conftest import error_of, snapshot
from tripleplay.ledger.selectors import funds_of
from tripleplay.rating.models import Xdr
from tripleplay.rating.tests.conftest import PHONE, call, world  # noqa: F401 (the fixture)

pytestmark = pytest.mark.django_db


def usd(minor: int) -> dict:
    return {"amount_minor": minor, "amount": f"{minor // 100}.{minor % 100:02d}", "currency": "USD"}


def state() -> tuple:
    return snapshot(), list(Xdr.objects.order_by("id").values_list("external_id", "status", "cost_minor"))


def test_batch_rates_each_record_and_answers_in_order(world, finance):  # noqa: F811
    records = [call("a1", seconds=600), call("a2", seconds=61), call("a3", callee="447700900123", seconds=61),
               {"id": "m1", "service_type": "messaging", "caller": PHONE, "destination": "4477", "count": 3,
                "started_at": "2026-03-10T12:00:00Z"},
               call("u1", caller="15550002"), {"service_type": "voice"}, call("a2")]
    r = finance.post("/xdrs", {"source": "switch-1", "records": records})
    assert r.status_code == 200, r.content
    body = r.json()
    ids = {x.external_id: x.pk for x in Xdr.objects.all()}
    assert body == {
        "counts": {"rated": 4, "error": 1, "duplicate": 1, "rejected": 1},
        "results": [
            {"id": "a1", "status": "rated", "xdr_id": ids["a1"], "cost": usd(0), "error_code": "", "error_reason": ""},
            {"id": "a2", "status": "rated", "xdr_id": ids["a2"], "cost": usd(20), "error_code": "", "error_reason": ""},
            {"id": "a3", "status": "rated", "xdr_id": ids["a3"], "cost": usd(31), "error_code": "", "error_reason": ""},
            {"id": "m1", "status": "rated", "xdr_id": ids["m1"], "cost": usd(15), "error_code": "", "error_reason": ""},
            {"id": "u1", "status": "error", "xdr_id": ids["u1"], "cost": None, "error_code": "unknown_account",
             "error_reason": "no account with phone number 15550002"},
            {"id": "", "status": "rejected", "xdr_id": None, "cost": None, "error_code": "invalid_field",
             "error_reason": "id: a non-empty external id of at most 100 characters is required"},
            {"id": "a2", "status": "duplicate", "xdr_id": ids["a2"], "cost": None, "error_code": "duplicate",
             "error_reason": "already received from this source"},
        ]}
    assert funds_of(world.customer).balance.minor == -66

    # A retry of the whole batch writes nothing: every stored record is a duplicate pointing at the first.
    before = state()
    again = finance.post("/xdrs", {"source": "switch-1", "records": records}).json()
    assert again["counts"] == {"rated": 0, "error": 0, "duplicate": 6, "rejected": 1}
    assert [x["xdr_id"] for x in again["results"]] == [ids["a1"], ids["a2"], ids["a3"], ids["m1"], ids["u1"], None,
                                                       ids["a2"]]
    assert state() == before


def test_errors_listed_and_rerated_after_a_fix(world, finance, support, actor, make_customer):  # noqa: F811
    from tripleplay.customers.services import create_account

    finance.post("/xdrs", {"service_type": "voice", "records": [
        {"id": "e1", "caller": "15550002", "callee": "15559999", "duration_seconds": 61,
         "started_at": "2026-03-10T12:00:00Z"}]})
    listed = support.get("/xdrs/errors").json()
    assert listed["count"] == 1
    item = listed["items"][0]
    assert (item["external_id"], item["source"], item["error_code"], item["raw"]["service_type"]) == (
        "e1", "api", "unknown_account", "voice")
    create_account(actor, make_customer("postpaid"), main_plan=world.voice_plan, phone_number="15550002")
    assert support.post("/xdrs/rerate", {}).status_code == 403
    r = finance.post("/xdrs/rerate", {"source": "api"})
    assert (r.status_code, r.json()) == (200, {"rated": 1, "error": 0})
    assert support.get("/xdrs/errors").json()["count"] == 0


@pytest.mark.parametrize("body", [
    [],
    {"records": []},
    {"records": "nope"},
    {"records": [call("b1"), "not an object"]},
    {"records": [call(f"b{i}") for i in range(MAX_BATCH + 1)]},
    {"records": [call("b1")], "sorce": "typo"},
    {"records": [call("b1")], "source": ""},
    {"records": [call("b1")], "source": 7},
    {"records": [call("b1")], "service_type": "fax"},
])
def test_bad_payload_is_422_and_writes_nothing(world, finance, body):  # noqa: F811
    before = state()
    r = finance.post("/xdrs", body)
    assert r.status_code == 422, r.content
    assert error_of(r)["code"] == "invalid_input"
    assert state() == before


def test_not_json_is_400(world, finance):  # noqa: F811
    before = state()
    r = finance.post("/xdrs", raw="{records: [")
    assert (r.status_code, error_of(r)["code"]) == (400, "invalid_json")
    assert state() == before


def test_roles(world, support, anon, admin):  # noqa: F811
    before = state()
    r = support.post("/xdrs", {"records": [call("s1")]})
    assert (r.status_code, error_of(r)["code"]) == (403, "permission_denied")
    assert anon.post("/xdrs", {"records": [call("s1")]}).status_code == 401
    assert state() == before
    assert admin.post("/xdrs", {"records": [call("s1")]}).json()["counts"]["rated"] == 1


# -- rate tables --------------------------------------------------------------------------------------------


def test_admin_manages_rate_tables_and_the_new_terms_rate_calls(world, admin, finance, support):  # noqa: F811
    product = world.voice_plan.product
    listed = support.get(f"/rate-tables?product_id={product.pk}").json()
    assert [(t["service_type"], t["name"], len(t["rates"])) for t in listed["items"]] == [
        ("voice", "Voice rates", 3), ("messaging", "SMS rates", 1)]
    # A new prefix with an off-peak price, and a peak window: a Tuesday noon call is peak, a Saturday one is not.
    table = world.voice_table.pk
    r = admin.put(f"/rate-tables/{table}/rates", {"prefix": "33", "price_per_unit_micros": 150_000,
                                                   "first_increment": 60, "next_increment": 60,
                                                   "offpeak_price_per_unit_micros": 60_000, "description": "France"})
    assert r.status_code == 200, r.content
    r = admin.put(f"/rate-tables/{table}/peak-window", {"start": "08:00", "end": "20:00", "weekdays": "12345",
                                                         "time_zone": "UTC"})
    body = r.json()
    assert (r.status_code, body["peak_start"], body["peak_end"], body["peak_weekdays"], body["time_zone"]) == (
        200, "08:00", "20:00", "12345", "UTC")
    assert {x["prefix"]: (x["price_per_unit_micros"], x["offpeak_price_per_unit_micros"]) for x in body["rates"]}[
        "33"] == (150_000, 60_000)
    r = finance.post("/xdrs", {"records": [call("f1", callee="33140000000", seconds=120),
                                           call("f2", callee="33140000000", seconds=120, at="2026-03-14T12:00:00Z")]})
    assert [x["cost"]["amount_minor"] for x in r.json()["results"]] == [0, 0]  # the 10 free minutes first
    r = finance.post("/xdrs", {"records": [call("f3", callee="33140000000", seconds=600),
                                           call("f4", callee="33140000000", seconds=120, at="2026-03-14T12:00:00Z")]})
    # 6 free minutes were left: f3 pays 4 minutes at 0.15 = 0.60; f4 (Saturday) 2 minutes at 0.06 = 0.12.
    assert [x["cost"]["amount_minor"] for x in r.json()["results"]] == [60, 12]


def test_rate_table_writes_are_for_admins_and_bad_input_changes_nothing(world, admin, finance, support):  # noqa: F811
    table = world.voice_table.pk
    before = state()
    for client in (finance, support):
        assert client.put(f"/rate-tables/{table}/rates", {"price_per_unit_micros": 1}).status_code == 403
        assert client.post("/rate-tables", {"product_id": world.voice_plan.product.pk, "service_type": "voice",
                                            "name": "x"}).status_code == 403
    for payload, code in [({"price_per_unit_micros": -1}, 422), ({"price_per_unit_micros": "1"}, 422),
                          ({"price_per_unit_micros": 1, "prefix": "4a"}, 422),
                          ({"price_per_unit_micros": 1, "first_increment": 0}, 422),
                          ({"price_per_unit_micros": 1, "unknown": 1}, 422)]:
        r = admin.put(f"/rate-tables/{table}/rates", payload)
        assert r.status_code == code, (payload, r.content)
        assert error_of(r)["code"]
    assert admin.put(f"/rate-tables/{table}/peak-window", {"start": "20:00", "end": "08:00"}).status_code == 422
    assert admin.put("/rate-tables/999999/rates", {"price_per_unit_micros": 1}).status_code == 404
    r = admin.post("/rate-tables", {"product_id": world.voice_plan.product.pk, "service_type": "data", "name": "x"})
    assert r.status_code == 422 and "no data service" in error_of(r)["message"]
    assert state() == before


def test_a_rate_with_first_and_next_interval_prices(world, admin, finance, support):  # noqa: F811
    table = world.voice_table.pk
    r = admin.put(f"/rate-tables/{table}/rates", {"prefix": "39", "price_per_unit_micros": 300_000,
                                                   "connection_fee_micros": 20_000, "first_increment": 60,
                                                   "next_increment": 6, "next_price_per_unit_micros": 100_000,
                                                   "offpeak_next_price_per_unit_micros": 40_000})
    assert r.status_code == 200, r.content
    rate = next(x for x in support.get(f"/rate-tables/{table}").json()["rates"] if x["prefix"] == "39")
    assert (rate["price_per_unit_micros"], rate["next_price_per_unit_micros"],
            rate["offpeak_next_price_per_unit_micros"]) == (300_000, 100_000, 40_000)
    single = next(x for x in support.get(f"/rate-tables/{table}").json()["rates"] if x["prefix"] == "44")
    assert single["next_price_per_unit_micros"] is None
    finance.post("/xdrs", {"records": [call("burn", seconds=600)]})  # the 10 free minutes
    r = finance.post("/xdrs", {"records": [call(f"i{s}", callee="390612345", seconds=s) for s in (1, 60, 61, 3600)]})
    # 0.02 + the first minute at 0.30, then 6 s blocks at 0.10 a minute
    assert [x["cost"]["amount_minor"] for x in r.json()["results"]] == [32, 32, 33, 622]
    before = state()
    for bad in ({"next_price_per_unit_micros": -1}, {"next_price_per_unit_micros": "1"},
                {"offpeak_next_price_per_unit_micros": 10**16}):
        r = admin.put(f"/rate-tables/{table}/rates", {"prefix": "39", "price_per_unit_micros": 1, **bad})
        assert r.status_code == 422, (bad, r.content)
    assert state() == before
