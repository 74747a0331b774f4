"""Simulated Minerva iTVManager BackOffice API (XML over HTTP). MODELLED: see docs/platforms/minerva.md.

One endpoint, ``POST /itvmanager/backoffice/api``, one ``<BackOfficeRequest>`` per call; the answer is
a ``<BackOfficeResponse>`` with ``<Result code name>``. Requests are parsed with
``tripleplay.core.xml.parse`` (a DOCTYPE or entity declaration is refused before any state is read).
Writes must carry a ``<TransactionId>``; a repeated one gets the first answer again (``dedupe``).
"""

from __future__ import annotations

import hmac
from decimal import Decimal, InvalidOperation

from lxml import etree

from tripleplay.core.xml import XmlError, parse, to_bytes
from tripleplay.simulators.base import Request, Response, Simulator

API_PATH = "/itvmanager/backoffice/api"
API_VERSION = "1.0"
MAX_REQUEST_BYTES = 256 * 1024

# code -> (name, HTTP status)
RESULTS = {
    0: ("OK", 200),
    100: ("MALFORMED_XML", 400),
    101: ("DTD_FORBIDDEN", 400),
    102: ("REQUEST_TOO_LARGE", 413),
    103: ("UNKNOWN_OPERATION", 400),
    104: ("MISSING_FIELD", 400),
    105: ("INVALID_VALUE", 400),
    106: ("UNSUPPORTED_VERSION", 400),
    200: ("AUTHENTICATION_FAILED", 401),
    300: ("SUBSCRIBER_NOT_FOUND", 404),
    301: ("SUBSCRIBER_EXISTS", 409),
    302: ("UNKNOWN_PACKAGE", 422),
    303: ("SUBSCRIBER_LOCKED", 423),
    900: ("INTERNAL_ERROR", 500),
    901: ("SERVICE_UNAVAILABLE", 503),
}
XML_ERROR_CODES = {"xml_dtd_forbidden": 101, "xml_too_large": 102}
READS = {"GetChannelPackageList", "GetServicePackageList", "GetSubscriber", "GetSubscriberList"}
WRITES = {"CreateSubscriber", "UpdateSubscriber", "UpdateSubscriberPackages",
          "EnableSubscriber", "DisableSubscriber", "DeleteSubscriber"}


