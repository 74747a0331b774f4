"""Platform credentials at rest: encrypted with Fernet (AES-128-CBC + HMAC-SHA256).

The keys come from TRIPLEPLAY_CREDENTIALS_KEY, or the file TRIPLEPLAY_CREDENTIALS_KEY_FILE names: one
Fernet key (32 url-safe base64 bytes), or several separated by commas, newest first. The first encrypts;
every one of them decrypts, and so does the key derived from the Django SECRET_KEY, which is the only
key when none is set. Rotation: put the new key in front of the old one ("NEW,OLD"), restart, run
`tripleplay rotate-credentials` (every stored secret encrypted again with NEW: platforms', NAS secrets,
internet passwords, webhook endpoints' secrets), then drop OLD. Rotating
SECRET_KEY without a credentials key makes stored platform secrets unreadable (re-enter them), so
production should set one. Secrets are decrypted only in memory, when an adapter is built, and are
never returned by the API or shown in the admin.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

from tripleplay.settings import env_secret


def _derived_key() -> bytes:
    digest = hashlib.sha256(("tripleplay-credentials:" + settings.SECRET_KEY).encode()).digest()
    return base64.urlsafe_b64encode(digest)


def configured_keys() -> list[bytes]:
    """The configured keys, newest first (none: an empty list)."""
    return [k.strip().encode() for k in env_secret("TRIPLEPLAY_CREDENTIALS_KEY").split(",") if k.strip()]


def _fernet() -> MultiFernet:
    keys = configured_keys()
    derived = _derived_key()
    return MultiFernet([Fernet(k) for k in keys] + ([Fernet(derived)] if derived not in keys else []))


def encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode() if secret else ""


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise ValueError("the stored platform secret cannot be decrypted with the current key") from None


def rotate_rows(queryset, fields: tuple[str, ...]) -> list:
    """Every stored secret in ``fields`` of the rows of ``queryset`` encrypted again with the first key,
    the rows locked (the caller's transaction). Returns the rows rewritten; a secret no key opens raises
    ValueError naming the row, and the caller's transaction rolls back whatever was rewritten."""
    rotated = []
    for row in queryset.select_for_update().order_by("pk"):
        changes = {}
        for field in fields:
            token = getattr(row, field)
            if token:
                try:
                    changes[field] = rotate(token)
                except ValueError:
                    raise ValueError(f"{row._meta.model_name} {row.pk}: {field} cannot be decrypted with the current keys") \
                        from None
        if changes:
            type(row).objects.filter(pk=row.pk).update(**changes)
            rotated.append(row)
    return rotated


def rotate(token: str) -> str:
    """``token`` encrypted again with the first key (it must decrypt with one of the keys)."""
    if not token:
        return ""
    try:
        return _fernet().rotate(token.encode()).decode()
    except InvalidToken:
        raise ValueError("the stored platform secret cannot be decrypted with the current key") from None
