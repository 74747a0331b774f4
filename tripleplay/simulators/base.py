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
    GET  /_sim/state                    -> subscribers, packages, ppv_events, stats, ppv_purchases, faults
    PUT  /_sim/faults                   {"error_rate": 0.3, "latency_ms": 0, "timeout_rate": 0,
                                         "drop_rate": 0, "drop_after_rate": 0, "seed": 1}
    POST /_sim/reset                    forget subscribers, keys, stats and PPV purchases (packages stay)
    PUT  /_sim/packages                 [{"external_id", "name", "kind", "channels"}] (replaces)
    PUT  /_sim/ppv-events               [{"external_id", "title", "price_minor", "currency", ...}]
    PUT  /_sim/subscribers/<id>         {"enabled": bool, "packages": [...]} (drift, bypassing the API)
    DELETE /_sim/subscribers/<id>

Pay-per-view, the platform's side (the simulator calls tripleplay's PPV API over HTTP, exactly as
the real platform would; see ``PpvClient`` and docs/ppv.md):
    PUT  /_sim/tripleplay               {"url": "http://127.0.0.1:8000", "token": "tpp_...",
                                         "style": "json"|"xml"}  (style default: the simulator's
                                         ``ppv_style``; the URL must be on loopback)
    GET  /_sim/tripleplay               -> {"url", "style", "token_set"}
    POST /_sim/ppv/buy                  {"subscriber": "tp-5", "event_id": "fight-night" (or
                                         "price_minor": 499, "currency"?), "transaction_id"? (default
                                         a fresh uuid), "mode": "two_step" (authorize, confirm) |
                                         "purchase" | "authorize_only" | "cancel" (authorize, cancel),
                                         "amount_minor"? (final amount for confirm), "retries": N
                                         (send every call N more times with the same transaction id)}
                                        -> the purchase record: each call's answer as tripleplay gave
                                           it, its HTTP status, the repeats, and "entitled"
Every purchase is recorded in ``ppv_purchases`` (GET /_sim/state). Only a purchase tripleplay
approved and confirmed entitles the subscriber: its event id is added to the subscriber's "ppv"
list (when the subscriber exists on this platform).

Orders from the TV screen, the platform's side (the simulator calls tripleplay's order API over HTTP,
JSON or the generic XML protocol 1.3 by the same ``style``; see ``OrderClient`` and docs/orders.md):
    POST /_sim/orders/place             {"subscriber": "tp-5", "action": "add"|"remove"|"change",
                                         "product": "sports", "plan"?, "transaction_id"? (default a
                                         fresh uuid), "retries": N, "style"?}
                                        -> the order record: tripleplay's answer, its HTTP status, the
                                           repeats. The order changes nothing here: the packages reach
                                           this platform only through tripleplay's provisioning calls.
    POST /_sim/orders/balance           {"subscriber": "tp-5", "style"?} -> {"http_status", "answer"}
