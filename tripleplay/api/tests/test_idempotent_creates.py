"""Idempotency-Key on every create (D117): optional, honoured when sent. The same key and body answer
the first answer again and create nothing; another body under the key is 409; a refused first
request leaves the key free; secrets are never answered twice."""

import json

import pytest

from tripleplay.api.tests.conftest import BASE, error_of, snapshot
from tripleplay.core.models import IdempotentResponse
from tripleplay.customers.models import Customer

pytestmark = pytest.mark.django_db

NEW = {"name": "Grace Hopper", "currency": "USD", "balance_model": "prepaid"}


def test_a_retried_create_answers_the_first_answer_and_creates_nothing(finance):
    first = finance.post("/customers", NEW, key="signup-1")
    assert first.status_code == 201, first.content
    before = snapshot()
    again = finance.post("/customers", NEW, key="signup-1")
    assert (again.status_code, again.json()) == (201, first.json())
    assert snapshot() == before
    assert Customer.objects.count() == 1
    row = IdempotentResponse.objects.get()
    assert (row.principal, row.key, row.status_code, json.loads(row.body)) == (
        f"api_client:{finance.record.pk}", "signup-1", 201, first.json())


def test_the_same_key_with_another_body_is_a_409_and_creates_nothing(finance):
    finance.post("/customers", NEW, key="signup-1")
    before = snapshot()
    r = finance.post("/customers", {**NEW, "name": "Someone Else"}, key="signup-1")
    assert r.status_code == 409
    assert (error_of(r)["code"], error_of(r)["details"]) == ("idempotency_key_reused", {"idempotency_key": "signup-1"})
    assert snapshot() == before


def test_keys_belong_to_their_caller(finance, admin):
    a = finance.post("/customers", NEW, key="k").json()
    b = admin.post("/customers", NEW, key="k").json()
    assert a["id"] != b["id"] and Customer.objects.count() == 2


def test_without_a_key_every_request_creates(finance):
    finance.post("/customers", NEW)
    finance.post("/customers", NEW)
    assert Customer.objects.count() == 2 and IdempotentResponse.objects.count() == 0


def test_a_refused_first_request_leaves_the_key_free(finance):
    r = finance.post("/customers", {**NEW, "currency": "XXX"}, key="k1")
    assert r.status_code == 422
    assert IdempotentResponse.objects.count() == 0
    r = finance.post("/customers", NEW, key="k1")
    assert r.status_code == 201 and Customer.objects.count() == 1


@pytest.mark.parametrize("key", [" lead", "trail ", "x" * 129, "tab\there", "é"])
def test_a_malformed_key_is_refused_and_changes_nothing(finance, key):
    before = snapshot()
    r = finance.post("/customers", NEW, headers={"Idempotency-Key": key})
    assert r.status_code == 422, r.content
    assert error_of(r)["code"] in ("invalid_idempotency_key", "invalid_input")
    assert snapshot() == before and IdempotentResponse.objects.count() == 0


def test_a_secret_is_never_answered_twice(admin):
    first = admin.post("/api-clients", {"name": "crm", "role": "support"}, key="client-1")
    assert first.status_code == 201, first.content
    created = first.json()
    assert created["token"].startswith("tp_")
    again = admin.post("/api-clients", {"name": "crm", "role": "support"}, key="client-1")
    assert again.status_code == 409
    assert (error_of(again)["code"], error_of(again)["details"]) == (
        "already_created", {"idempotency_key": "client-1", "id": created["id"]})
    row = IdempotentResponse.objects.get()
    assert created["token"] not in row.body and json.loads(row.body) == {"id": created["id"]}


def test_an_account_create_is_idempotent_too(finance, customer, api_catalog):
    body = {"customer_id": customer.pk, "main_plan_id": api_catalog["basic_plan"].pk, "login": "ada"}
    first = finance.post("/accounts", body, key="acct-1")
    again = finance.post("/accounts", body, key="acct-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json() and customer.accounts.count() == 1


def test_a_retry_while_the_first_runs_is_a_409(finance):
    from tripleplay import clock
    from tripleplay.core import idempotency
    fp = idempotency.request_fingerprint("POST", BASE + "/customers", json.dumps(NEW).encode())
    IdempotentResponse.objects.create(principal=f"api_client:{finance.record.pk}", key="busy", request_fingerprint=fp,
                                      created_at=clock.now())
    r = finance.post("/customers", NEW, key="busy")
    assert r.status_code == 409 and error_of(r)["code"] == "idempotency_key_in_use"
    assert Customer.objects.count() == 0


def test_the_document_declares_the_optional_header_on_creates(finance):
    doc = finance.client.get(BASE + "/openapi.json").json()
    for path, method, required in [("/customers", "post", False), ("/accounts", "post", False),
                                   ("/api-clients", "post", False), ("/webhooks/endpoints", "post", False),
                                   ("/customers/{customer_id}/payments", "post", True)]:
        params = doc["paths"][BASE + path][method]["parameters"]
        header = next(p for p in params if p["name"] == "Idempotency-Key")
        assert (header["in"], header["required"], header["schema"]["maxLength"]) == ("header", required, 128)


def test_answers_are_forgotten_after_the_retention(finance, settings):
    from datetime import timedelta

    from tripleplay import clock
    from tripleplay.api.idempotency import prune_job
    finance.post("/customers", NEW, key="old")
    clock.advance(timedelta(hours=23))
    finance.post("/customers", NEW, key="young")
    clock.advance(timedelta(hours=2))
    settings.TRIPLEPLAY_IDEMPOTENCY_KEY_HOURS = 24
    assert prune_job() == "forgot 1 idempotency keys"
    assert list(IdempotentResponse.objects.values_list("key", flat=True)) == ["young"]
    assert finance.post("/customers", NEW, key="old").status_code == 201  # the key may be used again
    assert Customer.objects.count() == 3
