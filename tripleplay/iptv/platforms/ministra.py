"""Ministra TV platform (Infomir, formerly Stalker Middleware) REST API v1. FOLLOWS THE PUBLIC SPECIFICATION.

Wire format and behaviour (``docs/platforms/ministra.md`` has examples and cites the portal's source):

- ``METHOD {base}/stalker_portal/api/RESOURCE[/ID1,ID2]``; GET reads, POST creates, PUT updates, DELETE deletes.
- HTTP Basic; a wrong or missing credential is HTTP 401 ``{"status":"ERROR","results":"","error":"401 ..."}``.
- Request bodies are form-encoded (PHP ``parse_str`` for every method); arrays are ``subscribed[]=a``.
- Every answer is ``{"status": "OK"|"ERROR", "results": ..., "error": "..."}`` with HTTP 200, also for errors.
- Accounts are identified by ``account_number`` (the portal's "ls") or by the STB MAC. tripleplay's
  ``subscriber_id`` is sent as ``account_number``. The portal does not make account numbers unique and
  applies PUT, DELETE and account_subscription to *every* account with the number, so each write reads
  the account first and refuses to act when more than one holds the number (never touching a stranger).
- Packages: only packages *optional* in the account's tariff plan can be subscribed through the API;
  mandatory packages of the plan are always on; anything else is silently ignored by the portal, which
  then answers ``results: false``. The adapter maps billing's set onto the plan (``tariffs``) before
  sending, and reads the account back after every subscription write: ``results`` is never taken as success.
- MACs are sent in canonical colon form (``00:1A:79:00:00:01``), because the portal stores a PUT's
  ``stb_mac`` exactly as sent; ``stb_mac`` is sent only when it changes (a non-empty write also clears the
  box's token and device ids), and sent empty to unbind a returned box.

Ministra has no idempotency keys: every operation is written to be safe to repeat (a repeated create
finds the account; a repeated subscription finds the set already applied). ``X-Idempotency-Key`` is sent
for correlation in logs only. No password is ever sent.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
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
_MAC_FORMS = re.compile(r"[0-9A-Fa-f]{12}|[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}|[0-9A-Fa-f]{2}(-[0-9A-Fa-f]{2}){5}"
                        r"|[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}")

# The portal's own error texts (RESTCommandException messages), matched case-insensitively.
ERR_NOT_FOUND = "account not found"
ERR_LOGIN_IN_USE = "login already in use"


def canonical_mac(value: str) -> str | None:
    """``00:1A:79:00:00:01`` from the usual spellings (``001a79000001``, ``00-1a-79-00-00-01``,
    ``001a.7900.0001``, any case); None when the value is not a MAC address. The portal keeps a PUT's
    stb_mac exactly as sent and finds boxes by the canonical form, so only this form is ever sent."""
    value = (value or "").strip()
    if not _MAC_FORMS.fullmatch(value):
        return None
    digits = re.sub(r"[^0-9A-Fa-f]", "", value).upper()
    return ":".join(digits[i:i + 2] for i in range(0, 12, 2))


@dataclass(frozen=True)
class PlanMapping:
    """How billing's package set maps onto an account's tariff plan (``map_onto_plan``)."""

    subscribe: frozenset[str]  # the optional packages to hold subscribed (the account_subscription set)
    included: frozenset[str]  # wanted and mandatory in the plan: always on, nothing to send
    problems: tuple[str, ...]  # why the set cannot be applied; empty when it can


def map_onto_plan(wanted: frozenset[str], plan: str, packages: dict[str, bool], catalog: set[str]) -> PlanMapping:
    """Pure: ``packages`` is the plan's {external_id: optional}. A wanted package that is optional is
    subscribed; mandatory is already included; unknown to the portal, or not in the plan, cannot be
    given; a mandatory package billing does not want cannot be taken away (except by the empty set,
    which billing wants for an account without IPTV content: it is disabled, so it watches nothing)."""
    problems = []
    unknown = sorted(p for p in wanted if p not in catalog)
    if unknown:
        problems.append(f"unknown Ministra package(s): {', '.join(unknown)}")
    outside = sorted(p for p in wanted if p in catalog and p not in packages)
    if outside:
        problems.append(f"package(s) {', '.join(outside)} are not in tariff plan {plan!r}")
    forced = sorted(p for p, optional in packages.items() if not optional and p not in wanted)
    if forced and wanted:  # the empty set: no IPTV content (the account is disabled); the plan's stay
        problems.append(f"package(s) {', '.join(forced)} are mandatory in tariff plan {plan!r}: every account "
                        "on that plan has them, so billing cannot remove them (make them optional in the plan)")
    return PlanMapping(subscribe=frozenset(p for p in wanted if packages.get(p) is True),
                       included=frozenset(p for p in wanted if packages.get(p) is False),
                       problems=tuple(problems))


class MinistraAdapter(Adapter):
    kind = "ministra"
    label = "Ministra (Infomir Stalker) REST API v1"
    modelled = False
    idempotency_keys = False  # the portal has none: a repeated create is recognised by reading first

    def __init__(self, config, *, client: httpx.Client | None = None):
        super().__init__(config, client=client)
        self._auth = httpx.BasicAuth(config.username, config.secret) if config.username else None
        self._api = _api_path(config.base_url, config.options.get("api_path"))
        self._catalog: dict[str, dict] = {}
        self._catalog_at = 0.0
        self._plans: dict[str, dict] = {}
        self._plans_at = 0.0

    # -- catalog -------------------------------------------------------------------------------------
    def list_packages(self) -> list[PackageInfo]:
        """``services_package``: ``services`` is "all" or a list of {id, name} objects (Tariff::
        getServicesForPackage); the channel names come with it, nothing else is read."""
        found = []
        for ext_id, p in self._packages(fresh=True).items():
            services = p.get("services")
            channels: tuple[str, ...] = ()
            if p.get("type") == "tv" and isinstance(services, list):
                channels = tuple(str(s.get("name") or s.get("id")) if isinstance(s, dict) else str(s)
                                 for s in services)
            found.append(PackageInfo(external_id=ext_id, name=str(p.get("name") or ext_id),
                                     kind="channel" if p.get("type") == "tv" else "service",
                                     description=str(p.get("description") or ""), channels=channels))
        return found

    # -- subscribers ---------------------------------------------------------------------------------
    def create_subscriber(self, spec: SubscriberSpec, *, idempotency_key: str) -> None:
        """Read first (a number held already is ours after a lost answer, or a stranger's: never make a
        second account with it), check the packages against the plan the account will get, POST
        accounts, then subscribe the optional packages."""
        sid = _check_id(spec.subscriber_id)
        existing = self._accounts(sid)
        if len(existing) > 1:
            raise _ambiguous(sid, existing)
        if existing and _ours(existing[0], sid, spec.login or sid):
            raise AlreadyExists(f"Ministra account {sid} already exists", code="already_exists")
        if existing:
            raise PermanentError(f"account_number {sid} is held by another Ministra account (login "
                                 f"{existing[0].get('login')!r}); give it another number in the admin panel",
                                 code="account_number_in_use")
        configured = str(self.config.options.get("tariff_plan") or "")
        plan, mapping = configured, PlanMapping(frozenset(), frozenset(), ())
        if spec.packages or configured:  # a portal without tariff plans takes accounts without packages
            plan = self._plan_for_new_account()
            mapping = self._mapping(sid, spec.packages, plan)
        form: list[tuple[str, str]] = [("login", spec.login or sid), ("account_number", sid),
                                       ("status", "1" if spec.enabled else "0")]
        if spec.full_name:
            form.append(("full_name", spec.full_name))
        if spec.phone:
            form.append(("phone", spec.phone))
        mac = canonical_mac(spec.device_id)
        if mac:
            form.append(("stb_mac", mac))
        if configured:
            form.append(("tariff_plan", plan))
        form.append(("comment", f"tripleplay {sid}"))
        try:
            self._results("POST", "accounts", form=form, idempotency_key=idempotency_key, what=f"create account {sid}")
        except PermanentError as e:
            if e.code != "login_in_use":
                raise
            now = self._accounts(sid)
            if len(now) == 1 and _ours(now[0], sid, spec.login or sid):  # made meanwhile (a repeated create)
                raise AlreadyExists(f"Ministra account {sid} already exists", code="already_exists") from e
            raise PermanentError(f"login {spec.login or sid!r} belongs to another Ministra account",
                                 code="login_in_use") from e
        if mapping.subscribe:
            self._subscribe(sid, mapping, [], idempotency_key=f"{idempotency_key}:subscription")

    def set_packages(self, subscriber_id: str, packages: frozenset[str], *, idempotency_key: str) -> None:
        sid = _check_id(subscriber_id)
        account = self._account(sid)
        mapping = self._mapping(sid, packages, str(account.get("tariff_plan") or ""))
        self._subscribe(sid, mapping, _subscribed(account), idempotency_key=idempotency_key)

    def set_enabled(self, subscriber_id: str, enabled: bool, *, idempotency_key: str) -> None:
        sid = _check_id(subscriber_id)
        self._account(sid)  # exactly one account holds the number: a PUT would change every one
        self._results("PUT", f"accounts/{quote(sid, safe='')}", form=[("status", "1" if enabled else "0")],
                    idempotency_key=idempotency_key, what=f"{'enable' if enabled else 'disable'} account {sid}")

    def update_details(self, spec: SubscriberSpec, *, idempotency_key: str) -> None:
        """``PUT accounts/ID`` with login, full_name, phone and, only when it changes, stb_mac: the
        canonical MAC of the device id, or empty when billing has no device any more (the box was
        returned: the portal frees it). A device id that is not a MAC leaves the portal's MAC alone."""
        sid = _check_id(spec.subscriber_id)
        account = self._account(sid)
        form = [("login", spec.login or sid), ("full_name", spec.full_name), ("phone", spec.phone)]
        wanted_mac = canonical_mac(spec.device_id) if spec.device_id else ""
        current_mac = canonical_mac(str(account.get("stb_mac") or "")) or str(account.get("stb_mac") or "")
        if wanted_mac is not None and wanted_mac != current_mac:
            form.append(("stb_mac", wanted_mac))
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
        self._account(sid)  # DELETE accounts/NUMBER deletes every account with the number
        self._results("DELETE", f"accounts/{quote(sid, safe='')}", idempotency_key=idempotency_key,
                    what=f"delete account {sid}")

    def get_subscriber(self, subscriber_id: str) -> SubscriberState | None:
        sid = _check_id(subscriber_id)
        accounts = self._accounts(sid)
        if not accounts:
            return None
        if len(accounts) > 1:
            raise _ambiguous(sid, accounts)
        return self._state(sid, accounts[0])

    def list_subscribers(self) -> Iterable[SubscriberState]:
        results = self._results("GET", "accounts", what="list accounts")
        for account in results or []:
            if isinstance(account, dict) and account.get("account_number"):
                yield self._state(str(account["account_number"]), account)

    # -- internals -----------------------------------------------------------------------------------
    def _accounts(self, sid: str) -> list[dict]:
        try:
            results = self._results("GET", f"accounts/{quote(sid, safe='')}", what=f"read account {sid}")
        except SubscriberNotFound:
            return []
        return [a for a in results or [] if isinstance(a, dict)]

    def _account(self, sid: str) -> dict:
        accounts = self._accounts(sid)
        if not accounts:
            raise SubscriberNotFound(f"Ministra account {sid}: Account not found", code="not_found")
        if len(accounts) > 1:
            raise _ambiguous(sid, accounts)
        return accounts[0]

    def _mapping(self, sid: str, wanted: frozenset[str], plan: str) -> PlanMapping:
        packages = self._plan_packages(plan)
        catalog = self._packages(fresh=False)
        if any(p not in catalog for p in wanted):
            catalog = self._packages(fresh=True)  # a package added since: look again before refusing
        mapping = map_onto_plan(wanted, plan, packages, set(catalog))
        if mapping.problems:
            code = "unknown_package" if mapping.problems[0].startswith("unknown") else "not_in_plan"
            raise PermanentError(f"Ministra account {sid}: " + "; ".join(mapping.problems), code=code)
        return mapping

    def _subscribe(self, sid: str, mapping: PlanMapping, current: list[str], *, idempotency_key: str) -> None:
        """Make the account's optional subscriptions exactly ``mapping.subscribe``, then read them back:
        the portal answers results:false (status OK) for what it did not apply, and true when any one
        package changed, so neither answer says the whole set is there."""
        if set(current) == mapping.subscribe:
            return
        path = f"account_subscription/{quote(sid, safe='')}"
        if mapping.subscribe:
            applied = self._results("POST", path, form=[("subscribed[]", p) for p in sorted(mapping.subscribe)],
                                  idempotency_key=idempotency_key, what=f"set packages of {sid}")
        else:  # DELETE removes every optional subscription; an empty POST would be refused
            applied = self._results("DELETE", path, idempotency_key=idempotency_key, what=f"clear packages of {sid}")
        now = set(_subscribed(self._account(sid)))
        if now != mapping.subscribe:
            raise PermanentError(
                f"Ministra did not apply the packages of account {sid} (results: {str(bool(applied)).lower()}): "
                f"it has {sorted(now)}, billing wants {sorted(mapping.subscribe)}; the portal only subscribes "
                "packages that are optional in the account's tariff plan", code="subscription_not_applied")

    def _plan_for_new_account(self) -> str:
        """The configured plan, which must exist (the portal would silently put the account on its default
        plan), or the portal's default plan."""
        plans = self._tariffs(fresh=False)
        configured = str(self.config.options.get("tariff_plan") or "")
        if configured:
            if configured not in plans:
                plans = self._tariffs(fresh=True)
            if configured not in plans:
                raise PermanentError(f"tariff plan {configured!r} does not exist in Ministra (options.tariff_plan); "
                                     "the portal would put the account on its default plan", code="unknown_tariff_plan")
            return configured
        default = next((ext for ext, p in plans.items() if p["default"]), None)
        if default is None:
            raise PermanentError("Ministra has no default tariff plan: set options.tariff_plan",
                                 code="unknown_tariff_plan")
        return default

    def _plan_packages(self, plan: str) -> dict[str, bool]:
        plans = self._tariffs(fresh=False)
        if plan not in plans:
            plans = self._tariffs(fresh=True)
        if plan not in plans:
            raise PermanentError(f"tariff plan {plan!r} is not listed by Ministra's tariffs resource",
                                 code="unknown_tariff_plan")
        return plans[plan]["packages"]

    def _tariffs(self, *, fresh: bool) -> dict[str, dict]:
        if fresh or not self._plans_at or time.monotonic() - self._plans_at > CATALOG_TTL_SECONDS:
            results = self._results("GET", "tariffs", what="list tariff plans")
            self._plans = {str(t["external_id"]): {
                "default": str(t.get("user_default")) == "1",
                "packages": {str(p["external_id"]): str(p.get("optional")) == "1"
                             for p in t.get("packages") or [] if isinstance(p, dict) and p.get("external_id")}}
                for t in results or [] if isinstance(t, dict) and t.get("external_id")}
            self._plans_at = time.monotonic()
        return self._plans

    def _packages(self, *, fresh: bool) -> dict[str, dict]:
        if fresh or not self._catalog_at or time.monotonic() - self._catalog_at > CATALOG_TTL_SECONDS:
            results = self._results("GET", "services_package", what="list service packages")
            self._catalog = {str(p["external_id"]): p for p in results or []
                             if isinstance(p, dict) and p.get("external_id")}
            self._catalog_at = time.monotonic()
        return self._catalog

    def _state(self, sid: str, account: dict) -> SubscriberState:
        """The packages the subscriber watches: its optional subscriptions and its plan's mandatory ones."""
        plan = self._tariffs(fresh=False).get(str(account.get("tariff_plan") or ""), {"packages": {}})
        mandatory = {p for p, optional in plan["packages"].items() if not optional}
        raw = {k: v for k, v in account.items() if k != "password"}
        return SubscriberState(subscriber_id=sid, enabled=str(account.get("status")) == "1",
                               packages=frozenset(_subscribed(account)) | mandatory, raw=raw)

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


def _subscribed(account: dict) -> list[str]:
    subscribed = account.get("subscribed") or []
    return [str(p) for p in subscribed] if isinstance(subscribed, list) else []


def _ours(account: dict, sid: str, login: str) -> bool:
    """An account holding our number is ours when it has our login or the comment tripleplay writes."""
    return str(account.get("login") or "") == login or str(account.get("comment") or "") == f"tripleplay {sid}"


def _ambiguous(sid: str, accounts: list[dict]) -> PermanentError:
    logins = ", ".join(sorted(str(a.get("login") or "?") for a in accounts))
    return PermanentError(f"{len(accounts)} Ministra accounts share account_number {sid} (logins {logins}); "
                          "the portal would apply any write to all of them: give the others another account "
                          "number in the admin panel", code="ambiguous_account")
