"""D69: every integer is bounded and every text storable before it reaches a database, and only
currencies that are money are taken. Each refusal is a 4xx in the API's error shape that writes
nothing, on SQLite and PostgreSQL alike (the suite runs on both)."""

import json
import re

import pytest
from django.test import Client

from tripleplay.api.schemas import MAX_ID, MAX_MINOR, MAX_OFFSET, PRINTABLE_REF_PATTERN, REQUIRED_TEXT_PATTERN
from tripleplay.api.tests.conftest import BASE, error_of, snapshot
from tripleplay.core.validation import NUL_MESSAGE, STORABLE_TEXT_PATTERN, SURROGATE_MESSAGE
from tripleplay.money import NOT_MONEY

pytestmark = pytest.mark.django_db

HUGE = 10**30  # beyond every integer column: PostgreSQL said "bigint out of range", SQLite OverflowError


def openapi() -> dict:
    return Client().get(BASE + "/openapi.json").json()


def paginated_lists() -> list[str]:
    """Every GET of the API that takes an offset, from the OpenAPI document itself."""
    return sorted(path.removeprefix(BASE) for path, operations in openapi()["paths"].items()
                  if any(p["name"] == "offset" for p in operations.get("get", {}).get("parameters", [])))


def with_ids(path: str, row_id: int) -> str:
    return re.sub(r"\{\w+_id\}", str(row_id), path)


def refused(response, status: int = 422) -> dict:
    assert response.status_code == status, response.content
    return error_of(response)


def field_error(response, location: str, field: str) -> dict:
    err = refused(response)
    assert (err["code"], err["message"]) == ("invalid_input", "the request is not valid")
    [e] = [e for e in err["details"]["errors"] if (e["location"], e["field"]) == (location, field)]
    return e


# -- pagination ----------------------------------------------------------------------------------------------


def test_every_list_is_paginated_with_bounds(db):
    lists = paginated_lists()
    named_in_issue_18 = ["/customers", "/products", "/plans", "/customers/{customer_id}/entries",
                         "/customers/{customer_id}/holds", "/audit", "/ppv/purchases", "/api-clients",
                         "/iptv/packages", "/iptv/platforms", "/iptv/ppv-events", "/rate-tables", "/xdrs/errors",
                         "/invoices"]
    assert set(named_in_issue_18) <= set(lists)
    doc = openapi()
    for path in lists:
        params = {p["name"]: p["schema"] for p in doc["paths"][BASE + path]["get"]["parameters"]}
        assert (params["offset"]["minimum"], params["offset"]["maximum"]) == (0, MAX_OFFSET), path
        assert (params["limit"]["minimum"], params["limit"]["maximum"]) == (1, 500), path


@pytest.mark.parametrize("query, field", [
    ({"offset": HUGE}, "offset"), ({"offset": 2**63}, "offset"), ({"offset": MAX_OFFSET + 1}, "offset"),
    ({"offset": -1}, "offset"), ({"limit": HUGE}, "limit"), ({"limit": 0}, "limit"), ({"limit": 501}, "limit"),
])
def test_out_of_range_paging_is_422_on_every_list(admin, customer, query, field):
    before = snapshot()
    for path in paginated_lists():
        r = admin.get(with_ids(path, customer.pk), query)
        e = field_error(r, "query", field)
        assert e["type"] in ("less_than_equal", "greater_than_equal"), (path, e)
    assert snapshot() == before


def test_the_largest_offset_is_an_empty_page(admin, customer):
    for path in paginated_lists():
        if with_ids(path, 0) != path.replace("{customer_id}", "0"):
            continue  # a list under another row (a subscriber's commands): no such row here
        r = admin.get(with_ids(path, customer.pk), {"offset": MAX_OFFSET, "limit": 500})
        assert r.status_code == 200, (path, r.content)
        assert r.json()["items"] == [], path


# -- ids and amounts -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/customers/{}", "/customers/{}/entries", "/holds/{}", "/invoices/{}",
                                  "/iptv/packages/{}", "/rate-tables/{}", "/accounts/{}"])
@pytest.mark.parametrize("value", [0, MAX_ID + 1, HUGE])
def test_a_path_id_out_of_range_is_just_not_found(admin, path, value):
    before = snapshot()
    err = refused(admin.get(path.format(value)), 404)
    assert (err["code"], err["message"]) == ("not_found", "not found")
    assert snapshot() == before


@pytest.mark.parametrize("path, param", [("/accounts", "customer_id"), ("/plans", "product_id"),
                                         ("/invoices", "customer_id"), ("/ppv/purchases", "platform_id"),
                                         ("/iptv/packages", "platform_id"), ("/rate-tables", "product_id")])
@pytest.mark.parametrize("value", [0, MAX_ID + 1, HUGE])
def test_a_filter_id_out_of_range_is_422(admin, path, param, value):
    before = snapshot()
    field_error(admin.get(path, {param: value}), "query", param)
    assert snapshot() == before


