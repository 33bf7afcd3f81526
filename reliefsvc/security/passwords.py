"""Argon2id password hashing.

The cost parameters are argon2-cffi's defaults (RFC 9106 low-memory profile) unless the
config sets ``ARGON2_PARAMETERS``; the test suite lowers them so that a role matrix of a
few hundred accounts stays quick. ``needs_rehash`` upgrades old hashes at login.
"""

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app, has_app_context

_default = PasswordHasher()


def _hasher() -> PasswordHasher:
    if not has_app_context():
        return _default
    params = current_app.config.get("ARGON2_PARAMETERS")
    if not params:
        return _default
    cache = current_app.extensions.setdefault("argon2_hasher", {})
    key = tuple(sorted(params.items()))
    if key not in cache:
        cache[key] = PasswordHasher(**params)
    return cache[key]


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher().check_needs_rehash(password_hash)
