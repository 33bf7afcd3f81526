"""Assessment standards (考核标准), periodic assessments (定期考核) and field inspections (实地考察).

A published standard and a signed assessment never change: the services refuse, a
``before_flush`` check refuses whatever slips past them, and database triggers (see the
migration) refuse UPDATE and DELETE from anyone, the command line included.
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
from reliefsvc.providers.models import bureau_or_own
from reliefsvc.regions.models import Region
from reliefsvc.security.models import BUREAU_ROLES, User


class Method(enum.StrEnum):
    COMPUTED = "computed"
    ENTERED = "entered"
    DEDUCTION = "deduction"

    @property
    def label(self) -> str:
        return str({"computed": _l("Computed from data"), "entered": _l("Scored by the evaluator"),
                    "deduction": _l("Deduction per event")}[self.value])


class StandardStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"

    @property
    def label(self) -> str:
        return str({"draft": _l("Draft"), "published": _l("Published")}[self.value])


class AssessmentStatus(enum.StrEnum):
    DRAFT = "draft"
    #: sent to the provider: the comment window runs
    COMMENTING = "commenting"
    SIGNED = "signed"

    @property
    def label(self) -> str:
        return str({"draft": _l("Draft: being scored"), "commenting": _l("With the provider for comment"),
                    "signed": _l("Signed")}[self.value])


class Grade(enum.StrEnum):
    EXCELLENT = "excellent"
    GOOD = "good"
    PASS = "pass"  # noqa: S105 — a grade, not a password
    FAIL = "fail"

    @property
    def label(self) -> str:
        return str({"excellent": _l("Excellent"), "good": _l("Good"), "pass": _l("Pass"),
                    "fail": _l("Fail")}[self.value])


class Standard(db.Model):
    """One version of a rubric. Editable while a draft; published, it is frozen."""

    __tablename__ = "assessment_standard"
    __table_args__ = (sa.UniqueConstraint("code", "version", name="uq_assessment_standard_code_version"),
                      sa.CheckConstraint("good_from < excellent_from AND pass_from < good_from",
                                         name="grade_edges_ordered"))

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The rubric's lasting name across versions ("KL-ZJ"); a new version keeps it.
    code: Mapped[str] = mapped_column(sa.String(40))
    version: Mapped[int] = mapped_column(default=1)
    name: Mapped[str] = mapped_column(sa.String(200))
    status: Mapped[StandardStatus] = mapped_column(str_enum(StandardStatus, 12), default=StandardStatus.DRAFT)
    #: The lowest total of each grade (优秀 ≥ 90, 良好 ≥ 80, 合格 ≥ 60 by default).
    excellent_from: Mapped[Decimal] = mapped_column(sa.Numeric(5, 2), default=Decimal(90))
    good_from: Mapped[Decimal] = mapped_column(sa.Numeric(5, 2), default=Decimal(80))
    pass_from: Mapped[Decimal] = mapped_column(sa.Numeric(5, 2), default=Decimal(60))
    based_on_id: Mapped[int | None] = mapped_column(sa.ForeignKey("assessment_standard.id", ondelete="RESTRICT"))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime]
    published_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="RESTRICT"))
    published_at: Mapped[datetime | None]

    sections: Mapped[list[StandardSection]] = relationship(back_populates="standard",
                                                           order_by="StandardSection.position")
    based_on: Mapped[Standard | None] = relationship(remote_side=[id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    published_by: Mapped[User | None] = relationship(foreign_keys=[published_by_id])

    @property
    def indicators(self) -> list[StandardIndicator]:
        return [i for s in self.sections for i in s.indicators]

    @property
    def points(self) -> Decimal:
        return sum((s.points for s in self.sections), Decimal(0))


class StandardSection(db.Model):
    __tablename__ = "assessment_section"
    __table_args__ = (sa.CheckConstraint("points > 0", name="points_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    standard_id: Mapped[int] = mapped_column(sa.ForeignKey("assessment_standard.id", ondelete="RESTRICT"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(sa.String(100))
    points: Mapped[Decimal] = mapped_column(sa.Numeric(6, 2))

    standard: Mapped[Standard] = relationship(back_populates="sections")
    indicators: Mapped[list[StandardIndicator]] = relationship(back_populates="section",
                                                               order_by="StandardIndicator.position")


class StandardIndicator(db.Model):
    __tablename__ = "assessment_indicator"
    __table_args__ = (sa.CheckConstraint("max_points > 0", name="max_points_positive"),
                      sa.CheckConstraint("method = 'entered' OR source IS NOT NULL", name="source_given"))

    id: Mapped[int] = mapped_column(primary_key=True)
    section_id: Mapped[int] = mapped_column(sa.ForeignKey("assessment_section.id", ondelete="RESTRICT"), index=True)
    #: The standard, again: lets the database refuse changes to a published standard's rows.
    standard_id: Mapped[int] = mapped_column(sa.ForeignKey("assessment_standard.id", ondelete="RESTRICT"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(sa.String(200))
    max_points: Mapped[Decimal] = mapped_column(sa.Numeric(6, 2))
    method: Mapped[Method] = mapped_column(str_enum(Method, 12))
    #: computed: a key of rules.COMPUTED; deduction: a key of rules.DEDUCTIONS
    source: Mapped[str | None] = mapped_column(sa.String(40))
    #: computed: the value that earns full points and the value that earns none (linear
    #: between); deduction: the points taken off per event.
    full_at: Mapped[Decimal | None] = mapped_column(sa.Numeric(10, 4))
    zero_at: Mapped[Decimal | None] = mapped_column(sa.Numeric(10, 4))
    per_event: Mapped[Decimal | None] = mapped_column(sa.Numeric(6, 2))
    #: What the evaluator looks at (评分细则).
    guidance: Mapped[str] = mapped_column(sa.Text, default="")

    section: Mapped[StandardSection] = relationship(back_populates="indicators")
    standard: Mapped[Standard] = relationship()


class ContractStandard(db.Model):
    """The standard a contract is assessed on, how often, and the consequences it sets."""

    __tablename__ = "assessment_binding"
    __table_args__ = (sa.CheckConstraint("period IN ('month', 'quarter')", name="period_known"),
                      sa.CheckConstraint("comment_days BETWEEN 1 AND 60", name="comment_days_range"))

    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contract.id", ondelete="CASCADE"), primary_key=True)
    standard_id: Mapped[int] = mapped_column(sa.ForeignKey("assessment_standard.id", ondelete="RESTRICT"))
    period: Mapped[str] = mapped_column(sa.String(10), default="quarter")
    comment_days: Mapped[int] = mapped_column(default=14)
    #: Payment coefficient per grade (支付系数).
    coef_excellent: Mapped[Decimal] = mapped_column(sa.Numeric(4, 2), default=Decimal("1.00"))
    coef_good: Mapped[Decimal] = mapped_column(sa.Numeric(4, 2), default=Decimal("1.00"))
    coef_pass: Mapped[Decimal] = mapped_column(sa.Numeric(4, 2), default=Decimal("0.90"))
    coef_fail: Mapped[Decimal] = mapped_column(sa.Numeric(4, 2), default=Decimal("0.70"))
    bound_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="RESTRICT"))
    bound_at: Mapped[datetime]

    contract: Mapped[Contract] = relationship()
    standard: Mapped[Standard] = relationship()
    bound_by: Mapped[User | None] = relationship()

    def coefficient(self, grade: str) -> Decimal:
        return getattr(self, f"coef_{grade}")


class Assessment(db.Model):
    __tablename__ = "assessment"
    __table_args__ = (sa.UniqueConstraint("contract_id", "period_key", name="uq_assessment_contract_period"),
                      sa.CheckConstraint("status <> 'signed' OR (signed_at IS NOT NULL AND grade IS NOT NULL)",
                                         name="signed_complete"))

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contract.id", ondelete="RESTRICT"), index=True)
    standard_id: Mapped[int] = mapped_column(sa.ForeignKey("assessment_standard.id", ondelete="RESTRICT"))
    #: "month" or "quarter"; the key is "2026-05" or "2026-Q2"
    period: Mapped[str] = mapped_column(sa.String(10))
    period_key: Mapped[str] = mapped_column(sa.String(10))
    day_from: Mapped[date]
    #: the last day of the period (inclusive)
    day_to: Mapped[date]
    status: Mapped[AssessmentStatus] = mapped_column(str_enum(AssessmentStatus, 12), default=AssessmentStatus.DRAFT,
                                                     index=True)
    total: Mapped[Decimal] = mapped_column(sa.Numeric(6, 2), default=Decimal(0))
    grade: Mapped[str | None] = mapped_column(sa.String(10))
    #: payment coefficient of the grade, fixed at signing
    coefficient: Mapped[Decimal | None] = mapped_column(sa.Numeric(4, 2))
    #: what the grade triggered: "warning", "termination_review" (comma-separated)
    consequences: Mapped[str] = mapped_column(sa.String(100), default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    #: last local day on which the provider may comment or appeal
    comment_until: Mapped[date | None]
    #: the provider declared it has no further comments (the window closed early)
    comments_closed_at: Mapped[datetime | None]
    signed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="RESTRICT"))
    signed_at: Mapped[datetime | None]

    contract: Mapped[Contract] = relationship()
    standard: Mapped[Standard] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    signed_by: Mapped[User | None] = relationship(foreign_keys=[signed_by_id])
    scores: Mapped[list[AssessmentScore]] = relationship(back_populates="assessment", order_by="AssessmentScore.id")
    comments: Mapped[list[AssessmentComment]] = relationship(back_populates="assessment",
                                                             order_by="AssessmentComment.id")

    def visible_to(self, user) -> bool:
        """Bureau roles always; the provider once the draft is sent to it for comment."""
        if user.role in BUREAU_ROLES:
            return True
        return self.status is not AssessmentStatus.DRAFT and self.contract.visible_to(user)

    @property
    def grade_label(self) -> str:
        return Grade(self.grade).label if self.grade else ""

    def window_open(self, today: date) -> bool:
        return (self.status is AssessmentStatus.COMMENTING and self.comments_closed_at is None
                and self.comment_until is not None and today <= self.comment_until)

    @property
    def undecided_appeals(self) -> list[AssessmentComment]:
        return [c for c in self.comments if c.kind == "appeal" and c.decision is None]


class AssessmentScore(db.Model):
    """One indicator's points in one assessment, with the figure and source behind them."""

    __tablename__ = "assessment_score"
    __table_args__ = (sa.UniqueConstraint("assessment_id", "indicator_id", name="uq_assessment_score_indicator"),
                      sa.CheckConstraint("points IS NULL OR points >= 0", name="points_not_negative"))

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(sa.ForeignKey("assessment.id", ondelete="RESTRICT"), index=True)
    indicator_id: Mapped[int] = mapped_column(sa.ForeignKey("assessment_indicator.id", ondelete="RESTRICT"))
    #: None until an evaluator scores an entered indicator.
    points: Mapped[Decimal | None] = mapped_column(sa.Numeric(6, 2))
    #: The figure behind computed and deduction points, as a person reads it.
    figure: Mapped[str] = mapped_column(sa.Text, default="")
    #: Where the figure comes from (service records, spot checks, ...).
    source_label: Mapped[str] = mapped_column(sa.String(200), default="")
    #: The numbers themselves, for a later check.
    basis: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    #: Required for entered points and for any change on appeal.
    justification: Mapped[str] = mapped_column(sa.Text, default="")
    entered_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="RESTRICT"))
    entered_at: Mapped[datetime | None]

    assessment: Mapped[Assessment] = relationship(back_populates="scores")
    indicator: Mapped[StandardIndicator] = relationship()
    entered_by: Mapped[User | None] = relationship()


