"""Simulated TVIP TMS: its provider REST API (``/api/provider/``) and its side of the billing API.

FOLLOWS THE PUBLIC REFERENCE where there is one (docs/platforms/tvip.md lists what was read and what was
chosen where the reference is silent):
- ``GET`` reads, ``POST`` creates (no ``id`` in the body) or modifies (``id`` in the body: only the
  properties sent change), ``DELETE`` deletes; HTTP Basic; JSON with ``Accept: application/json``;
- lists are ``{"data": [...]}`` paged by ``start`` / ``limit`` and filtered by query parameters
  (``login``, ``account``, ``quick_search``...); one entity is ``GET <resource>/<id>``;
- resources: ``accounts`` (``login`` unique within the provider, ``enable``, ``fullname``, ``provider``,
  ``remote_custom_field``: "for the internal ID mapping in billing"), ``tarifs`` (TMS's own spelling;
  integer ids), ``account_subscriptions`` (``account``, ``tarif``, ``start``, ``stop``) and ``devices``
  (``mac``, ``unique_id``, ``account``);
- errors are 4xx with ``{"statusCode": N, "cause": "..."}``.

Strict where the real TMS is strict or where the reference is silent (each listed in tvip.md): unknown
fields are refused (400), ``PUT``/``PATCH`` are 405, bodies must be ``application/json`` (415), dates
must be ``Y-m-dTH:i:sO``, a tariff given to an account twice at once is refused, and (because the shared
simulator state is keyed by billing's id) two accounts may not share a ``remote_custom_field``.

The simulator keeps each account in the shared state under its ``remote_custom_field`` (tripleplay's
subscriber id; ``tms-<id>`` without one), with its tariffs as the harness's package keys (``basic``...),
so the framework's control API and the shared tests see it like every other platform. On the wire a
tariff is its TMS integer id: the position of the package in the simulator's catalogue (1, 2, ...).

Writes are deduplicated on ``X-Idempotency-Key`` (the real TMS has no such header and ignores it).

The billing API, TMS's side (the TV app asks the operator's billing to switch, subscribe or cancel a
tariff; docs/platforms/tvip.md "Billing API"):
    PUT  /_sim/tms           {"ignore_filters": ["remote_custom_field"], "ignore_fields": ["enable"]}: list
                             filters this TMS ignores (the reference names login/account/quick_search, not
                             remote_custom_field) and account fields it accepts but silently drops
    PUT  /_sim/billing       {"url": "http://127.0.0.1:N/...", "token": "...", "provider_id": 1}
    GET  /_sim/billing       -> {"url", "provider_id", "token_set", "requests": [...]}
    POST /_sim/billing/send  {"subscriber": "tp-5", "action": "switch"|"subscribe"|"cancel",
                              "tariff": "<billing's tariff id>", "path"?, "method"?, "body"?, "language"?}
                             -> what was sent (headers, signature) and what billing answered
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from urllib.parse import urlsplit

from tripleplay.simulators.base import LOOPBACK, Request, Response, Simulator

API = "/api/provider/"
PROVIDER_ID = 1
MAX_LIMIT = 1000
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{4}$")
MAC_RE = re.compile(r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$")
ACCOUNT_FIELDS = {"id", "login", "fullname", "enable", "provider", "remote_custom_field", "contract", "description",
                  "main_address", "pin_md5", "password", "devices_per_account", "region"}
SUBSCRIPTION_FIELDS = {"id", "account", "tarif", "start", "stop"}
DEVICE_FIELDS = {"id", "mac", "unique_id", "account", "provider", "comment", "remote_custom_field", "device_type"}
BILLING_ACTIONS = ("switch", "subscribe", "cancel")
BILLING_TIMEOUT_S = 5.0


class ApiError(Exception):
    def __init__(self, status: int, cause: str):
        super().__init__(cause)
        self.status, self.cause = status, cause


def billing_signature(path: str, token: str, content_length: int) -> str:
    """X-AUTH-TOKEN as docs/platforms/tvip.md reads the reference: md5(path + token + content length when
    there is a body). The reference's snippet overwrites instead of appending for a body; see tvip.md."""
    return hashlib.md5(f"{path}{token}{content_length if content_length > 0 else ''}".encode()).hexdigest()


