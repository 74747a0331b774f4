"""The lean WSGI path of the platforms' PPV calls (tripleplay/api/ppv_wsgi.py): it serves the
well-formed calls itself, with the answers, status and headers Django gives, and hands every other
request to Django untouched. (test_ppv_api.py and test_ppv_xml.py run whole through both paths.)"""

from __future__ import annotations

import io
import json

import pytest
from django.test import Client

from tripleplay.api import ppv_wsgi
from tripleplay.api.tests.fast_path_client import FastPathClient
from tripleplay.api.tests.test_ppv_api import ppv_world, state  # noqa: F401
from tripleplay.ppv.models import PpvPurchase
from tripleplay.ppv.xmlproto import build_request, parse_answer

pytestmark = pytest.mark.django_db


@pytest.fixture
def w(ppv_world):  # noqa: F811 - the fixture of test_ppv_api
    return ppv_world


@pytest.fixture
def no_connection_upkeep(monkeypatch):
    calls = []
    monkeypatch.setattr(ppv_wsgi, "connection_upkeep", lambda: calls.append(1))
    return calls


def _post(client, path, body: bytes, token, content_type="application/json", **extra):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return client.post(path, data=body, content_type=content_type, **headers, **extra)


def _json(**fields) -> bytes:
    return json.dumps(fields).encode()


def test_the_lean_path_serves_every_call_and_answers_as_django(w):
    FastPathClient.served = []
    fast, django = FastPathClient(), Client()
    answers = {}
    for name, client in (("fast", fast), ("django", django)):
        tx = f"{name}-1"
        a = _post(client, "/api/v1/ppv/authorize", _json(transaction_id=tx, subscriber=w.sub, event_id="movie"), w.token)
        c = _post(client, "/api/v1/ppv/confirm", _json(transaction_id=tx), w.token)
        again = _post(client, "/api/v1/ppv/confirm", _json(transaction_id=tx), w.token)
        x = _post(client, "/xml/v1/ppv", build_request("purchase", transaction_id=f"{name}-2", subscriber=w.sub,
                                                       event_id="movie"), w.token, content_type="application/xml")
        y = _post(client, "/api/v1/ppv/authorize", _json(transaction_id=f"{name}-3", subscriber=w.sub, event_id="movie"),
                  w.token)
        z = _post(client, "/api/v1/ppv/cancel", _json(transaction_id=f"{name}-3"), w.token)
        answers[name] = [(r.status_code, r["Content-Type"], r["X-Content-Type-Options"], r["X-Frame-Options"],
                          r["Referrer-Policy"], r["Cross-Origin-Opener-Policy"]) for r in (a, c, again, x, y, z)]
        bodies = [r.json() for r in (a, c, again, y, z)] + [parse_answer(x.content)]
        answers[name + "-codes"] = [(b["result"], b["code"], b["amount_minor"]) for b in bodies]
    assert FastPathClient.served == ["/api/v1/ppv/authorize", "/api/v1/ppv/confirm", "/api/v1/ppv/confirm",
                                     "/xml/v1/ppv", "/api/v1/ppv/authorize", "/api/v1/ppv/cancel"]
    assert answers["fast"] == answers["django"]
    assert answers["fast"][0] == (200, "application/json; charset=utf-8", "nosniff", "DENY", "same-origin",
                                  "same-origin")
    assert answers["fast-codes"] == answers["django-codes"] == [
        ("approved", "ok", 500), ("confirmed", "ok", 500), ("confirmed", "ok", 500), ("approved", "ok", 500),
        ("cancelled", "ok", 500), ("confirmed", "ok", 500)]
    assert PpvPurchase.objects.filter(transaction_id__startswith="fast-").count() == 3


