"""Identity (issue 15): password policy and age, lockout, per-address rate limit, TOTP with
recovery codes, role changes under the separation of duties. Functions flush, never commit;
every decision is written to the audit log. See docs/identity.md.
"""

from __future__ import annotations

import hmac
import io
import secrets
from datetime import datetime, timedelta

import pyotp
import sqlalchemy as sa
from flask import current_app

from reliefsvc import audit
from reliefsvc.db import utcnow
from reliefsvc.extensions import db
from reliefsvc.security import events, rules
from reliefsvc.security.models import (
    DUTY_ROLES,
    LoginAttempt,
    OrgKind,
    RecoveryCode,
    Role,
    User,
)
from reliefsvc.security.passwords import hash_password, needs_rehash, verify_password
from reliefsvc.security.service import ROLE_ORG_KIND, AccountError

RECOVERY_CODE_COUNT = 10
#: TOTP codes of the step before and after the current one are accepted (clock drift).
TOTP_DRIFT_STEPS = 1
TOTP_STEP_SECONDS = 30
#: login attempts older than this are pruned as new ones are written
ATTEMPT_RETENTION = timedelta(days=1)


def _cfg(name: str):
    return current_app.config[name]


def known_demo_passwords() -> frozenset[str]:
    from reliefsvc.demo import DEMO_PASSWORD

    return frozenset({DEMO_PASSWORD})


def is_production() -> bool:
    return current_app.config.get("ENV_NAME") == "production"


# --- passwords ---------------------------------------------------------------------------

def password_problems(password: str, username: str = "") -> list[rules.PasswordProblem]:
    # In production the public demo password is as good as a common one.
    refused = known_demo_passwords() if is_production() else frozenset()
    return rules.password_problems(password, username=username, min_length=_cfg("PASSWORD_MIN_LENGTH"),
                                   min_classes=_cfg("PASSWORD_MIN_CLASSES"), refused=refused)


def check_password(password: str, username: str = "") -> None:
    """Raise an ``AccountError`` naming every rule ``password`` breaks."""
    problems = password_problems(password, username)
    if problems:
        raise AccountError("；".join(p.zh for p in problems), "; ".join(p.en for p in problems))


def set_password(user: User, password: str, how: str, *, must_change: bool = False) -> None:
    """Set a new password (policy checked); other sessions of ``user`` end (the epoch moves)."""
    problems = password_problems(password, user.username)
    if not problems and verify_password(user.password_hash, password):
        problems.append(rules.PasswordProblem("reused", "新密码不能与当前密码相同",
                                              "the new password must differ from the current one"))
    if problems:
        audit.record(events.PasswordRefused(user_id=user.id, rules=[p.code for p in problems]))
        raise AccountError("；".join(p.zh for p in problems), "; ".join(p.en for p in problems))
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    user.must_change_password = must_change
    user.session_epoch = (user.session_epoch or 0) + 1
    db.session.flush()
    audit.record(events.PasswordChanged(user_id=user.id, how=how))


def password_expired(user: User, now: datetime | None = None) -> bool:
    return rules.password_expired(user.password_changed_at or user.created_at, now or utcnow(),
                                  _cfg("PASSWORD_MAX_AGE_DAYS"))


def must_change_password(user: User, now: datetime | None = None) -> bool:
    return bool(user.must_change_password) or password_expired(user, now)


# --- login: lockout and rate limit -------------------------------------------------------

def address_blocked(address: str, now: datetime | None = None) -> bool:
    now = now or utcnow()
    since = now - timedelta(minutes=_cfg("LOGIN_ADDRESS_WINDOW_MINUTES"))
    failures = db.session.scalar(
        sa.select(sa.func.count()).select_from(LoginAttempt).where(
            LoginAttempt.address == address, LoginAttempt.at > since, LoginAttempt.succeeded.is_(False)))
    return failures >= _cfg("LOGIN_ADDRESS_MAX_FAILURES")


def record_attempt(address: str, username: str, succeeded: bool, now: datetime | None = None) -> None:
    now = now or utcnow()
    db.session.execute(sa.delete(LoginAttempt).where(LoginAttempt.at < now - ATTEMPT_RETENTION))
    db.session.add(LoginAttempt(at=now, address=(address or "-")[:64], username=username[:64], succeeded=succeeded))
    db.session.flush()


def is_locked(user: User, now: datetime | None = None) -> bool:
    return rules.locked(user.locked_until, now or utcnow())


