"""Service records: submit (phone or ledger), review, correct; photos and counters. They
flush, never commit.

Counters: every change of a record's contribution goes through ``_count`` so that the
contract's month counters (contracts.service.count_record) always equal a direct count.
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from reliefsvc import audit
from reliefsvc.cases.models import Case
from reliefsvc.common.errors import BilingualError
from reliefsvc.contracts import rules as contract_rules
from reliefsvc.contracts import service as contracts
from reliefsvc.contracts.models import Contract, ContractStatus, ServiceType
from reliefsvc.db import utcnow
from reliefsvc.evidence import events, get_storage, photos, quota
from reliefsvc.evidence.content import ContentError
from reliefsvc.evidence.models import (
    Photo,
    RecordHistory,
    RecordPhoto,
    RecordSource,
    RecordStatus,
    ServiceRecord,
    to_signed64,
)
from reliefsvc.evidence.storage import EvidenceNotFound
from reliefsvc.extensions import db
from reliefsvc.integrity import photohash
from reliefsvc.notifications import service as notifications
from reliefsvc.providers import service as providers
from reliefsvc.providers.models import Staff
from reliefsvc.regions.models import Level, Region
from reliefsvc.security.models import User

LOCAL = photos.LOCAL_TZ
MAX_PHOTOS_PER_RECORD = 9


class RecordError(BilingualError):
    """A service record that cannot be saved as given."""


@dataclass(frozen=True)
class Upload:
    data: bytes
    filename: str


@dataclass
class RecordInput:
    contract: Contract
    worker: Staff
    service_type_code: str
    started_at: datetime
    ended_at: datetime
    case: Case | None = None
    lat: float | None = None
    lon: float | None = None
    notes: str = ""
    record_ref: str | None = None
    submitted_at: datetime | None = None


def local_month(moment: datetime) -> str:
    return contract_rules.month_key(moment.astimezone(LOCAL).date())


def check(data: RecordInput) -> list[tuple[str, str, str]]:
    """(field, zh, en) for everything wrong with a record before it is saved."""
    problems = []
    contract = data.contract
    if contract.status not in (ContractStatus.ACTIVE, ContractStatus.SUSPENDED, ContractStatus.COMPLETED):
        problems.append(("contract", "合同不在履行中，不能填报服务记录", "the contract is not running"))
    st = db.session.get(ServiceType, data.service_type_code)
    if st is None:
        problems.append(("service_type", f"服务类型“{data.service_type_code}”不在服务目录中",
                         f"unknown service type {data.service_type_code!r}"))
    elif not st.purchasable:
        problems.append(("service_type", f"“{st.name_zh}”属于政府决定权，不能作为购买服务填报",
                         f"{st.code} is not purchasable"))
    elif st.case_linked and data.case is None:
        problems.append(("case_ref", f"“{st.name_zh}”须填写服务的家庭（户编号）", "this service type needs a household"))
    if data.worker.provider_id != contract.provider_id:
        problems.append(("worker_id_number", "服务人员不在本合同承接主体的人员名册上",
                         "the worker is not on the provider's roster"))
    elif data.worker.left_on is not None and data.started_at.astimezone(LOCAL).date() > data.worker.left_on:
        problems.append(("worker_id_number", "服务人员在服务日期前已离岗", "the worker had left before the service"))
    if data.ended_at < data.started_at:
        problems.append(("ended_at", "结束时间不能早于开始时间", "ended_at is before started_at"))
    if (data.lat is None) != (data.lon is None):
        problems.append(("lat", "纬度和经度须同时填写", "lat and lon go together"))
    if data.started_at > utcnow():
        problems.append(("started_at", "开始时间不能晚于现在", "started_at lies in the future"))
    return problems


def _snapshot(record: ServiceRecord) -> dict:
    return {"service_type": record.service_type_code, "case_id": record.case_id,
            "started_at": record.started_at.isoformat(), "ended_at": record.ended_at.isoformat(),
            "lat": record.lat, "lon": record.lon, "notes": record.notes,
            "photos": [rp.photo.sha256 for rp in record.photos]}


def _history(record, action, reason, user):
    db.session.add(RecordHistory(record=record, version=record.version, action=action, reason=reason or "",
                                 snapshot=_snapshot(record), by=user, at=utcnow()))


def _count(record: ServiceRecord, sign: int) -> None:
    contracts.count_record(record.contract_id, record.service_type_code, record.month, record.case_id,
                           record.minutes, record.status.value, sign)


def store_photo(upload: Upload, facts: photos.PhotoFacts | None = None, organisation_id: int | None = None) -> Photo:
    """Check, read and store one photo (original and display copy); once per content.

    ``facts`` from an earlier ``photos.examine`` of the same bytes saves decoding twice.
    The bytes count against the quota of ``organisation_id`` (default: the uploader's).
    """
    facts = facts or photos.examine(upload.data)
    quota.ensure_room(organisation_id if organisation_id is not None else quota.current_organisation_id(),
                      len(upload.data))
    storage = get_storage()
    stored = storage.put(io.BytesIO(upload.data), max_bytes=photos.MAX_PHOTO_BYTES)
    existing = db.session.scalar(sa.select(Photo).where(Photo.sha256 == stored.sha256))
    if existing is not None:
        return existing
    display = storage.put(io.BytesIO(facts.display))
    photo = Photo(sha256=stored.sha256, display_sha256=display.sha256, content_type=facts.content_type,
                  width=facts.width, height=facts.height, size=stored.size, exif_time=facts.exif_time,
                  exif_lat=facts.exif_lat, exif_lon=facts.exif_lon, phash=to_signed64(facts.phash),
                  dhash=to_signed64(facts.dhash), trim_hashes=facts.trim_hashes or None, colours=facts.colours or None, uploaded_at=utcnow())
    db.session.add(photo)
    db.session.flush()
    return photo


def submit(data: RecordInput, uploads: list[Upload], user: User | None, source: RecordSource,
           facts: list[photos.PhotoFacts] | None = None) -> ServiceRecord:
    problems = check(data)
    if problems:
        field, zh, en = problems[0]
        raise RecordError("；".join(p[1] for p in problems), "; ".join(p[2] for p in problems), field)
    if len(uploads) > MAX_PHOTOS_PER_RECORD:
        raise RecordError(f"每条记录最多 {MAX_PHOTOS_PER_RECORD} 张照片", "too many photos", "photos")
    stored = []
    for i, upload in enumerate(uploads):
        try:
            stored.append((store_photo(upload, facts[i] if facts else None,
                                       organisation_id=data.contract.provider.organisation_id), upload.filename))
        except ContentError as exc:
            raise RecordError(f"照片“{upload.filename}”：{exc.zh}", f"photo {upload.filename}: {exc.en}", "photos") from None
    ref = (data.record_ref or "").strip()
    if not ref:
        raise RecordError("缺少台账编号", "record_ref is missing", "record_ref")
    record = ServiceRecord(
        contract=data.contract, record_ref=ref, worker=data.worker, case=data.case,
        service_type_code=data.service_type_code, started_at=data.started_at, ended_at=data.ended_at,
        month=local_month(data.started_at), minutes=int((data.ended_at - data.started_at).total_seconds() // 60),
        lat=data.lat, lon=data.lon, notes=(data.notes or "").strip(), submitted_at=data.submitted_at or utcnow(),
        submitted_by=user, source=source, status=RecordStatus.SUBMITTED)
    record.photos = [RecordPhoto(photo=p, position=i, filename=(name or "")[-200:]) for i, (p, name) in
                     enumerate(stored)]
    db.session.add(record)
    db.session.flush()
    _count(record, +1)
    _history(record, "submitted", "", user)
    _clear_alert_by(record)
    audit.record(events.RecordSubmitted(record_id=record.id, contract_id=record.contract_id, record_ref=ref,
                                        service_type=record.service_type_code, photos=len(stored), source=source.value))
    return record


def _clear_alert_by(record: ServiceRecord) -> None:
    """An alert check at a household with an open alert is the door-to-door check it asked for."""
    if record.service_type_code != "alert_check" or record.case is None:
        return
    from reliefsvc.cases import service as cases

    alert = cases.open_alert_of(record.case)
    if alert is not None and alert.issued_at <= record.ended_at:
        cases.clear_alert(alert, "", record_id=record.id, at=record.ended_at)


def review(record: ServiceRecord, accept: bool, reason: str, user: User) -> None:
    reason = (reason or "").strip()
    if record.status is not RecordStatus.SUBMITTED:
        raise RecordError("只能审核待审核的记录", "only a record awaiting review can be reviewed")
    if not accept and not reason:
        raise RecordError("退回时须写明理由", "a rejection needs a reason", "reason")
    _count(record, -1)
    record.status = RecordStatus.ACCEPTED if accept else RecordStatus.REJECTED
    record.reviewed_by, record.reviewed_at, record.review_reason = user, utcnow(), reason or None
    _count(record, +1)
    db.session.flush()
    _history(record, record.status.value, reason, user)
    audit.record(events.RecordReviewed(record_id=record.id, decision=record.status.value, reason=reason))
    if not accept:
        recipients = [record.submitted_by_id] if record.submitted_by_id else []
        recipients += providers._managers(record.contract.provider)
        notifications.notify(sorted(set(recipients)), "record.rejected",
                             f"服务记录 {record.record_ref} 被退回", reason, link=f"/records/{record.id}")


def correct(record: ServiceRecord, data: RecordInput, uploads: list[Upload], keep_photo_ids: list[int],
            user: User) -> None:
    """A rejected record, corrected by its provider, goes back for review as a new version."""
    if record.status is not RecordStatus.REJECTED:
        raise RecordError("只有被退回的记录才能修改后重新提交", "only a rejected record can be corrected")
    data.contract, data.record_ref = record.contract, record.record_ref
    problems = check(data)
    if problems:
        raise RecordError("；".join(p[1] for p in problems), "; ".join(p[2] for p in problems), problems[0][0])
    new_photos = []
    for upload in uploads:
        try:
            new_photos.append((store_photo(upload, organisation_id=record.contract.provider.organisation_id),
                               upload.filename))
        except ContentError as exc:
            raise RecordError(f"照片“{upload.filename}”：{exc.zh}", f"photo {upload.filename}: {exc.en}", "photos") from None
    before = _snapshot(record)
    _count(record, -1)
    record.worker, record.case, record.service_type_code = data.worker, data.case, data.service_type_code
    record.started_at, record.ended_at = data.started_at, data.ended_at
    record.month = local_month(data.started_at)
    record.minutes = int((data.ended_at - data.started_at).total_seconds() // 60)
    record.lat, record.lon, record.notes = data.lat, data.lon, (data.notes or "").strip()
    kept = [rp for rp in record.photos if rp.photo_id in set(keep_photo_ids)]
    record.photos = kept + [RecordPhoto(photo=p, position=len(kept) + i, filename=name[-200:])
                            for i, (p, name) in enumerate(new_photos) if p.id not in {k.photo_id for k in kept}]
    record.status, record.version = RecordStatus.SUBMITTED, record.version + 1
    record.reviewed_by = record.reviewed_at = record.review_reason = None
    db.session.flush()
    _count(record, +1)
    after = _snapshot(record)
    changed = [k for k in after if after[k] != before[k]]
    _history(record, "corrected", "", user)
    audit.record(events.RecordCorrected(record_id=record.id, version=record.version, changed=changed))


def mark_refuted(record: ServiceRecord, user: User | None, reason: str) -> None:
    """A spot check found the service was not delivered."""
    if record.refuted:
        return
    record.refuted = True
    contracts.count_refuted(record.contract_id, record.service_type_code, record.month, +1)
    _history(record, "refuted", reason, user)


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """A service on a household's page: what its row shows, read as plain columns."""

    id: int
    type_name: str
    started_at: datetime
    minutes: int
    provider_name: str
    worker_name: str
    status: RecordStatus
    notes: str
    #: the first photos' ids, in their order on the record
    photo_ids: tuple[int, ...]


#: Photos a timeline row shows.
TIMELINE_PHOTOS = 4


def timeline(case: Case, user, limit: int = 200) -> list[TimelineEntry]:
    """The household's services, newest first (a provider sees its own organisation's):
    two statements whatever their number (issue 16: 20 ORM records with their contract,
    provider, worker and type were most of the household page's work), both built once
    (``_timeline_statements``)."""
    services, photos = _timeline_statements(user.role.is_provider, limit)
    rows = db.session.execute(services, {"case_id": case.id, "organisation_id": user.organisation_id}).all()
    photos_of: dict[int, list[int]] = {}
    if rows:
        for record_id, photo_id in db.session.execute(photos, {"ids": [r[0] for r in rows]}):
            photos_of.setdefault(record_id, []).append(photo_id)
    return [TimelineEntry(*row, photo_ids=tuple(photos_of.get(row[0], ())[:TIMELINE_PHOTOS])) for row in rows]


@functools.cache
def _timeline_statements(own_only: bool, limit: int) -> tuple[sa.Select, sa.Select]:
    """``timeline``'s two statements, for ``:case_id`` (and ``:organisation_id`` when
    ``own_only``) and the photos of the records ``:ids``: built on each request, their joins
    cost as much as running them."""
    from reliefsvc.providers.models import Provider

    def lookup(column, where):  # a primary-key lookup per row (joined, the contracts were hashed whole)
        return sa.select(column).where(where).correlate(ServiceRecord).scalar_subquery()

    provider = (sa.select(Provider.name).join(Contract, Contract.provider_id == Provider.id)
                .where(Contract.id == ServiceRecord.contract_id).correlate(ServiceRecord).scalar_subquery())
    services = (sa.select(ServiceRecord.id, lookup(ServiceType.name_zh, ServiceType.code == ServiceRecord.service_type_code),
                          ServiceRecord.started_at, ServiceRecord.minutes, provider,
                          lookup(Staff.name, Staff.id == ServiceRecord.worker_id), ServiceRecord.status,
                          ServiceRecord.notes)
                .where(ServiceRecord.case_id == sa.bindparam("case_id"))
                .order_by(ServiceRecord.started_at.desc(), ServiceRecord.id.desc()).limit(limit))
    if own_only:
        services = services.where(ServiceRecord.contract_id.in_(
            sa.select(Contract.id).join(Provider).where(Provider.organisation_id == sa.bindparam("organisation_id"))))
    photos = (sa.select(RecordPhoto.record_id, RecordPhoto.photo_id)
              .where(RecordPhoto.record_id.in_(sa.bindparam("ids", expanding=True)))
              .order_by(RecordPhoto.record_id, RecordPhoto.position))
    return services, photos


def worker_days(worker: Staff, day_from, day_to) -> list[tuple[object, list[ServiceRecord]]]:
    """A worker's records between two local days, grouped by day: what a working day looked like."""
    start = datetime.combine(day_from, datetime.min.time(), LOCAL)
    end = datetime.combine(day_to, datetime.min.time(), LOCAL) + timedelta(days=1)
    rows = db.session.scalars(sa.select(ServiceRecord).where(
        ServiceRecord.worker_id == worker.id, ServiceRecord.started_at >= start, ServiceRecord.started_at < end)
        .order_by(ServiceRecord.started_at)).all()
    days: dict = {}
    for r in rows:
        days.setdefault(r.started_at.astimezone(LOCAL).date(), []).append(r)
    return sorted(days.items(), reverse=True)


def workers_matching(text: str) -> sa.Select:
    """Subquery: the ids of the workers whose name contains ``text``, or whose resident ID
    number or phone it is (the record list's worker search: a province has thousands)."""
    text = text.strip()
    found = [Staff.name.contains(text, autoescape=True), Staff.phone == text]
    if len(text) == 18:
        found.append(Staff.id_number == text.upper())
    return sa.select(Staff.id).where(sa.or_(*found))


def contracts_matching(text: str) -> sa.Select:
    """Subquery: the ids of the contracts whose number or title contains ``text``."""
    text = text.strip()
    return sa.select(Contract.id).where(sa.or_(Contract.contract_no.contains(text, autoescape=True),
                                               Contract.title.contains(text, autoescape=True)))


def townships_matching(text: str) -> sa.Select:
    """Subquery: the ids of the townships whose name contains ``text``, or whose division code
    begins with it (a county's code finds its townships; a province has a thousand)."""
    text = text.strip()
    return sa.select(Region.id).where(Region.level == Level.TOWNSHIP,
                                      sa.or_(Region.name.contains(text, autoescape=True),
                                             Region.code.startswith(text, autoescape=True)))


def records_for(user, **filters):
    """Records the user may see, newest first, with the filters of the review list."""
    from reliefsvc.providers.models import Provider

    # No join to contracts for the bureau (every record is visible): the counts and the
    # newest-first page then read the (status, type, started_at) indexes alone.
    query = sa.select(ServiceRecord)
    if filters.get("sort") == "risk":
        query = query.order_by(ServiceRecord.risk_score.desc(), ServiceRecord.started_at.desc(), ServiceRecord.id.desc())
    else:
        query = query.order_by(ServiceRecord.started_at.desc(), ServiceRecord.id.desc())
    if filters.get("min_risk"):
        query = query.where(ServiceRecord.risk_score >= filters["min_risk"])
    if filters.get("flag"):
        from reliefsvc.integrity.models import IntegrityFlag

        query = query.where(sa.exists().where(IntegrityFlag.record_id == ServiceRecord.id,
                                              IntegrityFlag.code == filters["flag"],
                                              IntegrityFlag.dismissed_at.is_(None)))
    if user.role.is_provider:
        query = query.where(ServiceRecord.contract_id.in_(
            sa.select(Contract.id).join(Provider).where(Provider.organisation_id == user.organisation_id)))
    if filters.get("contract_id"):
        query = query.where(ServiceRecord.contract_id == filters["contract_id"])
    if filters.get("status"):
        query = query.where(ServiceRecord.status == filters["status"])
    if filters.get("service_type"):
        query = query.where(ServiceRecord.service_type_code == filters["service_type"])
    if filters.get("contract_q"):
        query = query.where(ServiceRecord.contract_id.in_(contracts_matching(filters["contract_q"])))
    if filters.get("worker_id"):
        query = query.where(ServiceRecord.worker_id == filters["worker_id"])
    elif filters.get("worker_q"):
        query = query.where(ServiceRecord.worker_id.in_(workers_matching(filters["worker_q"])))
    if filters.get("village_id"):
        query = query.join(Case, Case.id == ServiceRecord.case_id).where(Case.village_id == filters["village_id"])
    elif filters.get("township_id"):
        query = query.join(Case, Case.id == ServiceRecord.case_id).where(
            Case.village_id.in_(sa.select(Region.id).where(Region.parent_id == filters["township_id"])))
    elif filters.get("township_q"):
        villages = sa.select(Region.id).where(Region.parent_id.in_(townships_matching(filters["township_q"])))
        query = query.join(Case, Case.id == ServiceRecord.case_id).where(Case.village_id.in_(villages))
    if filters.get("day_from"):
        query = query.where(ServiceRecord.started_at >= filters["day_from"])
    if filters.get("day_to"):
        query = query.where(ServiceRecord.started_at < filters["day_to"])
    return query


# --- orphan files --------------------------------------------------------------------------

#: How long a stored file may wait for the row that names it: a request stores its photos
#: before its transaction commits, so a younger file without a row may be in flight.
ORPHAN_GRACE = timedelta(hours=24)
_SWEEP_BATCH = 500


@dataclass(frozen=True)
class SweepResult:
    checked: int
    orphans: int
    removed: int


def _digest_columns() -> list[sa.Column]:
    """Every column that names a stored file: by convention, and in every room, ``*sha256``.

    Read from the metadata so that a room added later is covered without a change here;
    a column so named that holds no file only makes the sweep keep more.
    """
    return [c for t in db.metadata.sorted_tables for c in t.columns if c.name.endswith("sha256")]


def _referenced(digests: list[str], columns: list[sa.Column]) -> set[str]:
    found: set[str] = set()
    for column in columns:
        found |= set(db.session.scalars(sa.select(column).where(column.in_(digests)).distinct()))
    return found


def sweep_orphan_files(grace: timedelta = ORPHAN_GRACE, dry_run: bool = False) -> SweepResult:
    """Remove the evidence files no row names and no ``put`` touched within ``grace``.

    A request killed, or rolled back, after it stored its photos leaves their files
    without a row (the store writes outside the transaction). Reads only; never commits.
    """
    import time

    storage = get_storage()
    columns = _digest_columns()
    cutoff = time.time() - grace.total_seconds()
    checked = orphans = removed = 0
    batch: list[str] = []

    def settle() -> None:
        nonlocal orphans, removed
        known = _referenced(batch, columns)
        for digest in batch:
            if digest in known:
                continue
            orphans += 1
            if not dry_run and storage.delete_if_unreferenced(
                    digest, lambda d: bool(_referenced([d], columns)) or _touched_since(storage, d, cutoff)):
                removed += 1
        batch.clear()

    for digest, mtime in storage.iter_stored():
        checked += 1
        if mtime > cutoff:
            continue
        batch.append(digest)
        if len(batch) >= _SWEEP_BATCH:
            settle()
    if batch:
        settle()
    return SweepResult(checked, orphans, removed)


def _touched_since(storage, digest: str, cutoff: float) -> bool:
    """Whether a ``put`` refreshed the file since the sweep listed it (it is in use again)."""
    path = getattr(storage, "_path_for", None)
    if path is None:
        return False
    try:
        return path(digest).stat().st_mtime > cutoff
    except FileNotFoundError:
        return False


@dataclass(frozen=True)
class RehashResult:
    rehashed: int
    #: files missing from the store or no longer readable as pictures: left as they were
    unreadable: int
    remaining: int


def rehash_photos(limit: int | None = None) -> RehashResult:
    """Recompute the perceptual hashes of photos stored under an older ``HASH_VERSION``.

    Oldest first, at most ``limit`` (None: all), from the originals in the evidence store;
    one audit entry for the batch. A photo whose file cannot be read keeps its hashes and
    its version (it is counted, and the next batch tries again). Flushes, never commits.
    After the last batch a full integrity run compares every photo under the new hashes.
    """
    stale = Photo.hash_version < photos.HASH_VERSION
    query = sa.select(Photo).where(stale).order_by(Photo.id)
    if limit is not None:
        query = query.limit(limit)
    storage = get_storage()
    rehashed = unreadable = 0
    for photo in db.session.scalars(query):
        try:
            with storage.open(photo.sha256) as stream:
                phash, dhash, trims = photos.signature(stream.read())
        except (EvidenceNotFound, OSError, ValueError, SyntaxError):  # gone; Pillow's errors for a damaged file
            unreadable += 1
            continue
        photo.phash, photo.dhash = to_signed64(phash), to_signed64(dhash)
        photo.trim_hashes = photohash.pack_trims(trims) or None
        photo.hash_version = photos.HASH_VERSION
        rehashed += 1
    db.session.flush()
    remaining = db.session.scalar(sa.select(sa.func.count()).select_from(Photo).where(stale))
    if rehashed or unreadable:
        audit.record(events.PhotosRehashed(rehashed=rehashed, unreadable=unreadable, remaining=remaining,
                                           hash_version=photos.HASH_VERSION))
    return RehashResult(rehashed, unreadable, remaining)
