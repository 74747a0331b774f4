"""The adapter contract, run against every registered adapter and its simulator, each simulator a
real separate process on loopback. A new platform module passes this file or is not done."""

from __future__ import annotations

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
from tripleplay.iptv.platforms.registry import adapter_for, kinds
from tripleplay.simulators.base import DEFAULT_PACKAGES
from tripleplay.simulators.registry import simulators
from tripleplay.simulators.testing import running_simulator

KINDS = kinds()
NAMES = {p["external_id"]: p["name"] for p in DEFAULT_PACKAGES}
IDS: dict[str, str] = {}  # the simulator's package key -> the adapter's external id (set per adapter)


def P(*keys: str) -> frozenset[str]:
    """The adapter's external ids of the simulator's packages ("basic" ...). Most platforms use the key
    itself; TVIP TMS numbers its tariffs (docs/platforms/tvip.md)."""
    return frozenset(IDS.get(k, k) for k in keys)


def test_every_adapter_has_a_simulator_and_the_reverse():
    assert KINDS, "no adapters registered"
    assert set(KINDS) == set(simulators())


@pytest.fixture(scope="module", params=KINDS)
def sim(request):
    with running_simulator(request.param) as s:
        yield s


@pytest.fixture
def adapter(sim):
    sim.reset()
    sim.set_faults()
    a = adapter_for(sim.name, PlatformConfig(base_url=sim.url, username="tripleplay", secret="secret",
                                             timeout_seconds=2.0))
    by_name = {p.name: p.external_id for p in a.list_packages()}
    IDS.clear()
    IDS.update({key: by_name[name] for key, name in NAMES.items() if name in by_name})
    a.exchanges.clear()
    yield a
    a.close()


def spec(sid="tp-1001", enabled=True, packages=("basic", "sports")):
    return SubscriberSpec(subscriber_id=sid, enabled=enabled, packages=P(*packages), login=f"login-{sid}",
                          device_id=f"00:1A:79:00:{sid[-2:]}:01", full_name="Ada Lovelace",
                          account_number=sid, phone="15550100")


def test_lists_the_platforms_packages(adapter):
    packages = {p.external_id: p for p in adapter.list_packages()}
    assert set(packages) == P("basic", "sports", "movies", "kids", "vod-plus")
    assert packages[IDS["sports"]].name == "Sports Pack"


def test_package_list_follows_the_platform(adapter, sim):
    sim.set_packages([{"external_id": "news", "name": "News 24", "kind": "channel", "channels": ["n1"]}])
    try:
        assert [p.name for p in adapter.list_packages()] == ["News 24"]
        assert [p.external_id for p in adapter.list_packages()] in (["news"], ["1"])  # TVIP numbers its tariffs
    finally:
        sim.set_packages([{"external_id": e, "name": n, "kind": k, "channels": []} for e, n, k in [
            ("basic", "Basic TV", "channel"), ("sports", "Sports Pack", "channel"),
            ("movies", "Movies Pack", "channel"), ("kids", "Kids Pack", "channel"),
            ("vod-plus", "VOD Plus", "service")]])


def test_subscriber_lifecycle(adapter, sim):
    adapter.create_subscriber(spec(), idempotency_key="k-create")
    state = adapter.get_subscriber("tp-1001")
    assert (state.subscriber_id, state.enabled, state.packages) == ("tp-1001", True, P("basic", "sports"))
    assert sim.subscribers()["tp-1001"]["enabled"] is True
    assert sorted(sim.subscribers()["tp-1001"]["packages"]) == ["basic", "sports"]

    adapter.set_packages("tp-1001", P("basic", "movies", "kids"), idempotency_key="k-pk")
    assert adapter.get_subscriber("tp-1001").packages == P("basic", "movies", "kids")
    adapter.set_packages("tp-1001", frozenset(), idempotency_key="k-pk-empty")
    assert adapter.get_subscriber("tp-1001").packages == frozenset()

    adapter.set_enabled("tp-1001", False, idempotency_key="k-off")
    assert adapter.get_subscriber("tp-1001").enabled is False
    assert sim.subscribers()["tp-1001"]["enabled"] is False
    adapter.set_enabled("tp-1001", True, idempotency_key="k-on")
    assert adapter.get_subscriber("tp-1001").enabled is True

    adapter.delete_subscriber("tp-1001", idempotency_key="k-del")
    assert adapter.get_subscriber("tp-1001") is None
    assert "tp-1001" not in sim.subscribers()


def test_update_details_replaces_them_and_leaves_state_and_packages(adapter, sim):
    from tripleplay.iptv.tests.test_provisioning_e2e import details_on_platform

    adapter.create_subscriber(spec("tp-1101", enabled=False, packages=("basic",)), idempotency_key="d-create")
    new = SubscriberSpec(subscriber_id="tp-1101", enabled=True, packages=frozenset(), login="new-login",
                         device_id="00:1A:79:00:11:02", full_name="Ada King", account_number="tp-1101", phone="")
    adapter.update_details(new, idempotency_key="d-update")
    adapter.update_details(new, idempotency_key="d-update")  # a retry is harmless
    raw = sim.subscribers()["tp-1101"]
    assert details_on_platform(sim.name, raw) == ("new-login", "00:1A:79:00:11:02", "Ada King")
    state = adapter.get_subscriber("tp-1101")
    assert (state.enabled, state.packages) == (False, P("basic"))  # untouched
    with pytest.raises(SubscriberNotFound):
        adapter.update_details(spec("tp-missing"), idempotency_key="d-missing")