def register_failure(user: User, reason: str, now: datetime | None = None) -> None:
    """One more failed login for ``user``; the configured number locks the account."""
    now = now or utcnow()
    failures, until = rules.after_failure(user.failed_logins or 0, now, max_failures=_cfg("LOGIN_MAX_FAILURES"),
                                          lockout=timedelta(minutes=_cfg("LOGIN_LOCKOUT_MINUTES")))
    user.failed_logins = failures
    audit.record(events.LoginFailed(username=user.username, reason=reason))
    if until is not None:
        user.locked_until = until
        user.failed_logins = 0  # the next round of failures starts after the lock
        audit.record(events.AccountLocked(user_id=user.id, failures=failures, until=until.isoformat()))
    db.session.flush()


def register_success(user: User, now: datetime | None = None) -> None:
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now or utcnow()
    db.session.flush()


class LoginOutcome:
    OK = "ok"
    WRONG = "password"
    LOCKED = "locked"
    RATE_LIMITED = "rate_limited"
    DEMO_PASSWORD = "demo_password"  # noqa: S105 — an outcome name, not a password


def check_password_step(username: str, password: str, address: str) -> tuple[User | None, str]:
    """The first step of a login: (user, LoginOutcome.*). The user is returned only for OK."""
    username = username.strip()[:64]
    now = utcnow()
    if address_blocked(address, now):
        audit.record(events.LoginFailed(username=username, reason=LoginOutcome.RATE_LIMITED))
        record_attempt(address, username, False, now)
        return None, LoginOutcome.RATE_LIMITED
    user = db.session.scalar(sa.select(User).where(User.username == username))
    if user is not None and is_locked(user, now):
        # Refused before the password is even checked: guessing on goes nowhere.
        audit.record(events.LoginFailed(username=username, reason=LoginOutcome.LOCKED))
        record_attempt(address, username, False, now)
        return None, LoginOutcome.LOCKED
    if user is None or not user.is_enabled or not verify_password(user.password_hash, password):
        record_attempt(address, username, False, now)
        if user is not None and user.is_enabled:
            register_failure(user, LoginOutcome.WRONG, now)
            if is_locked(user, now):
                return None, LoginOutcome.LOCKED
        else:
            audit.record(events.LoginFailed(username=username))
        return None, LoginOutcome.WRONG
    if is_production() and password in known_demo_passwords():
        audit.record(events.LoginFailed(username=username, reason=LoginOutcome.DEMO_PASSWORD))
        record_attempt(address, username, False, now)
        return None, LoginOutcome.DEMO_PASSWORD
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user, LoginOutcome.OK


def complete_login(user: User, address: str) -> None:
    """The last step of a login (after the second factor, where there is one)."""
    register_success(user)
    record_attempt(address, user.username, True)
    audit.record(events.LoggedIn(user_id=user.id), actor=user)


def check_second_factor(user: User, code: str, recovery: str, address: str) -> tuple[str, bool]:
    """The second step of a login: (LoginOutcome.*, whether a recovery code was spent).

    A wrong code counts as a failed login, toward the lockout and the address limit alike."""
    now = utcnow()
    if address_blocked(address, now):
        audit.record(events.LoginFailed(username=user.username, reason=LoginOutcome.RATE_LIMITED))
        record_attempt(address, user.username, False, now)
        return LoginOutcome.RATE_LIMITED, False
    if is_locked(user, now):
        audit.record(events.LoginFailed(username=user.username, reason=LoginOutcome.LOCKED))
        record_attempt(address, user.username, False, now)
        return LoginOutcome.LOCKED, False
    if code.strip() and verify_totp(user, code, now):
        return LoginOutcome.OK, False
    if recovery.strip() and use_recovery_code(user, recovery, now):
        return LoginOutcome.OK, True
    record_attempt(address, user.username, False, now)
    register_failure(user, "second_factor", now)
    return (LoginOutcome.LOCKED if is_locked(user, now) else LoginOutcome.WRONG), False


# --- TOTP second factor ------------------------------------------------------------------

def totp_required(user: User) -> bool:
    return user.role.value in {str(r) for r in _cfg("TOTP_REQUIRED_ROLES")}


def new_totp_secret() -> str:
    return pyotp.random_base32()


def candidate_secret(user: User, nonce: str) -> str:
    """The secret offered at enrolment, derived from a nonce kept in the session and the server's key."""
    import base64
    import hashlib

    digest = hmac.new(current_app.config["SECRET_KEY"].encode(), f"totp-enrol:{user.id}:{nonce}".encode(),
                      hashlib.sha256).digest()
    return base64.b32encode(digest[:20]).decode("ascii")


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=_cfg("TOTP_ISSUER"))


