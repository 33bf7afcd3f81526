"""Half a year of service records with real JPEG photos carrying EXIF, and planted problems.

Each contract's providers behave as their kind would:
- 同心 (sound): visits of a proper length, photos taken on site, notes of their own;
- 惠民 (sloppy): some visits of a few minutes, one photo used twice, notes copied from
  household to household, photos without metadata, records entered weeks late, a visit to
  a household that had died and one outside the contract's area;
- 鑫源 (payroll): office duty at the township seat all day, a few visits.
Plus one worker of the sloppy provider with an impossible day (a burst of visits, two at
once, and two villages 20 km apart within minutes). The integrity checks find all of it.
"""

from __future__ import annotations

import contextlib
import io
import math
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from datetime import date, datetime, time, timedelta

from PIL import Image, ImageDraw

from reliefsvc.cases.models import Case, CaseStatus
from reliefsvc.common.formatting import LOCAL_TZ, now_local
from reliefsvc.db import utcnow
from reliefsvc.evidence import photos, service, storage
from reliefsvc.evidence.models import RecordSource, RecordStatus
from reliefsvc.extensions import db
from reliefsvc.security.models import Role, User

DETAILS = ["了解家庭收入和支出变化", "核实家庭成员务工情况", "查看住房安全和取暖条件", "了解慢性病用药和就医情况",
           "宣讲低保和临时救助政策", "帮助整理申请材料", "了解子女上学情况", "查看老人生活自理情况"]
FINDINGS = ["家庭情况稳定", "收入较上月有所减少，需持续关注", "老人腿脚不便，建议增加走访频次", "已告知办理医疗救助的渠道",
            "房屋有漏雨现象，已向村委会反映", "子女外出务工，每月有汇款"]
#: What a worker saw in this household and what comes next: with DETAILS and FINDINGS
#: these give each household a note of its own (two households never share all four).
SEEN = ["院里晒着刚收的玉米", "家里新添了一头小牛", "孙子周末回来看望老人", "屋里生着炉子很暖和", "水缸里的水是满的",
        "厨房收拾得干净整齐", "门口的土路有些积雪", "老人坐在院子里晒太阳", "家里刚重新砌了院墙",
        "灶台上放着刚买回的药", "炕上换了新的褥子", "隔壁邻居常来帮忙照看"]
NEXT = ["下次来时带上血压计", "约好下周再来看看", "已提醒老人按时服药", "答应帮忙联系村里医生",
        "记下了需要的生活用品", "提醒注意冬季用电安全", "留下了工作人员的电话", "告知了临时救助的申请办法",
        "叮嘱外地子女常打电话", "约定月底再电话回访"]
COPIED_NOTE = "入户走访，了解家庭基本情况，宣传社会救助政策，该户生活基本稳定，无其他特殊困难。"
PLAN = {
    # contract key: [(service type, per working day, minutes (lo, hi), photo)]
    "sound": [("home_visit", 7, (25, 55), True), ("phone_followup", 4, (4, 12), False),
              ("alert_check", 0.5, (30, 60), True), ("survey_assist", 1, (40, 90), True)],
    "sloppy": [("care_service", 6, (30, 60), True), ("home_visit", 3, (20, 40), True)],
    "payroll": [("office_duty", 9, (420, 480), False), ("home_visit", 2, (20, 35), True)],
}


def _note(rng, used: set) -> str:
    """A note of the household's own: never the same four parts twice for one provider."""
    for _ in range(20):
        parts = (rng.randrange(len(DETAILS)), rng.randrange(len(FINDINGS)), rng.randrange(len(SEEN)),
                 rng.randrange(len(NEXT)))
        if parts not in used:
            break
    used.add(parts)
    a, b, c, d = parts
    return f"{DETAILS[a]}，{SEEN[c]}，{FINDINGS[b]}，{NEXT[d]}。"


def _offset(lat, lon, metres, bearing):
    return (lat + metres * math.cos(bearing) / 111_320,
            lon + metres * math.sin(bearing) / (111_320 * math.cos(math.radians(lat))))


