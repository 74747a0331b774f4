"""TVIP TMS provider API: the wire format (raw HTTP against the simulator process), the adapter's choices
on top of it, and the billing API's TMS side. The contract every adapter keeps is in
test_adapter_contract.py; docs/platforms/tvip.md says which parts follow the public reference."""

from __future__ import annotations

import hashlib
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from tripleplay.iptv.platforms.base import (
    AlreadyExists,
    PermanentError,
    PlatformConfig,
    SubscriberNotFound,
    SubscriberSpec,
)
from tripleplay.iptv.platforms.tvip import TvipAdapter
from tripleplay.simulators.testing import running_simulator

API = "/api/provider"
BASIC, SPORTS, MOVIES = "1", "2", "3"  # the simulator numbers its default packages in order


@pytest.fixture(scope="module")
def sim():
    with running_simulator("tvip") as s:
        yield s


@pytest.fixture
def raw(sim):
    sim.reset()
    sim.set_faults()
    with httpx.Client(base_url=sim.url + API, auth=("tripleplay", "secret"), timeout=5,
                      headers={"Accept": "application/json"}) as client:
        yield client


@pytest.fixture
def adapter(sim):
    sim.reset()
    sim.set_faults()
    a = TvipAdapter(PlatformConfig(base_url=sim.url, username="tripleplay", secret="secret", timeout_seconds=3))
    yield a
    a.close()


def spec(sid="tp-1", packages=(BASIC,), enabled=True, login="", device_id="00:1a:79:00:00:01"):
    return SubscriberSpec(subscriber_id=sid, enabled=enabled, packages=frozenset(packages), login=login or f"l-{sid}",
                          device_id=device_id, full_name="Grace Hopper", account_number=sid, phone="15550101")


# -- wire format ------------------------------------------------------------------------------------------
def test_bad_credentials_are_401_with_a_basic_challenge(sim, raw):
    r = httpx.get(sim.url + API + "/accounts", auth=("tripleplay", "wrong"))
    assert (r.status_code, r.json()) == (401, {"statusCode": 401, "cause": "Unauthorized"})
    assert r.headers["WWW-Authenticate"] == 'Basic realm="TMS"'
    assert httpx.get(sim.url + API + "/tarifs").status_code == 401


def test_lists_are_data_arrays_paged_by_start_and_limit(raw):
    page = raw.get("/tarifs", params={"start": 1, "limit": 2}).json()
    assert page == {"data": [{"id": 2, "name": "Sports Pack", "enabled": True, "description": ""},
                             {"id": 3, "name": "Movies Pack", "enabled": True, "description": ""}], "total": 5}
    assert [t["id"] for t in raw.get("/tarifs", params={"limit": 0}).json()["data"]] == [1, 2, 3, 4, 5]
    assert raw.get("/tarifs/4").json()["name"] == "Kids Pack"
    assert raw.get("/tarifs/9").json() == {"statusCode": 404, "cause": "Tarif 9 not found"}


def test_post_without_id_creates_and_with_id_modifies_only_what_is_sent(raw, sim):
    made = raw.post("/accounts", json={"login": "ada", "enable": True, "provider": 1, "fullname": "Ada",
                                       "remote_custom_field": "tp-7"})
    assert made.status_code == 200
    account = made.json()
    assert (account["id"], account["login"], account["enable"], account["remote_custom_field"]) == (1, "ada", True, "tp-7")
    changed = raw.post("/accounts", json={"id": 1, "enable": False}).json()
    assert (changed["login"], changed["fullname"], changed["enable"]) == ("ada", "Ada", False)
    assert sim.subscribers()["tp-7"]["enabled"] is False
    assert raw.get("/accounts", params={"login": "ada"}).json()["data"][0]["id"] == 1
    assert raw.delete("/accounts/1").status_code == 200
    assert raw.get("/accounts/1").status_code == 404


@pytest.mark.parametrize("body, status, cause", [
    ({"login": "x", "enable": True}, 400, "provider: must not be null"),
    ({"login": "", "provider": 1}, 400, "login: must not be empty"),
    ({"login": "x", "provider": 2}, 400, "Provider 2 not found"),
    ({"login": "x", "provider": 1, "enabled": True}, 400, "Unrecognized field(s): enabled"),
    ({"login": "x", "provider": 1, "enable": "yes"}, 400, "enable: a boolean is expected"),
    ({"id": 99, "enable": False}, 404, "Account 99 not found"),
])
def test_account_writes_tms_refuses(raw, sim, body, status, cause):
    r = raw.post("/accounts", json=body)
    assert (r.status_code, r.json()) == (status, {"statusCode": status, "cause": cause})
    assert sim.subscribers() == {}


