from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from reliefsvc.audit.events import OBJECT_LABELS, Event

OBJECT_LABELS.update(service_record=_l("Service record"), photo=_l("Photo"))


@dataclass(frozen=True, kw_only=True)
class RecordSubmitted(Event):
    event_type = "records.submitted"
    label = _l("Service record submitted")
    object_type = "service_record"
    object_field = "record_id"
    record_id: int
    contract_id: int
    record_ref: str
    service_type: str
    photos: int
    source: str


@dataclass(frozen=True, kw_only=True)
class RecordReviewed(Event):
    event_type = "records.reviewed"
    label = _l("Service record accepted or rejected")
    object_type = "service_record"
    object_field = "record_id"
    record_id: int
    decision: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class RecordCorrected(Event):
    event_type = "records.corrected"
    label = _l("Service record corrected")
    object_type = "service_record"
    object_field = "record_id"
    record_id: int
    version: int
    changed: list


@dataclass(frozen=True, kw_only=True)
class LedgerImported(Event):
    event_type = "records.ledger_imported"
    label = _l("Service ledger imported")
    object_type = "contract"
    object_field = "contract_id"
    contract_id: int
    filename: str
    sha256: str
    imported: int
    updated: int
    rejected: int
    photos: int


@dataclass(frozen=True, kw_only=True)
class OriginalPhotoOpened(Event):
    event_type = "records.original_photo_opened"
    label = _l("Original photo opened")
    object_type = "photo"
    object_field = "photo_id"
    photo_id: int
    record_id: int


@dataclass(frozen=True, kw_only=True)
class PhotosRehashed(Event):
    event_type = "photos.rehashed"
    label = _l("Photos' perceptual hashes recomputed")
    rehashed: int
    unreadable: int
    remaining: int
    hash_version: int
