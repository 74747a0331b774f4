"""Simulated Ministra portal: REST API v1 as the portal's own PHP code answers it (strict: it copies the
portal, never the adapter). Every rule below is read in the public portal source, repository
``iptvhakr/stalker_portal`` (a public copy of Infomir's stalker_portal); docs/platforms/ministra.md cites
the file for each one:

- order of checks (``server/lib/restapi/v1/restmanager.class.php``): the request is parsed first
  (``Empty resource``, ``Not supported method``: HTTP 200 errors even without credentials), then HTTP Basic
  (HTTP 401, ``WWW-Authenticate: Basic realm="Stalker API"``, ``"401 Unauthorized request"``), then the
  resource (``Resource "X" does not exist``), then the action (``... does not support action "y"``);
- bodies read with PHP ``parse_str`` for every method; answers ``{"status","results"[,"error"]}``;
- no idempotency keys: a header ``X-Idempotency-Key`` is ignored, a repeated POST accounts answers
  ``Login already in use``;
- accounts have an internal id; ``account_number`` ("ls") is optional and NOT unique: an identifier
  selects every account with that number, and PUT/DELETE/account_subscription act on all of them;
- a MAC is normalised on create only (``Middleware::normalizeMac``: upper case, 12 bare characters get
  colons, 17 characters are kept as they are); PUT writes ``stb_mac`` as sent, an empty one clears the
  box, a non-empty one also clears the box's ``access_token``, ``device_id`` and ``device_id2``;
- an unknown ``tariff_plan`` is stored as plan 0, which the portal reads as its default plan;
- ``account_subscription`` only subscribes packages that are *optional* in the account's tariff plan and
  not yet subscribed; anything else (unknown external id, mandatory, not in the plan) is ignored;
  ``results`` is true when at least one package changed, false (status OK) otherwise;
- ``services_package`` ``services``: ``"all"``, ``[{id, name}]`` for tv/radio/video packages, ids otherwise;
  ``tariffs`` lists plans with their packages (``optional`` "0"/"1"); ``itv`` has id, name, number, base_ch,
  hd, url, enable_monitoring (no xmltv_id).

Accounts live in the shared simulator state (so the control API and the fault test can read them):
keyed by account number for the first account holding that number, by ``#<uid>`` for any other.
Tariff plans: ``PUT /_sim/tariffs`` ``[{"external_id", "name", "user_default", "packages": {ext: "optional"
|"mandatory"}}]``; without it one default plan ``tripleplay`` holds every package as optional.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import parse_qsl

from tripleplay.simulators.base import Request, Response, Simulator

PREFIXES = ("/stalker_portal/api/v1/", "/stalker_portal/api/")
ACCOUNT_FIELDS = ("login", "password", "full_name", "phone", "account_number", "tariff_plan", "status", "stb_mac",
                  "comment", "end_date", "account_balance")
DEFAULT_TARIFF = "tripleplay"
SEND_EVENTS = {"send_msg", "reboot", "reload_portal", "update_channels", "play_channel", "play_radio_channel",
               "update_image", "show_menu", "cut_off", "send_msg_with_video"}
_INDEXED = re.compile(r"^([^\[\]]+)\[([^\]]*)\]$")
METHODS = {"GET": "get", "POST": "create", "PUT": "update", "DELETE": "delete"}


class CommandError(Exception):
    """A RESTCommandException: answered with HTTP 200 and status ERROR."""


def php_parse_str(body: bytes) -> dict:
    """The part of PHP's parse_str the API uses: plain keys (last wins) and name[] / name[i] arrays."""
    data: dict = {}
    for key, value in parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True):
        m = _INDEXED.match(key)
        if m:
            name = m.group(1)
            current = data.get(name)
            if not isinstance(current, list):
                current = data[name] = []
            current.append(value)
        else:
            data[key] = value
    return data