class Fail(Exception):
    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class MinervaSimulator(Simulator):
    name = "minerva"
    label = "Minerva iTVManager BackOffice API (XML, modelled)"
    ppv_style = "xml"  # calls tripleplay's XML PPV API (POST /xml/v1/ppv)

    def fault_response(self) -> Response:
        return _answer("", "", 901, "back office busy, try again later (simulated)")

    def handle(self, request: Request) -> Response:
        if request.path.rstrip("/") != API_PATH:
            return _answer("", "", 103, f"no such endpoint: {request.path}", status=404)
        if request.method != "POST":
            return _answer("", "", 103, f"{request.method} not allowed; use POST", status=405)
        try:
            root = parse(request.body, max_bytes=MAX_REQUEST_BYTES)
        except XmlError as e:
            return _answer("", "", XML_ERROR_CODES.get(e.code, 100), e.message)
        txid = _text(root, "TransactionId")
        operation = ""
        try:
            if root.tag != "BackOfficeRequest":
                raise Fail(103, f"root element must be BackOfficeRequest, not {root.tag}")
            if root.get("version") != API_VERSION:
                raise Fail(106, f"unsupported API version {root.get('version')!r}; this server speaks {API_VERSION}")
            self._authenticate(root)
            ops = [el for el in root if el.tag not in ("Authentication", "TransactionId")]
            if len(ops) != 1:
                raise Fail(103, "exactly one operation element is required")
            op = ops[0]
            operation = op.tag
            if operation in READS:
                with self.state.lock:
                    payload = getattr(self, f"_op_{operation}")(op)
                return _answer(operation, txid, 0, "", payload)
            if operation not in WRITES:
                raise Fail(103, f"unknown operation {operation}")
            if not txid:
                raise Fail(104, "TransactionId is required for write operations")
        except Fail as f:
            return _answer(operation, txid, f.code, f.message)

        def apply() -> Response:
            try:
                payload = getattr(self, f"_op_{operation}")(op)
            except Fail as f:
                return _answer(operation, txid, f.code, f.message)
            return _answer(operation, txid, 0, "", payload)

        return self.dedupe(txid, apply)

    def _authenticate(self, root) -> None:
        auth = root.find("Authentication")
        if auth is None:
            raise Fail(200, "Authentication is required")
        user, password = _text(auth, "ApiUser"), _text(auth, "Password")
        ok_user = hmac.compare_digest(user.encode(), self.username.encode())
        ok_password = hmac.compare_digest(password.encode(), self.password.encode())
        if not (ok_user and ok_password):
            raise Fail(200, "invalid API user or password")

    # -- reads ---------------------------------------------------------------------------------------
    def _op_GetChannelPackageList(self, op):
        return self._package_list("ChannelPackages", "ChannelPackage", lambda kind: kind != "service")

    def _op_GetServicePackageList(self, op):
        return self._package_list("ServicePackages", "ServicePackage", lambda kind: kind == "service")

    def _package_list(self, container: str, tag: str, wanted):
        holder = etree.Element(container)
        for pid, pkg in sorted(self.state.packages.items()):
            kind = pkg.get("kind", "channel")
            if not wanted(kind):
                continue
            el = etree.SubElement(holder, tag, id=pid)
            _sub(el, "Name", pkg.get("name", pid))
            _sub(el, "Description", pkg.get("description", ""))
            channels = etree.SubElement(el, "Channels")
            for ch in pkg.get("channels", []):
                etree.SubElement(channels, "Channel", id=ch)
            if kind == "service":
                services = etree.SubElement(el, "Services")
                for svc in pkg.get("services") or ["VOD"]:
                    etree.SubElement(services, "Service", type=svc)
        return holder

    def _op_GetSubscriber(self, op):
        sid = _required(op, "SubscriberId")
        return self._subscriber_xml(sid, self._existing(sid))

    def _op_GetSubscriberList(self, op):
        offset = _int(op, "Offset", 0, 10**9, default=0)
        limit = _int(op, "Limit", 1, 1000, default=100)
        ids = sorted(self.state.subscribers)
        holder = etree.Element("Subscribers", total=str(len(ids)), offset=str(offset))
        for sid in ids[offset:offset + limit]:
            holder.append(self._subscriber_xml(sid, self.state.subscribers[sid]))
        return holder

    def _subscriber_xml(self, sid: str, sub: dict):
        el = etree.Element("Subscriber")
        _sub(el, "SubscriberId", sid)
        _sub(el, "Enabled", _bool(sub.get("enabled", True)))
        for tag, key in (("Login", "login"), ("FullName", "full_name"), ("AccountNumber", "account_number"),
                         ("Phone", "phone")):
            _sub(el, tag, sub.get(key, ""))
        devices = etree.SubElement(el, "Devices")
        for dev in sub.get("devices", []):
            etree.SubElement(devices, "Device", id=dev)
        _sub(el, "MaxDevices", str(sub.get("max_devices", 3)))
        _sub(el, "Region", sub.get("region", "DEFAULT"))
        _sub(el, "PinSet", _bool(bool(sub.get("pin"))))  # the PIN itself is write-only
        _sub(el, "PpvEnabled", _bool(sub.get("ppv_enabled", False)))
        _sub(el, "ImpulseCreditLimit", sub.get("impulse_credit_limit", "0.00"))
        packages = etree.SubElement(el, "Packages")
        for pid in sorted(sub.get("packages", [])):
            known = self.state.packages.get(pid)
            kind = "unknown" if known is None else "service" if known.get("kind") == "service" else "channel"
            etree.SubElement(packages, "Package", id=pid, type=kind)
        return el

    # -- writes (run inside dedupe, under the state lock) ----------------------------------------------
    def _op_CreateSubscriber(self, op):
        sid = _required(op, "SubscriberId")
        if sid in self.state.subscribers:
            raise Fail(301, f"subscriber {sid} already exists")
        record = {
            "enabled": _boolean(op, "Enabled"),
            "packages": self._packages(op),
            "login": _text(op, "Login"),
            "full_name": _text(op, "FullName"),
            "account_number": _text(op, "AccountNumber"),
            "phone": _text(op, "Phone"),
            "devices": [d.get("id", "") for d in op.iterfind("Devices/Device") if d.get("id")],
            "max_devices": _int(op, "MaxDevices", 1, 20),
            "region": _required(op, "Region"),
            "pin": _pin(op),
            "ppv_enabled": _boolean(op, "PpvEnabled"),
            "impulse_credit_limit": _money(op, "ImpulseCreditLimit"),
        }
        if len(record["devices"]) > record["max_devices"]:
            raise Fail(105, "more Devices than MaxDevices")
        self.state.subscribers[sid] = record
        return None

    def _op_UpdateSubscriber(self, op):
        """Replace the profile (Login, FullName, Phone) and the Devices list; other fields stay."""
        sid = _required(op, "SubscriberId")
        sub = self._existing(sid)
        devices = [d.get("id", "") for d in op.iterfind("Devices/Device") if d.get("id")]
        if op.find("Devices") is None:
            raise Fail(104, "UpdateSubscriber: Devices is required (it may be empty)")
        if len(devices) > sub.get("max_devices", 3):
            raise Fail(105, "more Devices than MaxDevices")
        sub.update(login=_text(op, "Login"), full_name=_text(op, "FullName"), phone=_text(op, "Phone"),
                   devices=devices)
        return None

    def _op_UpdateSubscriberPackages(self, op):
        sid = _required(op, "SubscriberId")
        sub = self._existing(sid)
        sub["packages"] = self._packages(op)
        return None

    def _op_EnableSubscriber(self, op):
        self._existing(_required(op, "SubscriberId"))["enabled"] = True
        return None

    def _op_DisableSubscriber(self, op):
        self._existing(_required(op, "SubscriberId"))["enabled"] = False
        return None

    def _op_DeleteSubscriber(self, op):
        sid = _required(op, "SubscriberId")
        self._existing(sid)
        del self.state.subscribers[sid]
        return None

    def _existing(self, sid: str) -> dict:
        sub = self.state.subscribers.get(sid)
        if sub is None:
            raise Fail(300, f"subscriber {sid} does not exist")
        return sub

    def _packages(self, op) -> list[str]:
        holder = op.find("Packages")
        if holder is None:
            raise Fail(104, f"{op.tag}: Packages is required (it may be empty)")
        ids = [p.get("id", "") for p in holder.iterfind("Package")]
        if any(not i for i in ids):
            raise Fail(104, "Package without id")
        unknown = self.unknown_packages(ids)
        if unknown:
            raise Fail(302, f"unknown package(s): {', '.join(unknown)}")
        return sorted(set(ids))