Every order is recorded in ``orders`` (GET /_sim/state).
"""

from __future__ import annotations

import base64
import importlib
import json
import os
import random
import signal
import socket
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

MAX_BODY = 1024 * 1024
PPV_MODES = ("two_step", "purchase", "authorize_only", "cancel")
PPV_STYLES = ("json", "xml")
PPV_TIMEOUT_S = 5.0
PPV_MAX_RETRIES = 10
PPV_KEEP = 10_000  # purchases kept in the state (the oldest are forgotten first)
ORDER_ACTIONS = ("add", "remove", "change")
LOOPBACK = ("127.0.0.1", "localhost", "::1")

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
        self.ppv_purchases: list[dict] = []  # what this platform bought through tripleplay (POST /_sim/ppv/buy)
        self.orders: list[dict] = []  # what this platform ordered through tripleplay (POST /_sim/orders/place)
        if self.state_file and self.state_file.exists():
            saved = json.loads(self.state_file.read_text())
            self.subscribers = saved.get("subscribers", {})
            self.packages = saved.get("packages", self.packages)
            self.ppv_events = saved.get("ppv_events", self.ppv_events)
            self.keys = saved.get("keys", {})
            self.ppv_purchases = saved.get("ppv_purchases", [])
            self.orders = saved.get("orders", [])

    def save(self) -> None:
        if not self.state_file:
            return
        with self.lock:
            data = {"subscribers": self.subscribers, "packages": self.packages,
                    "ppv_events": self.ppv_events, "keys": self.keys, "ppv_purchases": self.ppv_purchases,
                    "orders": self.orders}
            tmp = self.state_file.with_suffix(".tmp")
            tmp.write_text(json.dumps(data))
            os.replace(tmp, self.state_file)

    def snapshot(self) -> dict:
        with self.lock:
            return json.loads(json.dumps({
                "subscribers": self.subscribers, "packages": self.packages, "ppv_events": self.ppv_events,
                "stats": self.stats, "ppv_purchases": self.ppv_purchases, "orders": self.orders,
            }))

    def record_purchase(self, record: dict) -> None:
        """Keep a PPV purchase; entitle its subscriber only when tripleplay approved and confirmed it."""
        with self.lock:
            self.ppv_purchases.append(record)
            del self.ppv_purchases[:-PPV_KEEP]
            sub = self.subscribers.get(record["subscriber"])
            if record["entitled"] and sub is not None:
                item = record.get("event_id") or record["transaction_id"]
                owned = sub.setdefault("ppv", [])
                if item not in owned:
                    owned.append(item)
            self.save()

    def record_order(self, record: dict) -> None:
        """Keep an order as tripleplay answered it (the packages come by provisioning, not from here)."""
        with self.lock:
            self.orders.append(record)
            del self.orders[:-PPV_KEEP]
            self.save()


@dataclass
class TripleplayLink:
    """Where this simulated platform reaches tripleplay's PPV API, with its inbound token."""

    url: str = ""
    token: str = ""
    style: str = "json"  # "json": POST /api/v1/ppv/<call>; "xml": POST /xml/v1/ppv

    @staticmethod
    def checked_url(url) -> str:
        if not isinstance(url, str) or not url:
            raise ValueError("url is required, e.g. http://127.0.0.1:8000")
        parts = urlsplit(url)
        if parts.scheme != "http" or parts.hostname not in LOOPBACK:
            raise ValueError("url must be http:// on loopback (127.0.0.1, localhost or ::1)")
        return url.rstrip("/")

    def public(self) -> dict:
        return {"url": self.url or None, "style": self.style, "token_set": bool(self.token)}


class PpvClient:
    """The platform's side of pay-per-view: calls tripleplay's PPV API (JSON or XML) over HTTP."""

    XML_MODULE = "tripleplay.ppv.xmlproto"  # the XML style's protocol module
    WHAT = "PPV"

    def __init__(self, link: TripleplayLink, *, timeout: float = PPV_TIMEOUT_S):
        if not link.url or not link.token:
            raise ValueError("tripleplay is not configured: PUT /_sim/tripleplay {url, token} first")
        self.link = link
        self.xml = None
        if link.style == "xml":
            try:  # imported lazily: the simulators run without Django, and only the XML style needs it
                self.xml = importlib.import_module(self.XML_MODULE)
            except ImportError as e:
                raise RuntimeError(f"the XML {self.WHAT} style needs {self.XML_MODULE}, which is not "
                                   f"importable here ({e})") from e
        import httpx

        self.http = httpx.Client(timeout=timeout, trust_env=False, headers={"Authorization": f"Bearer {link.token}"})

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> PpvClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def call(self, call: str, fields: dict) -> tuple[int | None, dict]:
        """One call: (HTTP status or None when nothing came back, the answer as a dict). A transport
        failure or an unreadable answer is an answer with result "error" and code "transport" or
        "unreadable_answer"."""
        import httpx

        fields = {k: v for k, v in fields.items() if v is not None}
        try:
            if self.xml is not None:
                response = self.http.post(self.link.url + self.xml.ENDPOINT_PATH,
                                          content=self.xml.build_request(call, **fields),
                                          headers={"Content-Type": self.xml.CONTENT_TYPE})
            else:
                response = self._json_request(call, fields)
        except httpx.HTTPError as e:
            return None, {"result": "error", "code": "transport", "message": f"{type(e).__name__}: {e}"}
        try:
            answer = self.xml.parse_answer(response.content) if self.xml is not None else response.json()
            if not isinstance(answer, dict):
                raise ValueError("not an object")
        except Exception as e:  # noqa: BLE001 - whatever came back is shown, not raised
            answer = {"result": "error", "code": "unreadable_answer", "message": f"{type(e).__name__}: {e}",
                      "body": response.text[:1000]}
        return response.status_code, answer

    def _json_request(self, call: str, fields: dict):
        return self.http.post(f"{self.link.url}/api/v1/ppv/{call}", json=fields)


