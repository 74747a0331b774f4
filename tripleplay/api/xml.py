"""XML endpoints under /xml/ for platforms (the generic XML protocol, docs/platforms/generic_xml.md).

POST /xml/v1/catalog: a platform pushes its whole catalog (packages and PPV events); tripleplay
imports it with the same rules as a pull and answers an ``importReport`` (a catalog of revision 1.0
gets ``<ok/>``, the answer its revision knows). ``?dry_run=1`` answers the same report and changes nothing.

Authentication: the platform's inbound token (``tripleplay add-platform`` or
POST /api/v1/iptv/platforms/{id}/inbound-token), as ``Authorization: Bearer tpp_...`` or HTTP
Basic with the platform's code as user name and the token as password. Each platform can only
push its own catalog. Every failure is an XML error document with a code; nothing changes.

POST /xml/v1/ppv: real-time pay-per-view (authorize, confirm, cancel, purchase), the XML twin of
POST /api/v1/ppv/* (protocol urn:tripleplay:ppv:1, tripleplay/ppv/xmlproto.py, docs/ppv.md). Same
authentication. A processed call answers a ``ppvResponse/result`` with the services' HTTP status; a
request that is not processed answers a ``ppvResponse/error`` and changes nothing.

POST /xml/v1/orders: orders from the TV screen and the balance call, the XML twin of POST
/api/v1/orders and GET /api/v1/orders/balance (the generic XML protocol's revision 1.3,
tripleplay/orders/xmlproto.py, docs/orders.md). Same authentication and the same answer rules as PPV's.
"""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from tripleplay.api.auth import platform_credentials, platform_for
from tripleplay.core.actors import Actor
from tripleplay.core.errors import DomainError
from tripleplay.core.xml import DEFAULT_MAX_BYTES, XmlError
from tripleplay.iptv import xmlproto
from tripleplay.iptv.catalog_import import import_catalog
from tripleplay.orders import services as order_services
from tripleplay.orders import xmlproto as order_xml
from tripleplay.ppv import services as ppv_services
from tripleplay.ppv import xmlproto as ppv_xml

log = logging.getLogger("tripleplay.xml")


def _xml(body: bytes, status: int) -> HttpResponse:
    return HttpResponse(body, status=status, content_type=xmlproto.CONTENT_TYPE)


def _error(code: str, message: str, status: int | None = None) -> HttpResponse:
    return _xml(xmlproto.build_error(code, message), status or xmlproto.http_status(code))


def _platform(request: HttpRequest):
    return platform_for(platform_credentials(request.headers.get("Authorization")))


def _preflight(request: HttpRequest, error, *, max_bytes: int, too_large: tuple[str, int]):
    """The checks every platform XML endpoint makes before parsing, in this order: POST, the
    platform's credentials, the body's size, the media type. Returns (platform, None) or
    (None, the XML error response)."""
    if request.method != "POST":
        response = error("INVALID_REQUEST", "use POST", 405)
        response["Allow"] = "POST"
        return None, response
    platform = _platform(request)
    if platform is None:
        response = error("AUTHENTICATION_FAILED", "a platform's inbound token is required")
        response["WWW-Authenticate"] = 'Bearer realm="tripleplay", Basic realm="tripleplay"'
        return None, response
    try:
        length = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        length = 0
    if length > max_bytes:
        code, status = too_large
        return None, error(code, f"xml_too_large: document larger than {max_bytes} bytes", status)
    if length <= 0:
        return None, error("INVALID_REQUEST", "invalid_xml: empty document")
    content_type = request.content_type or ""
    if content_type not in ("application/xml", "text/xml"):
        return None, error("UNSUPPORTED_MEDIA_TYPE", f"send application/xml, not {content_type or 'nothing'}")
    return platform, None


@csrf_exempt
def catalog_push(request: HttpRequest) -> HttpResponse:
    platform, refusal = _preflight(request, _error, max_bytes=DEFAULT_MAX_BYTES, too_large=("INVALID_REQUEST", 413))
    if refusal is not None:
        return refusal
    try:
        document = xmlproto.read_catalog(request.read(DEFAULT_MAX_BYTES + 1))
    except XmlError as e:
        return _error("INVALID_REQUEST", f"{e.code}: {e.message}", 413 if e.code == "xml_too_large" else 400)
    actor = Actor.platform(platform)
    try:
        report = import_catalog(actor, platform, document.packages, document.ppv_events,
                                apply=request.GET.get("dry_run") not in ("1", "true"), source="push")
    except DomainError as e:
        return _error("INVALID_REQUEST", f"{e.code}: {e.message}", 422)
    if not document.wants_import_report:  # a 1.0 platform: the answer its revision knows (D174)
        return _xml(xmlproto.build_ok(), 200)
    return _xml(xmlproto.build_ok(import_report=report.as_dict()), 200)


