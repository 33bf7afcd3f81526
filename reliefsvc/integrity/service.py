"""Integrity checks against the database: read the facts, run the detectors, keep the flags.

``run()`` is the one entry point (CLI, nightly job, the officer's button). A full run
decides the flags of every record; an incremental run decides those of records that are
new or changed since they were last checked (``checked_version < version``) and reads
only what their flags depend on: the same workers' records around the same days, and
the records whose notes or photos the indexes pair with a new record's (a new note is
compared with the provider's every note, a new photo with every photo held, through the
indexes, from narrow column reads). Either way one run writes in one transaction:
flags found are inserted or updated, flags no longer found are deleted unless an officer
dismissed them (a dismissal survives every later run), and each touched record's
``risk_score`` is recomputed from its flags that are not dismissed.
"""

from __future__ import annotations

import dataclasses
import gc
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from reliefsvc import audit
from reliefsvc.cases.models import Case
from reliefsvc.common.errors import BilingualError
from reliefsvc.common.formatting import LOCAL_TZ
from reliefsvc.contracts.models import Contract, contract_village
from reliefsvc.db import driver_cursor, utcnow
from reliefsvc.evidence.models import Photo, RecordPhoto, RecordStatus, ServiceRecord
from reliefsvc.extensions import db
from reliefsvc.integrity import events, photocolumns, rules
from reliefsvc.integrity.models import CODE_LABELS, IntegrityFlag, IntegrityRun
from reliefsvc.providers.models import Staff
from reliefsvc.regions.models import Region


class IntegrityError(BilingualError):
    pass


# --- Settings ---------------------------------------------------------------------------------

#: The thresholds an officer may change per contract: field -> (label, type, lowest allowed).
SETTINGS: dict[str, tuple[str, type, float]] = {
    "flash_burst_per_day": ("FLASH_BURST", int, 1),
    "time_overlap_minutes": ("TIME_OVERLAP", float, 0),
    "travel_max_kmh": ("TRAVEL_IMPOSSIBLE", float, 1),
    "travel_min_km": ("TRAVEL_IMPOSSIBLE", float, 0),
    "photo_time_minutes": ("PHOTO_TIME_MISMATCH", float, 0),
    "photo_place_km": ("PHOTO_PLACE_MISMATCH", float, 0),
    "late_entry_days": ("LATE_ENTRY", float, 0),
    "notes_min_length": ("NOTES_COPIED", int, 5),
    "notes_max_edits": ("NOTES_COPIED", int, 0),
}


def default_thresholds() -> rules.Thresholds:
    """The spec's defaults, changed by the ``INTEGRITY_THRESHOLDS`` setting where it says so."""
    overrides = current_app.config.get("INTEGRITY_THRESHOLDS") or {}
    return dataclasses.replace(rules.Thresholds(), **_checked(overrides))


def _checked(values: dict) -> dict:
    out = {}
    for key, value in values.items():
        if key not in SETTINGS:
            raise IntegrityError(f"未知的阈值 {key}", f"unknown threshold {key}")
        _code, kind, lowest = SETTINGS[key]
        try:
            number = kind(value)
        except (TypeError, ValueError):
            raise IntegrityError(f"阈值 {key} 须为数字", f"threshold {key} must be a number") from None
        if number < lowest:
            raise IntegrityError(f"阈值 {key} 不能小于 {lowest:g}", f"threshold {key} must be at least {lowest:g}")
        out[key] = number
    return out


def thresholds_of(contract: Contract) -> rules.Thresholds:
    return dataclasses.replace(default_thresholds(), **_checked(contract.thresholds or {}))


def policy() -> rules.PerContract:
    default = default_thresholds()
    rows = db.session.execute(sa.select(Contract.id, Contract.thresholds)).all()
    return rules.PerContract(default, {cid: dataclasses.replace(default, **_checked(values))
                                       for cid, values in rows if values})


def set_thresholds(contract: Contract, values: dict, user) -> dict:
    """Change the contract's thresholds; values equal to the default are dropped. Returns the changes."""
    default = default_thresholds()
    checked = _checked({k: v for k, v in values.items() if v not in (None, "")})
    new = {k: v for k, v in checked.items() if v != getattr(default, k)}
    old = dict(contract.thresholds or {})
    if new == old:
        return {}
    contract.thresholds = new
    changes = {k: [old.get(k, getattr(default, k)), new.get(k, getattr(default, k))]
               for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)}
    audit.record(events.ThresholdsChanged(contract_id=contract.id, contract_no=contract.contract_no,
                                          changes=changes, by=user.username))
    return changes


# --- Reading the facts ------------------------------------------------------------------------

_RECORD_COLUMNS = (
    ServiceRecord.id, ServiceRecord.record_ref, ServiceRecord.contract_id, Contract.provider_id,
    ServiceRecord.worker_id, ServiceRecord.case_id, ServiceRecord.service_type_code, ServiceRecord.started_at,
    ServiceRecord.ended_at, ServiceRecord.submitted_at, ServiceRecord.lat, ServiceRecord.lon, Case.lat, Case.lon,
    Region.lat, Region.lon, Case.status, Case.status_changed_on, Case.village_id, ServiceRecord.notes,
)


def _record_select():
    return (sa.select(*_RECORD_COLUMNS)
            .join(Contract, Contract.id == ServiceRecord.contract_id)
            .outerjoin(Case, Case.id == ServiceRecord.case_id)
            .outerjoin(Region, Region.id == Case.village_id)
            .where(ServiceRecord.status != RecordStatus.REJECTED))


