"""Payment plans, payment entries (proposed by one officer, approved by another), the
disbursements recorded against them, provider fund-use reports with receipts, and the
anomalies the monthly job lists for an on-site check.

What is decided never changes: an approved or refused entry and a recorded disbursement
are refused by the service, by a ``before_flush`` check and by database triggers (see
the migration ``a7e1c0de1101``). A wrong payment is put right by a reversal entry, which
goes through the same two-person approval.
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
from reliefsvc.security.models import BUREAU_ROLES, User

#: The default cap on the management fee, as a share of the spending reported.
DEFAULT_FEE_CAP = Decimal("0.10")
#: The part of a payment that rests on the quantity delivered (the default standard gives
#: 服务数量 25 of its 100 points): missed obligations take at most this share off.
DEFAULT_QUANTITY_WEIGHT = Decimal("0.25")


class Labelled(enum.StrEnum):
    @property
    def label(self) -> str:
        return str(LABELS[self.__class__][self.value])


class EntryKind(Labelled):
    PAYMENT = "payment"
    REVERSAL = "reversal"


class EntryStatus(Labelled):
    PROPOSED = "proposed"
    APPROVED = "approved"
    REFUSED = "refused"


class ReportStatus(Labelled):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    REVIEWED = "reviewed"


class Category(Labelled):
    STAFF = "staff"
    TRAVEL = "travel"
    MATERIALS = "materials"
    TRAINING = "training"
    MANAGEMENT_FEE = "management_fee"
    OTHER = "other"


LABELS = {
    EntryKind: {"payment": _l("Payment"), "reversal": _l("Reversal")},
    EntryStatus: {"proposed": _l("Awaiting approval"), "approved": _l("Approved"), "refused": _l("Not approved")},
    ReportStatus: {"draft": _l("Draft"), "submitted": _l("Sent to the bureau"), "reviewed": _l("Reviewed")},
    Category: {"staff": _l("Staff costs"), "travel": _l("Travel"), "materials": _l("Materials"),
               "training": _l("Training"), "management_fee": _l("Management fee"), "other": _l("Other spending")},
}


def _bureau_or_contract(user, contract: Contract) -> bool:
    return user.role in BUREAU_ROLES or contract.visible_to(user)


class PaymentSettings(db.Model):
    """Per-contract settings of payments and fund use."""

    __tablename__ = "payment_settings"
    __table_args__ = (sa.CheckConstraint("fee_cap >= 0 AND fee_cap <= 1", name="fee_cap_share"),
                      sa.CheckConstraint("quantity_weight >= 0 AND quantity_weight <= 1", name="quantity_weight_share"))

    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contract.id", ondelete="CASCADE"), primary_key=True)
    #: the highest share of reported spending the management fee may take (0.10 = 10 %)
    fee_cap: Mapped[Decimal] = mapped_column(sa.Numeric(5, 4), default=DEFAULT_FEE_CAP)
    #: the share of each payment that missed obligations can take off (see DEFAULT_QUANTITY_WEIGHT)
    quantity_weight: Mapped[Decimal] = mapped_column(sa.Numeric(5, 4), default=DEFAULT_QUANTITY_WEIGHT)
    #: the budget of the whole term by category: {"staff": "80000.00", ...}
    budget: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    changed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="RESTRICT"))
    changed_at: Mapped[datetime | None]

    contract: Mapped[Contract] = relationship()


class Instalment(db.Model):
    """One instalment of a contract's payment plan: its share of the contract amount, when it
    falls due (a date or a milestone) and the period of work it pays for."""

    __tablename__ = "payment_instalment"
    __table_args__ = (
        sa.UniqueConstraint("contract_id", "number", name="uq_payment_instalment_number"),
        sa.CheckConstraint("share > 0 AND share <= 1", name="share_fraction"),
        sa.CheckConstraint("period_to >= period_from", name="period_in_order"),
        sa.CheckConstraint("due_on IS NOT NULL OR length(milestone) > 0", name="due_date_or_milestone"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contract.id", ondelete="RESTRICT"), index=True)
    number: Mapped[int]
    #: fraction of the contract amount: 0.2500 is a quarter
    share: Mapped[Decimal] = mapped_column(sa.Numeric(7, 4))
    due_on: Mapped[date | None]
    #: a milestone instead of (or besides) a date, e.g. "中期评估通过后"
    milestone: Mapped[str] = mapped_column(sa.String(200), default="")
    #: the days of work this instalment pays for (inclusive)
    period_from: Mapped[date]
    period_to: Mapped[date]
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime]

    contract: Mapped[Contract] = relationship()
    entries: Mapped[list[PaymentEntry]] = relationship(back_populates="instalment", order_by="PaymentEntry.id")

    def visible_to(self, user) -> bool:
        return _bureau_or_contract(user, self.contract)

    @property
    def planned(self) -> Decimal:
        from reliefsvc.payments.rules import fen

        return fen(self.contract.amount * self.share)


class PaymentEntry(db.Model):
    """A payment (or the reversal of one) as proposed, and as approved or refused."""

    __tablename__ = "payment_entry"
    __table_args__ = (
        sa.CheckConstraint("approved_by_id IS NULL OR approved_by_id <> proposed_by_id", name="two_people"),
        sa.CheckConstraint("status = 'proposed' OR (approved_by_id IS NOT NULL AND decided_at IS NOT NULL)",
                           name="decided_complete"),
        sa.CheckConstraint("kind = 'payment' OR reverses_id IS NOT NULL", name="reversal_names_entry"),
        sa.CheckConstraint("amount >= 0", name="amount_not_negative"),
        sa.UniqueConstraint("reverses_id", name="uq_payment_entry_reverses_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contract.id", ondelete="RESTRICT"), index=True)
    instalment_id: Mapped[int] = mapped_column(sa.ForeignKey("payment_instalment.id", ondelete="RESTRICT"),
                                               index=True)
    kind: Mapped[EntryKind] = mapped_column(str_enum(EntryKind, 10), default=EntryKind.PAYMENT)
    #: the approved entry a reversal takes back
    reverses_id: Mapped[int | None] = mapped_column(sa.ForeignKey("payment_entry.id", ondelete="RESTRICT"))
    status: Mapped[EntryStatus] = mapped_column(str_enum(EntryStatus, 10), default=EntryStatus.PROPOSED, index=True)
    #: contract amount × share
    planned: Mapped[Decimal] = mapped_column(sa.Numeric(14, 2))
    #: what the results justify (assessments' coefficients, less the deductions)
    computed: Mapped[Decimal] = mapped_column(sa.Numeric(14, 2))
    deductions: Mapped[Decimal] = mapped_column(sa.Numeric(14, 2), default=Decimal(0))
    #: the amount to pay (a reversal: the amount taken back, positive)
    amount: Mapped[Decimal] = mapped_column(sa.Numeric(14, 2))
    #: the computation as shown, line by line: [{"kind", "text_zh", "text_en", "amount"}, ...]
    computation: Mapped[list] = mapped_column(sa.JSON, default=list)
    note: Mapped[str] = mapped_column(sa.Text, default="")
    proposed_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="RESTRICT"))
    proposed_at: Mapped[datetime]
    approved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="RESTRICT"))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str] = mapped_column(sa.Text, default="")

    contract: Mapped[Contract] = relationship()
    instalment: Mapped[Instalment] = relationship(back_populates="entries")
    reverses: Mapped[PaymentEntry | None] = relationship(remote_side=[id], foreign_keys=[reverses_id])
    proposed_by: Mapped[User] = relationship(foreign_keys=[proposed_by_id])
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id])
    disbursement: Mapped[Disbursement | None] = relationship(back_populates="entry", uselist=False)

    def visible_to(self, user) -> bool:
        return _bureau_or_contract(user, self.contract)

    @property
    def signed_amount(self) -> Decimal:
        """The entry's effect on what the contract has been paid (a reversal counts negative)."""
        return -self.amount if self.kind is EntryKind.REVERSAL else self.amount


