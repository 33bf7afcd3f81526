"""Cases (households receiving or in need of assistance), their members and monitoring alerts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from reliefsvc.common import idnumber
from reliefsvc.common.enums import LabelledEnum
from reliefsvc.db import TimestampMixin, str_enum
from reliefsvc.extensions import db
from reliefsvc.providers.models import Provider, Staff
from reliefsvc.regions.models import Region
from reliefsvc.security.models import BUREAU_ROLES, Role, User


class Category(LabelledEnum):
    DIBAO = "dibao"
    TEKUN = "tekun"
    LINSHI = "linshi"
    BIANYUAN = "bianyuan"
    JIANCE = "jiance"


Category.LABELS = {"dibao": _l("Minimum living allowance"), "tekun": _l("Extreme poverty support"),
                   "linshi": _l("Temporary assistance"), "bianyuan": _l("Near the allowance line"),
                   "jiance": _l("Under monitoring")}


class CaseStatus(LabelledEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    CLOSED = "closed"
    DECEASED = "deceased"


CaseStatus.LABELS = {"active": _l("Receiving assistance"), "suspended": _l("Assistance suspended"),
                     "closed": _l("Assistance stopped"), "deceased": _l("Deceased")}


class Origin(LabelledEnum):
    IMPORTED = "imported"
    DISCOVERED = "discovered"


Origin.LABELS = {"imported": _l("Imported from the assistance system"), "discovered": _l("Found by a provider")}


class DiscoveryStatus(LabelledEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    DISMISSED = "dismissed"


DiscoveryStatus.LABELS = {"pending": _l("To be confirmed"), "confirmed": _l("Confirmed"),
                          "dismissed": _l("Dismissed")}


class AlertLevel(LabelledEnum):
    YELLOW = "yellow"
    ORANGE = "orange"
    RED = "red"

    @property
    def rank(self) -> int:
        return {"yellow": 1, "orange": 2, "red": 3}[self.value]


AlertLevel.LABELS = {"yellow": _l("Yellow"), "orange": _l("Orange"), "red": _l("Red")}


class MemberRelation(LabelledEnum):
    SPOUSE = "spouse"
    CHILD = "child"
    PARENT = "parent"
    GRANDCHILD = "grandchild"
    GRANDPARENT = "grandparent"
    SIBLING = "sibling"
    OTHER = "other"


MemberRelation.LABELS = {"spouse": _l("Spouse"), "child": _l("Child"), "parent": _l("Parent"),
                         "grandchild": _l("Grandchild"), "grandparent": _l("Grandparent"),
                         "sibling": _l("Brother or sister"), "other": _l("Other")}


# --- who sees which case ---------------------------------------------------------------
#
# Bureau roles read every case. A provider's people read the cases in the service area of
# their provider's contracts, and always the households they discovered themselves. The
# service area belongs to the contracts domain, which registers a function under
# ``app.extensions[CASE_SCOPE_HOOK]``: ``scope(subject)`` with ``subject.organisation_id``
# (a User, or a ``ScopeSubject`` for work outside a request) returns either a SQL condition
# on ``Case`` columns or a collection of village (region) ids; ``None`` means no area.

CASE_SCOPE_HOOK = "provider_case_scope"


@dataclass(frozen=True)
class ScopeSubject:
    """Stands for "any account of this provider" when no user is at hand (jobs, matchers)."""

    organisation_id: int
    role: Role = Role.PROVIDER_MANAGER


def area_condition(subject) -> sa.ColumnElement[bool]:
    """The cases inside the service area of ``subject``'s provider (false until contracts say)."""
    hook = current_app.extensions.get(CASE_SCOPE_HOOK)
    scope = hook(subject) if hook is not None else None
    if scope is None:
        return sa.false()
    if isinstance(scope, sa.sql.ClauseElement):
        return scope
    return Case.village_id.in_(sorted(scope))