def qr_svg(uri: str) -> str:
    """The QR code of ``uri`` as an inline SVG element (no image file, no script)."""
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=16, border=2)
    out = io.BytesIO()
    image.save(out)
    svg = out.getvalue().decode("utf-8")
    return svg[svg.index("<svg"):]  # drop the XML declaration: the element goes inside HTML


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    code = "".join(ch for ch in code if ch.isdigit())
    if len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    current = int(now.timestamp()) // TOTP_STEP_SECONDS
    for step in range(current - TOTP_DRIFT_STEPS, current + TOTP_DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.at(step * TOTP_STEP_SECONDS), code):
            return step
    return None


#: A sealed secret is 64 characters of URL-safe base64 (nonce, ciphertext and tag: 48 bytes);
#: a secret stored in clear before sealing existed is 32 characters of base32 (20 bytes),
#: sealed at its next use. The length tells them apart, so the column keeps its width.
SEALED_LENGTH = 64


def is_sealed(stored: str) -> bool:
    return len(stored) == SEALED_LENGTH


def _totp_cipher():
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    return AESGCM(bytes.fromhex(current_app.config["TOTP_KEY"])[:32])


def seal_secret(user_id: int, secret: str) -> str:
    """``secret`` (base32) encrypted with AES-256-GCM under ``TOTP_KEY`` (a file of the instance,
    never in the database), bound to its account: a database dump alone gives no second factor
    away, and a sealed value copied to another account does not open there."""
    import base64
    import os

    nonce = os.urandom(12)
    sealed = _totp_cipher().encrypt(nonce, base64.b32decode(secret), f"totp:{user_id}".encode())
    return base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def open_secret(user_id: int, stored: str) -> str:
    """The base32 secret of a stored value (sealed, or clear from before sealing)."""
    import base64

    if not is_sealed(stored):
        return stored
    raw = base64.urlsafe_b64decode(stored)
    return base64.b32encode(_totp_cipher().decrypt(raw[:12], raw[12:], f"totp:{user_id}".encode())).decode("ascii")


def seal_clear_secrets() -> int:
    """Seal every second-factor secret still stored in clear; returns how many (``reliefsvc init``)."""
    count = 0
    for user in db.session.scalars(sa.select(User).where(User.totp_secret.is_not(None),
                                                         sa.func.length(User.totp_secret) != SEALED_LENGTH)):
        user.totp_secret = seal_secret(user.id, user.totp_secret)
        count += 1
    db.session.flush()
    return count


def verify_totp(user: User, code: str, now: datetime | None = None) -> bool:
    """True for a right code not used before (a code, once accepted, is spent)."""
    if not user.totp_secret:
        return False
    step = _matching_step(open_secret(user.id, user.totp_secret), code, now or utcnow())
    if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
        return False
    user.totp_last_step = step
    if not is_sealed(user.totp_secret):
        user.totp_secret = seal_secret(user.id, user.totp_secret)
    db.session.flush()
    return True


def enrol_totp(user: User, secret: str, code: str, now: datetime | None = None) -> list[str] | None:
    """Take ``secret`` as the user's second factor if ``code`` is right; returns the recovery codes."""
    now = now or utcnow()
    step = _matching_step(secret, code, now)
    if step is None:
        return None
    user.totp_secret = seal_secret(user.id, secret)
    user.totp_enabled_at = now
    user.totp_last_step = step
    codes = _new_recovery_codes(user, now)
    audit.record(events.SecondFactorEnrolled(user_id=user.id))
    return codes


def _new_recovery_codes(user: User, now: datetime) -> list[str]:
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [rules.new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    db.session.add_all([RecoveryCode(user_id=user.id, code_hash=rules.recovery_code_hash(c), created_at=now)
                        for c in codes])
    db.session.flush()
    return codes


def regenerate_recovery_codes(user: User) -> list[str]:
    codes = _new_recovery_codes(user, utcnow())
    audit.record(events.SecondFactorEnrolled(user_id=user.id))
    return codes


def remaining_recovery_codes(user: User) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(RecoveryCode).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)))


def use_recovery_code(user: User, code: str, now: datetime | None = None) -> bool:
    """Spend one unused recovery code of ``user``; False if there is none such."""
    if not rules.normalise_recovery_code(code):
        return False
    found = db.session.scalar(sa.select(RecoveryCode).where(
        RecoveryCode.user_id == user.id, RecoveryCode.code_hash == rules.recovery_code_hash(code),
        RecoveryCode.used_at.is_(None)).with_for_update())
    if found is None:
        return False
    found.used_at = now or utcnow()
    db.session.flush()
    audit.record(events.RecoveryCodeUsed(user_id=user.id, remaining=remaining_recovery_codes(user)))
    return True


def reset_totp(user: User) -> None:
    """Remove the user's second factor and recovery codes (a lost phone); sessions end."""
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    user.session_epoch = (user.session_epoch or 0) + 1
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.session.flush()
    audit.record(events.SecondFactorReset(user_id=user.id, username=user.username))