def test_methods_and_content_types_tms_refuses(raw):
    assert raw.put("/accounts/1", json={"enable": False}).status_code == 405
    assert raw.post("/accounts/1", json={"enable": False}).status_code == 405
    assert raw.post("/accounts", content=b"login=x", headers={"Content-Type": "application/x-www-form-urlencoded"}
                    ).status_code == 415
    assert raw.post("/accounts", content=b"{", headers={"Content-Type": "application/json"}).status_code == 400
    assert raw.get("/accounts/abc").status_code == 400
    assert raw.get("/no_such_thing").status_code == 404


def test_a_login_is_unique_within_the_provider(raw):
    assert raw.post("/accounts", json={"login": "ada", "provider": 1}).status_code == 200
    r = raw.post("/accounts", json={"login": "ada", "provider": 1})
    assert (r.status_code, r.json()["cause"]) == (409, "Account with login 'ada' already exists")


def test_subscriptions_need_a_known_account_tariff_and_a_tms_date(raw, sim):
    account = raw.post("/accounts", json={"login": "ada", "provider": 1, "remote_custom_field": "tp-1"}).json()["id"]
    for body, cause in [({"account": account, "tarif": 9, "start": "2025-03-04T10:00:00+0000"}, "tarif: Tarif 9 not found"),
                        ({"account": 42, "tarif": 1, "start": "2025-03-04T10:00:00+0000"}, "account: Account 42 not found"),
                        ({"account": account, "tarif": 1, "start": "2025-03-04 10:00:00"},
                         "start: the date format is Y-m-dTH:i:sO, e.g. 2025-03-04T10:00:00+0000"),
                        ({"account": account, "tarif": "1", "start": "2025-03-04T10:00:00+0000"},
                         "tarif: Tarif 1 not found")]:
        r = raw.post("/account_subscriptions", json=body)
        assert (r.status_code, r.json()["cause"]) == (400, cause)
    ok = raw.post("/account_subscriptions", json={"account": account, "tarif": 2, "start": "2025-03-04T10:00:00+0000"})
    assert ok.json() == {"id": 1, "account": account, "tarif": 2, "start": "2025-03-04T10:00:00+0000", "stop": None}
    again = raw.post("/account_subscriptions", json={"account": account, "tarif": 2, "start": "2025-03-04T10:00:00+0000"})
    assert again.status_code == 409
    assert sim.subscribers()["tp-1"]["packages"] == ["sports"]
    assert raw.get("/account_subscriptions", params={"account": account}).json()["data"] == [ok.json()]
    assert raw.delete("/account_subscriptions/1").status_code == 200
    assert sim.subscribers()["tp-1"]["packages"] == []


# -- the adapter -----------------------------------------------------------------------------------------
def test_create_sends_tms_fields_and_one_subscription_per_tariff(adapter, sim):
    adapter.create_subscriber(spec(packages=(BASIC, SPORTS)), idempotency_key="c1")
    create = next(e for e in adapter.exchanges if e["method"] == "POST" and e["path"] == API + "/accounts")
    assert json.loads(create["request"]) == {"login": "l-tp-1", "enable": True, "provider": 1,
                                             "remote_custom_field": "tp-1", "fullname": "Grace Hopper",
                                             "contract": "tp-1"}
    subs = [json.loads(e["request"]) for e in adapter.exchanges if e["path"] == API + "/account_subscriptions"
            and e["method"] == "POST"]
    assert [(s["account"], s["tarif"]) for s in subs] == [(1, 1), (1, 2)]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000", s["start"]) for s in subs)
    on_tms = sim.subscribers()["tp-1"]
    assert (on_tms["login"], on_tms["enabled"], on_tms["packages"], on_tms["devices"]) == (
        "l-tp-1", True, ["basic", "sports"], ["00:1A:79:00:00:01"])
    assert adapter.get_subscriber("tp-1").packages == frozenset({BASIC, SPORTS})


def test_set_packages_deletes_the_extra_rows_and_adds_the_missing_ones(adapter, sim):
    adapter.create_subscriber(spec(packages=(BASIC, SPORTS)), idempotency_key="c1")
    adapter.exchanges.clear()
    adapter.set_packages("tp-1", frozenset({BASIC, MOVIES}), idempotency_key="p1")
    writes = [(e["method"], e["path"]) for e in adapter.exchanges if e["method"] != "GET"]
    assert writes == [("DELETE", API + "/account_subscriptions/2"), ("POST", API + "/account_subscriptions")]
    assert sim.subscribers()["tp-1"]["packages"] == ["basic", "movies"]
    adapter.exchanges.clear()
    adapter.set_packages("tp-1", frozenset({BASIC, MOVIES}), idempotency_key="p2")  # already so: reads only
    assert {e["method"] for e in adapter.exchanges} == {"GET"}


