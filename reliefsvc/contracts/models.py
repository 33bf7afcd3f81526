"""Contracts, the service-type catalogue, obligations, targets, amendments, progress counters."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from reliefsvc.db import TimestampMixin, str_enum
from reliefsvc.extensions import db
from reliefsvc.providers.models import Provider, Vetting, bureau_or_own
from reliefsvc.regions.models import Region
from reliefsvc.security.models import User


class Labelled(enum.StrEnum):
    @property
    def label(self) -> str:
        return str(LABELS[self.__class__][self.value])


class ProcurementMethod(Labelled):
    PUBLIC_TENDER = "public_tender"
    COMPETITIVE_CONSULTATION = "competitive_consultation"
    COMPETITIVE_NEGOTIATION = "competitive_negotiation"
    SINGLE_SOURCE = "single_source"
    INQUIRY = "inquiry"
    FRAMEWORK = "framework"
    OTHER = "other"


class PricingModel(Labelled):
    OUTPUT = "output"
    PER_HEAD = "per_head"
    LUMP_SUM = "lump_sum"


class ContractStatus(Labelled):
    DRAFT = "draft"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    COMPLETED = "completed"
    TERMINATED = "terminated"


class Period(Labelled):
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


class Unit(Labelled):
    RECORDS = "records"
    CASES = "cases"
    HOURS = "hours"


class TargetGroup(Labelled):
    QUANTITY = "quantity"
    QUALITY = "quality"
    TIMELINESS = "timeliness"
    COST = "cost"
    SATISFACTION = "satisfaction"


class DocumentKind(Labelled):
    SIGNED_CONTRACT = "signed_contract"
    TENDER = "tender"
    AMENDMENT = "amendment"
    OTHER = "other"


LABELS = {
    ProcurementMethod: {"public_tender": _l("Public tender"), "competitive_consultation": _l("Competitive consultation"),
                        "competitive_negotiation": _l("Competitive negotiation"), "single_source": _l("Single source"),
                        "inquiry": _l("Request for quotations"), "framework": _l("Framework agreement"),
                        "other": _l("Other")},
    PricingModel: {"output": _l("By service output"), "per_head": _l("Per head or person-month"),
                   "lump_sum": _l("Lump sum")},
    ContractStatus: {"draft": _l("Draft"), "active": _l("Active"), "suspended": _l("Suspended"),
                     "completed": _l("Completed"), "terminated": _l("Terminated")},
    Period: {"month": _l("per month"), "quarter": _l("per quarter"), "year": _l("per year")},
    Unit: {"records": _l("records"), "cases": _l("households"), "hours": _l("hours")},
    TargetGroup: {"quantity": _l("Quantity"), "quality": _l("Quality"), "timeliness": _l("Timeliness"),
                  "cost": _l("Cost"), "satisfaction": _l("Satisfaction")},
    DocumentKind: {"signed_contract": _l("Signed contract"), "tender": _l("Tender documents"),
                   "amendment": _l("Amendment"), "other": _l("Other")},
}


class ServiceType(TimestampMixin, db.Model):
    """The catalogue of service types; the built-in ones come from the interchange spec."""

    __tablename__ = "service_type"

    code: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    name_zh: Mapped[str] = mapped_column(sa.String(100))
    #: A record of this type must name a household.
    case_linked: Mapped[bool] = mapped_column(default=False)
    #: Done out in the villages: position, travel and daily load matter.
    field_work: Mapped[bool] = mapped_column(default=False)
    #: Shorter than this is a seconds-long (秒杀式) service; empty means no minimum.
    min_minutes: Mapped[int | None]
    photo_required: Mapped[bool] = mapped_column(default=False)
    #: Decision powers, hiring and labour dispatch may not be bought (财政部令第102号 第十条).
    purchasable: Mapped[bool] = mapped_column(default=True)
    not_purchasable_reason: Mapped[str | None] = mapped_column(sa.String(300))
    builtin: Mapped[bool] = mapped_column(default=False)
    position: Mapped[int] = mapped_column(default=100)


class Contract(TimestampMixin, db.Model):
    __tablename__ = "contract"
    __table_args__ = (
        sa.CheckConstraint("ends_on > starts_on", name="ends_after_start"),
        sa.CheckConstraint("amount >= 0", name="amount_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_no: Mapped[str] = mapped_column(sa.String(60), unique=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    provider_id: Mapped[int] = mapped_column(sa.ForeignKey("provider.id", ondelete="RESTRICT"), index=True)
    purchaser: Mapped[str] = mapped_column(sa.String(200))
    procurement_method: Mapped[ProcurementMethod] = mapped_column(str_enum(ProcurementMethod, 24))
    amount: Mapped[Decimal] = mapped_column(sa.Numeric(14, 2))
    budget_source: Mapped[str | None] = mapped_column(sa.String(200))
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    pricing_model: Mapped[PricingModel] = mapped_column(str_enum(PricingModel, 24))
    #: Payments follow the assessment results (the coefficient of the grade).
    payment_linked: Mapped[bool] = mapped_column(default=True)
    status: Mapped[ContractStatus] = mapped_column(str_enum(ContractStatus, 24), default=ContractStatus.DRAFT, index=True)
    status_changed_on: Mapped[date | None]
    #: The vetting approval that allowed the contract to become active.
    activated_under_vetting_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("vetting.id", ondelete="RESTRICT"))
    #: Raised by every amendment; the first signed version is 1.
    version: Mapped[int] = mapped_column(default=1)
    #: Integrity thresholds that differ from the defaults, e.g. {"FLASH_BURST": 15}.
    thresholds: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    ending_reminded_on: Mapped[date | None]

    provider: Mapped[Provider] = relationship()
    activated_under: Mapped[Vetting | None] = relationship()
    villages: Mapped[list[Region]] = relationship(secondary="contract_village", order_by="Region.code")
    obligations: Mapped[list[Obligation]] = relationship(back_populates="contract", order_by="Obligation.id")
    targets: Mapped[list[PerformanceTarget]] = relationship(back_populates="contract",
                                                            order_by="PerformanceTarget.id")
    status_changes: Mapped[list[StatusChange]] = relationship(back_populates="contract",
                                                              order_by="StatusChange.id.desc()")
    amendments: Mapped[list[Amendment]] = relationship(back_populates="contract", order_by="Amendment.version.desc()")
    documents: Mapped[list[ContractDocument]] = relationship(back_populates="contract",
                                                             order_by="ContractDocument.id")

    def visible_to(self, user) -> bool:
        return bureau_or_own(user, self.provider.organisation_id)

    @property
    def years(self) -> list[int]:
        """The execution years the term touches; each needs an annual evaluation."""
        return list(range(self.starts_on.year, self.ends_on.year + 1))


contract_village = sa.Table(
    "contract_village", db.metadata,
    sa.Column("contract_id", sa.ForeignKey("contract.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("region_id", sa.ForeignKey("region.id", ondelete="RESTRICT"), primary_key=True, index=True),
)


class Obligation(TimestampMixin, db.Model):
    __tablename__ = "obligation"
    __table_args__ = (sa.CheckConstraint("target > 0", name="target_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contract.id", ondelete="CASCADE"), index=True)
    service_type_code: Mapped[str] = mapped_column(sa.ForeignKey("service_type.code", ondelete="RESTRICT"))
    period: Mapped[Period] = mapped_column(str_enum(Period, 10))
    target: Mapped[int]
    unit: Mapped[Unit] = mapped_column(str_enum(Unit, 10))
    #: An extra rule: "red_alert_24h" (every red alert in the area checked within 24 hours),
    #: "tekun_monthly" (every 特困 household visited each month).
    extra_rule: Mapped[str | None] = mapped_column(sa.String(40))
    #: Amendments end an obligation instead of deleting it, so its history stays.
    ended_in_version: Mapped[int | None]

    contract: Mapped[Contract] = relationship(back_populates="obligations")
    service_type: Mapped[ServiceType] = relationship()

    def visible_to(self, user) -> bool:
        return self.contract.visible_to(user)


class PerformanceTarget(TimestampMixin, db.Model):
    """A performance indicator (绩效目标) with its target value."""

    __tablename__ = "performance_target"

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contract.id", ondelete="CASCADE"), index=True)
    group: Mapped[TargetGroup] = mapped_column(str_enum(TargetGroup, 16))
    name: Mapped[str] = mapped_column(sa.String(200))
    target_value: Mapped[Decimal] = mapped_column(sa.Numeric(14, 4))
    unit: Mapped[str] = mapped_column(sa.String(20), default="")
    #: ">=" the value must reach the target; "<=" it must stay below it (e.g. cost).
    comparison: Mapped[str] = mapped_column(sa.String(2), default=">=")
    #: The computation from platform data (see contracts.rules.INDICATORS), or None when an
    #: evaluator enters the value.
    computed_by: Mapped[str | None] = mapped_column(sa.String(40))

    contract: Mapped[Contract] = relationship(back_populates="targets")
    values: Mapped[list[TargetValue]] = relationship(back_populates="target", order_by="TargetValue.id.desc()")


class TargetValue(db.Model):
    """A value an evaluator entered for a manual indicator."""

    __tablename__ = "performance_target_value"

    id: Mapped[int] = mapped_column(primary_key=True)
    target_id: Mapped[int] = mapped_column(sa.ForeignKey("performance_target.id", ondelete="CASCADE"), index=True)
    period: Mapped[str] = mapped_column(sa.String(10))
    value: Mapped[Decimal] = mapped_column(sa.Numeric(14, 4))
    note: Mapped[str] = mapped_column(sa.Text, default="")
    entered_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="RESTRICT"))
    entered_at: Mapped[datetime]

    target: Mapped[PerformanceTarget] = relationship(back_populates="values")
    entered_by: Mapped[User] = relationship()


class StatusChange(db.Model):
    __tablename__ = "contract_status_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contract.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[str | None] = mapped_column(sa.String(12))
    to_status: Mapped[str] = mapped_column(sa.String(12))
    effective_on: Mapped[date]
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    changed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="RESTRICT"))
    changed_at: Mapped[datetime]

    contract: Mapped[Contract] = relationship(back_populates="status_changes")
    changed_by: Mapped[User | None] = relationship()


class Amendment(db.Model):
    """A change to a signed contract: the version it made, who, when, why and what."""

    __tablename__ = "contract_amendment"
    __table_args__ = (sa.UniqueConstraint("contract_id", "version", name="uq_contract_amendment_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contract.id", ondelete="CASCADE"), index=True)
    version: Mapped[int]
    reason: Mapped[str] = mapped_column(sa.Text)
    #: {"amount": ["100000.00", "120000.00"], "obligations": ["+ home_visit 40/month", ...]}
    changes: Mapped[dict] = mapped_column(sa.JSON)
    changed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="RESTRICT"))
    changed_at: Mapped[datetime]

    contract: Mapped[Contract] = relationship(back_populates="amendments")
    changed_by: Mapped[User | None] = relationship()


class ContractDocument(db.Model):
    __tablename__ = "contract_document"

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contract.id", ondelete="CASCADE"), index=True)
    kind: Mapped[DocumentKind] = mapped_column(str_enum(DocumentKind, 20))
    sha256: Mapped[str] = mapped_column(sa.String(64))
    #: The uploader's file name, for display only.
    filename: Mapped[str] = mapped_column(sa.String(200))
    content_type: Mapped[str] = mapped_column(sa.String(40))
    size: Mapped[int]
    uploaded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="RESTRICT"))
    uploaded_at: Mapped[datetime]

    contract: Mapped[Contract] = relationship(back_populates="documents")
    uploaded_by: Mapped[User] = relationship()

    def visible_to(self, user) -> bool:
        return self.contract.visible_to(user)


class MonthCounter(db.Model):
    """Delivered work per contract, service type and local month, kept as records change.

    Progress pages read these instead of counting service records, so they stay fast at
    province scale; ``tests/contracts/test_progress.py`` checks them against a direct count.
    """

    __tablename__ = "progress_month"

    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contract.id", ondelete="CASCADE"), primary_key=True)
    service_type_code: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    #: "2026-11", the Asia/Shanghai month in which the service started.
    month: Mapped[str] = mapped_column(sa.String(7), primary_key=True)
    delivered: Mapped[int] = mapped_column(default=0)
    accepted: Mapped[int] = mapped_column(default=0)
    rejected: Mapped[int] = mapped_column(default=0)
    refuted: Mapped[int] = mapped_column(default=0)
    #: Minutes of service in records not rejected.
    minutes: Mapped[int] = mapped_column(default=0)


class MonthCase(db.Model):
    """Households served per contract, type and month (for targets counted in households)."""

    __tablename__ = "progress_month_case"

    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contract.id", ondelete="CASCADE"), primary_key=True)
    service_type_code: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    month: Mapped[str] = mapped_column(sa.String(7), primary_key=True)
    case_id: Mapped[int] = mapped_column(primary_key=True)
    #: How many of this month's records (not rejected) name the household.
    records: Mapped[int] = mapped_column(default=0)
