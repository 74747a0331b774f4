"""SeaChange (modelled SOAP 1.1): the adapter and the simulator (a real process), with raw SOAP over
HTTP to pin the wire format, fault mapping and password masking in the recorded exchanges."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest
from lxml import etree

from tripleplay.core.xml import parse, to_bytes
from tripleplay.iptv.platforms.base import (
    AlreadyExists,
    PermanentError,
    PlatformConfig,
    SubscriberNotFound,
    SubscriberSpec,
    TransientError,
)
from tripleplay.iptv.platforms.seachange import (
    ENDPOINT_PATH,
    SM_NS,
    SOAP_NS,
    SeaChangeAdapter,
    envelope,
    fault_document,
    sm,
    soap,
    soap_action,
    sub,
    subscriber_element,
)
from tripleplay.simulators.testing import running_simulator

DOCS = Path(__file__).resolve().parents[3] / "docs" / "platforms" / "seachange.md"
PASSWORD = "Very-Private-Pw-47"  # noqa: S105 (a test credential)


@pytest.fixture(scope="module")
def sim():
    with running_simulator("seachange", password=PASSWORD) as s:
        yield s


@pytest.fixture
def fresh(sim):
    sim.reset()
    sim.set_faults()
    return sim


@pytest.fixture
def adapter(fresh):
    a = SeaChangeAdapter(PlatformConfig(base_url=fresh.url, username="tripleplay", secret=PASSWORD,
                                        timeout_seconds=3))
    yield a
    a.close()


@pytest.fixture
def raw(fresh):
    with httpx.Client(base_url=fresh.url, timeout=5) as client:
        yield client


def spec(sid="tp-1", enabled=True, packages=("basic",), **details) -> SubscriberSpec:
    return SubscriberSpec(subscriber_id=sid, enabled=enabled, packages=frozenset(packages), **details)


def create_envelope(sid="tp-1", *, password=PASSWORD, txid="tx-1", packages=("basic",)) -> bytes:
    op = etree.Element(sm("CreateSubscriber"), nsmap={"sm": SM_NS})
    op.append(subscriber_element(spec(sid, packages=packages)))
    env, _ = envelope(op, username="tripleplay", password=password, transaction_id=txid)
    return to_bytes(env)


def post(client, body: bytes, action: str | None = "CreateSubscriber", **headers) -> httpx.Response:
    headers = {"Content-Type": "text/xml; charset=utf-8", **headers}
    if action:
        headers["SOAPAction"] = soap_action(action)
    return client.post(ENDPOINT_PATH, content=body, headers=headers)


def fault_of(response: httpx.Response) -> tuple[str, str, str]:
    """(faultcode, ErrorCode, faultstring) of a SOAP fault answer."""
    fault = parse(response.content).find(f"{soap('Body')}/{soap('Fault')}")
    assert fault is not None, response.text
    return (fault.findtext("faultcode"), fault.findtext(f"detail/{sm('ServiceFault')}/{sm('ErrorCode')}"),
            fault.findtext("faultstring"))


def assert_nothing_applied(sim) -> None:
    state = sim.state()
    assert state["subscribers"] == {}
    assert state["stats"]["applied_writes"] == 0


# -- wire format ---------------------------------------------------------------------------------------------------


def test_create_over_raw_soap(raw, fresh):
    response = post(raw, create_envelope())
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/xml")
    root = parse(response.content)
    assert root.tag == soap("Envelope")
    answer = root.find(f"{soap('Body')}/{sm('CreateSubscriberResponse')}/{sm('Subscriber')}")
    assert answer.findtext(sm("Status")) == "Active"
    assert [p.text for p in answer.iter(sm("PackageId"))] == ["basic"]
    assert fresh.subscribers()["tp-1"]["packages"] == ["basic"]


def test_the_adapters_envelopes_are_soap_11_with_ws_security_and_masked_when_recorded(adapter, fresh):
    adapter.create_subscriber(spec(login="ada"), idempotency_key="tx-create")
    adapter.set_packages("tp-1", frozenset({"basic", "sports"}), idempotency_key="tx-pk")
    adapter.set_enabled("tp-1", False, idempotency_key="tx-off")
    assert adapter.get_subscriber("tp-1").packages == frozenset({"basic", "sports"})
    list(adapter.list_subscribers())
    adapter.list_packages()
    adapter.list_ppv_events()
    adapter.delete_subscriber("tp-1", idempotency_key="tx-del")
    actions = []
    for exchange in adapter.exchanges:
        assert PASSWORD not in str(exchange)
        root = parse(exchange["request"].encode())
        assert root.tag == soap("Envelope")
        token = root.find(f"{soap('Header')}/{{*}}Security/{{*}}UsernameToken")
        assert token.findtext("{*}Username") == "tripleplay"
        assert token.findtext("{*}Password") == "***"
        operation = etree.QName(root.find(soap("Body"))[0]).localname
        assert exchange["headers"]["SOAPAction"] == soap_action(operation)
        actions.append((operation, root.findtext(f"{soap('Header')}/{sm('TransactionId')}")))
    assert actions == [("CreateSubscriber", "tx-create"), ("UpdateSubscriberEntitlements", "tx-pk"),
                       ("SetSubscriberState", "tx-off"), ("GetSubscriber", None), ("ListSubscribers", None),
                       ("GetPackageList", None), ("GetPpvEventList", None), ("DeleteSubscriber", "tx-del")]


def test_the_password_is_masked_even_when_the_request_fails(fresh):
    a = SeaChangeAdapter(PlatformConfig(base_url=fresh.url, username="tripleplay", secret=PASSWORD,
                                        timeout_seconds=1))
    fresh.set_faults(drop_rate=1.0)
    with pytest.raises(TransientError):
        a.create_subscriber(spec(), idempotency_key="tx")
    assert a.exchanges and PASSWORD not in str(a.exchanges)
    assert "***" in a.exchanges[-1]["request"]
    a.close()


def test_every_xml_example_in_the_docs_is_well_formed():
    examples = re.findall(r"```xml\n(.*?)```", DOCS.read_text(), flags=re.S)
    assert len(examples) >= 8
    for example in examples:
        parse(example.replace("...", "").encode())


# -- refusals -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("body,error_code,needle", [
    (b"<soap:Envelope", "MALFORMED_XML", "invalid_xml"),
    (b"", "MALFORMED_XML", "invalid_xml"),
    (b"<Envelope><Body><CreateSubscriber/></Body></Envelope>", "INVALID_REQUEST", "not a SOAP 1.1 envelope"),
    (f'<soap:Envelope xmlns:soap="{SOAP_NS}"><soap:Header/></soap:Envelope>'.encode(), "INVALID_REQUEST",
     "soap:Body is missing"),
])
def test_simulator_refuses_malformed_requests_with_a_client_fault(raw, fresh, body, error_code, needle):
    response = post(raw, body)
    assert response.status_code == 500
    faultcode, code, message = fault_of(response)
    assert (faultcode, code) == ("soap:Client", error_code)
    assert needle in message
    assert_nothing_applied(fresh)


def test_simulator_refuses_billion_laughs_quickly(raw, fresh):
    entities = '<!ENTITY a "aaaaaaaaaa">' + "".join(
        f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9))
    body = create_envelope().decode().split("?>", 1)[1].replace("<sm:SubscriberId>tp-1", "<sm:SubscriberId>&j;")
    started = time.monotonic()
    response = post(raw, f'<?xml version="1.0"?><!DOCTYPE soap:Envelope [{entities}]>{body}'.encode())
    assert time.monotonic() - started < 1.0
    faultcode, code, message = fault_of(response)
    assert (faultcode, code) == ("soap:Client", "MALFORMED_XML")
    assert message.startswith("xml_dtd_forbidden")
    assert_nothing_applied(fresh)


def test_simulator_refuses_external_entities_and_leaks_nothing(raw, fresh):
    body = create_envelope().decode().split("?>", 1)[1].replace("<sm:SubscriberId>tp-1", "<sm:SubscriberId>&x;")
    response = post(raw, ('<?xml version="1.0"?><!DOCTYPE soap:Envelope [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                          + body).encode())
    assert fault_of(response)[1] == "MALFORMED_XML"
    assert "root:" not in response.text
    assert_nothing_applied(fresh)


@pytest.mark.parametrize("password", ["wrong", ""])
def test_simulator_refuses_wrong_credentials(raw, fresh, password):
    response = post(raw, create_envelope(password=password))
    assert response.status_code == 500
    assert fault_of(response)[:2] == ("wsse:FailedAuthentication", "AUTHENTICATION_FAILED")
    assert_nothing_applied(fresh)


def test_simulator_refuses_a_missing_security_header(raw, fresh):
    op = etree.Element(sm("GetPackageList"), nsmap={"sm": SM_NS})
    env, _ = envelope(op)
    response = post(raw, to_bytes(env), action="GetPackageList")
    assert fault_of(response)[:2] == ("wsse:FailedAuthentication", "AUTHENTICATION_FAILED")


@pytest.mark.parametrize("action,error_code", [(None, "SOAPACTION_MISMATCH"), ("DeleteSubscriber", "SOAPACTION_MISMATCH")])
def test_simulator_checks_the_soap_action(raw, fresh, action, error_code):
    response = post(raw, create_envelope(), action=action)
    assert fault_of(response)[:2] == ("soap:Client", error_code)
    assert_nothing_applied(fresh)


def test_simulator_refuses_unknown_operations_and_bad_values(raw, fresh):
    env, body = envelope(username="tripleplay", password=PASSWORD)
    sub(body, sm("FormatDisk"))
    assert fault_of(post(raw, to_bytes(env), action="FormatDisk"))[1] == "UNKNOWN_OPERATION"
    op = etree.Element(sm("SetSubscriberState"), nsmap={"sm": SM_NS})
    sub(op, sm("SubscriberId"), "tp-1")
    sub(op, sm("State"), "Frozen")
    env, _ = envelope(op, username="tripleplay", password=PASSWORD, transaction_id="t")
    faultcode, code, message = fault_of(post(raw, to_bytes(env), action="SetSubscriberState"))
    assert (faultcode, code) == ("soap:Client", "INVALID_REQUEST") and "Frozen" in message


def test_simulator_dedupes_writes_by_transaction_id(raw, fresh):
    first, again = post(raw, create_envelope(txid="same")), post(raw, create_envelope(txid="same"))
    assert first.status_code == again.status_code == 200 and first.content == again.content
    other = post(raw, create_envelope(txid="other"))
    assert fault_of(other)[1] == "SUBSCRIBER_EXISTS"
    assert fresh.state()["stats"]["duplicates"] == 1


def test_simulator_refuses_unknown_packages_without_change(raw, fresh):
    response = post(raw, create_envelope(packages=("basic", "nope")))
    assert fault_of(response)[:2] == ("soap:Client", "UNKNOWN_PACKAGE")
    assert fresh.subscribers() == {}


def test_injected_errors_are_server_faults(raw, fresh):
    fresh.set_faults(error_rate=1.0)
    response = post(raw, create_envelope())
    assert response.status_code == 503
    assert fault_of(response)[:2] == ("soap:Server", "SERVICE_UNAVAILABLE")


# -- adapter fault mapping ----------------------------------------------------------------------------------------


def mock_adapter(status: int, body: bytes) -> SeaChangeAdapter:
    config = PlatformConfig(base_url="http://seachange.test", username="u", secret="p")
    client = httpx.Client(base_url=config.base_url,
                          transport=httpx.MockTransport(lambda request: httpx.Response(status, content=body)))
    return SeaChangeAdapter(config, client=client)


@pytest.mark.parametrize("status,body,expected,code", [
    (500, fault_document("soap:Server", "database down", "INTERNAL_ERROR"), TransientError, "INTERNAL_ERROR"),
    (500, fault_document("soap:Server.Busy", "busy", ""), TransientError, "Server"),
    (500, fault_document("soap:Client", "bad", "UNKNOWN_PACKAGE"), PermanentError, "UNKNOWN_PACKAGE"),
    (500, fault_document("soap:Client", "exists", "SUBSCRIBER_EXISTS"), AlreadyExists, "SUBSCRIBER_EXISTS"),
    (500, fault_document("soap:Client", "missing", "SUBSCRIBER_NOT_FOUND"), SubscriberNotFound,
     "SUBSCRIBER_NOT_FOUND"),
    (500, fault_document("wsse:FailedAuthentication", "no", "AUTHENTICATION_FAILED"), PermanentError,
     "AUTHENTICATION_FAILED"),
    (200, fault_document("soap:Client", "fault with 200", "INVALID_REQUEST"), PermanentError, "INVALID_REQUEST"),
    (500, b"<html>Internal Server Error</html>", TransientError, ""),
    (502, fault_document("soap:Client", "from a proxy", "X"), TransientError, ""),
    (401, b"Unauthorized", PermanentError, "http_401"),
    (200, b"<not-soap/>", PermanentError, "invalid_response"),
    (200, to_bytes(envelope(etree.Element(sm("SomethingElseResponse")))[0]), PermanentError, "invalid_response"),
])
def test_adapter_maps_faults(status, body, expected, code):
    a = mock_adapter(status, body)
    with pytest.raises(expected) as err:
        a.create_subscriber(spec(), idempotency_key="k")
    assert type(err.value) is expected
    if code:
        assert err.value.code == code


def test_adapter_reads_missing_as_none_and_maps_errors_against_the_simulator(adapter):
    assert adapter.get_subscriber("nobody") is None
    adapter.create_subscriber(spec(), idempotency_key="a")
    with pytest.raises(AlreadyExists):
        adapter.create_subscriber(spec(), idempotency_key="b")
    with pytest.raises(SubscriberNotFound):
        adapter.set_packages("nobody", frozenset(), idempotency_key="c")
    with pytest.raises(PermanentError) as err:
        adapter.set_packages("tp-1", frozenset({"nope"}), idempotency_key="d")
    assert err.value.code == "UNKNOWN_PACKAGE" and not isinstance(err.value, TransientError)


def test_adapter_refuses_a_malformed_answer_payload():
    op = etree.Element(sm("GetPackageListResponse"), nsmap={"sm": SM_NS})
    package = sub(sub(op, sm("Packages")), sm("Package"))
    sub(package, sm("PackageId"), "p")
    sub(package, sm("Name"), "P")
    sub(package, sm("PackageType"), "Hologram")
    with pytest.raises(PermanentError) as err:
        mock_adapter(200, to_bytes(envelope(op)[0])).list_packages()
    assert err.value.code == "invalid_response"


def test_adapter_pages_through_subscribers(fresh):
    a = SeaChangeAdapter(PlatformConfig(base_url=fresh.url, username="tripleplay", secret=PASSWORD,
                                        options={"page_size": 2}))
    for i in range(5):
        fresh.put_subscriber(f"tp-{i}", enabled=bool(i % 2), packages=["basic"])
    states = list(a.list_subscribers())
    assert [s.subscriber_id for s in states] == [f"tp-{i}" for i in range(5)]
    assert [s.enabled for s in states] == [False, True, False, True, False]
    assert len(a.exchanges) == 3
    a.close()


def test_adapter_reads_packages_and_ppv_events(adapter, fresh):
    packages = {p.external_id: p for p in adapter.list_packages()}
    assert packages["vod-plus"].kind == "service" and packages["basic"].channels == ("news-1", "ent-1", "ent-2")
    fresh.set_ppv_events([{"external_id": "e", "title": "E", "price_minor": 500, "currency": "EUR",
                           "starts_at": "2025-06-01T20:00:00+00:00", "ends_at": None, "content_owner": ""}])
    [event] = adapter.list_ppv_events()
    assert (event.price_minor, event.currency, event.starts_at.isoformat()) == (500, "EUR", "2025-06-01T20:00:00+00:00")
