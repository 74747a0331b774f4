"""Telebreeze operator (billing) API. MODELLED: Telebreeze's operator API is not public.

This is a realistic model of Telebreeze's documented style (its client API: JSON, bearer tokens,
``{"code": 1, "content": ...}`` envelopes), isolated here and in ``tripleplay/simulators/telebreeze.py``
so that the real specification can replace it. ``docs/platforms/telebreeze.md`` has the wire format.

- ``POST /api/v1/auth`` with ``{"login", "password"}`` -> ``{"code": 1, "content": {"token", "token_type",
  "expires_in"}}``; every other call sends ``Authorization: Bearer <token>``. The token is cached until
  shortly before it expires; an answer with code -2 (token expired) or -3 (token invalid) makes the adapter
  authenticate again once and repeat the call.
- One billing account = one Telebreeze customer, keyed by tripleplay's ``subscriber_id`` as
  ``account_id`` (the external key: set at creation, never changed; the platform refuses a change).
- ``/api/v1/customers[/{account_id}]``: POST creates (with status and tariffs), GET reads, DELETE deletes;
  ``PATCH`` replaces the profile (login, device_id, full_name, phone);
  ``PUT .../tariffs`` replaces the tariffs (base tariff + add-on packages); ``POST .../block`` and
  ``.../unblock`` disable and enable; ``GET /api/v1/tariffs`` lists the packages.
- Writes carry ``Idempotency-Key``. Errors: ``{"code": <0 or negative>, "message": ..., "errors": {...}}``.

Secrets: the password is masked in the recorded auth request, the token in the recorded auth answer,
and ``Adapter.request`` masks the ``Authorization`` header.
"""

from __future__ import annotations

import json
import time
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

API_PREFIX = "/api/v1"
IDEMPOTENCY_HEADER = "Idempotency-Key"
PAGE_SIZE = 100

CODE_OK = 1
CODE_ERROR = 0  # validation or malformed request; details in "errors"
CODE_AUTH_FAILED = -1  # wrong login/password, or no token
CODE_TOKEN_EXPIRED = -2
CODE_TOKEN_INVALID = -3
CODE_FORBIDDEN = -4
CODE_NOT_FOUND = -5
CODE_EXISTS = -6
CODE_UNKNOWN_TARIFF = -7
CODE_BUSY = -8  # the same Idempotency-Key is being processed: try again
REAUTH_CODES = {CODE_TOKEN_EXPIRED, CODE_TOKEN_INVALID}