#: letters and digits a person reads aloud or copies from paper without doubt (no 0/O, 1/l/I)
_PLAIN_LETTERS = "abcdefghjkmnpqrstuvwxyz"
_PLAIN_DIGITS = "23456789"


def temporary_password() -> str:
    """A one-time password the security administrator hands over: four groups of four,
    e.g. ``Hm7q-r4Kx-…``, 19 characters of four classes (about 90 bits), within the policy."""
    alphabet = _PLAIN_LETTERS + _PLAIN_LETTERS.upper() + _PLAIN_DIGITS
    while True:
        groups = ["".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(4)]
        password = "-".join(groups)
        if (any(c.islower() for c in password) and any(c.isupper() for c in password)
                and any(c.isdigit() for c in password) and not password_problems(password)):
            return password


def reset_password(actor: User, user: User) -> str:
    """The security administrator gives ``user`` a temporary password (a forgotten one).

    The account must choose its own at the next login, its sessions end and a lock is lifted.
    The three duties' passwords are reset at the console (``reliefsvc users set-password``),
    and nobody resets their own here: a security administrator who could would hold another
    duty's account. Returns the temporary password, which is shown once and never stored.
    """
    if user.id == actor.id:
        raise AccountError("不能在此重置自己的密码，请在“我的账户”中修改",
                           "your own password is changed under your account, not reset here")
    if user.role in DUTY_ROLES:
        raise AccountError("系统管理员、安全管理员和安全审计员的密码只能在服务器控制台重置",
                           "the passwords of the three duties are reset at the console")
    password = temporary_password()
    set_password(user, password, "reset", must_change=True)
    user.locked_until = None
    user.failed_logins = 0
    db.session.flush()
    return password


def unlock(user: User) -> None:
    user.locked_until = None
    user.failed_logins = 0
    db.session.flush()
    audit.record(events.AccountUnlocked(user_id=user.id, username=user.username))


# --- roles under the separation of duties (三员分立) -------------------------------------

#: Roles the security administrator may give on the users page: the business roles.
ASSIGNABLE_ROLES = tuple(r for r in Role if r not in DUTY_ROLES)


def change_role(actor: User, user: User, new_role: Role | str) -> None:
    """The security administrator changes ``user``'s role among the business roles.

    The three duties (system administrator, security administrator, auditor) are given when
    the account is made at the console (``reliefsvc users create``) and never change: no role
    change moves an account into or out of them, so no account ever holds two.
    """
    try:
        new_role = Role(new_role)
    except ValueError:
        raise AccountError(f"角色“{new_role}”不存在", f"unknown role {new_role!r}") from None
    why = None
    if actor.role is not Role.SECURITY_ADMIN:
        why = ("只有安全管理员可以变更角色", "only the security administrator changes roles", "not_security_admin")
    elif user.id == actor.id:
        why = ("不能变更自己的角色", "you cannot change your own role", "own_account")
    elif user.role in DUTY_ROLES or new_role in DUTY_ROLES:
        why = ("系统管理员、安全管理员、安全审计员三员分立：这三种角色只能在创建账号时授予，且不能变更",
               "separation of duties: the administrator, security administrator and auditor roles are given "
               "only when the account is made, and never changed", "duty_role")
    else:
        kind = ROLE_ORG_KIND[new_role]
        org_kind = user.organisation.kind if user.organisation else None
        if (kind is not None and org_kind is not kind) or (kind is None and org_kind is OrgKind.PROVIDER):
            why = (f"角色“{new_role.label}”与账号所属机构的类型不符",
                   f"role {new_role.value} does not fit the account's organisation", "organisation")
    if why is not None:
        audit.record(events.RoleChangeRefused(user_id=user.id, new_role=new_role.value, why=why[2]))
        raise AccountError(why[0], why[1])
    if new_role is user.role:
        return
    old = user.role
    user.role = new_role
    user.session_epoch = (user.session_epoch or 0) + 1  # the old role's sessions end
    db.session.flush()
    audit.record(events.RoleChanged(user_id=user.id, username=user.username, old_role=old.value,
                                    new_role=new_role.value))


# --- no default accounts in production ----------------------------------------------------

def accounts_with_demo_passwords() -> list[str]:
    """Enabled accounts named like a demo login that still open with a known demo password."""
    from reliefsvc.demo.accounts import LOGINS

    names = [username for username, *_ in LOGINS]
    users = db.session.scalars(sa.select(User).where(User.username.in_(names), User.is_enabled.is_(True))).all()
    demo = known_demo_passwords()
    return sorted(u.username for u in users if any(verify_password(u.password_hash, p) for p in demo))
