"""A bounded hypothesis fuzz of what schemathesis does not reach: the platforms' XML endpoints
(POST /xml/v1/ppv, POST /xml/v1/catalog) and the lean PPV path (the four JSON calls as the WSGI
application answers them, tripleplay/api/ppv_wsgi.py in front of Django) (D98).

Every request goes through the production WSGI application (tripleplay.wsgi) in process, on the test
database. Whatever is sent (documents built from the protocol with hostile values, valid documents
mutated byte by byte, bytes, JSON of any shape, chunked or not), the answer is never a 5xx, always
in the endpoint's own shape (an XML answer valid against the published XSD, or the JSON answer or
error shape), and the money stays consistent (each customer's balance the sum of their entries, the
held amount the sum of their active holds). Bounded: TRIPLEPLAY_FUZZ_EXAMPLES_XML (default 40) examples
per test, fixed seed unless TRIPLEPLAY_FUZZ_RANDOM=1.
"""

from __future__ import annotations

import io
import json
import os

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from tripleplay.api import ppv_wsgi
from tripleplay.api.tests.test_ppv_api import ppv_world  # noqa: F401 - the fixture
from tripleplay.core.xml import XmlError, parse_valid
from tripleplay.iptv import xmlproto as iptv_xml
from tripleplay.ledger.models import Funds, Hold, HoldStatus, LedgerEntry
from tripleplay.ppv import xmlproto as ppv_xml
from tripleplay.wsgi import application

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("TRIPLEPLAY_FUZZ_EXAMPLES_XML", "40"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=os.environ.get("TRIPLEPLAY_FUZZ_RANDOM") != "1",
                database=None, suppress_health_check=list(HealthCheck))
PPV_JSON_CALLS = ("authorize", "confirm", "cancel", "purchase")
ANSWER_KEYS = {"result", "code", "message", "transaction_id", "authorization_id", "subscriber", "event_id",
               "amount_minor", "currency", "available_minor", "expires_at"}


@pytest.fixture
def w(ppv_world, monkeypatch):  # noqa: F811 - the fixture of test_ppv_api
    # As django.test.Client does: the test's transaction is not a stale connection to close.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    monkeypatch.setattr(ppv_wsgi, "connection_upkeep", lambda: None)
    try:
        yield ppv_world
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def call(path: str, body: bytes, *, token: str | None, content_type: str, chunked: bool = False,
         method: str = "POST") -> tuple[int, dict, bytes]:
    """One request through the WSGI application: (status, headers, body)."""
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "SCRIPT_NAME": "", "QUERY_STRING": "",
               "SERVER_NAME": "testserver", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
               "HTTP_HOST": "testserver", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
               "wsgi.errors": io.StringIO(), "wsgi.multithread": False, "wsgi.multiprocess": False,
               "wsgi.run_once": False, "wsgi.version": (1, 0), "CONTENT_TYPE": content_type}
    if chunked:
        environ["HTTP_TRANSFER_ENCODING"] = "chunked"
    else:
        environ["CONTENT_LENGTH"] = str(len(body))
    if token:
        environ["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    started = {}

    def start_response(status, headers, exc_info=None):
        started["status"], started["headers"] = int(status.split()[0]), dict(headers)

    chunks = application(environ, start_response)
    try:
        content = b"".join(chunks)
    finally:
        if hasattr(chunks, "close"):
            chunks.close()
    return started["status"], started["headers"], content


def catalog(platform) -> tuple[list, list]:
    return (list(platform.packages.order_by("id").values_list("external_id", "status", "name")),
            list(platform.ppv_events.order_by("id").values_list("external_id", "status", "price_minor")))


def money_is_consistent() -> None:
    """Each customer's balance is the sum of their entries, the held amount that of their active holds."""
    entries = dict(LedgerEntry.objects.values_list("customer_id").annotate(s=Sum("amount_minor")))
    held = dict(Hold.objects.filter(status=HoldStatus.ACTIVE).values_list("customer_id").annotate(s=Sum("amount_minor")))
    for customer_id, balance, held_minor in Funds.objects.values_list("customer_id", "balance_minor", "held_minor"):
        assert balance == entries.get(customer_id, 0), customer_id
        assert held_minor == held.get(customer_id, 0), customer_id


# -- strategies ---------------------------------------------------------------------------------------------

# Text as a hostile platform would send it: control characters, NUL, astral planes, markup, huge numbers.
hostile_text = st.one_of(
    st.text(max_size=120),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=0, max_size=300),
    st.sampled_from(["", " ", "0", "-1", "1e999", "9" * 40, "NaN", "<x/>", "&amp;", "]]>", "\x00", "\ud7ff",
                     "USD", "usd", "XXX", "tp-1", "fight", "movie"]),
    st.integers(min_value=-(2**80), max_value=2**80).map(str),
)


def _xml_value(value: str) -> str:
    """``value`` as XML character data: XML 1.0 cannot carry some characters at all (lxml refuses them)."""
    return "".join(c for c in value if c in "\t\n\r" or ("\x20" <= c <= "\ud7ff") or ("\ue000" <= c <= "\ufffd")
                   or c >= "\U00010000")


