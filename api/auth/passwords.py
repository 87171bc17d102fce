"""Password hashing with Argon2id (pwdlib's recommended parameters)."""

from __future__ import annotations

from functools import lru_cache

from pwdlib import PasswordHash


@lru_cache
def _hasher() -> PasswordHash:
    return PasswordHash.recommended()


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password: str, hashed: str) -> bool:
    """True when `password` matches; a malformed stored hash counts as no match."""
    try:
        return _hasher().verify(password, hashed)
    except Exception:
        return False


@lru_cache
def _dummy_hash() -> str:
    return hash_password("not-a-real-password")


def dummy_verify(password: str) -> None:
    """Spend the time a real check takes, so login timing does not reveal which emails exist."""
    verify_password(password, _dummy_hash())
