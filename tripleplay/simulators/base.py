"""The simulator framework: one HTTP server process on loopback per simulated platform.

A simulator module (``tripleplay/simulators/<kind>.py``) subclasses ``Simulator``, sets ``name``
(the adapter's ``kind``) and implements ``handle(request)`` in its platform's wire format on top of
the shared ``SimState`` (subscribers, packages, PPV events). This module gives every simulator:

- credentials checking helpers, a JSON state file that survives restarts (``--state-file``);
- duplicate-request detection by idempotency key (``dedupe``), counted in the stats;
- fault injection, changeable at run time through the control API: an error rate (HTTP 503),
  added latency, timeouts (the server sleeps past the client's timeout), dropped connections
  before the request is applied, and dropped responses *after* it was applied (the case that
  tests idempotency);
- the control API under ``/_sim/`` (JSON, loopback only, no credentials: it is a test tool):
    GET  /_sim/health                   -> {"ok": true, "name": ...}
    GET  /_sim/state                    -> subscribers, packages, ppv_events, stats, faults
    PUT  /_sim/faults                   {"error_rate": 0.3, "latency_ms": 0, "timeout_rate": 0,
                                         "drop_rate": 0, "drop_after_rate": 0, "seed": 1}
    POST /_sim/reset                    forget subscribers, keys and stats (packages stay)
    PUT  /_sim/packages                 [{"external_id", "name", "kind", "channels"}] (replaces)
    PUT  /_sim/ppv-events               [{"external_id", "title", "price_minor", "currency", ...}]
    PUT  /_sim/subscribers/<id>         {"enabled": bool, "packages": [...]} (drift, bypassing the API)
    DELETE /_sim/subscribers/<id>
"""

from __future__ import annotations

import json
import os
import random
import socket
import threading
import time
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

MAX_BODY = 1024 * 1024

DEFAULT_PACKAGES = [
    {"external_id": "basic", "name": "Basic TV", "kind": "channel", "channels": ["news-1", "ent-1", "ent-2"]},
    {"external_id": "sports", "name": "Sports Pack", "kind": "channel", "channels": ["sport-1", "sport-2"]},
    {"external_id": "movies", "name": "Movies Pack", "kind": "channel", "channels": ["movie-1", "movie-2"]},
    {"external_id": "kids", "name": "Kids Pack", "kind": "channel", "channels": ["kids-1"]},
    {"external_id": "vod-plus", "name": "VOD Plus", "kind": "service", "channels": []},
]
DEFAULT_PPV_EVENTS = [
    {"external_id": "fight-night", "title": "Fight Night Live", "price_minor": 1999, "currency": "USD",
     "starts_at": None, "ends_at": None, "content_owner": "Ringside Media"},
    {"external_id": "premiere-42", "title": "Premiere: The Answer", "price_minor": 599, "currency": "USD",
     "starts_at": None, "ends_at": None, "content_owner": "Studio 42"},
]


@dataclass
class Request:
    method: str
    path: str  # decoded, without the query string
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self):
        return json.loads(self.body.decode("utf-8")) if self.body else None

    def param(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, payload) -> Response:
        return cls(status, json.dumps(payload).encode(), "application/json")

    @classmethod
    def xml(cls, status: int, text: str) -> Response:
        return cls(status, text.encode("utf-8"), "application/xml; charset=utf-8")


@dataclass
class Faults:
    error_rate: float = 0.0  # answer 503 without applying
    latency_ms: int = 0  # added to every platform call
    timeout_rate: float = 0.0  # sleep `timeout_sleep_s` before answering (clients give up first)
    timeout_sleep_s: float = 15.0
    drop_rate: float = 0.0  # close the connection before applying
    drop_after_rate: float = 0.0  # apply, then close the connection without answering
    seed: int | None = None


class SimState:
    """Thread-safe platform state, optionally persisted to a JSON file after every change."""

    def __init__(self, state_file: str | None = None):
        self.lock = threading.RLock()
        self.state_file = Path(state_file) if state_file else None
        self.subscribers: dict[str, dict] = {}
        self.packages: dict[str, dict] = {p["external_id"]: dict(p) for p in DEFAULT_PACKAGES}
        self.ppv_events: dict[str, dict] = {e["external_id"]: dict(e) for e in DEFAULT_PPV_EVENTS}
        self.keys: dict[str, list] = {}  # idempotency key -> [status, body, content_type]
        self.stats = {"requests": 0, "applied_writes": 0, "duplicates": 0, "faults": 0}
        if self.state_file and self.state_file.exists():
            saved = json.loads(self.state_file.read_text())
            self.subscribers = saved.get("subscribers", {})
            self.packages = saved.get("packages", self.packages)
            self.ppv_events = saved.get("ppv_events", self.ppv_events)
            self.keys = saved.get("keys", {})

    def save(self) -> None:
        if not self.state_file:
            return
        with self.lock:
            data = {"subscribers": self.subscribers, "packages": self.packages,
                    "ppv_events": self.ppv_events, "keys": self.keys}
            tmp = self.state_file.with_suffix(".tmp")
            tmp.write_text(json.dumps(data))
            os.replace(tmp, self.state_file)

    def snapshot(self) -> dict:
        with self.lock:
            return json.loads(json.dumps({
                "subscribers": self.subscribers, "packages": self.packages, "ppv_events": self.ppv_events,
                "stats": self.stats,
            }))


