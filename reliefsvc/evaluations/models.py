"""Annual evaluations (年度评估): one per contract and execution year, on the three
dimensions of section 十四 (项目管理, 服务成效, 经费使用).

A signed evaluation never changes: the service refuses, a ``before_flush`` check refuses
whatever slips past it, and database triggers (see the migration) refuse UPDATE and
DELETE of the evaluation and any change to its dimensions and comments.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy import event
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from reliefsvc.contracts.models import Contract
from reliefsvc.db import str_enum
from reliefsvc.extensions import db
from reliefsvc.security.models import BUREAU_ROLES, Role, User


class EvaluationStatus(enum.StrEnum):
    #: opened (by the daily job or an officer); the evaluator scores it
    DRAFT = "draft"
    #: sent to the provider: its comment window runs
    COMMENTING = "commenting"
    SIGNED = "signed"

    @property
    def label(self) -> str:
        return str({"draft": _l("Draft: being scored"), "commenting": _l("With the provider for comment"),
                    "signed": _l("Signed")}[self.value])


class Rating(enum.StrEnum):
    EXCELLENT = "excellent"
    GOOD = "good"
    PASS = "pass"  # noqa: S105 — a rating, not a password
    FAIL = "fail"

    @property
    def label(self) -> str:
        return str({"excellent": _l("Excellent"), "good": _l("Good"), "pass": _l("Pass"),
                    "fail": _l("Fail")}[self.value])


class Evaluation(db.Model):
    """The evaluation of one execution year of one contract."""

    __tablename__ = "evaluation"
    __table_args__ = (
        sa.UniqueConstraint("contract_id", "year_no", name="uq_evaluation_contract_year"),
        sa.UniqueConstraint("doc_no", name="uq_evaluation_doc_no"),
        sa.CheckConstraint("year_no >= 1", name="year_no_positive"),
        sa.CheckConstraint("day_from <= day_to", name="days_ordered"),
        sa.CheckConstraint("origin IN ('job', 'officer', 'demo', 'cli')", name="origin_known"),
        sa.CheckConstraint("rating IS NULL OR rating IN ('excellent', 'good', 'pass', 'fail')", name="rating_known"),
        sa.CheckConstraint("status <> 'signed' OR (signed_at IS NOT NULL AND signed_by_id IS NOT NULL "
                           "AND rating IS NOT NULL AND rebuy IS NOT NULL AND doc_no IS NOT NULL)",
                           name="signed_complete"),
        # the reviewing officer is never the evaluator who scored it
        sa.CheckConstraint("signed_by_id IS NULL OR assessor_id IS NULL OR signed_by_id <> assessor_id",
                           name="signer_not_assessor"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contract.id", ondelete="RESTRICT"), index=True)
    #: The execution year, counted from the contract's start: 1 is starts_on to a day before
    #: its first anniversary (cut at ends_on).
    year_no: Mapped[int]
    #: The calendar year the execution year begins in: what ``--year`` and the comparison use.
    year: Mapped[int] = mapped_column(index=True)
    day_from: Mapped[date]
    #: the last day of the execution year (inclusive)
    day_to: Mapped[date]
    #: a signed evaluation is due by this day (day_to + EVALUATION_DUE_DAYS)
    due_on: Mapped[date]
    status: Mapped[EvaluationStatus] = mapped_column(str_enum(EvaluationStatus, 12),
                                                     default=EvaluationStatus.DRAFT, index=True)
    #: who opened it: the daily job when the year ended, or an officer on demand
    origin: Mapped[str] = mapped_column(sa.String(10), default="job")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime]
    #: The indicators read from the platform's data: [{dimension, key, name, figure, source,
    #: value, basis}, ...]; read again while a draft, fixed once sent to the provider.
    indicators: Mapped[list] = mapped_column(sa.JSON, default=list)
    figures_at: Mapped[datetime | None]
    #: the evaluator who scored the dimensions (may not sign)
    assessor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="RESTRICT"))
    rating: Mapped[str | None] = mapped_column(sa.String(10))
    #: whether the bureau would buy from this provider again
    rebuy: Mapped[bool | None]
    #: the evaluator's overall conclusion
    summary: Mapped[str] = mapped_column(sa.Text, default="")
    sent_at: Mapped[datetime | None]
    #: last local day on which the provider may comment
    comment_until: Mapped[date | None]
    #: the provider declared it has no further comments (the window closed early)
    comments_closed_at: Mapped[datetime | None]
    signed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="RESTRICT"))
    signed_at: Mapped[datetime | None]
    #: document number given at signing, e.g. 康民评〔2026〕3号
    doc_no: Mapped[str | None] = mapped_column(sa.String(40))

    contract: Mapped[Contract] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    assessor: Mapped[User | None] = relationship(foreign_keys=[assessor_id])
    signed_by: Mapped[User | None] = relationship(foreign_keys=[signed_by_id])
    dimensions: Mapped[list[EvaluationDimension]] = relationship(back_populates="evaluation",
                                                                 order_by="EvaluationDimension.position")
    comments: Mapped[list[EvaluationComment]] = relationship(back_populates="evaluation",
                                                             order_by="EvaluationComment.id")

    def visible_to(self, user) -> bool:
        """Bureau roles always; the provider's manager once it is sent for comment."""
        if user.role in BUREAU_ROLES:
            return True
        return (user.role is Role.PROVIDER_MANAGER and self.status is not EvaluationStatus.DRAFT
                and self.contract.visible_to(user))

    @property
    def rating_label(self) -> str:
        return Rating(self.rating).label if self.rating else ""

    def window_open(self, today: date) -> bool:
        return (self.status is EvaluationStatus.COMMENTING and self.comments_closed_at is None
                and self.comment_until is not None and today <= self.comment_until)

    def dimension(self, code: str) -> EvaluationDimension | None:
        return next((d for d in self.dimensions if d.code == code), None)

    def indicators_of(self, code: str) -> list[dict]:
        return [i for i in self.indicators or [] if i.get("dimension") == code]


