"""One error shape for every failure of the REST API, whatever raised it:

    {"error": {"code": "insufficient_funds", "message": "...", "details": {...}}}

``code`` is stable and machine-readable; ``message`` is for humans; ``details`` is always an object.
Domain errors keep their own code and HTTP status; framework errors (validation, authentication,
malformed JSON, unknown routes) are mapped here. Nothing else reaches a client: an unexpected
exception is logged and answered with a bare 500 ``internal_error``, never a stack trace.
"""

from __future__ import annotations

import functools
import json
import logging
import re

from django.core.exceptions import ObjectDoesNotExist, RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, Throttled, ValidationError
from ninja.parser import Parser

from tripleplay.api.schemas import PRINTABLE_REF_MESSAGE, PRINTABLE_REF_PATTERN, REQUIRED_TEXT_PATTERN
from tripleplay.core.errors import DomainError
from tripleplay.core.validation import NUL_MESSAGE, STORABLE_TEXT_PATTERN, SURROGATE_MESSAGE, unstorable_problem
from tripleplay.money import AmountFormatError, CurrencyError, CurrencyMismatch

logger = logging.getLogger("tripleplay.api")

REQUIRED_TEXT_MESSAGE = "must not be blank (nor contain the NUL character)"

# Every handler names its JSON body parameter ``payload``; error locations drop that name so that a
# field is reported as ("body", "amount_minor"), as a client wrote it.
BODY_PARAM = "payload"

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    422: "invalid_input",
    429: "throttled",
}


def error_body(code: str, message: str, details: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details or {}}}


class InvalidJSONBody(ValueError):
    """The request body is not JSON. Raised by our parser; ninja wraps it in HttpError(400)."""


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


class UnstorableText(ValueError):
    """A string of the body holds what no database stores (D69); ``errors`` in _field_errors' shape."""

    def __init__(self, errors: list[dict]):
        super().__init__("unstorable text")
        self.errors = errors


def _unstorable_strings(document) -> list[dict]:
    """Every key or string value holding NUL or a lone surrogate, with its path in the document."""
    found, stack = [], [((), document)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, dict):
            items = node.items()
        elif isinstance(node, list):
            items = enumerate(node)
        else:
            continue
        for key, value in items:
            for text in (key, value):
                if isinstance(text, str) and (problem := unstorable_problem(text)):
                    found.append({"location": "body", "field": ".".join(map(str, (*path, key))),
                                  "message": problem, "type": "unstorable_text"})
            stack.append(((*path, key), value))
    return found


_MAYBE_UNSTORABLE = re.compile(rb"\\u(?:0000|[dD])")


class StrictJSONParser(Parser):
    """JSON bodies only, without the NaN/Infinity extensions of Python's json module, and without
    text a database cannot store, whatever field it is in (D69)."""

    def parse_querydict(self, data, list_fields, request: HttpRequest):
        """A parameter of one value sent several times (``?status=a&status=b``) reaches its schema as
        the list it is, and is refused (422), instead of ninja's silent last-one-wins."""
        result = {}
        for key in data.keys():
            values = data.getlist(key)
            result[key] = values if key in list_fields or len(values) > 1 else values[0]
        return result

    def parse_body(self, request: HttpRequest):
        body = request.body
        try:
            document = json.loads(body, parse_constant=_reject_constant)
        except (ValueError, UnicodeDecodeError) as e:
            raise InvalidJSONBody(str(e)) from None
        # Valid JSON spells NUL and a lone surrogate only as \u escapes (raw, they fail to parse), so
        # a body without "\u0000" or "\ud..." needs no walk (one scan, no lower-cased copy of the body).
        if _MAYBE_UNSTORABLE.search(body):
            errors = _unstorable_strings(document)
            if errors:
                raise UnstorableText(errors)
        return document


def _field_errors(errors: list[dict]) -> list[dict]:
    """[{"location": "body", "field": "allowances.0.quantity", "message": ..., "type": ...}, ...]"""
    out = []
    for e in errors:
        location, *path = [str(part) for part in e.get("loc", ())] or [""]
        if location == "body" and path[:1] == [BODY_PARAM]:
            path = path[1:]
        kind, message = e.get("type", ""), e.get("msg", "")
        # pydantic's words for the storable-text rule (D69) name a regex; say what is refused instead.
        if kind == "string_pattern_mismatch" and (e.get("ctx") or {}).get("pattern") == STORABLE_TEXT_PATTERN:
            kind, message = "unstorable_text", NUL_MESSAGE
        elif kind == "string_pattern_mismatch" and (e.get("ctx") or {}).get("pattern") == REQUIRED_TEXT_PATTERN:
            kind, message = "required_text", REQUIRED_TEXT_MESSAGE
        elif kind == "string_pattern_mismatch" and (e.get("ctx") or {}).get("pattern") == PRINTABLE_REF_PATTERN:
            kind, message = "unprintable_text", PRINTABLE_REF_MESSAGE
        elif kind == "string_unicode":
            kind, message = "unstorable_text", SURROGATE_MESSAGE
        out.append({"location": location, "field": ".".join(path), "message": message, "type": kind})
    return out