# -- XML helpers -----------------------------------------------------------------------------------------
def _answer(operation: str, txid: str, code: int, message: str, payload=None, *, status: int | None = None) -> Response:
    name, http_status = RESULTS[code]
    root = etree.Element("BackOfficeResponse", version=API_VERSION)
    if operation:
        root.set("operation", operation)
    if txid:
        _sub(root, "TransactionId", txid)
    result = etree.SubElement(root, "Result", code=str(code), name=name)
    result.text = message or name
    if payload is not None:
        root.append(payload)
    return Response(status or http_status, to_bytes(root), "application/xml; charset=utf-8")


def _sub(parent, tag: str, text: str):
    el = etree.SubElement(parent, tag)
    el.text = text
    return el


def _text(el, tag: str) -> str:
    found = el.find(tag)
    return (found.text or "").strip() if found is not None else ""


def _required(op, tag: str) -> str:
    value = _text(op, tag)
    if not value:
        raise Fail(104, f"{op.tag}: {tag} is required")
    return value


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _boolean(op, tag: str) -> bool:
    value = _required(op, tag)
    if value not in ("true", "false"):
        raise Fail(105, f"{tag} must be true or false")
    return value == "true"


def _int(op, tag: str, low: int, high: int, default: int | None = None) -> int:
    value = _text(op, tag)
    if not value and default is not None:
        return default
    if not value:
        raise Fail(104, f"{op.tag}: {tag} is required")
    if not (value.isascii() and value.isdigit()) or not low <= int(value) <= high:
        raise Fail(105, f"{tag} must be an integer {low}..{high}")
    return int(value)


def _pin(op) -> str:
    value = _required(op, "Pin")
    if not (len(value) == 4 and value.isascii() and value.isdigit()):
        raise Fail(105, "Pin must be 4 digits")
    return value


def _money(op, tag: str) -> str:
    value = _required(op, tag)
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise Fail(105, f"{tag} must be a decimal amount") from None
    if not amount.is_finite() or amount < 0 or amount.as_tuple().exponent < -2:
        raise Fail(105, f"{tag} must be a decimal amount >= 0 with at most 2 decimals")
    return str(amount.quantize(Decimal("0.01")))
