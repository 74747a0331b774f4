"""Ministra REST API v1: the exact wire format (raw HTTP against the simulator process) and the adapter's
choices on top of it. The contract every adapter keeps is in test_adapter_contract.py."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode

import httpx
import pytest

from tripleplay.iptv.platforms.base import AlreadyExists, PermanentError, PlatformConfig, SubscriberSpec
from tripleplay.iptv.platforms.ministra import MinistraAdapter
from tripleplay.simulators.testing import running_simulator

API = "/stalker_portal/api"


@pytest.fixture(scope="module")
def sim():
    with running_simulator("ministra") as s:
        yield s


@pytest.fixture
def raw(sim):
    sim.reset()
    sim.set_faults()
    with httpx.Client(base_url=sim.url + API, auth=("tripleplay", "secret"), timeout=5) as client:
        yield client


@pytest.fixture
def adapter(sim):
    sim.reset()
    sim.set_faults()
    a = MinistraAdapter(PlatformConfig(base_url=sim.url, username="tripleplay", secret="secret", timeout_seconds=3))
    yield a
    a.close()


def spec(sid="tp-1", packages=("basic",), enabled=True, login="", device_id="00:1a:79:00:00:01"):
    return SubscriberSpec(subscriber_id=sid, enabled=enabled, packages=frozenset(packages), login=login or f"l-{sid}",
                          device_id=device_id, full_name="Grace Hopper", account_number=sid, phone="15550101")


def form(client, method, path, pairs, **headers):
    return client.request(method, path, content=urlencode(pairs).encode(),
                          headers={"Content-Type": "application/x-www-form-urlencoded", **headers})


# -- wire format ------------------------------------------------------------------------------------------
def test_bad_credentials_are_http_401_with_the_portal_message(sim, raw):
    r = httpx.get(sim.url + API + "/accounts", auth=("tripleplay", "wrong"))
    assert r.status_code == 401
    assert r.json() == {"status": "ERROR", "results": "", "error": "401 Unauthorized request"}
    assert r.headers["WWW-Authenticate"] == 'Basic realm="Stalker API"'
    assert httpx.get(sim.url + API + "/accounts").status_code == 401


def test_envelope_ok_and_error_both_with_http_200(raw):
    r = form(raw, "POST", "/accounts", [("login", "ada"), ("account_number", "1001"), ("status", "1")])
    assert (r.status_code, r.json()) == (200, {"status": "OK", "results": True})
    r = raw.get("/accounts/1001")
    body = r.json()
    assert r.status_code == 200 and body["status"] == "OK" and "error" not in body
    account = body["results"][0]
    assert (account["login"], account["account_number"], account["status"], account["subscribed"]) == (
        "ada", "1001", 1, [])
    assert {"full_name", "phone", "tariff_plan", "stb_mac", "comment", "end_date", "account_balance",
            "subscribed_id"} <= set(account)
    r = raw.get("/accounts/9999")
    assert (r.status_code, r.json()) == (200, {"status": "ERROR", "results": None, "error": "Account not found"})


def test_bodies_are_form_encoded_not_json(raw):
    r = raw.post("/accounts", json={"login": "ada", "account_number": "1001"})
    assert r.json()["error"] == "Insert data is empty"  # PHP parse_str does not read JSON
    assert raw.post("/accounts").json()["error"] == "HTTP POST data is empty"
    assert form(raw, "POST", "/accounts", [("full_name", "x")]).json()["error"] == "Login required"


def test_portal_validation_messages(raw):
    form(raw, "POST", "/accounts", [("login", "ada"), ("account_number", "1001"), ("stb_mac", "00:1A:79:00:00:01")])
    assert form(raw, "POST", "/accounts", [("login", "ada"), ("account_number", "1002")]).json()["error"] == (
        "Login already in use")
    assert form(raw, "POST", "/accounts", [("login", "bob"), ("account_number", "1002"),
                                           ("stb_mac", "00-1a-79-00-00-01")]).json()["error"] == (
        "MAC address already in use")
    assert form(raw, "POST", "/accounts", [("login", "bob"), ("stb_mac", "zz")]).json()["error"] == (
        "Not valid mac address")
    assert form(raw, "PUT", "/accounts", [("status", "0")]).json()["error"] == "Identifier required"
    assert form(raw, "PUT", "/accounts/1001,1002", [("status", "0")]).json()["error"] == "Only one identifier allowed"
    assert raw.get("/accounts/1001,7").json()["error"] == "One or more identifiers are incorrect"
    assert raw.post("/tariffs", content=b"a=1").json()["error"] == 'Resource "tariffs" does not support action "create"'
    assert raw.get("/no_such_thing").json()["error"] == 'Resource "NoSuchThing" does not exist'


def test_accounts_by_mac_and_the_v1_entry_point(sim, raw):
    form(raw, "POST", "/accounts", [("login", "ada"), ("account_number", "1001"), ("stb_mac", "001a79000001")])
    by_mac = raw.get("/accounts/00:1A:79:00:00:01").json()["results"]
    assert [a["account_number"] for a in by_mac] == ["1001"]
    r = httpx.get(sim.url + "/stalker_portal/api/v1/accounts/1001", auth=("tripleplay", "secret"))
    assert r.json()["results"][0]["stb_mac"] == "00:1A:79:00:00:01"


def test_status_1_and_0(sim, raw):
    form(raw, "POST", "/accounts", [("login", "ada"), ("account_number", "1001"), ("status", "0")])
    assert raw.get("/accounts/1001").json()["results"][0]["status"] == 0
    assert sim.subscribers()["1001"]["enabled"] is False
    assert form(raw, "PUT", "/accounts/1001", [("status", "1")]).json() == {"status": "OK", "results": True}
    assert raw.get("/accounts/1001").json()["results"][0]["status"] == 1
    assert sim.subscribers()["1001"]["enabled"] is True


def test_account_subscription_post_replaces_put_adds_and_removes_delete_clears(sim, raw):
    form(raw, "POST", "/accounts", [("login", "ada"), ("account_number", "1001"), ("stb_mac", "00:1A:79:00:00:01")])

    def subscribed():
        return raw.get("/account_subscription/1001").json()["results"][0]["subscribed"]

    r = form(raw, "POST", "/account_subscription/1001", [("subscribed[]", "basic"), ("subscribed[]", "sports")])
    assert r.json() == {"status": "OK", "results": True}
    assert sorted(subscribed()) == ["basic", "sports"]
    form(raw, "POST", "/account_subscription/1001", [("subscribed[]", "movies")])
    assert subscribed() == ["movies"]  # replaced, not added
    r = form(raw, "POST", "/account_subscription/1001", [("subscribed[]", "movies")])
    assert r.json() == {"status": "OK", "results": False}  # nothing changed: the portal answers false
    form(raw, "PUT", "/account_subscription/1001", [("subscribed[]", "kids"), ("unsubscribed[]", "movies")])
    assert subscribed() == ["kids"]
    form(raw, "PUT", "/account_subscription/1001", [("subscribed[0]", "basic")])
    assert sorted(subscribed()) == ["basic", "kids"]
    assert raw.delete("/account_subscription/1001").json() == {"status": "OK", "results": True}
    assert subscribed() == [] and sim.subscribers()["1001"]["packages"] == []
    # by MAC, and the subscribed_id alternative (the portal's internal package ids)
    ids = {p["external_id"]: p["id"] for p in raw.get("/services_package").json()["results"]}
    form(raw, "POST", "/account_subscription/00:1A:79:00:00:01", [("subscribed_id[]", ids["sports"])])
    assert subscribed() == ["sports"]
    assert raw.get("/account_subscription/1001").json()["results"][0]["subscribed_id"] == [ids["sports"]]


def test_account_subscription_errors(raw):
    form(raw, "POST", "/accounts", [("login", "ada"), ("account_number", "1001")])
    assert raw.post("/account_subscription/1001").json()["error"] == "HTTP POST data is empty"
    assert form(raw, "POST", "/account_subscription/1001", [("x", "1")]).json()["error"] == "Insert data is empty"
    assert raw.put("/account_subscription/1001").json()["error"] == "HTTP PUT data is empty"
    assert form(raw, "POST", "/account_subscription/4242", [("subscribed[]", "basic")]).json()["error"] == (
        "Account not found")
    r = form(raw, "POST", "/account_subscription/1001", [("subscribed[]", "nope")])
    assert (r.json()["status"], r.json()["error"]) == ("ERROR", "Package not found: nope")
    # 12+ characters are read as a MAC address by account_subscription (but not by accounts)
    form(raw, "POST", "/accounts", [("login", "long"), ("account_number", "123456789012")])
    assert raw.get("/accounts/123456789012").json()["status"] == "OK"
    assert raw.get("/account_subscription/123456789012").json()["error"] == "Account not found"


def test_catalog_resources(raw):
    packages = {p["external_id"]: p for p in raw.get("/services_package").json()["results"]}
    assert packages["basic"]["type"] == "tv" and packages["vod-plus"]["type"] == "video"
    channels = {str(c["id"]): c["name"] for c in raw.get("/itv").json()["results"]}
    assert [channels[s] for s in packages["sports"]["services"]] == ["sport-1", "sport-2"]
    plan = raw.get("/tariffs").json()["results"][0]
    assert {p["external_id"] for p in plan["packages"]} == set(packages)
    assert all(p["optional"] == "1" for p in plan["packages"])


def test_writes_are_deduplicated_by_the_idempotency_header(sim, raw):
    pairs = [("login", "ada"), ("account_number", "1001")]
    first = form(raw, "POST", "/accounts", pairs, **{"X-Idempotency-Key": "k1"})
    again = form(raw, "POST", "/accounts", pairs, **{"X-Idempotency-Key": "k1"})
    assert first.json() == again.json() == {"status": "OK", "results": True}
    assert sim.state()["stats"]["duplicates"] == 1
    assert form(raw, "POST", "/accounts", pairs).json()["error"] == "Login already in use"  # no key: applied


# -- the adapter on top ---------------------------------------------------------------------------------
def test_adapter_speaks_form_encoding_with_basic_auth_and_never_records_it(adapter):
    adapter.create_subscriber(spec(packages=("basic", "sports")), idempotency_key="c1")
    posts = [e for e in adapter.exchanges if e["method"] == "POST"]
    assert [e["path"] for e in posts] == [f"{API}/accounts", f"{API}/account_subscription/tp-1"]
    account = parse_qs(posts[0]["request"])
    assert account == {"login": ["l-tp-1"], "account_number": ["tp-1"], "status": ["1"],
                       "full_name": ["Grace Hopper"], "phone": ["15550101"], "stb_mac": ["00:1A:79:00:00:01"],
                       "comment": ["tripleplay tp-1"]}
    assert posts[1]["request"] == "subscribed[]=basic&subscribed[]=sports"
    assert posts[0]["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    assert posts[0]["headers"]["X-Idempotency-Key"] == "c1"
    assert posts[1]["headers"]["X-Idempotency-Key"] == "c1:subscription"
    assert "secret" not in str(adapter.exchanges) and "Authorization" not in str(adapter.exchanges)


def test_adapter_enable_disable_and_empty_set_use_the_documented_calls(adapter, sim):
    adapter.create_subscriber(spec(packages=("basic",)), idempotency_key="c1")
    adapter.exchanges.clear()
    adapter.set_enabled("tp-1", False, idempotency_key="d1")
    adapter.set_packages("tp-1", frozenset(), idempotency_key="p0")
    assert [(e["method"], e["path"], e["request"]) for e in adapter.exchanges] == [
        ("PUT", f"{API}/accounts/tp-1", "status=0"), ("DELETE", f"{API}/account_subscription/tp-1", "")]
    assert sim.subscribers()["tp-1"]["enabled"] is False and sim.subscribers()["tp-1"]["packages"] == []
    state = adapter.get_subscriber("tp-1")
    assert state.raw["login"] == "l-tp-1" and state.raw["status"] == 0


def test_adapter_checks_packages_the_portal_would_silently_ignore(adapter, sim):
    adapter.create_subscriber(spec(packages=()), idempotency_key="c1")
    adapter.exchanges.clear()
    with pytest.raises(PermanentError, match="unknown Ministra package"):
        adapter.set_packages("tp-1", frozenset({"basic", "ghost"}), idempotency_key="p1")
    assert [e["method"] for e in adapter.exchanges] == ["GET"]  # refused before anything was sent
    # a create refused for its packages takes the account back
    with pytest.raises(PermanentError):
        adapter.create_subscriber(spec("tp-2", packages=("ghost",), device_id=""), idempotency_key="c2")
    assert "tp-2" not in sim.subscribers()
    assert ("DELETE", f"{API}/accounts/tp-2") in [(e["method"], e["path"]) for e in adapter.exchanges]
    # a package added on the portal after the catalog was cached is found by looking again
    sim.set_packages([*sim.state()["packages"].values(), {"external_id": "ghost", "name": "Ghost", "kind": "channel"}])
    adapter.set_packages("tp-1", frozenset({"ghost"}), idempotency_key="p2")
    assert sim.subscribers()["tp-1"]["packages"] == ["ghost"]


def test_login_taken_by_another_account_is_not_already_exists(adapter):
    adapter.create_subscriber(spec("tp-1", login="shared"), idempotency_key="c1")
    with pytest.raises(AlreadyExists):
        adapter.create_subscriber(spec("tp-1", login="shared"), idempotency_key="c2")
    with pytest.raises(PermanentError) as err:
        adapter.create_subscriber(spec("tp-2", login="shared", device_id=""), idempotency_key="c3")
    assert not isinstance(err.value, AlreadyExists) and err.value.code == "login_in_use"


def test_identifiers_of_12_characters_or_more_are_refused_before_sending(adapter):
    with pytest.raises(PermanentError, match="account_number"):
        adapter.create_subscriber(spec("tp-123456789"), idempotency_key="c1")
    with pytest.raises(PermanentError):
        adapter.get_subscriber("00:1A:79:00:00:01")
    assert adapter.exchanges == []


def test_list_packages_and_api_url_forms(sim):
    sim.reset()
    for base in (sim.url, sim.url + "/stalker_portal/api", sim.url + "/stalker_portal/api/v1/"):
        with MinistraAdapter(PlatformConfig(base_url=base, username="tripleplay", secret="secret")) as a:
            packages = {p.external_id: p for p in a.list_packages()}
            assert packages["sports"].channels == ("sport-1", "sport-2")
            assert (packages["basic"].kind, packages["vod-plus"].kind) == ("channel", "service")
    with MinistraAdapter(PlatformConfig(base_url=sim.url + "/portal", username="tripleplay", secret="secret",
                                        options={"api_path": "/stalker_portal/api/v1"})) as a:
        with pytest.raises(PermanentError, match="not a Ministra API answer"):
            a.list_packages()  # /portal/stalker_portal/api/v1 does not exist: a 404 page


def test_list_subscribers_reads_every_account(adapter, sim):
    for i in range(3):
        adapter.create_subscriber(spec(f"tp-{i}", packages=("kids",) if i else (), device_id=""),
                                  idempotency_key=f"c{i}")
    sim.put_subscriber("tp-1", enabled=False)  # drift made on the portal
    states = {s.subscriber_id: s for s in adapter.list_subscribers()}
    assert set(states) == {"tp-0", "tp-1", "tp-2"}
    assert (states["tp-1"].enabled, states["tp-1"].packages) == (False, frozenset({"kids"}))
