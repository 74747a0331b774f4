"""POST /xml/v1/ppv: the XML twin of the platforms' PPV calls (protocol urn:tripleplay:ppv:1).
Business answers are the JSON ones in XML; bad, malicious or unauthenticated documents change nothing."""

from __future__ import annotations

import base64
import time

import pytest
from django.test import Client
from lxml import etree

from tripleplay.api.tests.test_ppv_api import EXPIRES, funds, ppv_world, state  # noqa: F401
from tripleplay.core.xml import XmlError, parse_valid
from tripleplay.ledger.models import Hold, LedgerEntry
from tripleplay.ppv import xmlproto
from tripleplay.ppv.models import PpvPurchase
from tripleplay.ppv.xmlproto import NS, build_answer, build_error, build_request, parse_answer, parse_request

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ppv_request_path")]


@pytest.fixture
def w(ppv_world):  # noqa: F811 - the fixture of test_ppv_api
    return ppv_world

URL = "/xml/v1/ppv"
ANSWER_KEYS = {"result", "code", "message", "transaction_id", "authorization_id", "subscriber", "event_id",
               "amount_minor", "currency", "available_minor", "expires_at"}


def send(body: bytes, token: str | None = None, *, content_type="application/xml", auth: str | None = None):
    headers = {}
    if token:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    if auth:
        headers["HTTP_AUTHORIZATION"] = auth
    return Client().post(URL, data=body, content_type=content_type, **headers)


def call(w, call_name: str, *, token: str | None = None, **fields):
    r = send(build_request(call_name, **fields), token or w.token)
    assert r["Content-Type"] == "application/xml; charset=utf-8"
    parse_valid(r.content, xmlproto.XSD_PATH)  # every answer is valid against the published schema
    return r.status_code, parse_answer(r.content)


def xml_error(r) -> tuple[str, str]:
    parse_valid(r.content, xmlproto.XSD_PATH)
    root = etree.fromstring(r.content)
    assert (root.tag, root.get("version")) == (f"{{{NS}}}ppvResponse", "1.0")
    err = root.find(f"{{{NS}}}error")
    assert err is not None, r.content
    return err.get("code"), err.findtext(f"{{{NS}}}message")


# -- the protocol module ---------------------------------------------------------------------------------------


def test_request_round_trip():
    data = build_request("authorize", transaction_id="tx-1", subscriber="tp-7", event_id="fight", price_minor=1999,
                         currency="USD")
    assert data.startswith(b"<?xml") and b'xmlns="urn:tripleplay:ppv:1"' in data and b'version="1.0"' in data
    assert b"<transactionId>tx-1</transactionId>" in data and b"<priceMinor>1999</priceMinor>" in data
    assert parse_request(data) == ("authorize", {"transaction_id": "tx-1", "subscriber": "tp-7", "event_id": "fight",
                                                 "price_minor": 1999, "currency": "USD"})
    assert parse_request(build_request("purchase", transaction_id="tx-2", subscriber="tp-7", price_minor=0)) == (
        "purchase", {"transaction_id": "tx-2", "subscriber": "tp-7", "event_id": None, "price_minor": 0,
                     "currency": None})
    assert parse_request(build_request("confirm", authorization_id=12, amount_minor=100)) == (
        "confirm", {"transaction_id": None, "authorization_id": 12, "amount_minor": 100})
    assert parse_request(build_request("cancel", transaction_id="tx-1")) == (
        "cancel", {"transaction_id": "tx-1", "authorization_id": None})
    # White space around values (pretty-printed documents) is not part of them.
    pretty = (b'<ppvRequest xmlns="urn:tripleplay:ppv:1" version="1.3">\n  <cancel>\n    <transactionId>\n'
              b'      tx 1\n    </transactionId>\n  </cancel>\n</ppvRequest>')
    assert parse_request(pretty) == ("cancel", {"transaction_id": "tx 1", "authorization_id": None})


