"""Run simulators as real separate processes on loopback, for tests, the demo and benchmarks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from contextlib import contextmanager
from pathlib import Path

import httpx

from tripleplay.core.processes import stop_process


def launch(module_args: list[str], what: str, timeout: float) -> tuple[subprocess.Popen, dict]:
    """``python -m MODULE ARGS`` as a separate process; waits up to ``timeout`` seconds for the JSON line
    a simulator prints once it listens and returns (the process, that line). A simulator that prints
    nothing is stopped, and its stderr is the error."""
    proc = subprocess.Popen([sys.executable, "-m", *module_args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    line: list[str] = []
    reader = threading.Thread(target=lambda: line.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    if not line or not line[0].strip():
        terminate(proc)
        raise RuntimeError(f"{what} did not start: {proc.stderr.read()[:2000]}")
    return proc, json.loads(line[0])


def terminate(proc: subprocess.Popen | None, control: httpx.Client | None = None) -> None:
    """Close the control client, then stop the process: SIGTERM, and SIGKILL if it is not gone in 10 s."""
    if control is not None:
        control.close()
    stop_process(proc, grace=10)


class SimulatorProcess:
    """A running simulator: its URL, its process and a client for its control API."""

    def __init__(self, name: str, *, username: str = "tripleplay", password: str = "secret",
                 state_file: str | None = None, port: int = 0, extra_args: tuple[str, ...] = ()):
        self.name, self.username, self.password = name, username, password
        self.state_file, self.extra_args = state_file, extra_args
        self.port = port
        self.proc: subprocess.Popen | None = None
        self.url = ""
        self.control = None

    def start(self, timeout: float = 15.0) -> SimulatorProcess:
        args = ["tripleplay.simulators", self.name, "--port", str(self.port),
                "--username", self.username, "--password", self.password, *self.extra_args]
        if self.state_file:
            args += ["--state-file", self.state_file]
        self.proc, info = launch(args, f"simulator {self.name}", timeout)
        self.url = info["url"]
        self.port = int(self.url.rsplit(":", 1)[1])  # a restart keeps the same port
        self.control = httpx.Client(base_url=self.url + "/_sim", timeout=10)
        return self

    def stop(self) -> None:
        terminate(self.proc, self.control)

    def restart(self) -> SimulatorProcess:
        self.stop()
        return self.start()

    # -- control API ----------------------------------------------------------------------------------
    def state(self) -> dict:
        return self._ok(self.control.get("/state"))

    def subscribers(self) -> dict[str, dict]:
        return self.state()["subscribers"]

    def set_faults(self, **faults) -> dict:
        return self._ok(self.control.put("/faults", json=faults))

    def reset(self) -> None:
        self._ok(self.control.post("/reset"))

    def set_protocol_version(self, version: str) -> dict:
        """generic_xml: act as a platform of this (older) protocol revision."""
        return self._ok(self.control.put("/protocol", json={"version": version}))

    def set_packages(self, packages: list[dict]) -> None:
        self._ok(self.control.put("/packages", json=packages))

    def set_ppv_events(self, events: list[dict]) -> None:
        self._ok(self.control.put("/ppv-events", json=events))

    def put_subscriber(self, subscriber_id: str, **changes) -> dict:
        return self._ok(self.control.put(f"/subscribers/{subscriber_id}", json=changes))

    def delete_subscriber(self, subscriber_id: str) -> None:
        self.control.delete(f"/subscribers/{subscriber_id}")

    # -- pay-per-view, the platform's side --------------------------------------------------------------
    def configure_tripleplay(self, url: str, token: str, style: str | None = None) -> dict:
        """Where this platform calls tripleplay's PPV API (style: "json" or "xml"; None: the platform's own)."""
        body = {"url": url, "token": token, **({"style": style} if style else {})}
        return self._ok(self.control.put("/tripleplay", json=body))

    def buy(self, **fields) -> dict:
        """POST /_sim/ppv/buy: the platform buys through tripleplay (subscriber, event_id or price_minor,
        mode, transaction_id, amount_minor, retries, style); returns the purchase record."""
        return self._ok(self.control.post("/ppv/buy", json=fields, timeout=60))

    def ppv_purchases(self) -> list[dict]:
        return self.state()["ppv_purchases"]

    def order(self, **fields) -> dict:
        """POST /_sim/orders/place: the platform orders through tripleplay (subscriber, action, product,
        plan, transaction_id, retries, style); returns the order record."""
        return self._ok(self.control.post("/orders/place", json=fields, timeout=60))

    def balance(self, subscriber: str, style: str | None = None) -> dict:
        """POST /_sim/orders/balance: the platform asks tripleplay for the subscriber's balance."""
        body = {"subscriber": subscriber, **({"style": style} if style else {})}
        return self._ok(self.control.post("/orders/balance", json=body, timeout=60))

    @staticmethod
    def _ok(response: httpx.Response):
        response.raise_for_status()
        return response.json()


