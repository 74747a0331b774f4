"""Configured IPTV platforms: create, change, credentials (encrypted), inbound token, connection test."""

from __future__ import annotations

import copy
import hashlib
import hmac
import re
import secrets as pysecrets
import time
from decimal import Decimal
from urllib.parse import urlsplit

from django.db import transaction

from tripleplay import clock
from tripleplay.audit.services import record
from tripleplay.core import validation as v
from tripleplay.core.actors import Actor
from tripleplay.core.errors import Conflict, InvalidInput
from tripleplay.iptv import secrets
from tripleplay.iptv.models import Platform
from tripleplay.iptv.platforms.base import PlatformError
from tripleplay.iptv.platforms.registry import kinds

_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
INBOUND_PREFIX_LEN = 10


def _kind(kind: str) -> str:
    if kind not in kinds():
        raise InvalidInput(f"unknown platform kind {kind!r}", details={"field": "kind", "allowed": kinds()})
    return kind


def _url(url: str) -> str:
    url = v.text(url, "base_url", required=True, max_length=300)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("base_url must be an http(s) URL", details={"field": "base_url"})
    return url.rstrip("/")


def _timeout(value) -> Decimal:
    try:
        t = Decimal(str(value))
    except Exception:
        raise InvalidInput("timeout_seconds must be a number", details={"field": "timeout_seconds"}) from None
    if not (Decimal("0.1") <= t <= Decimal("120")):
        raise InvalidInput("timeout_seconds must be between 0.1 and 120", details={"field": "timeout_seconds"})
    return t


@transaction.atomic
def create_platform(actor: Actor, *, code: str, name: str, kind: str, base_url: str, username: str = "",
                    secret: str = "", timeout_seconds="10", options: dict | None = None,
                    enabled: bool = True, inbound_secret: str = "") -> Platform:
    code = v.text(code, "code", required=True, max_length=64)
    if not _CODE.match(code):
        raise InvalidInput("code must be lowercase letters, digits, '-' or '_'", details={"field": "code"})
    if Platform.objects.filter(code=code).exists():
        raise Conflict(f"a platform with code {code!r} exists", code="duplicate", details={"field": "code"})
    if options is not None and not isinstance(options, dict):
        raise InvalidInput("options must be an object", details={"field": "options"})
    platform = Platform.objects.create(
        code=code, name=v.text(name, "name", required=True), kind=_kind(kind), base_url=_url(base_url),
        username=v.text(username, "username"), secret_encrypted=secrets.encrypt(v.text(secret, "secret", max_length=500)),
        timeout_seconds=_timeout(timeout_seconds), options=options or {}, enabled=bool(enabled),
        inbound_secret_encrypted=secrets.encrypt(v.text(inbound_secret, "inbound_secret", max_length=500)),
        created_at=clock.now(),
    )
    record(actor, "platform.created", platform, code=code, kind=kind, base_url=platform.base_url)
    return platform


@transaction.atomic
def update_platform(actor: Actor, platform: Platform, **changes) -> Platform:
    allowed = {"name", "base_url", "username", "secret", "timeout_seconds", "options", "enabled", "inbound_secret"}
    unknown = set(changes) - allowed
    if unknown:
        raise InvalidInput(f"unknown fields: {', '.join(sorted(unknown))}")
    platform = Platform.objects.select_for_update().get(pk=platform.pk)
    if "name" in changes:
        platform.name = v.text(changes["name"], "name", required=True)
    if "base_url" in changes:
        platform.base_url = _url(changes["base_url"])
    if "username" in changes:
        platform.username = v.text(changes["username"], "username")
    if "secret" in changes:
        platform.secret_encrypted = secrets.encrypt(v.text(changes["secret"], "secret", max_length=500))
    if "inbound_secret" in changes:
        platform.inbound_secret_encrypted = secrets.encrypt(
            v.text(changes["inbound_secret"], "inbound_secret", max_length=500))
    if "timeout_seconds" in changes:
        platform.timeout_seconds = _timeout(changes["timeout_seconds"])
    if "options" in changes:
        if not isinstance(changes["options"], dict):
            raise InvalidInput("options must be an object", details={"field": "options"})
        platform.options = changes["options"]
    if "enabled" in changes:
        platform.enabled = bool(changes["enabled"])
    platform.save()
    transaction.on_commit(_forget_tokens)
    _forget_tokens()
    record(actor, "platform.updated", platform,
           fields=sorted(k for k in changes if k not in ("secret", "inbound_secret")),
           secret_changed="secret" in changes,
           **({"inbound_secret_changed": True} if "inbound_secret" in changes else {}))
    return platform