class OrderClient(PpvClient):
    """The platform's side of TV-screen orders: tripleplay's order API, JSON or XML (generic XML 1.3)."""

    XML_MODULE = "tripleplay.orders.xmlproto"
    WHAT = "order"

    def _json_request(self, call: str, fields: dict):
        if call == "balance":
            return self.http.get(f"{self.link.url}/api/v1/orders/balance", params=fields)
        return self.http.post(f"{self.link.url}/api/v1/orders", json=fields)


def _check_retries_and_style(order: dict) -> dict:
    """The checks a PPV purchase and a TV-screen order share: how often to resend, and which API style."""
    retries = order["retries"]
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= PPV_MAX_RETRIES:
        raise ValueError(f"retries must be an integer 0..{PPV_MAX_RETRIES}")
    if order["style"] is not None and order["style"] not in PPV_STYLES:
        raise ValueError(f"style must be one of {', '.join(PPV_STYLES)}")
    return order


def _order_request(body) -> dict:
    """Check a POST /_sim/orders/place body; ValueError says what is wrong."""
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    unknown = set(body) - {"subscriber", "action", "product", "plan", "transaction_id", "retries", "style"}
    if unknown:
        raise ValueError(f"unknown fields: {', '.join(sorted(unknown))}")
    order = {"subscriber": body.get("subscriber"), "action": body.get("action"), "product": body.get("product"),
             "plan": body.get("plan"), "transaction_id": body.get("transaction_id") or str(uuid.uuid4()),
             "retries": body.get("retries", 0), "style": body.get("style")}
    for name in ("subscriber", "product"):
        if not isinstance(order[name], str) or not order[name]:
            raise ValueError(f"{name} is required")
    if order["action"] not in ORDER_ACTIONS:
        raise ValueError(f"action must be one of {', '.join(ORDER_ACTIONS)}")
    return _check_retries_and_style(order)


def _ppv_order(body) -> dict:
    """Check a POST /_sim/ppv/buy body; ValueError says what is wrong."""
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    allowed = {"subscriber", "event_id", "price_minor", "currency", "transaction_id", "mode", "amount_minor",
               "retries", "style"}
    unknown = set(body) - allowed
    if unknown:
        raise ValueError(f"unknown fields: {', '.join(sorted(unknown))}")
    order = {"subscriber": body.get("subscriber"), "event_id": body.get("event_id"),
             "price_minor": body.get("price_minor"), "currency": body.get("currency"),
             "transaction_id": body.get("transaction_id") or str(uuid.uuid4()),
             "mode": body.get("mode", "two_step"), "amount_minor": body.get("amount_minor"),
             "retries": body.get("retries", 0), "style": body.get("style")}
    if not isinstance(order["subscriber"], str) or not order["subscriber"]:
        raise ValueError("subscriber is required (the platform's subscriber id, e.g. tp-5)")
    if order["event_id"] is None and order["price_minor"] is None:
        raise ValueError("give an event_id or a price_minor")
    if order["mode"] not in PPV_MODES:
        raise ValueError(f"mode must be one of {', '.join(PPV_MODES)}")
    return _check_retries_and_style(order)