class TvipSimulator(Simulator):
    name = "tvip"
    label = "TVIP TMS provider API"
    ppv_style = "json"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.loose_devices: dict[int, dict] = {}  # devices known to TMS but bound to no account
        self.billing = {"url": "", "token": "", "provider_id": PROVIDER_ID}
        self.billing_requests: list[dict] = []
        self.ignored_filters: set[str] = set()  # query filters this TMS is made to ignore (PUT /_sim/tms)
        self.ignored_fields: set[str] = set()  # account fields it accepts and silently drops (PUT /_sim/tms)
        self.last_ids: dict[str, int] = {}  # ids are never reused, like a database sequence (in memory)

    def new_id(self, kind: str, used) -> int:
        self.last_ids[kind] = max(self.last_ids.get(kind, 0), max(used, default=0)) + 1
        return self.last_ids[kind]

    # -- wire --------------------------------------------------------------------------------------------
    def fault_response(self) -> Response:
        return Response.json(503, {"statusCode": 503, "cause": "Service Unavailable"})

    @staticmethod
    def fail(status: int, cause: str) -> Response:
        return Response.json(status, {"statusCode": status, "cause": cause})

    def handle(self, request: Request) -> Response:
        if not request.path.startswith(API):
            return self.fail(404, "Not Found")
        if not self.basic_authorized(request):
            response = self.fail(401, "Unauthorized")
            response.headers["WWW-Authenticate"] = 'Basic realm="TMS"'
            return response
        parts = [p for p in request.path[len(API):].split("/") if p]
        if not parts or len(parts) > 2:
            return self.fail(404, "Not Found")
        resource, ident = parts[0], (parts[1] if len(parts) == 2 else None)
        handler = getattr(self, f"r_{resource}", None)
        if handler is None:
            return self.fail(404, f"No resource {resource}")
        if request.method not in ("GET", "POST", "DELETE"):
            return self.fail(405, f"Request method '{request.method}' not supported")
        if ident is not None and not ident.isdigit():
            return self.fail(400, f"Failed to convert value of type 'String' to required type 'long': {ident!r}")
        if request.method == "POST" and ident is not None:
            return self.fail(405, "Request method 'POST' not supported (send the id in the body)")
        if request.method == "DELETE" and ident is None:
            return self.fail(405, "Request method 'DELETE' not supported without an id")
        body = None
        if request.method == "POST":
            if not request.headers.get("content-type", "").startswith("application/json"):
                return self.fail(415, "Content type not supported; use application/json")
            try:
                body = request.json()
            except (ValueError, UnicodeDecodeError):
                return self.fail(400, "JSON parse error")
            if not isinstance(body, dict):
                return self.fail(400, "JSON parse error: an object is expected")

        def apply() -> Response:
            with self.state.lock:
                try:
                    status, payload = handler(request, int(ident) if ident is not None else None, body)
                except ApiError as e:
                    return self.fail(e.status, e.cause)
                return Response.json(status, payload)

        if request.method == "GET":
            return apply()
        key = request.headers.get("x-idempotency-key")
        return self.dedupe(f"{key}|{request.method} {request.path}" if key else None, apply)

    # -- the shared state seen as TMS entities ----------------------------------------------------------
    def tariff_ids(self) -> dict[str, int]:
        return {ext: i + 1 for i, ext in enumerate(self.state.packages)}

    def _accounts(self) -> dict[int, str]:
        """TMS account id -> state key; gives an id (and TMS defaults) to accounts made through /_sim/."""
        found, used = {}, [s["id"] for s in self.state.subscribers.values() if isinstance(s.get("id"), int)]
        for key, sub in self.state.subscribers.items():
            if not isinstance(sub.get("id"), int):
                sub["id"] = self.new_id("account", used)
                used.append(sub["id"])
            sub.setdefault("login", key)
            sub.setdefault("remote_custom_field", None if key.startswith("tms-") else key)
            sub.setdefault("enabled", True)
            sub.setdefault("packages", [])
            sub.setdefault("devices", [])
            found[sub["id"]] = key
        return found

    def _subscriptions(self) -> dict[int, tuple[str, str]]:
        """Subscription id -> (state key, package); gives ids to packages set through /_sim/."""
        found, used = {}, [i for s in self.state.subscribers.values() for i in (s.get("subscription_ids") or {}).values()]
        for key, sub in self.state.subscribers.items():
            ids = sub.setdefault("subscription_ids", {})
            starts = sub.setdefault("subscription_starts", {})
            for package in list(ids):
                if package not in sub.get("packages", []):
                    del ids[package]
                    starts.pop(package, None)
            for package in sub.get("packages", []):
                if package not in ids:
                    ids[package] = self.new_id("subscription", used)
                    used.append(ids[package])
                    starts[package] = _now()
                found[ids[package]] = (key, package)
        return found

    def _devices(self) -> dict[int, dict]:
        """Device id -> device, bound (from the accounts) and loose."""
        found = dict(self.loose_devices)
        used = list(found) + [i for s in self.state.subscribers.values() for i in (s.get("device_ids") or {}).values()]
        by_id = self._accounts()
        for account_id, key in by_id.items():
            sub = self.state.subscribers[key]
            ids = sub.setdefault("device_ids", {})
            for mac in list(ids):
                if mac not in sub["devices"]:
                    del ids[mac]
            for mac in sub["devices"]:
                if mac not in ids:
                    ids[mac] = self.new_id("device", used)
                    used.append(ids[mac])
                found[ids[mac]] = {"id": ids[mac], **_device_keys(mac), "account": account_id,
                                   "provider": PROVIDER_ID}
        return found

    def _account_json(self, key: str) -> dict:
        s = self.state.subscribers[key]
        return {"id": s["id"], "login": s["login"], "fullname": s.get("fullname", ""), "enable": bool(s["enabled"]),
                "provider": s.get("provider", PROVIDER_ID), "remote_custom_field": s.get("remote_custom_field"),
                "contract": s.get("contract", ""), "description": s.get("description", ""),
                "main_address": s.get("main_address", ""), "devices_per_account": s.get("devices_per_account"),
                "region": s.get("region")}

    def _tariff_json(self, ext: str, tms_id: int) -> dict:
        p = self.state.packages[ext]
        return {"id": tms_id, "name": p.get("name", ext), "enabled": True, "description": p.get("description", "")}

    # -- tarifs (read-only through the provider API: tariffs are made in the TMS web interface) ---------------
    def r_tarifs(self, request: Request, ident: int | None, body):
        if request.method != "GET":
            raise ApiError(405, f"Request method '{request.method}' not supported")
        tariffs = [self._tariff_json(ext, i) for ext, i in self.tariff_ids().items()]
        if ident is not None:
            one = next((t for t in tariffs if t["id"] == ident), None)
            if one is None:
                raise ApiError(404, f"Tarif {ident} not found")
            return 200, one
        search = (request.param("quick_search") or "").lower()
        return 200, _page(request, [t for t in tariffs if search in t["name"].lower()])

    # -- accounts -------------------------------------------------------------------------------------------
    def r_accounts(self, request: Request, ident: int | None, body):
        by_id = self._accounts()
        if request.method == "GET":
            if ident is not None:
                if ident not in by_id:
                    raise ApiError(404, f"Account {ident} not found")
                return 200, self._account_json(by_id[ident])
            rows = [self._account_json(key) for key in sorted(by_id.values(), key=lambda k: self.state.subscribers[k]["id"])]
            for name in ("login", "remote_custom_field", "provider"):
                wanted = None if name in self.ignored_filters else request.param(name)
                if wanted is not None:
                    rows = [r for r in rows if str(r[name]) == wanted]
            search = (request.param("quick_search") or "").lower()
            if search:
                rows = [r for r in rows if search in f"{r['login']} {r['fullname']} {r['contract']}".lower()]
            return 200, _page(request, rows)
        if request.method == "DELETE":
            if ident not in by_id:
                raise ApiError(404, f"Account {ident} not found")
            del self.state.subscribers[by_id[ident]]
            return 200, {"id": ident}
        _known_fields(body, ACCOUNT_FIELDS)
        body = {k: v for k, v in body.items() if k not in self.ignored_fields}
        if body.get("id") is None:
            return 200, self._create_account(body)
        return 200, self._modify_account(body, by_id)

    def _create_account(self, body: dict) -> dict:
        login = body.get("login")
        if not isinstance(login, str) or not login.strip():
            raise ApiError(400, "login: must not be empty")
        provider = body.get("provider")
        if provider is None:
            raise ApiError(400, "provider: must not be null")
        if provider != PROVIDER_ID:
            raise ApiError(400, f"Provider {provider} not found")
        if "enable" in body and not isinstance(body["enable"], bool):
            raise ApiError(400, "enable: a boolean is expected")
        self._check_login(login, None)
        ref = body.get("remote_custom_field")
        if ref is not None and not isinstance(ref, str):
            raise ApiError(400, "remote_custom_field: a string is expected")
        key = ref or ""
        if ref and ref in self.state.subscribers:  # simulator limitation: its state is keyed by this field
            raise ApiError(409, f"remote_custom_field {ref!r} already used (simulator keys accounts by it)")
        ids = self._accounts()
        new_id = self.new_id("account", ids)
        key = ref or f"tms-{new_id}"
        self.state.subscribers[key] = {
            "id": new_id, "login": login, "enabled": body.get("enable", True), "packages": [], "devices": [],
            "provider": provider, "remote_custom_field": ref,
            **{f: body[f] for f in ("fullname", "contract", "description", "main_address", "devices_per_account",
                                    "region") if f in body}}
        if body.get("password") or body.get("pin_md5"):  # kept as TMS would: never the password itself
            self.state.subscribers[key]["password_set"] = True
        return self._account_json(key)

    def _modify_account(self, body: dict, by_id: dict[int, str]) -> dict:
        ident = body["id"]
        if not isinstance(ident, int) or ident not in by_id:
            raise ApiError(404, f"Account {ident} not found")
        key = by_id[ident]
        sub = self.state.subscribers[key]
        if "login" in body:
            if not isinstance(body["login"], str) or not body["login"].strip():
                raise ApiError(400, "login: must not be empty")
            self._check_login(body["login"], ident)
            sub["login"] = body["login"]
        if "enable" in body:
            if not isinstance(body["enable"], bool):
                raise ApiError(400, "enable: a boolean is expected")
            sub["enabled"] = body["enable"]
        if "provider" in body and body["provider"] != sub.get("provider", PROVIDER_ID):
            raise ApiError(400, "provider: an account cannot move to another provider")
        if "remote_custom_field" in body and body["remote_custom_field"] != sub.get("remote_custom_field"):
            raise ApiError(400, "remote_custom_field: this simulator keys accounts by it and cannot change it")
        for f in ("fullname", "contract", "description", "main_address", "devices_per_account", "region"):
            if f in body:
                sub[f] = body[f]
        return self._account_json(key)

    def _check_login(self, login: str, own_id: int | None) -> None:
        for sub in self.state.subscribers.values():
            if sub.get("login") == login and sub.get("id") != own_id:
                raise ApiError(409, f"Account with login {login!r} already exists")

    # -- account_subscriptions ----------------------------------------------------------------------------
    def r_account_subscriptions(self, request: Request, ident: int | None, body):
        by_id = self._accounts()
        subs = self._subscriptions()
        tariffs = self.tariff_ids()
        if request.method == "GET":
            rows = []
            for sub_id, (key, package) in sorted(subs.items()):
                s = self.state.subscribers[key]
                rows.append({"id": sub_id, "account": s["id"], "tarif": tariffs.get(package),
                             "start": s["subscription_starts"][package], "stop": None})
            if ident is not None:
                one = next((r for r in rows if r["id"] == ident), None)
                if one is None:
                    raise ApiError(404, f"Subscription {ident} not found")
                return 200, one
            for name in ("account", "tarif"):
                wanted = request.param(name)
                if wanted is not None:
                    rows = [r for r in rows if str(r[name]) == wanted]
            return 200, _page(request, rows)
        if request.method == "DELETE":
            if ident not in subs:
                raise ApiError(404, f"Subscription {ident} not found")
            key, package = subs[ident]
            self.state.subscribers[key]["packages"].remove(package)
            self._subscriptions()
            return 200, {"id": ident}
        _known_fields(body, SUBSCRIPTION_FIELDS)
        if body.get("id") is not None:
            raise ApiError(400, "a subscription is not modified: delete it and add another")
        account, tarif, start = body.get("account"), body.get("tarif"), body.get("start")
        if not isinstance(account, int) or account not in by_id:
            raise ApiError(400, f"account: Account {account} not found")
        by_tms = {v: k for k, v in tariffs.items()}
        if not isinstance(tarif, int) or tarif not in by_tms:
            raise ApiError(400, f"tarif: Tarif {tarif} not found")
        if not isinstance(start, str) or not DATE_RE.match(start):
            raise ApiError(400, "start: the date format is Y-m-dTH:i:sO, e.g. 2025-03-04T10:00:00+0000")
        if body.get("stop") is not None:  # simulator limitation: it keeps open-ended subscriptions only
            raise ApiError(400, "stop: this simulator keeps open-ended subscriptions only (stop must be null)")
        key, package = by_id[account], by_tms[tarif]
        sub = self.state.subscribers[key]
        if package in sub["packages"]:
            raise ApiError(409, f"Account {account} is already subscribed to tarif {tarif}")
        sub["packages"] = sorted([*sub["packages"], package])
        new_id = next(i for i, (k, p) in self._subscriptions().items() if (k, p) == (key, package))
        sub["subscription_starts"][package] = start
        return 200, {"id": new_id, "account": account, "tarif": tarif, "start": start, "stop": None}

    # -- devices ---------------------------------------------------------------------------------------------
    def r_devices(self, request: Request, ident: int | None, body):
        by_id = self._accounts()
        devices = self._devices()
        if request.method == "GET":
            rows = [devices[i] for i in sorted(devices)]
            if ident is not None:
                if ident not in devices:
                    raise ApiError(404, f"Device {ident} not found")
                return 200, devices[ident]
            wanted = request.param("account")
            if wanted is not None:
                rows = [r for r in rows if str(r["account"]) == wanted]
            search = (request.param("quick_search") or "").lower()
            if search:
                rows = [r for r in rows if search in f"{r.get('mac') or ''} {r.get('unique_id') or ''}".lower()]
            return 200, _page(request, rows)
        if request.method == "DELETE":
            if ident not in devices:
                raise ApiError(404, f"Device {ident} not found")
            self._unbind(devices[ident])
            self.loose_devices.pop(ident, None)
            return 200, {"id": ident}
        _known_fields(body, DEVICE_FIELDS)
        account = body.get("account")
        if account is not None and (not isinstance(account, int) or account not in by_id):
            raise ApiError(400, f"account: Account {account} not found")
        if body.get("id") is None:
            mac, unique_id = body.get("mac"), body.get("unique_id")
            if not mac and not unique_id:
                raise ApiError(400, "mac or unique_id: one must be given")
            if mac and (not isinstance(mac, str) or not MAC_RE.match(mac)):
                raise ApiError(400, f"mac: {mac!r} is not a MAC address (XX:XX:XX:XX:XX:XX)")
            ident_value = (mac or unique_id).upper() if mac else unique_id
            if any((d.get("mac") or d.get("unique_id")) == ident_value for d in devices.values()):
                raise ApiError(409, f"Device {ident_value} already exists")
            new_id = self.new_id("device", devices)
            device = {"id": new_id, **_device_keys(ident_value), "account": None, "provider": PROVIDER_ID}
            self.loose_devices[new_id] = device
            if account is not None:
                return 200, self._bind(new_id, ident_value, account, by_id)
            return 200, device
        ident = body["id"]
        if ident not in devices:
            raise ApiError(404, f"Device {ident} not found")
        device = devices[ident]
        value = device.get("mac") or device.get("unique_id")
        if "account" in body:
            self._unbind(device)
            self.loose_devices[ident] = {**device, "account": None}
            if account is not None:
                return 200, self._bind(ident, value, account, by_id)
        return 200, self._devices()[ident]

    def _bind(self, device_id: int, value: str, account: int, by_id: dict[int, str]) -> dict:
        self.loose_devices.pop(device_id, None)
        sub = self.state.subscribers[by_id[account]]
        sub["devices"] = [*sub["devices"], value]
        sub.setdefault("device_ids", {})[value] = device_id
        return self._devices()[device_id]

    def _unbind(self, device: dict) -> None:
        value = device.get("mac") or device.get("unique_id")
        for sub in self.state.subscribers.values():
            if value in sub.get("devices", []):
                sub["devices"] = [d for d in sub["devices"] if d != value]
                (sub.get("device_ids") or {}).pop(value, None)

    # -- the billing API, TMS's side ------------------------------------------------------------------------
    def control(self, request: Request) -> Response:
        parts = [p for p in request.path.split("/") if p][1:]
        if request.method == "PUT" and parts == ["tms"]:
            body = request.json() or {}
            filters = body.get("ignore_filters", []) if isinstance(body, dict) else None
            fields = body.get("ignore_fields", []) if isinstance(body, dict) else None
            if not all(isinstance(x, list) and all(isinstance(f, str) for f in x) for x in (filters, fields)):
                return Response.json(400, {"error": "ignore_filters and ignore_fields must be lists of names"})
            self.ignored_filters, self.ignored_fields = set(filters), set(fields)
            return Response.json(200, {"ignore_filters": sorted(filters), "ignore_fields": sorted(fields)})
        if request.method == "POST" and parts == ["reset"]:
            self.loose_devices.clear()
            self.billing_requests.clear()
            self.ignored_filters, self.ignored_fields = set(), set()
            self.last_ids.clear()
        if parts[:1] == ["billing"]:
            try:
                if request.method == "PUT" and parts == ["billing"]:
                    return Response.json(200, self.configure_billing(request.json() or {}))
                if request.method == "GET" and parts == ["billing"]:
                    return Response.json(200, self.billing_public())
                if request.method == "POST" and parts == ["billing", "send"]:
                    return Response.json(200, self.send_billing(request.json() or {}))
            except ValueError as e:  # JSONDecodeError included
                return Response.json(400, {"error": str(e)})
        return super().control(request)

    def configure_billing(self, body) -> dict:
        if not isinstance(body, dict):
            raise ValueError("the body must be a JSON object")
        url, token = body.get("url"), body.get("token")
        parts = urlsplit(url) if isinstance(url, str) else None
        if not parts or parts.scheme != "http" or parts.hostname not in LOOPBACK:
            raise ValueError("url must be http:// on loopback (127.0.0.1, localhost or ::1)")
        if not isinstance(token, str) or not token:
            raise ValueError("token is required (the token of the provider's Resolve Billing setting)")
        provider = body.get("provider_id", PROVIDER_ID)
        if isinstance(provider, bool) or not isinstance(provider, int):
            raise ValueError("provider_id must be an integer")
        self.billing = {"url": url.rstrip("/"), "token": token, "provider_id": provider}
        return self.billing_public()

    def billing_public(self) -> dict:
        return {"url": self.billing["url"] or None, "provider_id": self.billing["provider_id"],
                "token_set": bool(self.billing["token"]), "requests": self.billing_requests[-100:]}

    def send_billing(self, body) -> dict:
        """One request from TMS to the operator's billing, as the TV app's personal account makes it."""
        import httpx

        if not self.billing["url"]:
            raise ValueError("billing is not configured: PUT /_sim/billing {url, token} first")
        if not isinstance(body, dict):
            raise ValueError("the body must be a JSON object")
        action, subscriber, tariff = body.get("action"), body.get("subscriber"), body.get("tariff")
        if action not in BILLING_ACTIONS:
            raise ValueError(f"action must be one of {', '.join(BILLING_ACTIONS)}")
        with self.state.lock:
            self._accounts()
            sub = self.state.subscribers.get(subscriber) if isinstance(subscriber, str) else None
            if sub is None:
                raise ValueError(f"no account {subscriber!r} on this TMS")
            account_id = sub["id"]
        if not isinstance(tariff, str | int) or isinstance(tariff, bool) or not str(tariff):
            raise ValueError("tariff is required (billing's tariff id, as billing listed it)")
        path = body.get("path") or f"/tariffs/{tariff}/{action}"
        method = body.get("method") or "POST"
        payload = body.get("body")
        content = json.dumps(payload).encode() if payload is not None else b""
        full_path = urlsplit(self.billing["url"]).path + path
        headers = {"X-TMS-ACCOUNT-ID": str(account_id), "X-TMS-PROVIDER-ID": str(self.billing["provider_id"]),
                   "Accept-Language": body.get("language") or "en", "Accept": "application/json",
                   "X-AUTH-TOKEN": billing_signature(full_path, self.billing["token"], len(content))}
        if content:
            headers["Content-Type"] = "application/json"
        record = {"at": _now(), "action": action, "subscriber": subscriber, "method": method, "path": full_path,
                  "headers": {k: v for k, v in headers.items() if k != "X-AUTH-TOKEN"}, "body": payload}
        try:
            with httpx.Client(timeout=BILLING_TIMEOUT_S, trust_env=False) as client:
                answer = client.request(method, self.billing["url"] + path, content=content or None, headers=headers)
            record["status"] = answer.status_code
            try:
                record["answer"] = answer.json()
            except ValueError:
                record["answer"] = answer.text[:1000]
        except httpx.HTTPError as e:
            record["status"], record["answer"] = None, f"{type(e).__name__}: {e}"
        self.billing_requests.append(record)
        del self.billing_requests[:-1000]
        return record


def _device_keys(value: str) -> dict:
    return {"mac": value, "unique_id": None} if MAC_RE.match(value) else {"mac": None, "unique_id": value}


def _known_fields(body: dict, allowed: set[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ApiError(400, f"Unrecognized field(s): {', '.join(unknown)}")


def _page(request: Request, rows: list[dict]) -> dict:
    try:
        start = int(request.param("start", "0"))
        limit = int(request.param("limit", "25"))
    except ValueError:
        raise ApiError(400, "start and limit must be integers") from None
    if start < 0 or limit < -1 or limit > MAX_LIMIT:
        raise ApiError(400, f"start must be >= 0 and limit between -1 and {MAX_LIMIT}")
    if limit in (0, -1):  # the PHP integrations ask limit=0 / -1 for "all"
        return {"data": rows[start:], "total": len(rows)}
    return {"data": rows[start:start + limit], "total": len(rows)}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")