class TelebreezeAdapter(Adapter):
    kind = "telebreeze"
    label = "Telebreeze operator API (JSON, bearer token; modelled)"
    modelled = True

    def __init__(self, config, *, client=None):
        super().__init__(config, client=client)
        self._api = "/" + str(config.options.get("api_prefix", API_PREFIX)).strip("/")
        self._token: str | None = None
        self._token_valid_until = 0.0

    # -- catalog -------------------------------------------------------------------------------------
    def list_packages(self) -> list[PackageInfo]:
        content = self._call("GET", "/tariffs", what="list tariffs")
        items = content.get("items") if isinstance(content, dict) else content
        found = []
        for t in items or []:
            if not isinstance(t, dict) or not t.get("id"):
                raise PermanentError("Telebreeze tariff without id", code="invalid_response")
            found.append(PackageInfo(
                external_id=str(t["id"]), name=str(t.get("name") or t["id"]),
                kind="channel" if t.get("content", "channels") == "channels" else "service",
                description=str(t.get("description") or ""),
                channels=tuple(str(c.get("id")) for c in t.get("channels") or [] if isinstance(c, dict)),
            ))
        return found

    # -- subscribers ---------------------------------------------------------------------------------
    def create_subscriber(self, spec: SubscriberSpec, *, idempotency_key: str) -> None:
        body = {"account_id": spec.subscriber_id, "status": "active" if spec.enabled else "blocked",
                "tariffs": sorted(spec.packages), "login": spec.login or None, "device_id": spec.device_id or None,
                "full_name": spec.full_name, "phone": spec.phone, "contract": spec.account_number}
        self._call("POST", "/customers", json_body=body, idempotency_key=idempotency_key,
                   what=f"create customer {spec.subscriber_id}")

    def set_packages(self, subscriber_id: str, packages: frozenset[str], *, idempotency_key: str) -> None:
        self._call("PUT", f"/customers/{_q(subscriber_id)}/tariffs", json_body={"tariffs": sorted(packages)},
                   idempotency_key=idempotency_key, what=f"set tariffs of {subscriber_id}")

    def set_enabled(self, subscriber_id: str, enabled: bool, *, idempotency_key: str) -> None:
        action = "unblock" if enabled else "block"
        self._call("POST", f"/customers/{_q(subscriber_id)}/{action}", json_body={"reason": "billing"},
                   idempotency_key=idempotency_key, what=f"{action} customer {subscriber_id}")

    def update_details(self, spec: SubscriberSpec, *, idempotency_key: str) -> None:
        body = {"login": spec.login or None, "device_id": spec.device_id or None, "full_name": spec.full_name,
                "phone": spec.phone}
        self._call("PATCH", f"/customers/{_q(spec.subscriber_id)}", json_body=body, idempotency_key=idempotency_key,
                   what=f"update customer {spec.subscriber_id}")

    def delete_subscriber(self, subscriber_id: str, *, idempotency_key: str) -> None:
        self._call("DELETE", f"/customers/{_q(subscriber_id)}", idempotency_key=idempotency_key,
                   what=f"delete customer {subscriber_id}")

    def get_subscriber(self, subscriber_id: str) -> SubscriberState | None:
        try:
            content = self._call("GET", f"/customers/{_q(subscriber_id)}", what=f"read customer {subscriber_id}")
        except SubscriberNotFound:
            return None
        return _state(content, subscriber_id)

    def list_subscribers(self) -> Iterable[SubscriberState]:
        page = 1
        while True:
            content = self._call("GET", "/customers", params={"page": page, "per_page": PAGE_SIZE},
                                 what=f"list customers (page {page})")
            items = (content.get("items") or []) if isinstance(content, dict) else []
            for item in items:
                if isinstance(item, dict) and item.get("account_id"):
                    yield _state(item, str(item["account_id"]))
            pages = int(content.get("pages") or 1) if isinstance(content, dict) else 1
            if page >= pages or not items:
                return
            page += 1

    # -- auth and calls ------------------------------------------------------------------------------
    def _authenticate(self) -> str:
        body = json.dumps({"login": self.config.username, "password": self.config.secret}).encode()
        masked = json.dumps({"login": self.config.username, "password": "***"})
        first = len(self.exchanges)
        try:
            response = self.request("POST", f"{self._api}/auth", content=body,
                                     headers={"Content-Type": "application/json", "Accept": "application/json"})
        finally:
            for record in self.exchanges[first:]:
                record["request"] = masked
        for record in self.exchanges[first:]:
            record["response"] = _mask_token(record.get("response", ""))
        content = self._content(response, what="authenticate", reauth_ok=False)
        token = content.get("token") if isinstance(content, dict) else None
        if not token:
            raise PermanentError("authenticate: Telebreeze answered without a token", code="invalid_response")
        ttl = float(content.get("expires_in") or 3600)
        self._token = str(token)
        self._token_valid_until = time.monotonic() + ttl - min(30.0, ttl * 0.1)
        return self._token

    def _bearer(self) -> str:
        if not self._token or time.monotonic() >= self._token_valid_until:
            return self._authenticate()
        return self._token

    def _call(self, method: str, path: str, *, json_body=None, params: dict | None = None,
              idempotency_key: str | None = None, what: str):
        for attempt in (1, 2):
            headers = {"Authorization": f"Bearer {self._bearer()}", "Accept": "application/json"}
            if idempotency_key:
                headers[IDEMPOTENCY_HEADER] = idempotency_key
            response = self.request(method, f"{self._api}{path}", json_body=json_body, headers=headers, params=params)
            try:
                return self._content(response, what=what, reauth_ok=attempt == 1)
            except _Reauthenticate:
                self._token = None  # expired or unknown to the platform (restarted): log in again, once
        raise AssertionError("unreachable")

    def _content(self, response, *, what: str, reauth_ok: bool):
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or "code" not in body:
            raise PermanentError(f"{what}: not a Telebreeze answer (HTTP {response.status_code})",
                                 status=response.status_code, code="invalid_response")
        code = body.get("code")
        if code == CODE_OK and response.status_code < 400:
            return body.get("content")
        message = str(body.get("message") or "error")
        errors = body.get("errors")
        if isinstance(errors, dict) and errors:
            message += ": " + "; ".join(f"{k}: {', '.join(map(str, v)) if isinstance(v, list) else v}"
                                        for k, v in errors.items())
        text = f"{what}: {message} (code {code}, HTTP {response.status_code})"
        if code in REAUTH_CODES and reauth_ok:
            raise _Reauthenticate()
        if code in REAUTH_CODES or code in (CODE_AUTH_FAILED, CODE_FORBIDDEN) or response.status_code in (401, 403):
            raise PermanentError(text, status=response.status_code, code="unauthorized")
        if code == CODE_NOT_FOUND:
            raise SubscriberNotFound(text, status=response.status_code, code="not_found")
        if code == CODE_EXISTS:
            raise AlreadyExists(text, status=response.status_code, code="already_exists")
        if code == CODE_BUSY:
            raise TransientError(text, status=response.status_code, code="busy")
        if code == CODE_UNKNOWN_TARIFF:
            raise PermanentError(text, status=response.status_code, code="unknown_tariff")
        raise PermanentError(text, status=response.status_code, code="telebreeze_error")


class _Reauthenticate(Exception):
    pass


def _q(subscriber_id: str) -> str:
    return quote(subscriber_id, safe="")


def _mask_token(text: str) -> str:
    try:
        body = json.loads(text)
    except ValueError:
        return text
    if isinstance(body, dict) and isinstance(body.get("content"), dict) and "token" in body["content"]:
        body["content"]["token"] = "***"
        return json.dumps(body)
    return text


def _state(content, subscriber_id: str) -> SubscriberState:
    if not isinstance(content, dict):
        raise PermanentError(f"customer {subscriber_id}: unexpected answer", code="invalid_response")
    return SubscriberState(subscriber_id=str(content.get("account_id") or subscriber_id),
                           enabled=content.get("status") == "active",
                           packages=frozenset(str(t) for t in content.get("tariffs") or []),
                           raw={k: v for k, v in content.items() if k != "password"})
