"""The demo's internet side: Debian's FreeRADIUS (when installed) started from the repository's
configuration on loopback, the simulated NAS beside it, the demo products' internet attributes, a
NAS client and the internet passwords of the demo's internet subscribers (dmitri.net, carla.home).

FreeRADIUS listens on 127.0.0.1 at ``base_port`` (auth) and ``base_port + 1`` (accounting); the NAS
simulator's control API at ``base_port + 2`` and its CoA port at ``base_port + 3``. The token that
FreeRADIUS uses towards tripleplay is made up per run and set in this process's settings and
environment before the server starts (the server's workers inherit it).
"""

from __future__ import annotations

import os
import secrets as token_source
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from tripleplay.catalog.models import Product
from tripleplay.core.actors import Actor
from tripleplay.customers.models import Account
from tripleplay.radius import server as freeradius
from tripleplay.radius import services
from tripleplay.radius.models import InternetLogin, InternetService, NasClient
from tripleplay.simulators.testing import NasProcess

NAS_NAME, NAS_SECRET = "demo-nas", "demo-nas-secret"
PASSWORD = "demo-internet"
SERVICES = {  # product code -> internet attributes
    "internet-100": dict(download_kbps=100_000, upload_kbps=20_000, address_pool="pool-residential",
                         idle_timeout_seconds=1800, interim_interval_seconds=300),
    "triple-play": dict(download_kbps=300_000, upload_kbps=50_000, address_pool="pool-residential",
                        idle_timeout_seconds=1800, interim_interval_seconds=300),
}
LOGINS = ("carla.home", "dmitri.net")  # the first is active; dmitri is suspended in the demo data (a refusal)


@dataclass
class RunningRadius:
    freeradius: freeradius.FreeradiusProcess | None = None
    nas: NasProcess | None = None
    notes: list[str] = field(default_factory=list)

    def stop(self) -> None:
        if self.nas is not None:
            self.nas.stop()
        if self.freeradius is not None:
            self.freeradius.stop()


def configure(actor: Actor, coa_port: int = 3799, session_source: str = "") -> list[str]:
    """Internet attributes on the demo products, the demo NAS, the demo subscribers' passwords.
    Idempotent: what exists is kept (the NAS's CoA port and session source follow the simulator)."""
    for code, attrs in SERVICES.items():
        product = Product.objects.filter(code=code).first()
        if product is not None and not InternetService.objects.filter(product=product).exists():
            services.set_internet_service(actor, product, **attrs)
    nas = NasClient.objects.filter(name=NAS_NAME).first()
    if nas is None:
        services.create_nas(actor, name=NAS_NAME, address="127.0.0.1", secret=NAS_SECRET, vendor="mikrotik",
                            coa_port=coa_port, session_source=session_source)
    elif (nas.coa_port, nas.session_source) != (coa_port, session_source):
        services.update_nas(actor, nas, coa_port=coa_port, session_source=session_source)
    ready = []
    for login in LOGINS:
        account = Account.objects.filter(login=login).first()
        if account is None:
            continue
        if not InternetLogin.objects.filter(account=account).exists():
            services.set_internet_password(actor, account, PASSWORD)
        ready.append(login)
    return ready


def start(actor: Actor, *, base_port: int, tripleplay_url: str, processes: bool = True) -> RunningRadius:
    """Configure the demo's internet side and, with ``processes`` (the demo serves), start FreeRADIUS
    and the NAS simulator."""
    token = os.environ.get("TRIPLEPLAY_RADIUS_TOKEN") or token_source.token_urlsafe(24)
    os.environ["TRIPLEPLAY_RADIUS_TOKEN"] = token
    settings.TRIPLEPLAY_RADIUS_TOKEN = token
    running = RunningRadius()
    if not processes or not freeradius.installed():
        logins = configure(actor)
        running.notes.append(f"Internet logins (password {PASSWORD}): {', '.join(logins) or 'none'}")
        running.notes.append("FreeRADIUS and the NAS simulator: not started (--no-serve)" if not processes else
                             "FreeRADIUS is not installed (Debian: freeradius freeradius-rest freeradius-utils): "
                             "internet access is configured but not running")
        return running
    conf = Path(settings.TRIPLEPLAY_HOME) / "freeradius"
    settings_ = freeradius.Settings(tripleplay_url=tripleplay_url, token=token, auth_port=base_port,
                                    acct_port=base_port + 1, threads=8, **freeradius.sql_settings_from_database())
    try:
        running.freeradius = freeradius.FreeradiusProcess(conf, settings_).start()
        running.nas = NasProcess(auth_port=base_port, acct_port=base_port + 1, secret=NAS_SECRET,
                                 coa_port=base_port + 3, control_port=base_port + 2).start()
        logins = configure(actor, coa_port=running.nas.coa_port,  # radius-reconcile reads the simulator's list
                           session_source="sim+http://" + running.nas.url.split("://", 1)[1])
    except BaseException:
        running.stop()
        raise
    login = logins[0] if logins else "LOGIN"
    running.notes += [
        f"FreeRADIUS: 127.0.0.1:{base_port} (auth), :{base_port + 1} (accounting); configuration in {conf}",
        f"NAS simulator ({NAS_NAME}, MikroTik): control API {running.nas.url}/_sim/state, CoA port {running.nas.coa_port}",
        f"Internet logins (password {PASSWORD}): {', '.join(logins) or 'none'}",
        "Log in with radclient:",
        f"  echo 'User-Name = \"{login}\", User-Password = \"{PASSWORD}\"' | radclient -x 127.0.0.1:{base_port} auth "
        f"{NAS_SECRET}",
        "Or through the NAS simulator (login, Accounting-Start, then see it under the customer's sessions):",
        f"  curl -X POST {running.nas.url}/_sim/login -d '{{\"username\": \"{login}\", \"password\": \"{PASSWORD}\"}}'",
    ]
    return running
