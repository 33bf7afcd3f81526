"""Identity rules as plain functions: password strength, lockout and session clocks, recovery codes.

No Flask and no session here; ``identity.py`` applies these with the configured numbers.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources

#: The four character classes a password draws on; it needs ``min_classes`` of them.
CLASSES = ("lower", "upper", "digit", "symbol")

#: 19,640 common passwords, lower-cased: Django's list (BSD licence, see data/NOTICE),
#: itself Royce Williams' list of the 20,000 most common passwords in public breaches.
COMMON_PASSWORDS_FILE = "common-passwords.txt.gz"


@functools.cache
def common_passwords() -> frozenset[str]:
    data = resources.files("reliefsvc.security").joinpath("data", COMMON_PASSWORDS_FILE).read_bytes()
    return frozenset(line.strip() for line in gzip.decompress(data).decode("utf-8").splitlines() if line.strip())


def character_classes(password: str) -> set[str]:
    found = set()
    for ch in password:
        if ch.islower():
            found.add("lower")
        elif ch.isupper():
            found.add("upper")
        elif ch.isdigit():
            found.add("digit")
        else:
            found.add("symbol")  # punctuation, spaces, and letters without case (汉字)
    return found


_EDGE = string.digits + string.punctuation + " "


def common_forms(password: str) -> set[str]:
    """The forms looked up in the common list: as typed (lower-cased), and without the digits
    and symbols people add around a common word ("Password2026!" is "password")."""
    lowered = password.lower()
    return {form for form in (lowered, lowered.strip(_EDGE), lowered.rstrip(_EDGE), lowered.lstrip(_EDGE))
            if len(form) >= 4}


@dataclass(frozen=True)
class PasswordProblem:
    code: str  # "length", "classes", "common", "username", "reused"
    zh: str
    en: str


def password_problems(password: str, *, username: str = "", min_length: int = 12, min_classes: int = 3,
                      refused: frozenset[str] = frozenset()) -> list[PasswordProblem]:
    """Everything wrong with ``password`` (an empty list: acceptable)."""
    problems = []
    if len(password) < min_length:
        problems.append(PasswordProblem("length", f"密码至少 {min_length} 个字符",
                                        f"a password has at least {min_length} characters"))
    if len(character_classes(password)) < min_classes:
        problems.append(PasswordProblem(
            "classes", f"密码须包含小写字母、大写字母、数字、符号四类中的至少 {min_classes} 类",
            f"a password mixes at least {min_classes} of: lower case, upper case, digits, symbols"))
    forms = common_forms(password)
    if forms & common_passwords() or password in refused:
        problems.append(PasswordProblem("common", "该密码过于常见，请另选", "this password is too common; choose another"))
    name = username.strip().lower()
    if len(name) >= 3 and name in password.lower():
        problems.append(PasswordProblem("username", "密码不能包含用户名", "a password must not contain the username"))
    return problems


def locked(locked_until: datetime | None, now: datetime) -> bool:
    return locked_until is not None and now < locked_until


def after_failure(failures: int, now: datetime, *, max_failures: int, lockout: timedelta) -> tuple[int, datetime | None]:
    """The failure count and lock after one more failure: the ``max_failures``-th locks."""
    failures += 1
    return (failures, now + lockout) if failures >= max_failures else (failures, None)


def password_expired(changed_at: datetime | None, now: datetime, max_age_days: int) -> bool:
    return bool(max_age_days) and changed_at is not None and now - changed_at > timedelta(days=max_age_days)


def session_end_reason(login_at: float | None, seen_at: float | None, now: float, *, idle: timedelta,
                       absolute: timedelta) -> str | None:
    """Why a session (its times as POSIX seconds) has ended, or None if it goes on."""
    if login_at is None or seen_at is None:
        return "unknown"
    if now - login_at > absolute.total_seconds():
        return "absolute"
    if now - seen_at > idle.total_seconds():
        return "idle"
    return None


RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i


def new_recovery_code() -> str:
    """16 characters of a 31-letter alphabet (79 bits), shown in four groups."""
    raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(16))
    return "-".join(raw[i:i + 4] for i in range(0, 16, 4))


def normalise_recovery_code(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def recovery_code_hash(code: str) -> str:
    return hashlib.sha256(normalise_recovery_code(code).encode("ascii", "ignore")).hexdigest()