@contextmanager
def running_simulator(name: str, **kwargs):
    sim = SimulatorProcess(name, **kwargs).start()
    try:
        yield sim
    finally:
        sim.stop()


@contextmanager
def served_with_platforms(home, kinds, seed_script: str):
    """`tripleplay serve` on the temporary SQLite home ``home`` with a simulated IPTV platform of each of
    ``kinds``, each configured with tripleplay's URL and its own inbound token: the world of the end-to-end
    PPV and TV-screen order tests. ``seed_script`` runs in `tripleplay django shell` after the line
    ``SIMS = [(kind, url, suffix), ...]`` (suffix ``-0``, ``-1`` ...) and prints ``SEED <json>`` with
    ``platforms`` ({kind: {"token": ...}}) and ``admin_token``. Yields {"url", "sims", "seed", "admin" (an
    httpx client of the REST API with that token), "env"}; stops every process it started."""
    from tripleplay.core.testing import admin_client, home_env, migrate_and_seed, start_serve, stop_serve

    env = home_env(home)
    sims = {kind: SimulatorProcess(kind) for kind in kinds}
    server = None
    try:
        for sim in sims.values():
            sim.start()
        spec = [(kind, sim.url, f"-{i}") for i, (kind, sim) in enumerate(sims.items())]
        seed = migrate_and_seed(env, f"SIMS = {spec!r}\n{seed_script}")
        server, url = start_serve(env, Path(home) / "serve.log")
        for kind, sim in sims.items():
            sim.configure_tripleplay(url, seed["platforms"][kind]["token"])
        with admin_client(url, seed["admin_token"]) as admin:
            yield {"url": url, "sims": sims, "seed": seed, "admin": admin, "env": env}
    finally:
        stop_serve(server)
        for sim in sims.values():
            sim.stop()


class StripeSimulatorProcess:
    """The simulated Stripe (tripleplay/simulators/stripe_api.py) as a separate process."""

    def __init__(self, *, secret_key: str = "sk_test_tripleplay", webhook_url: str = "",
                 webhook_secret: str = "whsec_tripleplay", port: int = 0, webhook_backoff_seconds: float = 0.2):
        self.secret_key, self.webhook_url, self.webhook_secret = secret_key, webhook_url, webhook_secret
        self.port, self.backoff = port, webhook_backoff_seconds
        self.proc: subprocess.Popen | None = None
        self.url = ""
        self.control = None

    def start(self, timeout: float = 15.0) -> StripeSimulatorProcess:
        args = ["tripleplay.simulators.stripe_api", "--port", str(self.port),
                "--secret-key", self.secret_key, "--webhook-secret", self.webhook_secret,
                "--webhook-backoff-seconds", str(self.backoff)]
        if self.webhook_url:
            args += ["--webhook-url", self.webhook_url]
        self.proc, info = launch(args, "the Stripe simulator", timeout)
        self.url = info["url"]
        self.port = int(self.url.rsplit(":", 1)[1])
        self.control = httpx.Client(base_url=self.url + "/_sim", timeout=10)
        return self

    def stop(self) -> None:
        terminate(self.proc, self.control)

    def state(self) -> dict:
        return SimulatorProcess._ok(self.control.get("/state"))

    def set_webhook(self, url: str, secret: str | None = None, retries: int = 5, backoff_seconds: float = 0.2) -> None:
        SimulatorProcess._ok(self.control.put("/webhook", json={"url": url, "secret": secret or self.webhook_secret,
                                                               "retries": retries, "backoff_seconds": backoff_seconds}))

    def delivery(self, event_id: str) -> dict:
        """The event as the simulator would POST it now: {"payload", "stripe_signature"}."""
        return SimulatorProcess._ok(self.control.get(f"/events/{event_id}/delivery"))

    def events(self, type_: str | None = None) -> list[dict]:
        return [e for e in self.state()["events"] if type_ is None or e["type"] == type_]

    def pay(self, session_url: str, card: str = "4242424242424242") -> httpx.Response:
        """Submit the hosted checkout form as the customer's browser would (no redirect followed)."""
        return httpx.post(session_url, data={"cardNumber": card, "action": "pay"}, timeout=10, trust_env=False)


@contextmanager
def running_stripe(**kwargs):
    sim = StripeSimulatorProcess(**kwargs).start()
    try:
        yield sim
    finally:
        sim.stop()


