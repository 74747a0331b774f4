"""The one-way form of an internet password that FreeRADIUS's pap checks itself (D270): rlm_pap's
SSHA2-512-Password, SHA-512 over the password's bytes followed by a random salt, stored as the
digest followed by the salt (rlm_pap.c pap_auth_ssha2: the first 64 bytes are the digest, the rest
salt). Written in hex with rlm_sql's "0x" prefix, which FreeRADIUS parses into the attribute's octets
without pap's ``normalise`` guessing. Pure: no database, no key."""

from __future__ import annotations

import hashlib
import hmac
import os

SALT_BYTES = 16
DIGEST_BYTES = 64


def ssha512(password: str, salt: bytes | None = None) -> str:
    """The password's salted SHA-512 as FreeRADIUS reads it: ``0x`` + hex(digest + salt)."""
    salt = os.urandom(SALT_BYTES) if salt is None else salt
    if not salt:
        raise ValueError("a salt is required")
    return "0x" + (hashlib.sha512(password.encode() + salt).digest() + salt).hex()


def ssha512_matches(given: str, stored: str) -> bool:
    """What rlm_pap decides for a PAP password ``given`` against ``stored`` (constant time)."""
    raw = bytes.fromhex(stored.removeprefix("0x"))
    digest, salt = raw[:DIGEST_BYTES], raw[DIGEST_BYTES:]
    return bool(salt) and hmac.compare_digest(hashlib.sha512(given.encode() + salt).digest(), digest)
