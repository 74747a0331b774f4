"""TVIP TMS's billing API, tripleplay's side: ``POST /tvip/v1/<platform code>/billing/tariffs/<tariff>/<action>``
(docs/platforms/tvip.md "Billing API", D230-D232).

TMS's provider settings ("Resolve Billing") hold a URL and a token: the URL is
``http(s)://<tripleplay>/tvip/v1/<platform code>/billing`` and TMS appends the method's path; the token
is the platform's ``inbound_secret``. Every request is signed: ``X-AUTH-TOKEN`` = md5(request path +
token + Content-Length when > 0), checked in constant time before anything else is read. Then
``X-TMS-PROVIDER-ID`` must be the platform's provider (option ``provider_id``, default 1) and
``X-TMS-ACCOUNT-ID`` a TMS account whose remote_custom_field is one of this platform's subscribers.
The order itself is orders.tvip.place_tms_order. A thin edge: no rule lives here.

Answers (JSON): the order's answer (tripleplay/orders/services.py ``ANSWER_KEYS``) with ``tms_action``
and ``tms_account_id``; every non-200 also carries TMS's own error shape ``statusCode`` and ``cause``.
401 unsigned, 403 a wrong signature (or no token configured, or another provider), 400 a malformed
header, 404 an unknown platform, action or account, 402 insufficient funds, 409 another decline,
503 TMS could not be read to find the account (try again), 502 TMS answered that lookup wrongly.
"""

from __future__ import annotations

import json
import logging
import re

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from tripleplay.iptv.configuration import inbound_secret
from tripleplay.iptv.models import Platform
from tripleplay.iptv.platforms.base import PermanentError, TransientError
from tripleplay.iptv.platforms.tvip import billing_signature_valid
from tripleplay.orders import tvip as tms_orders

log = logging.getLogger("tripleplay.tvip")

MAX_BODY_BYTES = 64 * 1024
ACCOUNT_ID = re.compile(r"^[1-9][0-9]{0,17}$")
TARIFF = re.compile(r"^[\x21-\x7e]{1,100}$")  # a product code: printable ASCII, no spaces
DECLINE_STATUS = {"unknown_subscriber": 404, "unknown_product": 404, "insufficient_funds": 402}


def _json(status: int, body: dict) -> HttpResponse:
    if status != 200:
        body = {"statusCode": status, "cause": body.get("message", ""), **body}
    return HttpResponse(json.dumps(body), status=status, content_type="application/json")


def _error(status: int, code: str, message: str) -> HttpResponse:
    response = _json(status, {"result": "error", "code": code, "message": message})
    if status == 401:
        response["WWW-Authenticate"] = 'X-AUTH-TOKEN realm="tripleplay"'
    return response


@csrf_exempt
def not_found(request: HttpRequest) -> HttpResponse:
    """Any other path under /tvip/v1/: TMS's error shape, not Django's page."""
    return _error(404, "not_found", "no such billing-API method (tripleplay answers switch, subscribe, cancel)")


@csrf_exempt
def billing(request: HttpRequest, platform: str, tariff: str, action: str) -> HttpResponse:
    if request.method != "POST":
        response = _error(405, "method_not_allowed", "use POST")
        response["Allow"] = "POST"
        return response
    found = Platform.objects.filter(code=platform, kind="tvip", enabled=True).first()
    if found is None:
        return _error(404, "unknown_platform", "no such TVIP platform")
    try:
        length = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        return _error(400, "invalid_request", "Content-Length is not a number")
    if length > MAX_BODY_BYTES:
        return _error(413, "too_large", f"the body is larger than {MAX_BODY_BYTES} bytes")
    signature = request.headers.get("X-AUTH-TOKEN", "")
    if not signature:
        return _error(401, "unsigned", "X-AUTH-TOKEN is required")
    try:
        secret = inbound_secret(found)
    except ValueError:
        log.error("platform %s: the stored inbound secret cannot be decrypted", found.code)
        secret = ""
    if not billing_signature_valid(signature, path=request.path, token=secret, content_length=len(request.body)):
        return _error(403, "bad_signature", "X-AUTH-TOKEN does not match this request")
    provider = str(found.options.get("provider_id", 1))
    if request.headers.get("X-TMS-PROVIDER-ID", "").strip() != provider:
        return _error(403, "wrong_provider", "X-TMS-PROVIDER-ID is not this platform's provider")
    account = request.headers.get("X-TMS-ACCOUNT-ID", "").strip()
    if not ACCOUNT_ID.match(account):
        return _error(400, "invalid_request", "X-TMS-ACCOUNT-ID must be a TMS account id (a positive integer)")
    if action not in tms_orders.ACTIONS:
        return _error(404, "unknown_action", f"action must be one of {', '.join(tms_orders.ACTIONS)}")
    if not TARIFF.match(tariff):
        return _error(400, "invalid_request", "the tariff must be 1..100 printable characters")
    try:
        subscriber = tms_orders.subscriber_for_account(found, int(account))
    except TransientError as e:
        return _error(503, "platform_unavailable", f"TMS could not be read: {e}")
    except PermanentError as e:
        return _error(502, "platform_error", f"TMS answered the account lookup with an error: {e}")
    extra = {"tms_action": action, "tms_account_id": int(account)}
    if subscriber is None:
        return _json(404, {"result": "declined", "code": "unknown_subscriber",
                           "message": f"TMS account {account} is no subscriber of this platform", **extra})
    answer = tms_orders.place_tms_order(found, subscriber, action=action, tariff=tariff)
    status = answer.http_status
    if status == 200 and answer.get("result") == "declined":
        status = DECLINE_STATUS.get(answer.get("code"), 409)
    return _json(status, {**answer, **extra})
