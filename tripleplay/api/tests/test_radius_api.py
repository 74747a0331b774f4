"""The radius part of the REST API: NAS clients, products' internet service, internet passwords,
sessions with their disconnect button and the Disconnect outbox; and FreeRADIUS's own endpoints
(/aaa/v1/radius/) without a FreeRADIUS in front (the end-to-end tests are in tripleplay/radius/tests)."""

from __future__ import annotations

import base64
import json

import pytest
from django.test import Client

from tripleplay.api.tests.conftest import SYSTEM, error_of, snapshot
from tripleplay.customers import services as customer_services
from tripleplay.iptv import secrets
from tripleplay.radius import services
from tripleplay.radius.models import CommandStatus, InternetLogin, NasClient, NasCommand, NetworkSession

NAS = {"name": "bras-1", "address": "192.0.2.10", "secret": "very-secret", "vendor": "huawei"}


def test_admin_configures_a_nas_whose_secret_is_stored_encrypted_and_never_returned(admin):
    r = admin.post("/radius/nas", NAS)
    assert r.status_code == 201, r.content
    body = r.json()
    assert {k: body[k] for k in ("name", "address", "vendor", "coa_port", "timeout_seconds", "enabled", "has_secret")} == {
        "name": "bras-1", "address": "192.0.2.10", "vendor": "huawei", "coa_port": 3799, "timeout_seconds": 3.0,
        "enabled": True, "has_secret": True}
    assert "very-secret" not in r.content.decode()
    nas = NasClient.objects.get()
    assert nas.secret_encrypted != "very-secret" and secrets.decrypt(nas.secret_encrypted) == "very-secret"
    r = admin.patch(f"/radius/nas/{nas.pk}", {"vendor": "mikrotik", "coa_port": 1700})
    assert (r.status_code, r.json()["vendor"], r.json()["coa_port"]) == (200, "mikrotik", 1700)
    assert r.json()["session_source"] == ""
    r = admin.patch(f"/radius/nas/{nas.pk}", {"session_source": "sim+http://127.0.0.1:20401"})
    assert (r.status_code, r.json()["session_source"]) == (200, "sim+http://127.0.0.1:20401")
    assert admin.get("/radius/nas").json()["count"] == 1


@pytest.mark.parametrize("change, code, field", [
    ({"address": "not-an-ip"}, "invalid_input", "address"),
    ({"secret": "short"}, "invalid_input", "secret"),
    ({"vendor": "cisco"}, "invalid_input", None),
    ({"coa_port": 70000}, "invalid_input", None),
    ({"name": "Has Space"}, "invalid_input", "name"),
    ({"secret": "nul\u0000inside"}, "invalid_input", None),
    ({"session_source": "http://192.0.2.10:8080"}, "invalid_input", None),
    ({"session_source": "sim+http://host/with/path"}, "invalid_input", None),
])
def test_a_bad_nas_is_refused_and_nothing_is_written(admin, db_snapshot, change, code, field):
    before = db_snapshot()
    r = admin.post("/radius/nas", {**NAS, **change})
    assert r.status_code == 422, r.content
    assert error_of(r)["code"] == code
    if field:  # the edge's own check (its list of errors) or the service's (one field)
        details = error_of(r)["details"]
        assert field in {e["field"] for e in details.get("errors", [])} | {details.get("field")}
    assert snapshot() == before and not NasClient.objects.exists()


def test_a_duplicate_address_is_a_conflict(admin):
    assert admin.post("/radius/nas", NAS).status_code == 201
    r = admin.post("/radius/nas", {**NAS, "name": "bras-2"})
    assert (r.status_code, error_of(r)["code"], error_of(r)["details"]["field"]) == (409, "duplicate", "address")


def test_roles(support, finance):
    assert support.get("/radius/nas").status_code == 200
    assert support.post("/radius/nas", NAS).status_code == 403
    assert finance.post("/radius/nas", NAS).status_code == 403


def test_internet_service_and_password(admin, finance, api_catalog, customer):
    basic = api_catalog["basic"]
    body = {"download_kbps": 50_000, "upload_kbps": 10_000, "address_pool": "pool-a", "session_timeout_seconds": 3600,
            "idle_timeout_seconds": 300, "interim_interval_seconds": 600}
    r = admin.put(f"/products/{basic.pk}/internet-service", body)
    assert r.status_code == 200, r.content
    assert {k: r.json()[k] for k in body} == body
    assert admin.get(f"/products/{basic.pk}/internet-service").json()["download_kbps"] == 50_000
    r = admin.put(f"/products/{basic.pk}/internet-service", {**body, "interim_interval_seconds": 30})
    assert (r.status_code, error_of(r)["details"]["field"]) == (422, "interim_interval_seconds")

    account = customer_services.create_account(SYSTEM, customer, main_plan=api_catalog["basic_plan"], login="ada")
    r = finance.put(f"/accounts/{account.pk}/internet-password", {"password": "pa55word"})
    assert r.status_code == 200, r.content
    assert r.json() == {"account_id": account.pk, "username": "ada", "has_password": True, "last_auth_at": None,
                        "last_nas": None}
    assert secrets.decrypt(InternetLogin.objects.get().password_encrypted) == "pa55word"
    no_login = customer_services.create_account(SYSTEM, customer, main_plan=api_catalog["basic_plan"])
    r = finance.put(f"/accounts/{no_login.pk}/internet-password", {"password": "pa55word"})
    assert (r.status_code, error_of(r)["details"]["field"]) == (422, "login")