class EvaluationDimension(db.Model):
    """One dimension's score (0–100) and the evaluator's narrative."""

    __tablename__ = "evaluation_dimension"
    __table_args__ = (
        sa.UniqueConstraint("evaluation_id", "code", name="uq_evaluation_dimension_code"),
        sa.CheckConstraint("code IN ('management', 'outcomes', 'funds')", name="code_known"),
        sa.CheckConstraint("score IS NULL OR (score >= 0 AND score <= 100)", name="score_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(sa.ForeignKey("evaluation.id", ondelete="RESTRICT"), index=True)
    #: management (项目管理), outcomes (服务成效), funds (经费使用)
    code: Mapped[str] = mapped_column(sa.String(12))
    position: Mapped[int] = mapped_column(default=0)
    score: Mapped[Decimal | None] = mapped_column(sa.Numeric(5, 2))
    #: required: what the score rests on, in the evaluator's words
    narrative: Mapped[str] = mapped_column(sa.Text, default="")
    scored_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="RESTRICT"))
    scored_at: Mapped[datetime | None]

    evaluation: Mapped[Evaluation] = relationship(back_populates="dimensions")
    scored_by: Mapped[User | None] = relationship()

    @property
    def name(self) -> str:
        from reliefsvc.evaluations.rules import DIMENSION_NAMES

        return DIMENSION_NAMES[self.code]


class EvaluationComment(db.Model):
    """The provider's comment, or its declaration that it has no further comments."""

    __tablename__ = "evaluation_comment"
    __table_args__ = (sa.CheckConstraint("kind IN ('comment', 'no_further')", name="kind_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(sa.ForeignKey("evaluation.id", ondelete="RESTRICT"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(12))
    text: Mapped[str] = mapped_column(sa.Text, default="")
    by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="RESTRICT"))
    at: Mapped[datetime]

    evaluation: Mapped[Evaluation] = relationship(back_populates="comments")
    by: Mapped[User | None] = relationship()


class FrozenError(Exception):
    """A change to a signed evaluation."""


def _was_signed(obj) -> bool:
    history = sa.inspect(obj).attrs["status"].history
    before = history.deleted[0] if history.deleted else obj.status
    return before == EvaluationStatus.SIGNED


@event.listens_for(Session, "before_flush")
def _refuse_changes_to_signed(session, _context, _instances):
    """The last line before the database triggers: whatever path a change takes."""
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, Evaluation) and (session.is_modified(obj) or obj in session.deleted) \
                and obj not in session.new and _was_signed(obj):
            raise FrozenError(f"evaluation {obj.id} is signed and cannot change")
    for obj in list(session.new) + list(session.dirty) + list(session.deleted):
        if isinstance(obj, (EvaluationDimension, EvaluationComment)) and obj.evaluation is not None \
                and obj.evaluation not in session.new and _was_signed(obj.evaluation) \
                and (obj in session.new or session.is_modified(obj) or obj in session.deleted):
            raise FrozenError(f"evaluation {obj.evaluation.id} is signed and cannot change")
