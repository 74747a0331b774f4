"""Ministra TV platform (Infomir, formerly Stalker Middleware) REST API v1. FOLLOWS THE PUBLIC SPECIFICATION.

Wire format (``docs/platforms/ministra.md`` has examples and sources):

- ``METHOD {base}/stalker_portal/api/RESOURCE[/ID1,ID2]``; GET reads, POST creates, PUT updates, DELETE deletes.
- HTTP Basic authentication; a wrong or missing credential is HTTP 401 with
  ``{"status":"ERROR","results":"","error":"401 Unauthorized request"}``.
- Request bodies are form-encoded (the portal runs PHP ``parse_str`` on the raw body for every method);
  arrays are ``subscribed[]=a&subscribed[]=b``.
- Every answer is ``{"status": "OK"|"ERROR", "results": ..., "error": "..."}`` with HTTP 200, also for
  errors (the error text tells what went wrong: "Account not found", "Login already in use" ...).
- Accounts are identified by ``account_number`` (the portal's "ls") or by the STB MAC. tripleplay's
  ``subscriber_id`` is sent as ``account_number``. The portal reads an identifier of 12 characters or
  more as a MAC address in ``account_subscription``, so subscriber ids must be shorter than 12 characters.
- Packages are the optional ``services_package`` entries of the account's tariff plan, referenced by
  their ``external_id``; ``POST account_subscription/ID`` with ``subscribed[]`` replaces the set, ``DELETE``
  removes all (used for the empty set), ``PUT`` adds/removes (not used: tripleplay always sends the set).
- Enable/disable: ``PUT accounts/ID`` with ``status=1`` / ``status=0``.

Ministra has no idempotency keys: an ``X-Idempotency-Key`` header is sent anyway (the portal ignores it,
our simulator dedupes on it). Operations are written to be safe to retry; see ``create_subscriber``.
No password is ever sent (tripleplay provisions MAC/login accounts), so none can be recorded.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from urllib.parse import quote, urlencode, urlsplit

import httpx

from tripleplay.iptv.platforms.base import (
    Adapter,
    AlreadyExists,
    PackageInfo,
    PermanentError,
    SubscriberNotFound,
    SubscriberSpec,
    SubscriberState,
)

DEFAULT_API_PATH = "/stalker_portal/api"
IDEMPOTENCY_HEADER = "X-Idempotency-Key"
MAX_ID_LENGTH = 11  # account_subscription treats identifiers of 12+ characters as MAC addresses
CATALOG_TTL_SECONDS = 300.0
MAC_RE = re.compile(r"^[0-9A-Fa-f]{2}([:-]?[0-9A-Fa-f]{2}){5}$")

# The portal's own error texts (RESTCommandException messages), matched case-insensitively.
ERR_NOT_FOUND = "account not found"
ERR_LOGIN_IN_USE = "login already in use"


class MinistraAdapter(Adapter):
    kind = "ministra"
    label = "Ministra (Infomir Stalker) REST API v1"
    modelled = False

    def __init__(self, config, *, client: httpx.Client | None = None):
        super().__init__(config, client=client)
        self._auth = httpx.BasicAuth(config.username, config.secret) if config.username else None
        self._api = _api_path(config.base_url, config.options.get("api_path"))
        self._catalog: dict[str, dict] = {}
        self._catalog_at = 0.0

    # -- catalog -------------------------------------------------------------------------------------
    def list_packages(self) -> list[PackageInfo]:
        packages = self._packages(fresh=True)
        channel_names: dict[str, str] = {}
        if any(p.get("type") == "tv" and isinstance(p.get("services"), list) and p["services"]
               for p in packages.values()):
            channel_names = {str(c.get("id")): str(c.get("xmltv_id") or c.get("name") or c.get("id"))
                             for c in self._results("GET", "itv", what="list channels") or []
                             if isinstance(c, dict)}
        found = []
        for ext_id, p in packages.items():
            services = p.get("services")
            channels: tuple[str, ...] = ()
            if p.get("type") == "tv" and isinstance(services, list):
                channels = tuple(channel_names.get(str(s), str(s)) for s in services)
            found.append(PackageInfo(external_id=ext_id, name=str(p.get("name") or ext_id),
                                     kind="channel" if p.get("type") == "tv" else "service",
                                     description=str(p.get("description") or ""), channels=channels))
        return found

    # -- subscribers ---------------------------------------------------------------------------------
    def create_subscriber(self, spec: SubscriberSpec, *, idempotency_key: str) -> None:
        """POST accounts, then POST account_subscription. The keyed account write comes first so that a
        retry after a lost answer is recognised. If the packages are refused (unknown to the portal),
        the account just created is deleted again so that nothing half-made stays behind."""
        sid = _check_id(spec.subscriber_id)
        form: list[tuple[str, str]] = [("login", spec.login or sid), ("account_number", sid),
                                       ("status", "1" if spec.enabled else "0")]
        if spec.full_name:
            form.append(("full_name", spec.full_name))
        if spec.phone:
            form.append(("phone", spec.phone))
        if spec.device_id and MAC_RE.match(spec.device_id):
            form.append(("stb_mac", spec.device_id.upper()))
        if self.config.options.get("tariff_plan"):
            form.append(("tariff_plan", str(self.config.options["tariff_plan"])))
        form.append(("comment", f"tripleplay {sid}"))
        try:
            self._results("POST", "accounts", form=form, idempotency_key=idempotency_key,
                          what=f"create account {sid}")
        except PermanentError as e:
            if ERR_LOGIN_IN_USE not in e.message.lower():
                raise
            if self.get_subscriber(sid) is not None:
                raise AlreadyExists(f"Ministra account {sid} already exists", code="already_exists") from e
            raise PermanentError(f"login {spec.login or sid!r} belongs to another Ministra account",
                                 code="login_in_use") from e
        if not spec.packages:
            return
        try:
            self._set_packages(sid, spec.packages, idempotency_key=f"{idempotency_key}:subscription")
        except SubscriberNotFound:
            raise
        except PermanentError:
            try:
                self._results("DELETE", f"accounts/{quote(sid, safe='')}", idempotency_key=f"{idempotency_key}:undo",
                              what=f"undo create account {sid}")
            except SubscriberNotFound:
                pass
            raise

    def set_packages(self, subscriber_id: str, packages: frozenset[str], *, idempotency_key: str) -> None:
        self._set_packages(_check_id(subscriber_id), packages, idempotency_key=idempotency_key)

    def set_enabled(self, subscriber_id: str, enabled: bool, *, idempotency_key: str) -> None:
        sid = _check_id(subscriber_id)
        self._results("PUT", f"accounts/{quote(sid, safe='')}", form=[("status", "1" if enabled else "0")],
                      idempotency_key=idempotency_key, what=f"{'enable' if enabled else 'disable'} account {sid}")

    def update_details(self, spec: SubscriberSpec, *, idempotency_key: str) -> None:
        """``PUT accounts/ID`` with login, full_name, phone and stb_mac. The portal cannot clear a MAC
        through the API (an empty stb_mac is ignored), so a removed or non-MAC device id leaves the old
        one: the operator frees it in the portal (docs/platforms/ministra.md)."""
        sid = _check_id(spec.subscriber_id)
        form = [("login", spec.login or sid), ("full_name", spec.full_name), ("phone", spec.phone)]
        if spec.device_id and MAC_RE.match(spec.device_id):
            form.append(("stb_mac", spec.device_id.upper()))
        try:
            self._results("PUT", f"accounts/{quote(sid, safe='')}", form=form, idempotency_key=idempotency_key,
                          what=f"update account {sid}")
        except PermanentError as e:
            if e.code == "login_in_use":
                raise PermanentError(f"login {spec.login or sid!r} belongs to another Ministra account",
                                     code="login_in_use") from e
            raise

    def delete_subscriber(self, subscriber_id: str, *, idempotency_key: str) -> None:
        sid = _check_id(subscriber_id)
        self._results("DELETE", f"accounts/{quote(sid, safe='')}", idempotency_key=idempotency_key,
                      what=f"delete account {sid}")

    def get_subscriber(self, subscriber_id: str) -> SubscriberState | None:
        sid = _check_id(subscriber_id)
        try:
            results = self._results("GET", f"accounts/{quote(sid, safe='')}", what=f"read account {sid}")
        except SubscriberNotFound:
            return None
        accounts = [a for a in results or [] if isinstance(a, dict)]
        if not accounts:
            return None
        if len(accounts) > 1:
            raise PermanentError(f"{len(accounts)} Ministra accounts share account_number {sid}; "
                                 "merge them in the admin panel", code="ambiguous_account")
        return _state(sid, accounts[0])

    def list_subscribers(self) -> Iterable[SubscriberState]:
        results = self._results("GET", "accounts", what="list accounts")
        for account in results or []:
            if isinstance(account, dict) and account.get("account_number"):
                yield _state(str(account["account_number"]), account)

    # -- internals -----------------------------------------------------------------------------------
    def _set_packages(self, sid: str, packages: frozenset[str], *, idempotency_key: str) -> None:
        path = f"account_subscription/{quote(sid, safe='')}"
        if not packages:  # DELETE removes every optional subscription; an empty POST would be refused
            self._results("DELETE", path, idempotency_key=idempotency_key, what=f"clear packages of {sid}")
            return
        unknown = self._unknown_packages(packages)
        if unknown:  # the real portal silently ignores unknown external ids: check first
            raise PermanentError(f"unknown Ministra package(s): {', '.join(unknown)}", code="unknown_package")
        self._results("POST", path, form=[("subscribed[]", p) for p in sorted(packages)],
                      idempotency_key=idempotency_key, what=f"set packages of {sid}")

    def _unknown_packages(self, packages: frozenset[str]) -> list[str]:
        fresh = time.monotonic() - self._catalog_at > CATALOG_TTL_SECONDS
        catalog = self._packages(fresh=fresh)
        if not fresh and any(p not in catalog for p in packages):
            catalog = self._packages(fresh=True)  # a package added since: look again before refusing
        return sorted(p for p in packages if p not in catalog)

    def _packages(self, *, fresh: bool) -> dict[str, dict]:
        if fresh or not self._catalog_at:
            results = self._results("GET", "services_package", what="list service packages")
            self._catalog = {str(p["external_id"]): p for p in results or []
                             if isinstance(p, dict) and p.get("external_id")}
            self._catalog_at = time.monotonic()
        return self._catalog

    def _results(self, method: str, resource: str, *, form: list[tuple[str, str]] | None = None,
                 idempotency_key: str | None = None, what: str):
        headers = {"Accept": "application/json"}
        content = None
        if form is not None:
            content = urlencode(form, safe="[]").encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if idempotency_key:
            headers[IDEMPOTENCY_HEADER] = idempotency_key
        response = self.request(method, f"{self._api}/{resource}", content=content, headers=headers, auth=self._auth)
        if response.status_code in (401, 403):
            raise PermanentError(f"{what}: Ministra refused the API credentials (HTTP {response.status_code})",
                                 status=response.status_code, code="unauthorized")
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or "status" not in body:
            hint = " (is enable_api on in the portal's custom.ini?)" if response.status_code == 404 else ""
            raise PermanentError(f"{what}: not a Ministra API answer (HTTP {response.status_code}){hint}",
                                 status=response.status_code, code="invalid_response")
        if body.get("status") != "OK":
            message = str(body.get("error") or "unknown error")
            lowered = message.lower()
            cls = SubscriberNotFound if ERR_NOT_FOUND in lowered else PermanentError
            code = "not_found" if cls is SubscriberNotFound else (
                "login_in_use" if ERR_LOGIN_IN_USE in lowered else "ministra_error")
            raise cls(f"{what}: {message}", status=response.status_code, code=code)
        if response.status_code >= 400:
            raise PermanentError(f"{what}: HTTP {response.status_code}", status=response.status_code, code="http_error")
        return body.get("results")


def _api_path(base_url: str, configured) -> str:
    if configured is not None:
        return "/" + str(configured).strip("/") if str(configured).strip("/") else ""
    path = urlsplit(base_url).path.rstrip("/")
    if path.endswith("/api") or path.endswith("/api/v1"):
        return ""  # the operator gave the API URL itself
    return DEFAULT_API_PATH


def _check_id(subscriber_id: str) -> str:
    if not subscriber_id or len(subscriber_id) > MAX_ID_LENGTH or ":" in subscriber_id or "," in subscriber_id:
        raise PermanentError(
            f"subscriber id {subscriber_id!r} cannot be a Ministra account_number: it must be 1-{MAX_ID_LENGTH} "
            "characters without ':' or ',' (longer identifiers are read as MAC addresses by the portal)",
            code="invalid_identifier")
    return subscriber_id


def _state(sid: str, account: dict) -> SubscriberState:
    subscribed = account.get("subscribed") or []
    if not isinstance(subscribed, list):
        subscribed = []
    raw = {k: v for k, v in account.items() if k != "password"}
    return SubscriberState(subscriber_id=sid, enabled=str(account.get("status")) == "1",
                           packages=frozenset(str(p) for p in subscribed), raw=raw)
