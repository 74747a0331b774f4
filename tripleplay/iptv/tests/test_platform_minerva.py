"""Minerva (modelled iTVManager BackOffice XML API): the exact wire format, options, channel versus
service packages and hostile XML, against the simulator running as a real process on loopback."""

from __future__ import annotations

import httpx
import pytest

from tripleplay.core.xml import parse
from tripleplay.iptv.platforms.base import PermanentError, PlatformConfig, SubscriberSpec, TransientError
from tripleplay.iptv.platforms.minerva import API_PATH, MinervaAdapter
from tripleplay.simulators.testing import running_simulator

PASSWORD = "Pa55-minerva-xyz"


@pytest.fixture(scope="module")
def sim():
    with running_simulator("minerva", username="bo-api", password=PASSWORD) as s:
        yield s


@pytest.fixture
def fresh(sim):
    sim.reset()
    sim.set_faults()
    return sim


def make_adapter(sim, **options) -> MinervaAdapter:
    return MinervaAdapter(PlatformConfig(base_url=sim.url, username="bo-api", secret=PASSWORD, timeout_seconds=3,
                                         options=options))


def spec(sid="tp-1", packages=("basic", "vod-plus"), enabled=True):
    return SubscriberSpec(subscriber_id=sid, enabled=enabled, packages=frozenset(packages), login=f"login-{sid}",
                          device_id="00:1A:79:00:00:01", full_name="Ada Lovelace", account_number=sid,
                          phone="15550100")


def envelope(operation: str, *, txid: str | None = None, user="bo-api", password=PASSWORD, version="1.0") -> bytes:
    tx = f"<TransactionId>{txid}</TransactionId>" if txid else ""
    return (f'<?xml version="1.0" encoding="UTF-8"?><BackOfficeRequest version="{version}">'
            f"<Authentication><ApiUser>{user}</ApiUser><Password>{password}</Password></Authentication>"
            f"{tx}{operation}</BackOfficeRequest>").encode()


CREATE = ("<CreateSubscriber><SubscriberId>{sid}</SubscriberId><Enabled>true</Enabled><Login>l</Login>"
          "<FullName>{name}</FullName><AccountNumber>a</AccountNumber><Phone>1</Phone><Devices/>"
          "<MaxDevices>2</MaxDevices><Region>EAST</Region><Pin>1234</Pin><PpvEnabled>false</PpvEnabled>"
          "<ImpulseCreditLimit>0.00</ImpulseCreditLimit><Packages><Package id=\"basic\"/></Packages>"
          "</CreateSubscriber>")


def post(sim, body: bytes) -> tuple[httpx.Response, object]:
    r = httpx.post(sim.url + API_PATH, content=body, headers={"Content-Type": "application/xml"}, timeout=5)
    return r, parse(r.content)


def result(root) -> tuple[int, str]:
    el = root.find("Result")
    return int(el.get("code")), el.get("name")


