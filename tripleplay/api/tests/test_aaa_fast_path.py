"""The lean path of FreeRADIUS's rlm_rest calls (tripleplay/api/aaa_wsgi.py): the AAA endpoint tests of
test_radius_api.py run again through it, it answers what Django answers (status, body, security
headers), and it hands to Django what it does not serve."""

from __future__ import annotations

import base64
import importlib
import io
import json

import pytest
from django.http import HttpResponse
from django.test import Client, override_settings

from tripleplay.api import aaa_wsgi, ppv_wsgi
from tripleplay.api.tests import test_radius_api as base
from tripleplay.radius import services
from tripleplay.radius.models import InternetLogin, NetworkSession


class AaaFastPathClient(Client):
    """Every request through the lean AAA path first, and what it hands over through Django, as the
    WSGI application does in production."""

    served: list[str] = []

    def request(self, **request):
        environ = self._base_environ(**request)
        # As Django's test handler does: the test's transaction is not a stale connection to close.
        upkeep, ppv_wsgi.connection_upkeep = ppv_wsgi.connection_upkeep, lambda: None
        try:
            out = aaa_wsgi.handle(environ)
        finally:
            ppv_wsgi.connection_upkeep = upkeep
        if out is None:
            return super().request(**{**request, "wsgi.input": environ["wsgi.input"]})
        status, headers, body = out
        AaaFastPathClient.served.append(environ["PATH_INFO"])
        response = HttpResponse(body, status=status)
        for name, value in headers:
            response[name] = value
        response.json = lambda: json.loads(response.content)
        return response


@pytest.fixture
def lean(monkeypatch):
    AaaFastPathClient.served = []
    monkeypatch.setattr(base, "Client", AaaFastPathClient)
    return AaaFastPathClient.served


def test_the_token_checks_answer_alike_on_the_lean_path(lean, db, settings):
    base.test_aaa_needs_its_token(db, settings)
    assert lean == ["/aaa/v1/radius/authorize"] * 3


def test_client_lookup_authorize_post_auth_and_accounting_on_the_lean_path(lean, db, settings, api_catalog, prepaid):
    base.test_aaa_client_lookup_and_authorize(db, settings, api_catalog, prepaid)
    assert set(lean) == {"/aaa/v1/radius/clients/192.0.2.10", "/aaa/v1/radius/clients/192.0.2.99",
                         "/aaa/v1/radius/authorize", "/aaa/v1/radius/post-auth", "/aaa/v1/radius/accounting"}


def _call(client, path, body, headers):
    return client.post(path, data=json.dumps(body), content_type="application/json", headers=headers)


def test_answers_equal_djangos_status_body_and_security_headers(db, settings):
    settings.TRIPLEPLAY_RADIUS_TOKEN = base.TOKEN
    nas = services.create_nas(base.SYSTEM, **base.NAS)
    auth = {"Authorization": "Basic " + base64.b64encode(f"freeradius:{base.TOKEN}".encode()).decode()}
    start = base._rest({"Acct-Status-Type": "Start", "Acct-Session-Id": "s-9", "User-Name": "nobody"})
    calls = [("/aaa/v1/radius/authorize?nas=192.0.2.10", base._rest({"User-Name": "nobody"})),
             ("/aaa/v1/radius/authorize?nas=192.0.2.99", base._rest({"User-Name": "nobody"})),
             ("/aaa/v1/radius/post-auth/reject?nas=192.0.2.10", base._rest({"User-Name": "nobody"})),
             ("/aaa/v1/radius/accounting?nas=192.0.2.10", start),
             ("/aaa/v1/radius/accounting?nas=192.0.2.10", base._rest({"Acct-Status-Type": "Start"}))]
    AaaFastPathClient.served = []
    answers = {}
    for kind, client in (("django", Client()), ("lean", AaaFastPathClient())):
        answers[kind] = []
        for path, body in calls:
            r = _call(client, path, body, auth)
            answers[kind].append((r.status_code, r.content, r.get("Content-Type"), r.get("X-Frame-Options"),
                                  r.get("X-Content-Type-Options"), r.get("Referrer-Policy")))
    assert answers["lean"] == answers["django"]
    assert len(AaaFastPathClient.served) == len(calls)
    assert [s.acct_session_id for s in NetworkSession.objects.filter(nas=nas)] == ["s-9"]  # the repeat: no change
    assert answers["django"][0][0] == 401 and answers["django"][1][0] == 400 and answers["django"][3][0] == 204


