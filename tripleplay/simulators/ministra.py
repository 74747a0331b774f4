"""Simulated Ministra portal: REST API v1 exactly as the portal's own code answers it.

Served under ``/stalker_portal/api/`` and ``/stalker_portal/api/v1/`` (the portal has both entry points).
What follows the portal (RESTManager / RESTRequest / RESTResponse and the RESTCommand* classes):
form-encoded bodies read with PHP ``parse_str`` rules for every method, HTTP 200 with
``{"status": "ERROR", "results": null, "error": "<text>"}`` for every refused command, HTTP 401 with
``"401 Unauthorized request"`` for a bad Basic credential, the error texts, identifiers (account number,
or MAC when 12+ characters: with a ':' for ``accounts``, any for ``account_subscription``), and
``account_subscription`` semantics (POST replaces, PUT adds/removes, DELETE removes all, ``results``
false when nothing changed).

Where this simulator is deliberately stricter than the portal (documented in docs/platforms/ministra.md):
an unknown package external id is an error (the portal ignores it), and accounts need a unique
``account_number`` (the portal allows several accounts per number), because the shared state is keyed by it.

Duplicate detection uses the ``X-Idempotency-Key`` header (the real portal ignores it).
"""

from __future__ import annotations

import base64
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
            current.append(value)  # name[] and name[i] alike: order of arrival is enough for this API
        else:
            data[key] = value
    return data


def normalize_mac(mac: str) -> str | None:
    hexdigits = re.sub(r"[^0-9A-Fa-f]", "", mac or "")
    if len(hexdigits) != 12 or not re.fullmatch(r"[0-9A-Fa-f:\-. ]+", mac or ""):
        return None
    return ":".join(hexdigits[i:i + 2] for i in range(0, 12, 2)).upper()


def _empty(value) -> bool:
    """PHP empty(): "", "0", [], None."""
    return value in (None, "", "0", 0, [], False)


def _php_camel(resource: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in resource.split("_"))


