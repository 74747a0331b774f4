"""The lean request path of the platform-facing PPV endpoints (POST /api/v1/ppv/{authorize, confirm,
cancel, purchase} and POST /xml/v1/ppv), in front of Django's full handler.

Platforms call these thousands of times a second, each call authenticated by the platform's
inbound token. Django's middleware (sessions, CSRF, auth, messages) and ninja's per-request
machinery do nothing for such a call but cost most of its CPU (docs/ppv.md, Performance). This
WSGI wrapper answers a request itself only when it is a well-formed call it fully understands: an
allowed Host, a valid platform token, a body within the size limit that parses and validates
(the same pydantic schemas as the ninja handlers, the same XML parser, XSD and limits). Every other
request, including every malformed, unauthenticated or oversized one, falls through untouched to
Django, which answers it exactly as before: the error shapes exist in one place only.

The services are the same (tripleplay.ppv.services); so are the answers, the JSON rendering of
AnswerOut, the domain-error shape and the security headers of the middleware
(tests: tripleplay/api/tests/test_ppv_fast_path.py, and the whole PPV API suites run through both
paths). ``TRIPLEPLAY_PPV_FAST_PATH=0`` (settings.TRIPLEPLAY_PPV_FAST_PATH, read by tripleplay/wsgi.py)
turns it off: everything goes through Django.

What this path mirrors of the middleware it skips is held by a system check (tripleplay/api/checks.py):
a change to settings.MIDDLEWARE, or to a security setting this path does not reimplement, fails
``manage.py check`` and ``tripleplay serve`` (which runs the checks) until this file follows it.
"""

from __future__ import annotations

import io
import json
import logging

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.http.request import split_domain_port, validate_host
from pydantic import ValidationError

from tripleplay.api import ppv as ppv_api
from tripleplay.api import xml as xml_endpoints
from tripleplay.api.auth import platform_credentials, platform_for
from tripleplay.api.errors import error_body
from tripleplay.core.errors import DomainError
from tripleplay.ppv import services
from tripleplay.ppv import xmlproto as ppv_xml

log = logging.getLogger("tripleplay.api")

JSON_CALLS = {
    "/api/v1/ppv/authorize": (services.authorize, ppv_api.AuthorizeIn),
    "/api/v1/ppv/confirm": (services.confirm, ppv_api.ConfirmIn),
    "/api/v1/ppv/cancel": (services.cancel, ppv_api.SettleIn),
    "/api/v1/ppv/purchase": (services.purchase, ppv_api.AuthorizeIn),
}
ANSWER_FIELDS = tuple(ppv_api.AnswerOut.model_fields)
JSON_TYPE = "application/json; charset=utf-8"
REASONS = {200: "OK", 401: "Unauthorized", 404: "Not Found", 409: "Conflict", 413: "Request Entity Too Large",
           415: "Unsupported Media Type", 422: "Unprocessable Entity", 500: "Internal Server Error"}