def _environ(path="/api/v1/ppv/authorize", body=b"{}", *, method="POST", token=None, content_type="application/json",
             host="127.0.0.1:8000", length=None) -> dict:
    env = {"REQUEST_METHOD": method, "PATH_INFO": path, "SCRIPT_NAME": "", "QUERY_STRING": "", "HTTP_HOST": host,
           "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "CONTENT_TYPE": content_type,
           "CONTENT_LENGTH": str(len(body) if length is None else length), "wsgi.input": io.BytesIO(body),
           "wsgi.url_scheme": "http"}
    if token:
        env["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return env


@pytest.mark.parametrize("case", ["get", "other_path", "no_token", "bad_token", "basic_auth", "bad_host", "not_json",
                                  "invalid_json", "nan", "unknown_field", "wrong_type", "too_long", "empty",
                                  "too_large", "xml_media_type", "xml_not_xml"])
def test_everything_else_is_handed_to_django_untouched(w, no_connection_upkeep, case):
    good = _json(transaction_id="h-1", subscriber=w.sub, event_id="fight")
    env = {
        "get": lambda: _environ(method="GET", body=good, token=w.token),
        "other_path": lambda: _environ("/api/v1/ppv/purchases", good, token=w.token),
        "no_token": lambda: _environ(body=good),
        "bad_token": lambda: _environ(body=good, token="tpp_nope"),
        "basic_auth": lambda: {**_environ(body=good), "HTTP_AUTHORIZATION": f"Basic {w.token}"},
        "bad_host": lambda: _environ(body=good, token=w.token, host="evil.example.com"),
        "not_json": lambda: _environ(body=good, token=w.token, content_type="text/plain"),
        "invalid_json": lambda: _environ(body=b'{"transaction_id": ', token=w.token),
        "nan": lambda: _environ(body=b'{"transaction_id": "h-1", "subscriber": "x", "price_minor": NaN}', token=w.token),
        "unknown_field": lambda: _environ(body=_json(transaction_id="h", subscriber=w.sub, event_id="fight", x=1),
                                          token=w.token),
        "wrong_type": lambda: _environ(body=_json(transaction_id="h", subscriber=w.sub, price_minor="100"),
                                       token=w.token),
        "too_long": lambda: _environ(body=_json(transaction_id="h" * 101, subscriber=w.sub, event_id="fight"),
                                     token=w.token),
        "empty": lambda: _environ(body=b"", token=w.token),
        "too_large": lambda: _environ(body=good, token=w.token, length=2 * 1024 * 1024),
        "xml_media_type": lambda: _environ("/xml/v1/ppv", build_request("cancel", transaction_id="x"), token=w.token,
                                           content_type="application/json"),
        "xml_not_xml": lambda: _environ("/xml/v1/ppv", b"", token=w.token, content_type="application/xml"),
    }[case]()
    before = state()
    body_before = env["wsgi.input"].getvalue()
    assert ppv_wsgi.handle(env) is None
    assert state() == before
    if case != "too_large":  # Django reads the same body the client sent
        assert env["wsgi.input"].read() == body_before


def test_the_wsgi_application_serves_ppv_itself_and_the_rest_through_django(w, no_connection_upkeep):
    calls = []

    def django_app(environ, start_response):
        calls.append(environ["PATH_INFO"])
        start_response("204 No Content", [])
        return [b""]

    app = ppv_wsgi.PpvFastPath(django_app)
    seen = {}

    def start_response(status, headers):
        seen["status"], seen["headers"] = status, dict(headers)

    body = app(_environ(body=_json(transaction_id="wsgi-1", subscriber=w.sub, event_id="fight"), token=w.token),
               start_response)
    answer = json.loads(b"".join(body))
    assert (seen["status"], answer["result"], answer["amount_minor"]) == ("200 OK", "approved", 1999)
    assert seen["headers"]["Content-Length"] == str(len(b"".join(body)))
    assert calls == []
    assert no_connection_upkeep == [1, 1]  # before and after the call, as Django's request signals
    app(_environ("/healthz", method="GET"), start_response)
    app(_environ(body=b"{", token=w.token), start_response)
    assert calls == ["/healthz", "/api/v1/ppv/authorize"]


HTTPS_SETTINGS = dict(SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"), SECURE_SSL_REDIRECT=True,
                      SECURE_HSTS_SECONDS=3600, SECURE_HSTS_INCLUDE_SUBDOMAINS=True, SECURE_HSTS_PRELOAD=False)


def test_behind_an_https_proxy_the_lean_path_answers_as_djangos_security_middleware(w, settings):
    """TRIPLEPLAY_HTTPS: a call the proxy marks as HTTPS is served with Django's HSTS header; a plain
    HTTP one goes to Django, which redirects it, with either client."""
    for name, value in HTTPS_SETTINGS.items():
        setattr(settings, name, value)
    results = {}
    for name, client in (("fast", FastPathClient()), ("django", Client())):
        FastPathClient.served = []
        secure = _post(client, "/api/v1/ppv/authorize", _json(transaction_id=f"{name}-s", subscriber=w.sub,
                                                              event_id="movie"), w.token, HTTP_X_FORWARDED_PROTO="https")
        plain = _post(client, "/api/v1/ppv/authorize", _json(transaction_id=f"{name}-p", subscriber=w.sub,
                                                             event_id="movie"), w.token)
        results[name] = (secure.status_code, secure.get("Strict-Transport-Security"), plain.status_code,
                         plain.get("Location"), plain.get("Strict-Transport-Security"))
        if name == "fast":
            assert FastPathClient.served == ["/api/v1/ppv/authorize"]  # the plain one went to Django
    assert results["fast"] == results["django"] == (
        200, "max-age=3600; includeSubDomains", 301, "https://testserver/api/v1/ppv/authorize", None)
    assert sorted(PpvPurchase.objects.values_list("transaction_id", flat=True)) == ["django-s", "fast-s"]