def test_unknown_tariffs_are_refused_before_anything_is_made(adapter, sim):
    with pytest.raises(PermanentError) as err:
        adapter.create_subscriber(spec(packages=(BASIC, "77")), idempotency_key="u1")
    assert err.value.code == "unknown_package"
    with pytest.raises(PermanentError):
        adapter.create_subscriber(spec(packages=("basic",)), idempotency_key="u2")  # a name, not a TMS id
    assert sim.subscribers() == {}


def test_a_login_taken_by_another_account_is_not_already_exists(adapter):
    adapter.create_subscriber(spec("tp-1", login="shared"), idempotency_key="a1")
    with pytest.raises(AlreadyExists):
        adapter.create_subscriber(spec("tp-1", login="shared"), idempotency_key="a2")
    with pytest.raises(PermanentError) as err:
        adapter.create_subscriber(spec("tp-2", login="shared"), idempotency_key="a3")
    assert not isinstance(err.value, AlreadyExists)
    assert err.value.code == "login_in_use"


def test_the_account_is_found_even_where_tms_ignores_the_remote_custom_field_filter(adapter, sim, raw):
    sim.control.put("/tms", json={"ignore_filters": ["remote_custom_field"]}).raise_for_status()
    for i in range(130):  # more than one page of other accounts first
        raw.post("/accounts", json={"login": f"other-{i}", "provider": 1, "remote_custom_field": f"x-{i}"})
    adapter.create_subscriber(spec("tp-9", packages=(SPORTS,)), idempotency_key="f1")
    state = adapter.get_subscriber("tp-9")
    assert (state.enabled, state.packages) == (True, frozenset({SPORTS}))
    pages = [e["params"]["start"] for e in adapter.exchanges if e["method"] == "GET" and e["path"] == API + "/accounts"]
    assert pages == [0, 100]
    assert {s.subscriber_id for s in adapter.list_subscribers()} == {"tp-9", *(f"x-{i}" for i in range(130))}


def test_an_account_remade_in_tms_is_found_again(adapter, sim, raw):
    adapter.create_subscriber(spec(), idempotency_key="r1")
    raw.delete("/accounts/1")
    raw.post("/accounts", json={"login": "again", "provider": 1, "remote_custom_field": "tp-1"})  # id 1 is gone
    adapter.set_enabled("tp-1", False, idempotency_key="r2")
    assert sim.subscribers()["tp-1"]["enabled"] is False
    raw.delete("/accounts/2")
    with pytest.raises(SubscriberNotFound):
        adapter.set_enabled("tp-1", True, idempotency_key="r3")


def test_a_new_set_top_box_unbinds_the_old_one_which_tms_keeps(adapter, sim, raw):
    adapter.create_subscriber(spec(device_id="00:1a:79:00:00:01"), idempotency_key="d1")
    adapter.update_details(spec(device_id="00:1A:79:00:00:02", login="grace"), idempotency_key="d2")
    on_tms = sim.subscribers()["tp-1"]
    assert (on_tms["login"], on_tms["devices"]) == ("grace", ["00:1A:79:00:00:02"])
    devices = {d["mac"]: d["account"] for d in raw.get("/devices", params={"limit": 0}).json()["data"]}
    assert devices == {"00:1A:79:00:00:01": None, "00:1A:79:00:00:02": 1}
    adapter.update_details(spec(device_id="00:1A:79:00:00:01", login="grace"), idempotency_key="d3")  # back again
    devices = {d["mac"]: d["account"] for d in raw.get("/devices", params={"limit": 0}).json()["data"]}
    assert devices == {"00:1A:79:00:00:01": 1, "00:1A:79:00:00:02": None}
    adapter.update_details(spec(device_id=""), idempotency_key="d4")
    assert sim.subscribers()["tp-1"]["devices"] == []


def test_enable_and_disable_use_the_enable_flag(adapter, sim):
    adapter.create_subscriber(spec(enabled=False), idempotency_key="e1")
    adapter.exchanges.clear()
    adapter.set_enabled("tp-1", True, idempotency_key="e2")
    assert json.loads(adapter.exchanges[-1]["request"]) == {"id": 1, "enable": True}
    assert sim.subscribers()["tp-1"]["enabled"] is True


