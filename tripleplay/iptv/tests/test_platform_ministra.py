"""Ministra REST API v1: the portal's behaviour as its public source has it (raw HTTP against the strict
simulator process), and the adapter on top of it. The contract every adapter keeps is in
test_adapter_contract.py. Sources: docs/platforms/ministra.md."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode

import httpx
import pytest

from tripleplay.iptv.platforms.base import AlreadyExists, PermanentError, PlatformConfig, SubscriberSpec
from tripleplay.iptv.platforms.ministra import MinistraAdapter, canonical_mac, map_onto_plan
from tripleplay.simulators.testing import running_simulator

API = "/stalker_portal/api"
# basic is in every account's plan (mandatory), sports and movies may be sold, kids is not in the plan.
PLANS = [{"external_id": "tripleplay", "name": "Tripleplay", "user_default": 1,
          "packages": {"basic": "mandatory", "sports": "optional", "movies": "optional", "vod-plus": "optional"}},
         {"external_id": "kids-only", "name": "Kids", "packages": {"kids": "optional"}}]


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


def set_tariffs(sim, plans):
    sim.control.put("/tariffs", json=plans).raise_for_status()


def spec(sid="tp-1", packages=("basic",), enabled=True, login="", device_id="00:1a:79:00:00:01"):
    return SubscriberSpec(subscriber_id=sid, enabled=enabled, packages=frozenset(packages), login=login or f"l-{sid}",
                          device_id=device_id, full_name="Grace Hopper", account_number=sid, phone="15550101")


def form(client, method, path, pairs, **headers):
    return client.request(method, path, content=urlencode(pairs).encode(),
                          headers={"Content-Type": "application/x-www-form-urlencoded", **headers})


def writes(adapter):
    return [(e["method"], e["path"], e["request"]) for e in adapter.exchanges if e["method"] != "GET"]


# -- pure rules -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("value, canonical", [
    ("00:1A:79:00:00:01", "00:1A:79:00:00:01"), ("00:1a:79:00:00:01", "00:1A:79:00:00:01"),
    ("001a79000001", "00:1A:79:00:00:01"), ("00-1A-79-00-00-01", "00:1A:79:00:00:01"),
    ("001a.7900.0001", "00:1A:79:00:00:01"), (" 00:1a:79:00:00:01 ", "00:1A:79:00:00:01"),
    ("00:1a-79:00:00:01", None), ("00:1A:79:00:00", None), ("SN-12345", None), ("", None),
    ("zz:1A:79:00:00:01", None),
])
def test_canonical_mac(value, canonical):
    assert canonical_mac(value) == canonical


@pytest.mark.parametrize("wanted, subscribe, included, problems", [
    ({"basic", "sports"}, {"sports"}, {"basic"}, ()),
    ({"basic"}, set(), {"basic"}, ()),
    ({"sports"}, {"sports"}, set(), ("mandatory",)),
    ({"basic", "kids"}, set(), {"basic"}, ("not in tariff plan",)),
    ({"basic", "ghost"}, set(), {"basic"}, ("unknown",)),
    (set(), set(), set(), ()),  # no IPTV content: the account is disabled, the plan's mandatory ones stay
])
def test_map_onto_plan(wanted, subscribe, included, problems):
    plan = {"basic": False, "sports": True, "movies": True}
    m = map_onto_plan(frozenset(wanted), "tripleplay", plan, {"basic", "sports", "movies", "kids"})
    assert (set(m.subscribe), set(m.included)) == (subscribe, included)
    assert len(m.problems) == len(problems) and all(p in text for p, text in zip(problems, m.problems, strict=True))


# -- the portal, raw -----------------------------------------------------------------------------------------
def test_bad_credentials_are_http_401_with_the_portal_message_and_realm(sim, raw):
    r = httpx.get(sim.url + API + "/accounts", auth=("tripleplay", "wrong"))
    assert r.status_code == 401
    assert r.json() == {"status": "ERROR", "results": "", "error": "401 Unauthorized request"}
    assert r.headers["WWW-Authenticate"] == 'Basic realm="Stalker API"'
    assert httpx.get(sim.url + API + "/no_such_thing").status_code == 401  # credentials before resources


def test_the_request_is_parsed_before_the_credentials_are_checked(sim, raw):
    # RESTManager::handleRequest builds the RESTRequest (which throws) before it checks HTTP Basic
    r = httpx.get(sim.url + API + "/")
    assert (r.status_code, r.json()) == (200, {"status": "ERROR", "results": None, "error": "Empty resource"})
    r = httpx.request("PATCH", sim.url + API + "/accounts")
    assert (r.status_code, r.json()["error"]) == (200, "Not supported method")


def test_envelope_ok_and_error_both_with_http_200(raw):
    r = form(raw, "POST", "/accounts", [("login", "ada"), ("account_number", "1001"), ("status", "1")])
    assert (r.status_code, r.json()) == (200, {"status": "OK", "results": True})
    body = raw.get("/accounts/1001").json()
    assert body["status"] == "OK" and "error" not in body
    account = body["results"][0]
    assert (account["login"], account["account_number"], account["status"], account["subscribed"]) == (
        "ada", "1001", 1, [])
    assert {"full_name", "phone", "tariff_plan", "stb_mac", "stb_sn", "comment", "subscribed_id"} <= set(account)
    r = raw.get("/accounts/9999")
    assert (r.status_code, r.json()) == (200, {"status": "ERROR", "results": None, "error": "Account not found"})


def test_bodies_are_form_encoded_not_json(raw):
    assert raw.post("/accounts", json={"login": "ada"}).json()["error"] == "Insert data is empty"
    assert raw.post("/accounts").json()["error"] == "HTTP POST data is empty"
    assert form(raw, "POST", "/accounts", [("full_name", "x")]).json()["error"] == "Login required"
    assert raw.put("/accounts/1").json()["error"] == "HTTP POST data is empty"  # sic, for PUT too


def test_portal_validation_messages(raw):
    form(raw, "POST", "/accounts", [("login", "ada"), ("account_number", "1001"), ("stb_mac", "00:1A:79:00:00:01")])
    assert form(raw, "POST", "/accounts", [("login", "bob"), ("stb_mac", "001a79000001")]).json()["error"] == (
        "MAC address already in use")
    assert form(raw, "POST", "/accounts", [("login", "bob"), ("stb_mac", "zz")]).json()["error"] == (
        "Not valid mac address")
    assert form(raw, "PUT", "/accounts", [("status", "0")]).json()["error"] == "Identifier required"
    assert form(raw, "PUT", "/accounts/1001,1002", [("status", "0")]).json()["error"] == "Only one identifier allowed"
    assert raw.get("/accounts/1001,7").json()["error"] == "One or more identifiers are incorrect"
    assert raw.post("/tariffs", content=b"a=1").json()["error"] == 'Resource "tariffs" does not support action "create"'
    assert raw.get("/no_such_thing").json()["error"] == 'Resource "NoSuchThing" does not exist'


def test_a_repeated_post_accounts_is_login_already_in_use_whatever_the_key(sim, raw):
    pairs = [("login", "ada"), ("account_number", "1001")]
    assert form(raw, "POST", "/accounts", pairs, **{"X-Idempotency-Key": "k1"}).json()["results"] is True
    again = form(raw, "POST", "/accounts", pairs, **{"X-Idempotency-Key": "k1"}).json()
    assert again == {"status": "ERROR", "results": None, "error": "Login already in use"}
    assert sim.state()["stats"]["duplicates"] == 0 and list(sim.subscribers()) == ["1001"]


def test_an_account_number_may_be_shared_and_then_every_write_hits_all_of_them(sim, raw):
    form(raw, "POST", "/accounts", [("login", "ada"), ("account_number", "77")])
    form(raw, "POST", "/accounts", [("login", "eve"), ("account_number", "77")])
    assert sorted(a["login"] for a in raw.get("/accounts/77").json()["results"]) == ["ada", "eve"]
    form(raw, "PUT", "/accounts/77", [("status", "0")])
    assert [a["status"] for a in raw.get("/accounts/77").json()["results"]] == [0, 0]
    assert form(raw, "PUT", "/accounts/77", [("login", "ada")]).json()["error"] == "Login already in use"
    assert raw.delete("/accounts/77").json()["results"] is True
    assert sim.subscribers() == {}  # both went


def test_mac_forms_on_create_and_on_update(sim, raw):
    form(raw, "POST", "/accounts", [("login", "a"), ("account_number", "1"), ("stb_mac", "001a79000001")])
    form(raw, "POST", "/accounts", [("login", "b"), ("account_number", "2"), ("stb_mac", "00-1a-79-00-00-02")])
    assert raw.get("/accounts/1").json()["results"][0]["stb_mac"] == "00:1A:79:00:00:01"  # 12 characters: colons
    assert raw.get("/accounts/2").json()["results"][0]["stb_mac"] == "00-1A-79-00-00-02"  # 17: kept as it is
    assert raw.get("/accounts/00:1A:79:00:00:02").json()["error"] == "Account not found"
    # PUT writes stb_mac as sent, and a non-empty one clears the box's token and device ids
    sim.put_subscriber("1", access_token="t0k3n", device_id="d1", device_id2="d2")
    form(raw, "PUT", "/accounts/1", [("stb_mac", "00:1a:79:00:00:03")])
    assert sim.subscribers()["1"]["stb_mac"] == "00:1a:79:00:00:03"
    assert (sim.subscribers()["1"]["access_token"], sim.subscribers()["1"]["device_id"]) == ("", "")
    assert raw.get("/accounts/00:1A:79:00:00:03").json()["error"] == "Account not found"
    sim.put_subscriber("1", access_token="t0k3n")
    form(raw, "PUT", "/accounts/1", [("full_name", "x")])
    assert sim.subscribers()["1"]["access_token"] == "t0k3n"  # no stb_mac, no clearing
    form(raw, "PUT", "/accounts/1", [("stb_mac", "")])
    assert sim.subscribers()["1"]["stb_mac"] == "" and sim.subscribers()["1"]["access_token"] == "t0k3n"


def test_an_unknown_tariff_plan_is_stored_as_the_default_plan(sim, raw):
    set_tariffs(sim, PLANS)
    form(raw, "POST", "/accounts", [("login", "a"), ("account_number", "1"), ("tariff_plan", "no-such-plan")])
    form(raw, "POST", "/accounts", [("login", "b"), ("account_number", "2"), ("tariff_plan", "kids-only")])
    assert raw.get("/accounts/1").json()["results"][0]["tariff_plan"] == "tripleplay"
    assert raw.get("/accounts/2").json()["results"][0]["tariff_plan"] == "kids-only"


def test_account_subscription_applies_only_optional_packages_of_the_plan(sim, raw):
    set_tariffs(sim, PLANS)
    form(raw, "POST", "/accounts", [("login", "ada"), ("account_number", "1001")])

    def subscribed():
        return raw.get("/account_subscription/1001").json()["results"][0]["subscribed"]

    for refused in ("basic", "kids", "nope"):  # mandatory, not in the plan, unknown: ignored, results false
        r = form(raw, "POST", "/account_subscription/1001", [("subscribed[]", refused)])
        assert r.json() == {"status": "OK", "results": False}
    assert subscribed() == []
    r = form(raw, "POST", "/account_subscription/1001", [("subscribed[]", "sports"), ("subscribed[]", "kids")])
    assert r.json()["results"] is True and subscribed() == ["sports"]  # true: one of them applied
    assert raw.get("/accounts/1001").json()["results"][0]["subscribed"] == ["sports"]  # mandatory never listed


def test_account_subscription_post_replaces_put_adds_and_removes_delete_clears(sim, raw):
    form(raw, "POST", "/accounts", [("login", "ada"), ("account_number", "1001"), ("stb_mac", "00:1A:79:00:00:01")])

    def subscribed():
        return raw.get("/account_subscription/1001").json()["results"][0]["subscribed"]

    r = form(raw, "POST", "/account_subscription/1001", [("subscribed[]", "basic"), ("subscribed[]", "sports")])
    assert r.json() == {"status": "OK", "results": True}
    assert subscribed() == ["basic", "sports"]
    form(raw, "POST", "/account_subscription/1001", [("subscribed[]", "movies")])
    assert subscribed() == ["movies"]  # replaced, not added
    assert form(raw, "POST", "/account_subscription/1001", [("subscribed[]", "movies")]).json()["results"] is False
    form(raw, "PUT", "/account_subscription/1001", [("subscribed[]", "kids"), ("unsubscribed[]", "movies")])
    assert subscribed() == ["kids"]
    assert raw.delete("/account_subscription/1001").json() == {"status": "OK", "results": True}
    assert raw.delete("/account_subscription/1001").json() == {"status": "OK", "results": False}
    ids = {p["external_id"]: p["id"] for p in raw.get("/services_package").json()["results"]}
    form(raw, "POST", "/account_subscription/00:1A:79:00:00:01", [("subscribed_id[]", ids["sports"])])
    assert subscribed() == ["sports"]
    # 12+ characters are read as a MAC address by account_subscription (not by accounts)
    form(raw, "POST", "/accounts", [("login", "long"), ("account_number", "123456789012")])
    assert raw.get("/accounts/123456789012").json()["status"] == "OK"
    assert raw.get("/account_subscription/123456789012").json()["error"] == "Account not found"


def test_catalog_resources_have_the_portals_field_shapes(sim, raw):
    set_tariffs(sim, PLANS)
    packages = {p["external_id"]: p for p in raw.get("/services_package").json()["results"]}
    assert packages["sports"]["services"] == [{"id": packages["sports"]["services"][0]["id"], "name": "sport-1"},
                                              {"id": packages["sports"]["services"][1]["id"], "name": "sport-2"}]
    assert (packages["vod-plus"]["type"], packages["vod-plus"]["services"]) == ("video", "all")
    channel = raw.get("/itv").json()["results"][0]
    assert set(channel) == {"id", "name", "number", "base_ch", "hd", "url", "enable_monitoring"}  # no xmltv_id
    plans = {t["external_id"]: t for t in raw.get("/tariffs").json()["results"]}
    assert {p["external_id"]: p["optional"] for p in plans["tripleplay"]["packages"]} == {
        "basic": "0", "sports": "1", "movies": "1", "vod-plus": "1"}
    assert (plans["tripleplay"]["user_default"], plans["kids-only"]["user_default"]) == ("1", "0")


# -- the adapter on top ---------------------------------------------------------------------------------
def test_adapter_speaks_form_encoding_with_basic_auth_and_never_records_it(adapter):
    adapter.create_subscriber(spec(packages=("basic", "sports"), device_id="00-1a-79-00-00-01"), idempotency_key="c1")
    posts = [e for e in adapter.exchanges if e["method"] == "POST"]
    assert [e["path"] for e in posts] == [f"{API}/accounts", f"{API}/account_subscription/tp-1"]
    assert parse_qs(posts[0]["request"]) == {
        "login": ["l-tp-1"], "account_number": ["tp-1"], "status": ["1"], "full_name": ["Grace Hopper"],
        "phone": ["15550101"], "stb_mac": ["00:1A:79:00:00:01"], "comment": ["tripleplay tp-1"]}
    assert posts[1]["request"] == "subscribed[]=basic&subscribed[]=sports"
    assert posts[0]["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    assert "secret" not in str(adapter.exchanges) and "Authorization" not in str(adapter.exchanges)


def test_package_import_reads_channel_names_from_services_objects(adapter, sim):
    packages = {p.external_id: p for p in adapter.list_packages()}
    assert packages["sports"].channels == ("sport-1", "sport-2")
    assert (packages["basic"].kind, packages["vod-plus"].kind, packages["vod-plus"].channels) == (
        "channel", "service", ())
    assert [e["path"] for e in adapter.exchanges] == [f"{API}/services_package"]  # no itv, no xmltv_id


def test_adapter_maps_billings_set_onto_the_plans_optional_packages(adapter, sim):
    set_tariffs(sim, PLANS)
    adapter.create_subscriber(spec(packages=("basic", "sports")), idempotency_key="c1")
    assert [w for w in writes(adapter) if "account_subscription" in w[1]] == [
        ("POST", f"{API}/account_subscription/tp-1", "subscribed[]=sports")]  # basic comes with the plan
    assert adapter.get_subscriber("tp-1").packages == frozenset({"basic", "sports"})
    adapter.exchanges.clear()
    adapter.set_packages("tp-1", frozenset({"basic", "movies"}), idempotency_key="p1")
    assert writes(adapter) == [("POST", f"{API}/account_subscription/tp-1", "subscribed[]=movies")]
    assert sim.subscribers()["tp-1"]["packages"] == ["movies"]
    adapter.exchanges.clear()
    adapter.set_packages("tp-1", frozenset({"basic"}), idempotency_key="p2")
    assert writes(adapter) == [("DELETE", f"{API}/account_subscription/tp-1", "")]
    adapter.exchanges.clear()
    adapter.set_packages("tp-1", frozenset({"basic"}), idempotency_key="p2")  # already so: nothing sent
    assert writes(adapter) == []


def test_what_the_plan_cannot_hold_is_refused_before_anything_is_sent(adapter, sim):
    set_tariffs(sim, PLANS)
    adapter.create_subscriber(spec(packages=("basic",)), idempotency_key="c1")
    adapter.exchanges.clear()
    with pytest.raises(PermanentError, match="mandatory in tariff plan 'tripleplay'") as err:
        adapter.set_packages("tp-1", frozenset({"sports"}), idempotency_key="p1")
    assert err.value.code == "not_in_plan"
    with pytest.raises(PermanentError, match="kids are not in tariff plan 'tripleplay'"):
        adapter.set_packages("tp-1", frozenset({"basic", "kids"}), idempotency_key="p2")
    with pytest.raises(PermanentError, match="unknown Ministra package") as err:
        adapter.set_packages("tp-1", frozenset({"basic", "ghost"}), idempotency_key="p3")
    assert err.value.code == "unknown_package"
    with pytest.raises(PermanentError, match="not in tariff plan"):  # a create is checked before the account
        adapter.create_subscriber(spec("tp-2", packages=("basic", "kids"), device_id=""), idempotency_key="c2")
    assert writes(adapter) == [] and sorted(sim.subscribers()) == ["tp-1"]


def test_results_false_is_a_permanent_visible_failure_never_success(adapter, sim):
    set_tariffs(sim, PLANS)
    adapter.create_subscriber(spec(packages=("basic",)), idempotency_key="c1")
    adapter.list_packages()
    # the operator takes sports out of the plan after the adapter read the plans (they are cached)
    set_tariffs(sim, [{**PLANS[0], "packages": {"basic": "mandatory", "movies": "optional"}}])
    adapter.exchanges.clear()
    with pytest.raises(PermanentError) as err:
        adapter.set_packages("tp-1", frozenset({"basic", "sports"}), idempotency_key="p1")
    assert err.value.code == "subscription_not_applied"
    assert "results: false" in err.value.message and "optional in the account's tariff plan" in err.value.message
    assert writes(adapter) == [("POST", f"{API}/account_subscription/tp-1", "subscribed[]=sports")]
    assert sim.subscribers()["tp-1"]["packages"] == []


def test_a_lost_subscription_answer_is_retried_safely(adapter, sim):
    adapter.create_subscriber(spec(packages=()), idempotency_key="c1")
    lost = []

    def lose(response):
        if "account_subscription" in response.request.url.path and not lost:
            lost.append(1)
            raise httpx.ReadError("lost", request=response.request)

    adapter._client.event_hooks["response"].append(lose)
    with pytest.raises(Exception):  # noqa: B017 - TransientError, the answer never came
        adapter.set_packages("tp-1", frozenset({"sports"}), idempotency_key="p1")
    assert sim.subscribers()["tp-1"]["packages"] == ["sports"]
    adapter.exchanges.clear()
    adapter.set_packages("tp-1", frozenset({"sports"}), idempotency_key="p1")
    assert writes(adapter) == []  # read back: already applied, nothing re-sent


def test_mac_sent_canonical_only_when_it_changes_and_empty_to_unbind(adapter, sim):
    adapter.create_subscriber(spec(packages=(), device_id="001a79000001"), idempotency_key="c1")
    assert sim.subscribers()["tp-1"]["stb_mac"] == "00:1A:79:00:00:01"
    sim.put_subscriber("tp-1", access_token="t0k3n", device_id="box-1")
    adapter.exchanges.clear()
    adapter.update_details(spec(device_id="00-1A-79-00-00-01"), idempotency_key="d1")  # the same box
    assert "stb_mac" not in parse_qs(writes(adapter)[0][2])
    assert sim.subscribers()["tp-1"]["access_token"] == "t0k3n"  # the box stays logged in
    adapter.exchanges.clear()
    adapter.update_details(spec(device_id="00:1a:79:00:00:02"), idempotency_key="d2")  # a new box
    assert parse_qs(writes(adapter)[0][2])["stb_mac"] == ["00:1A:79:00:00:02"]
    assert (sim.subscribers()["tp-1"]["stb_mac"], sim.subscribers()["tp-1"]["access_token"]) == (
        "00:1A:79:00:00:02", "")
    adapter.exchanges.clear()
    adapter.update_details(spec(device_id="SN-4711"), idempotency_key="d3")  # not a MAC: left alone
    assert "stb_mac" not in parse_qs(writes(adapter)[0][2])
    adapter.update_details(spec(device_id=""), idempotency_key="d4")  # the box was returned
    assert writes(adapter)[-1][2].endswith("stb_mac=")
    assert sim.subscribers()["tp-1"]["stb_mac"] == ""
    assert adapter.get_subscriber("tp-1").raw["stb_mac"] == ""


def test_login_already_in_use_paths(adapter, sim, raw):
    form(raw, "POST", "/accounts", [("login", "shared"), ("account_number", "other")])
    with pytest.raises(PermanentError) as err:  # a stranger's login: permanent, nothing made
        adapter.create_subscriber(spec("tp-2", login="shared", device_id=""), idempotency_key="c1")
    assert not isinstance(err.value, AlreadyExists) and err.value.code == "login_in_use"
    assert sorted(sim.subscribers()) == ["other"]
    # a create that races with the same create (its POST answers Login already in use): AlreadyExists
    racing = []

    def make_it_first(request):
        if request.method == "POST" and request.url.path.endswith("/accounts") and not racing:
            racing.append(form(raw, "POST", "/accounts", [("login", "l-tp-3"), ("account_number", "tp-3"),
                                                          ("comment", "tripleplay tp-3")]).json())

    adapter._client.event_hooks["request"].append(make_it_first)
    with pytest.raises(AlreadyExists):
        adapter.create_subscriber(spec("tp-3", packages=(), device_id=""), idempotency_key="c2")
    assert racing == [{"status": "OK", "results": True}]
    assert [e["response"] for e in adapter.exchanges if e["method"] == "POST"][-1].count("Login already in use") == 1


def test_a_shared_account_number_is_detected_and_no_strangers_account_is_touched(adapter, sim, raw):
    form(raw, "POST", "/accounts", [("login", "stranger"), ("account_number", "tp-1"), ("status", "1")])
    with pytest.raises(PermanentError) as err:  # our number held by someone else: no second account
        adapter.create_subscriber(spec("tp-1", packages=(), device_id=""), idempotency_key="c1")
    assert err.value.code == "account_number_in_use"
    form(raw, "POST", "/accounts", [("login", "l-tp-1"), ("account_number", "tp-1"), ("status", "1")])
    adapter.exchanges.clear()
    for call in (lambda: adapter.get_subscriber("tp-1"),
                 lambda: adapter.delete_subscriber("tp-1", idempotency_key="x1"),
                 lambda: adapter.set_enabled("tp-1", False, idempotency_key="x2"),
                 lambda: adapter.set_packages("tp-1", frozenset({"sports"}), idempotency_key="x3"),
                 lambda: adapter.update_details(spec("tp-1"), idempotency_key="x4")):
        with pytest.raises(PermanentError) as err:
            call()
        assert err.value.code == "ambiguous_account" and "stranger" in err.value.message
    assert writes(adapter) == []
    accounts = raw.get("/accounts/tp-1").json()["results"]
    assert sorted((a["login"], a["status"], a["subscribed"]) for a in accounts) == [
        ("l-tp-1", 1, []), ("stranger", 1, [])]


def test_tariff_plan_option_must_exist(sim):
    sim.reset()
    set_tariffs(sim, PLANS)
    config = PlatformConfig(base_url=sim.url, username="tripleplay", secret="secret", options={"tariff_plan": "gold"})
    with MinistraAdapter(config) as a:
        with pytest.raises(PermanentError, match="'gold' does not exist") as err:
            a.create_subscriber(spec(packages=(), device_id=""), idempotency_key="c1")
        assert err.value.code == "unknown_tariff_plan" and sim.subscribers() == {}
    config = PlatformConfig(base_url=sim.url, username="tripleplay", secret="secret",
                            options={"tariff_plan": "kids-only"})
    with MinistraAdapter(config) as a:
        a.create_subscriber(spec(packages=("kids",), device_id=""), idempotency_key="c2")
        assert a.get_subscriber("tp-1").packages == frozenset({"kids"})
        assert a.get_subscriber("tp-1").raw["tariff_plan"] == "kids-only"


def test_identifiers_of_12_characters_or_more_are_refused_before_sending(adapter):
    with pytest.raises(PermanentError, match="account_number"):
        adapter.create_subscriber(spec("tp-123456789"), idempotency_key="c1")
    with pytest.raises(PermanentError):
        adapter.get_subscriber("00:1A:79:00:00:01")
    assert adapter.exchanges == []


def test_api_url_forms(sim):
    sim.reset()
    for base in (sim.url, sim.url + "/stalker_portal/api", sim.url + "/stalker_portal/api/v1/"):
        with MinistraAdapter(PlatformConfig(base_url=base, username="tripleplay", secret="secret")) as a:
            assert {p.external_id for p in a.list_packages()} >= {"basic", "sports"}
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


def test_an_account_without_iptv_content_keeps_only_the_plans_mandatory_packages(adapter, sim):
    set_tariffs(sim, PLANS)
    adapter.create_subscriber(spec(packages=("basic", "sports")), idempotency_key="c1")
    adapter.exchanges.clear()
    adapter.set_packages("tp-1", frozenset(), idempotency_key="p0")  # e.g. changed to an internet-only product
    assert writes(adapter) == [("DELETE", f"{API}/account_subscription/tp-1", "")]
    assert adapter.get_subscriber("tp-1").packages == frozenset({"basic"})  # the plan's, reported as they are


def test_a_portal_without_tariff_plans_takes_accounts_without_packages(adapter, sim):
    set_tariffs(sim, [])
    adapter.create_subscriber(spec(packages=(), device_id=""), idempotency_key="c1")
    assert sim.subscribers()["tp-1"]["enabled"] is True
    with pytest.raises(PermanentError, match="tariff plan"):
        adapter.set_packages("tp-1", frozenset({"sports"}), idempotency_key="p1")
