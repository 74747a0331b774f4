"""Platform credentials at rest: encrypted with Fernet (AES-128-CBC + HMAC-SHA256).

The key comes from TRIPLEPLAY_CREDENTIALS_KEY (a Fernet key: 32 url-safe base64 bytes) or, when that
is not set, is derived from the Django SECRET_KEY. Rotating SECRET_KEY without setting
TRIPLEPLAY_CREDENTIALS_KEY makes stored platform secrets unreadable (re-enter them): production
should set TRIPLEPLAY_CREDENTIALS_KEY. Secrets are decrypted only in memory, when an adapter is
built, and are never returned by the API or shown in the admin.
"""

from __future__ import annotations

import base64
import hashlib
import os

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


def _fernet() -> Fernet:
    key = os.environ.get("TRIPLEPLAY_CREDENTIALS_KEY", "").strip()
    if not key:
        digest = hashlib.sha256(("tripleplay-credentials:" + settings.SECRET_KEY).encode()).digest()
        key = base64.urlsafe_b64encode(digest).decode()
    return Fernet(key.encode())


def encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode() if secret else ""


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise ValueError("the stored platform secret cannot be decrypted with the current key") from None