def test_a_tms_that_silently_drops_the_enable_flag_is_an_error_not_a_success(adapter, sim):
    adapter.create_subscriber(spec("tp-1"), idempotency_key="s1")
    sim.control.put("/tms", json={"ignore_fields": ["enable"]}).raise_for_status()
    with pytest.raises(PermanentError) as err:
        adapter.set_enabled("tp-1", False, idempotency_key="s2")
    assert err.value.code == "enable_not_applied"
    assert sim.subscribers()["tp-1"]["enabled"] is True  # what TMS really has: the operator is told
    with pytest.raises(PermanentError) as err:
        adapter.create_subscriber(spec("tp-2", enabled=False), idempotency_key="s3")
    assert err.value.code == "enable_not_applied"
    assert set(sim.subscribers()) == {"tp-1"}  # the enabled account it made instead was deleted again


def test_an_enable_field_tms_does_not_know_is_an_error_not_a_silent_no_op(sim):
    sim.reset()
    a = TvipAdapter(PlatformConfig(base_url=sim.url, username="tripleplay", secret="secret", timeout_seconds=3,
                                   options={"enable_field": "enabled"}))
    with pytest.raises(PermanentError) as err:
        a.create_subscriber(spec(), idempotency_key="x1")
    assert "Unrecognized field(s): enabled" in err.value.message
    a.close()
    assert sim.subscribers() == {}


# -- the billing API: TMS asks billing to switch, subscribe or cancel -------------------------------------------
class _Billing(BaseHTTPRequestHandler):
    seen: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).seen.append({"path": self.path, "headers": dict(self.headers), "body": body})
        answer = json.dumps({"result": "accepted"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


@pytest.fixture
def billing():
    _Billing.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Billing)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Billing.seen
    server.shutdown()
    server.server_close()


def test_the_simulator_sends_a_signed_billing_request_for_an_account(adapter, sim, billing):
    url, seen = billing
    adapter.create_subscriber(spec(), idempotency_key="b1")
    assert sim.control.put("/billing", json={"url": url + "/tms", "token": "s3cret", "provider_id": 7}).json() == {
        "url": url + "/tms", "provider_id": 7, "token_set": True, "requests": []}
    record = sim.control.post("/billing/send", json={"subscriber": "tp-1", "action": "switch", "tariff": "tv-premium",
                                                     "language": "de"}).json()
    assert (record["status"], record["answer"]) == (200, {"result": "accepted"})
    [request] = seen
    assert request["path"] == "/tms/tariffs/tv-premium/switch"
    assert request["headers"]["X-TMS-ACCOUNT-ID"] == "1"
    assert request["headers"]["X-TMS-PROVIDER-ID"] == "7"
    assert request["headers"]["Accept-Language"] == "de"
    assert request["headers"]["X-AUTH-TOKEN"] == hashlib.md5(b"/tms/tariffs/tv-premium/switchs3cret").hexdigest()
    assert sim.control.get("/billing").json()["requests"][0]["action"] == "switch"


def test_billing_requests_are_refused_without_configuration_or_with_bad_input(sim, adapter):
    assert sim.control.post("/billing/send", json={"subscriber": "tp-1", "action": "switch", "tariff": "x"}
                            ).status_code == 400
    assert sim.control.put("/billing", json={"url": "http://example.com", "token": "t"}).status_code == 400
    assert sim.control.put("/billing", json={"url": "http://127.0.0.1:9", "token": ""}).status_code == 400
    sim.control.put("/billing", json={"url": "http://127.0.0.1:9", "token": "t"}).raise_for_status()
    bad = sim.control.post("/billing/send", json={"subscriber": "tp-none", "action": "switch", "tariff": "x"})
    assert (bad.status_code, bad.json()) == (400, {"error": "no account 'tp-none' on this TMS"})
    assert sim.control.post("/billing/send", json={"subscriber": "tp-1", "action": "renew", "tariff": "x"}
                            ).status_code == 400


def test_accounts_tariffs_and_devices_survive_a_restart_with_their_ids(tmp_path):
    with running_simulator("tvip", state_file=str(tmp_path / "tvip.json")) as s:
        a = TvipAdapter(PlatformConfig(base_url=s.url, username="tripleplay", secret="secret", timeout_seconds=3))
        a.create_subscriber(spec("tp-1", packages=(BASIC, MOVIES)), idempotency_key="p1")
        a.close()
        s.restart()
        b = TvipAdapter(PlatformConfig(base_url=s.url, username="tripleplay", secret="secret", timeout_seconds=3))
        state = b.get_subscriber("tp-1")
        assert (state.raw["id"], state.enabled, state.packages) == (1, True, frozenset({BASIC, MOVIES}))
        b.set_packages("tp-1", frozenset({MOVIES}), idempotency_key="p2")
        assert s.subscribers()["tp-1"]["packages"] == ["movies"]
        assert s.subscribers()["tp-1"]["devices"] == ["00:1A:79:00:00:01"]
        b.close()