class NasProcess:
    """The simulated NAS (tripleplay.simulators.nas) as a separate process, and its control API."""

    def __init__(self, *, radius: str = "127.0.0.1", auth_port: int, acct_port: int, secret: str,
                 bind: str = "127.0.0.1", coa_port: int = 0, control_port: int = 0):
        self.args = ["--radius", radius, "--auth-port", str(auth_port), "--acct-port", str(acct_port),
                     "--secret", secret, "--bind", bind, "--coa-port", str(coa_port), "--port", str(control_port)]
        self.proc: subprocess.Popen | None = None
        self.url, self.address, self.coa_port = "", bind, 0
        self.control: httpx.Client | None = None

    def start(self, timeout: float = 15.0) -> NasProcess:
        self.proc, info = launch(["tripleplay.simulators.nas", *self.args], "the NAS simulator", timeout)
        self.url, self.coa_port = info["url"], info["coa_port"]
        self.control = httpx.Client(base_url=self.url + "/_sim", timeout=30, trust_env=False)
        return self

    def stop(self) -> None:
        terminate(self.proc, self.control)

    _ok = staticmethod(SimulatorProcess._ok)

    def login(self, username: str, password: str) -> dict:
        return self._ok(self.control.post("/login", json={"username": username, "password": password}))

    def interim(self, session_id: str, **counters) -> dict:
        return self._ok(self.control.post(f"/sessions/{session_id}/interim", json=counters))

    def stop_session(self, session_id: str, cause: str = "User-Request") -> dict:
        return self._ok(self.control.post(f"/sessions/{session_id}/stop", json={"cause": cause}))

    def accounting(self, status_type: str) -> dict:
        return self._ok(self.control.post("/accounting", json={"status_type": status_type}))

    def state(self) -> dict:
        return self._ok(self.control.get("/state"))

    def set_faults(self, **faults) -> dict:
        return self._ok(self.control.put("/faults", json=faults))

    def reset(self) -> None:
        self._ok(self.control.post("/reset"))

    def sessions(self) -> list[dict]:
        """The NAS's own list of its active sessions (the reconciliation's session source)."""
        return self._ok(self.control.get("/sessions"))["sessions"]

    def add_orphan(self, username: str) -> dict:
        return self._ok(self.control.post("/orphans", json={"username": username}))

    def forget(self, session_id: str) -> dict:
        return self._ok(self.control.post(f"/sessions/{session_id}/forget"))


class TwilioSimulatorProcess:
    """The simulated Twilio Messages API (tripleplay/simulators/sms_twilio.py) as a separate process."""

    def __init__(self, *, account_sid: str = "AC" + "0" * 32, auth_token: str = "tripleplay-twilio-token",
                 port: int = 0):
        self.account_sid, self.auth_token, self.port = account_sid, auth_token, port
        self.proc: subprocess.Popen | None = None
        self.url = ""
        self.control: httpx.Client | None = None

    def start(self, timeout: float = 15.0) -> TwilioSimulatorProcess:
        self.proc, info = launch(["tripleplay.simulators.sms_twilio", "--port", str(self.port), "--account-sid",
                                  self.account_sid, "--auth-token", self.auth_token], "the Twilio simulator", timeout)
        self.url = info["url"]
        self.port = int(self.url.rsplit(":", 1)[1])
        self.control = httpx.Client(base_url=self.url + "/_sim", timeout=10, trust_env=False)
        return self

    def stop(self) -> None:
        terminate(self.proc, self.control)

    _ok = staticmethod(SimulatorProcess._ok)

    def messages(self) -> list[dict]:
        return self._ok(self.control.get("/state"))["messages"]

    def requests(self) -> int:
        return self._ok(self.control.get("/state"))["requests"]

    def set_faults(self, status: int = 0, count: int = 0, delay_seconds: float = 0.0) -> dict:
        return self._ok(self.control.put("/faults", json={"status": status, "count": count,
                                                         "delay_seconds": delay_seconds}))

    def callbacks(self) -> list[dict]:
        """The status callbacks the simulator sent, with the HTTP status each got."""
        return self._ok(self.control.get("/state"))["callbacks"]

    def set_outcome(self, status: str = "delivered", error_code: int | None = None,
                    delay_seconds: float = 0.2) -> dict:
        return self._ok(self.control.put("/outcome", json={"status": status, "error_code": error_code,
                                                          "delay_seconds": delay_seconds}))

    def reset(self) -> None:
        self._ok(self.control.post("/reset"))


@contextmanager
def running_twilio(**kwargs):
    sim = TwilioSimulatorProcess(**kwargs).start()
    try:
        yield sim
    finally:
        sim.stop()
