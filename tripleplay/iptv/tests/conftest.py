"""IPTV test wiring: simulators as real processes, a platform configured against one, and a
catalog whose products grant the simulator's packages."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tripleplay.simulators.base import DEFAULT_PACKAGES, DEFAULT_PPV_EVENTS
from tripleplay.simulators.testing import running_simulator


@dataclass
class TvCatalog:
    platform: object
    basic: object  # main product "tv" granting package "basic", plan tv-monthly
    tv_plan: object
    sports_plan: object  # add-on granting "sports"
    movies_plan: object  # add-on granting "movies"
    kids_plan: object  # add-on granting "kids"
    internet_plan: object  # main product without IPTV


def make_tv_catalog(actor, platform, suffix: str = "") -> TvCatalog:
    from tripleplay.catalog.services import create_plan, create_product
    from tripleplay.iptv.catalog_import import import_from_platform
    from tripleplay.iptv.models import ChannelPackage
    from tripleplay.iptv.packages import link_package, sell_package_as_addon

    import_from_platform(actor, platform)
    # By name: a platform may number its packages itself (TVIP TMS tariffs); the simulators keep the names.
    by_name = {p.name: p for p in ChannelPackage.objects.filter(platform=platform)}
    pkg = {p["external_id"]: by_name[p["name"]] for p in DEFAULT_PACKAGES if p["name"] in by_name}
    tv = create_product(actor, code=f"tv{suffix}", name="TV", kind="main", currency="USD", services=["iptv"])
    tv_plan = create_plan(actor, tv, code=f"tv-monthly{suffix}", name="TV monthly", periodic_fee_minor=1500)
    link_package(actor, pkg["basic"], tv)
    addons = {}
    for ext in ("sports", "movies", "kids"):
        product = sell_package_as_addon(actor, pkg[ext], code=f"{ext}{suffix}", currency="USD",
                                        plan={"code": f"{ext}-monthly{suffix}", "name": f"{ext} monthly",
                                              "periodic_fee_minor": 500})
        addons[ext] = product.plans.get()
    net = create_product(actor, code=f"net{suffix}", name="Internet", kind="main", currency="USD", services=["data"])
    net_plan = create_plan(actor, net, code=f"net-monthly{suffix}", name="Internet monthly", periodic_fee_minor=3000)
    return TvCatalog(platform, tv, tv_plan, addons["sports"], addons["movies"], addons["kids"], net_plan)


def make_platform(actor, sim, code: str | None = None, **options):
    from tripleplay.iptv.configuration import create_platform

    return create_platform(actor, code=code or sim.name.replace("_", "-"), name=sim.name, kind=sim.name,
                           base_url=sim.url, username=sim.username, secret=sim.password, timeout_seconds="2",
                           options=options)


def drain(max_seconds: float = 30.0, **kwargs) -> int:
    """Run a worker in this thread (and this test's transaction) until nothing is queued."""
    from tripleplay.iptv.worker import RetryPolicy, Worker

    worker = Worker(threads=1, poll_seconds=0.05, retry=RetryPolicy(base_seconds=0.01, cap_seconds=0.05), **kwargs)
    return worker.run(until_idle=True, max_seconds=max_seconds)


@pytest.fixture(scope="session")
def simulator_pool():
    """One process per simulator kind for the whole session (tests reset them)."""
    started = {}

    def get(kind: str):
        if kind not in started:
            cm = running_simulator(kind)
            started[kind] = (cm, cm.__enter__())
        sim = started[kind][1]
        sim.reset()
        sim.set_faults()
        sim.set_packages(DEFAULT_PACKAGES)
        sim.set_ppv_events(DEFAULT_PPV_EVENTS)
        return sim

    yield get
    for cm, _ in started.values():
        cm.__exit__(None, None, None)