class Disbursement(db.Model):
    """The money left the account: the date and the accounting voucher number (凭证号)."""

    __tablename__ = "payment_disbursement"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(sa.ForeignKey("payment_entry.id", ondelete="RESTRICT"), unique=True)
    disbursed_on: Mapped[date]
    voucher_no: Mapped[str] = mapped_column(sa.String(60))
    recorded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="RESTRICT"))
    recorded_at: Mapped[datetime]

    entry: Mapped[PaymentEntry] = relationship(back_populates="disbursement")
    recorded_by: Mapped[User] = relationship()


class FundUseReport(db.Model):
    """What a provider spent in a period, by category, with receipts."""

    __tablename__ = "fund_use_report"
    __table_args__ = (sa.CheckConstraint("period_to >= period_from", name="period_in_order"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contract.id", ondelete="RESTRICT"), index=True)
    period_from: Mapped[date]
    period_to: Mapped[date]
    status: Mapped[ReportStatus] = mapped_column(str_enum(ReportStatus, 10), default=ReportStatus.DRAFT)
    note: Mapped[str] = mapped_column(sa.Text, default="")
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime]
    submitted_at: Mapped[datetime | None]
    reviewed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="RESTRICT"))
    reviewed_at: Mapped[datetime | None]
    review_note: Mapped[str] = mapped_column(sa.Text, default="")
    #: flagged items found by the checks when the report was submitted (kept for lists)
    findings: Mapped[int] = mapped_column(default=0)

    contract: Mapped[Contract] = relationship()
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    reviewed_by: Mapped[User | None] = relationship(foreign_keys=[reviewed_by_id])
    lines: Mapped[list[FundUseLine]] = relationship(back_populates="report", order_by="FundUseLine.id",
                                                    cascade="all, delete-orphan")

    def visible_to(self, user) -> bool:
        """Bureau roles see submitted reports; the provider sees its own, drafts included."""
        if user.role in BUREAU_ROLES:
            return self.status is not ReportStatus.DRAFT
        return self.contract.visible_to(user)

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0.00"))


