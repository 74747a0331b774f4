"""The OpenAPI document says what the server does (D97): the declarations the issue found missing,
each next to the answer that proves it, with nothing written when a request is refused."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client

from tripleplay.api.schemas import REQUIRED_TEXT_PATTERN
from tripleplay.api.tests.conftest import BASE, error_of
from tripleplay.money import NOT_MONEY

pytestmark = pytest.mark.django_db

CUSTOMER = {"name": "Ada", "currency": "EUR", "balance_model": "prepaid"}


@pytest.fixture
def doc() -> dict:
    return Client().get(BASE + "/openapi.json").json()


def operation(doc, method: str, path: str) -> dict:
    return doc["paths"][BASE + path][method]


def body_schema(doc, name: str) -> dict:
    return doc["components"]["schemas"][name]


# Operations with no token: the payment provider's webhook is authenticated by its signature (400), Twilio's
# status callback by X-Twilio-Signature (403).
UNAUTHENTICATED = {("post", "/api/v1/payments/stripe/webhook"), ("post", "/api/v1/notifications/twilio/status")}


def test_every_operation_lists_its_edge_errors_in_the_error_shape(doc):
    error = {"$ref": "#/components/schemas/Error"}
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            responses = op["responses"]
            assert responses["default"]["content"]["application/json"]["schema"] == error, (method, path)
            if (method, path) not in UNAUTHENTICATED:
                assert "401" in responses, (method, path)
            if "{" in path:
                assert "404" in responses, (method, path)
            if "requestBody" in op:
                for status in ("400", "413", "422"):
                    schema = responses[status]["content"]["application/json"]["schema"]
                    assert schema == error or error in schema.get("anyOf", []), (method, path, status)


@pytest.mark.parametrize("call", ["authorize", "confirm", "cancel", "purchase"])
def test_the_ppv_calls_422_is_the_answer_or_the_error_shape(doc, call):
    op = operation(doc, "post", f"/ppv/{call}")
    assert op["responses"]["422"]["content"]["application/json"]["schema"] == {
        "anyOf": [{"$ref": "#/components/schemas/AnswerOut"}, {"$ref": "#/components/schemas/Error"}]}
    assert "403" not in op["responses"]  # platforms have no roles


@pytest.mark.parametrize("path", ["/customers/{customer_id}/payments", "/customers/{customer_id}/credits",
                                  "/customers/{customer_id}/debits", "/customers/{customer_id}/refunds",
                                  "/customers/{customer_id}/holds"])
def test_the_idempotency_key_is_declared_required_with_its_pattern(doc, path):
    [key] = [p for p in operation(doc, "post", path)["parameters"] if p["name"] == "Idempotency-Key"]
    assert key["required"] is True
    assert (key["schema"]["minLength"], key["schema"]["maxLength"]) == (1, 128)
    assert re.fullmatch(key["schema"]["pattern"], "pay-2026-0001")
    assert not re.fullmatch(key["schema"]["pattern"], " pay") and not re.fullmatch(key["schema"]["pattern"], "p\u00e9")


def test_currencies_are_an_enum_of_money(doc):
    enum = body_schema(doc, "CustomerIn")["properties"]["currency"]["enum"]
    assert {"USD", "EUR", "JPY", "KWD"} <= set(enum)
    assert not NOT_MONEY & set(enum)


def test_integers_are_never_written_as_floats_and_the_rule_is_stated(doc):
    text = json.dumps(doc)
    floats = re.findall(r'"(minimum|maximum|exclusiveMinimum|exclusiveMaximum|default)": (-?\d+\.\d+)', text)
    # timeout_seconds of the platforms and of the NAS clients: a number of seconds, not an integer
    assert floats == [("minimum", "0.1")] * 4
    assert "never `1250.0`" in doc["info"]["description"]


@pytest.mark.parametrize(("schema", "field", "expected"), [
    ("CustomerIn", "name", {"minLength": 1, "maxLength": 200, "pattern": REQUIRED_TEXT_PATTERN}),
    ("CustomerIn", "phone", {"maxLength": 40}),
    ("CustomerIn", "postal_code", {"maxLength": 20}),
    ("CustomerIn", "country", {"pattern": "^([A-Za-z]{2})?$"}),
    ("CustomerIn", "tax_rate", {"pattern": r"^(100(\.0{1,4})?|[0-9]{1,2}(\.[0-9]{1,4})?)$"}),
    ("ProductIn", "code", {"pattern": "^[a-z0-9][a-z0-9_-]{0,63}$"}),
    ("ProductIn", "services", {"minItems": 1}),
    ("PaymentIn", "reference", {"maxLength": 100}),
    ("ApiClientIn", "name", {"maxLength": 100}),
    ("EventIn", "platform_id", {"minimum": 1, "maximum": 2**63 - 1}),
    ("EventIn", "price_minor", {"minimum": 0, "maximum": 10**15}),
])
def test_constraints_are_declared(doc, schema, field, expected):
    declared = body_schema(doc, schema)["properties"][field]
    assert {k: declared[k] for k in expected} == expected


# -- and the server refuses what the document refuses (422, nothing written) ----------------------------------


@pytest.mark.parametrize(("change", "field", "kind"), [
    ({"name": "  \t"}, "name", "required_text"),
    ({"name": "\x1c"}, "name", "required_text"),  # whitespace to Python's str.strip()
    ({"phone": "1" * 41}, "phone", "string_too_long"),
    ({"postal_code": "x" * 21}, "postal_code", "string_too_long"),
    ({"tax_rate": "1e1"}, "tax_rate", "string_pattern_mismatch"),
    ({"country": "\u00e9\u00e9"}, "country", "string_pattern_mismatch"),
])
def test_the_edge_refuses_what_the_document_refuses(finance, db_snapshot, change, field, kind):
    before = db_snapshot()
    r = finance.post("/customers", {**CUSTOMER, **change})
    assert r.status_code == 422, r.content
    [e] = error_of(r)["details"]["errors"]
    assert (e["field"], e["type"]) == (field, kind)
    assert db_snapshot() == before


def test_a_customer_phone_longer_than_its_column_is_refused_on_every_database(finance, customer, db_snapshot):
    """It was stored on SQLite and a 500 on PostgreSQL (varchar(40))."""
    before = db_snapshot()
    r = finance.patch(f"/customers/{customer.pk}", {"phone": "5" * 41})
    assert r.status_code == 422
    assert db_snapshot() == before


@pytest.mark.parametrize("key", ["p\u00e9", "x" * 129])
def test_an_idempotency_key_outside_its_pattern_is_refused(finance, customer, db_snapshot, key):
    before = db_snapshot()
    r = finance.post(f"/customers/{customer.pk}/payments", {"amount_minor": 100}, key=key)
    assert r.status_code == 422
    assert error_of(r)["code"] == "invalid_idempotency_key"
    assert db_snapshot() == before


def test_a_ppv_event_time_must_be_text_with_an_offset(admin, ppv_world_platform):
    for starts_at in (0, "2026-03-10T12:00:00"):
        r = admin.post("/ppv/events", {"platform_id": ppv_world_platform.pk, "external_id": "e-1", "title": "E",
                                       "price_minor": 100, "currency": "USD", "starts_at": starts_at})
        assert r.status_code == 422, r.content
        assert error_of(r)["details"]["errors"][0]["field"] == "starts_at"
    assert not ppv_world_platform.ppv_events.exists()


@pytest.fixture
def ppv_world_platform(db):
    from tripleplay.api.tests.conftest import SYSTEM
    from tripleplay.iptv.configuration import create_platform

    return create_platform(SYSTEM, code="doc-tv", name="Doc TV", kind="matrixstream", base_url="http://127.0.0.1:9/",
                           username="u", secret="s", timeout_seconds="2")
