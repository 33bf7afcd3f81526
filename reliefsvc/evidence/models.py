"""Service records and their photos: every unit of delivered work, tied to a household."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from reliefsvc.cases.models import Case
from reliefsvc.contracts.models import Contract, ServiceType
from reliefsvc.db import str_enum
from reliefsvc.extensions import db
from reliefsvc.providers.models import Staff, bureau_or_own
from reliefsvc.security.models import User


class RecordStatus(enum.StrEnum):
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    REJECTED = "rejected"

    @property
    def label(self) -> str:
        # "Sent back", not "Rejected": the provider corrects it and sends it again.
        return str({"submitted": _l("Awaiting review"), "accepted": _l("Accepted"),
                    "rejected": _l("Sent back")}[self.value])


class RecordSource(enum.StrEnum):
    PHONE = "phone"
    LEDGER = "ledger"


def to_signed64(value: int) -> int:
    """Perceptual hashes are unsigned 64-bit; the database keeps them as signed BIGINT."""
    return value - (1 << 64) if value >= (1 << 63) else value


def to_unsigned64(value: int) -> int:
    return value + (1 << 64) if value < 0 else value


class ServiceRecord(db.Model):
    __tablename__ = "service_record"
    __table_args__ = (
        sa.UniqueConstraint("contract_id", "record_ref", name="uq_service_record_contract_ref"),
        sa.CheckConstraint("ended_at >= started_at", name="ends_after_start"),
        sa.CheckConstraint("(lat IS NULL) = (lon IS NULL)", name="position_complete"),
        sa.CheckConstraint("status <> 'rejected' OR review_reason IS NOT NULL", name="rejection_has_reason"),
        sa.Index("ix_service_record_worker_started", "worker_id", "started_at"),
        sa.Index("ix_service_record_contract_started", "contract_id", "started_at"),
        sa.Index("ix_service_record_case_started", "case_id", "started_at"),
        # issue 16: the record list by status (and type), newest first; the phone form's recent households
        sa.Index("ix_service_record_status_started", "status", "started_at"),
        sa.Index("ix_service_record_status_type_started", "status", "service_type_code", "started_at"),
        sa.Index("ix_service_record_submitted_by", "submitted_by_id", "submitted_at"),
        # issue 16: a provider's records by status (the provider dashboard's counts), index only.
        sa.Index("ix_service_record_contract_status", "contract_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contract.id", ondelete="RESTRICT"))
    #: The provider's ledger number (台账编号), unique within the contract; phone
    #: submissions get "APP-" and the form's one-time key, so a retried upload is no duplicate.
    record_ref: Mapped[str] = mapped_column(sa.String(60))
    worker_id: Mapped[int] = mapped_column(sa.ForeignKey("staff.id", ondelete="RESTRICT"))
    case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("assistance_case.id", ondelete="RESTRICT"))
    service_type_code: Mapped[str] = mapped_column(sa.ForeignKey("service_type.code", ondelete="RESTRICT"))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime]
    #: The Asia/Shanghai month of the start ("2026-11"): the progress counters' bucket.
    month: Mapped[str] = mapped_column(sa.String(7))
    minutes: Mapped[int]
    #: Where the worker says (or the phone said) the service took place.
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    submitted_at: Mapped[datetime]
    submitted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="RESTRICT"))
    source: Mapped[RecordSource] = mapped_column(str_enum(RecordSource, 12))
    status: Mapped[RecordStatus] = mapped_column(str_enum(RecordStatus, 12), default=RecordStatus.SUBMITTED, index=True)
    reviewed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="RESTRICT"))
    reviewed_at: Mapped[datetime | None]
    review_reason: Mapped[str | None] = mapped_column(sa.Text)
    #: Raised by each correction after a rejection; the history keeps every version.
    version: Mapped[int] = mapped_column(default=1)
    #: A spot check found the service was not delivered.
    refuted: Mapped[bool] = mapped_column(default=False)
    #: 0–100 from the integrity flags (reliefsvc.integrity.rules.risk_score), set by each run.
    risk_score: Mapped[float] = mapped_column(default=0.0, index=True)
    #: The ``version`` the integrity checks last saw; below ``version`` means "check me".
    checked_version: Mapped[int] = mapped_column(default=0, server_default="0")

    contract: Mapped[Contract] = relationship()
    worker: Mapped[Staff] = relationship()
    case: Mapped[Case | None] = relationship()
    service_type: Mapped[ServiceType] = relationship()
    submitted_by: Mapped[User | None] = relationship(foreign_keys=[submitted_by_id])
    reviewed_by: Mapped[User | None] = relationship(foreign_keys=[reviewed_by_id])
    photos: Mapped[list[RecordPhoto]] = relationship(back_populates="record", order_by="RecordPhoto.position",
                                                     cascade="all, delete-orphan")
    history: Mapped[list[RecordHistory]] = relationship(back_populates="record", order_by="RecordHistory.id")

    def visible_to(self, user) -> bool:
        return bureau_or_own(user, self.contract.provider.organisation_id)


class Photo(db.Model):
    """A photo, once per content; records refer to it."""

    __tablename__ = "photo"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: SHA-256 of the original file in the evidence store.
    sha256: Mapped[str] = mapped_column(sa.String(64), unique=True)
    #: SHA-256 of the display copy: re-encoded, at most 1600 px, no EXIF (no GPS).
    display_sha256: Mapped[str] = mapped_column(sa.String(64))
    content_type: Mapped[str] = mapped_column(sa.String(20))
    width: Mapped[int]
    height: Mapped[int]
    size: Mapped[int]
    exif_time: Mapped[datetime | None]
    exif_lat: Mapped[float | None]
    exif_lon: Mapped[float | None]
    #: 64-bit perceptual hashes (pHash, dHash) stored signed; see to_unsigned64.
    phash: Mapped[int] = mapped_column(sa.BigInteger, index=True)
    dhash: Mapped[int] = mapped_column(sa.BigInteger)
    #: (pHash, dHash) of the windows of integrity.photohash.TRIM_WINDOWS, 8 bytes each,
    #: big-endian unsigned (photohash.pack_trims): how a cropped copy is recognised.
    trim_hashes: Mapped[bytes | None] = mapped_column(sa.LargeBinary(256))
    #: 8x8 mean colours, RGB (photohash.colour_grid): PHOTO_REUSED's second measure.
    colours: Mapped[bytes | None] = mapped_column(sa.LargeBinary(192))
    #: How phash, dhash and trim_hashes were taken (evidence.photos.HASH_VERSION); older
    #: photos are brought up to date by ``services rehash-photos`` and the nightly job.
    hash_version: Mapped[int] = mapped_column(sa.SmallInteger, default=2, server_default="2")
    uploaded_at: Mapped[datetime]


class RecordPhoto(db.Model):
    __tablename__ = "record_photo"

    record_id: Mapped[int] = mapped_column(sa.ForeignKey("service_record.id", ondelete="CASCADE"),
                                           primary_key=True)
    photo_id: Mapped[int] = mapped_column(sa.ForeignKey("photo.id", ondelete="RESTRICT"), primary_key=True,
                                          index=True)
    position: Mapped[int] = mapped_column(default=0)
    #: The name the file had on the worker's phone or in the ledger, for display only.
    filename: Mapped[str] = mapped_column(sa.String(200), default="")

    record: Mapped[ServiceRecord] = relationship(back_populates="photos")
    photo: Mapped[Photo] = relationship()


class RecordHistory(db.Model):
    """Each submission, review and correction of a record, with what it looked like."""

    __tablename__ = "service_record_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(sa.ForeignKey("service_record.id", ondelete="CASCADE"), index=True)
    version: Mapped[int]
    #: submitted | accepted | rejected | corrected | refuted
    action: Mapped[str] = mapped_column(sa.String(12))
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    snapshot: Mapped[dict] = mapped_column(sa.JSON)
    by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="RESTRICT"))
    at: Mapped[datetime]

    record: Mapped[ServiceRecord] = relationship(back_populates="history")
    by: Mapped[User | None] = relationship()
