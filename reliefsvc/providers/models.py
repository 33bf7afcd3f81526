"""Providers, staff, the vetting checklist and vettings, relations (conflicts of interest)."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from reliefsvc.common.enums import LabelledEnum
from reliefsvc.db import TimestampMixin, str_enum
from reliefsvc.extensions import db
from reliefsvc.security.models import BUREAU_ROLES, Organisation, User


class OrgType(LabelledEnum):
    SOCIAL_ORG = "social_org"
    ENTERPRISE = "enterprise"
    PUBLIC_INSTITUTION = "public_institution"


OrgType.LABELS = {"social_org": _l("Social organisation"), "enterprise": _l("Enterprise"),
                  "public_institution": _l("Public institution")}


class StaffRole(LabelledEnum):
    COORDINATOR = "coordinator"
    SOCIAL_WORKER = "social_worker"
    MANAGER = "manager"
    OTHER = "other"


StaffRole.LABELS = {"coordinator": _l("Assistance coordinator"), "social_worker": _l("Social worker"),
                    "manager": _l("Manager"), "other": _l("Other")}


def bureau_or_own(user, organisation_id: int) -> bool:
    """Bureau staff read every provider; a provider's people read only their own."""
    return user.role in BUREAU_ROLES or user.organisation_id == organisation_id


class Provider(TimestampMixin, db.Model):
    __tablename__ = "provider"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The organisation whose accounts act for this provider.
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisation.id", ondelete="RESTRICT"), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    #: Unified social credit code (统一社会信用代码), GB 32100-2015, check characters verified.
    uscc: Mapped[str] = mapped_column(sa.String(18), unique=True)
    org_type: Mapped[OrgType] = mapped_column(str_enum(OrgType, 20))
    registered_on: Mapped[date | None]
    registration_authority: Mapped[str | None] = mapped_column(sa.String(200))
    legal_rep: Mapped[str | None] = mapped_column(sa.String(50))
    address: Mapped[str | None] = mapped_column(sa.String(300))
    phone: Mapped[str | None] = mapped_column(sa.String(30))
    contact_person: Mapped[str | None] = mapped_column(sa.String(50))
    contact_phone: Mapped[str | None] = mapped_column(sa.String(30))
    bank_name: Mapped[str | None] = mapped_column(sa.String(100))
    bank_account: Mapped[str | None] = mapped_column(sa.String(40))

    organisation: Mapped[Organisation] = relationship()
    staff: Mapped[list[Staff]] = relationship(back_populates="provider", order_by="Staff.name")
    vettings: Mapped[list[Vetting]] = relationship(back_populates="provider", order_by="Vetting.id.desc()")

    def visible_to(self, user) -> bool:
        return bureau_or_own(user, self.organisation_id)