def _session(customer, account, nas, sid="s-1"):
    return services.record_accounting(nas, {"Acct-Status-Type": ["Start"], "Acct-Session-Id": [sid],
                                            "User-Name": [account.login], "Framed-IP-Address": ["10.0.0.9"]})


def test_disconnect_button_queues_one_command_and_an_ended_session_refuses(admin, finance, api_catalog, customer):
    nas = services.create_nas(SYSTEM, **NAS)
    account = customer_services.create_account(SYSTEM, customer, main_plan=api_catalog["basic_plan"], login="ada")
    _session(customer, account, nas)
    session = NetworkSession.objects.get()
    r = admin.get("/radius/sessions", {"customer_id": customer.pk, "status": "active"})
    assert [s["acct_session_id"] for s in r.json()["items"]] == ["s-1"]
    r = finance.post(f"/radius/sessions/{session.pk}/disconnect", {"reason": "asked by phone"})
    assert r.status_code == 202, r.content
    assert (r.json()["status"], r.json()["kind"], r.json()["nas_id"]) == ("pending", "disconnect", nas.pk)
    assert finance.post(f"/radius/sessions/{session.pk}/disconnect", {}).json()["id"] == r.json()["id"]
    assert NasCommand.objects.count() == 1
    r = finance.post(f"/radius/commands/{r.json()['id']}/retry")
    assert (r.status_code, error_of(r)["code"]) == (409, "nothing_to_retry")
    services.record_accounting(nas, {"Acct-Status-Type": ["Stop"], "Acct-Session-Id": ["s-1"], "User-Name": ["ada"]})
    r = finance.post(f"/radius/sessions/{session.pk}/disconnect", {})
    assert (r.status_code, error_of(r)["code"]) == (409, "session_ended")
    assert admin.get("/radius/commands", {"status": "pending"}).json()["count"] == 1


def test_a_status_change_enqueues_disconnects_in_the_same_transaction(api_catalog, customer):
    nas = services.create_nas(SYSTEM, **NAS)
    account = customer_services.create_account(SYSTEM, customer, main_plan=api_catalog["basic_plan"], login="ada")
    _session(customer, account, nas, "s-1")
    _session(customer, account, nas, "s-2")
    customer_services.change_account_status(SYSTEM, account, "blocked", reason="abuse")
    assert sorted(NasCommand.objects.values_list("session__acct_session_id", "status")) == [
        ("s-1", CommandStatus.PENDING), ("s-2", CommandStatus.PENDING)]
    customer_services.change_customer_status(SYSTEM, customer, "suspended", reason="overdue")
    assert NasCommand.objects.count() == 2  # already queued: asked once


# -- FreeRADIUS's endpoints ------------------------------------------------------------------------------

TOKEN = "aaa-unit-token"


def _aaa(path, body=None, *, token=TOKEN, nas="192.0.2.10", method="post"):
    headers = {"Authorization": "Basic " + base64.b64encode(f"freeradius:{token}".encode()).decode()} if token else {}
    client = Client()
    url = f"/aaa/v1/radius/{path}" + (f"?nas={nas}" if nas else "")
    if method == "get":
        return client.get(url, headers=headers)
    return client.post(url, data=json.dumps(body or {}), content_type="application/json", headers=headers)


def _rest(attrs: dict) -> dict:
    return {k: {"type": "string", "value": v if isinstance(v, list) else [v]} for k, v in attrs.items()}


def test_aaa_needs_its_token(db, settings):
    settings.TRIPLEPLAY_RADIUS_TOKEN = ""
    assert _aaa("authorize").status_code == 503
    settings.TRIPLEPLAY_RADIUS_TOKEN = TOKEN
    assert _aaa("authorize", token="wrong").status_code == 403
    assert _aaa("authorize", token=None).status_code == 403