class MinistraSimulator(Simulator):
    name = "ministra"
    label = "Ministra (Infomir Stalker) REST API v1"
    ppv_style = "json"  # calls tripleplay's JSON PPV API (POST /api/v1/ppv/...)

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

    def authorized(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        return user == self.username and password == self.password

    def handle(self, request: Request) -> Response:
        prefix = next((p for p in PREFIXES if request.path.startswith(p)), None)
        if prefix is None:
            return Response(404, b"<html><body><h1>404 Not Found</h1></body></html>", "text/html")
        if not self.authorized(request):
            response = self.error("401 Unauthorized request", 401, results="")
            response.headers["WWW-Authenticate"] = 'Basic realm="Stalker API"'
            return response
        params = request.path[len(prefix):].split("/")
        if params and params[-1] == "":
            params.pop()
        if not params or not params[0]:
            return self.error("Empty resource")
        resource = params[0]
        identifiers = params[1].split(",") if len(params) > 1 else None
        action = {"GET": "get", "POST": "create", "PUT": "update", "DELETE": "delete"}.get(request.method)
        if action is None:
            return self.error("Not supported method")
        command = getattr(self, f"r_{resource}", None)
        if command is None:
            return self.error(f'Resource "{_php_camel(resource)}" does not exist')
        data = php_parse_str(request.body)

        def apply() -> Response:
            with self.state.lock:
                try:
                    return self.ok(command(action, identifiers, data, resource))
                except CommandError as e:
                    return self.error(str(e))

        if action == "get":
            return apply()
        key = request.headers.get("x-idempotency-key")
        return self.dedupe(f"{key}|{request.method} {request.path}" if key else None, apply)

    # -- helpers ---------------------------------------------------------------------------------------
    @property
    def subs(self) -> dict[str, dict]:
        return self.state.subscribers

    def _by_mac(self, macs: list[str]) -> list[str]:
        wanted = {normalize_mac(m) for m in macs}
        return [sid for sid, s in self.subs.items() if s.get("stb_mac") and s.get("stb_mac") in wanted]

    def _by_number(self, numbers: list[str] | None) -> list[str]:
        if numbers is None:
            return list(self.subs)
        return [n for n in numbers if n in self.subs]

    def _account_ids(self, identifiers: list[str] | None) -> list[str]:
        """RESTCommandAccounts: a MAC when 12+ characters with a ':', else account numbers."""
        if identifiers and len(identifiers[0]) >= 12 and ":" in identifiers[0][1:]:
            return self._by_mac(identifiers)
        return self._by_number(identifiers)

    def _subscription_ids(self, identifiers: list[str] | None) -> list[str]:
        """RESTCommandAccountSubscription: a MAC whenever the first identifier has 12+ characters."""
        if identifiers and len(identifiers[0]) >= 12:
            return self._by_mac(identifiers)
        return self._by_number(identifiers)

    def _one(self, identifiers, found) -> str:
        if not identifiers:  # the portal would apply the command to every account: refuse instead
            raise CommandError("Identifier required")
        if identifiers is not None and len(identifiers) == 1 and not found:
            raise CommandError("Account not found")
        if identifiers is not None and len(identifiers) > 1:
            raise CommandError("Only one identifier allowed")
        if not found:
            raise CommandError("Account not found")
        return found[0]

    def _package_ids(self) -> dict[str, int]:
        return {ext: i + 1 for i, ext in enumerate(self.state.packages)}

    def _channels(self) -> list[dict]:
        seen: dict[str, dict] = {}
        for package in self.state.packages.values():
            for channel in package.get("channels") or []:
                if channel not in seen:
                    n = len(seen) + 1
                    seen[channel] = {"id": n, "name": channel, "number": n, "xmltv_id": channel,
                                     "genre_id": 1, "status": 1, "enable_monitoring": 0}
        return list(seen.values())

    def _account_info(self, sid: str) -> dict:
        s = self.subs[sid]
        ids = self._package_ids()
        packages = [p for p in s.get("packages", []) if p in ids]
        return {
            "login": s.get("login", sid), "full_name": s.get("full_name", ""), "phone": s.get("phone", ""),
            "account_number": sid, "tariff_plan": s.get("tariff_plan") or DEFAULT_TARIFF,
            "tariff_expired_date": None, "tariff_instead_expired": None,
            "stb_sn": "", "stb_mac": s.get("stb_mac") or "", "stb_type": "", "status": 1 if s.get("enabled") else 0,
            "online": 0, "ip": "", "version": "", "comment": s.get("comment", ""), "end_date": s.get("end_date"),
            "account_balance": s.get("account_balance", ""), "last_active": None,
            "subscribed": packages, "subscribed_id": [str(ids[p]) for p in packages],
        }

    @staticmethod
    def _status(value) -> bool:
        return not _empty(value)

    def _check_packages(self, external_ids) -> None:
        unknown = self.unknown_packages(external_ids)
        if unknown:  # stricter than the portal, which ignores unknown external ids
            raise CommandError(f"Package not found: {', '.join(unknown)}")

    # -- accounts ----------------------------------------------------------------------------------------
    def r_accounts(self, action, identifiers, data, resource):
        if action == "get":
            found = self._account_ids(identifiers)
            if identifiers is not None and len(identifiers) == 1 and not found:
                raise CommandError("Account not found")
            if identifiers is not None and len(identifiers) > len(found):
                raise CommandError("One or more identifiers are incorrect")
            return [self._account_info(sid) for sid in found]
        if action == "create":
            return self._create_account(data)
        if action == "update":
            return self._update_account(identifiers, data)
        # delete
        if not identifiers:
            raise CommandError("Identifier required")
        sid = self._one(identifiers, self._account_ids(identifiers))
        del self.subs[sid]
        return True

    def _create_account(self, data: dict):
        if not data:
            raise CommandError("HTTP POST data is empty")
        account = {k: v for k, v in data.items() if k in ACCOUNT_FIELDS}
        if not account:
            raise CommandError("Insert data is empty")
        if not _empty(account.get("stb_mac")):
            mac = normalize_mac(str(account["stb_mac"]))
            if not mac:
                raise CommandError("Not valid mac address")
            account["stb_mac"] = mac
        if _empty(account.get("login")):
            raise CommandError("Login required")
        if any(s.get("login", sid) == account["login"] for sid, s in self.subs.items()):
            raise CommandError("Login already in use")
        if account.get("stb_mac") and self._by_mac([account["stb_mac"]]):
            raise CommandError("MAC address already in use")
        number = str(account.get("account_number") or "")
        if not number:  # simulator limitation: its state is keyed by account number
            raise CommandError("account_number required (this simulator keys accounts by account number)")
        if number in self.subs:
            raise CommandError("Account number already in use")
        sub = {"enabled": self._status(account.get("status", "1")), "packages": [],
               "login": account["login"], "full_name": account.get("full_name", ""),
               "phone": account.get("phone", ""), "tariff_plan": account.get("tariff_plan") or DEFAULT_TARIFF,
               "stb_mac": account.get("stb_mac") or "", "comment": account.get("comment", ""),
               "end_date": account.get("end_date") or None, "account_balance": account.get("account_balance", "")}
        if account.get("password"):  # kept the way the portal keeps it: a salted hash, never the password
            sub["password_hash"] = hashlib.md5((hashlib.md5(account["password"].encode()).hexdigest() + number)
                                               .encode()).hexdigest()
        self.subs[number] = sub
        return True

    def _update_account(self, identifiers, data: dict):
        if not data:
            raise CommandError("HTTP POST data is empty")
        account = {k: v for k, v in data.items() if k in ACCOUNT_FIELDS}
        if not account:
            raise CommandError("Insert data is empty")
        if not identifiers:
            raise CommandError("Identifier required")
        sid = self._one(identifiers, self._account_ids(identifiers))
        sub = self.subs[sid]
        if not _empty(account.get("login")):
            if any(s.get("login", other) == account["login"] for other, s in self.subs.items() if other != sid):
                raise CommandError("Login already in use")
            sub["login"] = account["login"]
        if "status" in account:
            sub["enabled"] = self._status(account["status"])
        if not _empty(account.get("stb_mac")):
            mac = normalize_mac(str(account["stb_mac"]))
            if not mac:
                raise CommandError("Not valid mac address")
            sub["stb_mac"] = mac
        for name in ("full_name", "phone", "comment", "end_date", "account_balance"):
            if name in account:
                sub[name] = account[name]
        if not _empty(account.get("tariff_plan")):
            sub["tariff_plan"] = account["tariff_plan"]
        if account.get("password"):
            sub["password_hash"] = hashlib.md5((hashlib.md5(account["password"].encode()).hexdigest() + sid)
                                               .encode()).hexdigest()
        new_number = str(account.get("account_number") or "")
        if new_number and new_number != sid:
            if new_number in self.subs:
                raise CommandError("Account number already in use")
            self.subs[new_number] = self.subs.pop(sid)
        return True

    # -- account_subscription ---------------------------------------------------------------------------
    def _subscription_target(self, identifiers) -> str:
        return self._one(identifiers, self._subscription_ids(identifiers))

    def _external_from_ids(self, internal_ids) -> list[str]:
        by_id = {str(v): k for k, v in self._package_ids().items()}
        return [by_id.get(str(i), f"id:{i}") for i in internal_ids]

    def _apply(self, sid: str, subscribe: list[str], unsubscribe: list[str]) -> bool:
        if not subscribe and not unsubscribe:
            return False
        current = set(self.subs[sid].get("packages", []))
        wanted = (current | set(subscribe)) - (set(unsubscribe) - set(subscribe))
        self.subs[sid]["packages"] = sorted(wanted)
        return wanted != current

    def r_account_subscription(self, action, identifiers, data, resource):
        if action == "get":
            sid = self._subscription_target(identifiers)
            info = self._account_info(sid)
            return [{"mac": info["stb_mac"], "subscribed": info["subscribed"], "subscribed_id": info["subscribed_id"]}]
        if action == "create":
            if not data:
                raise CommandError("HTTP POST data is empty")
            if not any(k in data for k in ("subscribed", "subscribed_id")):
                raise CommandError("Insert data is empty")
            sid = self._subscription_target(identifiers)
            wanted = _as_list(data.get("subscribed")) + self._external_from_ids(_as_list(data.get("subscribed_id")))
            wanted = [w for w in dict.fromkeys(wanted) if w]
            self._check_packages(wanted)
            current = self.subs[sid].get("packages", [])
            return self._apply(sid, wanted, [p for p in current if p not in wanted])
        if action == "update":
            if not data:
                raise CommandError("HTTP PUT data is empty")
            if not any(k in data for k in ("subscribed", "subscribed_id", "unsubscribed", "unsubscribed_id")):
                raise CommandError("Insert data is empty")
            sid = self._subscription_target(identifiers)
            add = _as_list(data.get("subscribed")) + self._external_from_ids(_as_list(data.get("subscribed_id")))
            remove = (_as_list(data.get("unsubscribed"))
                      + self._external_from_ids(_as_list(data.get("unsubscribed_id"))))
            add, remove = [a for a in add if a], [r for r in remove if r]
            self._check_packages(add + remove)
            return self._apply(sid, add, remove)
        # delete: unsubscribe from everything
        sid = self._subscription_target(identifiers)
        return self._apply(sid, [], list(self.subs[sid].get("packages", [])))

    # -- catalog ------------------------------------------------------------------------------------------
    def _services_package(self, ext: str, internal: int) -> dict:
        p = self.state.packages[ext]
        tv = p.get("kind", "channel") == "channel"
        channel_ids = {c["name"]: c["id"] for c in self._channels()}
        return {"id": str(internal), "external_id": ext, "name": p.get("name", ext),
                "description": p.get("description", ""), "type": "tv" if tv else "video",
                "all_services": "0" if tv else "1", "service_type": "periodic", "price": "0.00",
                "rent_duration": "0",
                "services": [str(channel_ids[c]) for c in p.get("channels") or [] if c in channel_ids] if tv else "all"}

    def r_services_package(self, action, identifiers, data, resource):
        if action != "get":
            raise CommandError(f'Resource "{resource}" does not support action "{action}"')
        ids = self._package_ids()
        if identifiers and identifiers[0]:
            wanted = int(identifiers[0]) if identifiers[0].isdigit() else 0
            ext = next((e for e, i in ids.items() if i == wanted), None)
            return self._services_package(ext, wanted) if ext else None
        return [self._services_package(ext, i) for ext, i in ids.items()]

    def r_tariffs(self, action, identifiers, data, resource):
        if action != "get":
            raise CommandError(f'Resource "{resource}" does not support action "{action}"')
        ids = self._package_ids()
        plan = {"id": "1", "external_id": DEFAULT_TARIFF, "name": "tripleplay", "user_default": "1",
                "days_to_expires": "0",
                "packages": [{**self._services_package(ext, i), "optional": "1"} for ext, i in ids.items()]}
        if identifiers and identifiers[0]:
            return plan if identifiers[0] == "1" else None
        return [plan]

    def r_itv(self, action, identifiers, data, resource):
        if action != "get":
            raise CommandError(f'Resource "{resource}" does not support action "{action}"')
        channels = self._channels()
        if identifiers:
            channels = [c for c in channels if str(c["id"]) in identifiers]
        return channels

    def r_stb(self, action, identifiers, data, resource):
        if action != "get":  # tripleplay manages accounts, not set-top boxes
            raise CommandError(f'Resource "{resource}" does not support action "{action}"')
        found = self._account_ids(identifiers) if identifiers else list(self.subs)
        return [{"mac": self.subs[s].get("stb_mac") or "", "ls": s, "login": self.subs[s].get("login", s),
                 "status": 1 if self.subs[s].get("enabled") else 0, "online": 0, "additional_services_on": "1"}
                for s in found]

    def r_send_event(self, action, identifiers, data, resource):
        if action != "create":
            raise CommandError(f'Resource "{resource}" does not support action "{action}"')
        # getConvertedIdentifiers: MACs when 12+ characters, else account numbers; no identifier = every STB
        if identifiers:
            found = self._by_mac(identifiers) if len(identifiers[0]) >= 12 else self._by_number(identifiers)
            if not found:
                raise CommandError("STB not found")
        return data.get("event") in SEND_EVENTS  # an unknown event is not an error: results false


def _as_list(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)]