class AssessmentComment(db.Model):
    """The provider's comment, appeal (with evidence) or declaration of no further comments."""

    __tablename__ = "assessment_comment"
    __table_args__ = (sa.CheckConstraint("kind IN ('comment', 'appeal', 'no_further')", name="kind_known"),
                      sa.CheckConstraint("decision IS NULL OR decision IN ('upheld', 'rejected')",
                                         name="decision_known"))

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(sa.ForeignKey("assessment.id", ondelete="RESTRICT"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(12))
    #: The indicator an appeal contests.
    indicator_id: Mapped[int | None] = mapped_column(sa.ForeignKey("assessment_indicator.id", ondelete="RESTRICT"))
    text: Mapped[str] = mapped_column(sa.Text, default="")
    sha256: Mapped[str | None] = mapped_column(sa.String(64))
    filename: Mapped[str | None] = mapped_column(sa.String(200))
    content_type: Mapped[str | None] = mapped_column(sa.String(40))
    by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="RESTRICT"))
    at: Mapped[datetime]
    decision: Mapped[str | None] = mapped_column(sa.String(10))
    decision_note: Mapped[str] = mapped_column(sa.Text, default="")
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="RESTRICT"))
    decided_at: Mapped[datetime | None]

    assessment: Mapped[Assessment] = relationship(back_populates="comments")
    indicator: Mapped[StandardIndicator | None] = relationship()
    by: Mapped[User | None] = relationship(foreign_keys=[by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    def visible_to(self, user) -> bool:
        return self.assessment.visible_to(user)


class Inspection(db.Model):
    """An evaluator's visit to a service station or village (实地考察)."""

    __tablename__ = "inspection"

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contract.id", ondelete="RESTRICT"), index=True)
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("region.id", ondelete="RESTRICT"))
    #: The service station or place visited, in the evaluator's words.
    place: Mapped[str] = mapped_column(sa.String(200), default="")
    visited_on: Mapped[date]
    #: Who was met (names and roles), as written on the visit sheet.
    people_met: Mapped[str] = mapped_column(sa.Text, default="")
    #: [{"item": "...", "result": "ok" | "problem" | "na"}, ...]
    checklist: Mapped[list] = mapped_column(sa.JSON, default=list)
    summary: Mapped[str] = mapped_column(sa.Text, default="")
    evaluator_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="RESTRICT"))
    recorded_at: Mapped[datetime]
    rectification_notice_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("rectification_notice.id", ondelete="RESTRICT"))

    contract: Mapped[Contract] = relationship()
    region: Mapped[Region] = relationship()
    evaluator: Mapped[User | None] = relationship()
    findings: Mapped[list[InspectionFinding]] = relationship(back_populates="inspection",
                                                             order_by="InspectionFinding.id",
                                                             cascade="all, delete-orphan")
    photos: Mapped[list[InspectionPhoto]] = relationship(back_populates="inspection", order_by="InspectionPhoto.id",
                                                         cascade="all, delete-orphan")

    def visible_to(self, user) -> bool:
        return bureau_or_own(user, self.contract.provider.organisation_id)


