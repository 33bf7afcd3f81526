"""Personal access tokens of the JSON API and the remembered answers of its creates."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from reliefsvc.db import str_enum
from reliefsvc.extensions import db
from reliefsvc.security.models import Organisation, Role, User


class ApiToken(db.Model):
    """A personal access token: it acts as its user, within the role and organisation it was made for."""

    __tablename__ = "api_token"
    __table_args__ = (
        sa.CheckConstraint("expires_at > created_at", name="expires_after_creation"),
        sa.CheckConstraint("revoked_at IS NULL OR revoked_by_id IS NOT NULL", name="revocation_has_actor"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="RESTRICT"), index=True)
    #: What the owner calls it ("省救助系统同步"), to tell tokens apart on the page.
    name: Mapped[str] = mapped_column(sa.String(100))
    #: The first characters of the token ("rsv_AbCd1234"): shown on the page, never enough to use it.
    prefix: Mapped[str] = mapped_column(sa.String(16))
    #: SHA-256 (hex) of the whole token; the token itself is shown once and never stored.
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    #: The user's role and organisation when the token was made: a token stops working when
    #: either changes, so a moved account does not carry old powers into its new post.
    role: Mapped[Role] = mapped_column(str_enum(Role, 20))
    organisation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisation.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    #: The last day the token was used (updated at most once a day, to keep reads read-only).
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="RESTRICT"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    organisation: Mapped[Organisation | None] = relationship()
    revoked_by: Mapped[User | None] = relationship(foreign_keys=[revoked_by_id])

    def visible_to(self, user) -> bool:
        return user.role is Role.ADMIN or user.id == self.user_id

    def usable_at(self, now: datetime) -> bool:
        return self.revoked_at is None and self.expires_at > now


class IdempotencyKey(db.Model):
    """The first answer to a create sent with an ``Idempotency-Key``: a retry gets it again."""

    __tablename__ = "api_idempotency_key"
    __table_args__ = (sa.UniqueConstraint("user_id", "key", name="uq_api_idempotency_key_user_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Keys are per user (not per token), so a retry with a renewed token still finds its answer.
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(sa.String(100))
    #: "POST /api/v1/records": a key may not be reused for another operation.
    operation: Mapped[str] = mapped_column(sa.String(120))
    #: SHA-256 of the request (fields and file contents): the same key with another body is refused.
    request_hash: Mapped[str] = mapped_column(sa.String(64))
    status_code: Mapped[int]
    body: Mapped[dict] = mapped_column(sa.JSON)
    location: Mapped[str | None] = mapped_column(sa.String(300))
    created_at: Mapped[datetime]
