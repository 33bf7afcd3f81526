"""About 5 000 households of Kangle County, their members, monitoring alerts and discoveries.

The mix is what a county of 280 000 people in Linxia shows: most households receive the
minimum living allowance (低保), about a tenth are extreme-poverty support (特困), mostly
old people living alone, the rest near the allowance line (低保边缘) or under monitoring
(监测对象), a few on temporary assistance; some closed or deceased. Houses lie within
1.5 km of their village centre. A dozen open alerts of each level, some already overdue,
a history of checked ones, a few discoveries waiting for the officer, and one planted
problem: a worker of the labour company heads a 低保 household (the relations check finds it).

Rows are written with bulk inserts and the step leaves one audit entry, so that the demo
loads in seconds.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date, timedelta

import sqlalchemy as sa

from reliefsvc import audit
from reliefsvc.cases import rules, service
from reliefsvc.cases.events import DemoCasesLoaded
from reliefsvc.cases.models import (
    Alert,
    AlertLevel,
    Case,
    CaseCategory,
    CaseMember,
    CaseStatus,
    DiscoveryStatus,
    MemberRelation,
    Origin,
)
from reliefsvc.common.formatting import LOCAL_TZ, now_local
from reliefsvc.common.idnumber import check_character
from reliefsvc.db import utcnow
from reliefsvc.demo.providers import GIVEN, SURNAMES
from reliefsvc.demo.regions import COUNTY_CODE, _offset
from reliefsvc.extensions import db
from reliefsvc.providers.models import Staff
from reliefsvc.security.models import Role, User

HOUSEHOLDS = 5000
OPEN_ALERTS_PER_LEVEL = 12
#: (overdue, hours ago for an overdue alert, hours ago for one still in time) per level
ALERT_PLAN = {"red": (4, (26, 70), (1, 20)), "orange": (4, (75, 140), (2, 60)), "yellow": (3, (170, 300), (5, 150))}
ALERT_NOTES = ["因病住院，医疗支出大幅增加", "家庭主要劳动力意外受伤，收入中断", "务工收入骤减，存在返贫风险",
               "重度残疾人家庭，照护困难", "房屋因暴雨受损，需评估安全", "子女就学支出增加，生活困难",
               "独居老人近期行动不便", "家庭成员患重大疾病"]
NEEDS = ["独居老人，无子女照顾，房屋漏雨，冬季取暖困难", "丈夫外出务工失联，妻子带两个孩子生活，无稳定收入",
         "户主突发脑梗，家中无劳动力，医疗费用负担重", "残疾人家庭，父子均无劳动能力，靠亲戚接济",
         "留守老人照看三个孙子女，子女务工收入微薄", "房屋被山洪冲毁，暂住亲戚家", "患尿毒症长期透析，已借债数万元",
         "父母双亡，兄妹二人由年迈奶奶抚养"]


def _id_number(rng, birth_year: int, used: set[str]) -> str:
    while True:
        body = f"{COUNTY_CODE}{birth_year}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
        number = body + check_character(body)
        if number not in used:
            used.add(number)
            return number


def _name(rng) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


def _household(rng, today: date) -> dict:
    """Categories, size, head's birth year and status of one household."""
    r = rng.random()
    if r < 0.10:
        cats, size, born = ["tekun"], 1 if rng.random() < 0.85 else 2, rng.randint(1932, 1958)
    elif r < 0.78:
        cats = ["dibao"] + (["linshi"] if rng.random() < 0.08 else []) + (["jiance"] if rng.random() < 0.06 else [])
        size = rng.choices([1, 2, 3, 4, 5, 6], weights=[10, 22, 25, 23, 13, 7])[0]
        born = rng.randint(1945, 1992)
    elif r < 0.87:
        cats, size, born = ["bianyuan"] + (["jiance"] if rng.random() < 0.2 else []), rng.randint(2, 5), rng.randint(1955, 1990)
    elif r < 0.98:
        cats, size, born = ["jiance"], rng.randint(2, 6), rng.randint(1950, 1992)
    else:
        cats, size, born = ["linshi"], rng.randint(1, 5), rng.randint(1950, 1995)
    old = "tekun" in cats
    s = rng.random()
    if s < (0.06 if old else 0.01):
        status = CaseStatus.DECEASED
    elif s < (0.08 if old else 0.05):
        status = CaseStatus.CLOSED
    elif s < (0.10 if old else 0.07):
        status = CaseStatus.SUSPENDED
    else:
        status = CaseStatus.ACTIVE
    changed_on = today - timedelta(days=rng.randint(10, 700)) if status is not CaseStatus.ACTIVE else None
    return {"categories": cats, "size": size, "born": born, "status": status, "changed_on": changed_on}


