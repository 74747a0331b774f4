"""TVIP TMS provider REST API. FOLLOWS THE PUBLIC REFERENCE (docs.tvip.tv; docs/platforms/tvip.md says
what was read, and what was chosen where the reference is silent).

Wire format:
- ``{base}/api/provider/<resource>[/<id>]``; ``GET`` reads, ``POST`` creates (no ``id`` in the JSON body)
  or modifies (``id`` in the body; only the properties sent change), ``DELETE <resource>/<id>`` deletes.
  HTTP Basic with a TMS administrator; ``Accept: application/json``.
- Lists are ``{"data": [...]}``, paged with ``start`` / ``limit`` and filtered by query parameters.
- ``accounts``: ``login`` (unique within the provider), ``enable``, ``fullname``, ``provider``,
  ``contract`` and ``remote_custom_field``, the field TMS offers "for the internal ID mapping in billing".
  tripleplay's ``subscriber_id`` goes there and is how the adapter finds the account (TMS's own ``id`` is
  an integer TMS assigns). The customer's login is the TMS login.
- ``tarifs`` (TMS's spelling): integer ids; a tripleplay channel package's ``external_id`` is that id as a
  string. An account's tariffs are ``account_subscriptions`` rows ``{account, tarif, start, stop}``:
  the adapter adds the missing ones and deletes the extra ones (``set_packages`` replaces the whole set).
- ``devices``: a set-top box bound to the account (``mac`` or ``unique_id``). A changed ``device_id``
  unbinds the old box (``account: null``; the device stays known to TMS) and binds the new one.
- Enable/disable: ``POST accounts {"id", "enable"}``; the answer (or a read-back) must show the new flag,
  since a TMS that ignored the field would otherwise leave a blocked customer watching.

TMS has no idempotency keys: ``X-Idempotency-Key`` is sent anyway (TMS ignores it, the simulator dedupes
on it), and every operation is written to be safe to repeat (see ``create_subscriber``).
Device-level tariffs (which win over the account's in TMS) are not managed: tripleplay sells to accounts.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

import httpx

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

API = "/api/provider"
IDEMPOTENCY_HEADER = "X-Idempotency-Key"
PAGE_SIZE = 100
CATALOG_TTL_SECONDS = 300.0
MAX_ID_LENGTH = 255
MAC_RE = re.compile(r"^[0-9A-Fa-f]{2}([:-]?[0-9A-Fa-f]{2}){5}$")


class TvipAdapter(Adapter):
    kind = "tvip"
    label = "TVIP TMS provider API"
    modelled = False

    def __init__(self, config, *, client: httpx.Client | None = None):
        super().__init__(config, client=client)
        self._auth = httpx.BasicAuth(config.username, config.secret) if config.username else None
        self.provider_id = int(config.options.get("provider_id", 1))
        self.enable_field = str(config.options.get("enable_field", "enable"))
        self._catalog: dict[str, dict] = {}
        self._catalog_at = 0.0
        self._ids: dict[str, int] = {}  # subscriber id -> TMS account id (dropped when TMS says 404)

    # -- catalog -------------------------------------------------------------------------------------
    def list_packages(self) -> list[PackageInfo]:
        return [PackageInfo(external_id=ext, name=str(t.get("name") or t.get("tarif_name") or ext),
                            description=str(t.get("description") or ""))
                for ext, t in self._tariffs(fresh=True).items()]

    # -- subscribers ---------------------------------------------------------------------------------
    def create_subscriber(self, spec: SubscriberSpec, *, idempotency_key: str) -> None:
        """The keyed account POST comes first, so that a retry after a lost answer is recognised where
        duplicates are detected. A TMS that refuses the login because the account is already there (a retry
        without the key, or a second create) is answered with AlreadyExists after finding the account by its
        remote_custom_field. If a tariff or the device is refused, the account just made is deleted again."""
        sid = _check_id(spec.subscriber_id)
        tariffs = self._known_tariffs(spec.packages)
        body = {"login": spec.login or sid, self.enable_field: bool(spec.enabled), "provider": self.provider_id,
                "remote_custom_field": sid, "fullname": spec.full_name, "contract": spec.account_number or sid}
        try:
            account = self._call("POST", "accounts", body=body, key=idempotency_key, what=f"create account {sid}")
        except PermanentError as e:
            if e.code == "unauthorized" or isinstance(e, SubscriberNotFound):
                raise
            if self._find(sid) is not None:
                raise AlreadyExists(f"TMS account {sid} already exists", code="already_exists") from e
            if e.status == 409 or "login" in e.message.lower():
                raise PermanentError(f"login {spec.login or sid!r} belongs to another TMS account: {e.message}",
                                     status=e.status, code="login_in_use") from e
            raise
        account_id = _account_id(account, f"create account {sid}")
        self._ids[sid] = account_id
        try:
            if _enabled(account) not in (None, bool(spec.enabled)):  # D192: a TMS that ignored the flag
                raise PermanentError(f"TMS did not apply {self.enable_field}={str(bool(spec.enabled)).lower()} to "
                                     f"the new account {sid}", code="enable_not_applied")
            self._set_tariffs(account_id, tariffs, current={}, key=f"{idempotency_key}:{account_id}")
            if spec.device_id:
                self._sync_device(account_id, spec.device_id, key=f"{idempotency_key}:{account_id}")
        except TransientError:
            raise  # the next attempt finds the account (AlreadyExists) and converges
        except PermanentError:
            try:
                self._call("DELETE", f"accounts/{account_id}", key=f"{idempotency_key}:undo",
                           what=f"undo create account {sid}", missing="account")
            except SubscriberNotFound:
                pass
            self._ids.pop(sid, None)
            raise

    def set_packages(self, subscriber_id: str, packages: frozenset[str], *, idempotency_key: str) -> None:
        sid = _check_id(subscriber_id)
        tariffs = self._known_tariffs(packages)

        def apply(account_id: int) -> None:
            current: dict[str, list[dict]] = {}
            for row in self._rows("account_subscriptions", {"account": account_id}, what=f"read tariffs of {sid}"):
                if _active(row) and row.get("account") == account_id:
                    current.setdefault(str(row.get("tarif")), []).append(row)
            self._set_tariffs(account_id, tariffs, current=current, key=f"{idempotency_key}:{account_id}")

        self._on_account(sid, apply)

    def set_enabled(self, subscriber_id: str, enabled: bool, *, idempotency_key: str) -> None:
        sid = _check_id(subscriber_id)
        answer = self._on_account(sid, lambda account_id: self._call(
            "POST", "accounts", body={"id": account_id, self.enable_field: bool(enabled)},
            key=f"{idempotency_key}:{account_id}", what=f"{'enable' if enabled else 'disable'} account {sid}",
            missing="account"))
        if not isinstance(answer, dict) or _enabled(answer) is None:
            answer = self._call("GET", f"accounts/{self._account_id(sid)}", what=f"read account {sid}",
                                missing="account")
        if _enabled(answer) is not bool(enabled):
            raise PermanentError(f"TMS did not apply {self.enable_field}={str(bool(enabled)).lower()} to account {sid}; "
                                 "check the enable_field option against the Swagger of this TMS",
                                 code="enable_not_applied")

    def update_details(self, spec: SubscriberSpec, *, idempotency_key: str) -> None:
        """``POST accounts`` with login, fullname and contract, then the device binding. TMS keeps no phone
        number on an account, so ``phone`` is not sent."""
        sid = _check_id(spec.subscriber_id)

        def apply(account_id: int) -> None:
            body = {"id": account_id, "login": spec.login or sid, "fullname": spec.full_name,
                    "contract": spec.account_number or sid}
            try:
                self._call("POST", "accounts", body=body, key=f"{idempotency_key}:{account_id}",
                           what=f"update account {sid}",
                           missing="account")
            except PermanentError as e:
                if e.status == 409:
                    raise PermanentError(f"login {spec.login or sid!r} belongs to another TMS account",
                                         status=409, code="login_in_use") from e
                raise
            self._sync_device(account_id, spec.device_id, key=f"{idempotency_key}:{account_id}")

        self._on_account(sid, apply)

    def delete_subscriber(self, subscriber_id: str, *, idempotency_key: str) -> None:
        sid = _check_id(subscriber_id)
        self._on_account(sid, lambda account_id: self._call(
            "DELETE", f"accounts/{account_id}", key=f"{idempotency_key}:{account_id}", what=f"delete account {sid}",
            missing="account"))
        self._ids.pop(sid, None)

    def get_subscriber(self, subscriber_id: str) -> SubscriberState | None:
        sid = _check_id(subscriber_id)
        account = self._find(sid)
        if account is None:
            return None
        rows = self._rows("account_subscriptions", {"account": account["id"]}, what=f"read tariffs of {sid}")
        return _state(sid, account, [r for r in rows if r.get("account") == account["id"]])

    def list_subscribers(self) -> Iterable[SubscriberState]:
        """Every account that carries a remote_custom_field (accounts made by hand in TMS without one are not
        tripleplay's), with the tariffs read in one paged pass over account_subscriptions."""
        accounts = [a for a in self._rows("accounts", {}, what="list accounts") if a.get("remote_custom_field")]
        by_account: dict[int, list[dict]] = {}
        for row in self._rows("account_subscriptions", {}, what="list subscriptions"):
            by_account.setdefault(row.get("account"), []).append(row)
        for account in accounts:
            yield _state(str(account["remote_custom_field"]), account, by_account.get(account.get("id"), []))

    # -- internals -----------------------------------------------------------------------------------
    def _set_tariffs(self, account_id: int, wanted: list[int], *, current: dict[str, list[dict]], key: str) -> None:
        for tarif, rows in sorted(current.items()):
            keep = 1 if tarif in {str(w) for w in wanted} else 0
            for row in rows[keep:]:  # duplicates too: one active row per tariff
                try:
                    self._call("DELETE", f"account_subscriptions/{row['id']}", key=f"{key}:del:{row['id']}",
                               what=f"remove tariff {tarif} from account {account_id}", missing="subscription")
                except SubscriberNotFound:
                    pass  # already gone
        start = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")
        for tarif in wanted:
            if str(tarif) in current:
                continue
            self._call("POST", "account_subscriptions", body={"account": account_id, "tarif": tarif, "start": start},
                       key=f"{key}:add:{tarif}", what=f"add tariff {tarif} to account {account_id}", missing="tariff")

    def _sync_device(self, account_id: int, device_id: str, *, key: str) -> None:
        wanted = _device_value(device_id)
        bound = self._rows("devices", {"account": account_id}, what=f"read devices of account {account_id}")
        have = False
        for device in bound:
            if device.get("account") != account_id:
                continue
            if wanted and _device_value(device.get("mac") or device.get("unique_id") or "") == wanted:
                have = True
                continue
            self._call("POST", "devices", body={"id": device["id"], "account": None},
                       key=f"{key}:unbind:{device['id']}", what=f"unbind device {device['id']}", missing="device")
        if not wanted or have:
            return
        known = [d for d in self._rows("devices", {"quick_search": wanted}, what=f"find device {wanted}")
                 if _device_value(d.get("mac") or d.get("unique_id") or "") == wanted]
        if known:
            self._call("POST", "devices", body={"id": known[0]["id"], "account": account_id},
                       key=f"{key}:bind:{known[0]['id']}", what=f"bind device {wanted}", missing="device")
            return
        field = "mac" if MAC_RE.match(wanted) else "unique_id"
        self._call("POST", "devices", body={field: wanted, "account": account_id, "provider": self.provider_id},
                   key=f"{key}:device", what=f"add device {wanted}", missing="device")

    def _known_tariffs(self, packages: frozenset[str]) -> list[int]:
        bad = sorted(p for p in packages if not str(p).isdigit())
        if bad:
            raise PermanentError(f"not TMS tariff ids (integers): {', '.join(bad)}", code="unknown_package")
        fresh = time.monotonic() - self._catalog_at > CATALOG_TTL_SECONDS
        catalog = self._tariffs(fresh=fresh)
        if not fresh and any(p not in catalog for p in packages):
            catalog = self._tariffs(fresh=True)  # a tariff added since: look again before refusing
        unknown = sorted(p for p in packages if p not in catalog)
        if unknown:
            raise PermanentError(f"unknown TMS tariff(s): {', '.join(unknown)}", code="unknown_package")
        return sorted(int(p) for p in packages)

    def _tariffs(self, *, fresh: bool) -> dict[str, dict]:
        if fresh or not self._catalog_at:
            rows = self._rows("tarifs", {}, what="list tariffs")
            self._catalog = {str(t["id"]): t for t in rows if isinstance(t.get("id"), int)}
            self._catalog_at = time.monotonic()
        return self._catalog

    def _on_account(self, sid: str, operation):
        """Run ``operation(account_id)``; if a remembered id is gone (the account was remade in TMS), find the
        account again once."""
        cached = sid in self._ids
        try:
            return operation(self._account_id(sid))
        except SubscriberNotFound:
            self._ids.pop(sid, None)
            if not cached:
                raise
            return operation(self._account_id(sid))

    def _account_id(self, sid: str) -> int:
        if sid in self._ids:
            return self._ids[sid]
        account = self._find(sid)
        if account is None:
            raise SubscriberNotFound(f"no TMS account with remote_custom_field {sid}", code="not_found")
        return account["id"]

    def _find(self, sid: str) -> dict | None:
        """The account whose remote_custom_field is ``sid``. The filter is asked for, and the answer checked,
        so a TMS that ignores the parameter still gives the right account (by paging through all)."""
        found = [a for a in self._rows("accounts", {"remote_custom_field": sid}, what=f"find account {sid}")
                 if str(a.get("remote_custom_field")) == sid and isinstance(a.get("id"), int)]
        if len(found) > 1:
            raise PermanentError(f"{len(found)} TMS accounts carry remote_custom_field {sid}; merge them in TMS",
                                 code="ambiguous_account")
        if not found:
            self._ids.pop(sid, None)
            return None
        self._ids[sid] = found[0]["id"]
        return found[0]

    def _rows(self, resource: str, params: dict, *, what: str) -> list[dict]:
        return list(self._paged(resource, params, what=what))

    def _paged(self, resource: str, params: dict, *, what: str) -> Iterator[dict]:
        start = 0
        while True:
            page = self._call("GET", resource, params={**params, "start": start, "limit": PAGE_SIZE}, what=what)
            rows = page.get("data") if isinstance(page, dict) else None
            if not isinstance(rows, list):
                raise PermanentError(f"{what}: not a TMS list answer (no data array)", code="invalid_response")
            yield from (r for r in rows if isinstance(r, dict))
            if len(rows) < PAGE_SIZE:
                return
            start += PAGE_SIZE

    # -- the billing API (TMS calls tripleplay; tripleplay/api/tvip.py) -------------------------------
    def subscriber_of_account(self, tms_account_id: int) -> str | None:
        """The tripleplay subscriber id TMS account ``tms_account_id`` carries in its remote_custom_field
        (None: no such account, or one tripleplay did not create). One read of TMS: the account the
        billing API names is TMS's integer id, which billing does not keep (D230)."""
        try:
            account = self._call("GET", f"accounts/{int(tms_account_id)}", what=f"read account {tms_account_id}",
                                 missing="account")
        except SubscriberNotFound:
            return None
        if not isinstance(account, dict) or account.get("id") != int(tms_account_id):
            return None
        if account.get("provider") not in (None, self.provider_id):
            return None  # another provider's account on a shared TMS
        ref = account.get("remote_custom_field")
        return ref if isinstance(ref, str) and ref else None

    def _call(self, method: str, resource: str, *, body: dict | None = None, params: dict | None = None,
              key: str | None = None, what: str, missing: str | None = None):
        headers = {"Accept": "application/json"}
        if key:
            headers[IDEMPOTENCY_HEADER] = key
        response = self.request(method, f"{API}/{resource}", json_body=body, headers=headers, params=params,
                                auth=self._auth)
        try:
            answer = response.json() if response.content else None
        except ValueError:
            answer = None
        if response.status_code in (401, 403):
            raise PermanentError(f"{what}: TMS refused the API credentials (HTTP {response.status_code})",
                                 status=response.status_code, code="unauthorized")
        if response.status_code >= 400:
            cause = ""
            if isinstance(answer, dict):
                cause = str(answer.get("cause") or answer.get("message") or answer.get("error") or "")
            message = f"{what}: HTTP {response.status_code}" + (f": {cause}" if cause else "")
            if response.status_code == 404 and missing in ("account", "subscription"):
                raise SubscriberNotFound(message, status=404, code="not_found")
            refused_tariff = missing == "tariff" and "tarif" in cause.lower()
            raise PermanentError(message, status=response.status_code,
                                 code="unknown_package" if refused_tariff else "tms_error")
        if method == "GET" and answer is None:
            raise PermanentError(f"{what}: not a TMS JSON answer (HTTP {response.status_code})", code="invalid_response")
        return answer


def billing_signature(path: str, token: str, content_length: int) -> str:
    """TMS's X-AUTH-TOKEN for a billing-API request, as docs/platforms/tvip.md reads the reference's PHP
    ``createSign``: md5 of the request path, the provider's token, and the Content-Length when the request
    has a body (the printed snippet overwrites instead of appending, which would leave a body request's
    signature without the secret; read as appending, D230)."""
    return hashlib.md5(f"{path}{token}{content_length if content_length > 0 else ''}".encode()).hexdigest()


def billing_signature_valid(given: str, *, path: str, token: str, content_length: int) -> bool:
    """Constant-time check of a received X-AUTH-TOKEN; no token configured never matches."""
    if not token or not given:
        return False
    expected = billing_signature(path, token, content_length)
    return hmac.compare_digest(expected.encode(), given.strip().lower().encode())


def _check_id(subscriber_id: str) -> str:
    if not subscriber_id or len(subscriber_id) > MAX_ID_LENGTH:
        raise PermanentError(f"subscriber id {subscriber_id!r} cannot be a TMS remote_custom_field "
                             f"(1-{MAX_ID_LENGTH} characters)", code="invalid_identifier")
    return subscriber_id


def _account_id(answer, what: str) -> int:
    if isinstance(answer, dict) and isinstance(answer.get("id"), int):
        return answer["id"]
    raise PermanentError(f"{what}: TMS did not answer with the new account's id", code="invalid_response")


def _enabled(account: dict) -> bool | None:
    for name in ("enable", "enabled"):
        if isinstance(account.get(name), bool):
            return account[name]
    return None


def _active(row: dict) -> bool:
    """A subscription counts until its stop date (none: open-ended). A row TMS keeps after its stop
    ("archive") is not the account's tariff any more."""
    stop = row.get("stop")
    if not stop:
        return True
    try:
        return datetime.strptime(str(stop), "%Y-%m-%dT%H:%M:%S%z") > datetime.now(UTC)
    except ValueError:
        return True  # an unreadable date is shown as present rather than silently dropped


def _device_value(device_id: str) -> str:
    value = (device_id or "").strip()
    if MAC_RE.match(value):
        digits = re.sub(r"[^0-9A-Fa-f]", "", value).upper()
        return ":".join(digits[i:i + 2] for i in range(0, 12, 2))
    return value


def _state(sid: str, account: dict, rows: list[dict]) -> SubscriberState:
    packages = frozenset(str(r.get("tarif")) for r in rows if _active(r) and r.get("tarif") is not None)
    return SubscriberState(subscriber_id=sid, enabled=bool(_enabled(account)), packages=packages,
                           raw={k: v for k, v in account.items() if k not in ("password", "pin_md5")})