# -- the wire format --------------------------------------------------------------------------------------
def test_package_lists_on_the_wire_separate_channel_and_service_packages(fresh):
    r, root = post(fresh, envelope("<GetChannelPackageList/>"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/xml")
    assert root.tag == "BackOfficeResponse" and root.get("operation") == "GetChannelPackageList"
    assert result(root) == (0, "OK")
    channel = {p.get("id"): p for p in root.iterfind("ChannelPackages/ChannelPackage")}
    assert set(channel) == {"basic", "sports", "movies", "kids"}
    assert channel["sports"].findtext("Name") == "Sports Pack"
    assert [c.get("id") for c in channel["sports"].iterfind("Channels/Channel")] == ["sport-1", "sport-2"]

    _, root = post(fresh, envelope("<GetServicePackageList/>"))
    service = {p.get("id"): p for p in root.iterfind("ServicePackages/ServicePackage")}
    assert set(service) == {"vod-plus"}
    assert [s.get("type") for s in service["vod-plus"].iterfind("Services/Service")] == ["VOD"]


def test_adapter_lists_both_kinds(fresh):
    fresh.set_packages([
        {"external_id": "basic", "name": "Basic TV", "kind": "channel", "channels": ["news-1"]},
        {"external_id": "cloud", "name": "Cloud DVR + Caller ID", "kind": "service", "channels": [],
         "services": ["NDVR", "CALLER_ID"]},
        {"external_id": "vod-plus", "name": "VOD Plus", "kind": "service", "channels": []},
    ])
    try:
        with make_adapter(fresh) as a:
            packages = {p.external_id: p for p in a.list_packages()}
        assert {k: p.kind for k, p in packages.items()} == {"basic": "channel", "cloud": "service", "vod-plus": "service"}
        assert packages["basic"].channels == ("news-1",)
        assert packages["cloud"].description == "includes NDVR, CALLER_ID"
    finally:
        fresh.set_packages([{"external_id": e, "name": n, "kind": k, "channels": c} for e, n, k, c in [
            ("basic", "Basic TV", "channel", ["news-1", "ent-1", "ent-2"]),
            ("sports", "Sports Pack", "channel", ["sport-1", "sport-2"]),
            ("movies", "Movies Pack", "channel", ["movie-1", "movie-2"]),
            ("kids", "Kids Pack", "channel", ["kids-1"]), ("vod-plus", "VOD Plus", "service", [])]])


def test_create_request_document_and_masked_record(fresh):
    with make_adapter(fresh, pin="9876") as a:
        a.create_subscriber(spec(), idempotency_key="tx-create-1")
        record = a.exchanges[-1]
    assert (record["method"], record["path"], record["status"]) == ("POST", API_PATH, 200)
    sent = parse(record["request"].encode())
    assert sent.tag == "BackOfficeRequest" and sent.get("version") == "1.0"
    assert sent.findtext("Authentication/ApiUser") == "bo-api"
    assert sent.findtext("Authentication/Password") == "***"
    assert sent.findtext("TransactionId") == "tx-create-1"
    op = sent.find("CreateSubscriber")
    assert [el.tag for el in op] == ["SubscriberId", "Enabled", "Login", "FullName", "AccountNumber", "Phone",
                                     "Devices", "MaxDevices", "Region", "Pin", "PpvEnabled", "ImpulseCreditLimit",
                                     "Packages"]
    assert op.findtext("Pin") == "***"
    assert [p.get("id") for p in op.iterfind("Packages/Package")] == ["basic", "vod-plus"]
    assert [d.get("id") for d in op.iterfind("Devices/Device")] == ["00:1A:79:00:00:01"]
    everything = str(a.exchanges)
    assert PASSWORD not in everything and "9876" not in everything
    answer = parse(record["response"].encode())
    assert result(answer) == (0, "OK") and answer.findtext("TransactionId") == "tx-create-1"
    # the platform did get the real PIN
    assert fresh.subscribers()["tp-1"]["pin"] == "9876"


def test_options_reach_the_subscriber_record(fresh):
    with make_adapter(fresh, max_devices=5, region="NORTH", pin="4321", ppv_enabled=True,
                      impulse_credit_limit="25.5") as a:
        a.create_subscriber(spec("tp-opt"), idempotency_key="o1")
        state = a.get_subscriber("tp-opt")
    rec = fresh.subscribers()["tp-opt"]
    assert {k: rec[k] for k in ("enabled", "packages", "max_devices", "region", "pin", "ppv_enabled",
                                "impulse_credit_limit", "devices", "login", "full_name")} == {
        "enabled": True, "packages": ["basic", "vod-plus"], "max_devices": 5, "region": "NORTH", "pin": "4321",
        "ppv_enabled": True, "impulse_credit_limit": "25.50", "devices": ["00:1A:79:00:00:01"],
        "login": "login-tp-opt", "full_name": "Ada Lovelace"}
    assert state.raw["MaxDevices"] == "5" and state.raw["PinSet"] == "true" and "Pin" not in state.raw
    assert state.raw["Packages"] == [{"id": "basic", "type": "channel"}, {"id": "vod-plus", "type": "service"}]


def test_default_options(fresh):
    with make_adapter(fresh) as a:
        a.create_subscriber(spec("tp-def", enabled=False, packages=()), idempotency_key="d1")
    rec = fresh.subscribers()["tp-def"]
    assert (rec["enabled"], rec["packages"], rec["max_devices"], rec["region"], rec["pin"], rec["ppv_enabled"],
            rec["impulse_credit_limit"]) == (False, [], 3, "DEFAULT", "0000", False, "0.00")


@pytest.mark.parametrize("options", [{"max_devices": 0}, {"max_devices": "many"}, {"pin": "12a4"}, {"region": ""},
                                     {"impulse_credit_limit": "-1"}, {"impulse_credit_limit": "lots"}])
def test_invalid_options_are_permanent_and_send_nothing(fresh, options):
    with make_adapter(fresh, **options) as a:
        with pytest.raises(PermanentError) as err:
            a.create_subscriber(spec("tp-bad"), idempotency_key="x")
        assert err.value.code == "invalid_option" and a.exchanges == []
    assert fresh.subscribers() == {}


def test_transaction_id_is_deduplicated(fresh):
    body = envelope(CREATE.format(sid="tp-dup", name="A"), txid="tx-77")
    first, _ = post(fresh, body)
    second, _ = post(fresh, body)
    assert first.status_code == second.status_code == 200 and first.content == second.content
    state = fresh.state()
    assert state["stats"]["duplicates"] == 1 and list(state["subscribers"]) == ["tp-dup"]
    third, root = post(fresh, envelope(CREATE.format(sid="tp-dup", name="A"), txid="tx-78"))
    assert third.status_code == 409 and result(root) == (301, "SUBSCRIBER_EXISTS")


@pytest.mark.parametrize("body, status, code", [
    (envelope(CREATE.format(sid="tp-v", name="A")), 400, (104, "MISSING_FIELD")),  # no TransactionId
    (envelope("<Reboot/>", txid="t"), 400, (103, "UNKNOWN_OPERATION")),
    (envelope("<GetChannelPackageList/>", version="9.9"), 400, (106, "UNSUPPORTED_VERSION")),
    (envelope("<GetChannelPackageList/>", password="wrong"), 401, (200, "AUTHENTICATION_FAILED")),
    (envelope(CREATE.format(sid="tp-v", name="A").replace("<Region>EAST</Region>", ""), txid="t1"), 400,
     (104, "MISSING_FIELD")),
    (envelope(CREATE.format(sid="tp-v", name="A").replace("<Pin>1234</Pin>", "<Pin>12</Pin>"), txid="t2"), 400,
     (105, "INVALID_VALUE")),
    (envelope(CREATE.format(sid="tp-v", name="A").replace('id="basic"', 'id="nope"'), txid="t3"), 422,
     (302, "UNKNOWN_PACKAGE")),
    (envelope("<GetSubscriber><SubscriberId>ghost</SubscriberId></GetSubscriber>"), 404, (300, "SUBSCRIBER_NOT_FOUND")),
    (b"<BackOfficeRequest version='1.0'><unclosed></BackOfficeRequest>", 400, (100, "MALFORMED_XML")),
])
def test_validation_errors_are_xml_with_codes(fresh, body, status, code):
    r, root = post(fresh, body)
    assert (r.status_code, result(root)) == (status, code)
    assert fresh.subscribers() == {}


HOSTILE = {
    "doctype": b'<?xml version="1.0"?><!DOCTYPE BackOfficeRequest><BackOfficeRequest version="1.0"/>',
    "billion_laughs": b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<BackOfficeRequest version="1.0">&lol3;</BackOfficeRequest>""",
    "external_entity": b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>""" + envelope(
        CREATE.format(sid="tp-evil", name="&xxe;"), txid="evil-1").split(b"?>", 1)[1],
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_xml_is_refused_without_state_change(fresh, name):
    before = fresh.state()["stats"]
    r, root = post(fresh, HOSTILE[name])
    assert r.status_code == 400 and result(root) == (101, "DTD_FORBIDDEN")
    after = fresh.state()
    assert after["subscribers"] == {} and after["stats"]["applied_writes"] == before["applied_writes"]
    assert b"root:" not in r.content


def test_xinclude_is_not_processed(fresh):
    name = '<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="file:///etc/passwd" parse="text"/>'
    r, root = post(fresh, envelope(CREATE.format(sid="tp-xi", name=name), txid="xi-1"))
    assert r.status_code == 200
    assert fresh.subscribers()["tp-xi"]["full_name"] == ""


def test_errors_map_to_the_adapter_classes(fresh):
    with make_adapter(fresh) as a:
        with pytest.raises(PermanentError) as err:
            a.create_subscriber(spec("tp-u", packages=("basic", "nope")), idempotency_key="u1")
        assert err.value.code == "UNKNOWN_PACKAGE" and err.value.status == 422
        fresh.set_faults(error_rate=1.0)
        with pytest.raises(TransientError):
            a.list_packages()
        fresh.set_faults()
    r, root = post(fresh, envelope("<GetChannelPackageList/>"))
    assert r.status_code == 200
    fresh.set_faults(error_rate=1.0)
    r, root = post(fresh, envelope("<GetChannelPackageList/>"))
    fresh.set_faults()
    assert r.status_code == 503 and result(root) == (901, "SERVICE_UNAVAILABLE")
    bad = MinervaAdapter(PlatformConfig(base_url=fresh.url, username="bo-api", secret="nope", timeout_seconds=3))
    with pytest.raises(PermanentError) as err:
        bad.list_packages()
    assert err.value.code == "AUTHENTICATION_FAILED" and not isinstance(err.value, TransientError)
    bad.close()


def _mock_adapter(body: bytes, status: int = 200) -> MinervaAdapter:
    transport = httpx.MockTransport(lambda request: httpx.Response(status, content=body,
                                                                   headers={"Content-Type": "application/xml"}))
    client = httpx.Client(base_url="http://minerva.invalid", transport=transport)
    return MinervaAdapter(PlatformConfig(base_url="http://minerva.invalid", username="u", secret="p"), client=client)


def test_locked_subscriber_is_transient():
    body = (b'<BackOfficeResponse version="1.0"><Result code="303" name="SUBSCRIBER_LOCKED">busy</Result>'
            b"</BackOfficeResponse>")
    with pytest.raises(TransientError) as err:
        _mock_adapter(body, 423).set_enabled("tp-1", False, idempotency_key="k")
    assert err.value.code == "SUBSCRIBER_LOCKED"


@pytest.mark.parametrize("body, code", [
    (HOSTILE["billion_laughs"], "xml_dtd_forbidden"),
    (b"<html>proxy error</html", "invalid_xml"),
    (b"<Other/>", "invalid_response"),
])
def test_a_hostile_or_unreadable_response_is_refused(body, code):
    with pytest.raises(PermanentError) as err:
        _mock_adapter(body).list_packages()
    assert err.value.code == code


def test_subscriber_list_is_paged(fresh):
    with make_adapter(fresh, page_size=2) as a:
        for i in range(5):
            a.create_subscriber(spec(f"tp-p{i}", packages=("basic",) if i % 2 else ()), idempotency_key=f"p{i}")
        a.exchanges.clear()
        states = {s.subscriber_id: s for s in a.list_subscribers()}
        pages = [parse(e["request"].encode()).find("GetSubscriberList") for e in a.exchanges]
    assert set(states) == {f"tp-p{i}" for i in range(5)}
    assert states["tp-p1"].packages == frozenset({"basic"}) and states["tp-p0"].packages == frozenset()
    assert [(p.findtext("Offset"), p.findtext("Limit")) for p in pages] == [("0", "2"), ("2", "2"), ("4", "2")]


def test_state_file_survives_a_restart(tmp_path):
    with running_simulator("minerva", state_file=str(tmp_path / "minerva.json")) as s:
        a = MinervaAdapter(PlatformConfig(base_url=s.url, username="tripleplay", secret="secret", timeout_seconds=3))
        a.create_subscriber(spec("tp-keep"), idempotency_key="keep-1")
        a.close()
        s.restart()
        assert s.subscribers()["tp-keep"]["packages"] == ["basic", "vod-plus"]
        a = MinervaAdapter(PlatformConfig(base_url=s.url, username="tripleplay", secret="secret", timeout_seconds=3))
        a.create_subscriber(spec("tp-keep"), idempotency_key="keep-1")  # the key survived too: a replay
        a.close()
        assert s.state()["stats"]["duplicates"] == 1
