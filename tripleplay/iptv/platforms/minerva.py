"""Minerva iTVManager BackOffice API (XML over HTTP). MODELLED: the real API is not public.

The whole model lives here and in ``tripleplay/simulators/minerva.py``; ``docs/platforms/minerva.md``
describes the wire format. In short: every operation is ``POST /itvmanager/backoffice/api`` with one
``<BackOfficeRequest>`` document carrying the API user's credentials, a ``<TransactionId>`` on writes
(the platform's idempotency key) and exactly one operation element; the platform answers one
``<BackOfficeResponse>`` whose ``<Result code=".." name="..">`` says what happened.

Credentials travel in the body, so the adapter records a copy of each request with the password
(and the subscriber PIN) replaced by ``***``. Responses are parsed only through
``tripleplay.core.xml.parse`` (no DTDs, no entities, size-limited).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

from lxml import etree

from tripleplay.core.xml import XmlError, parse, to_bytes
from tripleplay.iptv.platforms.base import (
    Adapter,
    AlreadyExists,
    PackageInfo,
    PermanentError,
    SubscriberNotFound,
    SubscriberSpec,
    SubscriberState,
    TransientError,
    clip_body,
)

API_PATH = "/itvmanager/backoffice/api"
API_VERSION = "1.0"
MASK = "***"

# Result codes (see docs/platforms/minerva.md). Anything not listed and not 0 is permanent.
OK = 0
SUBSCRIBER_NOT_FOUND = 300
SUBSCRIBER_EXISTS = 301
TRANSIENT_CODES = {303, 900, 901}  # SUBSCRIBER_LOCKED, INTERNAL_ERROR, SERVICE_UNAVAILABLE

# PlatformConfig.options understood by this adapter, with their defaults.
DEFAULT_OPTIONS = {
    "max_devices": 3,  # <MaxDevices>: how many devices may auto-provision on the subscriber (1..20)
    "region": "DEFAULT",  # <Region>: the platform's region code (channel line-up, blackout rules)
    "pin": "0000",  # <Pin>: initial purchase / parental PIN, 4 digits (never recorded)
    "ppv_enabled": False,  # <PpvEnabled>: may the subscriber buy PPV events and VOD titles
    "impulse_credit_limit": "0.00",  # <ImpulseCreditLimit>: impulse-purchase credit, decimal >= 0
    "page_size": 100,  # <Limit> of each GetSubscriberList page (1..1000)
    "api_path": API_PATH,
}


class MinervaAdapter(Adapter):
    kind = "minerva"
    label = "Minerva iTVManager BackOffice API (XML, modelled)"
    modelled = True

    # -- catalog -------------------------------------------------------------------------------------
    def list_packages(self) -> list[PackageInfo]:
        found: list[PackageInfo] = []
        for operation, container, kind in (("GetChannelPackageList", "ChannelPackages", "channel"),
                                           ("GetServicePackageList", "ServicePackages", "service")):
            root = self._call(operation)
            holder = root.find(container)
            if holder is None:
                raise PermanentError(f"Minerva {operation}: answer has no <{container}>", code="invalid_response")
            for pkg in holder:
                if not isinstance(pkg.tag, str):
                    continue
                found.append(_package(pkg, kind))
        return found

    # -- subscribers ---------------------------------------------------------------------------------
    def create_subscriber(self, spec: SubscriberSpec, *, idempotency_key: str) -> None:
        opts = self.subscriber_options()
        op = etree.Element("CreateSubscriber")
        _text(op, "SubscriberId", spec.subscriber_id)
        _text(op, "Enabled", _bool(spec.enabled))
        _text(op, "Login", spec.login)
        _text(op, "FullName", spec.full_name)
        _text(op, "AccountNumber", spec.account_number)
        _text(op, "Phone", spec.phone)
        devices = etree.SubElement(op, "Devices")
        if spec.device_id:
            etree.SubElement(devices, "Device", id=spec.device_id)
        _text(op, "MaxDevices", str(opts["max_devices"]))
        _text(op, "Region", opts["region"])
        _text(op, "Pin", opts["pin"])
        _text(op, "PpvEnabled", _bool(opts["ppv_enabled"]))
        _text(op, "ImpulseCreditLimit", opts["impulse_credit_limit"])
        op.append(_packages(spec.packages))
        self._call(op, transaction_id=idempotency_key)

    def update_details(self, spec: SubscriberSpec, *, idempotency_key: str) -> None:
        op = etree.Element("UpdateSubscriber")
        _text(op, "SubscriberId", spec.subscriber_id)
        _text(op, "Login", spec.login)
        _text(op, "FullName", spec.full_name)
        _text(op, "Phone", spec.phone)
        devices = etree.SubElement(op, "Devices")
        if spec.device_id:
            etree.SubElement(devices, "Device", id=spec.device_id)
        self._call(op, transaction_id=idempotency_key)

    def set_packages(self, subscriber_id: str, packages: frozenset[str], *, idempotency_key: str) -> None:
        op = etree.Element("UpdateSubscriberPackages")
        _text(op, "SubscriberId", subscriber_id)
        op.append(_packages(packages))
        self._call(op, transaction_id=idempotency_key)

    def set_enabled(self, subscriber_id: str, enabled: bool, *, idempotency_key: str) -> None:
        op = etree.Element("EnableSubscriber" if enabled else "DisableSubscriber")
        _text(op, "SubscriberId", subscriber_id)
        self._call(op, transaction_id=idempotency_key)

    def delete_subscriber(self, subscriber_id: str, *, idempotency_key: str) -> None:
        op = etree.Element("DeleteSubscriber")
        _text(op, "SubscriberId", subscriber_id)
        self._call(op, transaction_id=idempotency_key)

    def get_subscriber(self, subscriber_id: str) -> SubscriberState | None:
        op = etree.Element("GetSubscriber")
        _text(op, "SubscriberId", subscriber_id)
        try:
            root = self._call(op)
        except SubscriberNotFound:
            return None
        sub = root.find("Subscriber")
        if sub is None:
            raise PermanentError("Minerva GetSubscriber: answer has no <Subscriber>", code="invalid_response")
        return _state(sub)

    def list_subscribers(self) -> Iterable[SubscriberState]:
        limit = self._int_option("page_size", 1, 1000)
        offset = 0
        while True:
            op = etree.Element("GetSubscriberList")
            _text(op, "Offset", str(offset))
            _text(op, "Limit", str(limit))
            root = self._call(op)
            holder = root.find("Subscribers")
            if holder is None:
                raise PermanentError("Minerva GetSubscriberList: answer has no <Subscribers>", code="invalid_response")
            page = holder.findall("Subscriber")
            for sub in page:
                yield _state(sub)
            offset += len(page)
            total = _int(holder.get("total"), "Subscribers/@total")
            if not page or offset >= total:
                return

    # -- options -------------------------------------------------------------------------------------
    def subscriber_options(self) -> dict:
        """The new subscriber's settings from ``PlatformConfig.options``, validated; raises PermanentError."""
        opts = {**DEFAULT_OPTIONS, **(self.config.options or {})}
        out = {"max_devices": self._int_option("max_devices", 1, 20)}
        region = str(opts["region"]).strip()
        if not region or len(region) > 32:
            raise PermanentError("Minerva option region must be 1..32 characters", code="invalid_option")
        out["region"] = region
        pin = str(opts["pin"])
        if not (len(pin) == 4 and pin.isascii() and pin.isdigit()):
            raise PermanentError("Minerva option pin must be 4 digits", code="invalid_option")
        out["pin"] = pin
        ppv = opts["ppv_enabled"]
        if isinstance(ppv, str):
            ppv = ppv.strip().lower() in ("1", "true", "yes", "on")
        out["ppv_enabled"] = bool(ppv)
        try:
            limit = Decimal(str(opts["impulse_credit_limit"]))
        except InvalidOperation:
            limit = Decimal(-1)
        if not limit.is_finite() or limit < 0:
            raise PermanentError("Minerva option impulse_credit_limit must be a decimal >= 0", code="invalid_option")
        out["impulse_credit_limit"] = str(limit.quantize(Decimal("0.01")))
        return out

    def _int_option(self, name: str, low: int, high: int) -> int:
        value = (self.config.options or {}).get(name, DEFAULT_OPTIONS[name])
        try:
            number = int(value)
        except (TypeError, ValueError):
            number = low - 1
        if isinstance(value, bool) or not low <= number <= high:
            raise PermanentError(f"Minerva option {name} must be an integer {low}..{high}", code="invalid_option")
        return number

    # -- wire ----------------------------------------------------------------------------------------
    def _call(self, operation, *, transaction_id: str | None = None) -> etree._Element:
        """Send one operation; return the response root when Result code is 0, else raise."""
        if isinstance(operation, str):
            operation = etree.Element(operation)
        name = operation.tag
        root = etree.Element("BackOfficeRequest", version=API_VERSION)
        auth = etree.SubElement(root, "Authentication")
        _text(auth, "ApiUser", self.config.username)
        password = _text(auth, "Password", self.config.secret)
        if transaction_id is not None:
            _text(root, "TransactionId", transaction_id)
        root.append(operation)
        body = to_bytes(root)
        # What is recorded: the same document with the secrets masked.
        password.text = MASK
        for pin in operation.iter("Pin"):
            pin.text = MASK
        masked = clip_body(to_bytes(root))
        path = str((self.config.options or {}).get("api_path") or API_PATH)
        recorded = len(self.exchanges)
        try:
            response = self.request("POST", path, content=body,
                                    headers={"Content-Type": "application/xml; charset=utf-8",
                                             "Accept": "application/xml"})
        finally:
            if len(self.exchanges) > recorded:
                self.exchanges[recorded]["request"] = masked
        try:
            doc = parse(response.content)
        except XmlError as e:
            raise PermanentError(f"Minerva {name}: HTTP {response.status_code}, unreadable answer: {e.message}",
                                 status=response.status_code, code=e.code) from None
        result = doc.find("Result") if doc.tag == "BackOfficeResponse" else None
        if result is None:
            raise PermanentError(f"Minerva {name}: HTTP {response.status_code}, answer is not a BackOfficeResponse",
                                 status=response.status_code, code="invalid_response")
        code = _int(result.get("code"), "Result/@code")
        if code == OK and 200 <= response.status_code < 300:
            return doc
        label = result.get("name") or str(code)
        message = f"Minerva {name}: {label} ({code}): {(result.text or '').strip()}"
        if code == SUBSCRIBER_NOT_FOUND:
            raise SubscriberNotFound(message, status=response.status_code, code=label)
        if code == SUBSCRIBER_EXISTS:
            raise AlreadyExists(message, status=response.status_code, code=label)
        if code in TRANSIENT_CODES:
            raise TransientError(message, status=response.status_code, code=label)
        raise PermanentError(message, status=response.status_code, code=label)