def _security_headers() -> list[tuple[str, str]]:
    """What SecurityMiddleware and XFrameOptionsMiddleware add to such a response, with our settings."""
    headers = []
    if getattr(settings, "SECURE_CONTENT_TYPE_NOSNIFF", True):
        headers.append(("X-Content-Type-Options", "nosniff"))
    if getattr(settings, "SECURE_REFERRER_POLICY", None):
        policy = settings.SECURE_REFERRER_POLICY
        headers.append(("Referrer-Policy", policy if isinstance(policy, str) else ",".join(policy)))
    if getattr(settings, "SECURE_CROSS_ORIGIN_OPENER_POLICY", None):
        headers.append(("Cross-Origin-Opener-Policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY))
    headers.append(("X-Frame-Options", getattr(settings, "X_FRAME_OPTIONS", "DENY").upper()))
    return headers


def _is_secure(environ) -> bool:
    """Django's HttpRequest.is_secure(): the proxy's header when SECURE_PROXY_SSL_HEADER names one and
    the request carries it, else the WSGI scheme."""
    if settings.SECURE_PROXY_SSL_HEADER:
        header, secure_value = settings.SECURE_PROXY_SSL_HEADER
        value = environ.get(header)
        if value is not None:
            return value.split(",", 1)[0].strip() == secure_value
    return environ.get("wsgi.url_scheme") == "https"


def _hsts_header() -> tuple[str, str] | None:
    """SecurityMiddleware's Strict-Transport-Security header for a secure request, or None."""
    if not settings.SECURE_HSTS_SECONDS:
        return None
    value = f"max-age={settings.SECURE_HSTS_SECONDS}"
    if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
        value += "; includeSubDomains"
    if settings.SECURE_HSTS_PRELOAD:
        value += "; preload"
    return ("Strict-Transport-Security", value)


def _host_allowed(environ) -> bool:
    """Django's get_host() check (CommonMiddleware answers 400 otherwise): let Django do anything unusual."""
    if settings.USE_X_FORWARDED_HOST and "HTTP_X_FORWARDED_HOST" in environ:
        return False
    host = environ.get("HTTP_HOST")
    if not host:  # as Django's HttpRequest._get_raw_host
        host = environ.get("SERVER_NAME", "")
        port = str(environ.get("SERVER_PORT", ""))
        if port != ("443" if environ.get("wsgi.url_scheme") == "https" else "80"):
            host = f"{host}:{port}"
    domain, _port = split_domain_port(host)
    allowed = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]
    return bool(domain) and validate_host(domain, allowed)


def _platform(environ):
    """The platform of a bearer token (Basic, the XML endpoint's other scheme, goes through Django)."""
    return platform_for(platform_credentials(environ.get("HTTP_AUTHORIZATION"), basic=False))


def _body(environ, limit: int) -> bytes | None:
    """The request body if its Content-Length is within ``limit`` (else None: Django answers)."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    if not 0 < length <= limit:
        return None
    body = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(body)  # Django can read it again if we hand the request over
    return body


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def _json_call(environ, path: str) -> tuple[int, str, bytes] | None:
    call, schema = JSON_CALLS[path]
    if not environ.get("CONTENT_TYPE", "").startswith("application/json"):
        return None
    platform = _platform(environ)
    if platform is None:
        return None
    body = _body(environ, settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    if body is None:
        return None
    try:
        fields = schema.model_validate(json.loads(body, parse_constant=_reject_constant)).model_dump()
    except (ValueError, UnicodeDecodeError, ValidationError, TypeError):  # ValidationError is a ValueError
        return None
    try:
        answer = call(platform, **fields)
    except DomainError as e:
        return e.http_status, JSON_TYPE, json.dumps(error_body(e.code, e.message, e.details)).encode()
    except Exception:  # noqa: BLE001 - as the API's own handler: logged, answered without details
        log.exception("unhandled error in POST %s", path)
        return 500, JSON_TYPE, json.dumps(error_body("internal_error", "internal error")).encode()
    return answer.http_status, JSON_TYPE, json.dumps({k: answer.get(k) for k in ANSWER_FIELDS}).encode()


def _xml_call(environ) -> tuple[int, str, bytes] | None:
    # The XML preflight's checks (tripleplay/api/xml.py): anything it would refuse, Django refuses.
    if environ.get("CONTENT_TYPE", "").split(";")[0].strip().lower() not in ("application/xml", "text/xml"):
        return None
    platform = _platform(environ)
    if platform is None:
        return None
    body = _body(environ, ppv_xml.MAX_BYTES)
    if body is None:
        return None
    document, status = xml_endpoints.ppv_document(platform, body)
    return status, ppv_xml.CONTENT_TYPE, document


def _connection_upkeep() -> None:
    """What Django's request_started / request_finished receivers do for the database the PPV
    services use (close it if broken or past CONN_MAX_AGE), without dispatching the signals: no other
    receiver concerns these calls, and the dispatch cost a tenth of the request's Python time."""
    connections[DEFAULT_DB_ALIAS].close_if_unusable_or_obsolete()


connection_upkeep = _connection_upkeep  # tests replace it: their transaction is not a stale connection


def handle(environ) -> tuple[int, list[tuple[str, str]], bytes] | None:
    """(status, headers, body) for a PPV call this path serves, or None: Django's to answer."""
    if environ.get("REQUEST_METHOD") != "POST" or environ.get("SCRIPT_NAME"):
        return None
    path = environ.get("PATH_INFO", "")
    if path not in JSON_CALLS and path != ppv_xml.ENDPOINT_PATH:
        return None
    if not _host_allowed(environ):
        return None
    secure = _is_secure(environ)
    if settings.SECURE_SSL_REDIRECT and not secure:
        return None  # Django's SecurityMiddleware redirects it to HTTPS (the PPV paths are not exempt)
    connection_upkeep()
    try:
        out = _json_call(environ, path) if path in JSON_CALLS else _xml_call(environ)
    finally:
        connection_upkeep()
    if out is None:
        return None
    status, content_type, body = out
    global _SECURITY_HEADERS
    if _SECURITY_HEADERS is None:
        _SECURITY_HEADERS = _security_headers()
    headers = [("Content-Type", content_type), ("Content-Length", str(len(body))), *_SECURITY_HEADERS]
    if secure and (hsts := _hsts_header()):
        headers.append(hsts)
    return status, headers, body


_SECURITY_HEADERS: list[tuple[str, str]] | None = None


class PpvFastPath:
    """WSGI middleware: PPV calls it can serve are answered here; everything else by ``app`` (Django)."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        out = handle(environ)
        if out is None:
            return self.app(environ, start_response)
        status, headers, body = out
        start_response(f"{status} {REASONS.get(status, 'Unknown')}", headers)
        return [body]