def rotate_credentials(actor: Actor) -> int:
    """Every stored platform secret encrypted again with the first credentials key (iptv/secrets.py), in
    the caller's transaction, one audit event each; an unreadable one raises Conflict naming it."""
    try:
        rotated = secrets.rotate_rows(Platform.objects.all(), ("secret_encrypted", "inbound_secret_encrypted"))
    except ValueError as e:
        raise Conflict(str(e), code="credentials_unreadable") from None
    for platform in rotated:
        record(actor, "platform.credentials_rotated", platform)
    return len(rotated)


@transaction.atomic
def issue_inbound_token(actor: Actor, platform: Platform) -> str:
    """A new token the platform uses to call tripleplay (catalog push, PPV). Shown once; replaces
    the previous one (in other processes within TOKEN_CACHE_SECONDS, docs/operations.md)."""
    token = "tpp_" + pysecrets.token_urlsafe(32)
    Platform.objects.filter(pk=platform.pk).update(inbound_token_prefix=token[:INBOUND_PREFIX_LEN],
                                                   inbound_token_hash=hashlib.sha256(token.encode()).hexdigest())
    record(actor, "platform.inbound_token_issued", platform)
    # Now and again at commit: a request in another thread may re-cache the old row until then.
    transaction.on_commit(_forget_tokens)
    _forget_tokens()
    return token


# Per-process cache of accepted tokens (digest -> (platform, monotonic deadline)): every PPV call
# authenticates, and the lookup was a query per request. Only hits are cached. A token replaced or a
# platform disabled in *this* process clears the cache at once; in another process (other gunicorn
# workers, the CLI) the change takes effect within TOKEN_CACHE_SECONDS.
TOKEN_CACHE_SECONDS = 5.0
_token_cache: dict[str, tuple[Platform, float]] = {}


def _forget_tokens() -> None:
    _token_cache.clear()


def _copy(platform: Platform) -> Platform:
    """copy.copy(platform), the shallow copy Model.__getstate__ makes (own __dict__, own _state and
    fields cache), without the pickle protocol's app-registry lookup: 9 -> 4 us on every PPV call."""
    clone = Platform.__new__(Platform)
    state = platform.__dict__.copy()
    state["_state"] = copy.copy(state["_state"])
    state["_state"].fields_cache = state["_state"].fields_cache.copy()
    clone.__dict__ = state
    return clone


def platform_for_inbound_token(token: str) -> Platform | None:
    if not token or len(token) > 200:
        return None
    digest = hashlib.sha256(token.encode()).hexdigest()
    cached = _token_cache.get(digest)
    if cached is not None and cached[1] > time.monotonic():
        return _copy(cached[0])  # a copy: a request may set attributes on its platform
    for p in Platform.objects.filter(inbound_token_prefix=token[:INBOUND_PREFIX_LEN], enabled=True):
        if hmac.compare_digest(p.inbound_token_hash, digest):
            _token_cache[digest] = (copy.copy(p), time.monotonic() + TOKEN_CACHE_SECONDS)
            return p
    return None


def inbound_secret(platform: Platform) -> str:
    """The shared secret the platform signs its calls with ("" when none is set); in memory only."""
    return secrets.decrypt(platform.inbound_secret_encrypted)


def test_connection(platform: Platform) -> dict:
    """Call the platform once with its credentials; never raises for platform errors."""
    from tripleplay.iptv.worker import adapter_for_platform

    try:
        with adapter_for_platform(platform) as adapter:
            result = adapter.health()
            return {"ok": True, "detail": result, "exchanges": adapter.exchanges[-3:]}
    except PlatformError as e:
        return {"ok": False, "error": f"{type(e).__name__}: {e}", "transient": e.transient}
    except ValueError as e:
        return {"ok": False, "error": str(e), "transient": False}
