"""Integrity flags as stored: one row per record and code, and the runs that found them."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from reliefsvc.contracts.models import Contract
from reliefsvc.evidence.models import ServiceRecord
from reliefsvc.extensions import db
from reliefsvc.security.models import User

#: Flag codes of spec/interchange.md with their Chinese names, in the spec's order.
CODE_LABELS = {
    "FLASH_SHORT": _l("Service too short"),
    "FLASH_BURST": _l("Too many field services in one day"),
    "TIME_OVERLAP": _l("Overlaps another service"),
    "TRAVEL_IMPOSSIBLE": _l("Impossible travel"),
    "PHOTO_REUSED": _l("Photo reused"),
    "PHOTO_TIME_MISMATCH": _l("Photo time does not fit"),
    "PHOTO_PLACE_MISMATCH": _l("Photo place does not fit"),
    "PHOTO_NO_METADATA": _l("Photo without time or place"),
    "EVIDENCE_MISSING": _l("Required photo missing"),
    "NOTES_COPIED": _l("Notes copied"),
    "LATE_ENTRY": _l("Entered late"),
    "CASE_INACTIVE": _l("Case closed before the service"),
    "OUT_OF_AREA": _l("Household outside the service area"),
}
SEVERITY_LABELS = {"high": _l("High"), "medium": _l("Medium"), "low": _l("Low")}


class IntegrityFlag(db.Model):
    """A current flag of a record. A run replaces what it finds; dismissals survive runs."""

    __tablename__ = "integrity_flag"
    __table_args__ = (
        sa.UniqueConstraint("record_id", "code", name="uq_integrity_flag_record_code"),
        sa.Index("ix_integrity_flag_contract_month", "contract_id", "month"),
        # issue 16: the officer dashboard's open-flag counts by contract and by code.
        sa.Index("ix_integrity_flag_open_contract_code", "contract_id", "code",
                 sqlite_where=sa.text("dismissed_at IS NULL"), postgresql_where=sa.text("dismissed_at IS NULL")),
        sa.CheckConstraint("severity IN ('high', 'medium', 'low')", name="severity_known"),
        sa.CheckConstraint("dismissed_at IS NULL OR (dismissed_by_id IS NOT NULL AND dismiss_reason <> '')",
                           name="dismissal_has_reason"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(sa.ForeignKey("service_record.id", ondelete="CASCADE"))
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contract.id", ondelete="CASCADE"))
    #: the worker of the record, for per-worker counts without a join
    worker_id: Mapped[int] = mapped_column(sa.ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    #: local month of the service, YYYY-MM
    month: Mapped[str] = mapped_column(sa.String(7))
    code: Mapped[str] = mapped_column(sa.String(24), index=True)
    severity: Mapped[str] = mapped_column(sa.String(8))
    detail: Mapped[str] = mapped_column(sa.Text)
    #: the other record of a pairwise flag (overlap, travel, photo, notes)
    related_record_id: Mapped[int | None] = mapped_column(sa.ForeignKey("service_record.id", ondelete="SET NULL"))
    #: the photo the flag is about, and the other record's photo for PHOTO_REUSED
    photo_id: Mapped[int | None] = mapped_column(sa.ForeignKey("photo.id", ondelete="SET NULL"))
    related_photo_id: Mapped[int | None] = mapped_column(sa.ForeignKey("photo.id", ondelete="SET NULL"))
    found_at: Mapped[datetime]
    dismissed_at: Mapped[datetime | None]
    dismissed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="RESTRICT"))
    dismiss_reason: Mapped[str] = mapped_column(sa.Text, default="")

    record: Mapped[ServiceRecord] = relationship(foreign_keys=[record_id])
    related_record: Mapped[ServiceRecord | None] = relationship(foreign_keys=[related_record_id])
    contract: Mapped[Contract] = relationship()
    dismissed_by: Mapped[User | None] = relationship()

    @property
    def label(self) -> str:
        return str(CODE_LABELS.get(self.code, self.code))

    @property
    def severity_label(self) -> str:
        return str(SEVERITY_LABELS[self.severity])

    @property
    def dismissed(self) -> bool:
        return self.dismissed_at is not None

    def visible_to(self, user) -> bool:
        return self.record.visible_to(user)


class IntegrityRun(db.Model):
    """One full or incremental run: what it checked, what it found, how long it took."""

    __tablename__ = "integrity_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: full | incremental | contract
    kind: Mapped[str] = mapped_column(sa.String(12))
    contract_id: Mapped[int | None] = mapped_column(sa.ForeignKey("contract.id", ondelete="SET NULL"))
    started_at: Mapped[datetime]
    seconds: Mapped[float] = mapped_column(default=0.0)
    #: records whose flags the run decided, and the records it read to decide them
    records_checked: Mapped[int] = mapped_column(default=0)
    records_read: Mapped[int] = mapped_column(default=0)
    flags_found: Mapped[int] = mapped_column(default=0)
    counts: Mapped[dict] = mapped_column(sa.JSON, default=dict)