class Case(TimestampMixin, db.Model):
    """A household (户): its head, village, categories, status, position and origin."""

    __tablename__ = "assistance_case"  # "case" is an SQL keyword
    __table_args__ = (
        sa.CheckConstraint("household_size >= 1", name="household_size_positive"),
        sa.CheckConstraint("status = 'active' OR status_changed_on IS NOT NULL", name="status_change_dated"),
        sa.CheckConstraint("lat IS NULL OR (lat BETWEEN -90 AND 90)", name="lat_range"),
        sa.CheckConstraint("lon IS NULL OR (lon BETWEEN -180 AND 180)", name="lon_range"),
        sa.CheckConstraint("(lat IS NULL) = (lon IS NULL)", name="position_complete"),
        sa.CheckConstraint("(origin = 'discovered') = (discovery_status IS NOT NULL)", name="discovery_by_origin"),
        sa.CheckConstraint("origin <> 'discovered' OR (discovered_by_provider_id IS NOT NULL"
                           " AND discovered_at IS NOT NULL)", name="discovery_has_provider"),
        sa.CheckConstraint("discovery_status IS NULL OR discovery_status = 'pending' OR reviewed_at IS NOT NULL",
                           name="review_dated"),
        sa.CheckConstraint("discovery_status IS NULL OR discovery_status <> 'dismissed'"
                           " OR review_reason IS NOT NULL", name="dismissal_has_reason"),
        # One household per head: a dismissed discovery does not block the real one.
        sa.Index("uq_assistance_case_head_id_number", "head_id_number", unique=True,
                 sqlite_where=sa.text("discovery_status IS NULL OR discovery_status <> 'dismissed'"),
                 postgresql_where=sa.text("discovery_status IS NULL OR discovery_status <> 'dismissed'")),
        # The officer's queue of discoveries, small beside the whole registry.
        sa.Index("ix_assistance_case_discovered", "discovery_status", "discovered_at",
                 sqlite_where=sa.text("origin = 'discovered'"), postgresql_where=sa.text("origin = 'discovered'")),
        # issue 16: the home page's count of discoveries waiting for confirmation.
        sa.Index("ix_assistance_case_discovery_status", "discovery_status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The household number (户编号) of the provincial assistance system; discovered
    #: households get a provisional FX… number until the system's own arrives by import.
    case_ref: Mapped[str] = mapped_column(sa.String(40), unique=True)
    head_name: Mapped[str] = mapped_column(sa.String(50))
    #: Full resident ID number of the head (GB 11643); shown masked, revealed only with an audit entry.
    #: Empty only for a discovered household whose head had no ID at hand.
    head_id_number: Mapped[str | None] = mapped_column(sa.String(18))
    village_id: Mapped[int] = mapped_column(sa.ForeignKey("region.id", ondelete="RESTRICT"), index=True)
    #: Where to find the house when the village is not enough (门牌、组、地标).
    address: Mapped[str | None] = mapped_column(sa.String(200))
    household_size: Mapped[int]
    status: Mapped[CaseStatus] = mapped_column(str_enum(CaseStatus, 20), default=CaseStatus.ACTIVE)
    #: When the status last changed (停保、死亡 …); required for every status but active.
    status_changed_on: Mapped[date | None]
    #: WGS-84 position of the house, if known; else the village centre stands in.
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    origin: Mapped[Origin] = mapped_column(str_enum(Origin, 20), default=Origin.IMPORTED)
    #: Discovered households only (section 十一): pending until an officer confirms or dismisses.
    discovery_status: Mapped[DiscoveryStatus | None] = mapped_column(str_enum(DiscoveryStatus, 20))
    #: The provider whose worker found the household: the discovery counts for it.
    discovered_by_provider_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("provider.id", ondelete="RESTRICT"), index=True)
    #: The account that recorded the discovery, and its place on the roster when it has one.
    discovered_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="RESTRICT"))
    discovered_by_staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id", ondelete="RESTRICT"))
    discovered_at: Mapped[datetime | None]
    #: What the worker saw: the household's difficulty and why it needs help.
    discovery_note: Mapped[str | None] = mapped_column(sa.Text)
    #: The officer's confirmation or dismissal of a discovery; no reviewer when the
    #: provincial system's import confirmed it.
    reviewed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="RESTRICT"))
    reviewed_at: Mapped[datetime | None]
    review_reason: Mapped[str | None] = mapped_column(sa.Text)

    village: Mapped[Region] = relationship()
    category_rows: Mapped[list[CaseCategory]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="CaseCategory.category")
    members: Mapped[list[CaseMember]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="CaseMember.id")
    alerts: Mapped[list[Alert]] = relationship(back_populates="case", order_by="Alert.issued_at.desc()")
    discovered_by_provider: Mapped[Provider | None] = relationship()
    discovered_by_user: Mapped[User | None] = relationship(foreign_keys=[discovered_by_user_id])
    discovered_by_staff: Mapped[Staff | None] = relationship()
    reviewed_by: Mapped[User | None] = relationship(foreign_keys=[reviewed_by_id])

    @property
    def categories(self) -> list[Category]:
        order = list(Category)
        return sorted((row.category for row in self.category_rows), key=order.index)

    @property
    def open_alert(self) -> Alert | None:
        return next((a for a in self.alerts if a.cleared_at is None), None)

    @property
    def head_birth_year(self) -> int | None:
        return idnumber.birth_date(self.head_id_number).year if self.head_id_number else None

    @property
    def position(self) -> tuple[float, float] | None:
        """The house, else the village centre: where a visit is expected to take place."""
        if self.lat is not None:
            return self.lat, self.lon
        if self.village is not None and self.village.lat is not None:
            return self.village.lat, self.village.lon
        return None

    @classmethod
    def visible_filter(cls, user) -> sa.ColumnElement[bool]:
        """SQL condition: the cases ``user`` may see (see the note above ``CASE_SCOPE_HOOK``)."""
        if user.role in BUREAU_ROLES:
            return sa.true()
        if not user.role.is_provider or user.organisation_id is None:
            return sa.false()
        own = cls.discovered_by_provider_id.in_(
            sa.select(Provider.id).where(Provider.organisation_id == user.organisation_id))
        not_dismissed = sa.or_(cls.discovery_status.is_(None), cls.discovery_status != DiscoveryStatus.DISMISSED)
        return sa.or_(own, sa.and_(not_dismissed, area_condition(user)))

    def visible_to(self, user) -> bool:
        if user.role in BUREAU_ROLES:
            return True
        return db.session.scalar(
            sa.select(Case.id).where(Case.id == self.id, Case.visible_filter(user))) is not None

    def __repr__(self) -> str:
        return f"<Case {self.case_ref} {self.head_name}>"


