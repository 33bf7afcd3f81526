"""The province pages ask the database as often with 1 000 records as with 10 (no N+1).

Issue 16 measures these pages at a million records in bench/; this test holds them to
their shape. For each page: build 10 records (with photos, integrity flags, spot-check
items and counters, as the pages show them), count the SQL statements one request
sends (``before_cursor_execute``), grow to 1 000 records in bulk, count again: equal.
The counts are taken after a warm-up request at each size, so caches (settings,
catalogues, translations) fill before, not during, the counted request.
"""

from __future__ import annotations

import contextlib
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from reliefsvc.common.formatting import LOCAL_TZ
from reliefsvc.extensions import db as _db
from reliefsvc.security.models import Role
from tests.conftest import make_id

FEW, MANY = 10, 1_000


@contextlib.contextmanager
def counting():
    statements: list[str] = []

    def listener(conn, cursor, statement, parameters, context, executemany):
        # The test client's commit before each request and the savepoints of the rolled-back
        # test transaction are the harness's, not the page's.
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "COMMIT")):
            statements.append(statement)

    engine = _db.engine
    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)


@pytest.fixture
def scene(db, create_contract, create_case, create_user, villages):
    """A contract with workers, households, photos and a spot-check draw; ``grow(n)`` adds
    records (as rows, in bulk, with the counters the services would keep) until there are n."""
    from reliefsvc.contracts import service as contracts
    from reliefsvc.evidence.models import Photo, RecordPhoto, ServiceRecord
    from reliefsvc.integrity.models import IntegrityFlag
    from reliefsvc.providers import service as providers
    from reliefsvc.spotchecks.models import DrawStatus, SpotCheckDraw, SpotCheckItem, Stratum

    contract = create_contract(obligations=(("home_visit", "month", 10, "records"),))
    provider = contract.provider
    officer = create_user(Role.OFFICER)
    manager = create_user(Role.PROVIDER_MANAGER, org=provider.organisation)
    staff = [providers.add_staff(provider, id_number=make_id(9100 + i), name=f"服务员{i}", role="social_worker")
             for i in range(3)]
    cases = [create_case(villages[i % len(villages)], head_name=f"计数户主{i}") for i in range(3)]
    now = datetime(2026, 11, 20, 9, 0, tzinfo=LOCAL_TZ)
    photos = [Photo(sha256=f"{n:064x}", display_sha256=f"{n + 100:064x}", content_type="image/jpeg", width=1600,
                    height=1200, size=400_000, phash=n, dhash=n, uploaded_at=now) for n in range(1, 6)]
    db.session.add_all(photos)
    draw = SpotCheckDraw(contract_id=contract.id, day_from=date(2026, 1, 1), day_to=date(2026, 12, 31),
                         status=DrawStatus.DRAWN, frame_hash="0" * 64, seed="16")
    db.session.add(draw)
    db.session.flush()
    start = datetime(2026, 1, 5, 9, 0, tzinfo=LOCAL_TZ)
    made = {"n": 0}

    def grow(total: int) -> None:
        rows = []
        for i in range(made["n"], total):
            began = start + timedelta(hours=7 * i)
            status = ("submitted", "accepted", "rejected")[i % 3]
            rows.append({
                "contract_id": contract.id, "record_ref": f"QC{i:05d}", "worker_id": staff[i % 3].id,
                "case_id": cases[i % 3].id, "service_type_code": "home_visit", "started_at": began,
                "ended_at": began + timedelta(minutes=45), "month": began.strftime("%Y-%m"), "minutes": 45,
                "lat": 35.38, "lon": 103.72, "notes": f"入户走访第{i}次", "submitted_at": began + timedelta(hours=1),
                "source": "ledger", "status": status, "version": 1, "refuted": False,
                "reviewed_by_id": officer.id if status != "submitted" else None,
                "reviewed_at": began + timedelta(days=1) if status != "submitted" else None,
                "review_reason": "照片不清" if status == "rejected" else None,
                "risk_score": float(i % 7), "checked_version": 0})
        db.session.execute(sa.insert(ServiceRecord), rows)
        new = db.session.execute(sa.select(ServiceRecord.id, ServiceRecord.record_ref, ServiceRecord.month,
                                           ServiceRecord.case_id, ServiceRecord.worker_id, ServiceRecord.status)
                                 .where(ServiceRecord.contract_id == contract.id,
                                        ServiceRecord.record_ref >= f"QC{made['n']:05d}")).all()
        db.session.execute(sa.insert(RecordPhoto), [
            {"record_id": r.id, "photo_id": photos[(r.id + k) % 5].id, "position": k, "filename": f"p{k}.jpg"}
            for r in new for k in range(2)])
        db.session.execute(sa.insert(IntegrityFlag), [
            {"record_id": r.id, "contract_id": contract.id, "worker_id": r.worker_id, "month": r.month,
             "code": ("LATE_ENTRY", "FLASH_SHORT")[r.id % 2], "severity": "medium", "detail": "计数测试",
             "found_at": now, "dismiss_reason": ""} for r in new if r.id % 2])
        db.session.execute(sa.insert(SpotCheckItem), [
            {"draw_id": draw.id, "record_id": r.id, "record_ref": r.record_ref, "ticket": f"{r.id:064x}",
             "stratum": Stratum.RANDOM, "round": 0} for r in new if r.id % 5 == 0])
        for r in new:  # the month counters the contract page reads, as submit() keeps them
            contracts.count_record(contract.id, "home_visit", r.month, r.case_id, 45, r.status.value, +1)
        db.session.flush()
        made["n"] = total

    return {"contract": contract, "officer": officer, "manager": manager, "case": cases[0], "grow": grow,
            "township": villages[0].parent}