def _members(rng, head_born: int, size: int, today: date, used: set[str]) -> list[dict]:
    """The other people of a household, as far as the registry knows them."""
    out, year = [], today.year
    plan = []
    if head_born < year - 22 and rng.random() < 0.8:
        plan.append((MemberRelation.SPOUSE, head_born + rng.randint(-5, 5)))
    while len(plan) < size - 1:
        roll = rng.random()
        if head_born > 1975 and roll < 0.15:
            plan.append((MemberRelation.PARENT, head_born - rng.randint(22, 32)))
        elif head_born < 1965 and roll < 0.35:
            plan.append((MemberRelation.GRANDCHILD, min(year - 1, head_born + rng.randint(45, 60))))
        else:
            plan.append((MemberRelation.CHILD, min(year - 1, head_born + rng.randint(20, 35))))
    for relation, born in plan:
        known = rng.random() < 0.75
        out.append({"name": _name(rng), "relation": relation, "birth_year": born,
                    "id_number": _id_number(rng, born, used) if known else None})
    return out


def _position(rng, village) -> tuple[float | None, float | None]:
    if village.lat is None or rng.random() < 0.15:
        return None, None
    distance, bearing = 1.5 * math.sqrt(rng.random()), rng.uniform(0, 2 * math.pi)
    return _offset(village.lat, village.lon, distance * math.cos(bearing), distance * math.sin(bearing))


def _case_row(**values) -> dict:
    """Every row with the same keys, so that the insert goes out as one executemany."""
    row = dict(case_ref=None, head_name=None, head_id_number=None, village_id=None, address=None, household_size=1,
               status=CaseStatus.ACTIVE, status_changed_on=None, lat=None, lon=None, origin=Origin.IMPORTED,
               discovery_status=None, discovered_by_provider_id=None, discovered_by_user_id=None,
               discovered_by_staff_id=None, discovered_at=None, discovery_note=None, reviewed_by_id=None,
               reviewed_at=None, review_reason=None)
    row.update(values)
    return row


