"""MatrixStream (modelled JSON REST API): statuses, entitlements PUT replaces, error mapping, the
Idempotency-Key, against the simulator running as a real process on loopback."""

from __future__ import annotations

import json

import httpx
import pytest

from tripleplay.iptv.platforms.base import (
    AlreadyExists,
    PermanentError,
    PlatformConfig,
    SubscriberNotFound,
    SubscriberSpec,
    TransientError,
)
from tripleplay.iptv.platforms.matrixstream import MatrixStreamAdapter
from tripleplay.simulators.testing import running_simulator

KEY = "ms-key-0123456789abcdef"


@pytest.fixture(scope="module")
def sim():
    with running_simulator("matrixstream", password=KEY) as s:
        yield s


@pytest.fixture
def fresh(sim):
    sim.reset()
    sim.set_faults()
    return sim


@pytest.fixture
def api(fresh):
    with httpx.Client(base_url=fresh.url + "/api/v2", headers={"X-Api-Key": KEY}, timeout=5) as client:
        yield client


def make_adapter(sim, key=KEY, **options) -> MatrixStreamAdapter:
    return MatrixStreamAdapter(PlatformConfig(base_url=sim.url, username="tripleplay", secret=key, timeout_seconds=3,
                                              options=options))


def spec(sid="tp-1", packages=("basic", "sports"), enabled=True):
    return SubscriberSpec(subscriber_id=sid, enabled=enabled, packages=frozenset(packages), login=f"login-{sid}",
                          device_id="00:1A:79:00:00:02", full_name="Grace Hopper", account_number=sid,
                          phone="15550199")


