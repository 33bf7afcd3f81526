"""The integrity checks against a province-sized database, end to end.

    .venv/bin/python -m bench.integrity --records 1000000 [--photos-per-record 1.0] [--seed 1]
                                        [--incremental 10000] [--rebuild]

Builds (once; reused while records, photos and seed stay the same) a SQLite database in
``bench/.data/`` with the platform's own schema: townships and villages, providers with
their workers and contracts, households, N service records over a year and about
``--photos-per-record`` × N photos with perceptual hashes, trim-window hashes and EXIF,
with every problem of the spec planted (bench/integrity_rules.py's generator). Then, on a
fresh copy of that database, in one process:

1. the plain read: the same rows the check reads (records joined to contracts, cases and
   villages; photos joined to records), fetched and iterated, nothing else;
2. the full check: ``integrity.service.run()`` — read, run every detector, store the
   flags, score every record — committed;
3. the incremental check: ``--incremental`` new records (same generator, later dates)
   inserted, then ``run(incremental=True)``.

Prints seconds, records per second, the check's time as a multiple of the plain read,
and the peak resident memory: of the process up to the end of the plain read, then of
the check alone (on Linux the peak is restarted after the read through
``/proc/self/clear_refs``, so that the plain read's buffered rows do not count; the build
runs in a child process so that its memory does not count either). CPU seconds of the process are printed beside the wall
clock: on a shared machine they show the work when other processes take the cores.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = ROOT / "bench" / ".data"


def _app(db_path: Path, instance: Path):
    os.environ["RELIEFSVC_INSTANCE_PATH"] = str(instance)
    os.environ.pop("DATABASE_URL", None)
    from reliefsvc import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_path}", "INSTANCE_PATH": str(instance)})


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _reset_peak() -> bool:
    """Start the process's peak resident memory (VmHWM) afresh, so that the check's own
    peak is not the plain read's (Linux; False elsewhere)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _hwm_mib() -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


# --- building the data set -----------------------------------------------------------------------


def build(db_path: Path, n: int, photos_per_record: float, seed: int) -> None:
    from flask_migrate import upgrade

    instance = Path(tempfile.mkdtemp(prefix="bench-integrity-"))
    partial = db_path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    app = _app(partial, instance)
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        _fill(n, photos_per_record, seed)
        from reliefsvc.extensions import db

        # Everything into the main file before it is renamed: the platform runs SQLite in WAL
        # mode, and the last connection to close writes the log back and removes it.
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    os.replace(partial, db_path)
    for suffix in ("-wal", "-shm"):
        partial.with_name(partial.name + suffix).unlink(missing_ok=True)
    shutil.rmtree(instance, ignore_errors=True)