class CaseCategory(db.Model):
    """One assistance category of a household.

    A table of its own rather than a ``;``-joined string: "every 特困 household" (the
    contracts' monthly-visit rule, the category filter) is an indexed lookup instead of a
    LIKE over every row, the database checks each value, and a category cannot appear
    twice for one household.
    """

    __tablename__ = "case_category"
    __table_args__ = (
        sa.CheckConstraint("category IN ('dibao', 'tekun', 'linshi', 'bianyuan', 'jiance')", name="category_known"),
        sa.Index("ix_case_category_category", "category", "case_id"),
    )

    case_id: Mapped[int] = mapped_column(sa.ForeignKey("assistance_case.id", ondelete="CASCADE"), primary_key=True)
    category: Mapped[Category] = mapped_column(str_enum(Category, 10), primary_key=True)

    case: Mapped[Case] = relationship(back_populates="category_rows")


class CaseMember(TimestampMixin, db.Model):
    """A member of the household other than the head, when known."""

    __tablename__ = "case_member"
    __table_args__ = (
        sa.UniqueConstraint("case_id", "id_number", name="uq_case_member_case_id_number"),
        sa.CheckConstraint("birth_year IS NULL OR (birth_year BETWEEN 1900 AND 2100)", name="birth_year_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Indexed as the first column of the unique (case_id, id_number).
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("assistance_case.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(sa.String(50))
    #: Relation to the head of the household.
    relation: Mapped[MemberRelation] = mapped_column(str_enum(MemberRelation, 20))
    #: Full resident ID number, if known; shown masked, revealed only with an audit entry.
    id_number: Mapped[str | None] = mapped_column(sa.String(18), index=True)
    birth_year: Mapped[int | None]

    case: Mapped[Case] = relationship(back_populates="members")

    def visible_to(self, user) -> bool:
        return self.case.visible_to(user)


class Alert(TimestampMixin, db.Model):
    """A monitoring alert (section 十二): a door-to-door check is due by ``due_at``."""

    __tablename__ = "case_alert"
    __table_args__ = (
        sa.UniqueConstraint("case_id", "level", "issued_at", name="uq_case_alert_issue"),
        sa.CheckConstraint("due_at > issued_at", name="due_after_issue"),
        sa.CheckConstraint("cleared_at IS NULL OR cleared_at >= issued_at", name="cleared_after_issue"),
        # At most one open alert per household: a raised level supersedes the old alert.
        sa.Index("uq_case_alert_open_case", "case_id", unique=True,
                 sqlite_where=sa.text("cleared_at IS NULL"), postgresql_where=sa.text("cleared_at IS NULL")),
        sa.Index("ix_case_alert_open_due", "due_at",
                 sqlite_where=sa.text("cleared_at IS NULL"), postgresql_where=sa.text("cleared_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Indexed as the first column of the unique (case_id, level, issued_at).
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("assistance_case.id", ondelete="RESTRICT"))
    level: Mapped[AlertLevel] = mapped_column(str_enum(AlertLevel, 10))
    #: When the monitoring system issued the alert (UTC).
    issued_at: Mapped[datetime]
    #: issued_at plus the deadline of the level (settings ALERT_DEADLINE_HOURS) as it stood at issue time.
    due_at: Mapped[datetime]
    #: Why the alert was issued (e.g. 大病支出骤增), as the monitoring system says.
    note: Mapped[str] = mapped_column(sa.Text, default="")
    #: When the alert stopped being open: checked, lifted by the monitoring system, or superseded.
    cleared_at: Mapped[datetime | None]
    #: The service record whose door-to-door check cleared it; the service-records
    #: migration turns this into a foreign key.
    cleared_by_record_id: Mapped[int | None]
    #: The officer who cleared it by hand, if it was cleared that way.
    cleared_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="RESTRICT"))
    clear_note: Mapped[str | None] = mapped_column(sa.Text)
    #: When officers and providers were told the deadline had passed, so that it is said once.
    overdue_notified_at: Mapped[datetime | None]

    case: Mapped[Case] = relationship(back_populates="alerts")
    cleared_by: Mapped[User | None] = relationship()

    @property
    def is_open(self) -> bool:
        return self.cleared_at is None

    def is_overdue(self, now: datetime) -> bool:
        """Still open after its deadline."""
        return self.cleared_at is None and now > self.due_at

    @property
    def cleared_late(self) -> bool:
        return self.cleared_at is not None and self.cleared_at > self.due_at

    def visible_to(self, user) -> bool:
        return self.case.visible_to(user)
