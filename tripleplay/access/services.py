from __future__ import annotations

import secrets

from django.contrib.auth import get_user_model
from django.db import transaction

from tripleplay import clock
from tripleplay.access.models import ApiClient, OperatorProfile
from tripleplay.access.selectors import TOKEN_PREFIX_LEN, hash_token
from tripleplay.audit.services import record
from tripleplay.core.actors import Actor, Role
from tripleplay.core.errors import Conflict, InvalidInput


def _role(value) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise InvalidInput(f"unknown role {value!r}", details={"allowed": [r.value for r in Role]}) from None


@transaction.atomic
def create_api_client(actor: Actor, *, name: str, role: str) -> tuple[ApiClient, str]:
    """Create an API client; returns it and its token, which is never retrievable again."""
    role = _role(role)
    name = (name or "").strip()
    if not name:
        raise InvalidInput("name is required")
    if ApiClient.objects.filter(name=name).exists():
        raise Conflict(f"an API client named {name!r} exists", code="duplicate")
    token = "tp_" + secrets.token_urlsafe(32)
    client = ApiClient.objects.create(
        name=name,
        role=role,
        token_prefix=token[:TOKEN_PREFIX_LEN],
        token_hash=hash_token(token),
        created_at=clock.now(),
    )
    record(actor, "api_client.created", client, name=name, role=role.value)
    return client, token


@transaction.atomic
def revoke_api_client(actor: Actor, client: ApiClient) -> ApiClient:
    client.is_active = False
    client.save(update_fields=["is_active"])
    record(actor, "api_client.revoked", client)
    return client


def touch_api_client(client: ApiClient) -> None:
    """Note the last use (at most once a minute, to keep reads cheap)."""
    now = clock.now()
    if client.last_used_at is None or (now - client.last_used_at).total_seconds() > 60:
        ApiClient.objects.filter(pk=client.pk).update(last_used_at=now)


@transaction.atomic
def create_operator(actor: Actor, *, username: str, password: str, role: str, email: str = ""):
    """Create (or update the password and role of) an operator login."""
    role = _role(role)
    User = get_user_model()
    if not username:
        raise InvalidInput("username is required")
    if len(password or "") < 8:
        raise InvalidInput("password must be at least 8 characters")
    user, created = User.objects.get_or_create(username=username, defaults={"email": email})
    user.is_staff = True  # the Django admin is the interim operator tool
    user.is_superuser = role == Role.ADMIN
    user.set_password(password)
    user.save()
    OperatorProfile.objects.update_or_create(user=user, defaults={"role": role})
    record(actor, "operator.created" if created else "operator.updated", user, username=username, role=role.value)
    return user
