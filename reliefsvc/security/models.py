"""Organisations, users and roles."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from reliefsvc.db import TimestampMixin
from reliefsvc.extensions import db


class Role(enum.StrEnum):
    ADMIN = "admin"
    OFFICER = "officer"
    EVALUATOR = "evaluator"
    PROVIDER_MANAGER = "provider_manager"
    PROVIDER_WORKER = "provider_worker"
    INSPECTOR = "inspector"
    #: 三员分立 (issue 15): roles, unlocks, second factors; no business data
    SECURITY_ADMIN = "security_admin"
    #: 三员分立 (issue 15): reads the audit log and verifies its chain; no business data
    AUDITOR = "auditor"

    @property
    def label(self) -> str:
        return str(ROLE_LABELS[self])

    @property
    def is_provider(self) -> bool:
        return self in (Role.PROVIDER_MANAGER, Role.PROVIDER_WORKER)


ROLE_LABELS = {
    Role.ADMIN: _l("System administrator"),
    Role.OFFICER: _l("Procurement officer"),
    Role.EVALUATOR: _l("Evaluator"),
    Role.PROVIDER_MANAGER: _l("Provider manager"),
    Role.PROVIDER_WORKER: _l("Provider worker"),
    Role.INSPECTOR: _l("Discipline inspector"),
    Role.SECURITY_ADMIN: _l("Security administrator"),
    Role.AUDITOR: _l("Security auditor"),
}

#: Everyone who works for the bureau side and may read across providers.
BUREAU_ROLES = (Role.ADMIN, Role.OFFICER, Role.EVALUATOR, Role.INSPECTOR)
PROVIDER_ROLES = (Role.PROVIDER_MANAGER, Role.PROVIDER_WORKER)
ALL_ROLES = tuple(Role)
#: Separation of duties (三员分立): system administration, security administration and audit.
#: Each is a role of its own; an account has one role, and never moves into or out of these.
DUTY_ROLES = (Role.ADMIN, Role.SECURITY_ADMIN, Role.AUDITOR)
#: Roles that work on accounts or the audit log only: they see no household, provider or record.
NON_BUSINESS_ROLES = frozenset({Role.SECURITY_ADMIN, Role.AUDITOR})
#: Who reads the audit log: the auditor, and the discipline inspector, whose oversight of the
#: bureau's decisions (who approved which payment, who revealed which ID number) needs it.
AUDIT_READER_ROLES = (Role.AUDITOR, Role.INSPECTOR)


class OrgKind(enum.StrEnum):
    BUREAU = "bureau"
    PROVIDER = "provider"
    EVALUATION_BODY = "evaluation_body"

    @property
    def label(self) -> str:
        return str(ORG_KIND_LABELS[self])


ORG_KIND_LABELS = {
    OrgKind.BUREAU: _l("Civil-affairs bureau"),
    OrgKind.PROVIDER: _l("Service provider"),
    OrgKind.EVALUATION_BODY: _l("Evaluation body"),
}


class Organisation(TimestampMixin, db.Model):
    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    kind: Mapped[OrgKind] = mapped_column(sa.Enum(OrgKind, native_enum=False, length=20,
                                                  values_callable=lambda e: [m.value for m in e]))
    users: Mapped[list[User]] = relationship(back_populates="organisation")

    def __repr__(self) -> str:
        return f"<Organisation {self.id} {self.name}>"


class User(UserMixin, TimestampMixin, db.Model):
    __tablename__ = "user_account"
    __table_args__ = (
        sa.CheckConstraint("length(username) >= 2", name="username_length"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(100))
    #: Argon2id hash in PHC string format; never the password itself.
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[Role] = mapped_column(sa.Enum(Role, native_enum=False, length=20,
                                               values_callable=lambda e: [m.value for m in e]))
    organisation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organisation.id", ondelete="RESTRICT"), index=True
    )
    #: A deactivated account cannot log in; accounts are never deleted (audit trail).
    is_enabled: Mapped[bool] = mapped_column(default=True)
    #: For courtesy copies of notifications when SMTP is configured; optional.
    email: Mapped[str | None] = mapped_column(sa.String(200))
    #: Preferred interface language; empty means the platform default (zh_CN).
    locale: Mapped[str | None] = mapped_column(sa.String(10))
    last_login_at: Mapped[datetime | None]
    # --- identity (issue 15) ---
    #: when the password was last set; its age counts from here (PASSWORD_MAX_AGE_DAYS)
    password_changed_at: Mapped[datetime | None]
    #: set by an initial or reset password: the next login goes to the change page first
    must_change_password: Mapped[bool] = mapped_column(default=False)
    #: failed logins (password or second factor) since the last success or unlock
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    #: base32 TOTP secret (RFC 6238); None until the user enrols
    #: sealed with AES-GCM under the instance's TOTP_KEY (identity.seal_secret): 64 characters
    totp_secret: Mapped[str | None] = mapped_column(sa.String(64))
    totp_enabled_at: Mapped[datetime | None]
    #: the 30-second step of the last accepted code: a code is good once
    totp_last_step: Mapped[int | None] = mapped_column(sa.BigInteger)
    #: raised by a password change or a second-factor reset: sessions of an older epoch end
    session_epoch: Mapped[int] = mapped_column(default=0)

    organisation: Mapped[Organisation | None] = relationship(back_populates="users")

    @property
    def is_active(self) -> bool:  # Flask-Login asks this
        return self.is_enabled

    @property
    def has_totp(self) -> bool:
        return self.totp_secret is not None

    def has_role(self, *roles: Role) -> bool:
        return self.role in roles

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"


class RecoveryCode(db.Model):
    """A one-time code that stands in for the authenticator app; only its SHA-256 is kept."""

    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    #: hex SHA-256 of the normalised code (80 random bits: a slow hash adds nothing)
    code_hash: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class LoginAttempt(db.Model):
    """One login attempt (password or second factor): the per-address rate limit counts these
    rows, so that every server process agrees. Rows older than a day are pruned as new ones come."""

    __tablename__ = "login_attempt"
    __table_args__ = (sa.Index("ix_login_attempt_address_at", "address", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    address: Mapped[str] = mapped_column(sa.String(64))
    username: Mapped[str] = mapped_column(sa.String(64))
    succeeded: Mapped[bool]