def portal_normalize_mac(mac: str) -> str | None:
    """``Middleware::normalizeMac`` (server/lib/middleware.class.php): trim, upper case; 12 characters get
    colons; a 17-character string is accepted as it is (so ``00-1A-...`` stays with dashes)."""
    mac = (mac or "").strip().upper()
    if len(mac) == 12:
        mac = ":".join(mac[i:i + 2] for i in range(0, 12, 2))
    return mac if len(mac) == 17 else None


def _empty(value) -> bool:
    """PHP empty(): "", "0", [], None."""
    return value in (None, "", "0", 0, [], False)


def _php_camel(resource: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in resource.split("_"))


def _as_list(value) -> list[str]:
    if _empty(value):
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


class MinistraSimulator(Simulator):
    name = "ministra"
    label = "Ministra (Infomir Stalker) REST API v1"
    ppv_style = "json"  # calls tripleplay's JSON PPV API (POST /api/v1/ppv/...)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.tariffs: list[dict] | None = None  # None: one default plan, every package optional
        self._last_uid = 0

    # -- wire ------------------------------------------------------------------------------------------
    def fault_response(self) -> Response:
        return Response(503, b"<html><head><title>503 Service Temporarily Unavailable</title></head>"
                             b"<body><center><h1>503 Service Temporarily Unavailable</h1></center></body></html>",
                        "text/html")

    @staticmethod
    def ok(results) -> Response:
        return Response.json(200, {"status": "OK", "results": results})

    @staticmethod
    def error(text: str, status: int = 200, results=None) -> Response:
        return Response.json(status, {"status": "ERROR", "results": results, "error": text})

    def handle(self, request: Request) -> Response:
        prefix = next((p for p in PREFIXES if request.path.startswith(p)), None)
        if prefix is None:
            return Response(404, b"<html><body><h1>404 Not Found</h1></body></html>", "text/html")
        # RESTRequest::init runs before the credential check (RESTManager::handleRequest)
        params = request.path[len(prefix):].split("/")
        if params and params[-1] == "":
            params.pop()
        if not params or not params[0]:
            return self.error("Empty resource")
        action = METHODS.get(request.method)
        if action is None:
            return self.error("Not supported method")
        if not self.basic_authorized(request):
            response = self.error("401 Unauthorized request", 401, results="")
            response.headers["WWW-Authenticate"] = 'Basic realm="Stalker API"'
            return response
        resource = params[0]
        identifiers = params[1].split(",") if len(params) > 1 else None
        command = getattr(self, f"r_{resource}", None)
        if command is None:
            return self.error(f'Resource "{_php_camel(resource)}" does not exist')
        data = php_parse_str(request.body)
        with self.state.lock:
            try:
                response = self.ok(command(action, identifiers, data, resource))
            except CommandError as e:
                response = self.error(str(e))
        return response if action == "get" else self._applied(response)

    def control(self, request: Request) -> Response:
        parts = [p for p in request.path.split("/") if p][1:]
        if request.method == "PUT" and parts == ["tariffs"]:
            with self.state.lock:
                self.tariffs = [dict(t) for t in (request.json() or [])]
            return Response.json(200, {"tariffs": [t["external_id"] for t in self.tariffs]})
        if request.method == "POST" and parts == ["reset"]:
            self.tariffs = None
            self._last_uid = 0
        return super().control(request)

    # -- plans and packages ----------------------------------------------------------------------------
    def _package_ids(self) -> dict[str, int]:
        return {ext: i + 1 for i, ext in enumerate(self.state.packages)}

    def _plans(self) -> list[dict]:
        """[{id, external_id, name, user_default, packages: {ext: optional_bool}}]"""
        if self.tariffs is None:
            return [{"id": 1, "external_id": DEFAULT_TARIFF, "name": "tripleplay", "user_default": 1,
                     "packages": {ext: True for ext in self.state.packages}}]
        return [{"id": i + 1, "external_id": t["external_id"], "name": t.get("name", t["external_id"]),
                 "user_default": int(bool(t.get("user_default"))),
                 "packages": {ext: kind == "optional" for ext, kind in (t.get("packages") or {}).items()
                              if ext in self.state.packages}}
                for i, t in enumerate(self.tariffs)]

    def _plan_of(self, rec: dict) -> dict | None:
        """User::__construct: tariff_plan_id 0 reads as the plan with user_default = 1."""
        plans = self._plans()
        plan_id = int(rec.get("tariff_plan_id") or 0)
        if plan_id == 0:
            return next((p for p in plans if p["user_default"]), None)
        return next((p for p in plans if p["id"] == plan_id), None)

    def _plan_id(self, external_id: str) -> int:
        """createAccount/updateAccount: ``(int) ... where external_id = X ->first('id')``: 0 when unknown."""
        return next((p["id"] for p in self._plans() if p["external_id"] == external_id), 0)

    def _channels(self) -> list[dict]:
        seen: dict[str, dict] = {}
        for package in self.state.packages.values():
            for channel in package.get("channels") or []:
                if channel not in seen:
                    n = len(seen) + 1
                    seen[channel] = {"id": str(n), "name": channel, "number": str(n), "base_ch": "1", "hd": "0",
                                     "url": "", "enable_monitoring": "0"}
        return list(seen.values())

    def _package_row(self, ext: str) -> dict:
        p = self.state.packages[ext]
        tv = p.get("kind", "channel") == "channel"
        return {"id": str(self._package_ids()[ext]), "external_id": ext, "name": p.get("name", ext),
                "description": p.get("description", ""), "type": "tv" if tv else "video",
                "all_services": "0" if tv else "1", "service_type": "periodic", "price": "0.00",
                "rent_duration": "0"}

    def _services(self, ext: str):
        """Tariff::getServicesForPackage: "all" when all_services, else the package's channels as {id, name}."""
        p = self.state.packages[ext]
        if p.get("kind", "channel") != "channel":
            return "all"
        by_name = {c["name"]: c for c in self._channels()}
        return [{"id": by_name[c]["id"], "name": c} for c in sorted(p.get("channels") or []) if c in by_name]

    # -- accounts storage ------------------------------------------------------------------------------
    @property
    def subs(self) -> dict[str, dict]:
        return self.state.subscribers

    def _uid(self, key: str) -> int:
        rec = self.subs[key]
        if "uid" not in rec:  # made through the control API: give it an internal id now
            rec["uid"] = self._next_uid()
        return rec["uid"]

    def _next_uid(self) -> int:
        self._last_uid = max([self._last_uid] + [s.get("uid", 0) for s in self.subs.values()]) + 1
        return self._last_uid

    def _number(self, key: str) -> str:
        return str(self.subs[key].get("account_number", key if not key.startswith("#") else ""))

    def _login(self, key: str) -> str:
        return str(self.subs[key].get("login", key))

    def _by_number(self, numbers: list[str] | None) -> list[str]:
        """Stb::getUidByAccountNumber: every account whose ls is in the list; all accounts for none."""
        if numbers is None:
            return list(self.subs)
        return [k for k in self.subs if self._number(k) in numbers]

    def _by_mac(self, macs: list[str]) -> list[str]:
        """Stb::getUidByMacs: the identifiers normalised, then compared with the stored MAC as it is."""
        wanted = {portal_normalize_mac(m) for m in macs} - {None}
        return [k for k, s in self.subs.items() if s.get("stb_mac") and s["stb_mac"] in wanted]

    def _store(self, rec: dict) -> str:
        number = str(rec.get("account_number") or "")
        key = number if number and number not in self.subs else f"#{rec['uid']}"
        self.subs[key] = rec
        return key

    def _account_info(self, key: str) -> dict:
        """User::getAccountInfo."""
        s = self.subs[key]
        plan = self._plan_of(s)
        ids = self._package_ids()
        optional = [ext for ext, opt in (plan or {"packages": {}})["packages"].items() if opt]
        subscribed = sorted(p for p in s.get("packages", []) if p in optional)
        return {
            "login": self._login(key), "full_name": s.get("full_name", ""), "phone": s.get("phone", ""),
            "account_number": self._number(key), "tariff_plan": plan["external_id"] if plan else None,
            "stb_sn": "", "stb_mac": s.get("stb_mac") or "", "stb_type": "", "status": 1 if s.get("enabled") else 0,
            "online": 0, "ip": "", "version": "", "comment": s.get("comment", ""),
            "subscribed": subscribed, "subscribed_id": [str(ids[p]) for p in subscribed],
        }

    # -- accounts (RESTCommandAccounts) ---------------------------------------------------------------
    def _account_ids(self, identifiers: list[str] | None) -> list[str]:
        """getUsersIdsFromIdentifiers: a MAC when 12+ characters with a ':' after the first, else ls."""
        if identifiers and identifiers[0] and len(identifiers[0]) >= 12 and ":" in identifiers[0][1:]:
            return self._by_mac(identifiers)
        return self._by_number(identifiers)

    @staticmethod
    def _one_identifier(identifiers, found) -> None:
        if identifiers is not None and len(identifiers) == 1 and not found:
            raise CommandError("Account not found")
        if identifiers is not None and len(identifiers) > 1:
            raise CommandError("Only one identifier allowed")

    def r_accounts(self, action, identifiers, data, resource):
        if action == "get":
            found = self._account_ids(identifiers)
            if identifiers is not None and len(identifiers) == 1 and not found:
                raise CommandError("Account not found")
            if identifiers is not None and len(identifiers) > len(found):
                raise CommandError("One or more identifiers are incorrect")
            return [self._account_info(k) for k in found]
        if action == "create":
            return self._create_account(data)
        if action == "update":
            return self._update_account(identifiers, data)
        if not identifiers:
            raise CommandError("Identifier required")
        found = self._account_ids(identifiers)
        self._one_identifier(identifiers, found)
        for key in found:  # every account with that number goes
            del self.subs[key]
        return True

    def _create_account(self, data: dict):
        if not data:
            raise CommandError("HTTP POST data is empty")
        account = {k: v for k, v in data.items() if k in ACCOUNT_FIELDS}
        if not account:
            raise CommandError("Insert data is empty")
        if not _empty(account.get("stb_mac")):
            mac = portal_normalize_mac(str(account["stb_mac"]))
            if not mac:
                raise CommandError("Not valid mac address")
            account["stb_mac"] = mac
        if _empty(account.get("login")):
            raise CommandError("Login required")
        if any(self._login(k) == account["login"] for k in self.subs):
            raise CommandError("Login already in use")
        if not _empty(account.get("stb_mac")) and any(s.get("stb_mac") == account["stb_mac"]
                                                      for s in self.subs.values()):
            raise CommandError("MAC address already in use")
        uid = self._next_uid()
        rec = {"uid": uid, "account_number": str(account.get("account_number") or ""), "login": account["login"],
               "full_name": account.get("full_name", ""), "phone": account.get("phone", ""),
               "tariff_plan_id": self._plan_id(str(account.get("tariff_plan") or "")),
               "stb_mac": account.get("stb_mac") or "", "comment": account.get("comment", ""),
               # users.status: 0 is on; createAccount stores !status only when status was sent
               "enabled": not _empty(account["status"]) if "status" in account else True,
               "packages": [], "access_token": "", "device_id": "", "device_id2": ""}
        if account.get("password"):  # md5(md5(password) . id), never the password itself
            rec["password_hash"] = hashlib.md5((hashlib.md5(account["password"].encode()).hexdigest() + str(uid))
                                               .encode()).hexdigest()
        self._store(rec)
        return True

    def _update_account(self, identifiers, data: dict):
        if not data:
            raise CommandError("HTTP POST data is empty")  # sic: the portal's text for PUT too
        account = {k: v for k, v in data.items() if k in ACCOUNT_FIELDS}
        if not account:
            raise CommandError("Insert data is empty")
        if not identifiers:
            raise CommandError("Identifier required")
        found = self._account_ids(identifiers)
        self._one_identifier(identifiers, found)
        if not _empty(account.get("login")):
            holder = next((k for k in self.subs if self._login(k) == account["login"]), None)
            if holder is not None and (holder != found[0] or len(found) > 1):
                raise CommandError("Login already in use")
        for key in found:  # User::updateAccount on every account with that number
            self._update_one(key, account)
        return True

    def _update_one(self, key: str, account: dict) -> None:
        rec = self.subs[key]
        if "status" in account:
            rec["enabled"] = not _empty(account["status"])
        for name in ("login", "full_name", "phone", "comment"):
            if name in account:
                rec[name] = account[name]
        if not _empty(account.get("tariff_plan")):
            rec["tariff_plan_id"] = self._plan_id(str(account["tariff_plan"]))
        if account.get("password"):
            rec["password_hash"] = hashlib.md5((hashlib.md5(account["password"].encode()).hexdigest()
                                                + str(self._uid(key))).encode()).hexdigest()
        if "stb_mac" in account:
            rec["stb_mac"] = str(account["stb_mac"])  # as sent: updateAccount does not normalise
            if not _empty(account["stb_mac"]):  # a new box: its token and device ids are forgotten
                rec.update(access_token="", device_id="", device_id2="")
        if "account_number" in account and str(account["account_number"]) != self._number(key):
            rec["account_number"] = str(account["account_number"])
            self._store(self.subs.pop(key))

    # -- account_subscription (RESTCommandAccountSubscription, User::updateOptionalPackageSubscription) --
    def _subscription_ids(self, identifiers: list[str] | None) -> list[str]:
        if identifiers and identifiers[0] and len(identifiers[0]) >= 12:
            return self._by_mac(identifiers)
        return self._by_number(identifiers)

    def _external_from_ids(self, internal_ids: list[str]) -> list[str]:
        by_id = {str(v): k for k, v in self._package_ids().items()}
        return [by_id[i] for i in internal_ids if i in by_id]

    def _update_optional(self, key: str, subscribe: list[str], unsubscribe: list[str]) -> bool:
        if not subscribe and not unsubscribe:
            return False
        rec = self.subs[key]
        plan = self._plan_of(rec)
        optional = {ext for ext, opt in (plan or {"packages": {}})["packages"].items() if opt}
        current = list(rec.get("packages", []))
        changed = False
        for ext in dict.fromkeys(subscribe):
            if ext in optional and ext not in current:  # subscribeToPackage: optional and not subscribed
                current.append(ext)
                changed = True
        for ext in dict.fromkeys(unsubscribe):
            if ext in optional and ext in current:
                current.remove(ext)
                changed = True
        rec["packages"] = sorted(current)
        return changed

    def _subscribed(self, key: str) -> list[str]:
        return self._account_info(key)["subscribed"]

    def r_account_subscription(self, action, identifiers, data, resource):
        if action == "get":
            found = self._subscription_ids(identifiers)
            self._one_identifier(identifiers, found)
            return [{"mac": self.subs[k].get("stb_mac") or None, "subscribed": self._subscribed(k),
                     "subscribed_id": self._account_info(k)["subscribed_id"]} for k in found]
        if action == "create":
            if not data:
                raise CommandError("HTTP POST data is empty")
            if not any(k in data for k in ("subscribed", "subscribed_id")):
                raise CommandError("Insert data is empty")
        elif action == "update":
            if not data:
                raise CommandError("HTTP PUT data is empty")
            if not any(k in data for k in ("subscribed", "subscribed_id", "unsubscribed", "unsubscribed_id")):
                raise CommandError("Insert data is empty")
        found = self._subscription_ids(identifiers)
        self._one_identifier(identifiers, found)
        result = True
        for key in found:  # no identifier: every account, as the portal does
            if action == "create":
                wanted = _as_list(data.get("subscribed"))
                wanted_ids = _as_list(data.get("subscribed_id"))
                current = self._subscribed(key)
                info_ids = self._account_info(key)["subscribed_id"]
                subscribe = wanted + self._external_from_ids(wanted_ids)
                unsubscribe = ([p for p in current if p not in wanted] if wanted else []) + \
                    (self._external_from_ids([i for i in info_ids if i not in wanted_ids]) if wanted_ids else [])
            elif action == "update":
                subscribe = _as_list(data.get("subscribed")) + self._external_from_ids(
                    _as_list(data.get("subscribed_id")))
                unsubscribe = _as_list(data.get("unsubscribed")) + self._external_from_ids(
                    _as_list(data.get("unsubscribed_id")))
            else:  # delete
                subscribe, unsubscribe = [], self._subscribed(key)
            result = self._update_optional(key, subscribe, unsubscribe) and result
        return result

    # -- catalog ------------------------------------------------------------------------------------------
    def r_services_package(self, action, identifiers, data, resource):
        if action != "get":
            raise CommandError(f'Resource "{resource}" does not support action "{action}"')
        ids = self._package_ids()
        if identifiers and identifiers[0]:
            wanted = int(identifiers[0]) if identifiers[0].isdigit() else 0
            ext = next((e for e, i in ids.items() if i == wanted), None)
            return {**self._package_row(ext), "services": self._services(ext)} if ext else None
        return [{**self._package_row(ext), "services": self._services(ext)} for ext in ids]

    def r_tariffs(self, action, identifiers, data, resource):
        if action != "get":
            raise CommandError(f'Resource "{resource}" does not support action "{action}"')

        def row(plan: dict) -> dict:
            return {"id": str(plan["id"]), "name": plan["name"], "external_id": plan["external_id"],
                    "user_default": str(plan["user_default"]), "days_to_expires": "0",
                    "packages": [{**self._package_row(ext), "optional": "1" if opt else "0"}
                                 for ext, opt in plan["packages"].items()]}

        plans = self._plans()
        if identifiers and identifiers[0]:
            wanted = int(identifiers[0]) if identifiers[0].isdigit() else 0
            return next((row(p) for p in plans if p["id"] == wanted), None)
        return [row(p) for p in plans]

    def r_itv(self, action, identifiers, data, resource):
        if action != "get":
            raise CommandError(f'Resource "{resource}" does not support action "{action}"')
        channels = self._channels()
        if identifiers:
            channels = [c for c in channels if c["id"] in identifiers]
        return channels

    def r_stb(self, action, identifiers, data, resource):
        if action != "get":  # tripleplay manages accounts, not set-top boxes
            raise CommandError(f'Resource "{resource}" does not support action "{action}"')
        found = (self._by_mac(identifiers) if identifiers and len(identifiers[0]) >= 12
                 else self._by_number(identifiers))
        return [{"mac": self.subs[k].get("stb_mac") or "", "ls": self._number(k), "login": self._login(k),
                 "status": 1 if self.subs[k].get("enabled") else 0, "online": 0, "additional_services_on": "1"}
                for k in found]

    def r_send_event(self, action, identifiers, data, resource):
        if action != "create":
            raise CommandError(f'Resource "{resource}" does not support action "{action}"')
        if identifiers:
            found = self._by_mac(identifiers) if len(identifiers[0]) >= 12 else self._by_number(identifiers)
            if not found:
                raise CommandError("STB not found")
        return data.get("event") in SEND_EVENTS  # an unknown event is not an error: results false