class Simulator:
    """Subclass per platform: set ``name`` and implement ``handle``."""

    name = ""
    label = ""
    ppv_style = "json"  # which of tripleplay's PPV APIs this platform calls: "json" or "xml"

    def __init__(self, *, username: str = "tripleplay", password: str = "secret", state_file: str | None = None):
        self.username = username
        self.password = password
        self.state = SimState(state_file)
        self.faults = Faults()
        self.rng = random.Random()
        self.tripleplay = TripleplayLink(style=self.ppv_style)

    # -- to implement --------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        raise NotImplementedError

    def fault_response(self) -> Response:
        """What an overloaded platform answers (override for the platform's own error body)."""
        return Response.json(503, {"error": "service unavailable (simulated)"})

    # -- helpers for subclasses --------------------------------------------------------------------------
    def basic_authorized(self, request: Request) -> bool:
        """Whether the request carries HTTP Basic credentials, and they are this simulator's."""
        header = request.headers.get("authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        return user == self.username and password == self.password

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

    # -- pay-per-view, the platform's side ------------------------------------------------------------
    def configure_tripleplay(self, url: str, token: str, style: str | None = None) -> TripleplayLink:
        style = style or self.ppv_style
        if style not in PPV_STYLES:
            raise ValueError(f"style must be one of {', '.join(PPV_STYLES)}")
        if not isinstance(token, str) or not token.strip():
            raise ValueError("token is required (the platform's inbound token, tpp_...)")
        self.tripleplay = TripleplayLink(TripleplayLink.checked_url(url), token.strip(), style)
        return self.tripleplay

    def buy_ppv(self, body) -> dict:
        """Buy through tripleplay as this platform would (authorize then confirm, or one of the other
        modes); every call is sent 1 + ``retries`` times with the same transaction id. Returns the
        purchase record (also kept in the state). ValueError: a bad order or no tripleplay configured."""
        order = _ppv_order(body)
        link = self.tripleplay
        if order["style"]:
            link = TripleplayLink(link.url, link.token, order["style"])
        purchase = {k: order[k] for k in ("subscriber", "event_id", "price_minor", "currency")}
        settle = {"transaction_id": order["transaction_id"]}
        steps = {"two_step": [("authorize", purchase), ("confirm", {"amount_minor": order["amount_minor"]})],
                 "purchase": [("purchase", purchase)],
                 "authorize_only": [("authorize", purchase)],
                 "cancel": [("authorize", purchase), ("cancel", {})]}[order["mode"]]
        record = {"transaction_id": order["transaction_id"], "subscriber": order["subscriber"],
                  "event_id": order["event_id"], "price_minor": order["price_minor"], "mode": order["mode"],
                  "style": link.style, "retries": order["retries"], "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                  "http_status": {}, "repeats": {}, "repeats_identical": True, "entitled": False}
        with PpvClient(link) as client:
            for call, fields in steps:
                fields = {**settle, **fields}
                status, answer = client.call(call, fields)
                record[call], record["http_status"][call] = answer, status
                repeats = [client.call(call, fields) for _ in range(order["retries"])]
                if repeats:
                    record["repeats"][call] = [{"http_status": s, "answer": a} for s, a in repeats]
                    if any((s, a) != (status, answer) for s, a in repeats):
                        record["repeats_identical"] = False
                if answer.get("result") not in ("approved", "confirmed", "cancelled"):
                    break  # declined or failed: a platform goes no further
        final = record.get("confirm") or record.get("purchase") or {}
        record["entitled"] = (final.get("result") == "confirmed"
                              and record.get("authorize", {"result": "approved"}).get("result") == "approved")
        self.state.record_purchase(record)
        return record

    # -- orders from the TV screen, the platform's side ---------------------------------------------------
    def _link(self, style: str | None) -> TripleplayLink:
        link = self.tripleplay
        return TripleplayLink(link.url, link.token, style) if style else link

    def place_order(self, body) -> dict:
        """Order through tripleplay as this platform's TV screen would; the call is sent 1 + ``retries``
        times with the same transaction id. Returns the order record (also kept in the state)."""
        order = _order_request(body)
        link = self._link(order["style"])
        fields = {k: order[k] for k in ("transaction_id", "subscriber", "action", "product", "plan")}
        record = {**fields, "style": link.style, "retries": order["retries"],
                  "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "repeats_identical": True}
        with OrderClient(link) as client:
            status, answer = client.call("order", fields)
            record["http_status"], record["answer"] = status, answer
            repeats = [client.call("order", fields) for _ in range(order["retries"])]
        record["repeats"] = [{"http_status": s, "answer": a} for s, a in repeats]
        record["repeats_identical"] = all((s, a) == (status, answer) for s, a in repeats)
        self.state.record_order(record)
        return record

    def ask_balance(self, body) -> dict:
        if not isinstance(body, dict) or not isinstance(body.get("subscriber"), str) or not body["subscriber"]:
            raise ValueError("subscriber is required")
        if set(body) - {"subscriber", "style"}:
            raise ValueError(f"unknown fields: {', '.join(sorted(set(body) - {'subscriber', 'style'}))}")
        style = body.get("style")
        if style is not None and style not in PPV_STYLES:
            raise ValueError(f"style must be one of {', '.join(PPV_STYLES)}")
        link = self._link(style)
        with OrderClient(link) as client:
            status, answer = client.call("balance", {"subscriber": body["subscriber"]})
        return {"http_status": status, "answer": answer, "style": link.style}

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
        if request.method == "PUT" and parts == ["tripleplay"]:
            try:
                body = request.json() or {}
                if not isinstance(body, dict):
                    raise ValueError("the body must be a JSON object")
                link = self.configure_tripleplay(body.get("url"), body.get("token"), body.get("style"))
            except ValueError as e:  # JSONDecodeError included
                return Response.json(400, {"error": str(e)})
            return Response.json(200, link.public())
        if request.method == "GET" and parts == ["tripleplay"]:
            return Response.json(200, self.tripleplay.public())
        if request.method == "POST" and parts == ["ppv", "buy"]:
            try:
                return Response.json(200, self.buy_ppv(request.json()))
            except ValueError as e:  # JSONDecodeError included
                return Response.json(400, {"error": str(e)})
            except RuntimeError as e:  # the XML style without its protocol module
                return Response.json(501, {"error": str(e)})
        if request.method == "POST" and parts in (["orders", "place"], ["orders", "balance"]):
            try:
                body = request.json()
                return Response.json(200, self.place_order(body) if parts[1] == "place" else self.ask_balance(body))
            except ValueError as e:  # JSONDecodeError included
                return Response.json(400, {"error": str(e)})
            except RuntimeError as e:
                return Response.json(501, {"error": str(e)})
        if request.method == "POST" and parts == ["reset"]:
            with st.lock:
                st.subscribers.clear()
                st.keys.clear()
                st.ppv_purchases.clear()
                st.orders.clear()
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


def serve_until_stopped(server: ThreadingHTTPServer, announce: dict) -> None:
    """A simulator process's life after binding: print ``announce`` as one JSON line (what
    simulators/testing.launch() and the demo wait for), serve until SIGTERM or Ctrl+C, then close the
    socket. The caller's own clean-up (saving state, another socket) goes after it returns."""
    print(json.dumps(announce), flush=True)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