class Simulator:
    """Subclass per platform: set ``name`` and implement ``handle``."""

    name = ""
    label = ""

    def __init__(self, *, username: str = "tripleplay", password: str = "secret", state_file: str | None = None):
        self.username = username
        self.password = password
        self.state = SimState(state_file)
        self.faults = Faults()
        self.rng = random.Random()

    # -- to implement --------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        raise NotImplementedError

    def fault_response(self) -> Response:
        """What an overloaded platform answers (override for the platform's own error body)."""
        return Response.json(503, {"error": "service unavailable (simulated)"})

    # -- helpers for subclasses --------------------------------------------------------------------------
    def dedupe(self, key: str | None, apply) -> Response:
        """Run ``apply()`` once per idempotency key; a repeat gets the first answer again."""
        if not key:
            return self._applied(apply())
        with self.state.lock:
            seen = self.state.keys.get(key)
            if seen is not None:
                self.state.stats["duplicates"] += 1
                return Response(seen[0], seen[1].encode(), seen[2])
            response = self._applied(apply())
            if response.status < 500:
                self.state.keys[key] = [response.status, response.body.decode(), response.content_type]
                self.state.save()
            return response

    def _applied(self, response: Response) -> Response:
        if 200 <= response.status < 300:
            with self.state.lock:
                self.state.stats["applied_writes"] += 1
                self.state.save()
        return response

    def unknown_packages(self, packages) -> list[str]:
        return sorted(p for p in packages if p not in self.state.packages)

    # -- control API --------------------------------------------------------------------------------------
    def control(self, request: Request) -> Response:
        parts = [p for p in request.path.split("/") if p][1:]  # after "_sim"
        st = self.state
        if request.method == "GET" and parts == ["health"]:
            return Response.json(200, {"ok": True, "name": self.name})
        if request.method == "GET" and parts == ["state"]:
            return Response.json(200, {**st.snapshot(), "faults": asdict(self.faults)})
        if request.method == "PUT" and parts == ["faults"]:
            self.faults = Faults(**{**asdict(Faults()), **(request.json() or {})})
            self.rng = random.Random(self.faults.seed)
            return Response.json(200, asdict(self.faults))
        if request.method == "POST" and parts == ["reset"]:
            with st.lock:
                st.subscribers.clear()
                st.keys.clear()
                st.stats.update({k: 0 for k in st.stats})
                st.save()
            return Response.json(200, {"ok": True})
        if request.method == "PUT" and parts == ["packages"]:
            with st.lock:
                st.packages = {p["external_id"]: dict(p) for p in request.json()}
                st.save()
            return Response.json(200, {"packages": sorted(st.packages)})
        if request.method == "PUT" and parts == ["ppv-events"]:
            with st.lock:
                st.ppv_events = {e["external_id"]: dict(e) for e in request.json()}
                st.save()
            return Response.json(200, {"ppv_events": sorted(st.ppv_events)})
        if len(parts) == 2 and parts[0] == "subscribers":
            sid = parts[1]
            with st.lock:
                if request.method == "DELETE":
                    existed = st.subscribers.pop(sid, None) is not None
                    st.save()
                    return Response.json(200 if existed else 404, {"deleted": existed})
                if request.method == "PUT":
                    sub = st.subscribers.setdefault(sid, {"enabled": True, "packages": []})
                    changes = request.json() or {}
                    if "packages" in changes:
                        changes["packages"] = sorted(changes["packages"])
                    sub.update(changes)
                    st.save()
                    return Response.json(200, sub)
        return Response.json(404, {"error": f"no control endpoint {request.method} {request.path}"})

    # -- dispatch with faults ---------------------------------------------------------------------------
    def dispatch(self, request: Request) -> tuple[Response | None, bool]:
        """Returns (response, drop_after). A None response means: drop the connection now."""
        if request.path.startswith("/_sim/"):
            return self.control(request), False
        f = self.faults
        with self.state.lock:
            self.state.stats["requests"] += 1
            roll = self.rng.random
            drop, timeout, error, drop_after = (roll() < f.drop_rate, roll() < f.timeout_rate,
                                                roll() < f.error_rate, roll() < f.drop_after_rate)
            if drop or timeout or error or drop_after:
                self.state.stats["faults"] += 1
        if f.latency_ms:
            time.sleep(f.latency_ms / 1000)
        if drop:
            return None, False
        if timeout:
            time.sleep(f.timeout_sleep_s)
            return self.fault_response(), False
        if error:
            return self.fault_response(), False
        return self.handle(request), drop_after


class _Handler(BaseHTTPRequestHandler):
    server_version = "tripleplay-simulator/1"
    protocol_version = "HTTP/1.1"
    simulator: Simulator  # set on the subclass made by make_server

    def setup(self):
        super().setup()
        # Headers and body go out in separate writes; without TCP_NODELAY, Nagle's algorithm and the
        # client's delayed ACK add ~40 ms to every answer on loopback.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format, *args):  # quiet unless asked
        if os.environ.get("TRIPLEPLAY_SIM_LOG"):
            super().log_message(format, *args)

    def _run(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._send(Response.json(413, {"error": "request too large"}))
            return
        body = self.rfile.read(length) if length else b""
        split = urlsplit(self.path)
        request = Request(self.command, unquote(split.path), parse_qs(split.query),
                          {k.lower(): v for k, v in self.headers.items()}, body)
        try:
            response, drop_after = self.simulator.dispatch(request)
        except Exception as e:  # a simulator bug must show, not hang the client
            response, drop_after = Response.json(500, {"error": f"simulator error: {type(e).__name__}: {e}"}), False
        if response is None or drop_after:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self._send(response)

    def _send(self, response: Response):
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for k, v in response.headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _run


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def make_server(simulator: Simulator, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError("simulators bind to loopback only")
    handler = type("Handler", (_Handler,), {"simulator": simulator})
    return _Server((host, port), handler)