def _queries(client, login, user, url: str) -> list[str]:
    login(user)
    assert client.get(url).status_code == 200  # warm-up
    with counting() as statements:
        response = client.get(url)
    assert response.status_code == 200, url
    return statements


PAGES = {
    "officer dashboard": ("officer", lambda s: "/"),
    "contract page": ("officer", lambda s: f"/contracts/{s['contract'].id}"),
    "record list, filtered, page 2": (
        "officer", lambda s: f"/records/?contract_id={s['contract'].id}&status=accepted&sort=risk&page=2"),
    # issue 16: the filters as a province has them (searches, township first; LIST_AT_MOST below)
    "record list, searched, province filters": (
        "officer", lambda s: f"/records/?worker=服务员&contract=康民购&township_id={s['township'].id}"
                             f"&village_id={s['case'].village_id}&status=accepted&page=2"),
    "record list, township searched, province filters": (
        "officer", lambda s: "/records/?township=附城&status=accepted&page=2"),
    "household timeline": ("officer", lambda s: f"/cases/{s['case'].id}"),
    "provider dashboard": ("manager", lambda s: "/"),
}


@pytest.mark.parametrize("page", list(PAGES))
def test_a_page_asks_the_database_as_often_at_1000_records_as_at_10(page, scene, client, login, monkeypatch):
    if "province filters" in page:
        from reliefsvc.evidence import views

        monkeypatch.setattr(views, "LIST_AT_MOST", 0)  # every filter list as long as a province's
    role, url_of = PAGES[page]
    user, url = scene[role], url_of(scene)
    scene["grow"](FEW)
    if "page=2" in url:
        # page 2 of 50 needs more than 50 matching records: start from 10 matching ones
        # on page 1 and compare page 1 with page 2 of the large set as well.
        few = _queries(client, login, user, url.replace("page=2", "page=1"))
    else:
        few = _queries(client, login, user, url)
    scene["grow"](MANY)
    many = _queries(client, login, user, url)
    assert len(few) > 5, f"{page}: the page was not rendered"
    assert len(many) == len(few), (f"{page}: {len(few)} queries at {FEW} records, {len(many)} at {MANY}:\n\n"
                                   + "\n\n".join(q[:300] for q in many))