class Staff(TimestampMixin, db.Model):
    __tablename__ = "staff"
    __table_args__ = (
        sa.UniqueConstraint("provider_id", "id_number", name="uq_staff_provider_id_number"),
        # One person, one active roster: the database refuses a second active place.
        sa.Index("uq_staff_active_person", "id_number", unique=True,
                 sqlite_where=sa.text("left_on IS NULL"), postgresql_where=sa.text("left_on IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(sa.ForeignKey("provider.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(sa.String(50))
    #: Full resident ID number (GB 11643); shown masked, revealed only with an audit entry.
    id_number: Mapped[str] = mapped_column(sa.String(18), index=True)
    phone: Mapped[str | None] = mapped_column(sa.String(11))
    role: Mapped[StaffRole] = mapped_column(str_enum(StaffRole, 20))
    qualification: Mapped[str | None] = mapped_column(sa.String(100))
    hired_on: Mapped[date | None]
    left_on: Mapped[date | None]
    #: The purchaser named or recruited this person — a sign of disguised hiring.
    nominated_by_purchaser: Mapped[bool] = mapped_column(default=False)
    #: The purchaser keeps this person's attendance — a sign of disguised hiring.
    attendance_by_purchaser: Mapped[bool] = mapped_column(default=False)
    #: The platform account this person works under, if any.
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))

    provider: Mapped[Provider] = relationship(back_populates="staff")
    user: Mapped[User | None] = relationship()

    @property
    def active(self) -> bool:
        return self.left_on is None

    def visible_to(self, user) -> bool:
        return bureau_or_own(user, self.provider.organisation_id)


class ChecklistItem(TimestampMixin, db.Model):
    """One item of the configurable vetting checklist; the admin edits the list."""

    __tablename__ = "vetting_checklist_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    guidance: Mapped[str] = mapped_column(sa.Text, default="")
    #: The item needs at least one document before it can pass.
    needs_document: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(default=0)
    #: Retired items stay for old vettings but are not copied into new ones.
    is_active: Mapped[bool] = mapped_column(default=True)


class VettingStatus(LabelledEnum):
    OPEN = "open"
    APPROVED = "approved"
    CONDITIONAL = "conditional"
    REJECTED = "rejected"


VettingStatus.LABELS = {"open": _l("In progress"), "approved": _l("Approved"),
                        "conditional": _l("Conditionally approved"), "rejected": _l("Rejected")}


class Vetting(TimestampMixin, db.Model):
    __tablename__ = "vetting"
    __table_args__ = (
        sa.CheckConstraint("status = 'open' OR decided_on IS NOT NULL", name="decided_has_date"),
        sa.CheckConstraint("status NOT IN ('approved', 'conditional') OR valid_until IS NOT NULL",
                           name="approval_has_validity"),
        sa.CheckConstraint("status <> 'conditional' OR condition_deadline IS NOT NULL",
                           name="conditional_has_deadline"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(sa.ForeignKey("provider.id", ondelete="RESTRICT"), index=True)
    status: Mapped[VettingStatus] = mapped_column(str_enum(VettingStatus, 20), default=VettingStatus.OPEN)
    opened_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="RESTRICT"))
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="RESTRICT"))
    decided_on: Mapped[date | None]
    valid_until: Mapped[date | None]
    conditions: Mapped[str | None] = mapped_column(sa.Text)
    condition_deadline: Mapped[date | None]
    #: The officer confirmed the conditions were met (then the approval runs to valid_until).
    conditions_met_on: Mapped[date | None]
    reasons: Mapped[str | None] = mapped_column(sa.Text)
    #: Done outside the platform and recorded by import (vetted_on, vetted_by).
    external: Mapped[bool] = mapped_column(default=False)
    external_vetted_by: Mapped[str | None] = mapped_column(sa.String(100))
    #: When the expiry reminders went out, so that each goes out once.
    reminded_60_on: Mapped[date | None]
    reminded_30_on: Mapped[date | None]
    expiry_notified_on: Mapped[date | None]

    provider: Mapped[Provider] = relationship(back_populates="vettings")
    opened_by: Mapped[User | None] = relationship(foreign_keys=[opened_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    items: Mapped[list[VettingItem]] = relationship(back_populates="vetting", order_by="VettingItem.position")

    def visible_to(self, user) -> bool:
        return bureau_or_own(user, self.provider.organisation_id)


class Verdict(LabelledEnum):
    PENDING = "pending"
    PASS = "pass"  # noqa: S105 — a verdict, not a password
    FAIL = "fail"
    NOT_APPLICABLE = "na"


Verdict.LABELS = {"pending": _l("Not yet checked"), "pass": _l("Passed"), "fail": _l("Failed"),
                  "na": _l("Not applicable")}


class VettingItem(db.Model):
    """A checklist item as it stood when the vetting began, with its verdict."""

    __tablename__ = "vetting_item"
    __table_args__ = (sa.UniqueConstraint("vetting_id", "checklist_item_id", name="uq_vetting_item_item"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    vetting_id: Mapped[int] = mapped_column(sa.ForeignKey("vetting.id", ondelete="CASCADE"), index=True)
    checklist_item_id: Mapped[int] = mapped_column(sa.ForeignKey("vetting_checklist_item.id", ondelete="RESTRICT"))
    #: Copied from the checklist so that later edits do not rewrite history.
    title: Mapped[str] = mapped_column(sa.String(200))
    needs_document: Mapped[bool]
    position: Mapped[int]
    verdict: Mapped[Verdict] = mapped_column(str_enum(Verdict, 10), default=Verdict.PENDING)
    remark: Mapped[str] = mapped_column(sa.Text, default="")
    checked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="RESTRICT"))
    checked_at: Mapped[datetime | None]

    vetting: Mapped[Vetting] = relationship(back_populates="items")
    checked_by: Mapped[User | None] = relationship()
    documents: Mapped[list[ProviderDocument]] = relationship(back_populates="vetting_item",
                                                              order_by="ProviderDocument.id")


class ProviderDocument(db.Model):
    """A document a provider or officer submitted (stored by content hash in evidence storage)."""

    __tablename__ = "provider_document"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(sa.ForeignKey("provider.id", ondelete="RESTRICT"), index=True)
    vetting_item_id: Mapped[int | None] = mapped_column(sa.ForeignKey("vetting_item.id", ondelete="RESTRICT"),
                                                        index=True)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    #: The uploader's file name, for display only — never used to build a path.
    filename: Mapped[str] = mapped_column(sa.String(200))
    #: application/pdf, image/jpeg or image/png, decided from the content.
    content_type: Mapped[str] = mapped_column(sa.String(40))
    size: Mapped[int]
    uploaded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="RESTRICT"))
    uploaded_at: Mapped[datetime]

    provider: Mapped[Provider] = relationship()
    vetting_item: Mapped[VettingItem | None] = relationship(back_populates="documents")
    uploaded_by: Mapped[User] = relationship()

    def visible_to(self, user) -> bool:
        return bureau_or_own(user, self.provider.organisation_id)