def test_aaa_client_lookup_and_authorize(db, settings, api_catalog, prepaid):
    settings.TRIPLEPLAY_RADIUS_TOKEN = TOKEN
    nas = services.create_nas(SYSTEM, **NAS)
    r = _aaa("clients/192.0.2.10", method="get", nas=None)
    assert r.json()["control:FreeRADIUS-Client-Secret"] == {"op": ":=", "value": "very-secret", "do_xlat": False}
    assert _aaa("clients/192.0.2.99", method="get", nas=None).status_code == 404
    assert _aaa("authorize", _rest({"User-Name": "x"}), nas="192.0.2.99").status_code == 400  # not a NAS

    services.set_internet_service(SYSTEM, api_catalog["basic"], download_kbps=8000, upload_kbps=1000)
    account = customer_services.create_account(SYSTEM, prepaid, main_plan=api_catalog["basic_plan"], login="pete")
    services.set_internet_password(SYSTEM, account, "%{exec:rm}")
    r = _aaa("authorize", _rest({"User-Name": "pete"}))
    assert (r.status_code, r.json()) == (401, {"reply:Reply-Message": {
        "op": ":=", "value": "no_funds: no funds left; please top up", "do_xlat": False}})
    from tripleplay.ledger.services import record_payment
    from tripleplay.money import Money

    record_payment(SYSTEM, prepaid, Money(500, "USD"), idempotency_key="top-up")
    r = _aaa("authorize", _rest({"User-Name": "pete"}))
    assert r.status_code == 200
    assert {k: v["value"] for k, v in r.json().items()} == {
        "control:Cleartext-Password": "%{exec:rm}", "reply:Huawei-Input-Average-Rate": "1000000",
        "reply:Huawei-Output-Average-Rate": "8000000", "reply:Acct-Interim-Interval": "300"}
    assert all(v["do_xlat"] is False for v in r.json().values())  # nothing from the database is expanded
    assert _aaa("post-auth", _rest({"User-Name": "pete"})).status_code == 204
    login = InternetLogin.objects.get()
    assert login.last_nas == nas and login.last_auth_at is not None
    assert _aaa("accounting", _rest({"Acct-Status-Type": "Start"})).status_code == 400  # no session id
    assert _aaa("accounting", {"User-Name": {"value": ["a\u0000b"]}}).status_code == 400



def _values(response) -> dict:
    return {k: v["value"] for k, v in response.json().items()}


@pytest.mark.parametrize("check", [True, False])
def test_authorize_checks_a_pap_password_and_records_the_login_itself(db, settings, api_catalog, prepaid, check):
    """D240: a PAP Access-Request (its User-Password in the body) is decided by authorize alone: a wrong
    password is refused there, a right one recorded there and answered Auth-Type Accept, without the
    cleartext password; CHAP (and the switch off) keeps FreeRADIUS's check and post-auth."""
    from tripleplay.ledger.services import record_payment
    from tripleplay.money import Money

    settings.TRIPLEPLAY_RADIUS_TOKEN, settings.TRIPLEPLAY_RADIUS_PAP_CHECK = TOKEN, check
    nas = services.create_nas(SYSTEM, **NAS)
    services.set_internet_service(SYSTEM, api_catalog["basic"], download_kbps=8000, upload_kbps=1000)
    account = customer_services.create_account(SYSTEM, prepaid, main_plan=api_catalog["basic_plan"], login="pete")
    services.set_internet_password(SYSTEM, account, "pw-\u00e9%{x}")
    record_payment(SYSTEM, prepaid, Money(500, "USD"), idempotency_key="top-up")
    reply = {"reply:Huawei-Input-Average-Rate": "1000000", "reply:Huawei-Output-Average-Rate": "8000000",
             "reply:Acct-Interim-Interval": "300"}
    recorded = lambda: InternetLogin.objects.values_list("last_auth_at", "last_nas_id").get()  # noqa: E731

    wrong = _aaa("authorize", _rest({"User-Name": "pete", "User-Password": "pw-\u00e9%{y}"}))
    if check:
        assert (wrong.status_code, _values(wrong)) == (401, {"reply:Reply-Message": "wrong_password: wrong password"})
    else:
        assert (wrong.status_code, _values(wrong)) == (200, {"control:Cleartext-Password": "pw-\u00e9%{x}", **reply})
    assert recorded() == (None, None)  # a refusal (or a check still to come) is no login

    right = _aaa("authorize", _rest({"User-Name": "pete", "User-Password": "pw-\u00e9%{x}"}))
    assert right.status_code == 200
    if check:
        assert _values(right) == {"control:Auth-Type": "Accept", **reply}
        assert recorded()[1] == nas.pk and recorded()[0] is not None
    else:
        assert _values(right) == {"control:Cleartext-Password": "pw-\u00e9%{x}", **reply}
        assert recorded() == (None, None)

    InternetLogin.objects.update(last_auth_at=None, last_nas=None)
    chap = _aaa("authorize", _rest({"User-Name": "pete", "User-Password": "pw-\u00e9%{x}", "CHAP-Password": "0x01ab"}))
    assert (chap.status_code, _values(chap)) == (200, {"control:Cleartext-Password": "pw-\u00e9%{x}", **reply})
    assert recorded() == (None, None)  # FreeRADIUS checks it; post-auth records it
