"""The service ledger (台账) in and out: ``services import`` and ``services export``.

Import is two passes: every row and every photo is checked first (nothing is written
while a single row is wrong, unless --partial), then the good rows are written. Photo
files come from a folder or a zip; names are looked up, never joined into paths.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import gc
import hashlib
import io
import os
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import sqlalchemy as sa

from reliefsvc import audit
from reliefsvc.cases.models import Case
from reliefsvc.common.formatting import LOCAL_TZ
from reliefsvc.common.idnumber import IdNumberError
from reliefsvc.common.idnumber import validate as validate_id
from reliefsvc.common.tabular import (
    Column,
    FieldError,
    ImportReport,
    RowError,
    TableError,
    parse_float_range,
    parse_time,
    read_table,
)
from reliefsvc.contracts.models import Contract, ServiceType
from reliefsvc.db import utcnow
from reliefsvc.evidence import events, photos, quota
from reliefsvc.evidence.content import ContentError
from reliefsvc.evidence.models import RecordPhoto, RecordSource, RecordStatus, ServiceRecord
from reliefsvc.evidence.service import RecordInput, Upload, check, submit
from reliefsvc.extensions import db
from reliefsvc.providers.models import Staff

#: A zip may not unpack to more than this (zip bombs), nor hold an entry larger than a photo may be.
MAX_ZIP_TOTAL = 4 * 1024 * 1024 * 1024
_SAFE_NAME = re.compile(r"^[^/\\\x00]+(/[^/\\\x00]+)*$")


def _id(text: str) -> str:
    try:
        return _valid_id(text)
    except IdNumberError as exc:
        raise FieldError(exc.zh, exc.en) from None


@functools.lru_cache(maxsize=4096)
def _valid_id(text: str) -> str:
    """``idnumber.validate``, remembered for one import (``import_ledger`` clears it): a ledger
    names the same few workers on every row (issue 16). A wrong number raises each time
    (exceptions are not cached)."""
    return validate_id(text)


def _names(text: str) -> list[str]:
    return [n.strip() for n in text.replace("；", ";").split(";") if n.strip()]


COLUMNS = [
    Column("record_ref", "台账编号", required=True),
    Column("worker_id_number", "服务人员身份证号", required=True, parse=_id),
    Column("case_ref", "户编号"),
    Column("service_type", "服务类型", required=True),
    Column("started_at", "开始时间", required=True, parse=parse_time),
    Column("ended_at", "结束时间", required=True, parse=parse_time),
    Column("lat", "纬度", parse=parse_float_range(-90, 90, "纬度", "latitude")),
    Column("lon", "经度", parse=parse_float_range(-180, 180, "经度", "longitude")),
    Column("notes", "服务内容"),
    Column("photos", "照片", parse=_names),
    Column("submitted_at", "填报时间", parse=parse_time),
]
EXPORT_ORDER = [c.name for c in COLUMNS]


class PhotoSource:
    """Photo files by name, from a folder or a zip — looked up, never used as a path."""

    def __init__(self, location: str | Path | None):
        self.files: dict[str, bytes | Path] = {}
        self.unsafe: set[str] = set()
        self.zip: zipfile.ZipFile | None = None
        if location is None:
            return
        path = Path(location)
        if path.is_dir():
            root = path.resolve()
            for file in root.rglob("*"):
                if file.is_file() and not file.is_symlink():
                    self.files[file.relative_to(root).as_posix()] = file
        else:
            try:
                self.zip = zipfile.ZipFile(path)
            except zipfile.BadZipFile as exc:
                raise TableError([RowError(0, "photos", "照片压缩包已损坏或不是 zip 文件",
                                           "the photo archive is not a valid zip file")]) from exc
            total = 0
            for info in self.zip.infolist():
                if info.is_dir():
                    continue
                name = info.filename
                parts = PurePosixPath(name).parts
                if not _SAFE_NAME.match(name) or name.startswith("/") or ".." in parts or ":" in parts[0]:
                    self.unsafe.add(name)
                    continue
                total += info.file_size
                self.files[name] = b""  # read on demand
            if total > MAX_ZIP_TOTAL:
                raise TableError([RowError(0, "photos", "照片压缩包解压后过大", "the photo archive unpacks too large")])

    def read(self, name: str) -> bytes:
        where = self.files[name]
        if isinstance(where, Path):
            return where.read_bytes()
        info = self.zip.getinfo(name)
        if info.file_size > photos.MAX_PHOTO_BYTES:
            raise ContentError("照片超过 15 MB", "the photo is larger than 15 MB")
        with self.zip.open(info) as fh:
            data = fh.read(photos.MAX_PHOTO_BYTES + 1)
        if len(data) > photos.MAX_PHOTO_BYTES:
            raise ContentError("照片超过 15 MB", "the photo is larger than 15 MB")
        return data

    def close(self):
        if self.zip is not None:
            self.zip.close()


@dataclass
class Prepared:
    number: int
    data: RecordInput
    uploads: list[Upload] = field(default_factory=list)
    facts: list[photos.PhotoFacts] = field(default_factory=list)
    existing: ServiceRecord | None = None


def import_ledger(contract: Contract, data: bytes, *, photos_at: str | None = None, filename: str = "",
                  encoding: str = "utf-8", partial: bool = False, user=None) -> ImportReport:
    try:
        with _cyclic_gc_paused():
            return _import_ledger(contract, data, photos_at=photos_at, filename=filename, encoding=encoding,
                                  partial=partial, user=user)
    finally:
        _valid_id.cache_clear()  # ID numbers are personal data: not kept in the process past the import


@contextlib.contextmanager
def _cyclic_gc_paused():
    """issue 16: a ledger's rows, checks and records are hundreds of thousands of objects
    that all live until the import ends; while they pile up, the cyclic collector walked
    them (and the whole application) again and again — a fifth of the CPU time of an
    import of 20 000 rows. Reference counting still frees everything acyclic; the cycles
    made meanwhile are collected as usual once it is back on (no forced collection: a
    small upload should not pay for a walk of the whole process)."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _import_ledger(contract: Contract, data: bytes, *, photos_at: str | None, filename: str, encoding: str,
                   partial: bool, user) -> ImportReport:
    report = ImportReport()
    try:
        rows, errors = read_table(data, COLUMNS, encoding=encoding, filename=filename)
        source = PhotoSource(photos_at)
    except TableError as exc:
        report.errors = exc.errors
        return report
    try:
        prepared, errors = _prepare(contract, rows, errors, source)
    finally:
        source.close()
    report.errors = sorted(errors, key=lambda e: (e.row, e.column or ""))
    report.rejected = len({e.row for e in report.errors})
    if report.errors and not partial:
        return report
    # issue 15: the organisation's upload quota, for the whole ledger at once (all or nothing)
    try:
        quota.ensure_room(contract.provider.organisation_id, sum(len(u.data) for p in prepared for u in p.uploads))
    except quota.QuotaExceeded as exc:
        report.errors = [*report.errors, RowError(0, "photos", exc.zh, exc.en)]
        report.rejected = len({e.row for e in report.errors})
        return report
    stored_photos = 0
    # New records without photos (the bulk of a ledger) are written together, in file
    # order, as submit() would write them one by one; the rest go through submit/_update.
    plain = [item for item in prepared if item.existing is None and not item.uploads]
    _submit_many(contract, plain, user)
    report.imported += len(plain)
    for item in prepared:
        if item.existing is None:
            if not item.uploads:
                continue
            submit(item.data, item.uploads, user, RecordSource.LEDGER, facts=item.facts)
            report.imported += 1
            stored_photos += len(item.uploads)
        elif _changed(item.existing, item):
            _update(item.existing, item, user)
            report.updated += 1
    report.written = True
    db.session.flush()
    audit.record(events.LedgerImported(contract_id=contract.id, filename=filename,
                                       sha256=hashlib.sha256(data).hexdigest(), imported=report.imported,
                                       updated=report.updated, rejected=report.rejected, photos=stored_photos))
    return report