class InspectionFinding(db.Model):
    __tablename__ = "inspection_finding"

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(sa.ForeignKey("inspection.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(sa.Text)
    rule: Mapped[str] = mapped_column(sa.Text, default="")
    #: A finding that takes points off in the assessment of its period.
    deducts: Mapped[bool] = mapped_column(default=True)
    #: Made into an item of a rectification notice.
    rectify: Mapped[bool] = mapped_column(default=False)

    inspection: Mapped[Inspection] = relationship(back_populates="findings")


class InspectionPhoto(db.Model):
    __tablename__ = "inspection_photo"

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(sa.ForeignKey("inspection.id", ondelete="CASCADE"), index=True)
    photo_id: Mapped[int] = mapped_column(sa.ForeignKey("photo.id", ondelete="RESTRICT"))
    filename: Mapped[str] = mapped_column(sa.String(200), default="")

    inspection: Mapped[Inspection] = relationship(back_populates="photos")

    def visible_to(self, user) -> bool:
        return self.inspection.visible_to(user)


class FrozenError(Exception):
    """A change to a signed assessment or a published standard."""


def _was(obj, attr: str):
    history = sa.inspect(obj).attrs[attr].history
    if history.deleted:
        return history.deleted[0]
    return getattr(obj, attr)


@event.listens_for(Session, "before_flush")
def _refuse_changes_to_frozen(session, _context, _instances):
    """The last line before the database triggers: whatever path a change takes."""
    for obj in list(session.dirty) + list(session.deleted):
        if not session.is_modified(obj) and obj not in session.deleted:
            continue
        if isinstance(obj, Assessment) and _was(obj, "status") == AssessmentStatus.SIGNED:
            raise FrozenError(f"assessment {obj.id} is signed and cannot change")
        if isinstance(obj, Standard) and _was(obj, "status") == StandardStatus.PUBLISHED:
            raise FrozenError(f"standard {obj.id} is published and cannot change")
    for obj in list(session.new) + list(session.dirty) + list(session.deleted):
        if isinstance(obj, (AssessmentScore, AssessmentComment)) and obj.assessment is not None \
                and obj.assessment.status is AssessmentStatus.SIGNED and _was(obj.assessment, "status") \
                == AssessmentStatus.SIGNED and (obj in session.new or session.is_modified(obj)
                                                or obj in session.deleted):
            raise FrozenError(f"assessment {obj.assessment.id} is signed and cannot change")
        if isinstance(obj, (StandardSection, StandardIndicator)):
            standard = obj.standard
            if standard is not None and standard not in session.new and _was(standard, "status") == StandardStatus.PUBLISHED and (
                    obj in session.new or session.is_modified(obj) or obj in session.deleted):
                raise FrozenError(f"standard {standard.id} is published and cannot change")