@pytest.mark.parametrize("args, error", [
    (("refund",), ValueError),
    (("authorize",), XmlError),  # transactionId and subscriber are required
    (("cancel",), XmlError),
    (("confirm",), XmlError),
    (("confirm", {"transaction_id": "a", "authorization_id": 1}), XmlError),  # one or the other
    (("authorize", {"transaction_id": "a", "subscriber": "b", "amount_minor": 1}), ValueError),
    (("authorize", {"transaction_id": "a", "subscriber": "b", "price_minor": -1}), XmlError),
    (("authorize", {"transaction_id": "a", "subscriber": "b", "price_minor": True}), ValueError),
    (("authorize", {"transaction_id": "a", "subscriber": "b", "currency": "usd"}), XmlError),
    (("authorize", {"transaction_id": "x" * 101, "subscriber": "b"}), XmlError),
])
def test_build_request_refuses_what_the_schema_refuses(args, error):
    name, fields = args[0], (args[1] if len(args) > 1 else {})
    with pytest.raises(error):
        build_request(name, **fields)


def test_answers_round_trip():
    full = {"result": "approved", "code": "ok", "message": "approved: funds held", "transaction_id": "tx-1",
            "authorization_id": 42, "subscriber": "tp-7", "event_id": "fight", "amount_minor": 1999,
            "currency": "USD", "available_minor": -250, "expires_at": EXPIRES}
    assert parse_answer(build_answer(full)) == full
    sparse = {"result": "error", "code": "unknown_authorization", "message": "no such authorization",
              "transaction_id": None, "authorization_id": 99, "subscriber": None, "event_id": None,
              "amount_minor": None, "currency": None, "available_minor": None, "expires_at": None}
    assert parse_answer(build_answer(sparse)) == sparse
    assert parse_answer(build_error("AUTHENTICATION_FAILED", "no token")) == {
        **{k: None for k in ANSWER_KEYS}, "result": "error", "code": "AUTHENTICATION_FAILED", "message": "no token"}
    with pytest.raises(XmlError):
        parse_answer(build_request("cancel", transaction_id="tx-1"))
    assert (xmlproto.ENDPOINT_PATH, xmlproto.NS) == (URL, "urn:tripleplay:ppv:1")
    assert xmlproto.CONTENT_TYPE.startswith("application/xml")


# -- the endpoint: business calls ------------------------------------------------------------------------------


def test_authorize_confirm_and_retries_over_xml(w):
    entries = LedgerEntry.objects.count()
    status, approved = call(w, "authorize", transaction_id="x-1", subscriber=w.sub, event_id="fight")
    p = PpvPurchase.objects.get()
    assert (status, approved) == (200, {
        "result": "approved", "code": "ok", "message": approved["message"], "transaction_id": "x-1",
        "authorization_id": p.pk, "subscriber": w.sub, "event_id": "fight", "amount_minor": 1999, "currency": "USD",
        "available_minor": 3001, "expires_at": EXPIRES})
    assert funds(w.customer) == (5000, 1999)
    before = state()
    r1 = send(build_request("authorize", transaction_id="x-1", subscriber=w.sub, event_id="fight"), w.token)
    r2 = send(build_request("authorize", transaction_id="x-1", subscriber=w.sub, event_id="fight"), w.token)
    assert r1.content == r2.content and parse_answer(r1.content) == approved
    assert state() == before

    status, confirmed = call(w, "confirm", authorization_id=p.pk)
    assert (status, confirmed["result"], confirmed["amount_minor"], confirmed["available_minor"]) == (
        200, "confirmed", 1999, 3001)
    assert funds(w.customer) == (3001, 0) and LedgerEntry.objects.count() == entries + 1
    before = state()
    assert call(w, "confirm", transaction_id="x-1") == (200, confirmed)
    assert call(w, "cancel", transaction_id="x-1")[1]["code"] == "already_confirmed"
    assert call(w, "cancel", transaction_id="x-1")[0] == 409
    assert state() == before