def step(ctx):
    rng = ctx.rng
    now, today = utcnow(), now_local().date()
    hours = service.deadline_hours()
    villages = ctx.made["villages"]
    officer = db.session.scalar(sa.select(User).where(User.role == Role.OFFICER))
    providers = ctx.made["providers"]
    contracts = ctx.made.get("contracts", {})
    used = set(db.session.scalars(sa.select(Staff.id_number)))

    # Households of the provincial system, numbered village by village.
    weights = [rng.uniform(0.6, 1.4) for _ in villages]
    chosen = sorted(rng.choices(range(len(villages)), weights=weights, k=HOUSEHOLDS))
    sequence: dict[int, int] = defaultdict(int)
    rows, extras = [], []
    payroll_worker = next(s for s in providers["payroll"].staff if s.left_on is None)
    payroll_area = {v.id for v in getattr(contracts.get(providers["payroll"].id), "villages", [])}
    planted = False
    for index in chosen:
        village = villages[index]
        sequence[village.id] += 1
        h = _household(rng, today)
        name, number = _name(rng), None
        if not planted and village.id in payroll_area and h["status"] is CaseStatus.ACTIVE and "dibao" in h["categories"]:
            # The labour company's worker heads a 低保 household in its own service area.
            name, number, planted = payroll_worker.name, payroll_worker.id_number, True
        lat, lon = _position(rng, village)
        rows.append(_case_row(case_ref=f"{village.code}{sequence[village.id]:04d}", head_name=name,
                              head_id_number=number or _id_number(rng, h["born"], used), village_id=village.id,
                              household_size=h["size"], status=h["status"], status_changed_on=h["changed_on"],
                              lat=lat, lon=lon))
        members = _members(rng, h["born"], h["size"], today, used) if h["size"] > 1 and rng.random() < 0.7 else []
        extras.append((h, members))

    # A few households the providers found (section 十一): most wait for the officer.
    worker = db.session.scalar(sa.select(User).where(User.username == "worker"))
    worker_staff = db.session.scalar(sa.select(Staff).where(Staff.user_id == worker.id)) if worker else None
    plan = [("sound", DiscoveryStatus.PENDING)] * 3 + [("sloppy", DiscoveryStatus.PENDING)] * 2 + \
        [("sound", DiscoveryStatus.CONFIRMED)] * 2 + [("sloppy", DiscoveryStatus.DISMISSED)]
    per_day: dict[date, int] = defaultdict(int)
    for key, state in plan:
        provider = providers[key]
        area = list(getattr(contracts.get(provider.id), "villages", [])) or villages
        village = rng.choice(area)
        found_at = now - timedelta(days=rng.randint(1, 12), hours=rng.randint(0, 8))
        day = found_at.astimezone(LOCAL_TZ).date()
        per_day[day] += 1
        h = _household(rng, today)
        lat, lon = _position(rng, village)
        by_worker = key == "sound" and worker is not None
        decided = state is not DiscoveryStatus.PENDING
        rows.append(_case_row(
            case_ref=rules.provisional_ref(day, per_day[day]), head_name=_name(rng),
            head_id_number=_id_number(rng, h["born"], used) if rng.random() < 0.8 else None, village_id=village.id,
            address=f"{rng.randint(1, 9)}组{rng.randint(1, 60)}号", household_size=h["size"],
            lat=lat if lat is not None else village.lat, lon=lon if lon is not None else village.lon,
            origin=Origin.DISCOVERED, discovery_status=state, discovered_by_provider_id=provider.id,
            discovered_by_user_id=worker.id if by_worker else None,
            discovered_by_staff_id=worker_staff.id if by_worker and worker_staff else None,
            discovered_at=found_at, discovery_note=rng.choice(NEEDS),
            reviewed_by_id=officer.id if decided else None,
            reviewed_at=found_at + timedelta(days=1) if decided else None,
            review_reason={DiscoveryStatus.CONFIRMED: "经入户核实，符合临时救助条件，纳入名册",
                           DiscoveryStatus.DISMISSED: "经核查，该户已在邻县纳入低保，不予重复登记"}.get(state)))
        extras.append(({"categories": [rng.choice(["linshi", "tekun", "dibao"])]}, []))

    # Core executemany: the ORM's bulk insert with RETURNING costs seconds here.
    before = db.session.scalar(sa.select(sa.func.coalesce(sa.func.max(Case.id), 0)))
    db.session.execute(Case.__table__.insert(), rows)
    id_of = dict(db.session.execute(sa.select(Case.case_ref, Case.id).where(Case.id > before)).all())
    ids = [id_of[row["case_ref"]] for row in rows]
    categories, members = [], []
    for case_id, (h, people) in zip(ids, extras, strict=True):
        categories.extend({"case_id": case_id, "category": c} for c in h["categories"])
        members.extend({"case_id": case_id, **m} for m in people)
    db.session.execute(CaseCategory.__table__.insert(), categories)
    if members:
        db.session.execute(CaseMember.__table__.insert(), members)

    # Monitoring alerts: a dozen open ones of each level, some already overdue, and a
    # history of alerts that were checked (a few of them late).
    candidates = [case_id for case_id, row in zip(ids, rows, strict=True)
                  if row["origin"] is Origin.IMPORTED and row["status"] is CaseStatus.ACTIVE]
    picked = rng.sample(candidates, 3 * OPEN_ALERTS_PER_LEVEL + 24)
    alerts = []

    def alert(case_id, level, issued, cleared=None, late=False):
        due = rules.due_at(level, issued, hours)
        alerts.append({"case_id": case_id, "level": AlertLevel(level), "issued_at": issued, "due_at": due,
                       "note": rng.choice(ALERT_NOTES), "cleared_at": cleared, "cleared_by_id": officer.id if cleared else None,
                       "clear_note": ("已入户核查（超过时限）" if late else "已入户核查") if cleared else None})

    for level, (overdue, late_hours, fresh_hours) in ALERT_PLAN.items():
        for i in range(OPEN_ALERTS_PER_LEVEL):
            span = late_hours if i < overdue else fresh_hours
            alert(picked.pop(), level, now - timedelta(hours=rng.uniform(*span)))
    for _ in range(24):
        level = rng.choice(["red", "orange", "orange", "yellow", "yellow", "yellow"])
        issued = now - timedelta(days=rng.randint(10, 150), hours=rng.randint(0, 23))
        late = rng.random() < 0.25
        took = hours[level] * (rng.uniform(1.1, 2.5) if late else rng.uniform(0.1, 0.9))
        alert(picked.pop(), level, issued, cleared=min(issued + timedelta(hours=took), now - timedelta(hours=1)),
              late=late)
    db.session.execute(Alert.__table__.insert(), alerts)

    ctx.made["cases_by_village"] = defaultdict(list)
    for case_id, row in zip(ids, rows, strict=True):
        if row["status"] is CaseStatus.ACTIVE and row["discovery_status"] is not DiscoveryStatus.DISMISSED:
            ctx.made["cases_by_village"][row["village_id"]].append(case_id)
    audit.record(DemoCasesLoaded(cases=len(ids), members=len(members), alerts=len(alerts),
                                 discovered=len(plan)))
