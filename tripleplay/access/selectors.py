from __future__ import annotations

import hashlib
import hmac

from tripleplay.access.models import ApiClient
from tripleplay.core.actors import Actor, Role
from tripleplay.core.errors import NotFound

TOKEN_PREFIX_LEN = 10


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def role_of_user(user) -> Role | None:
    if not user or not user.is_authenticated or not user.is_active:
        return None
    if user.is_superuser:
        return Role.ADMIN
    profile = getattr(user, "operator", None)
    return Role(profile.role) if profile else None


def operator_actor(user) -> Actor:
    """The Actor of a logged-in operator, with the role its profile (or superuser flag) gives it."""
    return Actor.operator(user, role_of_user(user))


def api_client_for_token(token: str) -> ApiClient | None:
    if not token or len(token) > 200:
        return None
    digest = hash_token(token)
    for client in ApiClient.objects.filter(token_prefix=token[:TOKEN_PREFIX_LEN], is_active=True):
        if hmac.compare_digest(client.token_hash, digest):
            return client
    return None


def api_clients():
    return ApiClient.objects.order_by("id")


def api_client(client_id: int) -> ApiClient:
    try:
        return ApiClient.objects.get(pk=client_id)
    except (ApiClient.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"API client {client_id} does not exist") from None
