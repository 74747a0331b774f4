"""Generic XML (tripleplay IPTV protocol v1): the XSD, xmlproto, the adapter and the reference
simulator (a real process), including raw HTTP against the simulator to pin the wire format."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tripleplay.core.xml import DEFAULT_MAX_BYTES, XmlError, parse, parse_valid
from tripleplay.iptv import xmlproto
from tripleplay.iptv.platforms.base import (
    AlreadyExists,
    PackageInfo,
    PermanentError,
    PlatformConfig,
    PpvEventInfo,
    SubscriberNotFound,
    SubscriberSpec,
    TransientError,
)
from tripleplay.iptv.platforms.generic_xml import GenericXmlAdapter, forget_negotiated_versions
from tripleplay.simulators.testing import running_simulator

DOCS = Path(__file__).resolve().parents[3] / "docs" / "platforms" / "generic_xml.md"
NS = xmlproto.NS
PASSWORD = "Very-Private-Pw-31"  # noqa: S105 (a test credential)


@pytest.fixture(scope="module")
def sim():
    with running_simulator("generic_xml", password=PASSWORD) as s:
        yield s


@pytest.fixture
def fresh(sim):
    sim.reset()  # also back to the simulator's start-up protocol revision
    sim.set_faults()
    forget_negotiated_versions()
    return sim


@pytest.fixture
def adapter(fresh):
    a = GenericXmlAdapter(PlatformConfig(base_url=fresh.url, username="tripleplay", secret=PASSWORD,
                                         timeout_seconds=3))
    yield a
    a.close()


@pytest.fixture
def raw(fresh):
    with httpx.Client(base_url=fresh.url, timeout=5, auth=("tripleplay", PASSWORD)) as client:
        yield client


def post(client: httpx.Client, body: bytes, **kwargs) -> httpx.Response:
    headers = {"Content-Type": "application/xml", **kwargs.pop("headers", {})}
    return client.post(xmlproto.ENDPOINT_PATH, content=body, headers=headers, **kwargs)


def spec(sid="tp-1", enabled=True, packages=("basic",), **details) -> SubscriberSpec:
    return SubscriberSpec(subscriber_id=sid, enabled=enabled, packages=frozenset(packages), **details)


def create_doc(sid="tp-1", request_id="k-1", packages=("basic",)) -> bytes:
    return xmlproto.build_request("createSubscriber", request_id=request_id, subscriber=spec(sid, packages=packages))


def error_of(response: httpx.Response) -> xmlproto.ProtocolError:
    parsed = xmlproto.parse_response(response.content)  # error bodies are valid protocol documents too
    assert parsed.error is not None
    return parsed.error


def assert_nothing_applied(sim) -> None:
    state = sim.state()
    assert state["subscribers"] == {}
    assert state["stats"]["applied_writes"] == 0


# -- the XSD and the builders ---------------------------------------------------------------------------------


ALL_REQUESTS = [
    ("ping", {}), ("listPackages", {}), ("listPpvEvents", {}),
    ("createSubscriber", {"subscriber": spec(login="ada", device_id="00:1A:79:00:00:01", full_name="Ada Lovelace",
                                              account_number="A-1", phone="15550100")}),
    ("createSubscriber", {"subscriber": spec(enabled=False, packages=())}),
    ("setPackages", {"subscriber_id": "tp-1", "packages": {"basic", "sports"}}),
    ("setPackages", {"subscriber_id": "tp-1", "packages": set()}),
    ("setEnabled", {"subscriber_id": "tp-1", "enabled": False}),
    ("deleteSubscriber", {"subscriber_id": "tp-1"}),
    ("getSubscriber", {"subscriber_id": "tp-1"}),
    ("listSubscribers", {}), ("listSubscribers", {"limit": 10, "cursor": "tp-1"}),
]


@pytest.mark.parametrize("operation,arguments", ALL_REQUESTS)
def test_every_request_document_validates_and_round_trips(operation, arguments):
    body = xmlproto.build_request(operation, request_id="key-1", **arguments)
    root = parse_valid(body, xmlproto.XSD_PATH)
    assert root.tag == f"{{{NS}}}request" and root.get("version") == "1.0" and root.get("requestId") == "key-1"
    parsed = xmlproto.parse_request(body)
    assert (parsed.operation, parsed.request_id) == (operation, "key-1")
    if "subscriber" in arguments:
        assert parsed.subscriber == arguments["subscriber"]
    if "packages" in arguments:
        assert parsed.packages == frozenset(arguments["packages"])
    if "enabled" in arguments:
        assert parsed.enabled is arguments["enabled"]


def test_request_builder_refuses_values_outside_the_schema():
    with pytest.raises(XmlError) as err:
        xmlproto.build_request("getSubscriber", request_id="k", subscriber_id="has space")
    assert err.value.code == "xml_schema_violation"
    with pytest.raises(ValueError):
        xmlproto.build_request("setEnabled", request_id="k", subscriber_id="tp-1")


# The error-code list, the revisions, the extension slots and every XML sample of the docs: test_protocol_docs.py


def test_the_specs_catalog_sample_reads_as_written():
    examples = re.findall(r"```xml\n(.*?)```", DOCS.read_text(), flags=re.S)
    catalog = next(e for e in examples if e.startswith("<catalog"))
    packages, events = xmlproto.parse_catalog(catalog.encode())
    assert [p.external_id for p in packages] == ["basic", "vod-plus"]
    assert events[1].currency == "JPY" and events[1].price_minor == 800


def test_vendor_extensions_in_another_namespace_are_accepted():
    body = (f'<request xmlns="{NS}" xmlns:x="urn:example:iptv" version="1.3" requestId="k" x:trace="abc">'
            '<createSubscriber><subscriber id="tp-1" enabled="1"><packages/><x:region>north</x:region></subscriber>'
            '</createSubscriber></request>').encode()
    parsed = xmlproto.parse_request(body)
    assert parsed.subscriber == spec(packages=())
    assert parsed.version == "1.3"


def test_error_classification_follows_the_code_list_then_the_attribute():
    def error(code, transient):
        return xmlproto.parse_response(xmlproto.build_error(code, "m", transient=transient)).error

    assert error("BUSY", False).transient is True  # the documented class wins
    assert error("SUBSCRIBER_NOT_FOUND", True).transient is False
    assert error("VENDOR_MAINTENANCE", True).transient is True  # unknown code: the attribute decides
    assert error("VENDOR_REFUSED", False).transient is False
    assert xmlproto.http_status("UNKNOWN_PACKAGE") == 422


# -- the catalog document --------------------------------------------------------------------------------------


PACKAGES = [PackageInfo("basic", "Basic TV", "channel", "", ("news-1", "ent-1")),
            PackageInfo("vod-plus", "VOD Plus", "service", "Library", ())]
EVENTS = [PpvEventInfo("fight", "Fight Night", 1999, "USD", datetime(2025, 6, 1, 20, tzinfo=UTC),
                       datetime(2025, 6, 1, 23, tzinfo=UTC), "Ringside"),
          PpvEventInfo("film", "Premiere", 800, "JPY")]


def catalog_doc(*, packages="", events="") -> bytes:
    packages = packages or '<package id="basic" kind="channel"><name>Basic</name></package>'
    events = events or '<ppvEvent id="e1"><title>Fight</title><price currency="USD">1999</price></ppvEvent>'
    return (f'<catalog xmlns="{NS}" version="1.0"><packages>{packages}</packages>'
            f'<ppvEvents>{events}</ppvEvents></catalog>').encode()


def test_catalog_round_trips():
    assert xmlproto.parse_catalog(xmlproto.build_catalog(PACKAGES, EVENTS, platform="Example")) == (PACKAGES, EVENTS)
    assert xmlproto.parse_catalog(xmlproto.build_catalog([], [])) == ([], [])
    packages, events = xmlproto.parse_catalog(catalog_doc())
    assert packages == [PackageInfo("basic", "Basic", "channel")]
    assert events == [PpvEventInfo("e1", "Fight", 1999, "USD")]


def ev(price='<price currency="USD">1999</price>', title="<title>T</title>", extra=""):
    return f'<ppvEvent id="e1">{title}{price}{extra}</ppvEvent>'


CATALOG_REFUSALS = {
    "bad price, decimal": (catalog_doc(events=ev('<price currency="USD">19.99</price>')), "catalog_bad_price"),
    "bad price, negative": (catalog_doc(events=ev('<price currency="USD">-5</price>')), "catalog_bad_price"),
    "bad price, exponent": (catalog_doc(events=ev('<price currency="USD">1e3</price>')), "catalog_bad_price"),
    "empty price": (catalog_doc(events=ev('<price currency="USD"></price>')), "catalog_missing_field"),
    "bad currency": (catalog_doc(events=ev('<price currency="usd">100</price>')), "catalog_bad_currency"),
    "missing title": (catalog_doc(events=ev(title="")), "catalog_missing_field"),
    "missing price": (catalog_doc(events=ev(price="")), "catalog_missing_field"),
    "missing currency": (catalog_doc(events=ev("<price>100</price>")), "catalog_missing_field"),
    "missing package name": (catalog_doc(packages='<package id="p" kind="channel"/>'), "catalog_missing_field"),
    "missing package kind": (catalog_doc(packages='<package id="p"><name>P</name></package>'), "catalog_missing_field"),
    "missing ppvEvents": (f'<catalog xmlns="{NS}" version="1.0"><packages/></catalog>'.encode(),
                          "catalog_missing_field"),
    "duplicate id": (catalog_doc(packages='<package id="p" kind="channel"><name>P</name></package>' * 2),
                     "catalog_duplicate_id"),
    "bad window": (catalog_doc(events=ev(extra="<startsAt>2025-06-01T20:00:00Z</startsAt>"
                                               "<endsAt>2025-06-01T19:00:00Z</endsAt>")), "catalog_bad_window"),
    "not a catalog": (xmlproto.build_request("ping", request_id="k"), "catalog_not_a_catalog"),
    "other schema violation": (catalog_doc(packages='<package id="p" kind="radio"><name>P</name></package>'),
                               "xml_schema_violation"),
    "DTD": (b'<?xml version="1.0"?><!DOCTYPE catalog [<!ENTITY x "y">]>' + catalog_doc(), "xml_dtd_forbidden"),
    "oversized": (catalog_doc(packages="".join(f'<package id="p{i}" kind="channel"><name>{"N" * 200}</name></package>'
                                               for i in range(5000))), "xml_too_large"),
    "malformed": (catalog_doc()[:-5], "invalid_xml"),
    "empty": (b"", "invalid_xml"),
}


@pytest.mark.parametrize("case", list(CATALOG_REFUSALS))
def test_catalog_refusals_have_distinct_codes(case):
    data, code = CATALOG_REFUSALS[case]
    if case == "oversized":
        assert len(data) > DEFAULT_MAX_BYTES
    with pytest.raises(XmlError) as err:
        xmlproto.parse_catalog(data)
    assert err.value.code == code, err.value.message


def test_catalog_refusal_codes_are_all_different_kinds():
    codes = {code for _, code in CATALOG_REFUSALS.values()}
    assert codes == {"catalog_bad_price", "catalog_bad_currency", "catalog_missing_field", "catalog_duplicate_id",
                     "catalog_bad_window", "catalog_not_a_catalog", "xml_schema_violation", "xml_dtd_forbidden",
                     "xml_too_large", "invalid_xml"}


# -- the simulator over raw HTTP ---------------------------------------------------------------------------------


def test_simulator_answers_valid_protocol_documents(raw, fresh):
    for operation, arguments in ALL_REQUESTS:
        response = post(raw, xmlproto.build_request(operation, request_id=f"raw-{operation}-{len(arguments)}",
                                                    **arguments))
        assert response.headers["content-type"].startswith("application/xml")
        root = parse_valid(response.content, xmlproto.XSD_PATH)
        assert root.tag == f"{{{NS}}}response"
        assert root.get("requestId") == f"raw-{operation}-{len(arguments)}"


def test_create_then_read_over_raw_http(raw):
    response = post(raw, create_doc())
    assert response.status_code == 200
    assert xmlproto.parse_response(response.content).subscriber.packages == frozenset({"basic"})
    got = post(raw, xmlproto.build_request("getSubscriber", request_id="r1", subscriber_id="tp-1"))
    assert xmlproto.parse_response(got.content).subscriber.enabled is True


@pytest.mark.parametrize("body,needle", [
    (b"<request", "invalid_xml"),
    (b"", "invalid_xml"),
    (b"this is not xml", "invalid_xml"),
    (f'<request xmlns="{NS}" version="1.0"><ping/></request>'.encode(), "xml_schema_violation"),  # no requestId
    (f'<request xmlns="{NS}" version="1.0" requestId="k"><dance/></request>'.encode(), "xml_schema_violation"),
    (f'<request xmlns="{NS}" version="1.0" requestId="k"><createSubscriber><subscriber id="tp-1" enabled="yes">'
     '<packages/></subscriber></createSubscriber></request>'.encode(), "xml_schema_violation"),
    (b'<request version="1.0" requestId="k"><ping/></request>', "xml_schema_violation"),  # no namespace
])
def test_simulator_refuses_malformed_and_invalid_requests(raw, fresh, body, needle):
    response = post(raw, body)
    assert response.status_code == 400
    error = error_of(response)
    assert error.code == "INVALID_REQUEST" and not error.transient
    assert needle in error.message
    assert_nothing_applied(fresh)


def test_simulator_refuses_billion_laughs_quickly_and_changes_nothing(raw, fresh):
    doc = create_doc().decode().replace("<?xml version='1.0' encoding='UTF-8'?>", "")
    entities = '<!ENTITY a "aaaaaaaaaa">' + "".join(
        f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9))
    body = f'<?xml version="1.0"?><!DOCTYPE request [{entities}]>' + doc.replace("<login>", "<login>&j;")
    started = time.monotonic()
    response = post(raw, body.encode())
    assert time.monotonic() - started < 1.0
    assert response.status_code == 400
    error = error_of(response)
    assert error.code == "INVALID_REQUEST" and "xml_dtd_forbidden" in error.message
    assert_nothing_applied(fresh)


def test_simulator_refuses_external_entities_and_leaks_nothing(raw, fresh):
    doc = xmlproto.build_request("createSubscriber", request_id="x1",
                                 subscriber=spec(full_name="PLACEHOLDER")).decode().split("?>", 1)[1]
    body = '<?xml version="1.0"?><!DOCTYPE request [<!ENTITY x SYSTEM "file:///etc/passwd">]>' + doc.replace(
        "PLACEHOLDER", "&x;")
    response = post(raw, body.encode())
    assert response.status_code == 400
    assert "xml_dtd_forbidden" in error_of(response).message
    assert "root:" not in response.text
    assert_nothing_applied(fresh)


def test_simulator_refuses_another_protocol_version(raw, fresh):
    response = post(raw, b'<request xmlns="urn:tripleplay:iptv:2" version="2.0" requestId="k"><ping/></request>')
    assert response.status_code == 400
    assert error_of(response).code == "UNSUPPORTED_VERSION"


@pytest.mark.parametrize("auth", [("tripleplay", "wrong"), ("someone", PASSWORD), None])
def test_simulator_refuses_wrong_or_missing_credentials(fresh, auth):
    with httpx.Client(base_url=fresh.url, timeout=5, auth=auth) as client:
        response = post(client, create_doc())
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Basic")
    assert error_of(response).code == "AUTHENTICATION_FAILED"
    assert_nothing_applied(fresh)


def test_simulator_refuses_other_media_types_methods_and_paths(raw):
    assert error_of(post(raw, create_doc(), headers={"Content-Type": "application/json"})).code == \
        "UNSUPPORTED_MEDIA_TYPE"
    response = raw.get(xmlproto.ENDPOINT_PATH)
    assert response.status_code == 405 and error_of(response).code == "INVALID_REQUEST"
    response = raw.post("/tripleplay-iptv/v9", content=create_doc(), headers={"Content-Type": "application/xml"})
    assert response.status_code == 400 and error_of(response).code == "INVALID_REQUEST"


def test_simulator_dedupes_writes_by_request_id(raw, fresh):
    first = post(raw, create_doc(request_id="dup"))
    again = post(raw, create_doc(request_id="dup"))
    assert first.status_code == again.status_code == 200
    assert first.content == again.content
    other_key = post(raw, create_doc(request_id="dup-2"))
    assert other_key.status_code == 409 and error_of(other_key).code == "SUBSCRIBER_EXISTS"
    stats = fresh.state()["stats"]
    assert stats["duplicates"] == 1 and stats["applied_writes"] == 1


def test_simulator_refuses_unknown_packages_without_change(raw, fresh):
    response = post(raw, create_doc(packages=("basic", "nope")))
    assert response.status_code == 422
    assert error_of(response).code == "UNKNOWN_PACKAGE"
    assert fresh.subscribers() == {}
    assert post(raw, create_doc(request_id="k-2")).status_code == 200
    response = post(raw, xmlproto.build_request("setPackages", request_id="sp", subscriber_id="tp-1",
                                                packages={"nope"}))
    assert error_of(response).code == "UNKNOWN_PACKAGE"
    assert fresh.subscribers()["tp-1"]["packages"] == ["basic"]


def test_injected_faults_are_xml_error_documents(raw, fresh):
    fresh.set_faults(error_rate=1.0)
    response = post(raw, create_doc())
    assert response.status_code == 503
    error = error_of(response)
    assert (error.code, error.transient) == ("UNAVAILABLE", True)


# -- the adapter ---------------------------------------------------------------------------------------------------


def test_adapter_requests_validate_and_carry_no_secret(adapter, fresh):
    adapter.create_subscriber(spec(login="ada", phone="1555"), idempotency_key="c1")
    adapter.set_packages("tp-1", frozenset({"sports", "kids"}), idempotency_key="c2")
    adapter.set_enabled("tp-1", False, idempotency_key="c3")
    assert adapter.get_subscriber("tp-1").raw == {"login": "ada", "phone": "1555"}
    list(adapter.list_subscribers())
    adapter.list_ppv_events()
    adapter.health()
    adapter.delete_subscriber("tp-1", idempotency_key="c4")
    assert len(adapter.exchanges) == 8
    for exchange in adapter.exchanges:
        assert exchange["path"] == "/tripleplay-iptv/v1" and exchange["method"] == "POST"
        parse_valid(exchange["request"].encode(), xmlproto.XSD_PATH)
        parse_valid(exchange["response"].encode(), xmlproto.XSD_PATH)
        assert PASSWORD not in str(exchange)
    keys = [parse(e["request"].encode()).get("requestId") for e in adapter.exchanges]
    assert keys[:3] == ["c1", "c2", "c3"] and keys[-1] == "c4"
    assert all(k.startswith("read-") for k in keys[3:7])


def test_adapter_reads_ppv_events_and_health(adapter, fresh):
    fresh.set_ppv_events([{"external_id": "fight", "title": "Fight", "price_minor": 1999, "currency": "USD",
                           "starts_at": "2025-06-01T20:00:00+00:00", "ends_at": None, "content_owner": "Ringside"}])
    assert adapter.list_ppv_events() == [PpvEventInfo("fight", "Fight", 1999, "USD",
                                                      datetime(2025, 6, 1, 20, tzinfo=UTC), None, "Ringside")]
    health = adapter.health()
    assert health["ok"] is True and health["protocol_version"] == "1.3"


def test_adapter_pages_through_subscribers(fresh):
    a = GenericXmlAdapter(PlatformConfig(base_url=fresh.url, username="tripleplay", secret=PASSWORD,
                                         options={"page_size": 2}))
    for i in range(5):
        fresh.put_subscriber(f"tp-{i}", enabled=bool(i % 2), packages=["basic"])
    states = list(a.list_subscribers())
    assert [s.subscriber_id for s in states] == [f"tp-{i}" for i in range(5)]
    assert [s.enabled for s in states] == [False, True, False, True, False]
    assert len(a.exchanges) == 3
    a.close()


def test_adapter_maps_error_codes(adapter):
    adapter.create_subscriber(spec(), idempotency_key="m1")
    with pytest.raises(AlreadyExists) as err:
        adapter.create_subscriber(spec(), idempotency_key="m2")
    assert err.value.code == "SUBSCRIBER_EXISTS" and err.value.status == 409
    with pytest.raises(SubscriberNotFound):
        adapter.set_enabled("nobody", True, idempotency_key="m3")
    with pytest.raises(PermanentError) as err:
        adapter.set_packages("tp-1", frozenset({"nope"}), idempotency_key="m4")
    assert err.value.code == "UNKNOWN_PACKAGE"
    with pytest.raises(PermanentError) as err:
        adapter.get_subscriber("white space")  # refused before sending
    assert err.value.code == "invalid_request"


def mock_adapter(handler) -> GenericXmlAdapter:
    config = PlatformConfig(base_url="http://platform.test", username="u", secret="p")
    return GenericXmlAdapter(config, client=httpx.Client(base_url=config.base_url,
                                                         transport=httpx.MockTransport(handler)))


@pytest.mark.parametrize("status,body,expected,code", [
    (409, xmlproto.build_error("BUSY", "locked"), TransientError, "BUSY"),
    (400, xmlproto.build_error("VENDOR_MAINTENANCE", "later", transient=True), TransientError, "VENDOR_MAINTENANCE"),
    (422, xmlproto.build_error("LIMIT_EXCEEDED", "too many"), PermanentError, "LIMIT_EXCEEDED"),
    (503, xmlproto.build_error("UNAVAILABLE", "down"), TransientError, ""),
    (429, b"slow down", TransientError, ""),
    (403, b"<html>Forbidden</html>", PermanentError, "authentication_failed"),
    (404, b"<html>Not Found</html>", PermanentError, "invalid_response"),
    (200, b"<response/>", PermanentError, "invalid_response"),
    (200, b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "b">]><r>&a;</r>', PermanentError, "invalid_response"),
    (200, xmlproto.build_ok("k", pong={}), PermanentError, "invalid_response"),  # ok, but no packages payload
])
def test_adapter_classifies_answers(status, body, expected, code):
    a = mock_adapter(lambda request: httpx.Response(status, content=body))
    with pytest.raises(expected) as err:
        a.list_packages()
    assert type(err.value) is expected
    if code:
        assert err.value.code == code


def test_adapter_sends_basic_auth_and_the_key():
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen["auth"] = request.headers.get("authorization")
        seen["body"] = request.content
        return httpx.Response(200, content=xmlproto.build_ok("k-77", subscriber=spec()))

    mock_adapter(handler).create_subscriber(spec(), idempotency_key="k-77")
    assert seen["auth"].startswith("Basic ")
    assert xmlproto.parse_request(seen["body"]).request_id == "k-77"


# -- versions: an older platform, and the adapter's negotiation (D170) -------------------------------------------


def grant_doc(request_id="g-1") -> bytes:
    return xmlproto.build_request("grantPpvEvent", request_id=request_id, subscriber_id="tp-1", event_id="fight",
                                  purchase_id="portal:1")


def sent_operations(a: GenericXmlAdapter) -> list[str]:
    return [parse(e["request"].encode())[0].tag.split("}")[1] for e in a.exchanges]


FIGHT = [{"external_id": "fight", "title": "Fight", "price_minor": 1999, "currency": "USD"}]


def test_an_older_simulator_answers_its_revision_and_refuses_newer_constructs_like_a_validating_peer(raw, fresh):
    fresh.set_ppv_events(FIGHT)
    assert post(raw, create_doc()).status_code == 200
    assert fresh.set_protocol_version("1.1") == {"version": "1.1"}
    pong = xmlproto.parse_response(post(raw, xmlproto.build_request("ping", request_id="p")).content).pong
    assert pong["protocolVersion"] == "1.1"
    response = post(raw, grant_doc())
    assert response.status_code == 400
    error = error_of(response)
    assert (error.code, error.transient) == ("INVALID_REQUEST", False)
    assert "xml_schema_violation" in error.message and "grantPpvEvent" in error.message
    assert "ppv_events" not in fresh.subscribers()["tp-1"]  # nothing applied
    update = xmlproto.build_request("updateSubscriber", request_id="u", subscriber=spec(login="new"))
    assert post(raw, update).status_code == 200  # 1.1 has updateSubscriber
    fresh.set_protocol_version("1.0")
    assert error_of(post(raw, xmlproto.build_request("updateSubscriber", request_id="u2",
                                                     subscriber=spec(login="x")))).code == "INVALID_REQUEST"
    assert fresh.subscribers()["tp-1"]["login"] == "new"
    fresh.set_protocol_version("1.2")
    assert post(raw, grant_doc()).status_code == 200
    assert fresh.subscribers()["tp-1"]["ppv_events"] == ["fight"]


def test_the_simulator_refuses_an_unknown_revision(fresh):
    response = fresh.control.put("/protocol", json={"version": "1.9"})
    assert response.status_code == 400 and "1.0, 1.1, 1.2, 1.3" in response.json()["error"]
    assert fresh.control.get("/protocol").json() == {"version": "1.3"}


def test_adapter_does_not_send_a_grant_to_a_1_1_platform(adapter, fresh):
    fresh.set_ppv_events(FIGHT)
    adapter.create_subscriber(spec(), idempotency_key="c1")
    fresh.set_protocol_version("1.1")
    adapter.exchanges.clear()
    with pytest.raises(PermanentError) as err:
        adapter.grant_ppv_event("tp-1", "fight", purchase_id="portal:1", idempotency_key="g-1")
    assert type(err.value) is PermanentError and err.value.code == "unsupported_by_protocol"
    assert str(err.value) == ("grantPpvEvent is not supported by protocol 1.1 (the platform's "
                              "pong/@protocolVersion); it needs 1.2")
    assert sent_operations(adapter) == ["ping"]  # read the revision (no cache yet), then nothing sent
    assert fresh.state()["stats"]["applied_writes"] == 1
    assert "ppv_events" not in fresh.subscribers()["tp-1"]


def test_adapter_does_not_send_update_subscriber_to_a_1_0_platform(adapter, fresh):
    adapter.create_subscriber(spec(login="ada"), idempotency_key="c1")
    fresh.set_protocol_version("1.0")
    with pytest.raises(PermanentError) as err:
        adapter.update_details(spec(login="ada-2"), idempotency_key="u1")
    assert err.value.code == "unsupported_by_protocol" and "protocol 1.0" in str(err.value)
    assert fresh.subscribers()["tp-1"]["login"] == "ada"


def test_adapter_caches_the_revision_per_platform_and_refreshes_it(adapter, fresh):
    fresh.set_ppv_events(FIGHT)
    adapter.create_subscriber(spec(), idempotency_key="c1")
    adapter.grant_ppv_event("tp-1", "fight", purchase_id="portal:1", idempotency_key="g-1")
    adapter.grant_ppv_event("tp-1", "fight", purchase_id="portal:2", idempotency_key="g-2")
    other = GenericXmlAdapter(PlatformConfig(base_url=fresh.url, username="tripleplay", secret=PASSWORD))
    other.update_details(spec(login="b"), idempotency_key="u1")  # another adapter of the same platform
    assert sent_operations(adapter) == ["createSubscriber", "ping", "grantPpvEvent", "grantPpvEvent"]
    assert sent_operations(other) == ["updateSubscriber"]
    assert parse(adapter.exchanges[2]["request"].encode()).get("version") == "1.2"
    assert parse(other.exchanges[0]["request"].encode()).get("version") == "1.1"
    other.close()

    # downgraded behind tripleplay's back: the refusal drops the cached revision; the next grant asks again
    fresh.set_protocol_version("1.1")
    adapter.exchanges.clear()
    with pytest.raises(PermanentError) as err:
        adapter.grant_ppv_event("tp-1", "fight", purchase_id="portal:3", idempotency_key="g-3")
    assert err.value.code == "INVALID_REQUEST"
    with pytest.raises(PermanentError) as err:
        adapter.grant_ppv_event("tp-1", "fight", purchase_id="portal:3", idempotency_key="g-3")
    assert err.value.code == "unsupported_by_protocol"
    assert sent_operations(adapter) == ["grantPpvEvent", "ping"]

    # upgraded: a cached 1.1 is asked again before anything is refused, and a health check refreshes it
    fresh.set_protocol_version("1.2")
    adapter.exchanges.clear()
    adapter.grant_ppv_event("tp-1", "fight", purchase_id="portal:3", idempotency_key="g-4")
    assert sent_operations(adapter) == ["ping", "grantPpvEvent"]
    fresh.set_protocol_version("1.1")
    assert adapter.health()["protocol_version"] == "1.1"
    adapter.exchanges.clear()
    fresh.set_protocol_version("1.2")
    adapter.update_details(spec(login="c"), idempotency_key="u2")  # 1.1 suffices: the cached answer is used
    assert sent_operations(adapter) == ["updateSubscriber"]


def test_operations_of_1_0_never_ping(adapter, fresh):
    fresh.set_protocol_version("1.0")
    adapter.create_subscriber(spec(), idempotency_key="c1")
    adapter.set_enabled("tp-1", False, idempotency_key="c2")
    assert sent_operations(adapter) == ["createSubscriber", "setEnabled"]
    assert all(parse(e["request"].encode()).get("version") == "1.0" for e in adapter.exchanges)