def test_decline_cancel_and_purchase_over_xml(w):
    status, declined = call(w, "authorize", transaction_id="x-big", subscriber=w.sub, price_minor=5001)
    assert (status, declined["result"], declined["code"], declined["available_minor"]) == (
        200, "declined", "insufficient_funds", 5000)
    assert declined["expires_at"] is None and Hold.objects.count() == 0

    status, approved = call(w, "authorize", transaction_id="x-c", subscriber=w.sub, event_id="movie")
    assert (approved["available_minor"], funds(w.customer)) == (4500, (5000, 500))
    status, cancelled = call(w, "cancel", authorization_id=approved["authorization_id"])
    assert (status, cancelled["result"], cancelled["available_minor"]) == (200, "cancelled", 5000)
    assert funds(w.customer) == (5000, 0)
    assert call(w, "confirm", transaction_id="x-c") == (409, {**cancelled, "result": "error",
                                                              "code": "authorization_cancelled",
                                                              "message": "the authorization was cancelled",
                                                              "available_minor": None})

    basic = "Basic " + base64.b64encode(f"ppv-tv:{w.token}".encode()).decode()
    r = send(build_request("purchase", transaction_id="x-p", subscriber=w.sub, event_id="fight", price_minor=1999,
                           currency="USD"), auth=basic)
    assert r.status_code == 200, r.content
    bought = parse_answer(r.content)
    assert (bought["result"], bought["amount_minor"], bought["available_minor"]) == ("confirmed", 1999, 3001)
    assert funds(w.customer) == (3001, 0)
    before = state()
    r = send(build_request("purchase", transaction_id="x-p", subscriber=w.sub, event_id="fight", price_minor=1999,
                           currency="USD"), auth=basic)
    assert parse_answer(r.content) == bought
    assert state() == before


def test_xml_and_json_give_the_same_answers(w):
    from tripleplay.api.tests.conftest import Api

    json_api = Api(w.token)
    by_json = json_api.post("/ppv/authorize", {"transaction_id": "j-1", "subscriber": w.sub, "event_id": "movie"})
    status, by_xml = call(w, "authorize", transaction_id="j-1", subscriber=w.sub, event_id="movie")
    assert (status, by_xml) == (by_json.status_code, by_json.json())  # the XML retry of a JSON call
    r = json_api.post("/ppv/confirm", {"transaction_id": "nope"})
    assert call(w, "confirm", transaction_id="nope") == (r.status_code, r.json()) == (404, r.json())


def test_a_platform_cannot_touch_another_platforms_subscriber_or_authorization_over_xml(w):
    status, a = call(w, "authorize", transaction_id="x-o", subscriber=w.other_sub, event_id="fight")
    assert (status, a["result"], a["code"]) == (200, "declined", "unknown_subscriber")
    assert funds(w.other_customer) == (5000, 0)
    status, theirs = call(w, "authorize", token=w.other_token, transaction_id="x-o", subscriber=w.other_sub,
                          event_id="other-fight")
    assert theirs["result"] == "approved"
    before = state()
    for name, fields in (("confirm", {"authorization_id": theirs["authorization_id"]}),
                         ("cancel", {"authorization_id": theirs["authorization_id"]})):
        status, a = call(w, name, **fields)
        assert (status, a["result"], a["code"]) == (404, "error", "unknown_authorization")
    assert state() == before