class FundUseLine(db.Model):
    __tablename__ = "fund_use_line"
    __table_args__ = (sa.CheckConstraint("amount >= 0", name="amount_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(sa.ForeignKey("fund_use_report.id", ondelete="CASCADE"), index=True)
    category: Mapped[Category] = mapped_column(str_enum(Category, 20))
    #: what the money was spent on, in the provider's words (checked against section 七)
    purpose: Mapped[str] = mapped_column(sa.String(300))
    amount: Mapped[Decimal] = mapped_column(sa.Numeric(14, 2))

    report: Mapped[FundUseReport] = relationship(back_populates="lines")
    receipts: Mapped[list[FundReceipt]] = relationship(back_populates="line", order_by="FundReceipt.id",
                                                       cascade="all, delete-orphan")

    def visible_to(self, user) -> bool:
        return self.report.visible_to(user)


class FundReceipt(db.Model):
    __tablename__ = "fund_receipt"

    id: Mapped[int] = mapped_column(primary_key=True)
    line_id: Mapped[int] = mapped_column(sa.ForeignKey("fund_use_line.id", ondelete="CASCADE"), index=True)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    #: the uploader's file name, for display only
    filename: Mapped[str] = mapped_column(sa.String(200))
    content_type: Mapped[str] = mapped_column(sa.String(40))
    size: Mapped[int]
    uploaded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="RESTRICT"))
    uploaded_at: Mapped[datetime]

    line: Mapped[FundUseLine] = relationship(back_populates="receipts")

    def visible_to(self, user) -> bool:
        return self.line.report.visible_to(user)


class PaymentAnomaly(db.Model):
    """An outlier the monthly job found (section 八): to be checked on site."""

    __tablename__ = "payment_anomaly"
    __table_args__ = (sa.UniqueConstraint("contract_id", "month", "kind", name="uq_payment_anomaly_month_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contract.id", ondelete="CASCADE"), index=True)
    #: the month looked at, "2026-05"
    month: Mapped[str] = mapped_column(sa.String(7))
    #: "amount", "households", "timing", "peer_cost"
    kind: Mapped[str] = mapped_column(sa.String(20))
    value: Mapped[Decimal] = mapped_column(sa.Numeric(14, 2))
    baseline: Mapped[Decimal] = mapped_column(sa.Numeric(14, 2))
    found_at: Mapped[datetime]

    contract: Mapped[Contract] = relationship()


class FrozenPaymentError(Exception):
    """A change to a decided payment entry or a recorded disbursement."""


def _was(obj, attr: str):
    history = sa.inspect(obj).attrs[attr].history
    if history.deleted:
        return history.deleted[0]
    return getattr(obj, attr)


def _columns_changed(obj) -> bool:
    state = sa.inspect(obj)
    return any(state.attrs[c.key].history.has_changes() for c in state.mapper.column_attrs)


@event.listens_for(Session, "before_flush")
def _refuse_changes_to_decided(session, _context, _instances):
    """The last line before the database triggers, whatever path a change takes."""
    for obj in list(session.dirty) + list(session.deleted):
        changed = obj in session.deleted or (isinstance(obj, (PaymentEntry, Disbursement)) and _columns_changed(obj))
        if isinstance(obj, PaymentEntry) and changed and _was(obj, "status") != EntryStatus.PROPOSED:
            raise FrozenPaymentError(f"payment entry {obj.id} is decided and cannot change")
        if isinstance(obj, Disbursement) and changed:
            raise FrozenPaymentError(f"disbursement {obj.id} is recorded and cannot change")
