"""Simulated MatrixStream subscriber API (JSON REST). MODELLED: see docs/platforms/matrixstream.md.

Resources under ``/api/v2``; the key in ``X-Api-Key``; writes may carry ``Idempotency-Key`` (a repeated
key gets the first answer again, through ``dedupe``); errors are ``{"error": {"code", "message"}}`` with
an HTTP status.
"""

from __future__ import annotations

import base64
import hmac
import json
import re
import time

from tripleplay.simulators.base import Request, Response, Simulator

PREFIX = "/api/v2"
STATES = {"active": True, "suspended": False}
ID_RE = re.compile(r"^[A-Za-z0-9._:@-]{1,64}$")
PROFILE_FIELDS = ("login", "full_name", "account_number", "phone")
MAX_PAGE = 500


class Fail(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _error(status: int, code: str, message: str, headers: dict | None = None) -> Response:
    response = Response.json(status, {"error": {"code": code, "message": message}})
    response.headers.update(headers or {})
    return response


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class MatrixStreamSimulator(Simulator):
    name = "matrixstream"
    label = "MatrixStream subscriber API (JSON REST, modelled)"
    ppv_style = "json"  # calls tripleplay's JSON PPV API (POST /api/v1/ppv/...)

    def fault_response(self) -> Response:
        return _error(503, "service_unavailable", "platform busy, retry later (simulated)", {"Retry-After": "1"})

    def handle(self, request: Request) -> Response:
        try:
            return self._route(request)
        except Fail as f:
            return _error(f.status, f.code, f.message)

    def _route(self, request: Request) -> Response:
        if not (request.path == PREFIX or request.path.startswith(PREFIX + "/")):
            raise Fail(404, "not_found", f"no resource at {request.path}")
        key = request.headers.get("x-api-key", "")
        if not hmac.compare_digest(key.encode(), self.password.encode()):
            raise Fail(401, "unauthorized", "missing or invalid API key")
        parts = [p for p in request.path[len(PREFIX):].split("/") if p]
        method = request.method
        if parts == ["products"]:
            self._allow(method, "GET")
            return self._products()
        if parts == ["subscribers"]:
            self._allow(method, "GET", "POST")
            if method == "GET":
                return self._list(request)
            body = self._body(request)
            return self._write(request, lambda: self._create(body))
        if len(parts) == 2 and parts[0] == "subscribers":
            sid = parts[1]
            self._allow(method, "GET", "PATCH", "DELETE")
            if method == "GET":
                with self.state.lock:
                    return Response.json(200, self._out(sid, self._existing(sid)))
            if method == "PATCH":
                body = self._body(request)
                return self._write(request, lambda: self._patch(sid, body))
            return self._write(request, lambda: self._delete(sid))
        if len(parts) == 3 and parts[0] == "subscribers" and parts[2] == "entitlements":
            sid = parts[1]
            self._allow(method, "GET", "PUT")
            if method == "GET":
                with self.state.lock:
                    sub = self._existing(sid)
                    return Response.json(200, {"subscriber_id": sid, "products": sorted(sub["packages"])})
            body = self._body(request)
            return self._write(request, lambda: self._entitlements(sid, body))
        raise Fail(404, "not_found", f"no resource at {request.path}")

    # -- plumbing ------------------------------------------------------------------------------------
    @staticmethod
    def _allow(method: str, *allowed: str) -> None:
        if method not in allowed:
            raise Fail(405, "method_not_allowed", f"{method} not allowed here; allowed: {', '.join(allowed)}")

    @staticmethod
    def _body(request: Request) -> dict:
        if "application/json" not in request.headers.get("content-type", ""):
            raise Fail(415, "unsupported_media_type", "send application/json")
        try:
            body = json.loads(request.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise Fail(400, "invalid_json", "request body is not valid JSON") from None
        if not isinstance(body, dict):
            raise Fail(400, "invalid_json", "request body must be a JSON object")
        return body

    def _write(self, request: Request, apply) -> Response:
        key = request.headers.get("idempotency-key") or None
        if key is not None and not (1 <= len(key) <= 255):
            raise Fail(400, "invalid_idempotency_key", "Idempotency-Key must be 1..255 characters")

        def run() -> Response:
            try:
                with self.state.lock:
                    return apply()
            except Fail as f:
                return _error(f.status, f.code, f.message)

        return self.dedupe(key, run)

    def _existing(self, sid: str) -> dict:
        sub = self.state.subscribers.get(sid)
        if sub is None:
            raise Fail(404, "subscriber_not_found", f"subscriber {sid} does not exist")
        return sub

    def _products_of(self, value, field: str) -> list[str]:
        if not isinstance(value, list) or not all(isinstance(p, str) and p for p in value):
            raise Fail(422, "validation_failed", f"{field} must be a list of product ids")
        unknown = self.unknown_packages(value)
        if unknown:
            raise Fail(422, "unknown_product", f"unknown product(s): {', '.join(unknown)}")
        return sorted(set(value))

    @staticmethod
    def _state_of(value) -> bool:
        if value not in STATES:
            hint = "; use DELETE to remove a subscriber" if value == "deleted" else ""
            raise Fail(422, "validation_failed", f"state must be 'active' or 'suspended'{hint}")
        return STATES[value]

    @staticmethod
    def _profile_of(value) -> dict:
        if not isinstance(value, dict) or set(value) - set(PROFILE_FIELDS) or \
                not all(isinstance(v, str) for v in value.values()):
            raise Fail(422, "validation_failed", f"profile must be an object with string fields {PROFILE_FIELDS}")
        return {f: value.get(f, "") for f in PROFILE_FIELDS}

    @staticmethod
    def _devices_of(devices) -> list[str]:
        if not isinstance(devices, list) or not all(isinstance(d, dict) and isinstance(d.get("id"), str) and d["id"]
                                                    for d in devices):
            raise Fail(422, "validation_failed", "devices must be a list of {\"id\": \"...\"}")
        return [d["id"] for d in devices]

    def _out(self, sid: str, sub: dict) -> dict:
        return {"id": sid, "state": "active" if sub.get("enabled", True) else "suspended",
                "profile": sub.get("profile", {f: "" for f in PROFILE_FIELDS}),
                "devices": [{"id": d} for d in sub.get("devices", [])],
                "entitlements": sorted(sub.get("packages", [])),
                "created_at": sub.get("created_at"), "updated_at": sub.get("updated_at")}

    # -- resources ------------------------------------------------------------------------------------
    def _products(self) -> Response:
        with self.state.lock:
            items = [{"id": pid, "name": p.get("name", pid),
                      "type": "service_bundle" if p.get("kind") == "service" else "channel_bundle",
                      "description": p.get("description", ""),
                      "channels": [{"id": c} for c in p.get("channels", [])]}
                     for pid, p in sorted(self.state.packages.items())]
        return Response.json(200, {"items": items})

    def _list(self, request: Request) -> Response:
        raw_limit = request.param("limit", "100")
        if not (raw_limit.isascii() and raw_limit.isdigit()) or not 1 <= int(raw_limit) <= MAX_PAGE:
            raise Fail(400, "invalid_parameter", f"limit must be an integer 1..{MAX_PAGE}")
        limit = int(raw_limit)
        after = ""
        cursor = request.param("cursor")
        if cursor:
            try:
                after = base64.urlsafe_b64decode(cursor.encode() + b"==").decode()
            except (ValueError, UnicodeDecodeError):
                raise Fail(400, "invalid_parameter", "cursor is not one this server issued") from None
        with self.state.lock:
            ids = [sid for sid in sorted(self.state.subscribers) if sid > after]
            page = ids[:limit]
            items = [self._out(sid, self.state.subscribers[sid]) for sid in page]
        more = len(ids) > limit
        next_cursor = base64.urlsafe_b64encode(page[-1].encode()).decode().rstrip("=") if more else None
        return Response.json(200, {"items": items, "next_cursor": next_cursor})

    def _create(self, body: dict) -> Response:
        unknown = set(body) - {"id", "state", "profile", "devices", "entitlements"}
        if unknown:
            raise Fail(422, "validation_failed", f"unknown field(s): {', '.join(sorted(unknown))}")
        sid = body.get("id")
        if not isinstance(sid, str) or not ID_RE.match(sid):
            raise Fail(422, "validation_failed", "id is required: 1..64 of A-Z a-z 0-9 . _ : @ -")
        enabled = self._state_of(body.get("state", "active"))
        profile = self._profile_of(body.get("profile", {}))
        devices = self._devices_of(body.get("devices", []))
        packages = self._products_of(body.get("entitlements", []), "entitlements")
        if sid in self.state.subscribers:
            raise Fail(409, "subscriber_exists", f"subscriber {sid} already exists")
        now = _now()
        sub = {"enabled": enabled, "packages": packages, "profile": profile, "devices": devices,
               "created_at": now, "updated_at": now}
        self.state.subscribers[sid] = sub
        return Response.json(201, self._out(sid, sub))

    def _patch(self, sid: str, body: dict) -> Response:
        sub = self._existing(sid)
        unknown = set(body) - {"state", "profile", "devices"}
        if unknown:
            raise Fail(422, "validation_failed",
                       f"only state, profile and devices can be patched, not {', '.join(sorted(unknown))}")
        changes = {}
        if "devices" in body:  # the full list: it replaces
            changes["devices"] = self._devices_of(body["devices"])
        if "state" in body:
            changes["enabled"] = self._state_of(body["state"])
        if "profile" in body:  # a partial profile: the fields given replace those fields
            if not isinstance(body["profile"], dict):
                raise Fail(422, "validation_failed", "profile must be an object")
            changes["profile"] = self._profile_of({**sub.get("profile", {}), **body["profile"]})
        sub.update(changes, updated_at=_now())
        return Response.json(200, self._out(sid, sub))

    def _delete(self, sid: str) -> Response:
        self._existing(sid)
        del self.state.subscribers[sid]
        return Response(204, b"", "application/json")

    def _entitlements(self, sid: str, body: dict) -> Response:
        sub = self._existing(sid)
        if set(body) != {"products"}:
            raise Fail(422, "validation_failed", 'body must be {"products": [...]} (the full set; it replaces)')
        sub["packages"] = self._products_of(body["products"], "products")
        sub["updated_at"] = _now()
        return Response.json(200, {"subscriber_id": sid, "products": sub["packages"]})