_RANGE_ERRORS = frozenset({"greater_than_equal", "less_than_equal"})


def _only_ids_out_of_range(errors: list[dict]) -> bool:
    """A path id outside 1..2^63-1 (schemas.IdParam) names no row: 404 as an unknown id, not 422 (D69)."""
    return bool(errors) and all(e.get("loc", ("",))[0] == "path" and e.get("type") in _RANGE_ERRORS for e in errors)


def install(api: NinjaAPI) -> None:
    """Register our handlers on ``api`` (replacing ninja's defaults)."""

    def respond(request, status: int, code: str, message: str, details: dict | None = None) -> HttpResponse:
        return api.create_response(request, error_body(code, message, details), status=status)

    @api.exception_handler(DomainError)
    def domain_error(request, exc: DomainError):
        return respond(request, exc.http_status, exc.code, exc.message, exc.details)

    @api.exception_handler(ValidationError)
    def validation_error(request, exc: ValidationError):
        if _only_ids_out_of_range(exc.errors):
            return respond(request, 404, "not_found", "not found")
        return respond(request, 422, "invalid_input", "the request is not valid", {"errors": _field_errors(exc.errors)})

    @api.exception_handler(AuthenticationError)
    def authentication_error(request, exc: AuthenticationError):
        # ninja raises it with "Unauthorized" when no method matched; ours carry their own message.
        message = exc.message if exc.message != "Unauthorized" else "authentication required: an API token or a session"
        response = respond(request, 401, "unauthenticated", message)
        response["WWW-Authenticate"] = 'Bearer realm="tripleplay"'
        return response

    @api.exception_handler(AuthorizationError)
    def authorization_error(request, exc: AuthorizationError):
        return respond(request, 403, "permission_denied", exc.message)

    @api.exception_handler(Throttled)
    def throttled(request, exc: Throttled):
        return respond(request, 429, "throttled", exc.message, {"retry_after_seconds": exc.wait})

    @api.exception_handler(HttpError)
    def http_error(request, exc: HttpError):
        if isinstance(exc.__cause__, InvalidJSONBody):
            return respond(request, 400, "invalid_json", f"the request body is not valid JSON: {exc.__cause__}")
        if isinstance(exc.__cause__, UnstorableText):
            return respond(request, 422, "invalid_input", "the request is not valid", {"errors": exc.__cause__.errors})
        return respond(request, exc.status_code, _HTTP_CODES.get(exc.status_code, "error"), exc.message)

    @api.exception_handler(Http404)
    def http404(request, exc):
        return respond(request, 404, "not_found", "not found")

    @api.exception_handler(ObjectDoesNotExist)
    def does_not_exist(request, exc):
        return respond(request, 404, "not_found", "not found")

    @api.exception_handler(DjangoPermissionDenied)
    def django_permission_denied(request, exc):
        return respond(request, 403, "permission_denied", "permission denied")

    @api.exception_handler(RequestDataTooBig)
    def too_big(request, exc):
        return respond(request, 413, "payload_too_large", "the request body is too large")

    @api.exception_handler(SuspiciousOperation)
    def suspicious(request, exc):
        return respond(request, 400, "bad_request", "the request was refused")

    @api.exception_handler(CurrencyError)
    def currency_error(request, exc):
        return respond(request, 422, "unknown_currency", str(exc))

    @api.exception_handler(CurrencyMismatch)
    def currency_mismatch(request, exc):
        return respond(request, 422, "currency_mismatch", str(exc))

    @api.exception_handler(AmountFormatError)
    def amount_format(request, exc):
        return respond(request, 422, "invalid_amount", str(exc))

    @api.exception_handler(Exception)
    def unexpected(request, exc):
        logger.exception("unhandled error in %s %s", request.method, request.path)
        return respond(request, 500, "internal_error", "internal error")


def json_method_not_allowed(view):
    """Wrap an API URL's view so that ninja's plain-text 405 becomes our error shape."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        if isinstance(response, HttpResponseNotAllowed):
            allowed = sorted(m.strip() for m in response["Allow"].split(","))
            replaced = JsonResponse(error_body("method_not_allowed", f"{request.method} is not allowed here",
                                               {"allowed": allowed}), status=405)
            replaced["Allow"] = response["Allow"]
            return replaced
        return response

    return wrapper


def not_found_view(request: HttpRequest, *args, **kwargs) -> JsonResponse:
    """Unknown paths under /api/v1/ (wired in tripleplay/urls.py after the API's own routes)."""
    return JsonResponse(error_body("not_found", f"no such endpoint: {request.path}"), status=404)
