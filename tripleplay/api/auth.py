"""Who is calling. Every endpoint accepts two kinds of principal, tried in this order:

1. An API client: ``Authorization: Bearer tp_...``. A token that is present but unknown or revoked
   is a 401 at once (it never falls back to a session: a broken integration should fail loudly).
2. An operator's Django session (the web UI, the browsable docs). Cookies are ambient authority, so
   unsafe methods (POST, PATCH, DELETE) must carry the CSRF token (``X-CSRFToken`` header, the value
   of the ``csrftoken`` cookie; GET /me sets that cookie).

Either way the caller becomes a ``tripleplay.core.actors.Actor`` on ``request.actor`` (also
``request.auth``); services record it. A principal without a role is refused (403) on every endpoint.

Platforms (PPV and catalog push, JSON and XML, and the lean PPV path) authenticate with their
inbound token instead; ``platform_credentials`` is the one parser of that header, used by all three.
"""

from __future__ import annotations

import base64
import binascii
from typing import NamedTuple

from django.conf import settings
from django.http import HttpRequest
from ninja.errors import AuthenticationError
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from tripleplay.access import selectors as access_selectors
from tripleplay.access import services as access_services
from tripleplay.core.actors import Actor
from tripleplay.core.errors import PermissionDenied
from tripleplay.iptv.configuration import platform_for_inbound_token
from tripleplay.iptv.models import Platform

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


# -- platforms ----------------------------------------------------------------------------------------


class PlatformCredentials(NamedTuple):
    token: str
    code: str | None  # HTTP Basic only: the user name, which must be the token's platform's code


def platform_credentials(authorization: str | None, *, basic: bool = True) -> PlatformCredentials | None:
    """What an Authorization header offers as a platform's credentials: ``Bearer <inbound token>``,
    or (when ``basic``) HTTP Basic with the platform's code as user name and the token as password.
    None when it offers neither (no header, another scheme, undecodable Basic)."""
    scheme, _, value = (authorization or "").partition(" ")
    scheme = scheme.lower()
    if scheme == "bearer":
        return PlatformCredentials(value.strip(), None)
    if basic and scheme == "basic":
        try:
            code, _, token = base64.b64decode(value.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return PlatformCredentials(token, code)
    return None


def platform_for(credentials: PlatformCredentials | None) -> Platform | None:
    """The enabled platform these credentials authenticate, or None."""
    if credentials is None:
        return None
    platform = platform_for_inbound_token(credentials.token)
    if platform is None or (credentials.code is not None and platform.code != credentials.code):
        return None
    return platform