def _areas() -> dict[int, frozenset[int]]:
    areas: dict[int, set[int]] = defaultdict(set)
    for contract_id, region_id in db.session.execute(sa.select(contract_village.c.contract_id,
                                                               contract_village.c.region_id)):
        areas[contract_id].add(region_id)
    return {k: frozenset(v) for k, v in areas.items()}


def _photos_query():
    return (sa.select(RecordPhoto.record_id, RecordPhoto.position, RecordPhoto.filename, Photo.id, Photo.sha256,
                      Photo.phash, Photo.dhash, Photo.exif_time, Photo.exif_lat, Photo.exif_lon, Photo.trim_hashes,
                      Photo.colours)
            .join(Photo, Photo.id == RecordPhoto.photo_id).order_by(RecordPhoto.record_id, RecordPhoto.position))


def _photos_of(record_ids: Iterable[int] | None) -> dict[int, list[rules.PhotoFacts]]:
    query = _photos_query()
    out: dict[int, list[rules.PhotoFacts]] = defaultdict(list)
    labels: dict[int, str] = {}
    photo = rules.PhotoFacts
    for chunk in _chunks(record_ids):
        q = query if chunk is None else query.where(RecordPhoto.record_id.in_(chunk))
        for rid, position, filename, pid, sha, ph, dh, when, lat, lon, trims, colours in db.session.execute(
                q, execution_options=_STREAM):
            label = _label(filename, position, labels)
            # The stored hashes are signed 64-bit (to_signed64); the windows stay packed.
            out[rid].append(photo(pid, sha, None if ph is None else ph & _U64, None if dh is None else dh & _U64,
                                  when, lat, lon, trims or (), label, colours))
    return out


def _label(filename: str | None, position: int, labels: dict[int, str]) -> str:
    """How a person finds the photo on the record: its file name, else 第N张."""
    if filename and len(filename) <= 40:
        return filename
    return labels.get(position) or labels.setdefault(position, f"第{position + 1}张")


#: Rows are turned into facts as they arrive, a batch at a time, not all fetched first.
_STREAM = {"yield_per": 10_000}
#: The stored hashes are signed (evidence.models.to_signed64); "& _U64" is to_unsigned64.
_U64 = (1 << 64) - 1


def _chunks(ids: Iterable[int] | None, size: int = 900):
    if ids is None:
        yield None
        return
    ids = sorted(set(ids))
    for i in range(0, len(ids), size):
        yield ids[i:i + size]


def load_facts(where=None, record_ids: Iterable[int] | None = None) -> list[rules.RecordFacts]:
    """RecordFacts of the records matching ``where`` (a condition on ServiceRecord) or ``record_ids``.

    The photos are read first (all of them, or those of ``record_ids``) so that the
    records can be turned into facts as they come from the cursor, without holding the
    rows and the facts at once.
    """
    areas = _areas()
    ids = None if record_ids is None else sorted(set(record_ids))
    if where is None:
        photos = _photos_of(ids)
        rows: Iterable = (row for chunk in _chunks(ids) for row in db.session.execute(
            _record_select() if chunk is None else _record_select().where(ServiceRecord.id.in_(chunk)),
            execution_options=_STREAM))
    else:
        rows = [row for chunk in _chunks(ids) for row in db.session.execute(
            _record_select().where(where) if chunk is None
             else _record_select().where(where, ServiceRecord.id.in_(chunk)))]
        photos = _photos_of([r[0] for r in rows])
    return _facts_from_rows(rows, photos, areas)


def _facts_from_rows(rows: Iterable, photos: dict[int, list[rules.PhotoFacts]],
                     areas: dict[int, frozenset[int]]) -> list[rules.RecordFacts]:
    facts = []
    make, empty = rules.RecordFacts, ()
    for (rid, ref, cid, pid, wid, case_id, stype, start, end, submitted, lat, lon, clat, clon, vlat, vlon,
         cstatus, cchanged, village_id, notes) in rows:
        area = areas.get(cid)
        in_area = None if case_id is None or not area else village_id in area
        own = photos.get(rid)
        facts.append(make(
            rid, ref, cid, pid, wid, case_id, stype, start, end, submitted, lat, lon, clat, clon, vlat, vlon,
            None if cstatus is None else str(cstatus), cchanged, in_area, notes or "",
            empty if own is None else tuple(own)))
    return facts


# --- Running ----------------------------------------------------------------------------------


@dataclass
class RunResult:
    kind: str
    checked: int = 0
    read: int = 0
    seconds: float = 0.0
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    #: current flags by code in the run's scope (dismissed ones not counted)
    counts: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        total = sum(self.counts.values())
        return (f"检查 {self.checked} 条记录，现有标记 {total} 个（新增 {self.inserted}，更新 {self.updated}，"
                f"消除 {self.deleted}），用时 {self.seconds:.1f} 秒 / checked {self.checked} records, "
                f"{total} current flags (+{self.inserted}, ~{self.updated}, -{self.deleted}) in {self.seconds:.1f} s")


def run(contract: Contract | None = None, incremental: bool = False, now: datetime | None = None) -> RunResult:
    """Run the checks and store the flags; the caller commits."""
    with _no_cycle_collection():
        return _run(contract, incremental, now)


