"""Integrity checks on stored records: runs, flags kept and dropped, dismissals, thresholds,
incremental runs, the CLI and the pages."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from reliefsvc.evidence import service as records
from reliefsvc.evidence.models import ServiceRecord
from reliefsvc.integrity import photocolumns, service
from reliefsvc.integrity.models import IntegrityFlag, IntegrityRun
from reliefsvc.security.models import Role

# 2026-03-02 10:00 in Asia/Shanghai
T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


@pytest.fixture
def scene(create_contract, create_case, villages, create_user, db):
    from reliefsvc.providers import service as providers
    from tests.conftest import make_id

    contract = create_contract()
    worker = providers.add_staff(contract.provider, id_number=make_id(77), name="李梅", role="coordinator")
    cases = [create_case(villages[0], lat=35.38, lon=103.70) for _ in range(4)]
    officer = create_user(Role.OFFICER)
    return {"contract": contract, "worker": worker, "cases": cases, "officer": officer}


_refs = iter(range(1, 10_000))


def add(scene, start, minutes, case=0, kind="phone_followup", photos=(), notes="", late_days=0, **extra):
    extra.setdefault("record_ref", f"TZ-{next(_refs):04d}")
    data = records.RecordInput(
        contract=scene["contract"], worker=scene["worker"], service_type_code=kind, started_at=start,
        ended_at=start + timedelta(minutes=minutes), case=scene["cases"][case], notes=notes,
        submitted_at=start + timedelta(minutes=minutes, days=late_days), **extra)
    return records.submit(data, [records.Upload(p, f"p{i}.jpg") for i, p in enumerate(photos)], None,
                          records.RecordSource.LEDGER)


def flags(db, record=None):
    query = sa.select(IntegrityFlag.code, IntegrityFlag.record_id, IntegrityFlag.dismissed_at)
    if record is not None:
        query = query.where(IntegrityFlag.record_id == record.id)
    return {(code, rid) for code, rid, _d in db.session.execute(query)}


def test_a_full_run_stores_flags_with_reasons_and_risk_scores(scene, db):
    a = add(scene, T0, 30)
    b = add(scene, T0 + timedelta(minutes=20), 30, case=1)          # overlaps a by 10 minutes
    late = add(scene, T0 + timedelta(days=1), 30, case=2, late_days=8)
    clean = add(scene, T0 + timedelta(days=2), 30, case=3)
    result = service.run()
    assert result.checked == 4
    assert result.counts == {"TIME_OVERLAP": 2, "LATE_ENTRY": 1}
    assert flags(db) == {("TIME_OVERLAP", a.id), ("TIME_OVERLAP", b.id), ("LATE_ENTRY", late.id)}
    overlap = db.session.scalar(sa.select(IntegrityFlag).where(IntegrityFlag.record_id == a.id))
    assert overlap.related_record_id == b.id and b.record_ref in overlap.detail and "10 分钟" in overlap.detail
    assert overlap.month == "2026-03" and overlap.worker_id == scene["worker"].id
    db.session.refresh(a)
    db.session.refresh(late)
    db.session.refresh(clean)
    assert (a.risk_score, late.risk_score, clean.risk_score) == (60.0, 10.0, 0.0)
    assert a.checked_version == a.version
    assert db.session.scalar(sa.select(sa.func.count()).select_from(IntegrityRun)) == 1


@pytest.mark.parametrize("many", [0, 20_000], ids=["scores by whole columns", "scores by id lists"])
def test_a_flag_that_no_longer_holds_is_dropped_but_a_dismissed_one_stays_dismissed(scene, db, monkeypatch, many):
    monkeypatch.setattr(service, "_MANY", many)
    a = add(scene, T0, 30)
    b = add(scene, T0 + timedelta(minutes=20), 30, case=1)
    late = add(scene, T0 + timedelta(days=1), 30, case=2, late_days=8)
    service.run()
    flag = db.session.scalar(sa.select(IntegrityFlag).where(IntegrityFlag.record_id == late.id))
    with pytest.raises(service.IntegrityError) as refused:
        service.dismiss(flag, scene["officer"], "  ")
    assert "理由" in refused.value.zh
    service.dismiss(flag, scene["officer"], "乡镇停电，补录延迟，已核实")
    db.session.refresh(late)
    assert late.risk_score == 0.0
    # b moves away: the overlap no longer holds; the dismissed late entry stays as it is.
    b.started_at, b.ended_at = T0 + timedelta(hours=3), T0 + timedelta(hours=3, minutes=30)
    db.session.flush()
    result = service.run()
    assert flags(db) == {("LATE_ENTRY", late.id)}
    assert result.deleted == 2 and result.counts == {}
    kept = db.session.get(IntegrityFlag, flag.id)
    assert kept.dismissed and kept.dismiss_reason == "乡镇停电，补录延迟，已核实"
    db.session.refresh(a)
    db.session.refresh(late)
    assert a.risk_score == 0.0 and late.risk_score == 0.0
    service.restore(kept, scene["officer"])
    db.session.refresh(late)
    assert late.risk_score == 10.0


def test_stored_times_read_through_the_driver_are_what_the_column_type_gives():
    from datetime import timezone

    naive = datetime(2026, 3, 2, 2, 0, 5, 120)
    assert service._as_utc("2026-03-02 02:00:05.000120") == naive.replace(tzinfo=UTC)
    assert service._as_utc("2026-03-02 02:00:05") == naive.replace(tzinfo=UTC, microsecond=0)
    assert service._as_utc("2026-03-02 10:00:05.000120+08:00") == naive.replace(tzinfo=UTC)
    assert service._as_utc(naive) == naive.replace(tzinfo=UTC)
    east = datetime(2026, 3, 2, 10, 0, 5, 120, tzinfo=timezone(timedelta(hours=8)))
    assert service._as_utc(east).tzinfo == UTC and service._as_utc(east) == naive.replace(tzinfo=UTC)
    assert service._as_utc(None) is None


def test_dismissal_and_restoration_are_in_the_audit_log(scene, db):
    from reliefsvc.audit.models import AuditEntry

    late = add(scene, T0, 30, late_days=9)
    service.run()
    flag = db.session.scalar(sa.select(IntegrityFlag).where(IntegrityFlag.record_id == late.id))
    service.dismiss(flag, scene["officer"], "已电话核实")
    service.restore(flag, scene["officer"])
    kinds = list(db.session.scalars(sa.select(AuditEntry.event_type).order_by(AuditEntry.seq)))
    assert kinds[-3:] == ["integrity.run", "integrity.flag_dismissed", "integrity.flag_restored"]
    db.session.refresh(late)
    assert late.risk_score == 10.0


def test_per_contract_thresholds_change_what_is_flagged(scene, db):
    late = add(scene, T0, 30, late_days=8)
    service.run()
    assert ("LATE_ENTRY", late.id) in flags(db)
    changes = service.set_thresholds(scene["contract"], {"late_entry_days": "10"}, scene["officer"])
    assert changes == {"late_entry_days": [7, 10.0]}
    service.run()
    assert flags(db) == set()
    with pytest.raises(service.IntegrityError) as negative:
        service.set_thresholds(scene["contract"], {"late_entry_days": "-1"}, scene["officer"])
    assert negative.value.zh == "阈值 late_entry_days 不能小于 0"
    with pytest.raises(service.IntegrityError) as word:
        service.set_thresholds(scene["contract"], {"travel_max_kmh": "快"}, scene["officer"])
    assert word.value.zh == "阈值 travel_max_kmh 须为数字"
    # Back to the default: nothing is stored for it.
    service.set_thresholds(scene["contract"], {"late_entry_days": "7"}, scene["officer"])
    assert scene["contract"].thresholds == {}


def test_an_incremental_run_checks_new_records_against_what_is_held(scene, db):
    a = add(scene, T0, 30)
    add(scene, T0 + timedelta(days=3), 30, case=1)
    service.run()
    assert flags(db) == set()
    newcomer = add(scene, T0 + timedelta(minutes=10), 30, case=2)    # overlaps a by 20 minutes
    result = service.run(incremental=True)
    assert result.checked == 1
    assert flags(db) == {("TIME_OVERLAP", a.id), ("TIME_OVERLAP", newcomer.id)}
    # Nothing new: nothing to check.
    assert service.run(incremental=True).checked == 0


def test_an_incremental_run_finds_a_new_photo_that_is_an_old_one_re_encoded(scene, db, photo_bytes):
    from PIL import Image

    original = photo_bytes(7, size=(480, 360))
    first = add(scene, T0, 40, kind="home_visit", photos=[original])
    add(scene, T0 + timedelta(days=1), 40, case=1, kind="home_visit", photos=[photo_bytes(8, size=(480, 360))])
    service.run()
    assert not {code for code, _r in flags(db)} & {"PHOTO_REUSED"}
    # Sent through a chat app: smaller, re-encoded, borders trimmed.
    img = Image.open(io.BytesIO(original))
    w, h = img.size
    img = img.crop((int(w * 0.05), int(h * 0.05), int(w * 0.95), int(h * 0.95))).resize((300, 216))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=55)
    copy = add(scene, T0 + timedelta(days=2), 40, case=2, kind="home_visit", photos=[out.getvalue()])
    service.run(incremental=True)
    reused = db.session.scalars(sa.select(IntegrityFlag).where(IntegrityFlag.code == "PHOTO_REUSED")).all()
    assert {f.record_id for f in reused} == {first.id, copy.id}
    mine = next(f for f in reused if f.record_id == copy.id)
    assert mine.related_record_id == first.id and mine.photo_id and mine.related_photo_id
    assert first.record_ref in mine.detail and "p0.jpg" in mine.detail


def test_the_incremental_run_reads_the_photo_columns_the_database_joined_as_a_row_at_a_time(
        scene, db, photo_bytes, monkeypatch):
    import numpy as np

    from reliefsvc.evidence.models import Photo

    for n in range(3):
        add(scene, T0 + timedelta(days=n), 40, case=n, kind="home_visit", photos=[photo_bytes(20 + n)])
    db.session.execute(sa.update(Photo).where(Photo.id == db.session.scalar(sa.select(sa.func.min(Photo.id))))
                       .values(trim_hashes=None))
    assert photocolumns._joined_windows()[1:3] == (3, sum(db.session.scalars(sa.select(Photo.id))))
    joined = photocolumns.read_all()
    assert joined[3].shape[1] == 15 and sorted(joined[4].tolist()) == [0, 15, 15]
    monkeypatch.setattr(photocolumns, "_WINDOW_PIECE", 2)  # two pieces: photos 1-2, then 3
    in_pieces = photocolumns.read_all()
    monkeypatch.setattr(photocolumns, "_joined_windows", lambda *bounds: None)
    by_row = photocolumns.read_all()
    assert all(np.array_equal(a, b) for a, b in zip(joined, by_row, strict=True))
    assert all(np.array_equal(a, b) for a, b in zip(joined, in_pieces, strict=True))


def test_a_full_run_in_batches_keeps_the_providers_of_a_worker_together(scene, db, create_contract, monkeypatch):
    other = create_contract()  # another provider, whose contract the same worker's record names
    a = add(scene, T0, 30)
    b = add(scene, T0 + timedelta(minutes=20), 30, case=1)  # overlaps a by 10 minutes
    db.session.execute(sa.update(ServiceRecord).where(ServiceRecord.id == b.id).values(contract_id=other.id))
    monkeypatch.setattr(service, "_BATCH_RECORDS", 1)  # a batch per provider, unless a worker joins them
    assert service._provider_batches() == [sorted([scene["contract"].provider_id, other.provider_id])]
    service.run()
    assert flags(db) == {("TIME_OVERLAP", a.id), ("TIME_OVERLAP", b.id)}
    assert db.session.scalar(sa.select(IntegrityFlag.contract_id).where(IntegrityFlag.record_id == b.id)) == other.id


def test_a_photo_of_a_record_sent_back_is_no_one_s_partner_in_a_full_run(scene, db, photo_bytes):
    picture = photo_bytes(9)
    first = add(scene, T0, 40, kind="home_visit", photos=[picture])
    again = add(scene, T0 + timedelta(days=1), 40, case=1, kind="home_visit", photos=[picture])
    service.run()
    assert {(c, r) for c, r in flags(db) if c == "PHOTO_REUSED"} == {("PHOTO_REUSED", first.id),
                                                                     ("PHOTO_REUSED", again.id)}
    records.review(again, False, "照片重复", scene["officer"])
    service.run()
    assert not {(c, r) for c, r in flags(db) if c == "PHOTO_REUSED" and r == first.id}


def _same_columns(a, b) -> bool:
    import numpy as np

    return a is not None and b is not None and all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def test_the_photo_columns_a_run_keeps_follow_new_rehashed_and_deleted_photos(scene, db, photo_bytes, monkeypatch):
    from reliefsvc.evidence.models import Photo, RecordPhoto

    path = photocolumns.kept_path()
    path.unlink(missing_ok=True)
    monkeypatch.setattr(photocolumns, "_spare", lambda photos: photos + 2)  # room for two more photos
    for n in range(3):
        add(scene, T0 + timedelta(days=n), 40, case=n, kind="home_visit", photos=[photo_bytes(30 + n)])
    service.run()
    assert path.exists()
    read = photocolumns.read
    asked = []
    monkeypatch.setattr(photocolumns, "read", lambda after=0: asked.append(after) or read(after))

    def kept_is_fresh() -> bool:
        return _same_columns(photocolumns.kept(), read()[0])

    def on_file() -> tuple[int, int]:
        header = photocolumns.read_kept(path)[0]
        return header["photos"], header["room"]

    ids = sorted(db.session.scalars(sa.select(Photo.id)))
    assert on_file() == (3, 5)
    # Nothing new: only the photos after the last one kept are asked for.
    assert kept_is_fresh() and asked == [ids[-1]]
    # A new photo: read alone, and written into the file's room for the next run.
    inode = path.stat().st_ino
    add(scene, T0 + timedelta(days=4), 40, case=3, kind="home_visit", photos=[photo_bytes(34)])
    asked.clear()
    assert kept_is_fresh() and asked == [ids[-1]]
    assert on_file() == (4, 5) and path.stat().st_ino == inode  # the same file, written in place
    newest = max(db.session.scalars(sa.select(Photo.id)))
    asked.clear()
    assert kept_is_fresh() and asked == [newest]
    # Two more than the room left: a new file, with room again.
    add(scene, T0 + timedelta(days=5), 40, case=1, kind="home_visit", photos=[photo_bytes(36), photo_bytes(37)])
    asked.clear()
    assert kept_is_fresh() and asked == [newest]
    assert on_file() == (6, 8) and path.stat().st_ino != inode
    newest = max(db.session.scalars(sa.select(Photo.id)))
    # The rehash job gives a photo new hashes and windows (and a new hash_version): all read again.
    blob = db.session.scalar(sa.select(Photo.trim_hashes).where(Photo.id == ids[1]))
    db.session.execute(sa.update(Photo).where(Photo.id == ids[1]).values(
        phash=Photo.phash + 1, trim_hashes=blob[16:] + blob[:16], hash_version=Photo.hash_version + 1))
    asked.clear()
    assert kept_is_fresh() and asked == [0]
    # A photo deleted, and another stored under its id (SQLite gives the highest id out again).
    gone = db.session.get(Photo, newest)
    db.session.execute(sa.delete(RecordPhoto).where(RecordPhoto.photo_id == newest))
    db.session.execute(sa.delete(Photo).where(Photo.id == newest))
    db.session.expunge(gone)
    asked.clear()
    assert kept_is_fresh() and asked == [0]
    add(scene, T0 + timedelta(days=6), 40, case=3, kind="home_visit", photos=[photo_bytes(35)])
    assert kept_is_fresh()
    # Photos the header does not count yet (a run stopped between the two writes) are not read.
    header, _columns = photocolumns.read_kept(path)
    with open(path, "r+b") as out:
        out.seek(photocolumns._offsets(header["room"], header["width"])[0] + 8 * header["photos"])
        out.write((123_456_789).to_bytes(8, "little"))
    assert kept_is_fresh()
    # A damaged file is read from the database again, and written anew.
    path.write_bytes(b"not the columns")
    asked.clear()
    assert kept_is_fresh() and asked == [0]
    assert photocolumns.read_kept(path) is not None


def test_an_incremental_run_does_not_pair_a_photo_with_a_record_sent_back_or_deleted(scene, db, photo_bytes):
    from reliefsvc.evidence.models import RecordPhoto

    picture = photo_bytes(11)
    sent_back = add(scene, T0, 40, kind="home_visit", photos=[picture])
    deleted = add(scene, T0 + timedelta(days=1), 40, case=1, kind="home_visit", photos=[photo_bytes(12)])
    service.run()
    records.review(sent_back, False, "照片重复", scene["officer"])
    db.session.execute(sa.delete(RecordPhoto).where(RecordPhoto.record_id == deleted.id))  # its evidence withdrawn
    again = add(scene, T0 + timedelta(days=2), 40, case=2, kind="home_visit", photos=[picture, photo_bytes(12)])
    service.run(incremental=True)
    assert not {code for code, _r in flags(db)} & {"PHOTO_REUSED"}
    third = add(scene, T0 + timedelta(days=3), 40, case=3, kind="home_visit", photos=[picture])
    service.run(incremental=True)
    assert {(c, r) for c, r in flags(db) if c == "PHOTO_REUSED"} == {("PHOTO_REUSED", again.id),
                                                                     ("PHOTO_REUSED", third.id)}


def test_a_corrected_record_is_checked_again(scene, db, create_user):
    late = add(scene, T0, 30, late_days=8)
    service.run()
    assert flags(db) == {("LATE_ENTRY", late.id)}
    worker_user = create_user(Role.PROVIDER_WORKER, org=scene["contract"].provider.organisation)
    records.review(late, False, "时间填错", scene["officer"])
    data = records.RecordInput(contract=scene["contract"], worker=scene["worker"], service_type_code="phone_followup",
                               started_at=T0 + timedelta(days=7), ended_at=T0 + timedelta(days=7, minutes=30),
                               case=scene["cases"][0])
    records.correct(late, data, [], [], worker_user)
    result = service.run(incremental=True)
    assert result.checked == 1
    assert flags(db) == set()


def test_integrity_run_and_export_from_the_command_line(scene, run_cli, tmp_path, db):
    add(scene, T0, 30)
    add(scene, T0 + timedelta(minutes=20), 30, case=1)
    late = add(scene, T0 + timedelta(days=1), 30, case=2, late_days=8)
    result = run_cli("integrity", "run")
    assert result.exit_code == 0, result.output
    lines = dict(line.split("\t") for line in result.output.splitlines() if "\t" in line)
    assert lines["TIME_OVERLAP"] == "2" and lines["LATE_ENTRY"] == "1" and lines["FLASH_SHORT"] == "0"
    out = tmp_path / "flags.csv"
    result = run_cli("integrity", "export", "--contract", scene["contract"].contract_no, "--format", "csv",
                     "-o", str(out))
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert rows[0] == ["contract_no", "record_ref", "code", "severity", "detail"]
    assert len(rows) == 4
    assert [scene["contract"].contract_no, late.record_ref, "LATE_ENTRY", "low"] == rows[-1][:4] or any(
        r[1] == late.record_ref and r[2] == "LATE_ENTRY" and r[3] == "low" for r in rows[1:])
    assert all(r[4] for r in rows[1:])
    result = run_cli("integrity", "run", "--contract", "没有这个合同")
    assert result.exit_code == 1 and "不存在" in result.output


def test_flag_counts_for_assessments(scene, db):
    add(scene, T0, 30)
    add(scene, T0 + timedelta(minutes=20), 30, case=1)
    add(scene, T0 + timedelta(days=40), 30, case=2, late_days=8)
    service.run()
    march = service.flag_counts(scene["contract"].id, datetime(2026, 3, 1).date(), datetime(2026, 3, 31).date())
    assert march == {"records": 2, "flagged_records": 2, "flags": 2, "by_code": {"TIME_OVERLAP": 2},
                     "per_hundred": 100.0}
    everything = service.flag_counts(scene["contract"].id)
    assert everything["records"] == 3 and everything["flags"] == 3


def test_the_pages_show_flags_side_by_side_and_an_officer_dismisses_one(scene, db, client, login):
    a = add(scene, T0, 30)
    b = add(scene, T0 + timedelta(minutes=20), 30, case=1)
    service.run()
    login(scene["officer"])
    page = client.get(f"/integrity/contracts/{scene['contract'].id}").get_data(as_text=True)
    assert "与其他服务重叠" in page and "李梅" in page
    flag = db.session.scalar(sa.select(IntegrityFlag).where(IntegrityFlag.record_id == a.id))
    side = client.get(f"/integrity/flags/{flag.id}").get_data(as_text=True)
    assert a.record_ref in side and b.record_ref in side and side.count('data-testid="side"') == 2
    record_page = client.get(f"/records/{a.id}").get_data(as_text=True)
    assert 'data-testid="integrity-panel"' in record_page and b.record_ref in record_page
    refused = client.post(f"/integrity/flags/{flag.id}/dismiss", data={"reason": ""})
    assert refused.status_code == 302
    assert db.session.get(IntegrityFlag, flag.id).dismissed_at is None
    client.post(f"/integrity/flags/{flag.id}/dismiss", data={"reason": "两户相邻，同一次入户", "next": f"/records/{a.id}"})
    db.session.expire_all()
    assert db.session.get(IntegrityFlag, flag.id).dismiss_reason == "两户相邻，同一次入户"
    listing = client.get("/records/?sort=risk").get_data(as_text=True)
    assert listing.index(b.record_ref) < listing.index(a.record_ref)


def test_an_officer_changes_thresholds_on_the_page_and_others_only_read_them(scene, db, client, login,
                                                                              create_user):
    login(scene["officer"])
    response = client.post(f"/integrity/contracts/{scene['contract'].id}/thresholds",
                           data={k: getattr(service.default_thresholds(), k) for k in service.SETTINGS}
                           | {"flash_burst_per_day": "15"})
    assert response.status_code == 302
    db.session.refresh(scene["contract"])
    assert scene["contract"].thresholds == {"flash_burst_per_day": 15}
    login(create_user(Role.EVALUATOR))
    client.post(f"/integrity/contracts/{scene['contract'].id}/thresholds", data={"flash_burst_per_day": "99"})
    db.session.refresh(scene["contract"])
    assert scene["contract"].thresholds == {"flash_burst_per_day": 15}


def test_the_nightly_job_runs_incrementally(scene, db):
    from reliefsvc.integrity.jobs import nightly

    add(scene, T0, 30)
    summary = nightly("2026-03-03", T0 + timedelta(days=1))
    assert "检查 1 条记录" in summary
    assert db.session.scalar(sa.select(IntegrityRun.kind)) == "incremental"
    assert db.session.scalar(sa.select(ServiceRecord.checked_version)) == 1
