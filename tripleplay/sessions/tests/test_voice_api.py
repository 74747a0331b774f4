"""The voice sessions API end to end over HTTP (django test client): a switch's token, its own calls
only, exact charges, idempotent retries, every answer in its declared shape."""

from __future__ import annotations

import pytest

from tripleplay.api.tests.conftest import Api, error_of
from tripleplay.ledger.models import Funds, Hold, LedgerEntry
from tripleplay.sessions import services
from tripleplay.sessions.models import ChargingSession

from .conftest import invariants


@pytest.fixture
def switch(world, actor):
    sw, token = services.create_softswitch(actor, code="kamailio-1")
    return Api(token)


@pytest.fixture
def other_switch(world, actor):
    sw, token = services.create_softswitch(actor, code="kamailio-2")
    return Api(token)


def test_a_call_authorized_updated_and_terminated(switch, subscriber):
    account = subscriber(1000)
    r = switch.post("/voice/authorize", {"call_id": "a@sip", "caller": "+" + account.phone_number,
                                         "callee": "15559999", "requested_seconds": 600})
    assert r.status_code == 200, r.content
    body = r.json()
    assert (body["result"], body["max_duration_seconds"], body["available_minor"]) == ("granted", 600, 900)
    r = switch.post("/voice/update", {"call_id": "a@sip", "elapsed_seconds": 61, "sequence": 1})
    assert (r.status_code, r.json()["charged_minor"]) == (200, 20)
    again = switch.post("/voice/update", {"call_id": "a@sip", "elapsed_seconds": 61, "sequence": 1})
    assert again.json() == r.json()
    r = switch.post("/voice/terminate", {"call_id": "a@sip", "duration_seconds": 125})
    assert (r.status_code, r.json()["result"], r.json()["charged_minor"]) == (200, "stopped", 30)
    assert switch.post("/voice/terminate", {"call_id": "a@sip", "duration_seconds": 999}).json() == r.json()
    assert list(LedgerEntry.objects.filter(kind="charge").values_list("amount_minor", flat=True)) == [-20, -10]
    f = Funds.objects.get(customer_id=account.customer_id)
    assert (f.balance_minor, f.held_minor) == (970, 0)
    invariants(account.customer_id)


def test_refusals_are_answers(switch, subscriber):
    account = subscriber(0)
    r = switch.post("/voice/authorize", {"call_id": "b", "caller": account.phone_number, "callee": "15559999"})
    assert (r.status_code, r.json()["result"], r.json()["code"], r.json()["max_duration_seconds"]) == (
        200, "refused", "insufficient_funds", 0)
    r = switch.post("/voice/authorize", {"call_id": "c", "caller": "19990000", "callee": "15559999"})
    assert (r.status_code, r.json()["code"]) == (200, "unknown_subscriber")


def test_authentication(world, subscriber, actor):
    account = subscriber(1000)
    body = {"call_id": "a", "caller": account.phone_number, "callee": "15559999"}
    assert error_of(Api().post("/voice/authorize", body))["code"] == "unauthenticated"
    r = Api("tps_wrong").post("/voice/authorize", body)
    assert (r.status_code, error_of(r)["code"]) == (401, "unauthenticated")
    # An operator's API token is not a switch's.
    from tripleplay.access.services import create_api_client

    _, token = create_api_client(actor, name="ops", role="admin")
    assert Api(token).post("/voice/authorize", body).status_code == 401
    assert not ChargingSession.objects.exists()