@contextmanager
def _no_cycle_collection():
    """The cyclic garbage collector off for the run. A run makes millions of short-lived
    objects (rows, facts) and few cycles; each collection walks every live object, and
    at 100 000 records took 2.3 of the run's 8.1 CPU seconds."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _run(contract: Contract | None, incremental: bool, now: datetime | None) -> RunResult:
    began, clock = now or utcnow(), time.perf_counter()
    thresholds = policy()
    if incremental:
        result = RunResult("incremental")
        decided, facts = _incremental_scope()
        result.read = len(facts)
        found = rules.run_all(facts, thresholds)
        months = {f.record_id: (f.contract_id, f.worker_id, _month(f.started_at)) for f in facts}
        del facts
    else:
        result = RunResult("contract" if contract else "full")
        found, decided, months, result.read = _full_run(thresholds, contract)
    _store(found, decided, months, result, replace_only=decided if incremental else None, contract=contract)
    _mark_checked(decided, contract, incremental)
    result.checked = len(decided)
    result.counts = flag_counts_by_code(contract_id=contract.id if contract else None)
    result.seconds = time.perf_counter() - clock
    db.session.add(IntegrityRun(kind=result.kind, contract_id=contract.id if contract else None, started_at=began,
                                seconds=round(result.seconds, 3), records_checked=result.checked,
                                records_read=result.read, flags_found=sum(result.counts.values()),
                                counts=result.counts))
    audit.record(events.IntegrityRunFinished(kind=result.kind, contract_no=contract.contract_no if contract else None,
                                             records_checked=result.checked, inserted=result.inserted,
                                             updated=result.updated, deleted=result.deleted, counts=result.counts))
    return result


def _month(moment: datetime) -> str:
    return moment.astimezone(LOCAL_TZ).strftime("%Y-%m")


#: Records a full run holds as facts at once: whole providers (NOTES_COPIED compares a
#: provider's notes) with all of their workers' records (the time rules follow a worker
#: across contracts), so a batch flags exactly what the whole population would.
_BATCH_RECORDS = 50_000


def _full_run(thresholds: rules.PerContract, contract: Contract | None,
              ) -> tuple[list[rules.Flag], set[int], dict[int, tuple[int, int, str]], int]:
    """Flags of every record (or of ``contract``'s), the records decided, the contract,
    worker and month of each flagged record, and how many records were read.

    PHOTO_REUSED looks across every photo held, from columns (``_photo_reuse_flags``);
    the other detectors run over a few providers' records at a time (``_provider_batches``),
    so that only one batch is ever held as Python objects.
    """
    only = None if contract is None else contract.provider_id
    reused = _photo_reuse_flags(thresholds)
    reused_records = {f.record_id for f in reused}
    areas = _areas()
    found: list[rules.Flag] = []
    decided: set[int] = set()
    months: dict[int, tuple[int, int, str]] = {}
    read = 0
    contracts_of: dict[int, list[int]] = defaultdict(list)
    for contract_id, provider_id in db.session.execute(sa.select(Contract.id, Contract.provider_id)
                                                       .order_by(Contract.id)):
        contracts_of[provider_id].append(contract_id)
    for providers in _provider_batches(only):
        facts = _facts_of_contracts([c for p in providers for c in contracts_of[p]], areas)
        read += len(facts)
        mine = {f.record_id for f in facts if contract is None or f.contract_id == contract.id}
        decided |= mine
        flags = [f for f in rules.run_all(facts, thresholds, rules.LOCAL_CODES) if f.record_id in mine]
        found.extend(flags)
        flagged = {f.record_id for f in flags} | (reused_records & mine)
        months.update((f.record_id, (f.contract_id, f.worker_id, _month(f.started_at)))
                      for f in facts if f.record_id in flagged)
        del facts
    found.extend(f for f in reused if f.record_id in decided)
    return rules.sort_flags(found), decided, months, read


def _provider_batches(only: int | None = None) -> list[list[int]]:
    """Providers in batches of about ``_BATCH_RECORDS`` records; providers that share a
    worker are always in the same batch. ``only``: just the batch of that provider."""
    rows = db.session.execute(sa.select(ServiceRecord.worker_id, Contract.provider_id, sa.func.count())
                              .join(Contract, Contract.id == ServiceRecord.contract_id)
                              .where(ServiceRecord.status != RecordStatus.REJECTED)
                              .group_by(ServiceRecord.worker_id, Contract.provider_id)).all()
    parent: dict[int, int] = {}

    def root(x: int) -> int:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    first_provider: dict[int, int] = {}
    sizes: Counter = Counter()
    for worker, provider, n in rows:
        sizes[provider] += n
        other = first_provider.setdefault(worker, provider)
        parent[root(provider)] = root(other)
    components: dict[int, list[int]] = defaultdict(list)
    for provider in sorted(sizes):
        components[root(provider)].append(provider)
    if only is not None:
        return [components[root(only)]] if only in sizes else []
    batches: list[list[int]] = []
    size = _BATCH_RECORDS
    for members in sorted(components.values()):
        n = sum(sizes[p] for p in members)
        if not batches or size + n > _BATCH_RECORDS:
            batches.append([])
            size = 0
        batches[-1].extend(members)
        size += n
    return batches


def _facts_of_contracts(contracts: list[int], areas: dict[int, frozenset[int]]) -> list[rules.RecordFacts]:
    """RecordFacts of the contracts' records, by id, with their photos' EXIF only (what
    every detector but PHOTO_REUSED reads). The records are found through the contract
    index, not by a scan of every record for each batch, and come through the driver's
    cursor, its values turned into what the columns' types give (``_as_utc``)."""
    query = (sa.select(RecordPhoto.record_id, RecordPhoto.position, RecordPhoto.filename, Photo.id, Photo.exif_time,
                       Photo.exif_lat, Photo.exif_lon)
             .join(Photo, Photo.id == RecordPhoto.photo_id)
             .join(ServiceRecord, ServiceRecord.id == RecordPhoto.record_id)
             .where(ServiceRecord.contract_id.in_(contracts), ServiceRecord.status != RecordStatus.REJECTED)
             .order_by(RecordPhoto.record_id, RecordPhoto.position))
    photos: dict[int, list[rules.PhotoFacts]] = defaultdict(list)
    labels: dict[int, str] = {}
    photo, utc = rules.PhotoFacts, _as_utc
    for rows in _driver_batches(query):
        for rid, position, filename, pid, when, lat, lon in rows:
            photos[rid].append(photo(pid, "", None, None, utc(when), lat, lon, (), _label(filename, position, labels)))
    facts = []
    make, empty = rules.RecordFacts, ()
    for rows in _driver_batches(_record_select().where(ServiceRecord.contract_id.in_(contracts))
                                .order_by(ServiceRecord.id)):
        for (rid, ref, cid, pid, wid, case_id, stype, start, end, submitted, lat, lon, clat, clon, vlat, vlon,
             cstatus, cchanged, village_id, notes) in rows:
            area = areas.get(cid)
            in_area = None if case_id is None or not area else village_id in area
            own = photos.get(rid)
            facts.append(make(
                rid, ref, cid, pid, wid, case_id, stype, utc(start), utc(end), utc(submitted), lat, lon, clat, clon,
                vlat, vlon, None if cstatus is None else str(cstatus),
                date.fromisoformat(cchanged) if type(cchanged) is str else cchanged, in_area, notes or "",
                empty if own is None else tuple(own)))
    return facts


def _int_columns(query, width: int):
    """The rows of ``query`` (integers, none NULL) as one ``(rows, width)`` int64 array."""
    import numpy as np

    parts = [np.array(rows, dtype=np.int64).reshape(-1, width) for rows in _driver_batches(query, 100_000)]
    return np.concatenate(parts) if parts else np.zeros((0, width), dtype=np.int64)


def _driver_batches(query, size: int = 10_000):
    """The rows of ``query`` from the driver's cursor, a list of tuples at a time."""
    cursor = driver_cursor(db.session.connection(), query)
    try:
        while rows := cursor.fetchmany(size):
            yield rows
    finally:
        cursor.close()


def _as_utc(value: datetime | str | None) -> datetime | None:
    """A ``UTCDateTime`` value as the driver gives it (SQLite: ISO text without zone;
    PostgreSQL: aware) made what the column type returns: aware, in UTC."""
    if value is None:
        return None
    if type(value) is str:
        if value[-6] in "+-" and value[-3] == ":":  # written with an offset
            return datetime.fromisoformat(value).astimezone(UTC)
        return datetime.fromisoformat(value + "+00:00")  # ~10 × cheaper than .replace(tzinfo=UTC)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _photo_reuse_flags(thresholds: rules.PerContract) -> list[rules.Flag]:
    """PHOTO_REUSED over every photo of the records held (rejected ones aside), read as
    columns through the driver's cursor, each table in the order of its key (no lookup
    of a photo or a record per link): the records' ids and contracts, the links (record,
    position, photo), the photos' hashes and windows (``photocolumns.kept``); then the
    colours only of the photos the index pairs and the ledger numbers only of the
    flagged records. Records in id order, each record's photos in order: the order
    ``load_facts`` gives, so the same flags."""
    import numpy as np

    records = _int_columns(sa.select(ServiceRecord.id, ServiceRecord.contract_id)
                           .where(ServiceRecord.status != RecordStatus.REJECTED).order_by(ServiceRecord.id), 2)
    short_name = sa.case((sa.and_(RecordPhoto.filename != "", sa.func.length(RecordPhoto.filename) <= 40),
                          RecordPhoto.filename), else_=None)
    names: dict[int, str] = {}
    parts: list[np.ndarray] = []
    count = 0
    for rows in _driver_batches(sa.select(RecordPhoto.record_id, RecordPhoto.position, RecordPhoto.photo_id,
                                          short_name).order_by(RecordPhoto.record_id, RecordPhoto.position),
                                size=100_000):
        names.update((count + n, row[3]) for n, row in enumerate(rows) if row[3] is not None)
        parts.append(np.array([row[:3] for row in rows], dtype=np.int64).reshape(-1, 3))
        count += len(rows)
    if not parts or not len(records):
        return []
    links = np.concatenate(parts)
    del parts
    # Only the links of records held (not rejected); the link numbers of ``names`` kept.
    at = np.minimum(np.searchsorted(records[:, 0], links[:, 0]), len(records) - 1)
    held_link = records[at, 0] == links[:, 0]
    if not held_link.all():
        renumber = np.cumsum(held_link) - 1
        names = {int(renumber[k]): name for k, name in names.items() if held_link[k]}
        links, at = links[held_link], at[held_link]
    owner, position, photo_id = links[:, 0].copy(), links[:, 1].copy(), links[:, 2].copy()
    contract_of_photo = records[at, 1].copy()
    del links, records, at
    columns = photocolumns.kept()
    if columns is None:
        ids = np.zeros(0, dtype=np.int64)
        trims, counts = np.zeros((0, 0, 2), dtype=np.uint64), np.zeros(0, dtype=np.int64)
        column_ph = column_dh = np.zeros(0, dtype=np.uint64)
    else:
        ids, column_ph, column_dh, trims, counts = columns
    del columns
    row_of = np.minimum(np.searchsorted(ids, photo_id), max(len(ids) - 1, 0))
    is_hashed = ids[row_of] == photo_id if len(ids) else np.zeros(len(photo_id), dtype=bool)
    ph = np.where(is_hashed, column_ph[row_of], 0).astype(np.uint64) if len(ids) else np.zeros(len(photo_id), np.uint64)
    dh = np.where(is_hashed, column_dh[row_of], 0).astype(np.uint64) if len(ids) else np.zeros(len(photo_id), np.uint64)
    del column_ph, column_dh

    def windows(ks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rows = row_of[ks]
        if len(rows) == len(ids) and (rows == np.arange(len(ids))).all():
            return trims, counts
        return trims[rows], counts[rows]

    def colours(ks: np.ndarray) -> list[bytes | None]:
        wanted = photo_id[ks].tolist()
        grids = {pid: grid for chunk in _chunks(wanted) for pid, grid in db.session.execute(
            sa.select(Photo.id, Photo.colours).where(Photo.id.in_(chunk)))}
        return [grids.get(pid) for pid in wanted]

    def contract_of(record_id: int) -> int:
        return int(contract_of_photo[np.searchsorted(owner, record_id)])

    pairs = rules.photo_reuse_pairs(owner, photo_id, is_hashed, ph, dh, windows=windows, colours=colours,
                                    contract_of=contract_of, thresholds=thresholds)
    if not pairs:
        return []
    refs = {rid: ref for chunk in _chunks({r for pair in pairs.items() for r in (pair[0], pair[1][0])})
            for rid, ref in db.session.execute(sa.select(ServiceRecord.id, ServiceRecord.record_ref)
                                               .where(ServiceRecord.id.in_(chunk)))}
    labels: dict[int, str] = {}

    def name(k: int) -> str:
        return names.get(k) or _label(None, int(position[k]), labels)

    return [rules.photo_reused_flag(rid, name(k), int(photo_id[k]), other, refs[other], name(m), int(photo_id[m]), how)
            for rid, (other, k, m, how) in sorted(pairs.items())]


def _incremental_scope() -> tuple[set[int], list[rules.RecordFacts]]:
    """Records to decide (new or changed) and everything their flags depend on."""
    changed = db.session.execute(sa.select(ServiceRecord.id, ServiceRecord.worker_id, ServiceRecord.started_at,
                                           ServiceRecord.ended_at, Contract.provider_id, ServiceRecord.status)
                                 .join(Contract, Contract.id == ServiceRecord.contract_id)
                                 .where(ServiceRecord.checked_version < ServiceRecord.version)).all()
    decided = {row[0] for row in changed}
    live = [row for row in changed if row[5] != RecordStatus.REJECTED]
    if not live:
        return decided, []
    context: set[int] = {row[0] for row in live}
    # 1. The same workers' records of the same days (overlap, travel, daily load).
    windows: dict[int, list[datetime]] = {}
    for _rid, worker, start, end, _p, _s in live:
        lo, hi = windows.get(worker, (start, end))
        windows[worker] = [min(lo, start), max(hi, end)]
    for worker, (lo, hi) in windows.items():
        context.update(db.session.scalars(sa.select(ServiceRecord.id).where(
            ServiceRecord.worker_id == worker, ServiceRecord.started_at >= lo - timedelta(days=1),
            ServiceRecord.started_at <= hi + timedelta(days=1), ServiceRecord.status != RecordStatus.REJECTED)))
    # 2. Records whose notes are the same text, give or take the allowed edits, as a new
    # record's (the provider's whole archive, through the index: new notes against all).
    context.update(_note_partners(live))
    # 3. Records holding a photo that looks like one of the new photos (whole archive, by index).
    context.update(_photo_partners(context_new={row[0] for row in live}))
    return decided, load_facts(record_ids=context)


def _note_partners(live: list) -> set[int]:
    """Ids of the case-tied records of the new records' providers whose normalised notes
    are a new record's text or within the loosest allowed edits of it."""
    from reliefsvc.integrity import textsim

    in_force = policy().all()
    global_min = min(t.notes_min_length for t in in_force)
    cap = max(t.notes_max_edits for t in in_force)
    new_ids = {row[0] for row in live}
    providers = sorted({row[4] for row in live})
    cursor = driver_cursor(
        db.session.connection(),
        sa.select(ServiceRecord.id, Contract.provider_id, ServiceRecord.notes)
        .join(Contract, Contract.id == ServiceRecord.contract_id)
        .where(Contract.provider_id.in_(providers), ServiceRecord.case_id.is_not(None),
               sa.func.length(ServiceRecord.notes) >= global_min,
               ServiceRecord.status != RecordStatus.REJECTED))
    try:
        rows = cursor.fetchall()
    finally:
        cursor.close()
    texts = textsim.normalise_many([row[2] for row in rows])
    groups: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for (rid, provider, _notes), text in zip(rows, texts, strict=True):
        if len(text) >= global_min and len(text) > cap:
            groups[provider][text].append(rid)

    def loosest_edits(length_a: int, length_b: int) -> int:
        return max(t.notes_edits_allowed(length_a, length_b) for t in in_force)

    out: set[int] = set()
    for by_text in groups.values():
        distinct = list(by_text)
        fresh = [n for n, text in enumerate(distinct) if not new_ids.isdisjoint(by_text[text])]
        if not fresh:
            continue
        for n in fresh:
            out.update(by_text[distinct[n]])
        for i, j, _distance in textsim.similar_pairs(distinct, loosest_edits, cap, involving=fresh):
            out.update(by_text[distinct[i]])
            out.update(by_text[distinct[j]])
    return out


def _photo_partners(context_new: set[int]) -> set[int]:
    """Ids of archive records whose photos are the same picture as a photo of ``context_new``.

    Reads the hashes and windows of every photo held straight into arrays
    (``photocolumns.kept``: no object per photo; the colours only of the photos the index
    pairs) and joins the new photos with all of them through the
    banded index (``near_duplicates_arrays`` with ``involving``): the new photos'
    signatures against every full frame, and every photo's windows against the new
    photos' full frames only.
    """
    import numpy as np

    from reliefsvc.integrity import photohash

    new_photo_ids = set(db.session.scalars(sa.select(RecordPhoto.photo_id).where(
        RecordPhoto.record_id.in_(sorted(context_new))))) if context_new else set()
    if not new_photo_ids:
        return set()
    held = photocolumns.kept()
    if held is None:
        return set()
    ids, ph, dh, all_trims, all_counts = held
    count = len(ids)
    # One node per distinct (phash, dhash), with the windows and colours of its first photo;
    # nodes numbered in the order of those photos (all photos distinct: node = row, the
    # windows used where they are).
    # Usually every photo's hashes differ: one sort of a mixed key shows it (equal hashes
    # give equal keys), and then each photo is its own node, without the lexsort.
    mixed = np.sort(ph ^ (dh * np.uint64(0x9E3779B97F4A7C15)))
    if not (mixed[1:] == mixed[:-1]).any():
        node_of = firsts = np.arange(count, dtype=np.int64)
    else:
        by_key = np.lexsort((dh, ph))
        new_key = np.concatenate(([True], (ph[by_key][1:] != ph[by_key][:-1]) | (dh[by_key][1:] != dh[by_key][:-1])))
        firsts = by_key[np.flatnonzero(new_key)]
        key_node = np.empty(len(firsts), dtype=np.int64)
        key_node[np.argsort(firsts)] = np.arange(len(firsts))
        node_of = np.empty(count, dtype=np.int64)
        node_of[by_key] = key_node[np.cumsum(new_key) - 1]
        firsts = np.sort(firsts)
    del mixed
    if len(firsts) == count:
        trims, trim_counts = all_trims, all_counts
    else:
        trims, trim_counts = all_trims[firsts], all_counts[firsts]
    del all_trims
    colours: dict[int, bytes | None] = {}

    def read_colours(nodes: np.ndarray) -> None:
        photo_ids = ids[firsts[nodes]].tolist()
        by_photo = {pid: grid for chunk in _chunks(photo_ids) for pid, grid in db.session.execute(
            sa.select(Photo.id, Photo.colours).where(Photo.id.in_(chunk)))}
        colours.update((node, by_photo.get(pid)) for node, pid in zip(nodes.tolist(), photo_ids, strict=True))

    is_new = np.zeros(len(firsts), dtype=bool)
    is_new[node_of[np.isin(ids, np.fromiter(new_photo_ids, dtype=np.int64))]] = True
    nodes = set(np.flatnonzero(is_new).tolist())
    t = default_thresholds()
    for i, j, _p, _d in photohash.near_duplicates_arrays(
            ph[firsts], dh[firsts], trims, trim_counts, involving=is_new, prepare=read_colours,
            confirm=lambda a, window, b: photohash.same_colours(colours[a], window, colours[b]),
            phash_max=max(t.photo_phash_max, 12), dhash_max=max(t.photo_dhash_max, 12),
            sum_max=max(t.photo_hash_sum_max, 15)):
        nodes.update((i, j))
    partner_photos = ids[np.isin(node_of, np.fromiter(nodes, dtype=np.int64))].tolist()
    return {rid for chunk in _chunks(partner_photos) for rid in db.session.scalars(
        sa.select(RecordPhoto.record_id).where(RecordPhoto.photo_id.in_(chunk)))}


def _store(found: list[rules.Flag], decided: set[int], months: dict, result: RunResult,
           replace_only: set[int] | None, contract: Contract | None) -> None:
    """Insert, update and delete flags so that the decided records carry exactly ``found``.

    Records outside ``decided`` (an incremental run's neighbours) only gain flags here.
    """
    table = IntegrityFlag.__table__
    query = sa.select(table.c.id, table.c.record_id, table.c.code, table.c.severity, table.c.detail,
                      table.c.related_record_id, table.c.photo_id, table.c.related_photo_id, table.c.dismissed_at)
    if replace_only is not None or contract is not None:
        ids = set(replace_only or decided) | {f.record_id for f in found}
        existing_rows = [row for chunk in _chunks(ids) for row in db.session.execute(
            query.where(table.c.record_id.in_(chunk)))]
    else:
        existing_rows = db.session.execute(query).all()
    existing = {(row.record_id, row.code): row for row in existing_rows}
    now = utcnow()
    inserts, updates, touched = [], [], set()
    seen = set()
    for f in found:
        key = (f.record_id, f.code)
        seen.add(key)
        row = existing.get(key)
        values = {"severity": f.severity, "detail": f.detail_zh, "related_record_id": f.related_record_id,
                  "photo_id": f.photo_id, "related_photo_id": f.related_photo_id}
        if row is None:
            contract_id, worker_id, month = months[f.record_id]
            inserts.append({"record_id": f.record_id, "code": f.code, "contract_id": contract_id,
                            "worker_id": worker_id, "month": month, "found_at": now, "dismiss_reason": "",
                            **values})
            touched.add(f.record_id)
        elif any(getattr(row, k) != v for k, v in values.items()):
            updates.append({"flag_id": row.id, **values})
            touched.add(f.record_id)
    gone = [row.id for key, row in existing.items()
            if key not in seen and key[0] in decided and row.dismissed_at is None]
    touched.update(key[0] for key, row in existing.items() if row.id in set(gone))
    if inserts:
        db.session.execute(table.insert(), inserts)
    if updates:
        db.session.execute(table.update().where(table.c.id == sa.bindparam("flag_id"))
                           .values(**{k: sa.bindparam(k) for k in updates[0] if k != "flag_id"}), updates)
    for chunk in _chunks(gone):
        db.session.execute(table.delete().where(table.c.id.in_(chunk)))
    result.inserted, result.updated, result.deleted = len(inserts), len(updates), len(gone)
    _rescore(touched | (decided if replace_only is not None else set()))


#: Records beyond which ``_rescore`` reads whole columns rather than lists of ids.
_MANY = 20_000


def _rescore(record_ids: set[int]) -> None:
    """Set ``risk_score`` of the records from their flags that are not dismissed."""
    if not record_ids:
        return
    table = IntegrityFlag.__table__
    severities: dict[int, list[rules.Flag]] = defaultdict(list)
    standing = sa.select(table.c.record_id, table.c.code, table.c.severity).where(table.c.dismissed_at.is_(None))
    if len(record_ids) > _MANY:
        # A full run's hundred thousand records: one pass over the standing flags and the
        # scores above zero (their index) instead of thousands of id lists.
        for rid, code, severity in db.session.execute(standing):
            if rid in record_ids:
                severities[rid].append(rules.Flag(rid, code, severity, ""))
        current = dict(db.session.execute(sa.select(ServiceRecord.id, ServiceRecord.risk_score)
                                          .where(ServiceRecord.risk_score > 0)).all())
        unscored = 0.0  # a record without a score above zero has score 0
    else:
        for chunk in _chunks(record_ids):
            for rid, code, severity in db.session.execute(standing.where(table.c.record_id.in_(chunk))):
                severities[rid].append(rules.Flag(rid, code, severity, ""))
        current = {}
        for chunk in _chunks(record_ids):
            current.update(db.session.execute(sa.select(ServiceRecord.id, ServiceRecord.risk_score)
                                              .where(ServiceRecord.id.in_(chunk))).all())
        unscored = None
    changes = [{"rid": rid, "score": score} for rid in record_ids
               if (score := rules.risk_score(severities.get(rid, ()))) != current.get(rid, unscored)]
    if changes:
        rt = ServiceRecord.__table__
        db.session.execute(rt.update().where(rt.c.id == sa.bindparam("rid")).values(risk_score=sa.bindparam("score")),
                           changes)


def _mark_checked(decided: set[int], contract: Contract | None, incremental: bool) -> None:
    rt = ServiceRecord.__table__
    if incremental or contract is not None:
        for chunk in _chunks(decided):
            db.session.execute(rt.update().where(rt.c.id.in_(chunk)).values(checked_version=rt.c.version))
    else:
        db.session.execute(rt.update().where(rt.c.checked_version != rt.c.version)
                           .values(checked_version=rt.c.version))


def rescore_everything() -> None:
    """Recompute every record's risk score (after thresholds change nothing needs this; a run does)."""
    _rescore(set(db.session.scalars(sa.select(ServiceRecord.id))))


# --- Reading the flags ------------------------------------------------------------------------


def _active():
    return IntegrityFlag.dismissed_at.is_(None)


def flag_counts_by_code(contract_id: int | None = None) -> dict[str, int]:
    query = sa.select(IntegrityFlag.code, sa.func.count()).where(_active()).group_by(IntegrityFlag.code)
    if contract_id is not None:
        query = query.where(IntegrityFlag.contract_id == contract_id)
    counts = dict(db.session.execute(query).all())
    return {code: counts[code] for code in CODE_LABELS if counts.get(code)}


def flag_counts(contract_id: int, day_from: date | None = None, day_to: date | None = None) -> dict:
    """For assessments and evaluations: records of the period, how many carry flags, flags by code.

    Only flags that stand (not dismissed) count; the period is of the services' local start dates.
    """
    records = sa.select(ServiceRecord.id).where(ServiceRecord.contract_id == contract_id,
                                                ServiceRecord.status != RecordStatus.REJECTED)
    if day_from is not None:
        records = records.where(ServiceRecord.started_at >= _local_midnight(day_from))
    if day_to is not None:
        records = records.where(ServiceRecord.started_at < _local_midnight(day_to + timedelta(days=1)))
    ids = records.subquery()
    n_records = db.session.scalar(sa.select(sa.func.count()).select_from(ids))
    flagged = sa.select(IntegrityFlag.record_id, IntegrityFlag.code).where(
        _active(), IntegrityFlag.record_id.in_(sa.select(ids.c.id))).subquery()
    by_code = dict(db.session.execute(sa.select(flagged.c.code, sa.func.count()).group_by(flagged.c.code)).all())
    n_flagged = db.session.scalar(sa.select(sa.func.count(sa.distinct(flagged.c.record_id))))
    return {"records": n_records, "flagged_records": n_flagged, "flags": sum(by_code.values()),
            "by_code": {c: by_code[c] for c in CODE_LABELS if by_code.get(c)},
            "per_hundred": round(100 * sum(by_code.values()) / n_records, 1) if n_records else 0.0}


def _local_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=LOCAL_TZ)


def counts_by_month(contract_id: int) -> tuple[list[str], dict[str, Counter]]:
    """Months (newest first) and, per code, the count of standing flags in each month."""
    rows = db.session.execute(sa.select(IntegrityFlag.code, IntegrityFlag.month, sa.func.count())
                              .where(IntegrityFlag.contract_id == contract_id, _active())
                              .group_by(IntegrityFlag.code, IntegrityFlag.month)).all()
    table: dict[str, Counter] = defaultdict(Counter)
    for code, month, n in rows:
        table[code][month] = n
    months = sorted({m for _c, m, _n in rows}, reverse=True)
    return months, {c: table[c] for c in CODE_LABELS if c in table}


def counts_by_worker(contract_id: int) -> list[tuple[Staff, Counter, int]]:
    rows = db.session.execute(sa.select(IntegrityFlag.worker_id, IntegrityFlag.code, sa.func.count())
                              .where(IntegrityFlag.contract_id == contract_id, _active())
                              .group_by(IntegrityFlag.worker_id, IntegrityFlag.code)).all()
    per: dict[int, Counter] = defaultdict(Counter)
    for worker_id, code, n in rows:
        per[worker_id][code] = n
    staff = {s.id: s for s in db.session.scalars(sa.select(Staff).where(Staff.id.in_(list(per))))} if per else {}
    out = [(staff[w], c, sum(c.values())) for w, c in per.items() if w in staff]
    return sorted(out, key=lambda x: (-x[2], x[0].name))


def flags_query(contract_id: int | None = None, code: str | None = None, month: str | None = None,
                worker_id: int | None = None, dismissed: bool = False):
    query = (sa.select(IntegrityFlag).join(ServiceRecord, ServiceRecord.id == IntegrityFlag.record_id)
             .order_by(ServiceRecord.started_at.desc(), IntegrityFlag.record_id.desc(), IntegrityFlag.code))
    query = query.where(IntegrityFlag.dismissed_at.is_not(None) if dismissed else _active())
    if contract_id is not None:
        query = query.where(IntegrityFlag.contract_id == contract_id)
    if code:
        query = query.where(IntegrityFlag.code == code)
    if month:
        query = query.where(IntegrityFlag.month == month)
    if worker_id:
        query = query.where(IntegrityFlag.worker_id == worker_id)
    return query


def flags_of(record: ServiceRecord) -> list[IntegrityFlag]:
    return list(db.session.scalars(sa.select(IntegrityFlag).where(IntegrityFlag.record_id == record.id)
                                   .order_by(IntegrityFlag.dismissed_at.is_not(None), IntegrityFlag.code)))


def dismiss(flag: IntegrityFlag, user, reason: str) -> None:
    reason = (reason or "").strip()
    if not reason:
        raise IntegrityError("请写明排除该标记的理由", "give a reason for dismissing the flag", field="reason")
    if flag.dismissed_at is not None:
        raise IntegrityError("该标记已被排除", "the flag is already dismissed")
    flag.dismissed_at, flag.dismissed_by, flag.dismiss_reason = utcnow(), user, reason[:500]
    db.session.flush()
    _rescore({flag.record_id})
    audit.record(events.FlagDismissed(flag_id=flag.id, record_id=flag.record_id, record_ref=flag.record.record_ref,
                                      code=flag.code, detail=flag.detail, reason=flag.dismiss_reason))


def restore(flag: IntegrityFlag, user) -> None:
    """Undo a dismissal (the flag stands again until a run no longer finds it)."""
    if flag.dismissed_at is None:
        raise IntegrityError("该标记未被排除", "the flag is not dismissed")
    flag.dismissed_at, flag.dismissed_by, flag.dismiss_reason = None, None, ""
    db.session.flush()
    _rescore({flag.record_id})
    audit.record(events.FlagRestored(flag_id=flag.id, record_id=flag.record_id, record_ref=flag.record.record_ref,
                                     code=flag.code, by=user.username))


def export_rows(contract: Contract | None = None) -> list[tuple[str, str, str, str, str]]:
    """``contract_no, record_ref, code, severity, detail`` of every standing flag (spec: integrity export)."""
    query = (sa.select(Contract.contract_no, ServiceRecord.record_ref, IntegrityFlag.code, IntegrityFlag.severity,
                       IntegrityFlag.detail)
             .join(ServiceRecord, ServiceRecord.id == IntegrityFlag.record_id)
             .join(Contract, Contract.id == IntegrityFlag.contract_id)
             .where(_active()).order_by(Contract.contract_no, ServiceRecord.record_ref, IntegrityFlag.code))
    if contract is not None:
        query = query.where(IntegrityFlag.contract_id == contract.id)
    return [tuple(row) for row in db.session.execute(query)]


def last_run() -> IntegrityRun | None:
    return db.session.scalar(sa.select(IntegrityRun).order_by(IntegrityRun.id.desc()).limit(1))