def test_what_the_lean_path_does_not_serve_goes_to_django(db, settings):
    settings.TRIPLEPLAY_RADIUS_TOKEN = base.TOKEN

    def environ(**overrides):
        body = b"{}"
        env = {"REQUEST_METHOD": "POST", "PATH_INFO": "/aaa/v1/radius/authorize", "QUERY_STRING": "nas=192.0.2.10",
               "SERVER_NAME": "testserver", "SERVER_PORT": "80", "HTTP_HOST": "127.0.0.1", "wsgi.url_scheme": "http",
               "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body)}
        return {**env, **overrides}

    assert aaa_wsgi.handle(environ()) is not None  # served (a 400: no such NAS)
    assert aaa_wsgi.handle(environ(PATH_INFO="/aaa/v1/radius/other")) is None
    assert aaa_wsgi.handle(environ(PATH_INFO="/aaa/v1/radius/clients/a/b")) is None
    assert aaa_wsgi.handle(environ(REQUEST_METHOD="PUT")) is None
    assert aaa_wsgi.handle(environ(HTTP_HOST="evil.example")) is None  # Django answers 400
    assert aaa_wsgi.handle(environ(CONTENT_LENGTH=str(10 ** 7))) is None  # Django's own body limits
    assert aaa_wsgi.handle(environ(CONTENT_LENGTH="x")) is None
    assert aaa_wsgi.handle(environ(SCRIPT_NAME="/prefix")) is None
    with override_settings(SECURE_SSL_REDIRECT=True):
        assert aaa_wsgi.handle(environ()) is None  # Django redirects it to HTTPS


def test_post_auth_records_the_login_in_one_update(db, settings, api_catalog, prepaid, django_assert_num_queries):
    from tripleplay.customers import services as customer_services

    settings.TRIPLEPLAY_RADIUS_TOKEN = base.TOKEN
    nas = services.create_nas(base.SYSTEM, **base.NAS)
    account = customer_services.create_account(base.SYSTEM, prepaid, main_plan=api_catalog["basic_plan"], login="pete")
    services.set_internet_password(base.SYSTEM, account, "secret-pw")
    with django_assert_num_queries(2):  # the NAS, the UPDATE
        assert base._aaa("post-auth", base._rest({"User-Name": "pete"})).status_code == 204
    with django_assert_num_queries(2):  # a login without an internet password: nothing updated
        assert base._aaa("post-auth", base._rest({"User-Name": "nobody"})).status_code == 204
    login = InternetLogin.objects.get()
    assert (login.last_nas, login.last_auth_at is not None) == (nas, True)


def test_the_middleware_check_holds_the_lean_aaa_path_too():
    from tripleplay.api.checks import check_aaa_fast_path

    with override_settings(TRIPLEPLAY_PPV_FAST_PATH=False, TRIPLEPLAY_AAA_FAST_PATH=True, MIDDLEWARE=["example.Other"]):
        assert [e.id for e in check_aaa_fast_path()] == ["api.E001"]
    with override_settings(TRIPLEPLAY_PPV_FAST_PATH=False, TRIPLEPLAY_AAA_FAST_PATH=False, MIDDLEWARE=["example.Other"]):
        assert check_aaa_fast_path() == []


@pytest.mark.parametrize("on", [True, False])
def test_the_wsgi_application_follows_the_setting(on):
    from tripleplay import wsgi

    try:
        with override_settings(TRIPLEPLAY_AAA_FAST_PATH=on):
            importlib.reload(wsgi)
            chain, app = [], wsgi.application
            while hasattr(app, "app"):  # ChunkedBody (D96), PpvFastPath, then this path, then Django
                app = app.app
                chain.append(type(app).__name__)
            assert ("AaaFastPath" in chain) is on
    finally:
        importlib.reload(wsgi)


def test_a_pap_access_request_is_two_statements_in_one_call(db, settings, api_catalog, prepaid,
                                                             django_assert_num_queries):
    """D240 and D241: the NAS and the access in one SELECT, then the login's UPDATE; a refusal is the
    SELECT alone, and so is an unknown NAS (a 400)."""
    from tripleplay.customers import services as customer_services
    from tripleplay.ledger.services import record_payment
    from tripleplay.money import Money

    settings.TRIPLEPLAY_RADIUS_TOKEN = base.TOKEN
    services.create_nas(base.SYSTEM, **base.NAS)
    services.set_internet_service(base.SYSTEM, api_catalog["basic"], download_kbps=8000, upload_kbps=1000)
    account = customer_services.create_account(base.SYSTEM, prepaid, main_plan=api_catalog["basic_plan"], login="pete")
    services.set_internet_password(base.SYSTEM, account, "secret-pw")
    record_payment(base.SYSTEM, prepaid, Money(500, "USD"), idempotency_key="top-up")
    with django_assert_num_queries(2):
        r = base._aaa("authorize", base._rest({"User-Name": "pete", "User-Password": "secret-pw"}))
    assert (r.status_code, r.json()["control:Auth-Type"]["value"]) == (200, "Accept")
    with django_assert_num_queries(1):
        assert base._aaa("authorize", base._rest({"User-Name": "pete", "User-Password": "nope"})).status_code == 401
    with django_assert_num_queries(1):
        assert base._aaa("authorize", base._rest({"User-Name": "pete"}), nas="192.0.2.99").status_code == 400
    assert InternetLogin.objects.get().last_auth_at is not None