def _fill(n: int, photos_per_record: float, seed: int, start_id: int = 0, skeleton: bool = True,
          day0: datetime | None = None) -> None:
    import sqlalchemy as sa

    from bench import integrity_rules as gen
    from reliefsvc.contracts import service as contracts
    from reliefsvc.contracts.models import Contract, contract_village
    from reliefsvc.evidence.models import Photo, to_signed64
    from reliefsvc.extensions import db
    from reliefsvc.integrity.photohash import pack_trims

    rnd = random.Random(f"extra photos {seed}")  # not the generator's own stream
    facts = gen.generate(n, seed)
    villages = {}
    if skeleton:
        contracts.ensure_catalogue()
        villages = _skeleton(facts, rnd)
    shift = timedelta(0) if day0 is None else day0 - min(r.started_at for r in facts)
    worker_of, contract_of, case_of = (lambda w: w), (lambda r: r.contract_id), (lambda c: c)
    if not skeleton:
        # New records of the workers and households already held (ids are 1-based there).
        held = db.session.execute(sa.text("SELECT worker_id, MIN(contract_id) FROM service_record "
                                          "GROUP BY worker_id ORDER BY worker_id")).all()
        cases = db.session.execute(sa.text("SELECT id FROM assistance_case ORDER BY id")).scalars().all()
        worker_of = lambda w: held[w % len(held)][0] - 1  # noqa: E731
        contract_of = lambda r: held[r.worker_id % len(held)][1] - 1  # noqa: E731
        case_of = lambda c: cases[c % len(cases)] - 1  # noqa: E731
    record_rows, photo_rows, link_rows = [], [], []
    photo_no = db.session.scalar(sa.select(sa.func.coalesce(sa.func.max(Photo.id), 0)))
    extra = max(0.0, photos_per_record - 0.21)  # the generator gives ~0.21 photos a record
    now = datetime.now(UTC)
    for r in facts:
        rid = start_id + r.record_id + 1
        start, end = r.started_at + shift, r.ended_at + shift
        record_rows.append({
            "id": rid, "contract_id": contract_of(r) + 1, "record_ref": f"{r.record_ref}-{start_id}",
            "worker_id": worker_of(r.worker_id) + 1, "case_id": None if r.case_id is None else case_of(r.case_id) + 1,
            "service_type_code": r.service_type, "started_at": start, "ended_at": end,
            "month": start.astimezone(gen.rules.LOCAL_TZ).strftime("%Y-%m"),
            "minutes": int((end - start).total_seconds() // 60), "lat": r.lat, "lon": r.lon, "notes": r.notes,
            "submitted_at": r.submitted_at + shift, "source": "ledger", "status": "accepted", "version": 1,
            "refuted": False, "risk_score": 0.0, "checked_version": 0})
        photos = list(r.photos)
        for _ in range(int(extra) + (rnd.random() < extra - int(extra))):
            photos.append(gen._photo(rnd, photo_no, start + timedelta(minutes=5), r.case_lat or r.village_lat,
                                     r.case_lon or r.village_lon))
        for position, p in enumerate(photos):
            photo_no += 1
            photo_rows.append({
                "id": photo_no, "sha256": f"{rnd.getrandbits(224):056x}{photo_no:08x}", "display_sha256": "0" * 64,
                "content_type": "image/jpeg", "width": 1600, "height": 1200, "size": 400_000,
                "exif_time": None if p.exif_time is None else p.exif_time + shift, "exif_lat": p.exif_lat,
                "exif_lon": p.exif_lon, "phash": to_signed64(p.phash), "dhash": to_signed64(p.dhash),
                "trim_hashes": pack_trims(p.trim_hashes) or None, "uploaded_at": now})
            link_rows.append({"record_id": rid, "photo_id": photo_no, "position": position, "filename": ""})
        if len(record_rows) >= 20_000:
            _flush(record_rows, photo_rows, link_rows)
    _flush(record_rows, photo_rows, link_rows)
    if skeleton:
        # Each contract serves the villages of its households, except those the generator
        # planted outside the area (case_in_area False).
        areas: dict[int, set[int]] = {}
        for r in facts:
            if r.case_id is not None and r.case_in_area:
                areas.setdefault(r.contract_id + 1, set()).add(villages[(r.village_lat, r.village_lon)].id)
        db.session.execute(contract_village.insert(), [{"contract_id": c, "region_id": v}
                                                       for c, vs in sorted(areas.items()) for v in sorted(vs)])
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Contract)) >= len(areas)
    db.session.commit()


def _flush(record_rows, photo_rows, link_rows) -> None:
    from reliefsvc.evidence.models import Photo, RecordPhoto, ServiceRecord
    from reliefsvc.extensions import db

    for model, rows in ((ServiceRecord, record_rows), (Photo, photo_rows), (RecordPhoto, link_rows)):
        if rows:
            db.session.execute(model.__table__.insert(), rows)
            rows.clear()


def _skeleton(facts, rnd: random.Random) -> dict:
    """Regions, providers, workers, contracts and households the generated records name."""
    from decimal import Decimal

    from reliefsvc.cases.models import Case, CaseStatus
    from reliefsvc.contracts.models import Contract, ContractStatus
    from reliefsvc.extensions import db
    from reliefsvc.providers.models import OrgType, Provider, Staff
    from reliefsvc.providers.rules import make_uscc
    from reliefsvc.regions.models import Level, Region
    from reliefsvc.security.models import Organisation, OrgKind

    county = Region(code="622922", name="康乐县", level=Level.COUNTY)
    db.session.add(county)
    villages: dict[tuple[float, float], Region] = {}
    towns = 0
    for r in facts:
        key = (r.village_lat, r.village_lon)
        if key not in villages:
            if len(villages) % 10 == 0:
                towns += 1
                town = Region(code=f"6229{towns:05d}", name=f"第{towns}乡", level=Level.TOWNSHIP, parent=county)
            villages[key] = Region(code=f"6229{towns:05d}{len(villages) % 10 + 200:03d}", name=f"第{len(villages)}村",
                                   level=Level.VILLAGE, parent=town, lat=key[0], lon=key[1])
    db.session.add_all(villages.values())
    db.session.flush()
    providers = sorted({r.provider_id for r in facts})
    for p in providers:
        org = Organisation(name=f"基准承接主体{p}", kind=OrgKind.PROVIDER)
        db.session.add(Provider(id=p + 1, organisation=org, name=org.name,
                                uscc=make_uscc("52", "622922", f"B{p:07d}"), org_type=OrgType.SOCIAL_ORG))
    db.session.flush()
    for c in sorted({(r.contract_id, r.provider_id) for r in facts}):
        db.session.add(Contract(id=c[0] + 1, contract_no=f"基准〔2026〕{c[0] + 1}号", title="基准合同",
                                provider_id=c[1] + 1, purchaser="康乐县民政局", procurement_method="public_tender",
                                amount=Decimal("100000"), starts_on=date(2026, 1, 1), ends_on=date(2026, 12, 31),
                                pricing_model="output", status=ContractStatus.ACTIVE, thresholds={}))
    for w, p in sorted({(r.worker_id, r.provider_id) for r in facts}):
        db.session.add(Staff(id=w + 1, provider_id=p + 1, name=f"工作人员{w}", id_number=f"{w:018d}",
                             role="coordinator"))
    seen = {}
    for r in facts:
        if r.case_id is not None and r.case_id not in seen:
            seen[r.case_id] = Case(
                id=r.case_id + 1, case_ref=f"B{r.case_id:08d}", head_name="户主", village=villages[(r.village_lat,
                                                                                                   r.village_lon)],
                household_size=2, status=CaseStatus(r.case_status), lat=r.case_lat, lon=r.case_lon,
                status_changed_on=r.case_status_changed_on if r.case_status != "active" else None)
    db.session.add_all(seen.values())
    db.session.flush()
    return villages