def test_create_disabled_subscriber(adapter, sim):
    adapter.create_subscriber(spec("tp-2002", enabled=False, packages=("basic",)), idempotency_key="k2")
    assert adapter.get_subscriber("tp-2002") == type(adapter.get_subscriber("tp-2002"))(
        "tp-2002", False, P("basic"))


def test_list_subscribers(adapter):
    for i in range(3):
        adapter.create_subscriber(spec(f"tp-30{i}", packages=("basic",) * (i % 2) or ()), idempotency_key=f"l{i}")
    states = {s.subscriber_id: s for s in adapter.list_subscribers()}
    assert set(states) == {"tp-300", "tp-301", "tp-302"}
    assert states["tp-301"].packages == P("basic")
    assert states["tp-300"].packages == frozenset()


def test_create_existing_is_already_exists_and_delete_missing_is_not_found(adapter):
    adapter.create_subscriber(spec("tp-4004"), idempotency_key="a1")
    with pytest.raises(AlreadyExists):
        adapter.create_subscriber(spec("tp-4004"), idempotency_key="a2")
    with pytest.raises(SubscriberNotFound):
        adapter.delete_subscriber("tp-missing", idempotency_key="a3")
    with pytest.raises(SubscriberNotFound):
        adapter.set_packages("tp-missing", P("basic"), idempotency_key="a4")
    with pytest.raises(SubscriberNotFound):
        adapter.set_enabled("tp-missing", False, idempotency_key="a5")
    assert adapter.get_subscriber("tp-missing") is None


def test_unknown_package_is_permanent(adapter, sim):
    with pytest.raises(PermanentError) as err:
        adapter.create_subscriber(spec("tp-5005", packages=("basic", "no-such-package")), idempotency_key="u1")
    assert not isinstance(err.value, TransientError)
    assert "tp-5005" not in sim.subscribers()


def test_bad_credentials_are_permanent(sim):
    sim.reset()
    sim.set_faults()
    bad = adapter_for(sim.name, PlatformConfig(base_url=sim.url, username="tripleplay", secret="wrong",
                                               timeout_seconds=2.0))
    with pytest.raises(PermanentError):
        bad.create_subscriber(spec("tp-6006"), idempotency_key="b1")
    with pytest.raises(PermanentError):
        bad.list_packages()
    bad.close()
    assert sim.subscribers() == {}


def test_platform_errors_and_timeouts_are_transient(adapter, sim):
    sim.set_faults(error_rate=1.0)
    with pytest.raises(TransientError):
        adapter.create_subscriber(spec("tp-7007"), idempotency_key="t1")
    sim.set_faults(timeout_rate=1.0, timeout_sleep_s=4.0)
    with pytest.raises(TransientError):
        adapter.get_subscriber("tp-7007")
    sim.set_faults(drop_rate=1.0)
    with pytest.raises(TransientError):
        adapter.list_packages()
    sim.set_faults()
    assert adapter.get_subscriber("tp-7007") is None


def test_retry_after_a_lost_response_is_deduplicated(adapter, sim):
    """The platform applied the create but the answer was lost; the retry carries the same key."""
    adapter.health()  # an adapter in use (the worker caches them) already holds the session token it may need
    if not adapter.idempotency_keys:
        return _retry_after_a_lost_response_without_keys(adapter, sim)
    sim.set_faults(drop_after_rate=1.0)
    with pytest.raises(TransientError):
        adapter.create_subscriber(spec("tp-8008"), idempotency_key="same-key")
    sim.set_faults()
    adapter.create_subscriber(spec("tp-8008"), idempotency_key="same-key")  # no AlreadyExists: a replay
    state = sim.state()
    assert state["stats"]["duplicates"] == 1
    assert list(state["subscribers"]) == ["tp-8008"]


def _retry_after_a_lost_response_without_keys(adapter, sim):
    """A platform without idempotency keys (Ministra): the create's write is applied and its answer lost
    on the wire; the retry must recognise the subscriber (AlreadyExists, which the worker converges from),
    never make a second one, and the platform deduplicated nothing."""
    lost = []

    def lose_the_first_write(response):
        if response.request.method == "POST" and not lost:
            lost.append(response.request.url.path)
            raise httpx.ReadError("connection closed after the request was applied", request=response.request)

    adapter._client.event_hooks["response"].append(lose_the_first_write)
    with pytest.raises(TransientError):
        adapter.create_subscriber(spec("tp-8008", packages=()), idempotency_key="same-key")
    assert lost and "tp-8008" in sim.subscribers()  # applied, answer lost
    with pytest.raises(AlreadyExists):
        adapter.create_subscriber(spec("tp-8008", packages=()), idempotency_key="same-key")
    state = sim.state()
    assert state["stats"]["duplicates"] == 0
    assert list(state["subscribers"]) == ["tp-8008"]


def test_every_exchange_is_recorded_without_secrets(adapter):
    adapter.create_subscriber(spec("tp-9009"), idempotency_key="r1")
    assert adapter.exchanges, "no exchange recorded"
    last = adapter.exchanges[-1]
    assert {"method", "path", "request", "status", "response"} <= set(last)
    assert all("secret" not in str(e) for e in adapter.exchanges)


def test_state_survives_a_restart_with_a_state_file(tmp_path):
    kind = KINDS[0]
    IDS.clear()  # this test makes its own adapter: the simulator's own package keys
    with running_simulator(kind, state_file=str(tmp_path / "state.json")) as s:
        a = adapter_for(kind, PlatformConfig(base_url=s.url, username="tripleplay", secret="secret", timeout_seconds=2))
        a.create_subscriber(spec("tp-1111"), idempotency_key="p1")
        a.close()
        s.restart()
        assert s.subscribers()["tp-1111"]["enabled"] is True