def photo(rng, when: datetime | None, gps: tuple[float, float] | None, size=(480, 360)) -> bytes:
    """A generated "scene" (sky, ground, a house, people) with EXIF time and GPS."""
    w, h = size
    # Skies and grounds of a year in the hills: clear, overcast, evening; earth, grass, stubble, snow.
    sky = rng.choice([(150, 190, 235), (185, 190, 195), (230, 190, 150), (120, 160, 220), (205, 215, 225)])
    soil = rng.choice([(130, 110, 70), (95, 130, 60), (190, 170, 110), (225, 225, 230), (150, 120, 95)])
    img = Image.new("RGB", size, tuple(min(255, max(0, c + rng.randrange(-25, 26))) for c in sky))
    draw = ImageDraw.Draw(img)
    for band in range(0, h, 6):  # the sky lightens towards the horizon, unevenly
        shade = rng.randrange(-12, 13) + band // 12
        draw.rectangle([0, band, w, band + 6], fill=tuple(min(255, max(0, c + shade)) for c in sky))
    ground = rng.randrange(h // 3, 4 * h // 5)
    for _ in range(rng.randrange(0, 4)):  # clouds or hills far away
        cx, cy = rng.randrange(w), rng.randrange(ground)
        draw.ellipse([cx, cy, cx + rng.randrange(40, 160), cy + rng.randrange(15, 60)],
                     fill=tuple(rng.randrange(120, 250) for _ in range(3)))
    draw.rectangle([0, ground, w, h], fill=tuple(min(255, max(0, c + rng.randrange(-25, 26))) for c in soil))
    for _ in range(rng.randrange(2, 7)):  # a cart, a haystack, a heap of coal, a water tank
        x, y = rng.randrange(w), rng.randrange(ground - 20, h)
        draw.rectangle([x, y, x + rng.randrange(20, 110), y + rng.randrange(10, 60)],
                       fill=tuple(rng.randrange(20, 240) for _ in range(3)))
    for _ in range(rng.randrange(1, 3)):  # a house or two, a wall, a shed
        x = rng.randrange(0, w - 60)
        top = ground - rng.randrange(40, 160)
        draw.rectangle([x, top, x + rng.randrange(60, 220), ground],
                       fill=(rng.randrange(120, 240), rng.randrange(100, 210), rng.randrange(70, 170)))
        draw.rectangle([x + 10, top + 12, x + 30, top + 40], fill=tuple(rng.randrange(40, 120) for _ in range(3)))
    for _ in range(rng.randrange(0, 3)):  # trees
        tx = rng.randrange(w - 40)
        draw.rectangle([tx + 16, ground - 50, tx + 24, ground], fill=(90, 60, 30))
        draw.ellipse([tx, ground - 110, tx + 40, ground - 45], fill=(rng.randrange(30, 90), rng.randrange(90, 160), 40))
    for _ in range(rng.randrange(2, 5)):
        px = rng.randrange(0, w - 30)
        draw.ellipse([px, ground - 70, px + 26, ground - 44], fill=(rng.randrange(200, 240),) * 3)
        draw.rectangle([px + 3, ground - 44, px + 23, ground], fill=tuple(rng.randrange(256) for _ in range(3)))
    exif = Image.Exif()
    if when is not None:
        exif.get_ifd(0x8769)[0x9003] = when.astimezone(LOCAL_TZ).strftime("%Y:%m:%d %H:%M:%S")
    if gps is not None:
        def dms(v):
            d, m = int(v), int((v - int(v)) * 60)
            return (float(d), float(m), round(((v - d) * 60 - m) * 60, 2))
        exif.get_ifd(0x8825).update({1: "N", 2: dms(gps[0]), 3: "E", 4: dms(gps[1])})
    out = io.BytesIO()
    img.save(out, "JPEG", quality=80, exif=exif)
    return out.getvalue()


def recrop(data: bytes) -> bytes:
    """The same picture again: cropped 6 %, re-encoded (and its EXIF lost) — staged evidence."""
    img = Image.open(io.BytesIO(data))
    w, h = img.size
    out = io.BytesIO()
    img.crop((int(w * 0.03), int(h * 0.03), int(w * 0.97), int(h * 0.97))).save(out, "JPEG", quality=70)
    return out.getvalue()


def _days(starts: date, until: date):
    day = starts
    while day <= until:
        if day.weekday() < 5:
            yield day
        day += timedelta(days=1)


def step(ctx):
    rng = ctx.rng
    today = now_local().date()
    officer = db.session.scalar(db.select(User).where(User.role == Role.OFFICER))
    contracts = ctx.made["contracts"]
    providers = ctx.made["providers"]
    by_village = ctx.made.get("cases_by_village", {})
    months = 1 if ctx.scale == "small" else 6
    per_day_factor = 0.35 if ctx.scale == "small" else 1.0
    made = []
    for key, plan in PLAN.items():
        provider = providers[key]
        contract = contracts[provider.id]
        starts = max(contract.starts_on, today - timedelta(days=31 * months))
        village_ids = [v.id for v in contract.villages]
        case_ids = [c for v in village_ids for c in by_village.get(v, [])]
        cases = {c.id: c for c in db.session.scalars(db.select(Case).where(Case.id.in_(case_ids)))} if case_ids else {}
        case_list = [c for c in cases.values() if c.status is CaseStatus.ACTIVE]
        workers = [s for s in provider.staff if s.active]
        seq = 0
        used_notes: set = set()
        free_at: dict = {}  # (worker, day) -> when the worker is next free
        for day in _days(starts, today - timedelta(days=1)):
            on_duty: set = set()  # a worker sits one office day, not two at once
            for code, per_day, (lo, hi), needs_photo in plan:
                count = int(per_day * per_day_factor) + (rng.random() < (per_day * per_day_factor) % 1)
                for _ in range(count):
                    seq += 1
                    if code == "office_duty":
                        worker = rng.choice([w for w in workers if w.id not in on_duty] or workers)
                        on_duty.add(worker.id)
                    else:
                        worker = rng.choice(workers)
                    start = datetime.combine(day, time(8, 30), LOCAL_TZ) + timedelta(minutes=rng.randrange(0, 480))
                    minutes = rng.randrange(lo, hi + 1)
                    case = rng.choice(case_list) if code != "office_duty" and case_list else None
                    if code == "office_duty":
                        township = contract.villages[0].parent
                        position = _offset(township.office_lat, township.office_lon, rng.uniform(5, 60),
                                           rng.uniform(0, 6.28))
                        start = datetime.combine(day, time(8, 30), LOCAL_TZ)
                    else:
                        # One service after another: a worker is in one household at a time.
                        start = max(start, free_at.get((worker.id, day), start))
                        base = case.position if case else (contract.villages[0].lat, contract.villages[0].lon)
                        position = _offset(*base, rng.uniform(10, 150), rng.uniform(0, 6.28))
                    notes = _note(rng, used_notes) if code != "office_duty" else "窗口值班，接待群众咨询，整理报送材料。"
                    end = start + timedelta(minutes=minutes)
                    # after a visit, or after the office day: the next visit comes later
                    free_at[(worker.id, day)] = end + timedelta(minutes=rng.randrange(15, 40))
                    pics = []
                    if needs_photo:
                        shot_at = start + timedelta(minutes=rng.randrange(0, max(1, minutes)))
                        pics.append(service.Upload(photo(rng, shot_at, _offset(*position, rng.uniform(0, 40), 0)),
                                                   f"{day:%Y%m%d}_{seq:04d}.jpg"))
                    submitted = end + timedelta(minutes=rng.randrange(5, 240))
                    if key == "sloppy":
                        roll = rng.random()
                        if roll < 0.06 and code == "home_visit":
                            end = start + timedelta(minutes=rng.randrange(3, 9))  # seconds-long visit
                        elif roll < 0.10 and case is not None:
                            notes = COPIED_NOTE  # the same words for every household
                        elif roll < 0.13 and pics:
                            pics = [service.Upload(photo(rng, None, None), pics[0].filename)]  # no metadata
                        elif roll < 0.16:
                            submitted = end + timedelta(days=rng.randrange(9, 30))  # entered weeks later
                        elif roll < 0.18 and pics:
                            far = _offset(*position, rng.uniform(5000, 9000), rng.uniform(0, 6.28))
                            pics = [service.Upload(photo(rng, start, far), pics[0].filename)]  # taken elsewhere
                        elif roll < 0.20 and pics:
                            pics = [service.Upload(photo(rng, start - timedelta(hours=5), position),
                                                   pics[0].filename)]  # taken hours before
                    if submitted > utcnow():
                        submitted = utcnow()
                    made.append((contract, service.RecordInput(
                        contract=contract, worker=worker, service_type_code=code, started_at=start, ended_at=end,
                        case=case, lat=round(position[0], 6), lon=round(position[1], 6), notes=notes,
                        record_ref=f"{contract.contract_no[-2]}-{day:%Y%m%d}-{seq:04d}",
                        submitted_at=submitted), pics))
    _plant_bad_day(ctx, rng, made, contracts[providers["sloppy"].id], today)
    records = []
    with storage.deferred_sync(), _photo_readers(ctx.scale) as read:
        facts = read([u.data for _contract, _data, pics in made for u in pics])
        for _contract, data, pics in made:
            records.append(service.submit(data, pics, None, RecordSource.LEDGER,
                                          facts=[next(facts) for _ in pics] if facts else None))
    _review(rng, records, officer, today)
    ctx.made["records"] = records


@contextlib.contextmanager
def _photo_readers(scale: str):
    """``read(datas)`` → an iterator of ``photos.examine`` results in order, computed on
    all cores while the caller writes the records: the full demo's 2 600 photos are most
    of its loading time. ``None`` for the small demo (one process is quicker there) or a
    machine of one core: ``service.submit`` then reads each photo itself."""
    workers = min(os.cpu_count() or 1, 4)
    if scale != "full" or workers < 2:
        yield lambda _datas: None
        return
    # spawn, not fork: the parent holds a database connection and may hold threads
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield lambda datas: pool.map(photos.examine, datas, chunksize=16)


def _plant_bad_day(ctx, rng, made, contract, today):
    """A sloppy worker's impossible day, a reused photo, a dead household, one out of area."""
    worker = [s for s in contract.provider.staff if s.active][0]
    day = today - timedelta(days=12)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    villages = contract.villages
    first, far = villages[0], max(villages, key=lambda v: abs(v.lat - villages[0].lat) + abs(v.lon - villages[0].lon))
    by_village = ctx.made.get("cases_by_village", {})
    reused = None
    for i in range(14):  # more than 12 field records in one day, some overlapping
        village = first if i != 7 else far
        case_ids = by_village.get(village.id) or [None]
        case = db.session.get(Case, rng.choice(case_ids)) if case_ids[0] else None
        start = datetime.combine(day, time(8, 0), LOCAL_TZ) + timedelta(minutes=25 * i)
        end = start + timedelta(minutes=35)  # 10 minutes into the next one
        base = case.position if case else (village.lat, village.lon)
        shot = photo(rng, start + timedelta(minutes=5), base)
        if i == 3:
            reused = shot
        if i == 9 and reused is not None:
            shot = recrop(reused)  # the visit of household 3, photographed again as household 9
        made.append((contract, service.RecordInput(
            contract=contract, worker=worker, service_type_code="home_visit", started_at=start, ended_at=end,
            case=case, lat=base[0], lon=base[1], notes=f"入户走访，{DETAILS[i % len(DETAILS)]}。",
            record_ref=f"{contract.contract_no[-2]}-{day:%Y%m%d}-9{i:03d}", submitted_at=end + timedelta(hours=2)),
            [service.Upload(shot, f"{day:%Y%m%d}_9{i:03d}.jpg")]))
    dead = db.session.scalar(db.select(Case).where(Case.status == CaseStatus.DECEASED,
                                                   Case.village_id.in_([v.id for v in villages])).limit(1))
    if dead is not None and dead.status_changed_on and dead.status_changed_on < today - timedelta(days=3):
        start = datetime.combine(today - timedelta(days=2), time(10), LOCAL_TZ)
        made.append((contract, service.RecordInput(
            contract=contract, worker=worker, service_type_code="care_service", started_at=start,
            ended_at=start + timedelta(minutes=45), case=dead, lat=dead.position[0], lon=dead.position[1],
            notes="照料服务：打扫卫生，送米面油。", record_ref=f"{contract.contract_no[-2]}-{dead.case_ref}"),
            [service.Upload(photo(rng, start, dead.position), f"{dead.case_ref}.jpg")]))
    area = {v.id for v in villages}
    outside = db.session.scalar(db.select(Case).where(Case.village_id.not_in(area), Case.status == CaseStatus.ACTIVE)
                                .limit(1))
    if outside is not None:
        start = datetime.combine(today - timedelta(days=3), time(15), LOCAL_TZ)
        made.append((contract, service.RecordInput(
            contract=contract, worker=worker, service_type_code="home_visit", started_at=start,
            ended_at=start + timedelta(minutes=30), case=outside, lat=outside.position[0], lon=outside.position[1],
            notes="入户走访，了解家庭近况。", record_ref=f"{contract.contract_no[-2]}-{outside.case_ref}"),
            [service.Upload(photo(rng, start, outside.position), f"{outside.case_ref}.jpg")]))
    _plant_paperwork_day(rng, made, contract, by_village, today)


def _plant_paperwork_day(rng, made, contract, by_village, today):
    """Another sloppy day: a six-minute visit, a care visit without a photo, a photo without
    metadata, a photo taken hours before the visit, and two records typed in almost two weeks later."""
    staff = [s for s in contract.provider.staff if s.active]
    worker = staff[1 % len(staff)]
    day = today - timedelta(days=20)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    case_ids = [c for v in contract.villages for c in by_village.get(v.id, [])]
    cases = [db.session.get(Case, c) for c in case_ids[:40]]
    cases = [c for c in cases if c is not None and c.status is CaseStatus.ACTIVE][:5] or [None] * 5
    plan = [("home_visit", 6, "photo", 0), ("care_service", 40, None, 0), ("home_visit", 30, "bare", 0),
            ("home_visit", 25, "early", 13), ("care_service", 45, "photo", 12)]
    for i, ((code, minutes, shot, late_days), case) in enumerate(zip(plan, cases, strict=False)):
        start = datetime.combine(day, time(9), LOCAL_TZ) + timedelta(minutes=80 * i)
        end = start + timedelta(minutes=minutes)
        base = case.position if case is not None else (contract.villages[0].lat, contract.villages[0].lon)
        pics = []
        if shot == "photo":
            pics = [service.Upload(photo(rng, start + timedelta(minutes=2), base), f"{day:%Y%m%d}_8{i:03d}.jpg")]
        elif shot == "early":  # taken three hours before the visit began
            pics = [service.Upload(photo(rng, start - timedelta(hours=3), base), f"{day:%Y%m%d}_8{i:03d}.jpg")]
        elif shot == "bare":
            pics = [service.Upload(photo(rng, None, None), f"{day:%Y%m%d}_8{i:03d}.jpg")]
        made.append((contract, service.RecordInput(
            contract=contract, worker=worker, service_type_code=code, started_at=start, ended_at=end, case=case,
            lat=base[0], lon=base[1], notes=_note(rng, set()),
            record_ref=f"{contract.contract_no[-2]}-{day:%Y%m%d}-8{i:03d}",
            submitted_at=end + timedelta(days=late_days, hours=1)), pics))


def _review(rng, records, officer, today):
    """Records older than a week are reviewed; a few are rejected with a reason."""
    cutoff = datetime.combine(today - timedelta(days=7), time(0), LOCAL_TZ)
    for record in records:
        if record.started_at >= cutoff:
            continue
        if rng.random() < 0.04:
            service.review(record, False, rng.choice(["照片模糊，无法辨认服务对象", "服务内容记录过于简单", "服务时长与服务内容不符"]),
                           officer)
        else:
            service.review(record, True, "", officer)
    assert all(r.status in RecordStatus for r in records)