class RelationKind(LabelledEnum):
    BUREAU_STAFF = "bureau_staff"
    VILLAGE_COMMITTEE = "village_committee"
    CASE_HOUSEHOLD = "case_household"


RelationKind.LABELS = {"bureau_staff": _l("Relative of bureau staff"),
                       "village_committee": _l("Relative of a village committee member"),
                       "case_household": _l("Relative of a household served")}


class RelationStatus(LabelledEnum):
    DECLARED = "declared"
    FOUND = "found"
    CONFIRMED = "confirmed"
    DISMISSED = "dismissed"


RelationStatus.LABELS = {"declared": _l("Declared by the provider"), "found": _l("Found by the platform"),
                         "confirmed": _l("Confirmed"), "dismissed": _l("Dismissed")}


class Relation(TimestampMixin, db.Model):
    """A close relation between a staff member and someone on the purchaser's side (section 九)."""

    __tablename__ = "staff_relation"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(sa.ForeignKey("provider.id", ondelete="RESTRICT"), index=True)
    staff_id: Mapped[int] = mapped_column(sa.ForeignKey("staff.id", ondelete="RESTRICT"), index=True)
    kind: Mapped[RelationKind] = mapped_column(str_enum(RelationKind, 20))
    #: Who the staff member is related to, as declared or found.
    related_name: Mapped[str] = mapped_column(sa.String(100))
    #: Where that person sits: the bureau account, the village, the case reference.
    related_detail: Mapped[str] = mapped_column(sa.String(200), default="")
    #: Kinship as declared (配偶、父母、子女、兄弟姐妹 …) or the reason of a match.
    relationship_text: Mapped[str] = mapped_column(sa.String(200), default="")
    status: Mapped[RelationStatus] = mapped_column(str_enum(RelationStatus, 20))
    #: For platform matches: a stable key so that a rerun does not list the same match twice.
    match_key: Mapped[str | None] = mapped_column(sa.String(100), unique=True)
    reviewed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="RESTRICT"))
    review_note: Mapped[str | None] = mapped_column(sa.Text)

    provider: Mapped[Provider] = relationship()
    staff: Mapped[Staff] = relationship()

    def visible_to(self, user) -> bool:
        return bureau_or_own(user, self.provider.organisation_id)