# -- pay-per-view -------------------------------------------------------------------------------------


def _ppv_error_body(code: str, message: str, status: int | None = None) -> tuple[bytes, int]:
    return ppv_xml.build_error(code, message), status or ppv_xml.http_status(code)


def _ppv_error(code: str, message: str, status: int | None = None) -> HttpResponse:
    body, status = _ppv_error_body(code, message, status)
    return HttpResponse(body, status=status, content_type=ppv_xml.CONTENT_TYPE)


PPV_CALLS = {"authorize": ppv_services.authorize, "confirm": ppv_services.confirm, "cancel": ppv_services.cancel,
             "purchase": ppv_services.purchase}


@csrf_exempt
def ppv(request: HttpRequest) -> HttpResponse:
    """One PPV call per document: parse, call tripleplay.ppv.services, render its Answer."""
    platform, refusal = _preflight(request, _ppv_error, max_bytes=ppv_xml.MAX_BYTES, too_large=("TOO_LARGE", None))
    if refusal is not None:
        return refusal
    body, status = ppv_document(platform, request.read(ppv_xml.MAX_BYTES + 1))
    return HttpResponse(body, status=status, content_type=ppv_xml.CONTENT_TYPE)


def ppv_document(platform, document: bytes) -> tuple[bytes, int]:
    """The answer (XML, HTTP status) to one ppvRequest of an authenticated platform, after the
    preflight checks. Shared with the lean WSGI path (tripleplay/api/ppv_wsgi.py)."""
    try:
        call, fields = ppv_xml.parse_request(document)
    except XmlError as e:
        if e.code == "xml_too_large":
            return _ppv_error_body("TOO_LARGE", f"{e.code}: {e.message}")
        return _ppv_error_body("UNSUPPORTED_VERSION" if e.code == "unsupported_version" else "INVALID_REQUEST",
                               f"{e.code}: {e.message}")
    try:
        answer = PPV_CALLS[call](platform, **fields)
    except DomainError as e:
        return _ppv_error_body("INVALID_REQUEST", f"{e.code}: {e.message}", e.http_status)
    except Exception:  # noqa: BLE001 - the platform gets an XML answer it can retry on, we get the trace
        log.exception("PPV %s from platform %s failed", call, platform.code)
        return _ppv_error_body("INTERNAL_ERROR", "internal error; retry with the same transactionId")
    return ppv_xml.build_answer(answer), answer.http_status


# -- orders from the TV screen (generic XML protocol 1.3, D183) -----------------------------------------


def _order_error_body(code: str, message: str, status: int | None = None) -> tuple[bytes, int]:
    return order_xml.build_error(code, message), status or order_xml.http_status(code)


def _order_error(code: str, message: str, status: int | None = None) -> HttpResponse:
    body, status = _order_error_body(code, message, status)
    return HttpResponse(body, status=status, content_type=order_xml.CONTENT_TYPE)


ORDER_CALLS = {"order": order_services.place_order, "balance": order_services.balance}


@csrf_exempt
def orders(request: HttpRequest) -> HttpResponse:
    """One order or balance call per document: parse, call tripleplay.orders.services, render its Answer."""
    platform, refusal = _preflight(request, _order_error, max_bytes=order_xml.MAX_BYTES,
                                   too_large=("INVALID_REQUEST", 413))
    if refusal is not None:
        return refusal
    document = request.read(order_xml.MAX_BYTES + 1)
    try:
        call, fields = order_xml.parse_request(document)
    except XmlError as e:
        code = "UNSUPPORTED_VERSION" if e.code == "unsupported_version" else "INVALID_REQUEST"
        return _order_error(code, f"{e.code}: {e.message}", 413 if e.code == "xml_too_large" else None)
    try:
        answer = ORDER_CALLS[call](platform, **fields)
    except DomainError as e:
        return _order_error("INVALID_REQUEST", f"{e.code}: {e.message}", e.http_status)
    except Exception:  # noqa: BLE001 - the platform gets an XML answer it can retry on, we get the trace
        log.exception("order %s from platform %s failed", call, platform.code)
        return _order_error("INTERNAL_ERROR", "internal error; retry with the same transactionId")
    return HttpResponse(order_xml.build_answer(answer), status=answer.http_status, content_type=order_xml.CONTENT_TYPE)