def _prepare(contract, rows, errors, source: PhotoSource):
    workers = {s.id_number: s for s in db.session.scalars(sa.select(Staff).where(Staff.provider_id == contract.provider_id))}
    types = {t.code: t for t in db.session.scalars(sa.select(ServiceType))}
    refs = [r.values["case_ref"] for r in rows if r.values.get("case_ref")]
    cases = {c.case_ref: c for c in db.session.scalars(sa.select(Case).where(Case.case_ref.in_(refs)))} if refs else {}
    existing = _existing(contract, {r.values["record_ref"] for r in rows})
    seen: dict[str, int] = {}
    prepared = []
    examined = examine_all(source, [n for r in rows for n in (r.values.get("photos") or [])])
    for row in rows:
        v, row_errors = row.values, []

        def err(column, zh, en, _row=row, _errors=row_errors):
            _errors.append(RowError(_row.number, column, zh, en))

        ref = v["record_ref"]
        if ref in seen:
            err("record_ref", f"台账编号与第 {seen[ref]} 行重复", f"record_ref repeats row {seen[ref]}")
        seen.setdefault(ref, row.number)
        worker = workers.get(v["worker_id_number"])
        if worker is None:
            err("worker_id_number", "服务人员不在承接主体的人员名册上", "the worker is not on the provider's staff roster")
        st = types.get(v["service_type"])
        if st is None:
            err("service_type", f"服务类型“{v['service_type']}”不在服务目录中", f"unknown service type {v['service_type']!r}")
        case = None
        if v["case_ref"]:
            case = cases.get(v["case_ref"])
            if case is None:
                err("case_ref", f"户编号 {v['case_ref']} 不存在", f"household {v['case_ref']} does not exist")
        uploads, facts = [], []
        for name in v["photos"] or []:
            if name in source.unsafe or not _SAFE_NAME.match(name) or ".." in PurePosixPath(name).parts:
                err("photos", f"照片文件名“{name}”含有路径（如 ../），已拒绝", f"unsafe photo file name {name!r}")
                continue
            if name not in source.files:
                err("photos", f"找不到照片文件“{name}”", f"photo file {name!r} not found")
                continue
            try:
                content = source.read(name)
                fact = examined.get(hashlib.sha256(content).digest()) if examined is not None else None
                facts.append(fact if fact is not None else photos.examine(content))
                uploads.append(Upload(content, name))
            except ContentError as exc:
                err("photos", f"照片“{name}”：{exc.zh}", f"photo {name}: {exc.en}")
        if worker is not None and st is not None and not any(e.column in ("started_at", "ended_at") for e in row_errors):
            data = RecordInput(contract=contract, worker=worker, service_type_code=st.code,
                               started_at=v["started_at"], ended_at=v["ended_at"], case=case, lat=v["lat"],
                               lon=v["lon"], notes=v["notes"] or "", record_ref=ref, submitted_at=v["submitted_at"])
            for column, zh, en in check(data):
                err({"contract": "record_ref", "case_ref": "case_ref"}.get(column, column), zh, en)
            current = existing.get(ref)
            if current is not None and current.status is RecordStatus.ACCEPTED and _changed(
                    current, Prepared(row.number, data, uploads, facts)):
                err("record_ref", "该记录已审核通过，不能用导入修改", "an accepted record cannot be changed by import")
            if not row_errors:
                prepared.append(Prepared(row.number, data, uploads, facts, current))
        errors.extend(row_errors)
    return prepared, errors


