"""MatrixStream ("Matrix") subscriber API: JSON REST with an API key. MODELLED: no public API detail.

The whole model lives here and in ``tripleplay/simulators/matrixstream.py``; ``docs/platforms/matrixstream.md``
describes the wire format. In short: resources under ``/api/v2`` (``products``, ``subscribers``,
``subscribers/{id}/entitlements``), the key in ``X-Api-Key`` (masked in recorded exchanges by
``Adapter.request``), an ``Idempotency-Key`` header on every write, HTTP statuses for outcomes and
``{"error": {"code": "...", "message": "..."}}`` bodies for errors.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from urllib.parse import quote

from tripleplay.iptv.platforms.base import (
    Adapter,
    AlreadyExists,
    PackageInfo,
    PermanentError,
    SubscriberNotFound,
    SubscriberSpec,
    SubscriberState,
    TransientError,
)

API_PREFIX = "/api/v2"
STATES = {"active": True, "suspended": False}
PRODUCT_KINDS = {"channel_bundle": "channel", "service_bundle": "service"}
# Error codes that mean "try again later" even when the HTTP status is a 4xx.
TRANSIENT_CODES = {"request_in_progress", "rate_limited"}

DEFAULT_OPTIONS = {
    "page_size": 100,  # ?limit= of each GET /subscribers page (1..500)
    "api_prefix": API_PREFIX,
}


class MatrixStreamAdapter(Adapter):
    kind = "matrixstream"
    label = "MatrixStream subscriber API (JSON REST, modelled)"
    modelled = True

    # -- catalog -------------------------------------------------------------------------------------
    def list_packages(self) -> list[PackageInfo]:
        body = self._call("GET", "/products", what="list products")
        items = _items(body, "products")
        found = []
        for item in items:
            pid = str(item.get("id") or "")
            if not pid:
                raise PermanentError("MatrixStream product without id", code="invalid_response")
            found.append(PackageInfo(
                external_id=pid, name=str(item.get("name") or pid),
                kind=PRODUCT_KINDS.get(item.get("type"), "channel"),
                description=str(item.get("description") or ""),
                channels=tuple(str(c.get("id", "")) for c in item.get("channels") or [] if isinstance(c, dict)),
            ))
        return found

    # -- subscribers ---------------------------------------------------------------------------------
    def create_subscriber(self, spec: SubscriberSpec, *, idempotency_key: str) -> None:
        body = {
            "id": spec.subscriber_id,
            "state": "active" if spec.enabled else "suspended",
            "profile": {"login": spec.login, "full_name": spec.full_name, "account_number": spec.account_number,
                        "phone": spec.phone},
            "devices": [{"id": spec.device_id}] if spec.device_id else [],
            "entitlements": sorted(spec.packages),
        }
        self._call("POST", "/subscribers", json_body=body, idempotency_key=idempotency_key,
                   what=f"create subscriber {spec.subscriber_id}")

    def set_packages(self, subscriber_id: str, packages: frozenset[str], *, idempotency_key: str) -> None:
        self._call("PUT", f"/subscribers/{_id(subscriber_id)}/entitlements", json_body={"products": sorted(packages)},
                   idempotency_key=idempotency_key, what=f"set entitlements of {subscriber_id}")

    def set_enabled(self, subscriber_id: str, enabled: bool, *, idempotency_key: str) -> None:
        self._call("PATCH", f"/subscribers/{_id(subscriber_id)}",
                   json_body={"state": "active" if enabled else "suspended"},
                   idempotency_key=idempotency_key, what=f"{'activate' if enabled else 'suspend'} {subscriber_id}")

    def update_details(self, spec: SubscriberSpec, *, idempotency_key: str) -> None:
        body = {"profile": {"login": spec.login, "full_name": spec.full_name, "phone": spec.phone},
                "devices": [{"id": spec.device_id}] if spec.device_id else []}
        self._call("PATCH", f"/subscribers/{_id(spec.subscriber_id)}", json_body=body, idempotency_key=idempotency_key,
                   what=f"update subscriber {spec.subscriber_id}")

    def delete_subscriber(self, subscriber_id: str, *, idempotency_key: str) -> None:
        self._call("DELETE", f"/subscribers/{_id(subscriber_id)}", idempotency_key=idempotency_key,
                   what=f"delete subscriber {subscriber_id}")

    def get_subscriber(self, subscriber_id: str) -> SubscriberState | None:
        try:
            body = self._call("GET", f"/subscribers/{_id(subscriber_id)}", what=f"read subscriber {subscriber_id}")
        except SubscriberNotFound:
            return None
        return _state(body)

    def list_subscribers(self) -> Iterable[SubscriberState]:
        limit = self._page_size()
        cursor = None
        while True:
            params = {"limit": str(limit)}
            if cursor:
                params["cursor"] = cursor
            body = self._call("GET", "/subscribers", params=params, what="list subscribers")
            for item in _items(body, "subscribers"):
                yield _state(item)
            cursor = body.get("next_cursor")
            if not cursor:
                return

    def _page_size(self) -> int:
        value = (self.config.options or {}).get("page_size", DEFAULT_OPTIONS["page_size"])
        try:
            number = int(value)
        except (TypeError, ValueError):
            number = 0
        if isinstance(value, bool) or not 1 <= number <= 500:
            raise PermanentError("MatrixStream option page_size must be an integer 1..500", code="invalid_option")
        return number

    # -- wire ----------------------------------------------------------------------------------------
    def _call(self, method: str, path: str, *, what: str, json_body=None, params=None,
              idempotency_key: str | None = None):
        prefix = str((self.config.options or {}).get("api_prefix") or API_PREFIX).rstrip("/")
        headers = {"X-Api-Key": self.config.secret, "Accept": "application/json"}
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        try:
            response = self.request(method, prefix + path, json_body=json_body, params=params, headers=headers)
        except TransientError as e:
            if e.status is not None:  # keep the platform's own error code when it sent one
                e.code = _error(str(self.exchanges[-1].get("response", "")).encode())[0] or e.code
            raise
        if response.status_code == 204:
            return {}
        code, message = _error(response.content)
        if 200 <= response.status_code < 300:
            try:
                body = response.json()
            except ValueError:
                raise PermanentError(f"MatrixStream {what}: HTTP {response.status_code}, answer is not JSON",
                                     status=response.status_code, code="invalid_response") from None
            if not isinstance(body, dict):
                raise PermanentError(f"MatrixStream {what}: answer is not a JSON object",
                                     status=response.status_code, code="invalid_response")
            return body
        status = response.status_code
        text = f"MatrixStream {what}: HTTP {status} {code or 'error'}: {message}".rstrip(": ")
        if status == 404 and code == "subscriber_not_found":
            raise SubscriberNotFound(text, status=status, code=code)
        if status == 409 and code == "subscriber_exists":
            raise AlreadyExists(text, status=status, code=code)
        if code in TRANSIENT_CODES:
            raise TransientError(text, status=status, code=code)
        raise PermanentError(text, status=status, code=code or f"http_{status}")


def _id(subscriber_id: str) -> str:
    return quote(subscriber_id, safe="")


def _error(raw: bytes) -> tuple[str, str]:
    """(code, message) from an ``{"error": {...}}`` body, or ("", short text) when there is none."""
    try:
        body = json.loads(raw or b"null")
    except ValueError:
        return "", raw[:200].decode("utf-8", errors="replace")
    err = body.get("error") if isinstance(body, dict) else None
    if isinstance(err, dict):
        return str(err.get("code") or ""), str(err.get("message") or "")
    return "", ""


def _items(body: dict, what: str) -> list[dict]:
    items = body.get("items")
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise PermanentError(f"MatrixStream {what}: answer has no items list", code="invalid_response")
    return items


def _state(item: dict) -> SubscriberState:
    sid = item.get("id")
    state = item.get("state")
    entitlements = item.get("entitlements")
    if not isinstance(sid, str) or state not in STATES or not isinstance(entitlements, list):
        raise PermanentError("MatrixStream subscriber without id, state or entitlements", code="invalid_response")
    return SubscriberState(subscriber_id=sid, enabled=STATES[state], packages=frozenset(map(str, entitlements)),
                           raw=item)