# -- the endpoint: refused requests ----------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["none", "bad", "api_client", "basic_wrong_code", "basic_garbage", "other_scheme"])
def test_unauthenticated_requests_change_nothing(w, admin, who):
    auth = {"none": None, "bad": "Bearer tpp_not-a-real-token", "api_client": f"Bearer {admin.token}",
            "basic_wrong_code": "Basic " + base64.b64encode(f"other-tv:{w.token}".encode()).decode(),
            "basic_garbage": "Basic !!!", "other_scheme": f"Token {w.token}"}[who]
    before = state()
    for data in (build_request("authorize", transaction_id="u-1", subscriber=w.sub, event_id="fight"),
                 build_request("purchase", transaction_id="u-2", subscriber=w.sub, event_id="fight")):
        r = send(data, auth=auth)
        assert r.status_code == 401
        assert xml_error(r)[0] == "AUTHENTICATION_FAILED"
        assert "Bearer" in r["WWW-Authenticate"]
    assert state() == before


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
<!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
<!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
<!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
<!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">]>
<ppvRequest xmlns="urn:tripleplay:ppv:1" version="1.0"><authorize><transactionId>&lol9;</transactionId>
<subscriber>SUB</subscriber><eventId>fight</eventId></authorize></ppvRequest>"""
XXE = b"""<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<ppvRequest xmlns="urn:tripleplay:ppv:1" version="1.0"><authorize><transactionId>x-1</transactionId>
<subscriber>&x;</subscriber><eventId>fight</eventId></authorize></ppvRequest>"""
XXE_NO_DOCTYPE = b"""<ppvRequest xmlns="urn:tripleplay:ppv:1" version="1.0"><authorize>
<transactionId>x-1</transactionId><subscriber>&x;</subscriber><eventId>fight</eventId></authorize></ppvRequest>"""
XINCLUDE = b"""<ppvRequest xmlns="urn:tripleplay:ppv:1" version="1.0"><authorize><transactionId>x-1</transactionId>
<subscriber><xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="file:///etc/passwd" parse="text"/></subscriber>
<eventId>fight</eventId></authorize></ppvRequest>"""


def _doc(body: str, ns: str = NS, version: str = "1.0") -> bytes:
    return f'<ppvRequest xmlns="{ns}" version="{version}">{body}</ppvRequest>'.encode()


AUTHORIZE = "<authorize><transactionId>x-1</transactionId><subscriber>SUB</subscriber>{}</authorize>"


@pytest.mark.parametrize("body, status, code, detail", [
    (BILLION_LAUGHS, 400, "INVALID_REQUEST", "xml_dtd_forbidden"),
    (XXE, 400, "INVALID_REQUEST", "xml_dtd_forbidden"),
    (XXE_NO_DOCTYPE, 400, "INVALID_REQUEST", "invalid_xml"),
    (XINCLUDE, 400, "INVALID_REQUEST", "xml_schema_violation"),
    (b"<ppvRequest xmlns='urn:tripleplay:ppv:1' version='1.0'><authorize>", 400, "INVALID_REQUEST", "invalid_xml"),
    (b"not xml at all", 400, "INVALID_REQUEST", "invalid_xml"),
    (b"   ", 400, "INVALID_REQUEST", "invalid_xml"),
    (b"<other/>", 400, "INVALID_REQUEST", "xml_schema_violation"),
    (_doc(AUTHORIZE.format("<eventId>fight</eventId>"), ns="urn:tripleplay:ppv:2"), 400, "UNSUPPORTED_VERSION",
     "urn:tripleplay:ppv:2"),
    (_doc(AUTHORIZE.format("<eventId>fight</eventId>"), ns="urn:tripleplay:iptv:1"), 400, "INVALID_REQUEST",
     "xml_schema_violation"),
    (_doc(AUTHORIZE.format("<eventId>fight</eventId>"), version="2.0"), 400, "UNSUPPORTED_VERSION", "2.0"),
    (_doc(AUTHORIZE.format("<eventId>fight</eventId>"), version="one"), 400, "UNSUPPORTED_VERSION", "one"),
    (_doc(AUTHORIZE.format("<eventId>fight</eventId>")).replace(b' version="1.0"', b""), 400, "INVALID_REQUEST",
     "xml_schema_violation"),
    (_doc(AUTHORIZE.format("<priceMinor>19.99</priceMinor>")), 400, "INVALID_REQUEST", "xml_schema_violation"),
    (_doc(AUTHORIZE.format("<priceMinor>-1</priceMinor>")), 400, "INVALID_REQUEST", "xml_schema_violation"),
    (_doc(AUTHORIZE.format("<priceMinor>1e3</priceMinor>")), 400, "INVALID_REQUEST", "xml_schema_violation"),
    (_doc(AUTHORIZE.format("<priceMinor>1999</priceMinor><currency>usd</currency>")), 400, "INVALID_REQUEST",
     "xml_schema_violation"),
    (_doc(AUTHORIZE.format("<eventId>fight</eventId><discount>1</discount>")), 400, "INVALID_REQUEST",
     "xml_schema_violation"),
    (_doc("<authorize><subscriber>SUB</subscriber><eventId>fight</eventId></authorize>"), 400, "INVALID_REQUEST",
     "xml_schema_violation"),
    (_doc("<authorize><transactionId> </transactionId><subscriber>SUB</subscriber><eventId>fight</eventId>"
          "</authorize>"), 400, "INVALID_REQUEST", "xml_schema_violation"),
    (_doc(AUTHORIZE.format("<eventId>fight</eventId>") * 2), 400, "INVALID_REQUEST", "xml_schema_violation"),
    (_doc(""), 400, "INVALID_REQUEST", "xml_schema_violation"),
    (_doc("<confirm><transactionId>x-ok</transactionId><authorizationId>1</authorizationId></confirm>"), 400,
     "INVALID_REQUEST", "xml_schema_violation"),
    (_doc("<confirm><transactionId>x-ok</transactionId><amountMinor>10.5</amountMinor></confirm>"), 400,
     "INVALID_REQUEST", "xml_schema_violation"),
    (_doc("<cancel><authorizationId>abc</authorizationId></cancel>"), 400, "INVALID_REQUEST", "xml_schema_violation"),
    (_doc("<cancel/>"), 400, "INVALID_REQUEST", "xml_schema_violation"),
    (_doc(AUTHORIZE.format("")), 422, "INVALID_REQUEST", "invalid_input"),  # neither an event nor a price
    (_doc("<authorize><transactionId>x\u00a0\u200bz</transactionId><subscriber>SUB</subscriber>"
          "<priceMinor>1</priceMinor></authorize>"), 422, "INVALID_REQUEST", "invalid_input"),  # not printable
    (_doc(AUTHORIZE.format("<eventId>fight</eventId>" + "<!--" + "x" * (64 * 1024) + "-->")), 413, "TOO_LARGE",
     "too_large"),
])
def test_bad_and_malicious_documents_change_nothing(w, body, status, code, detail):
    assert send(build_request("authorize", transaction_id="x-ok", subscriber=w.sub, event_id="movie"),
                w.token).status_code == 200
    before = state()
    started = time.monotonic()
    r = send(body.replace(b"SUB", w.sub.encode()), w.token)
    assert time.monotonic() - started < 1.0  # refused quickly, never expanded
    assert r.status_code == status, r.content
    got_code, message = xml_error(r)
    assert (got_code, detail in message) == (code, True), message
    assert b"root:" not in r.content  # /etc/passwd never leaks
    assert state() == before
    assert PpvPurchase.objects.count() == 1


def test_vendor_extensions_are_ignored(w):
    data = _doc(AUTHORIZE.format('<eventId>movie</eventId><v:note xmlns:v="urn:vendor">hi</v:note>')
                .replace("SUB", w.sub))
    r = send(data, w.token)
    assert r.status_code == 200 and parse_answer(r.content)["result"] == "approved"


def test_wrong_method_media_type_and_size(w):
    before = state()
    r = Client().get(URL, HTTP_AUTHORIZATION=f"Bearer {w.token}")
    assert (r.status_code, r["Allow"], xml_error(r)[0]) == (405, "POST", "INVALID_REQUEST")
    r = Client().put(URL, data=build_request("cancel", transaction_id="x"), content_type="application/xml",
                     HTTP_AUTHORIZATION=f"Bearer {w.token}")
    assert r.status_code == 405
    data = build_request("authorize", transaction_id="m-1", subscriber=w.sub, event_id="fight")
    for content_type in ("application/json", "text/plain", "application/x-www-form-urlencoded"):
        r = send(data, w.token, content_type=content_type)
        assert (r.status_code, xml_error(r)[0]) == (415, "UNSUPPORTED_MEDIA_TYPE"), content_type
    r = send(data, w.token, content_type="text/xml")  # the other XML media type is fine
    assert r.status_code == 200
    assert PpvPurchase.objects.count() == 1
    r = send(b"x" * (64 * 1024 + 1), w.token)
    assert (r.status_code, xml_error(r)[0]) == (413, "TOO_LARGE")
    assert state()["entries"] == before["entries"]


def test_internal_errors_answer_xml(w, monkeypatch):
    from tripleplay.api import xml as endpoints

    def boom(*args, **kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setitem(endpoints.PPV_CALLS, "authorize", boom)
    r = send(build_request("authorize", transaction_id="b-1", subscriber=w.sub, event_id="fight"), w.token)
    assert (r.status_code, xml_error(r)[0]) == (500, "INTERNAL_ERROR")
    assert b"fire" not in r.content
    root = etree.fromstring(r.content)
    assert root.find(f"{{{NS}}}error").get("transient") == "true"