# -- XML helpers ----------------------------------------------------------------------------------------
def _text(parent, tag: str, value: str) -> etree._Element:
    el = etree.SubElement(parent, tag)
    el.text = value or ""
    return el


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _int(value: str | None, where: str) -> int:
    try:
        return int(value or "")
    except ValueError:
        raise PermanentError(f"Minerva answer: {where} is not a number: {value!r}", code="invalid_response") from None


def _packages(packages: Iterable[str]) -> etree._Element:
    holder = etree.Element("Packages")
    for pid in sorted(packages):
        etree.SubElement(holder, "Package", id=pid)
    return holder


def _child_text(el, tag: str) -> str:
    found = el.find(tag)
    return (found.text or "").strip() if found is not None else ""


def _package(pkg, kind: str) -> PackageInfo:
    pid = pkg.get("id") or ""
    if not pid:
        raise PermanentError("Minerva package without id", code="invalid_response")
    channels = tuple(c.get("id", "") for c in pkg.iterfind("Channels/Channel"))
    description = _child_text(pkg, "Description")
    services = [s.get("type", "") for s in pkg.iterfind("Services/Service")]
    if services and not description:
        description = "includes " + ", ".join(services)
    return PackageInfo(external_id=pid, name=_child_text(pkg, "Name") or pid, kind=kind,
                       description=description, channels=channels)


def _state(sub) -> SubscriberState:
    sid = _child_text(sub, "SubscriberId")
    enabled = _child_text(sub, "Enabled")
    if not sid or enabled not in ("true", "false"):
        raise PermanentError("Minerva subscriber record without SubscriberId or Enabled", code="invalid_response")
    packages = frozenset(p.get("id", "") for p in sub.iterfind("Packages/Package"))
    raw = {el.tag: (el.text or "").strip() for el in sub if isinstance(el.tag, str) and len(el) == 0}
    raw["Packages"] = [{"id": p.get("id"), "type": p.get("type")} for p in sub.iterfind("Packages/Package")]
    raw["Devices"] = [d.get("id") for d in sub.iterfind("Devices/Device")]
    return SubscriberState(subscriber_id=sid, enabled=enabled == "true", packages=packages, raw=raw)
