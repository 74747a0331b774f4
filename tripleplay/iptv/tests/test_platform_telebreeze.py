"""Telebreeze (modelled operator API): envelopes, bearer tokens that expire, re-authentication, the
billing account id as the immutable external key. Raw HTTP checks the wire format; the contract every
adapter keeps is in test_adapter_contract.py."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from tripleplay.iptv.platforms.base import AlreadyExists, PermanentError, PlatformConfig, SubscriberSpec
from tripleplay.iptv.platforms.telebreeze import TelebreezeAdapter
from tripleplay.simulators.testing import running_simulator

API = "/api/v1"


@pytest.fixture(scope="module")
def sim():
    with running_simulator("telebreeze") as s:
        yield s


@pytest.fixture
def fresh(sim):
    sim.reset()
    sim.set_faults()
    return sim


def make_adapter(sim, secret="secret"):
    return TelebreezeAdapter(PlatformConfig(base_url=sim.url, username="tripleplay", secret=secret, timeout_seconds=3))


@pytest.fixture
def adapter(fresh):
    a = make_adapter(fresh)
    yield a
    a.close()


def token(url) -> str:
    r = httpx.post(url + API + "/auth", json={"login": "tripleplay", "password": "secret"})
    assert r.status_code == 200
    return r.json()["content"]["token"]


@pytest.fixture
def raw(fresh):
    with httpx.Client(base_url=fresh.url + API, timeout=5,
                      headers={"Authorization": f"Bearer {token(fresh.url)}"}) as client:
        yield client


def spec(sid="tp-1", packages=("basic",), enabled=True):
    return SubscriberSpec(subscriber_id=sid, enabled=enabled, packages=frozenset(packages), login=f"l-{sid}",
                          device_id=f"dev-{sid}", full_name="Grace Hopper", account_number=sid, phone="15550101")


# -- wire format ------------------------------------------------------------------------------------------
def test_auth_envelopes(fresh):
    r = httpx.post(fresh.url + API + "/auth", json={"login": "tripleplay", "password": "secret"})
    body = r.json()
    assert (r.status_code, body["code"], body["content"]["token_type"], body["content"]["expires_in"]) == (
        200, 1, "Bearer", 3600)
    r = httpx.post(fresh.url + API + "/auth", json={"login": "tripleplay", "password": "nope"})
    assert (r.status_code, r.json()) == (401, {"code": -1, "message": "invalid login or password"})
    r = httpx.post(fresh.url + API + "/auth", json={"login": "tripleplay"})
    assert (r.status_code, r.json()["code"], r.json()["errors"]) == (422, 0, {"password": ["is required"]})


def test_calls_need_a_valid_bearer_token(fresh):
    r = httpx.get(fresh.url + API + "/tariffs")
    assert (r.status_code, r.json()["code"]) == (401, -1)
    r = httpx.get(fresh.url + API + "/tariffs", headers={"Authorization": "Bearer forged"})
    assert (r.status_code, r.json()) == (401, {"code": -3, "message": "token invalid"})
    httpx.post(fresh.url + "/_sim/tokens/expire")
    r = httpx.get(fresh.url + API + "/tariffs", headers={"Authorization": f"Bearer {token(fresh.url)}"})
    assert r.json()["code"] == 1  # only the tokens issued before were expired


def test_customer_envelopes_and_validation(raw, fresh):
    r = raw.post("/customers", json={"account_id": "tp-1", "status": "active", "tariffs": ["basic", "sports"],
                                     "login": "ada", "device_id": "stb-1", "password": "pa55word"})
    assert r.status_code == 201
    body = r.json()
    assert body["code"] == 1 and body["content"]["account_id"] == "tp-1"
    assert body["content"]["tariffs"] == ["basic", "sports"] and body["content"]["status"] == "active"
    assert "password" not in json.dumps(body) and "pa55word" not in json.dumps(fresh.subscribers())
    r = raw.post("/customers", json={"account_id": "tp-1"})
    assert (r.status_code, r.json()["code"]) == (409, -6)
    r = raw.post("/customers", json={"account_id": "tp-2", "login": "ada", "status": "frozen"})
    assert (r.status_code, r.json()["code"]) == (422, 0)
    assert set(r.json()["errors"]) == {"login", "status"}
    r = raw.post("/customers", json={"account_id": "tp-2", "tariffs": ["basic", "ghost"]})
    assert (r.status_code, r.json()["code"], r.json()["errors"]) == (422, -7, {"tariffs": ["ghost"]})
    assert "tp-2" not in fresh.subscribers()
    r = raw.get("/customers/tp-404")
    assert (r.status_code, r.json()) == (404, {"code": -5, "message": "customer tp-404 not found"})
    assert raw.post("/customers", content=b"login=ada").json()["code"] == 0  # JSON only
    r = raw.get("/tariffs").json()["content"]["items"]
    assert [(t["id"], t["type"], t["content"]) for t in r][:2] == [("basic", "base", "channels"),
                                                                  ("sports", "addon", "channels")]


def test_tariffs_replace_and_block_unblock(raw, fresh):
    raw.post("/customers", json={"account_id": "tp-1", "tariffs": ["basic", "sports"]})
    r = raw.put("/customers/tp-1/tariffs", json={"tariffs": ["movies"]})
    assert r.json()["content"]["tariffs"] == ["movies"]
    assert raw.post("/customers/tp-1/block", json={"reason": "debt"}).json()["content"]["status"] == "blocked"
    assert fresh.subscribers()["tp-1"]["enabled"] is False
    assert raw.post("/customers/tp-1/block", json={}).json()["code"] == 1  # blocking twice is harmless
    assert raw.post("/customers/tp-1/unblock", json={}).json()["content"]["status"] == "active"
    assert raw.delete("/customers/tp-1").json() == {"code": 1, "content": {"account_id": "tp-1", "deleted": True}}
    assert raw.delete("/customers/tp-1").json()["code"] == -5


def test_the_billing_account_id_is_the_immutable_external_key(raw, fresh):
    raw.post("/customers", json={"account_id": "tp-1", "login": "ada", "device_id": "stb-1"})
    r = raw.patch("/customers/tp-1", json={"account_id": "tp-2", "login": "ada2"})
    assert (r.status_code, r.json()["code"]) == (422, 0)
    assert "cannot be changed" in r.json()["errors"]["account_id"][0]
    assert set(fresh.subscribers()) == {"tp-1"} and fresh.subscribers()["tp-1"]["login"] == "ada"
    r = raw.patch("/customers/tp-1", json={"account_id": "tp-1", "login": "ada2", "device_id": "stb-9"})
    assert r.json()["content"]["login"] == "ada2"  # logins and devices change; the key does not
    assert raw.get("/customers/tp-1").json()["content"]["device_id"] == "stb-9"


def test_writes_are_deduplicated_on_the_idempotency_key(raw, fresh):
    first = raw.post("/customers", json={"account_id": "tp-1"}, headers={"Idempotency-Key": "k1"})
    again = raw.post("/customers", json={"account_id": "tp-1"}, headers={"Idempotency-Key": "k1"})
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert fresh.state()["stats"]["duplicates"] == 1
    assert raw.post("/customers", json={"account_id": "tp-1"}, headers={"Idempotency-Key": "k2"}).status_code == 409


def test_a_request_refused_for_its_token_does_not_use_up_its_key(fresh):
    h = {"Authorization": "Bearer forged", "Idempotency-Key": "k1"}
    assert httpx.post(fresh.url + API + "/customers", json={"account_id": "tp-1"}, headers=h).status_code == 401
    h["Authorization"] = f"Bearer {token(fresh.url)}"
    assert httpx.post(fresh.url + API + "/customers", json={"account_id": "tp-1"}, headers=h).status_code == 201


# -- the adapter -----------------------------------------------------------------------------------------
def test_adapter_caches_its_token(adapter, fresh):
    adapter.list_packages()
    adapter.create_subscriber(spec(), idempotency_key="c1")
    adapter.get_subscriber("tp-1")
    assert fresh.state()["stats"]["logins"] == 1
    auth = [e for e in adapter.exchanges if e["path"] == API + "/auth"]
    assert len(auth) == 1


def test_adapter_reauthenticates_once_when_the_token_expired(adapter, fresh):
    adapter.create_subscriber(spec(), idempotency_key="c1")
    httpx.post(fresh.url + "/_sim/tokens/expire")
    adapter.exchanges.clear()
    adapter.set_packages("tp-1", frozenset({"kids"}), idempotency_key="p1")
    assert [(e["method"], e["path"], e["status"]) for e in adapter.exchanges] == [
        ("PUT", API + "/customers/tp-1/tariffs", 401), ("POST", API + "/auth", 200),
        ("PUT", API + "/customers/tp-1/tariffs", 200)]
    assert json.loads(adapter.exchanges[0]["response"])["code"] == -2
    assert fresh.subscribers()["tp-1"]["packages"] == ["kids"]
    assert fresh.state()["stats"]["logins"] == 2


def test_adapter_gives_up_after_one_reauthentication():
    """The platform restarted (tokens gone) and meanwhile the password changed: one login, then stop."""
    with running_simulator("telebreeze") as s:
        a = make_adapter(s)
        a.list_packages()
        s.password = "rotated"
        s.restart()
        a.exchanges.clear()
        with pytest.raises(PermanentError) as err:
            a.list_packages()
        assert err.value.code == "unauthorized"
        assert [(e["path"], json.loads(e["response"])["code"]) for e in a.exchanges] == [
            (API + "/tariffs", -3), (API + "/auth", -1)]
        a.close()


def test_token_ttl_from_the_environment(monkeypatch):
    monkeypatch.setenv("TRIPLEPLAY_TELEBREEZE_TOKEN_TTL", "1")
    with running_simulator("telebreeze") as s:
        t = token(s.url)
        assert httpx.get(s.url + API + "/tariffs", headers={"Authorization": f"Bearer {t}"}).json()["code"] == 1
        a = make_adapter(s)
        a.list_packages()
        time.sleep(1.3)
        r = httpx.get(s.url + API + "/tariffs", headers={"Authorization": f"Bearer {t}"})
        assert (r.status_code, r.json()["code"]) == (401, -2)
        a.list_packages()  # the adapter knows its token's age and logs in again before it is refused
        assert s.state()["stats"]["logins"] == 3
        assert all(e.get("status") != 401 for e in a.exchanges)
        a.close()


def test_no_password_and_no_token_in_recorded_exchanges(adapter, fresh):
    adapter.create_subscriber(spec(), idempotency_key="c1")
    httpx.post(fresh.url + "/_sim/tokens/expire")
    adapter.set_enabled("tp-1", False, idempotency_key="d1")
    recorded = json.dumps(adapter.exchanges)
    assert "secret" not in recorded
    assert adapter._token and adapter._token not in recorded
    auth = next(e for e in adapter.exchanges if e["path"] == API + "/auth")
    assert json.loads(auth["request"]) == {"login": "tripleplay", "password": "***"}
    assert json.loads(auth["response"])["content"]["token"] == "***"


def test_adapter_wire_calls(adapter, fresh):
    adapter.create_subscriber(spec(enabled=False, packages=("basic", "sports")), idempotency_key="c1")
    created = next(e for e in adapter.exchanges if e["path"] == API + "/customers")
    assert json.loads(created["request"]) == {
        "account_id": "tp-1", "status": "blocked", "tariffs": ["basic", "sports"], "login": "l-tp-1",
        "device_id": "dev-tp-1", "full_name": "Grace Hopper", "phone": "15550101", "contract": "tp-1"}
    assert created["headers"]["Idempotency-Key"] == "c1" and created["headers"]["Authorization"] == "***"
    adapter.exchanges.clear()
    adapter.set_enabled("tp-1", True, idempotency_key="e1")
    adapter.delete_subscriber("tp-1", idempotency_key="x1")
    assert [(e["method"], e["path"]) for e in adapter.exchanges] == [
        ("POST", API + "/customers/tp-1/unblock"), ("DELETE", API + "/customers/tp-1")]
    adapter.create_subscriber(spec("tp-2"), idempotency_key="c2")
    with pytest.raises(AlreadyExists):
        adapter.create_subscriber(spec("tp-2"), idempotency_key="c3")


def test_list_subscribers_follows_the_pages(adapter, fresh):
    for i in range(105):
        fresh.put_subscriber(f"tp-{i:03d}", enabled=i % 2 == 0, packages=["basic"] if i % 3 == 0 else [])
    states = {s.subscriber_id: s for s in adapter.list_subscribers()}
    assert len(states) == 105
    assert (states["tp-003"].enabled, states["tp-003"].packages) == (False, frozenset({"basic"}))
    pages = [e["params"]["page"] for e in adapter.exchanges if e["path"] == API + "/customers"]
    assert pages == [1, 2]
