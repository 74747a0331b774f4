"""Simulated Telebreeze operator API (MODELLED; see docs/platforms/telebreeze.md).

JSON everywhere, ``{"code": 1, "content": ...}`` on success and ``{"code": <0 or negative>, "message": ...,
"errors": {...}}`` otherwise. Bearer tokens from ``POST /api/v1/auth`` expire after
``TRIPLEPLAY_TELEBREEZE_TOKEN_TTL`` seconds (environment, default 3600); tokens live in memory only, so
a restarted simulator answers code -3 (token invalid) to the old ones, like a platform that lost its
sessions. Writes are deduplicated on the ``Idempotency-Key`` header.

Extra control endpoints (on top of the framework's ``/_sim/``):
    POST /_sim/tokens/expire   expire every token issued so far (the next call answers code -2)
    GET  /_sim/tokens          {"active": n, "ttl_seconds": ...}
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import time
from datetime import UTC, datetime

from tripleplay.simulators.base import Request, Response, Simulator

API = "/api/v1"
TTL_ENV = "TRIPLEPLAY_TELEBREEZE_TOKEN_TTL"
ACCOUNT_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
STATUSES = ("active", "blocked")
PROFILE_FIELDS = ("login", "device_id", "full_name", "phone", "contract")
MAX_PER_PAGE = 500

CODE_OK, CODE_ERROR, CODE_AUTH_FAILED, CODE_TOKEN_EXPIRED, CODE_TOKEN_INVALID = 1, 0, -1, -2, -3
CODE_NOT_FOUND, CODE_EXISTS, CODE_UNKNOWN_TARIFF = -5, -6, -7


class Refused(Exception):
    def __init__(self, status: int, code: int, message: str, errors: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.errors = status, code, message, errors


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


class TelebreezeSimulator(Simulator):
    name = "telebreeze"
    label = "Telebreeze operator API (modelled)"
    ppv_style = "json"  # calls tripleplay's JSON PPV API (POST /api/v1/ppv/...)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.token_ttl = float(os.environ.get(TTL_ENV) or 3600)
        self.tokens: dict[str, float] = {}  # token -> expiry (time.time())
        self.state.stats.setdefault("logins", 0)

    # -- envelopes -------------------------------------------------------------------------------------
    @staticmethod
    def ok(content, status: int = 200) -> Response:
        return Response.json(status, {"code": CODE_OK, "content": content})

    @staticmethod
    def refused(e: Refused) -> Response:
        body = {"code": e.code, "message": e.message}
        if e.errors:
            body["errors"] = e.errors
        return Response.json(e.status, body)

    def fault_response(self) -> Response:
        return Response.json(503, {"code": CODE_ERROR, "message": "Service temporarily unavailable"})

    # -- control additions -----------------------------------------------------------------------------
    def control(self, request: Request) -> Response:
        parts = [p for p in request.path.split("/") if p][1:]
        if request.method == "POST" and parts == ["tokens", "expire"]:
            with self.state.lock:
                self.tokens = {t: 0.0 for t in self.tokens}
            return Response.json(200, {"expired": len(self.tokens)})
        if request.method == "GET" and parts == ["tokens"]:
            now = time.time()
            return Response.json(200, {"active": sum(1 for e in self.tokens.values() if e > now),
                                       "ttl_seconds": self.token_ttl})
        return super().control(request)

    # -- dispatch --------------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        if not request.path.startswith(API + "/"):
            return self.refused(Refused(404, CODE_ERROR, f"no route {request.method} {request.path}"))
        parts = [p for p in request.path[len(API) + 1:].split("/") if p]  # already percent-decoded
        try:
            if parts == ["auth"]:
                if request.method != "POST":
                    raise Refused(405, CODE_ERROR, "method not allowed")
                return self.auth(request)
            self.check_token(request)
            route, write = self.route(request.method, parts)
            body = self.body(request) if request.method in ("POST", "PUT", "PATCH") else None
        except Refused as e:
            return self.refused(e)

        def apply() -> Response:
            with self.state.lock:
                try:
                    return route(request, body)
                except Refused as e:
                    return self.refused(e)

        if not write:
            return apply()
        key = request.headers.get("idempotency-key")
        return self.dedupe(f"{key}|{request.method} {request.path}" if key else None, apply)

    def route(self, method: str, parts: list[str]):
        """(handler, is_write) for a path under /api/v1 (after the auth check)."""
        if parts == ["tariffs"] and method == "GET":
            return self.list_tariffs, False
        if parts == ["customers"]:
            if method == "GET":
                return self.list_customers, False
            if method == "POST":
                return self.create_customer, True
        if len(parts) >= 2 and parts[0] == "customers":
            aid = parts[1]
            rest = parts[2:]
            table = {
                ("GET", ()): (lambda r, b: self.get_customer(aid), False),
                ("PATCH", ()): (lambda r, b: self.patch_customer(aid, b), True),
                ("DELETE", ()): (lambda r, b: self.delete_customer(aid), True),
                ("PUT", ("tariffs",)): (lambda r, b: self.put_tariffs(aid, b), True),
                ("POST", ("block",)): (lambda r, b: self.set_status(aid, "blocked", b), True),
                ("POST", ("unblock",)): (lambda r, b: self.set_status(aid, "active", b), True),
            }
            found = table.get((method, tuple(rest)))
            if found:
                return found
            if any(k[1] == tuple(rest) for k in table):
                raise Refused(405, CODE_ERROR, "method not allowed")
        raise Refused(404, CODE_ERROR, f"no route {method} {API}/{'/'.join(parts)}")

    @staticmethod
    def body(request: Request) -> dict:
        ctype = request.headers.get("content-type", "")
        if "application/json" not in ctype:
            raise Refused(415, CODE_ERROR, "Content-Type must be application/json")
        try:
            body = request.json()
        except (ValueError, UnicodeDecodeError):
            raise Refused(400, CODE_ERROR, "request body is not valid JSON") from None
        if body is None:
            body = {}
        if not isinstance(body, dict):
            raise Refused(400, CODE_ERROR, "request body must be a JSON object")
        return body

    # -- auth -----------------------------------------------------------------------------------------------
    def auth(self, request: Request) -> Response:
        body = self.body(request)
        errors = {f: ["is required"] for f in ("login", "password") if not isinstance(body.get(f), str) or not body[f]}
        if errors:
            raise Refused(422, CODE_ERROR, "validation failed", errors)
        if body["login"] != self.username or body["password"] != self.password:
            raise Refused(401, CODE_AUTH_FAILED, "invalid login or password")
        token = secrets.token_urlsafe(24)
        with self.state.lock:
            now = time.time()
            self.tokens = {t: e for t, e in self.tokens.items() if e > now - 3600}
            self.tokens[token] = now + self.token_ttl
            self.state.stats["logins"] = self.state.stats.get("logins", 0) + 1
        ttl = int(self.token_ttl) if self.token_ttl == int(self.token_ttl) else self.token_ttl
        return self.ok({"token": token, "token_type": "Bearer", "expires_in": ttl})

    def check_token(self, request: Request) -> None:
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer ") or not header[7:].strip():
            raise Refused(401, CODE_AUTH_FAILED, "authorization required: Bearer token")
        expiry = self.tokens.get(header[7:].strip())
        if expiry is None:
            raise Refused(401, CODE_TOKEN_INVALID, "token invalid")
        if expiry <= time.time():
            raise Refused(401, CODE_TOKEN_EXPIRED, "token expired")

    # -- catalog --------------------------------------------------------------------------------------------
    def tariff(self, ext: str, index: int) -> dict:
        p = self.state.packages[ext]
        channels = p.get("kind", "channel") == "channel"
        return {"id": ext, "name": p.get("name", ext), "description": p.get("description", ""),
                "type": p.get("tariff_type") or ("base" if index == 0 else "addon"),
                "content": "channels" if channels else "services",
                "channels": [{"id": c, "name": c} for c in p.get("channels") or []]}

    def list_tariffs(self, request, body):
        return self.ok({"items": [self.tariff(ext, i) for i, ext in enumerate(self.state.packages)]})

    # -- customers ------------------------------------------------------------------------------------------
    def customer(self, aid: str) -> dict:
        s = self.state.subscribers[aid]
        return {"account_id": aid, "status": "active" if s.get("enabled") else "blocked",
                "tariffs": sorted(s.get("packages", [])),
                **{f: s.get(f) for f in PROFILE_FIELDS},
                "created_at": s.get("created_at"), "updated_at": s.get("updated_at")}

    def existing(self, aid: str) -> dict:
        sub = self.state.subscribers.get(aid)
        if sub is None:
            raise Refused(404, CODE_NOT_FOUND, f"customer {aid} not found")
        return sub

    def check_tariffs(self, value) -> list[str]:
        if not isinstance(value, list) or not all(isinstance(t, str) and t for t in value):
            raise Refused(422, CODE_ERROR, "validation failed", {"tariffs": ["must be a list of tariff ids"]})
        unknown = self.unknown_packages(value)
        if unknown:
            raise Refused(422, CODE_UNKNOWN_TARIFF, f"unknown tariffs: {', '.join(unknown)}", {"tariffs": unknown})
        return sorted(set(value))

    def check_profile(self, body: dict, aid: str, errors: dict) -> dict:
        profile = {}
        for f in PROFILE_FIELDS:
            if f not in body:
                continue
            value = body[f]
            if value is not None and not isinstance(value, str):
                errors.setdefault(f, []).append("must be a string or null")
                continue
            profile[f] = value or None
        for f in ("login", "device_id"):  # a subscriber logs in by device id or by login: both unique
            value = profile.get(f)
            if value and any(s.get(f) == value for other, s in self.state.subscribers.items() if other != aid):
                errors.setdefault(f, []).append("is already taken by another customer")
        if "password" in body:
            if not isinstance(body["password"], str) or len(body["password"]) < 4:
                errors.setdefault("password", []).append("must be a string of at least 4 characters")
            else:  # only a hash is kept, and never returned
                profile["password_hash"] = hashlib.sha256(body["password"].encode()).hexdigest()
        return profile

    def create_customer(self, request, body):
        aid = body.get("account_id")
        errors: dict = {}
        if not isinstance(aid, str) or not aid:
            errors["account_id"] = ["is required"]
        elif not ACCOUNT_ID_RE.match(aid):
            errors["account_id"] = ["must be 1-64 characters: letters, digits, '.', '_' or '-'"]
        status = body.get("status", "active")
        if status not in STATUSES:
            errors["status"] = [f"must be one of {', '.join(STATUSES)}"]
        profile = self.check_profile(body, aid if isinstance(aid, str) else "", errors)
        if errors:
            raise Refused(422, CODE_ERROR, "validation failed", errors)
        if aid in self.state.subscribers:
            raise Refused(409, CODE_EXISTS, f"customer {aid} already exists")
        tariffs = self.check_tariffs(body.get("tariffs", []))
        now = _now()
        self.state.subscribers[aid] = {"enabled": status == "active", "packages": tariffs, **profile,
                                       "created_at": now, "updated_at": now}
        return self.ok(self.customer(aid), 201)

    def get_customer(self, aid: str):
        self.existing(aid)
        return self.ok(self.customer(aid))

    def list_customers(self, request, body):
        try:
            page = int(request.param("page", "1"))
            per_page = int(request.param("per_page", "50"))
        except ValueError:
            raise Refused(422, CODE_ERROR, "validation failed", {"page": ["must be an integer"]}) from None
        if page < 1 or not 1 <= per_page <= MAX_PER_PAGE:
            raise Refused(422, CODE_ERROR, "validation failed",
                          {"per_page": [f"page >= 1 and 1 <= per_page <= {MAX_PER_PAGE}"]})
        ids = sorted(self.state.subscribers)
        chunk = ids[(page - 1) * per_page: page * per_page]
        return self.ok({"items": [self.customer(a) for a in chunk], "page": page, "per_page": per_page,
                        "total": len(ids), "pages": max(1, -(-len(ids) // per_page))})

    def patch_customer(self, aid: str, body: dict):
        sub = self.existing(aid)
        if "account_id" in body and body["account_id"] != aid:
            raise Refused(422, CODE_ERROR, "validation failed",
                          {"account_id": ["is the billing account id and cannot be changed"]})
        errors: dict = {}
        if "status" in body or "tariffs" in body:
            errors["status" if "status" in body else "tariffs"] = ["use block/unblock and PUT .../tariffs"]
        profile = self.check_profile(body, aid, errors)
        if errors:
            raise Refused(422, CODE_ERROR, "validation failed", errors)
        sub.update(profile)
        sub["updated_at"] = _now()
        return self.ok(self.customer(aid))

    def put_tariffs(self, aid: str, body: dict):
        sub = self.existing(aid)
        if "tariffs" not in body:
            raise Refused(422, CODE_ERROR, "validation failed", {"tariffs": ["is required"]})
        sub["packages"] = self.check_tariffs(body["tariffs"])
        sub["updated_at"] = _now()
        return self.ok(self.customer(aid))

    def set_status(self, aid: str, status: str, body: dict):
        sub = self.existing(aid)
        sub["enabled"] = status == "active"
        if status == "blocked":
            sub["block_reason"] = str(body.get("reason") or "")
        else:
            sub.pop("block_reason", None)
        sub["updated_at"] = _now()
        return self.ok(self.customer(aid))

    def delete_customer(self, aid: str):
        self.existing(aid)
        del self.state.subscribers[aid]
        return self.ok({"account_id": aid, "deleted": True})

