"""The endpoints FreeRADIUS's rlm_rest calls (tripleplay/radius/freeradius/, docs/radius.md).

rlm_rest's wire format (FreeRADIUS 3.2, raddb/mods-available/rest): the request's attributes are a
JSON object ``{"User-Name": {"type": "string", "value": ["alice"]}, ...}``; the answer is a JSON
object of attributes to set, ``{"reply:Mikrotik-Rate-Limit": "...", "control:Cleartext-Password": ...}``
(each value here an object ``{"op": ":=", "value": ..., "do_xlat": false}``, so that no text from the
database is ever expanded by FreeRADIUS). The status code is the module's result: 200 with attributes
``updated``, 204 ``ok``, 401 ``reject`` (its body still read: the Reply-Message), 404 ``notfound``,
other 4xx ``invalid``, 5xx ``fail``. The NAS is the packet's source address, which FreeRADIUS templates
into the query string (``?nas=%{Packet-Src-IP-Address}``): a NAS cannot speak for another.

Authentication: HTTP Basic, user ``freeradius``, password ``TRIPLEPLAY_RADIUS_TOKEN``; unset, every
call is 503 (nothing is answered to a FreeRADIUS that was not configured).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from tripleplay.core.validation import unstorable_problem
from tripleplay.radius import decision, selectors, services
from tripleplay.radius.attributes import reply_attributes

log = logging.getLogger("tripleplay.aaa")

STATUS_TYPES = {"1": "Start", "2": "Stop", "3": "Interim-Update", "7": "Accounting-On", "8": "Accounting-Off"}
MAX_BODY = 64 * 1024


def _value(value: str) -> dict:
    return {"op": ":=", "value": value, "do_xlat": False}


def _answer(status: int, attributes: dict[str, str]) -> HttpResponse:
    if not attributes:
        return HttpResponse(status=status if status != 200 else 204)
    return JsonResponse({name: _value(value) for name, value in attributes.items()}, status=status)


def _authorized(request: HttpRequest) -> bool:
    token = settings.TRIPLEPLAY_RADIUS_TOKEN
    header = request.headers.get("Authorization", "")
    if not token or not header.startswith("Basic "):
        return False
    try:
        user, _, password = base64.b64decode(header[6:], validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return user == "freeradius" and hmac.compare_digest(password.encode(), token.encode())


def _attributes(request: HttpRequest) -> dict[str, list[str]] | None:
    """rlm_rest's JSON body as attribute name -> values (strings); None if it is not that shape."""
    if len(request.body) > MAX_BODY:
        return None
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(body, dict):
        return None
    out = {}
    for name, item in body.items():
        values = item.get("value") if isinstance(item, dict) else item
        values = values if isinstance(values, list) else [values]
        texts = [str(x) for x in values if isinstance(x, str | int | float) and not isinstance(x, bool)]
        if any(unstorable_problem(t) for t in texts):
            return None
        out[str(name)] = texts
    return out


def endpoint(view):
    """Authenticated, CSRF-free, POST or GET only; a bad body is 400 (rlm_rest: invalid)."""

    @csrf_exempt
    @require_http_methods(["GET", "POST"])
    def wrapped(request: HttpRequest, *args, **kwargs):
        if not settings.TRIPLEPLAY_RADIUS_TOKEN:
            return JsonResponse({"error": "TRIPLEPLAY_RADIUS_TOKEN is not set"}, status=503)
        if not _authorized(request):
            response = JsonResponse({"error": "authentication required"}, status=403)
            response["WWW-Authenticate"] = 'Basic realm="tripleplay-aaa"'
            return response
        return view(request, *args, **kwargs)

    return wrapped


def _nas(request: HttpRequest):
    return selectors.nas_by_address(request.GET.get("nas", "")[:45])


@endpoint
def client(request: HttpRequest, address: str) -> HttpResponse:
    """FreeRADIUS's dynamic-client lookup: the NAS (shared secret) for a source address, or 404."""
    nas = selectors.nas_by_address(address[:45])
    if nas is None:
        return HttpResponse(status=404)
    return _answer(200, {"control:FreeRADIUS-Client-IP-Address" if ":" not in nas.address
                         else "control:FreeRADIUS-Client-IPv6-Address": nas.address,
                         "control:FreeRADIUS-Client-Secret": selectors.nas_secret(nas),
                         "control:FreeRADIUS-Client-Shortname": nas.name,
                         "control:FreeRADIUS-Client-NAS-Type": "other"})


def _reject(code: str) -> HttpResponse:
    return _answer(401, {"reply:Reply-Message": decision.reply_message(code)})


@endpoint
def authorize(request: HttpRequest) -> HttpResponse:
    """May this login connect? 200 with the product's reply attributes in the NAS's vendor dictionary
    and, for CHAP and MS-CHAP, the password for FreeRADIUS's check, or 401 with the refusal's
    Reply-Message. A PAP request's password is checked here, and its login recorded (D240)."""
    attrs = _attributes(request)
    if attrs is None:
        return HttpResponse(status=400)
    username = (attrs.get("User-Name") or [""])[0]
    nas, access = selectors.authorize_lookup(request.GET.get("nas", "")[:45], username)  # one round trip (D241)
    if nas is None:
        return HttpResponse(status=400)
    code = decision.refusal(access.found if access else None)
    if code:
        return _reject(code)
    reply = {f"reply:{k}": v for k, v in reply_attributes(nas.vendor, access.service).items()}
    if settings.TRIPLEPLAY_RADIUS_PAP_CHECK and decision.pap_request(attrs):
        # PAP: the password is checked here and the login recorded now, so that FreeRADIUS accepts
        # without a module (Auth-Type Accept) and calls no post-auth: one rlm_rest call (D240).
        if not decision.pap_matches(attrs["User-Password"][0], access.password):
            return _reject("wrong_password")
        services.record_login_of(nas, username)
        return _answer(200, {"control:Auth-Type": "Accept", **reply})
    return _answer(200, {"control:Cleartext-Password": access.password, **reply})


@endpoint
def post_auth(request: HttpRequest) -> HttpResponse:
    """After an Access-Accept that FreeRADIUS checked (CHAP, MS-CHAP): record the login's last
    authentication. A PAP login is recorded by authorize (D240)."""
    nas, attrs = _nas(request), _attributes(request)
    if nas is None or attrs is None:
        return HttpResponse(status=400)
    services.record_login_of(nas, (attrs.get("User-Name") or [""])[0])  # one UPDATE (no decryption, no reads)
    return HttpResponse(status=204)


@endpoint
def post_auth_reject(request: HttpRequest) -> HttpResponse:
    """FreeRADIUS rejected a login that authorize accepted: its own password check failed."""
    return _answer(200, {"reply:Reply-Message": decision.reply_message("wrong_password")})


@endpoint
def accounting(request: HttpRequest) -> HttpResponse:
    nas, attrs = _nas(request), _attributes(request)
    if nas is None or attrs is None:
        return HttpResponse(status=400)
    status = attrs.get("Acct-Status-Type") or []
    if status:
        attrs["Acct-Status-Type"] = [STATUS_TYPES.get(status[0], status[0])]
    try:
        outcome = services.record_accounting(nas, attrs)
    except services.Accounting as e:
        log.warning("accounting from %s refused: %s", nas.name, e.message)
        return JsonResponse({"error": e.message}, status=400)
    log.debug("accounting from %s: %s", nas.name, outcome)
    return HttpResponse(status=204)
