"""XML endpoints under /xml/ for platforms (the generic XML protocol, docs/platforms/generic_xml.md).

POST /xml/v1/catalog: a platform pushes its whole catalog (packages and PPV events); tripleplay
imports it with the same rules as a pull and answers an ``importReport``. ``?dry_run=1`` answers
the same report and changes nothing.

Authentication: the platform's inbound token (``tripleplay add-platform`` or
POST /api/v1/iptv/platforms/{id}/inbound-token), as ``Authorization: Bearer tpp_...`` or HTTP
Basic with the platform's code as user name and the token as password. Each platform can only
push its own catalog. Every failure is an XML error document with a code; nothing changes.
"""

from __future__ import annotations

import base64
import binascii
import logging

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from tripleplay.core.actors import Actor, ActorKind
from tripleplay.core.errors import DomainError
from tripleplay.core.xml import DEFAULT_MAX_BYTES, XmlError
from tripleplay.iptv import xmlproto
from tripleplay.iptv.catalog_import import import_catalog
from tripleplay.iptv.configuration import platform_for_inbound_token

log = logging.getLogger("tripleplay.xml")


def _xml(body: bytes, status: int) -> HttpResponse:
    return HttpResponse(body, status=status, content_type=xmlproto.CONTENT_TYPE)


def _error(code: str, message: str, status: int | None = None) -> HttpResponse:
    return _xml(xmlproto.build_error(code, message), status or xmlproto.http_status(code))


def _platform(request: HttpRequest):
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer":
        return platform_for_inbound_token(value.strip())
    if scheme.lower() == "basic":
        try:
            user, _, token = base64.b64decode(value.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        platform = platform_for_inbound_token(token)
        return platform if platform is not None and platform.code == user else None
    return None


@csrf_exempt
def catalog_push(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        response = _error("INVALID_REQUEST", "use POST", 405)
        response["Allow"] = "POST"
        return response
    platform = _platform(request)
    if platform is None:
        response = _error("AUTHENTICATION_FAILED", "a platform's inbound token is required")
        response["WWW-Authenticate"] = 'Bearer realm="tripleplay", Basic realm="tripleplay"'
        return response
    try:
        length = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        length = 0
    if length <= 0:
        return _error("INVALID_REQUEST", "invalid_xml: empty document")
    if length > DEFAULT_MAX_BYTES:
        return _error("INVALID_REQUEST", f"xml_too_large: document larger than {DEFAULT_MAX_BYTES} bytes", 413)
    content_type = request.content_type or ""
    if content_type not in ("application/xml", "text/xml"):
        return _error("UNSUPPORTED_MEDIA_TYPE", f"send application/xml, not {content_type or 'nothing'}")
    try:
        packages, events = xmlproto.parse_catalog(request.read(DEFAULT_MAX_BYTES + 1))
    except XmlError as e:
        return _error("INVALID_REQUEST", f"{e.code}: {e.message}", 413 if e.code == "xml_too_large" else 400)
    actor = Actor(ActorKind.API_CLIENT, f"platform:{platform.pk}", f"platform {platform.code}")
    try:
        report = import_catalog(actor, platform, packages, events, apply=request.GET.get("dry_run") not in ("1", "true"),
                                source="push")
    except DomainError as e:
        return _error("INVALID_REQUEST", f"{e.code}: {e.message}", 422)
    return _xml(xmlproto.build_ok(import_report=report.as_dict()), 200)