# --- measuring ---------------------------------------------------------------------------------


def plain_read() -> int:
    """Fetch and iterate the rows the check reads, nothing more."""
    from reliefsvc.extensions import db
    from reliefsvc.integrity import service

    rows = 0
    for _row in db.session.execute(service._record_select()):
        rows += 1
    for _row in db.session.execute(service._photos_query()):
        rows += 1
    return rows


def measure(db_path: Path, n: int, incremental: int, seed: int) -> None:
    import sqlalchemy as sa

    from reliefsvc.evidence.models import Photo, ServiceRecord
    from reliefsvc.extensions import db
    from reliefsvc.integrity import service

    work = Path(tempfile.mkdtemp(prefix="bench-integrity-run-"))
    copy = work / "check.sqlite"
    shutil.copyfile(db_path, copy)
    app = _app(copy, work / "instance")
    with app.app_context():
        from flask_migrate import upgrade

        upgrade(directory=app.extensions["migrate"].directory)  # data built by an older schema
        records = db.session.scalar(sa.select(sa.func.count()).select_from(ServiceRecord))
        photos = db.session.scalar(sa.select(sa.func.count()).select_from(Photo))
        print(f"data: {records} records, {photos} photos ({db_path.name}, {db_path.stat().st_size / 2**20:.0f} MiB)")
        t, c = time.perf_counter(), time.process_time()
        rows = plain_read()
        read_s, read_cpu = time.perf_counter() - t, time.process_time() - c
        db.session.rollback()
        print(f"plain read:  {read_s:7.1f} s  ({rows} rows; {read_cpu:.1f} s CPU); peak memory "
              f"{_peak_mib():.0f} MiB so far")
        own_peak = _reset_peak()
        t, c = time.perf_counter(), time.process_time()
        result = service.run()
        db.session.commit()
        check_s, check_cpu = time.perf_counter() - t, time.process_time() - c
        print(f"full check:  {check_s:7.1f} s  {records / check_s:9.0f} records/s  {check_s / read_s:5.1f} × the read;"
              f" {sum(result.counts.values())} flags; {check_cpu:.1f} s CPU = {check_cpu / read_cpu:.1f} × the read's CPU")
        check_peak = _hwm_mib() if own_peak else None
        if check_peak is not None:
            print(f"peak memory: {check_peak:7.0f} MiB resident during the check (the peak restarted after the read)")
        else:
            print(f"peak memory: {_peak_mib():7.0f} MiB (resident, whole process)")
        if incremental:
            last = db.session.scalar(sa.select(sa.func.max(ServiceRecord.id)))
            newest = db.session.scalar(sa.select(sa.func.max(ServiceRecord.started_at)))
            _fill(incremental, 1.0, seed + 1, start_id=last, skeleton=False,
                  day0=newest.replace(tzinfo=UTC) + timedelta(days=1))
            t, c = time.perf_counter(), time.process_time()
            result = service.run(incremental=True)
            db.session.commit()
            inc_s, inc_cpu = time.perf_counter() - t, time.process_time() - c
            print(f"incremental: {inc_s:7.1f} s  for {result.checked} new records "
                  f"(read {result.read} records to decide them; {inc_cpu:.1f} s CPU)")
    shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--photos-per-record", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--incremental", type=int, default=10_000)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"integrity-{args.records}-{args.photos_per_record:g}-{args.seed}.sqlite"
    if args.build_only:
        build(path, args.records, args.photos_per_record, args.seed)
        return
    if args.rebuild or not path.exists():
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "bench.integrity", "--build-only", "--records", str(args.records),
                        "--photos-per-record", str(args.photos_per_record), "--seed", str(args.seed)],
                       check=True, cwd=ROOT)
        print(f"built {path.name} in {time.perf_counter() - t:.0f} s")
    measure(path, args.records, args.incremental, args.seed)


if __name__ == "__main__":
    main()