def test_a_switch_sees_and_ends_only_its_own_calls(switch, other_switch, subscriber):
    account = subscriber(1000)
    switch.post("/voice/authorize", {"call_id": "a", "caller": account.phone_number, "callee": "15559999"})
    assert other_switch.get("/voice/calls/a").status_code == 404
    r = other_switch.post("/voice/terminate", {"call_id": "a", "duration_seconds": 10})
    assert (r.status_code, r.json()["code"]) == (404, "unknown_session")
    r = other_switch.post("/voice/update", {"call_id": "a", "elapsed_seconds": 10})
    assert r.status_code == 404
    assert ChargingSession.objects.get().status == "active"
    assert Hold.objects.get().status == "active"
    assert switch.get("/voice/calls/a%00b").status_code == 404
    assert switch.get("/voice/calls/" + "x" * 300).status_code == 404
    mine = switch.get("/voice/calls/a")
    assert (mine.status_code, mine.json()["status"], mine.json()["max_duration_seconds"]) == (200, "active", 300)
    # The same call id from another switch is another call.
    r = other_switch.post("/voice/authorize", {"call_id": "a", "caller": account.phone_number, "callee": "15559999"})
    assert r.json()["result"] == "granted" and r.json()["session"] != mine.json()["session"]


@pytest.mark.parametrize("path, body", [
    ("/voice/authorize", {"call_id": "a", "caller": "abc", "callee": "15559999"}),
    ("/voice/authorize", {"call_id": "a", "caller": "15550001", "callee": "15559999", "requested_seconds": 0}),
    ("/voice/authorize", {"call_id": "a", "caller": "15550001", "callee": "15559999", "requested_seconds": 10**9}),
    ("/voice/authorize", {"call_id": "a\u0000", "caller": "15550001", "callee": "15559999"}),
    ("/voice/authorize", {"call_id": "", "caller": "15550001", "callee": "15559999"}),
    ("/voice/update", {"call_id": "a", "elapsed_seconds": -1}),
    ("/voice/update", {"call_id": "a", "elapsed_seconds": 1.5}),
    ("/voice/update", {"call_id": "a", "elapsed_seconds": "10"}),
    ("/voice/update", {"call_id": "a", "elapsed_seconds": 2**63}),
    ("/voice/terminate", {"call_id": "a"}),
    ("/voice/terminate", {"call_id": "a", "duration_seconds": 1, "extra": 1}),
])
def test_bad_input_is_a_422_and_changes_nothing(switch, subscriber, path, body):
    subscriber(1000)
    r = switch.post(path, body)
    assert r.status_code == 422, r.content
    assert error_of(r)["code"] == "invalid_input"
    assert not ChargingSession.objects.exists() and not Hold.objects.exists()


def test_operators_create_switches_and_list_active_sessions(world, subscriber, actor):
    from tripleplay.access.services import create_api_client

    _, admin_token = create_api_client(actor, name="adm", role="admin")
    _, support_token = create_api_client(actor, name="sup", role="support")
    admin, support = Api(admin_token), Api(support_token)
    assert support.post("/softswitches", {"code": "sw"}).status_code == 403
    r = admin.post("/softswitches", {"code": "sw", "name": "Switch"})
    assert r.status_code == 201 and r.json()["token"].startswith("tps_")
    assert admin.post("/softswitches", {"code": "sw"}).status_code == 409
    switch = Api(r.json()["token"])
    account = subscriber(1000)
    switch.post("/voice/authorize", {"call_id": "a", "caller": account.phone_number, "callee": "15559999"})
    rows = support.get("/sessions/active", {"customer_id": account.customer_id}).json()
    assert [(s["session_id"], s["used"], s["granted"], s["charged_minor"]) for s in rows] == [("a", 0, 300, 0)]
    assert support.get("/sessions/active", {"account_id": account.pk + 1000}).json() == []
    assert switch.get("/sessions/active").status_code == 401  # a switch is no operator


def test_openapi_declares_the_voice_answers(world):
    from django.test import Client

    schema = Client().get("/api/v1/openapi.json").json()
    responses = schema["paths"]["/api/v1/voice/authorize"]["post"]["responses"]
    assert {"200", "401", "404", "409", "422"} <= set(responses)
    schema_422 = responses["422"]["content"]["application/json"]["schema"]
    assert "#/components/schemas/Error" in {s["$ref"] for s in schema_422.get("anyOf", [schema_422])}