def _existing(contract: Contract, refs: set[str]) -> dict[str, ServiceRecord]:
    """The contract's records the ledger names again (a re-import), as objects; the
    contract's other records are not loaded — a province contract holds a great many."""
    held = set(db.session.scalars(sa.select(ServiceRecord.record_ref).where(ServiceRecord.contract_id == contract.id)))
    wanted = sorted(refs & held)
    found: dict[str, ServiceRecord] = {}
    for start in range(0, len(wanted), 500):
        for record in db.session.scalars(sa.select(ServiceRecord).where(
                ServiceRecord.contract_id == contract.id, ServiceRecord.record_ref.in_(wanted[start:start + 500]))
                .options(sa.orm.selectinload(ServiceRecord.photos).joinedload(RecordPhoto.photo))):
            found[record.record_ref] = record
    return found


#: Rows written per INSERT batch.
_BATCH = 5000


def _submit_many(contract: Contract, items: list[Prepared], user) -> None:
    """``service.submit`` for many new records without photos, in bulk: the same rows
    (record, its "submitted" history entry, the month counters, a cleared alert, the
    audit entry), a few statements per thousand records instead of a dozen per record.
    Every item has passed ``check`` in ``_prepare``."""
    if not items:
        return
    from reliefsvc.contracts import service as contracts
    from reliefsvc.evidence.models import RecordHistory
    from reliefsvc.evidence.service import local_month

    now = utcnow()
    by = user.id if user is not None else None
    rows = []
    for item in items:
        d = item.data
        rows.append({
            "contract_id": contract.id, "record_ref": d.record_ref.strip(), "worker_id": d.worker.id,
            "case_id": d.case.id if d.case is not None else None, "service_type_code": d.service_type_code,
            "started_at": d.started_at, "ended_at": d.ended_at, "month": local_month(d.started_at),
            "minutes": int((d.ended_at - d.started_at).total_seconds() // 60), "lat": d.lat, "lon": d.lon,
            "notes": (d.notes or "").strip(), "submitted_at": d.submitted_at or now, "submitted_by_id": by,
            "source": RecordSource.LEDGER, "status": RecordStatus.SUBMITTED})
    db.session.flush()
    # issue 16: RETURNING the ref with the id, matched by ref (unique in the contract), lets
    # SQLite batch the rows too; sort_by_parameter_order made it send one INSERT per row.
    id_of: dict[str, int] = {}
    for start in range(0, len(rows), _BATCH):
        id_of.update((ref, rid) for rid, ref in db.session.execute(
            sa.insert(ServiceRecord).returning(ServiceRecord.id, ServiceRecord.record_ref), rows[start:start + _BATCH]))
    ids = [id_of[r["record_ref"]] for r in rows]
    history = [{"record_id": rid, "version": 1, "action": "submitted", "reason": "", "by_id": by, "at": now,
                "snapshot": {"service_type": r["service_type_code"], "case_id": r["case_id"],
                             "started_at": r["started_at"].isoformat(), "ended_at": r["ended_at"].isoformat(),
                             "lat": r["lat"], "lon": r["lon"], "notes": r["notes"], "photos": []}}
               for rid, r in zip(ids, rows, strict=True)]
    for start in range(0, len(history), _BATCH):
        db.session.execute(sa.insert(RecordHistory), history[start:start + _BATCH])
    # Month counters: one update per (type, month) and per (type, month, household) —
    # the sums of what count_record adds record by record.
    months: dict[tuple[str, str], list[int]] = {}
    households: dict[tuple[str, str, int], int] = {}
    for r in rows:
        key = (r["service_type_code"], r["month"])
        total = months.setdefault(key, [0, 0])
        total[0] += 1
        total[1] += max(0, r["minutes"])
        if r["case_id"] is not None:
            households[(*key, r["case_id"])] = households.get((*key, r["case_id"]), 0) + 1
    contracts.count_records_bulk(contract.id, months, households)
    _clear_alerts_by(ids, rows)
    # issue 16: the entries submit() records one by one, chained and written in one loop
    source = RecordSource.LEDGER.value
    audit.record_many(events.RecordSubmitted(record_id=rid, contract_id=contract.id, record_ref=r["record_ref"],
                                             service_type=r["service_type_code"], photos=0, source=source)
                      for rid, r in zip(ids, rows, strict=True))


def _clear_alerts_by(ids: list[int], rows: list[dict]) -> None:
    """``service._clear_alert_by`` for the new records: an alert check at a household with
    an open alert issued before it ended clears that alert (the first such record does)."""
    checks = [(rid, r) for rid, r in zip(ids, rows, strict=True)
              if r["service_type_code"] == "alert_check" and r["case_id"] is not None]
    if not checks:
        return
    from reliefsvc.cases import service as cases
    from reliefsvc.cases.models import Alert

    case_ids = sorted({r["case_id"] for _rid, r in checks})
    open_alerts = {}
    for start in range(0, len(case_ids), 500):
        for alert in db.session.scalars(sa.select(Alert).where(Alert.case_id.in_(case_ids[start:start + 500]),
                                                                Alert.cleared_at.is_(None))):
            open_alerts[alert.case_id] = alert
    for rid, r in checks:
        alert = open_alerts.get(r["case_id"])
        if alert is not None and alert.cleared_at is None and alert.issued_at <= r["ended_at"]:
            cases.clear_alert(alert, "", record_id=rid, at=r["ended_at"])


#: From this many photos on, they are examined by one process per core.
PARALLEL_FROM = 48


def examine_all(source: PhotoSource, names: list[str]) -> dict[bytes, photos.PhotoFacts] | None:
    """Examine the ledger's photos on every core (decoding, EXIF, hashes, the display copy).

    Returns facts by SHA-256 digest for the photos that passed; those that failed are
    examined again, one by one, by the row checks, which then report their errors. None
    when there are too few photos to be worth other processes.
    """
    names = [n for n in dict.fromkeys(names) if n in source.files and n not in source.unsafe]
    if len(names) < PARALLEL_FROM or (os.cpu_count() or 1) < 2:
        return None
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    contents = {}
    for name in names:
        try:
            data = source.read(name)
        except ContentError:
            continue
        contents.setdefault(hashlib.sha256(data).digest(), data)
    # "spawn": the workers start clean, without this process's database connections.
    with ProcessPoolExecutor(max_workers=os.cpu_count(), mp_context=multiprocessing.get_context("spawn")) as pool:
        results = pool.map(_examine_or_none, contents.values(), chunksize=8)
        return {digest: fact for digest, fact in zip(contents, results, strict=True) if fact is not None}


def _examine_or_none(data: bytes) -> photos.PhotoFacts | None:
    try:
        return photos.examine(data)
    except ContentError:
        return None


def _changed(record: ServiceRecord, item: Prepared) -> bool:
    d = item.data
    new_hashes = [hashlib.sha256(u.data).hexdigest() for u in item.uploads]
    return (record.worker_id != d.worker.id or record.case_id != (d.case.id if d.case else None)
            or record.service_type_code != d.service_type_code or record.started_at != d.started_at
            or record.ended_at != d.ended_at or record.lat != d.lat or record.lon != d.lon
            or record.notes != (d.notes or "").strip() or [rp.photo.sha256 for rp in record.photos] != new_hashes)


def _update(record: ServiceRecord, item: Prepared, user) -> None:
    from reliefsvc.evidence import service

    if record.status is RecordStatus.REJECTED:
        service.correct(record, item.data, item.uploads, [], user)
        return
    # An unreviewed record is replaced in place: uncount, change, count again.
    service._count(record, -1)
    d = item.data
    record.worker, record.case, record.service_type_code = d.worker, d.case, d.service_type_code
    record.started_at, record.ended_at = d.started_at, d.ended_at
    record.month = service.local_month(d.started_at)
    record.minutes = int((d.ended_at - d.started_at).total_seconds() // 60)
    record.lat, record.lon, record.notes = d.lat, d.lon, (d.notes or "").strip()
    from reliefsvc.evidence.models import RecordPhoto

    record.photos = [RecordPhoto(photo=service.store_photo(u, f, organisation_id=record.contract.provider.organisation_id), position=i,
                                 filename=u.filename[-200:])
                     for i, (u, f) in enumerate(zip(item.uploads, item.facts, strict=True))]
    record.version += 1
    db.session.flush()
    service._count(record, +1)
    service._history(record, "corrected", "导入更新", user)


# --- export ------------------------------------------------------------------------------

def _local(moment):
    return moment.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def export_rows(contract: Contract) -> Iterable[dict]:
    query = (sa.select(ServiceRecord).where(ServiceRecord.contract_id == contract.id)
             .order_by(ServiceRecord.started_at, ServiceRecord.id)
             .options(sa.orm.selectinload(ServiceRecord.photos), sa.orm.joinedload(ServiceRecord.worker),
                      sa.orm.joinedload(ServiceRecord.case)))
    for record in db.session.scalars(query):
        yield {"record_ref": record.record_ref, "worker_id_number": record.worker.id_number,
               "case_ref": record.case.case_ref if record.case else "", "service_type": record.service_type_code,
               "started_at": _local(record.started_at), "ended_at": _local(record.ended_at),
               "lat": "" if record.lat is None else record.lat, "lon": "" if record.lon is None else record.lon,
               "notes": record.notes, "photos": ";".join(rp.filename or rp.photo.sha256 + ".jpg" for rp in record.photos),
               "submitted_at": _local(record.submitted_at)}


def export_ledger(contract: Contract, target: str) -> int:
    """Write the ledger with the import's columns to ``target`` (.csv or .xlsx); returns rows."""
    from reliefsvc.reports import atomic_output

    rows = export_rows(contract)
    if target.lower().endswith(".xlsx"):
        from reliefsvc.reports.excel import LedgerColumn, write_ledger

        columns = [LedgerColumn(c.name, c.name) for c in COLUMNS]
        return write_ledger(target, columns, rows, sheet_title="服务台账")
    count = 0
    with atomic_output(target) as fh:
        text = io.TextIOWrapper(fh, encoding="utf-8-sig", newline="")
        writer = csv.DictWriter(text, fieldnames=EXPORT_ORDER)
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
            count += 1
        text.flush()
        text.detach()
    return count

