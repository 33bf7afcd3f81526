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
}

#: Everyone who works for the bureau side and may read across providers.
BUREAU_ROLES = (Role.ADMIN, Role.OFFICER, Role.EVALUATOR, Role.INSPECTOR)
PROVIDER_ROLES = (Role.PROVIDER_MANAGER, Role.PROVIDER_WORKER)
ALL_ROLES = tuple(Role)


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

    organisation: Mapped[Organisation | None] = relationship(back_populates="users")

    @property
    def is_active(self) -> bool:  # Flask-Login asks this
        return self.is_enabled

    def has_role(self, *roles: Role) -> bool:
        return self.role in roles

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"
