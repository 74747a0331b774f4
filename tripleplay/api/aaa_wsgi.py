"""The lean request path of FreeRADIUS's rlm_rest calls (/aaa/v1/radius/..., tripleplay/api/aaa.py), in
front of Django's full handler: every Access-Request and every Accounting-Request of every NAS passes
here: once for a PAP Access-Request (authorize, D240), twice for CHAP and MS-CHAP (authorize, post-auth).

Django's middleware (sessions, CSRF, auth, messages, axes) and URL resolution do nothing for these
calls: the views are CSRF-exempt, authenticate by HTTP Basic themselves (aaa.endpoint), set no cookie
and read no session. This WSGI wrapper therefore runs the same view functions on a plain WSGIRequest,
without the middleware, for an exact path it knows, and answers with what the view answered plus the
security headers the middleware would have added (the same code as the PPV lean path,
tripleplay/api/ppv_wsgi.py). The view's own checks (the token, the methods, the body) answer every
error exactly as before. A request with a Host Django would refuse, or a plain-HTTP request where
HTTPS is required, is handed to Django untouched. ``TRIPLEPLAY_AAA_FAST_PATH=0`` turns it off.

What this path mirrors of the middleware it skips is held by the same system check as the PPV path
(tripleplay/api/checks.py): a change to settings.MIDDLEWARE fails ``manage.py check`` until both
paths follow it (tests: tripleplay/api/tests/test_aaa_fast_path.py; docs/radius.md, Performance).
"""

from __future__ import annotations

import json
import logging

from django.conf import settings
from django.core.handlers.wsgi import WSGIRequest

from tripleplay.api import aaa, ppv_wsgi

PREFIX = "/aaa/v1/radius/"
VIEWS = {
    "/aaa/v1/radius/authorize": aaa.authorize,
    "/aaa/v1/radius/post-auth": aaa.post_auth,
    "/aaa/v1/radius/post-auth/reject": aaa.post_auth_reject,
    "/aaa/v1/radius/accounting": aaa.accounting,
}
log = logging.getLogger("tripleplay.aaa")
REASONS = {200: "OK", 204: "No Content", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
           404: "Not Found", 405: "Method Not Allowed", 500: "Internal Server Error", 503: "Service Unavailable"}


def _view(path: str):
    """The view and its arguments for an rlm_rest path, or None."""
    view = VIEWS.get(path)
    if view is not None:
        return view, {}
    if path.startswith(PREFIX + "clients/"):
        address = path[len(PREFIX + "clients/"):]
        if address and "/" not in address:
            return aaa.client, {"address": address}
    return None


def handle(environ) -> tuple[int, list[tuple[str, str]], bytes] | None:
    """(status, headers, body) for an rlm_rest call this path serves, or None: Django's to answer."""
    if environ.get("SCRIPT_NAME") or environ.get("REQUEST_METHOD") not in ("GET", "POST"):
        return None
    found = _view(environ.get("PATH_INFO", ""))
    if found is None or not ppv_wsgi._host_allowed(environ):
        return None
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    if not 0 <= length <= aaa.MAX_BODY:
        return None  # Django answers (an oversized body: the view's 400, or Django's own limit)
    secure = ppv_wsgi._is_secure(environ)
    if settings.SECURE_SSL_REDIRECT and not secure:
        return None  # Django's SecurityMiddleware redirects it to HTTPS
    view, kwargs = found
    ppv_wsgi.connection_upkeep()
    try:
        response = view(WSGIRequest(environ), **kwargs)
    except Exception:  # noqa: BLE001 - as Django's handler: logged, a 500 (rlm_rest: fail)
        log.exception("unhandled error in %s %s", environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"))
        body = json.dumps({"error": "internal error"}).encode()
        return 500, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))], body
    finally:
        ppv_wsgi.connection_upkeep()
    if ppv_wsgi._SECURITY_HEADERS is None:
        ppv_wsgi._SECURITY_HEADERS = ppv_wsgi._security_headers()
    body = response.content
    headers = [(k, v) for k, v in response.items() if k.lower() != "content-length"]
    headers.append(("Content-Length", str(len(body))))
    present = {k.lower() for k, _ in headers}
    headers += [h for h in ppv_wsgi._SECURITY_HEADERS if h[0].lower() not in present]
    if secure and (hsts := ppv_wsgi._hsts_header()):
        headers.append(hsts)
    return response.status_code, headers, body


class AaaFastPath:
    """WSGI middleware: rlm_rest calls are answered here; everything else by ``app`` (Django)."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        out = handle(environ)
        if out is None:
            return self.app(environ, start_response)
        status, headers, body = out
        start_response(f"{status} {REASONS.get(status, 'Unknown')}", headers)
        return [body]
