"""The demo's IPTV side: the seven simulated platforms (separate processes on 127.0.0.1), configured as
platforms, their packages imported and sold, and the worker that provisions the demo subscribers.

Which products grant which packages (on which platform):
- Ministra (public REST API): TV Basic -> basic, TV Premium -> basic + movies, and the Sports,
  Movies and Kids packs -> sports, movies, kids;
- Telebreeze: Triple Play -> basic.
The other five platforms (TVIP TMS on 127.0.0.1:8107 by default, the last in name order) are configured
with their catalogs imported, ready for products.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction

from tripleplay.catalog.models import Product
from tripleplay.core.actors import Actor
from tripleplay.core.processes import stop_process
from tripleplay.iptv.catalog_import import import_from_platform
from tripleplay.iptv.configuration import create_platform, update_platform
from tripleplay.iptv.models import ChannelPackage, Platform, ProductPackage
from tripleplay.iptv.packages import link_package
from tripleplay.simulators.registry import simulators
from tripleplay.simulators.testing import SimulatorProcess

SIM_USER, SIM_PASSWORD = "tripleplay", "demo-platform-secret"
LINKS = {
    "ministra": {"tv-basic": ["basic"], "tv-premium": ["basic", "movies"], "sports-pack": ["sports"],
                 "movies-pack": ["movies"], "kids-pack": ["kids"]},
    "telebreeze": {"triple-play": ["basic"]},
}


@dataclass
class RunningIptv:
    simulators: dict[str, SimulatorProcess]
    worker: subprocess.Popen | None = None

    def stop(self) -> None:
        stop_process(self.worker, grace=30)
        for sim in self.simulators.values():
            sim.stop()


def start_simulators(base_port: int) -> dict[str, SimulatorProcess]:
    state_dir = Path(settings.TRIPLEPLAY_HOME) / "simulators"
    state_dir.mkdir(parents=True, exist_ok=True)
    started: dict[str, SimulatorProcess] = {}
    try:
        for i, name in enumerate(sorted(simulators())):
            started[name] = SimulatorProcess(name, username=SIM_USER, password=SIM_PASSWORD, port=base_port + i,
                                             state_file=str(state_dir / f"{name}.json")).start()
    except Exception:
        for sim in started.values():
            sim.stop()
        raise
    return started


def configure(actor: Actor, sims: dict[str, SimulatorProcess]) -> list[str]:
    """Create (or re-point) one platform per simulator, import its catalog, link the demo products.
    Idempotent: a second run changes only what differs (ports)."""
    notes = []
    for name, sim in sims.items():
        code = name.replace("_", "-")
        platform = Platform.objects.filter(code=code).first()
        if platform is None:
            platform = create_platform(actor, code=code, name=sim.name.replace("_", " ").title(), kind=name,
                                       base_url=sim.url, username=SIM_USER, secret=SIM_PASSWORD, timeout_seconds="5")
        elif platform.base_url != sim.url:
            platform = update_platform(actor, platform, base_url=sim.url)
        report = import_from_platform(actor, platform)
        notes.append(f"{code}: {len(report.packages['created'])} packages imported" if report.changed
                     else f"{code}: catalog unchanged")
        with transaction.atomic():
            for product_code, package_ids in LINKS.get(name, {}).items():
                product = Product.objects.filter(code=product_code).first()
                if product is None:
                    continue
                for ext in package_ids:
                    package = ChannelPackage.objects.get(platform=platform, external_id=ext)
                    if not ProductPackage.objects.filter(product=product, package=package).exists():
                        link_package(actor, package, product)
    return notes


def start_worker() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tripleplay.cli", "worker", "--threads", "2"],
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})


def drain_once() -> None:
    subprocess.run([sys.executable, "-m", "tripleplay.cli", "worker", "--until-idle", "--no-jobs"], check=True,
                   env=os.environ, stdout=subprocess.DEVNULL)
