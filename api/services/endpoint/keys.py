"""API keys of the endpoint: `vap_live_` + 32 URL-safe characters.

Only the key's sha256 is stored (and a short prefix to show in lists): a database leak
gives no usable key, and a key is shown once, when created or rotated. A key has 192
random bits, so a plain hash (no salt, no slow KDF) is safe and lets a key be found
by an indexed equality lookup.
"""

from __future__ import annotations

import hashlib
import secrets

KEY_PREFIX = "vap_live_"
_RANDOM_CHARS = 32  # token_urlsafe(24) gives exactly 32 characters
DISPLAY_CHARS = 8  # of the random part, after KEY_PREFIX, shown in lists


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(_RANDOM_CHARS * 3 // 4)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def display_prefix(key: str) -> str:
    return key[: len(KEY_PREFIX) + DISPLAY_CHARS]


def looks_like_key(value: str) -> bool:
    """Whether `value` has a key's shape; anything else is refused without a lookup."""
    return (
        value.startswith(KEY_PREFIX)
        and len(value) == len(KEY_PREFIX) + _RANDOM_CHARS
        and all(c.isalnum() or c in "-_" for c in value[len(KEY_PREFIX) :])
    )


def bearer_key(authorization: str | None) -> str | None:
    """The key in an `Authorization: Bearer <key>` header, or None."""
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not looks_like_key(value):
        return None
    return value
