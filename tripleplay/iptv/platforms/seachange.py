"""SeaChange subscriber management: a MODELLED SOAP 1.1 API.

SeaChange's provisioning API is not public. This module (with tripleplay/simulators/seachange.py)
is a realistic model in SeaChange's enterprise style, isolated so that the real specification can
replace it: docs/platforms/seachange.md.

- One endpoint, ``POST {base_url}/seachange/SubscriberManagement``, SOAP 1.1 envelopes,
  ``Content-Type: text/xml; charset=utf-8`` and ``SOAPAction: "<namespace>#<Operation>"``.
- Authentication: WS-Security ``UsernameToken`` (PasswordText) in the SOAP header. The password
  travels in the body, so the body kept in ``Adapter.exchanges`` is a copy with it masked (``***``).
- Idempotency: the ``sm:TransactionId`` SOAP header on every write.
- Errors: SOAP faults (HTTP 500, as SOAP 1.1 requires) with ``detail/sm:ServiceFault/sm:ErrorCode``;
  ``Server`` faults are transient, every other faultcode (``Client``, ``wsse:FailedAuthentication``)
  is permanent.

``options``: ``path`` (default ``/seachange/SubscriberManagement``), ``page_size`` (default 500).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from datetime import datetime

import httpx
from lxml import etree

from tripleplay.core.xml import XmlError, parse, to_bytes
from tripleplay.iptv.platforms.base import (
    MAX_RECORDED_BODY,
    Adapter,
    AlreadyExists,
    PackageInfo,
    PermanentError,
    PlatformConfig,
    PlatformError,
    PpvEventInfo,
    SubscriberNotFound,
    SubscriberSpec,
    SubscriberState,
    TransientError,
)

SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
WSSE_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
PASSWORD_TEXT = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText"
SM_NS = "urn:seachange:SubscriberManagement:1"  # modelled
NSMAP = {"soap": SOAP_NS, "wsse": WSSE_NS, "sm": SM_NS}
ENDPOINT_PATH = "/seachange/SubscriberManagement"
CONTENT_TYPE = "text/xml; charset=utf-8"
MASK = "***"

OPERATIONS = ("GetPackageList", "GetPpvEventList", "CreateSubscriber", "UpdateSubscriberProfile",
              "UpdateSubscriberEntitlements", "SetSubscriberState", "DeleteSubscriber", "GetSubscriber",
              "ListSubscribers")
WRITE_OPERATIONS = frozenset({"CreateSubscriber", "UpdateSubscriberProfile", "UpdateSubscriberEntitlements",
                              "SetSubscriberState", "DeleteSubscriber"})
STATE_ACTIVE, STATE_SUSPENDED = "Active", "Suspended"
PACKAGE_TYPES = {"Channel": "channel", "Service": "service"}
MAX_PAGES = 10_000

# Subscriber detail elements, in schema order, and the SubscriberSpec field each carries.
SUBSCRIBER_DETAILS = (("Login", "login"), ("DeviceId", "device_id"), ("FullName", "full_name"),
                      ("AccountNumber", "account_number"), ("Phone", "phone"))


def sm(name: str) -> str:
    return f"{{{SM_NS}}}{name}"


def soap(name: str) -> str:
    return f"{{{SOAP_NS}}}{name}"


def wsse(name: str) -> str:
    return f"{{{WSSE_NS}}}{name}"


def soap_action(operation: str) -> str:
    return f'"{SM_NS}#{operation}"'


def sub(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
    el = etree.SubElement(parent, tag)
    if text is not None:
        el.text = text
    return el


# -- envelopes (shared with the simulator: one place for the wire format) ------------------------------------


def envelope(body_child: etree._Element | None = None, *, username: str | None = None, password: str | None = None,
             transaction_id: str | None = None) -> tuple[etree._Element, etree._Element]:
    """A SOAP envelope; returns (envelope, body). ``username`` adds a WS-Security UsernameToken."""
    env = etree.Element(soap("Envelope"), nsmap=NSMAP)
    if username is not None or transaction_id:
        header = sub(env, soap("Header"))
        if username is not None:
            security = sub(header, wsse("Security"))
            security.set(soap("mustUnderstand"), "1")
            token = sub(security, wsse("UsernameToken"))
            sub(token, wsse("Username"), username)
            sub(token, wsse("Password"), password or "").set("Type", PASSWORD_TEXT)
        if transaction_id:
            sub(header, sm("TransactionId"), transaction_id)
    body = sub(env, soap("Body"))
    if body_child is not None:
        body.append(body_child)
    return env, body


def fault_document(faultcode: str, faultstring: str, error_code: str) -> bytes:
    """``faultcode`` as a QName with the envelope's prefixes: "soap:Client", "soap:Server",
    "wsse:FailedAuthentication"."""
    _, body = envelope()
    fault = sub(body, soap("Fault"))
    sub(fault, "faultcode", faultcode)
    sub(fault, "faultstring", faultstring)
    detail = sub(sub(fault, "detail"), sm("ServiceFault"))
    sub(detail, sm("ErrorCode"), error_code)
    sub(detail, sm("Message"), faultstring)
    return to_bytes(body.getroottree().getroot())


def subscriber_element(spec: SubscriberSpec) -> etree._Element:
    el = etree.Element(sm("Subscriber"), nsmap={"sm": SM_NS})
    sub(el, sm("SubscriberId"), spec.subscriber_id)
    sub(el, sm("Status"), STATE_ACTIVE if spec.enabled else STATE_SUSPENDED)
    for element, attr in SUBSCRIBER_DETAILS:
        if getattr(spec, attr):
            sub(el, sm(element), getattr(spec, attr))
    entitlements_element(el, spec.packages)
    return el


def entitlements_element(parent: etree._Element, packages: Iterable[str]) -> etree._Element:
    ent = sub(parent, sm("Entitlements"))
    for package_id in sorted(packages):
        sub(ent, sm("PackageId"), package_id)
    return ent


def text_of(el: etree._Element, name: str, *, required: bool = True) -> str:
    """The text of child ``sm:<name>``; raises ValueError when required and missing or empty."""
    child = el.find(sm(name))
    value = (child.text or "").strip() if child is not None else ""
    if required and not value:
        raise ValueError(f"{etree.QName(el).localname}/{name} is missing")
    return value


def read_entitlements(el: etree._Element) -> frozenset[str]:
    ent = el.find(sm("Entitlements"))
    if ent is None:
        raise ValueError(f"{etree.QName(el).localname}/Entitlements is missing")
    ids = [(p.text or "").strip() for p in ent.iterfind(sm("PackageId"))]
    if not all(ids):
        raise ValueError("an empty Entitlements/PackageId")
    return frozenset(ids)


def read_state(value: str) -> bool:
    if value not in (STATE_ACTIVE, STATE_SUSPENDED):
        raise ValueError(f"Status/State must be {STATE_ACTIVE} or {STATE_SUSPENDED}, not {value!r}")
    return value == STATE_ACTIVE


def read_subscriber(el: etree._Element) -> SubscriberSpec:
    """sm:Subscriber -> SubscriberSpec; raises ValueError on a missing or bad field."""
    return SubscriberSpec(subscriber_id=text_of(el, "SubscriberId"), enabled=read_state(text_of(el, "Status")),
                          packages=read_entitlements(el),
                          **{attr: text_of(el, element, required=False) for element, attr in SUBSCRIBER_DETAILS})


def body_child(root: etree._Element) -> etree._Element:
    """The single element in soap:Body; raises ValueError when the envelope is not SOAP 1.1."""
    if root.tag != soap("Envelope"):
        raise ValueError(f"not a SOAP 1.1 envelope (root {root.tag})")
    body = root.find(soap("Body"))
    if body is None:
        raise ValueError("soap:Body is missing")
    children = [c for c in body if isinstance(c.tag, str)]
    if len(children) != 1:
        raise ValueError(f"soap:Body must hold exactly one element, not {len(children)}")
    return children[0]


# -- the adapter -------------------------------------------------------------------------------------------


class SeaChangeAdapter(Adapter):
    kind = "seachange"
    label = "SeaChange subscriber management (SOAP 1.1; modelled)"
    modelled = True

    def __init__(self, config: PlatformConfig, *, client: httpx.Client | None = None):
        super().__init__(config, client=client)
        # SOAP 1.1 sends every fault with HTTP 500, which Adapter.request turns into a TransientError
        # before we see the body: keep the last response to read the fault (Client faults are permanent).
        self._last_response: httpx.Response | None = None
        hooks = self._client.event_hooks
        self._client.event_hooks = {**hooks, "response": [*hooks.get("response", []), self._keep_response]}

    def _keep_response(self, response: httpx.Response) -> None:
        response.read()
        self._last_response = response

    @property
    def path(self) -> str:
        return self.config.options.get("path") or ENDPOINT_PATH

    def _call(self, operation: str, payload: etree._Element, *, transaction_id: str | None = None) -> etree._Element:
        """Send one operation; returns the ``sm:<Operation>Response`` element or raises PlatformError."""
        def document(password: str) -> bytes:
            env, _ = envelope(copy.deepcopy(payload), username=self.config.username,
                              password=password, transaction_id=transaction_id)
            return to_bytes(env)

        first = len(self.exchanges)
        self._last_response = None
        try:
            response = self.request("POST", self.path, content=document(self.config.secret),
                                    headers={"Content-Type": CONTENT_TYPE, "SOAPAction": soap_action(operation)})
        except TransientError as e:
            fault = self._fault(operation, self._last_response) if e.status == 500 else None
            if fault is not None:
                raise fault from e
            raise
        finally:
            masked = document(MASK).decode("utf-8")
            for record in self.exchanges[first:]:
                record["request"] = masked if len(masked) <= MAX_RECORDED_BODY else masked[:MAX_RECORDED_BODY] + "..."
        fault = self._fault(operation, response)
        if fault is not None:
            raise fault
        if response.status_code != 200:
            raise PermanentError(f"{operation}: HTTP {response.status_code}", status=response.status_code,
                                 code=f"http_{response.status_code}")
        try:
            child = body_child(parse(response.content))
        except (XmlError, ValueError) as e:
            raise PermanentError(f"{operation}: not a SOAP answer: {e}", status=200, code="invalid_response") from e
        if child.tag != sm(f"{operation}Response"):
            raise PermanentError(f"{operation}: unexpected answer {child.tag}", status=200, code="invalid_response")
        return child

    @staticmethod
    def _fault(operation: str, response: httpx.Response | None) -> PlatformError | None:
        """The classified error for a SOAP fault response, or None when it is not one."""
        if response is None:
            return None
        try:
            child = body_child(parse(response.content))
        except (XmlError, ValueError):
            return None
        if child.tag != soap("Fault"):
            return None
        code_el = child.find("faultcode")
        faultcode = (code_el.text or "").strip() if code_el is not None else ""
        prefix, _, local = faultcode.rpartition(":")
        namespace = code_el.nsmap.get(prefix or None) if code_el is not None else None
        faultstring = (child.findtext("faultstring") or "").strip()
        error_code = (child.findtext(f"detail/{sm('ServiceFault')}/{sm('ErrorCode')}") or "").strip()
        message = f"{operation}: SOAP fault {faultcode} {error_code}: {faultstring}".replace("  ", " ")
        status = response.status_code
        if namespace == SOAP_NS and local.split(".")[0] == "Server":
            return TransientError(message, status=status, code=error_code or "Server")
        if error_code == "SUBSCRIBER_EXISTS":
            return AlreadyExists(message, status=status, code=error_code)
        if error_code == "SUBSCRIBER_NOT_FOUND":
            return SubscriberNotFound(message, status=status, code=error_code)
        return PermanentError(message, status=status, code=error_code or local or "fault")

    @staticmethod
    def _read(operation: str, read, *args):
        try:
            return read(*args)
        except (ValueError, TypeError, AttributeError) as e:
            raise PermanentError(f"{operation}: malformed answer: {e}", code="invalid_response") from e

    # -- catalog --------------------------------------------------------------------------------------------
    def list_packages(self) -> list[PackageInfo]:
        answer = self._call("GetPackageList", etree.Element(sm("GetPackageList"), nsmap={"sm": SM_NS}))
        return self._read("GetPackageList", _read_packages, answer)

    def list_ppv_events(self) -> list[PpvEventInfo]:
        answer = self._call("GetPpvEventList", etree.Element(sm("GetPpvEventList"), nsmap={"sm": SM_NS}))
        return self._read("GetPpvEventList", _read_events, answer)

    # -- subscribers ----------------------------------------------------------------------------------------
    def create_subscriber(self, spec: SubscriberSpec, *, idempotency_key: str) -> None:
        op = etree.Element(sm("CreateSubscriber"), nsmap={"sm": SM_NS})
        op.append(subscriber_element(spec))
        self._call("CreateSubscriber", op, transaction_id=idempotency_key)

    def update_details(self, spec: SubscriberSpec, *, idempotency_key: str) -> None:
        """UpdateSubscriberProfile: the detail elements given replace the profile; one left out is cleared
        (AccountNumber, tripleplay's key, is always sent)."""
        op = _operation("UpdateSubscriberProfile", spec.subscriber_id)
        for element, attr in SUBSCRIBER_DETAILS:
            value = getattr(spec, attr) if attr != "account_number" else (spec.account_number or spec.subscriber_id)
            if value:
                sub(op, sm(element), value)
        self._call("UpdateSubscriberProfile", op, transaction_id=idempotency_key)

    def set_packages(self, subscriber_id: str, packages: frozenset[str], *, idempotency_key: str) -> None:
        op = _operation("UpdateSubscriberEntitlements", subscriber_id)
        entitlements_element(op, packages)
        self._call("UpdateSubscriberEntitlements", op, transaction_id=idempotency_key)

    def set_enabled(self, subscriber_id: str, enabled: bool, *, idempotency_key: str) -> None:
        op = _operation("SetSubscriberState", subscriber_id)
        sub(op, sm("State"), STATE_ACTIVE if enabled else STATE_SUSPENDED)
        self._call("SetSubscriberState", op, transaction_id=idempotency_key)

    def delete_subscriber(self, subscriber_id: str, *, idempotency_key: str) -> None:
        self._call("DeleteSubscriber", _operation("DeleteSubscriber", subscriber_id), transaction_id=idempotency_key)

    def get_subscriber(self, subscriber_id: str) -> SubscriberState | None:
        try:
            answer = self._call("GetSubscriber", _operation("GetSubscriber", subscriber_id))
        except SubscriberNotFound:
            return None
        return self._read("GetSubscriber", _state, answer.find(sm("Subscriber")))

    def list_subscribers(self) -> Iterable[SubscriberState]:
        page_size = int(self.config.options.get("page_size") or 500)
        seen: set[str] = set()
        for index in range(MAX_PAGES):
            op = etree.Element(sm("ListSubscribers"), nsmap={"sm": SM_NS})
            sub(op, sm("PageIndex"), str(index))
            sub(op, sm("PageSize"), str(page_size))
            answer = self._call("ListSubscribers", op)
            total, states = self._read("ListSubscribers", _read_page, answer)
            for state in states:
                if state.subscriber_id not in seen:  # index paging may repeat one when the list shifts
                    seen.add(state.subscriber_id)
                    yield state
            if not states or (index + 1) * page_size >= total:
                return
        raise PermanentError(f"ListSubscribers: more than {MAX_PAGES} pages", code="invalid_response")


def _operation(name: str, subscriber_id: str) -> etree._Element:
    op = etree.Element(sm(name), nsmap={"sm": SM_NS})
    sub(op, sm("SubscriberId"), subscriber_id)
    return op


def _state(el: etree._Element | None) -> SubscriberState:
    if el is None:
        raise ValueError("Subscriber is missing")
    spec = read_subscriber(el)
    raw = {attr: getattr(spec, attr) for _, attr in SUBSCRIBER_DETAILS if getattr(spec, attr)}
    return SubscriberState(subscriber_id=spec.subscriber_id, enabled=spec.enabled, packages=spec.packages, raw=raw)


def _read_page(answer: etree._Element) -> tuple[int, list[SubscriberState]]:
    total = int(text_of(answer, "TotalCount"))
    subscribers = answer.find(sm("Subscribers"))
    if subscribers is None:
        raise ValueError("ListSubscribersResponse/Subscribers is missing")
    return total, [_state(el) for el in subscribers.iterfind(sm("Subscriber"))]


def _read_packages(answer: etree._Element) -> list[PackageInfo]:
    packages = answer.find(sm("Packages"))
    if packages is None:
        raise ValueError("GetPackageListResponse/Packages is missing")
    out = []
    for el in packages.iterfind(sm("Package")):
        package_type = text_of(el, "PackageType")
        if package_type not in PACKAGE_TYPES:
            raise ValueError(f"PackageType {package_type!r}")
        channels = el.find(sm("Channels"))
        out.append(PackageInfo(
            external_id=text_of(el, "PackageId"), name=text_of(el, "Name"), kind=PACKAGE_TYPES[package_type],
            description=text_of(el, "Description", required=False),
            channels=tuple((c.text or "").strip() for c in channels.iterfind(sm("ChannelId"))) if channels is not None
            else ()))
    return out


def _read_events(answer: etree._Element) -> list[PpvEventInfo]:
    events = answer.find(sm("Events"))
    if events is None:
        raise ValueError("GetPpvEventListResponse/Events is missing")
    out = []
    for el in events.iterfind(sm("Event")):
        price = el.find(sm("Price"))
        if price is None:
            raise ValueError("Event/Price is missing")
        amount = text_of(price, "AmountMinor")
        if not amount.isdigit():
            raise ValueError(f"Price/AmountMinor {amount!r} is not a whole number of minor units")
        starts, ends = text_of(el, "StartTime", required=False), text_of(el, "EndTime", required=False)
        out.append(PpvEventInfo(
            external_id=text_of(el, "EventId"), title=text_of(el, "Title"), price_minor=int(amount),
            currency=text_of(price, "Currency"), starts_at=datetime.fromisoformat(starts) if starts else None,
            ends_at=datetime.fromisoformat(ends) if ends else None,
            content_owner=text_of(el, "ContentProvider", required=False)))
    return out