@pytest.mark.parametrize("body, field", [
    ({"amount_minor": MAX_MINOR + 1}, "amount_minor"),
    ({"amount_minor": HUGE}, "amount_minor"),
    ({"amount_minor": 100, "account_id": MAX_ID + 1}, "account_id"),
    ({"amount_minor": 100, "account_id": HUGE}, "account_id"),
])
def test_amounts_and_body_ids_out_of_range_are_422(finance, customer, body, field):
    before = snapshot()
    e = field_error(finance.post(f"/customers/{customer.pk}/credits", {"reason": "r", **body}, key="k"), "body", field)
    assert e["type"] == "less_than_equal"
    assert snapshot() == before


def test_amount_and_id_bounds_are_in_the_openapi_document(db):
    schemas = openapi()["components"]["schemas"]
    assert schemas["CreditIn"]["properties"]["amount_minor"]["maximum"] == MAX_MINOR
    account_id = schemas["CreditIn"]["properties"]["account_id"]["anyOf"][0]
    assert (account_id["minimum"], account_id["maximum"]) == (1, MAX_ID)
    assert schemas["AuthorizeIn"]["properties"]["price_minor"]["anyOf"][0]["maximum"] == MAX_MINOR


# -- text ----------------------------------------------------------------------------------------------------

CUSTOMER = {"name": "Ada", "currency": "USD", "balance_model": "prepaid"}
NUL, SURROGATE = "\x00", "\ud800"


@pytest.mark.parametrize("bad, message", [(NUL, NUL_MESSAGE), (SURROGATE, SURROGATE_MESSAGE)])
@pytest.mark.parametrize("who, method, path, body, field", [
    ("finance", "post", "/customers", {**CUSTOMER, "name": "Ada{}"}, "name"),
    ("finance", "post", "/customers", {**CUSTOMER, "city": "{}"}, "city"),
    ("finance", "patch", "/customers/{customer}", {"name": "A{}"}, "name"),
    ("finance", "post", "/customers/{customer}/status", {"status": "suspended", "reason": "{}"}, "reason"),
    ("finance", "post", "/customers/{customer}/payments", {"amount_minor": 100, "reference": "r{}"}, "reference"),
    ("finance", "post", "/customers/{customer}/refunds", {"amount_minor": 100, "reason": "{}"}, "reason"),
    ("finance", "post", "/invoices/1/void", {"reason": "wrong{}"}, "reason"),
    ("admin", "post", "/products", {"code": "p", "name": "P{}", "kind": "main", "currency": "USD",
                                    "services": ["iptv"]}, "name"),
    ("admin", "post", "/rate-tables", {"product_id": 1, "service_type": "voice", "name": "{}"}, "name"),
    ("finance", "post", "/xdrs", {"records": [{"id": "x{}", "service_type": "voice"}]}, "records.0.id"),
])
def test_text_a_database_cannot_store_is_422(request, customer, bad, message, who, method, path, body, field):
    api = request.getfixturevalue(who)
    body = json.loads(json.dumps(body).replace("{}", json.dumps(bad)[1:-1]))
    assert json.dumps(body).count(json.dumps(bad)[1:-1]) == 1
    before = snapshot()
    r = getattr(api, method)(path.format(customer=customer.pk), raw=json.dumps(body),
                             **({"key": "k"} if method == "post" else {}))
    e = field_error(r, "body", field)
    assert (e["message"], e["type"]) == (message, "unstorable_text")
    assert snapshot() == before


@pytest.mark.parametrize("bad, message", [(NUL, NUL_MESSAGE), (SURROGATE, SURROGATE_MESSAGE)])
def test_unstorable_text_is_refused_in_keys_too(finance, customer, bad, message):
    before = snapshot()
    raw = json.dumps({"amount_minor": 100, "x" + bad: "y"})
    e = field_error(finance.post(f"/customers/{customer.pk}/payments", raw=raw, key="k"), "body", "x" + bad)
    assert e["message"] == message
    assert snapshot() == before


@pytest.mark.parametrize("path, param", [("/customers", "search"), ("/accounts", "search"),
                                         ("/audit", "object_type"), ("/xdrs/errors", "source")])
def test_nul_in_a_query_string_is_422(admin, path, param):
    before = snapshot()
    e = field_error(admin.get(path, {param: "a\x00b"}), "query", param)
    assert (e["message"], e["type"]) == (NUL_MESSAGE, "unstorable_text")
    assert snapshot() == before


def test_text_fields_declare_the_storable_pattern(db):
    schemas = openapi()["components"]["schemas"]
    assert schemas["CustomerIn"]["properties"]["name"]["pattern"] == REQUIRED_TEXT_PATTERN  # refuses NUL too
    assert schemas["PaymentIn"]["properties"]["reference"]["pattern"] == STORABLE_TEXT_PATTERN
    assert schemas["AuthorizeIn"]["properties"]["transaction_id"]["pattern"] == PRINTABLE_REF_PATTERN  # no NUL either


# -- currencies ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", sorted(NOT_MONEY))
def test_codes_that_are_not_money_are_refused_for_customers_and_products(finance, admin, code):
    before = snapshot()
    r = finance.post("/customers", {**CUSTOMER, "currency": code})
    err = refused(r)
    assert err["code"] == "unknown_currency"
    assert err["message"] == f"{code!r} is an ISO 4217 code but not money: expected a currency such as 'USD'"
    r = admin.post("/products", {"code": "gold", "name": "Gold", "kind": "main", "currency": code,
                                 "services": ["iptv"]})
    assert refused(r)["code"] == "unknown_currency"
    assert snapshot() == before
