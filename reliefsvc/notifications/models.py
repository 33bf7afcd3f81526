from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from reliefsvc.extensions import db
from reliefsvc.security.models import User


class Notification(db.Model):
    __tablename__ = "notification"
    __table_args__ = (sa.Index("ix_notification_user_unread", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"))
    created_at: Mapped[datetime]
    #: what kind of message: "job.failed", "audit.damaged", "vetting.expiring" ...
    kind: Mapped[str] = mapped_column(sa.String(64))
    title: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text, default="")
    #: a path inside the platform to open from the message, never an outside URL
    link: Mapped[str | None] = mapped_column(sa.String(300))
    read_at: Mapped[datetime | None]
    emailed_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()

    def visible_to(self, user) -> bool:
        return self.user_id == user.id