def error_of(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


def test_products_on_the_wire(api, fresh):
    assert error_of(httpx.get(fresh.url + "/api/v2/products")) == (401, "unauthorized")
    assert error_of(httpx.get(fresh.url + "/api/v2/products", headers={"X-Api-Key": "wrong"})) == (401, "unauthorized")
    r = api.get("/products")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    items = {p["id"]: p for p in r.json()["items"]}
    assert items["sports"] == {"id": "sports", "name": "Sports Pack", "type": "channel_bundle", "description": "",
                               "channels": [{"id": "sport-1"}, {"id": "sport-2"}]}
    assert items["vod-plus"]["type"] == "service_bundle"
    with make_adapter(fresh) as a:
        kinds = {p.external_id: p.kind for p in a.list_packages()}
    assert kinds == {"basic": "channel", "sports": "channel", "movies": "channel", "kids": "channel",
                     "vod-plus": "service"}


def test_subscriber_resource_statuses(api, fresh):
    body = {"id": "tp-w", "state": "active", "profile": {"login": "w", "full_name": "W", "account_number": "1",
                                                          "phone": "2"},
            "devices": [{"id": "mac-1"}], "entitlements": ["sports", "basic"]}
    r = api.post("/subscribers", json=body, headers={"Idempotency-Key": "c-1"})
    assert r.status_code == 201
    created = r.json()
    assert {k: created[k] for k in ("id", "state", "devices", "entitlements")} == {
        "id": "tp-w", "state": "active", "devices": [{"id": "mac-1"}], "entitlements": ["basic", "sports"]}
    assert error_of(api.post("/subscribers", json=body, headers={"Idempotency-Key": "c-2"})) == (409, "subscriber_exists")
    assert api.get("/subscribers/tp-w").json()["profile"]["full_name"] == "W"

    r = api.patch("/subscribers/tp-w", json={"state": "suspended"}, headers={"Idempotency-Key": "s-1"})
    assert r.status_code == 200 and r.json()["state"] == "suspended"
    assert fresh.subscribers()["tp-w"]["enabled"] is False
    assert error_of(api.patch("/subscribers/tp-w", json={"state": "deleted"})) == (422, "validation_failed")
    assert error_of(api.patch("/subscribers/tp-w", json={"entitlements": []})) == (422, "validation_failed")

    r = api.delete("/subscribers/tp-w", headers={"Idempotency-Key": "d-1"})
    assert r.status_code == 204 and r.content == b""
    assert error_of(api.get("/subscribers/tp-w")) == (404, "subscriber_not_found")
    assert error_of(api.delete("/subscribers/tp-w")) == (404, "subscriber_not_found")
    assert error_of(api.get("/nothing-here")) == (404, "not_found")
    assert error_of(api.delete("/products")) == (405, "method_not_allowed")
    assert fresh.subscribers() == {}


def test_entitlements_put_replaces(api, fresh):
    with make_adapter(fresh) as a:
        a.create_subscriber(spec("tp-e", packages=("basic", "sports")), idempotency_key="e0")
        a.set_packages("tp-e", frozenset({"movies"}), idempotency_key="e1")
        record = a.exchanges[-1]
    assert (record["method"], record["path"], json.loads(record["request"])) == (
        "PUT", "/api/v2/subscribers/tp-e/entitlements", {"products": ["movies"]})
    assert api.get("/subscribers/tp-e/entitlements").json() == {"subscriber_id": "tp-e", "products": ["movies"]}
    r = api.put("/subscribers/tp-e/entitlements", json={"products": []})
    assert r.json() == {"subscriber_id": "tp-e", "products": []}
    assert fresh.subscribers()["tp-e"]["packages"] == []
    assert error_of(api.put("/subscribers/tp-e/entitlements", json={"add": ["kids"]})) == (422, "validation_failed")
    assert error_of(api.put("/subscribers/tp-e/entitlements", json={"products": ["kids", "nope"]})) == (
        422, "unknown_product")
    assert error_of(api.put("/subscribers/ghost/entitlements", json={"products": []})) == (404, "subscriber_not_found")
    assert fresh.subscribers()["tp-e"]["packages"] == []


def test_bad_bodies(api, fresh):
    r = api.post("/subscribers", content=b"{not json", headers={"Content-Type": "application/json"})
    assert error_of(r) == (400, "invalid_json")
    r = api.post("/subscribers", content=b"<xml/>", headers={"Content-Type": "application/xml"})
    assert error_of(r) == (415, "unsupported_media_type")
    assert error_of(api.post("/subscribers", json={"id": "a/b"})) == (422, "validation_failed")
    assert error_of(api.post("/subscribers", json={"id": "tp-x", "color": "red"})) == (422, "validation_failed")
    assert error_of(api.get("/subscribers", params={"limit": "0"})) == (400, "invalid_parameter")
    assert fresh.subscribers() == {}


def test_idempotency_key_replays_the_first_answer(api, fresh):
    body = {"id": "tp-i", "entitlements": ["basic"]}
    first = api.post("/subscribers", json=body, headers={"Idempotency-Key": "same"})
    second = api.post("/subscribers", json=body, headers={"Idempotency-Key": "same"})
    assert first.status_code == second.status_code == 201 and first.content == second.content
    assert fresh.state()["stats"]["duplicates"] == 1


def test_adapter_sends_the_key_and_records_it_masked(fresh):
    with make_adapter(fresh) as a:
        a.create_subscriber(spec("tp-r"), idempotency_key="idem-42")
        a.set_enabled("tp-r", False, idempotency_key="idem-43")
        a.get_subscriber("tp-r")
    create, patch, get = a.exchanges
    assert (create["method"], create["path"], create["status"]) == ("POST", "/api/v2/subscribers", 201)
    assert create["headers"]["X-Api-Key"] == "***" and create["headers"]["Idempotency-Key"] == "idem-42"
    assert json.loads(create["request"]) == {
        "id": "tp-r", "state": "active", "profile": {"login": "login-tp-r", "full_name": "Grace Hopper",
                                                     "account_number": "tp-r", "phone": "15550199"},
        "devices": [{"id": "00:1A:79:00:00:02"}], "entitlements": ["basic", "sports"]}
    assert (patch["method"], patch["path"], json.loads(patch["request"])) == (
        "PATCH", "/api/v2/subscribers/tp-r", {"state": "suspended"})
    assert "Idempotency-Key" not in get["headers"]
    assert KEY not in str(a.exchanges)


def test_error_mapping(fresh):
    with make_adapter(fresh) as a:
        a.create_subscriber(spec("tp-m"), idempotency_key="m1")
        with pytest.raises(AlreadyExists):
            a.create_subscriber(spec("tp-m"), idempotency_key="m2")
        with pytest.raises(SubscriberNotFound):
            a.set_enabled("ghost", True, idempotency_key="m3")
        with pytest.raises(PermanentError) as err:
            a.set_packages("tp-m", frozenset({"nope"}), idempotency_key="m4")
        assert (err.value.status, err.value.code) == (422, "unknown_product")
        assert not isinstance(err.value, TransientError)
        fresh.set_faults(error_rate=1.0)
        with pytest.raises(TransientError) as err:
            a.set_enabled("tp-m", False, idempotency_key="m5")
        assert (err.value.status, err.value.code) == (503, "service_unavailable")
        fresh.set_faults()
    with make_adapter(fresh, key="wrong") as bad:
        with pytest.raises(PermanentError) as err:
            bad.list_packages()
        assert (err.value.status, err.value.code) == (401, "unauthorized")
    with make_adapter(fresh, api_prefix="/api/v1") as old:  # a wrong route is not "subscriber not found"
        with pytest.raises(PermanentError) as err:
            old.get_subscriber("tp-m")
        assert not isinstance(err.value, SubscriberNotFound) and err.value.code == "not_found"


def _mock_adapter(status: int, body: bytes) -> MatrixStreamAdapter:
    transport = httpx.MockTransport(lambda request: httpx.Response(status, content=body))
    client = httpx.Client(base_url="http://matrix.invalid", transport=transport)
    return MatrixStreamAdapter(PlatformConfig(base_url="http://matrix.invalid", secret="k"), client=client)


@pytest.mark.parametrize("status, body, cls, code", [
    (409, b'{"error": {"code": "request_in_progress", "message": "same key in flight"}}', TransientError,
     "request_in_progress"),
    (429, b'{"error": {"code": "rate_limited", "message": "slow down"}}', TransientError, "rate_limited"),
    (400, b"<html>bad gateway config</html>", PermanentError, "http_400"),
    (200, b"[1, 2]", PermanentError, "invalid_response"),
    (200, b"not json", PermanentError, "invalid_response"),
])
def test_error_mapping_of_other_answers(status, body, cls, code):
    with pytest.raises(cls) as err:
        _mock_adapter(status, body).set_enabled("tp-1", True, idempotency_key="k")
    assert type(err.value) is cls
    if code:
        assert err.value.code == code


def test_subscriber_list_follows_the_cursor(fresh):
    with make_adapter(fresh, page_size=2) as a:
        for i in range(5):
            a.create_subscriber(spec(f"tp-c{i}", packages=("kids",) if i % 2 else (), enabled=i != 3),
                                idempotency_key=f"c{i}")
        a.exchanges.clear()
        states = {s.subscriber_id: s for s in a.list_subscribers()}
        params = [e["params"] for e in a.exchanges]
    assert set(states) == {f"tp-c{i}" for i in range(5)}
    assert states["tp-c3"].enabled is False and states["tp-c3"].packages == frozenset({"kids"})
    assert len(params) == 3 and params[0] == {"limit": "2"} and all(p.get("cursor") for p in params[1:])


def test_state_file_survives_a_restart(tmp_path):
    with running_simulator("matrixstream", state_file=str(tmp_path / "ms.json")) as s:
        with make_adapter(s, key="secret") as a:
            a.create_subscriber(spec("tp-keep", enabled=False), idempotency_key="k1")
        s.restart()
        with make_adapter(s, key="secret") as a:
            assert a.get_subscriber("tp-keep").enabled is False
