"""Who is calling. Every endpoint accepts two kinds of principal, tried in this order:

1. An API client: ``Authorization: Bearer tp_...``. A token that is present but unknown or revoked
   is a 401 at once (it never falls back to a session: a broken integration should fail loudly).
2. An operator's Django session (the web UI, the browsable docs). Cookies are ambient authority, so
   unsafe methods (POST, PATCH, DELETE) must carry the CSRF token (``X-CSRFToken`` header, the value
   of the ``csrftoken`` cookie; GET /me sets that cookie).

Either way the caller becomes a ``tripleplay.core.actors.Actor`` on ``request.actor`` (also
``request.auth``); services record it. A principal without a role is refused (403) on every endpoint.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from ninja.errors import AuthenticationError
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from tripleplay.access import selectors as access_selectors
from tripleplay.access import services as access_services
from tripleplay.core.actors import Actor
from tripleplay.core.errors import PermissionDenied

_SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}


def _authenticated(request: HttpRequest, actor: Actor) -> Actor:
    if actor.role is None:
        raise PermissionDenied(f"{actor.kind} {actor.name!r} has no role")
    request.actor = actor
    return actor


class ApiToken(HttpBearer):
    """Bearer token of an API client (created by an admin; shown once)."""

    def authenticate(self, request: HttpRequest, token: str) -> Actor:
        client = access_selectors.api_client_for_token(token.strip())
        if client is None:
            raise AuthenticationError(message="invalid or revoked API token")
        access_services.touch_api_client(client)
        return _authenticated(request, Actor.api_client(client))


class OperatorSession(APIKeyCookie):
    """An operator logged in to Django (session cookie), with CSRF enforced on unsafe methods."""

    param_name = settings.SESSION_COOKIE_NAME

    def __init__(self) -> None:
        # We check CSRF ourselves, and only for a logged-in session: a request with no session at
        # all must be a 401, not a CSRF failure.
        super().__init__(csrf=False)

    def authenticate(self, request: HttpRequest, key: str | None) -> Actor | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        if request.method not in _SAFE_METHODS and check_csrf(request) is not None:
            raise PermissionDenied("CSRF check failed: send the csrftoken cookie's value in X-CSRFToken",
                                   code="csrf_failed")
        return _authenticated(request, access_selectors.operator_actor(user))


AUTH = [ApiToken(), OperatorSession()]
