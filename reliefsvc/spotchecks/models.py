"""Spot-check draws (随机抽查) and the checks of the records they drew.

A draw goes through three steps, each recorded in the audit log:

1. **frozen** — the sampling frame (the contract's records of the period, not rejected at
   review) is stored as its sorted refs, their SHA-256 and their risk scores, and the
   sample size is fixed by rule, all before anybody knows the seed;
2. **drawn** — the officer enters the seed (dice rolled at the meeting, who rolled, who
   watched, when); the tickets decide the sample, the same seed assigns the evaluators;
3. checks are filed by the evaluators; the sample may grow (escalation) over the same
   frozen frame, and an officer may publish the results (一公开).
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from reliefsvc.contracts.models import Contract
from reliefsvc.db import str_enum
from reliefsvc.evidence.models import Photo, ServiceRecord
from reliefsvc.extensions import db
from reliefsvc.security.models import BUREAU_ROLES, User


class DrawStatus(enum.StrEnum):
    PROPOSED = "proposed"
    FROZEN = "frozen"
    DRAWN = "drawn"

    @property
    def label(self) -> str:
        return str({"proposed": _l("Proposed"), "frozen": _l("Frame frozen, awaiting the seed"),
                    "drawn": _l("Drawn")}[self.value])


class SizeRule(enum.StrEnum):
    #: max(min_count, ceil(share × N))
    SHARE = "share"
    #: attribute sampling for a confidence and a tolerable false-service rate
    ATTRIBUTE = "attribute"
    #: a size the officer gives (and the command line)
    FIXED = "fixed"

    @property
    def label(self) -> str:
        return str({"share": _l("Minimum count and share"), "attribute": _l("Attribute sampling"),
                    "fixed": _l("Fixed size")}[self.value])


class Stratum(enum.StrEnum):
    RANDOM = "random"
    RISK = "risk"

    @property
    def label(self) -> str:
        return str({"random": _l("Random"), "risk": _l("Risk")}[self.value])


class CheckOutcome(enum.StrEnum):
    CONFIRMED = "confirmed"
    PARTLY = "partly"
    NOT_DELIVERED = "not_delivered"

    @property
    def label(self) -> str:
        return str({"confirmed": _l("Service confirmed"), "partly": _l("Partly delivered"),
                    "not_delivered": _l("Not delivered (false service)")}[self.value])


class CheckMethod(enum.StrEnum):
    PHONE = "phone"
    REVISIT = "revisit"

    @property
    def label(self) -> str:
        return str({"phone": _l("Phone call"), "revisit": _l("Revisit")}[self.value])


class SpotCheckDraw(db.Model):
    __tablename__ = "spotcheck_draw"
    __table_args__ = (
        sa.CheckConstraint("day_to >= day_from", name="period_in_order"),
        sa.CheckConstraint("status = 'proposed' OR frame_hash IS NOT NULL", name="frozen_has_frame"),
        sa.CheckConstraint("status <> 'drawn' OR seed IS NOT NULL", name="drawn_has_seed"),
        sa.CheckConstraint("size >= 0 AND risk_size >= 0", name="sizes_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contract.id", ondelete="RESTRICT"), index=True)
    #: The period (local days, both included) whose records form the population.
    day_from: Mapped[date]
    day_to: Mapped[date]
    status: Mapped[DrawStatus] = mapped_column(str_enum(DrawStatus, 12), default=DrawStatus.PROPOSED)
    size_rule: Mapped[SizeRule] = mapped_column(str_enum(SizeRule, 12), default=SizeRule.SHARE)
    min_count: Mapped[int] = mapped_column(default=10)
    #: Share of the population for the share rule (0.05 = 5 %).
    share: Mapped[Decimal] = mapped_column(sa.Numeric(6, 4), default=Decimal("0.05"))
    confidence: Mapped[Decimal] = mapped_column(sa.Numeric(6, 4), default=Decimal("0.95"))
    #: The false-service rate the bureau tolerates: attribute sampling and escalation use it.
    tolerable_rate: Mapped[Decimal] = mapped_column(sa.Numeric(6, 4), default=Decimal("0.05"))
    #: False services the attribute sample may contain and still pass.
    expected_errors: Mapped[int] = mapped_column(default=0)
    #: The random-stratum size now (grows with each escalation).
    size: Mapped[int] = mapped_column(default=0)
    #: The random-stratum size fixed when the frame was frozen.
    initial_size: Mapped[int] = mapped_column(default=0)
    risk_size: Mapped[int] = mapped_column(default=0)
    population_size: Mapped[int] = mapped_column(default=0)
    #: SHA-256 (hex) of the sorted, newline-joined population refs (spec: spot-check draw).
    frame_hash: Mapped[str | None] = mapped_column(sa.String(64))
    #: The frozen population itself: its refs sorted and newline-joined (hashes to frame_hash).
    frame_text: Mapped[str | None] = mapped_column(sa.Text)
    #: Risk scores (> 0) of the frozen population, {record_ref: score}, frozen with it.
    risk_scores: Mapped[dict | None] = mapped_column(sa.JSON)
    frozen_at: Mapped[datetime | None]
    frozen_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="RESTRICT"))
    seed: Mapped[str | None] = mapped_column(sa.String(200))
    #: Who rolled the dice (or drew the seed otherwise), as the officer wrote it.
    seed_rolled_by: Mapped[str | None] = mapped_column(sa.String(200))
    #: Who watched the seed being made.
    seed_witnesses: Mapped[str | None] = mapped_column(sa.String(300))
    #: When the seed was made (the meeting), as opposed to when it was entered.
    seed_rolled_at: Mapped[datetime | None]
    drawn_at: Mapped[datetime | None]
    drawn_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="RESTRICT"))
    #: How many times the sample grew.
    escalations: Mapped[int] = mapped_column(default=0)
    #: "web", "cli" or "job" (a monthly proposal).
    origin: Mapped[str] = mapped_column(sa.String(10), default="web")
    proposed_at: Mapped[datetime | None]
    published_at: Mapped[datetime | None]
    published_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="RESTRICT"))

    contract: Mapped[Contract] = relationship()
    frozen_by: Mapped[User | None] = relationship(foreign_keys=[frozen_by_id])
    drawn_by: Mapped[User | None] = relationship(foreign_keys=[drawn_by_id])
    published_by: Mapped[User | None] = relationship(foreign_keys=[published_by_id])
    items: Mapped[list[SpotCheckItem]] = relationship(
        back_populates="draw", cascade="all, delete-orphan",
        order_by=lambda: [SpotCheckItem.stratum, SpotCheckItem.ticket])

    def visible_to(self, user) -> bool:
        # Draws, with the evaluators and outcomes of each record, are the bureau's working
        # papers; providers see the published results page.
        return user.role in BUREAU_ROLES

    @property
    def frame_refs(self) -> list[str]:
        return self.frame_text.split("\n") if self.frame_text else []

    @property
    def random_items(self) -> list[SpotCheckItem]:
        return [i for i in self.items if i.stratum is Stratum.RANDOM]

    @property
    def risk_items(self) -> list[SpotCheckItem]:
        return [i for i in self.items if i.stratum is Stratum.RISK]


class SpotCheckItem(db.Model):
    """One drawn record and its check."""

    __tablename__ = "spotcheck_item"
    __table_args__ = (
        sa.UniqueConstraint("draw_id", "record_id", name="uq_spotcheck_item_draw_record"),
        sa.CheckConstraint("satisfaction IS NULL OR (satisfaction BETWEEN 1 AND 5)", name="satisfaction_range"),
        sa.CheckConstraint("outcome IS NULL OR checked_at IS NOT NULL", name="outcome_has_time"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    draw_id: Mapped[int] = mapped_column(sa.ForeignKey("spotcheck_draw.id", ondelete="CASCADE"), index=True)
    record_id: Mapped[int] = mapped_column(sa.ForeignKey("service_record.id", ondelete="RESTRICT"), index=True)
    #: Copied from the record when drawn: the ref the ticket was computed from.
    record_ref: Mapped[str] = mapped_column(sa.String(60))
    #: SHA-256 of "seed|record_ref", 64 lowercase hex digits (orders like the integer).
    ticket: Mapped[str] = mapped_column(sa.String(64))
    stratum: Mapped[Stratum] = mapped_column(str_enum(Stratum, 10))
    #: 0 for the first draw, n for the n-th escalation.
    round: Mapped[int] = mapped_column(default=0)
    evaluator_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="RESTRICT"),
                                                     index=True)
    assigned_at: Mapped[datetime | None]
    outcome: Mapped[CheckOutcome | None] = mapped_column(str_enum(CheckOutcome, 16))
    method: Mapped[CheckMethod | None] = mapped_column(str_enum(CheckMethod, 10))
    #: The household (or the evaluator's visit) says the service took place.
    service_happened: Mapped[bool | None]
    #: How long the service took, as the household remembers it.
    minutes: Mapped[int | None]
    what_done: Mapped[str] = mapped_column(sa.Text, default="")
    #: The household's satisfaction, 1 (very unsatisfied) to 5 (very satisfied).
    satisfaction: Mapped[int | None]
    photo_id: Mapped[int | None] = mapped_column(sa.ForeignKey("photo.id", ondelete="RESTRICT"))
    remarks: Mapped[str] = mapped_column(sa.Text, default="")
    checked_at: Mapped[datetime | None]
    checked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="RESTRICT"))
    #: The rectification notice a "not delivered" outcome raised (rectifications domain).
    notice_id: Mapped[int | None]

    draw: Mapped[SpotCheckDraw] = relationship(back_populates="items")
    record: Mapped[ServiceRecord] = relationship()
    evaluator: Mapped[User | None] = relationship(foreign_keys=[evaluator_id])
    checked_by: Mapped[User | None] = relationship(foreign_keys=[checked_by_id])
    photo: Mapped[Photo | None] = relationship()

    def visible_to(self, user) -> bool:
        return self.draw.visible_to(user)

    @property
    def open(self) -> bool:
        return self.outcome is None