@st.composite
def ppv_documents(draw, w) -> bytes:
    """A ppvRequest (urn:tripleplay:ppv:1) built from the protocol with any values, sometimes mutated."""
    call_name = draw(st.sampled_from([*ppv_xml.CALLS, "refund", "authorise"]))
    version = draw(st.sampled_from(["1.0", "1.3", "2.0", "", "1"]))
    root = etree.Element(f"{{{ppv_xml.NS}}}ppvRequest", version=version)
    body = etree.SubElement(root, f"{{{ppv_xml.NS}}}{call_name}")
    wire_names = ["transactionId", "subscriber", "eventId", "priceMinor", "currency", "authorizationId",
                  "amountMinor", "reason", "extra"]
    known = {"subscriber": [w.sub, w.no_ppv_sub, w.other_sub], "eventId": ["fight", "movie", "other-fight"]}
    for name in draw(st.lists(st.sampled_from(wire_names), max_size=8)):
        value = draw(st.one_of(hostile_text, st.sampled_from(known.get(name, ["1", "500", "USD", "tx-1"]))))
        etree.SubElement(body, f"{{{ppv_xml.NS}}}{name}").text = _xml_value(value)
    document = etree.tostring(root, xml_declaration=draw(st.booleans()), encoding="UTF-8")
    mutation = draw(st.sampled_from(["none", "none", "truncate", "flip", "insert"]))
    if mutation == "truncate":
        document = document[: draw(st.integers(0, len(document)))]
    elif mutation == "flip":
        at = draw(st.integers(0, len(document) - 1))
        document = document[:at] + bytes([draw(st.integers(0, 255))]) + document[at + 1:]
    elif mutation == "insert":
        at = draw(st.integers(0, len(document)))
        document = document[:at] + draw(st.binary(max_size=40)) + document[at:]
    return document


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
              st.floats(allow_nan=False, allow_infinity=False), hostile_text),
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(hostile_text, children, max_size=4)),
    max_leaves=12,
)


@st.composite
def ppv_json_bodies(draw, w) -> bytes:
    """A body for the JSON PPV calls: the calls' own fields with any values, or any JSON, or bytes."""
    kind = draw(st.sampled_from(["fields", "fields", "json", "bytes"]))
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    if kind == "json":
        return json.dumps(draw(json_values)).encode()
    names = ["transaction_id", "subscriber", "event_id", "price_minor", "currency", "authorization_id", "amount_minor"]
    known = {"subscriber": st.sampled_from([w.sub, w.no_ppv_sub, w.other_sub]),
             "event_id": st.sampled_from(["fight", "movie", "other-fight"]),
             "transaction_id": st.sampled_from(["tx-1", "tx-2"]), "currency": st.sampled_from(["USD", "EUR", "usd"])}
    fields = {}
    for name in draw(st.lists(st.sampled_from(names), max_size=7, unique=True)):
        fields[name] = draw(st.one_of(json_values, known.get(name, st.integers(min_value=-(2**70), max_value=2**70))))
    text = json.dumps(fields)
    if draw(st.booleans()) and '"' in text:  # the same text with a number spelled otherwise
        text = text.replace(": 1", ": 1.0", 1).replace(": 2", ": 2e0", 1)
    return text.encode()


# -- the tests ----------------------------------------------------------------------------------------------


def _xml_answer_is_valid(content: bytes, xsd: str) -> None:
    try:
        parse_valid(content, xsd)
    except XmlError as e:  # pragma: no cover - the failure message is the point
        raise AssertionError(f"answer not valid against {xsd}: {e}\n{content[:500]!r}") from None


def test_xml_ppv_answers_every_document_in_its_schema(w):
    @FUZZ
    @given(document=ppv_documents(w), chunked=st.booleans(), token=st.sampled_from(["platform", "other", None]))
    def run(document, chunked, token):
        token = {"platform": w.token, "other": w.other_token, None: None}[token]
        status, headers, content = call(ppv_xml.ENDPOINT_PATH, document, token=token, chunked=chunked,
                                        content_type="application/xml")
        assert status < 500, (status, document, content)
        assert headers["Content-Type"] == ppv_xml.CONTENT_TYPE
        _xml_answer_is_valid(content, ppv_xml.XSD_PATH)
        money_is_consistent()

    run()


def test_xml_catalog_push_answers_every_document_in_its_schema(w):
    @FUZZ
    @given(document=st.one_of(st.binary(max_size=300), ppv_documents(w).map(
        lambda d: d.replace(ppv_xml.NS.encode(), iptv_xml.NS.encode()).replace(b"ppvRequest", b"catalog"))),
           chunked=st.booleans())
    def run(document, chunked):
        before = catalog(w.platform)
        status, headers, content = call("/xml/v1/catalog", document, token=w.token, chunked=chunked,
                                        content_type="application/xml")
        assert status < 500, (status, document, content)
        assert headers["Content-Type"].startswith("application/xml")
        _xml_answer_is_valid(content, iptv_xml.XSD_PATH)
        if status != 200:
            assert catalog(w.platform) == before
        money_is_consistent()

    run()


def test_json_ppv_calls_answer_every_body_in_their_shapes(w):
    @FUZZ
    @given(path=st.sampled_from(PPV_JSON_CALLS), body=ppv_json_bodies(w), chunked=st.booleans())
    def run(path, body, chunked):
        status, headers, content = call(f"/api/v1/ppv/{path}", body, token=w.token, chunked=chunked,
                                        content_type="application/json")
        assert status < 500, (status, body, content)
        assert headers["Content-Type"].startswith("application/json")
        answer = json.loads(content)
        if set(answer) == {"error"}:
            assert set(answer["error"]) == {"code", "message", "details"}, answer
            assert status in (400, 401, 404, 409, 413, 415, 422), (status, answer)
        else:
            assert set(answer) == ANSWER_KEYS, answer
            assert status in (200, 404, 409, 422), (status, answer)
            assert answer["result"] in ("approved", "declined", "confirmed", "cancelled", "error"), answer
        money_is_consistent()

    run()
