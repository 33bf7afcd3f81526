"""Rectification notices (整改通知): items to put right, each with the rule it breaks,
a deadline, the provider's answers with evidence and the officer's verdict on each."""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from reliefsvc.contracts.models import Contract
from reliefsvc.db import str_enum
from reliefsvc.extensions import db
from reliefsvc.security.models import User


class NoticeStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return str({"open": _l("Not yet closed"), "closed": _l("Closed")}[self.value])


class ItemStatus(enum.StrEnum):
    #: waiting for the provider's answer
    OPEN = "open"
    #: answered, waiting for the officer
    ANSWERED = "answered"
    #: the officer sent the answer back; the provider answers again
    SENT_BACK = "sent_back"
    ACCEPTED = "accepted"

    @property
    def label(self) -> str:
        return str(ITEM_LABELS[self.value])


ITEM_LABELS = {"open": _l("Awaiting answer"), "answered": _l("Awaiting review"), "sent_back": _l("Sent back"),
               "accepted": _l("Put right")}

#: Where a notice came from; other domains pass one of these as ``source``.
SOURCES = {"spotcheck": _l("Spot check"), "inspection": _l("Field inspection"), "assessment": _l("Assessment"),
           "officer": _l("Officer"), "integrity": _l("Integrity check")}


class RectificationNotice(db.Model):
    __tablename__ = "rectification_notice"

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contract.id", ondelete="RESTRICT"), index=True)
    #: "spotcheck", "inspection", "assessment", "officer", ... (see SOURCES)
    source: Mapped[str] = mapped_column(sa.String(20))
    #: The service record the notice is about, when there is one.
    record_id: Mapped[int | None] = mapped_column(sa.ForeignKey("service_record.id", ondelete="RESTRICT"))
    due_on: Mapped[date]
    status: Mapped[NoticeStatus] = mapped_column(str_enum(NoticeStatus, 10), default=NoticeStatus.OPEN, index=True)
    issued_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="RESTRICT"))
    issued_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]

    contract: Mapped[Contract] = relationship()
    issued_by: Mapped[User | None] = relationship()
    items: Mapped[list[RectificationItem]] = relationship(back_populates="notice", order_by="RectificationItem.position",
                                                         cascade="all, delete-orphan")

    def visible_to(self, user) -> bool:
        return self.contract.visible_to(user)

    @property
    def source_label(self) -> str:
        label = SOURCES.get(self.source)
        return str(label) if label is not None else self.source

    def overdue_on(self, day: date) -> bool:
        return self.status is NoticeStatus.OPEN and day > self.due_on


class RectificationItem(db.Model):
    __tablename__ = "rectification_item"
    __table_args__ = (
        sa.CheckConstraint("length(what) > 0", name="what_given"),
        sa.CheckConstraint("(status = 'accepted') = (accepted_on IS NOT NULL)", name="accepted_has_day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(sa.ForeignKey("rectification_notice.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    #: What the provider must put right.
    what: Mapped[str] = mapped_column(sa.Text)
    #: The contract clause, standard or rule it breaks.
    rule: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[ItemStatus] = mapped_column(str_enum(ItemStatus, 12), default=ItemStatus.OPEN)
    #: The local day the officer accepted the answer: on or before the notice's due day is on time.
    accepted_on: Mapped[date | None]
    #: The local day the overdue message went out (once per item).
    overdue_notified_on: Mapped[date | None]

    notice: Mapped[RectificationNotice] = relationship(back_populates="items")
    answers: Mapped[list[RectificationAnswer]] = relationship(back_populates="item",
                                                              order_by="RectificationAnswer.id")

    def visible_to(self, user) -> bool:
        return self.notice.visible_to(user)

    @property
    def closed_on_time(self) -> bool:
        return self.accepted_on is not None and self.accepted_on <= self.notice.due_on


class RectificationAnswer(db.Model):
    """One answer of the provider to an item, with its evidence and the officer's verdict."""

    __tablename__ = "rectification_answer"
    __table_args__ = (
        sa.CheckConstraint("verdict IS NULL OR verdict IN ('accepted', 'sent_back')", name="verdict_known"),
        sa.CheckConstraint("verdict IS NULL OR verdict = 'accepted' OR length(verdict_note) > 0",
                           name="sent_back_has_reason"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("rectification_item.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(sa.Text)
    #: SHA-256 of the evidence file in the evidence store, if one was given.
    sha256: Mapped[str | None] = mapped_column(sa.String(64))
    #: The uploader's file name, for display only.
    filename: Mapped[str | None] = mapped_column(sa.String(200))
    content_type: Mapped[str | None] = mapped_column(sa.String(40))
    answered_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="RESTRICT"))
    answered_at: Mapped[datetime]
    #: accepted | sent_back, once the officer decided
    verdict: Mapped[str | None] = mapped_column(sa.String(12))
    verdict_note: Mapped[str] = mapped_column(sa.Text, default="")
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="RESTRICT"))
    decided_at: Mapped[datetime | None]

    item: Mapped[RectificationItem] = relationship(back_populates="answers")
    answered_by: Mapped[User | None] = relationship(foreign_keys=[answered_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    def visible_to(self, user) -> bool:
        return self.item.visible_to(user)
