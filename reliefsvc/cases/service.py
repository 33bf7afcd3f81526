"""Operations on cases, members and alerts. They flush, never commit."""

from __future__ import annotations

import hashlib
import os
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import selectinload

from reliefsvc import audit
from reliefsvc.cases import events, rules
from reliefsvc.cases.models import (
    CASE_SCOPE_HOOK,
    Alert,
    AlertLevel,
    Case,
    CaseCategory,
    CaseMember,
    CaseStatus,
    Category,
    DiscoveryStatus,
    MemberRelation,
    Origin,
    ScopeSubject,
)
from reliefsvc.common import idnumber
from reliefsvc.common.errors import BilingualError
from reliefsvc.common.formatting import LOCAL_TZ, today_local
from reliefsvc.common.tabular import ImportReport, TableError, read_table
from reliefsvc.db import utcnow
from reliefsvc.extensions import db
from reliefsvc.notifications import service as notifications
from reliefsvc.providers import service as providers
from reliefsvc.providers.models import Provider, RelationKind, Staff
from reliefsvc.regions.models import Level, Region
from reliefsvc.security.models import Role, User

#: IN lists are cut to this length (SQLite allows a few thousand parameters at most).
CHUNK = 500
#: Any constant: the PostgreSQL advisory lock that serialises the numbering of discoveries.
_PG_DISCOVERY_LOCK = 0x4341534546


class CaseError(BilingualError):
    """An operation that cannot be done; ``zh`` and ``en`` say why."""


today = today_local


def _chunks(values: Iterable, size: int = CHUNK):
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _in_registry() -> sa.ColumnElement[bool]:
    """Every household but dismissed discoveries."""
    return sa.or_(Case.discovery_status.is_(None), Case.discovery_status != DiscoveryStatus.DISMISSED)


def get_by_ref(case_ref: str) -> Case | None:
    return db.session.scalar(sa.select(Case).where(Case.case_ref == case_ref))


# --- alerts -------------------------------------------------------------------------------

def deadline_hours() -> dict[str, float]:
    """Hours to the door-to-door check per level, from the settings (ALERT_DEADLINE_HOURS)."""
    return rules.deadline_hours(current_app.config.get("ALERT_DEADLINE_HOURS"))


def open_alert_of(case: Case) -> Alert | None:
    return db.session.scalar(sa.select(Alert).where(Alert.case_id == case.id, Alert.cleared_at.is_(None)))


def issue_alert(case: Case, level: AlertLevel | str, issued_at: datetime, note: str = "",
                now: datetime | None = None) -> Alert:
    """Record an alert; its deadline is fixed now from the settings. It supersedes an open one."""
    level = AlertLevel(level)
    now = now or utcnow()
    current = open_alert_of(case) if case.id is not None else None
    if current is not None:
        _supersede(current, level, now)
    alert = Alert(case=case, level=level, issued_at=issued_at,
                  due_at=rules.due_at(level.value, issued_at, deadline_hours()), note=note)
    db.session.add(alert)
    db.session.flush()
    return alert


def _supersede(current: Alert, level: AlertLevel, now: datetime) -> None:
    current.cleared_at = max(now, current.issued_at)
    current.clear_note = f"已被{rules.ALERT_WORDS[level.value]}预警取代"
    # The open alert must close before the new one opens (one open alert per household).
    db.session.flush()


def clear_alert(alert: Alert, note: str, *, user: User | None = None, record_id: int | None = None,
                at: datetime | None = None) -> None:
    """Close an open alert: by the service record of its check, or by an officer who says why."""
    if alert.cleared_at is not None:
        raise CaseError("该预警已解除", "the alert is no longer open")
    note = (note or "").strip()
    if record_id is None and len(note) < 2:
        raise CaseError("请说明解除预警的依据", "say why the alert is cleared")
    alert.cleared_at = max(at or utcnow(), alert.issued_at)
    alert.cleared_by_record_id = record_id
    alert.cleared_by_id = user.id if user is not None else None
    alert.clear_note = note or None
    db.session.flush()
    audit.record(events.AlertCleared(alert_id=alert.id, case_id=alert.case_id, level=alert.level.value,
                                     record_id=record_id, note=note, after_deadline=alert.cleared_late))


# --- import -------------------------------------------------------------------------------

def _load(column, values, *options) -> list[Case]:
    found: list[Case] = []
    for chunk in _chunks(sorted(set(values))):
        found.extend(db.session.scalars(sa.select(Case).where(column.in_(chunk)).options(*options)))
    return found


def _assign(obj, values: dict) -> list[str]:
    changed = []
    for key, value in values.items():
        if getattr(obj, key) != value:
            setattr(obj, key, value)
            changed.append(key)
    return changed


def set_categories(case: Case, codes: Iterable[str]) -> bool:
    """Make the household's categories exactly ``codes``; True when they changed."""
    wanted = {Category(c) for c in codes}
    have = {row.category for row in case.category_rows}
    if wanted == have:
        return False
    case.category_rows = [row for row in case.category_rows if row.category in wanted] + [
        CaseCategory(category=c) for c in Category if c in wanted - have]
    return True


def _apply_row(case: Case, v: dict, village_id: int, on: date) -> list[str]:
    """Update a known household from its import row; return what changed."""
    values = {"head_name": v["head_name"], "head_id_number": v["id_number"], "village_id": village_id,
              "household_size": v["household_size"]}
    if v["lat"] is not None:  # an empty position in the file leaves a known one alone
        values.update(lat=v["lat"], lon=v["lon"])
    changed = _assign(case, values)
    status = CaseStatus(v["status"] or "active")
    if case.status is not status:
        case.status, case.status_changed_on = status, v["status_changed_on"] or on
        changed.append("status")
    elif v["status_changed_on"] is not None and v["status_changed_on"] != case.status_changed_on:
        case.status_changed_on = v["status_changed_on"]
        changed.append("status_changed_on")
    if set_categories(case, v["categories"]):
        changed.append("categories")
    return changed


def import_cases(data: bytes, *, filename: str = "", encoding: str = "utf-8", partial: bool = False,
                 now: datetime | None = None) -> ImportReport:
    """``cases import`` of the interchange spec: matched on case_ref, all-or-nothing unless ``partial``.

    A household already known is updated (and counted) only when something changed; a
    discovered household named by its official number in the file takes that number. See
    ``rules`` for what the alert columns do.
    """
    report = ImportReport()
    try:
        rows, errors = read_table(data, rules.COLUMNS, encoding=encoding, filename=filename)
    except TableError as exc:
        report.errors = exc.errors
        return report
    now = now or utcnow()
    on = now.astimezone(LOCAL_TZ).date()

    codes = {r.values["village_code"] for r in rows}
    villages: dict[str, tuple[int, str]] = {}
    for chunk in _chunks(codes):
        for region_id, code, level in db.session.execute(
                sa.select(Region.id, Region.code, Region.level).where(Region.code.in_(chunk))):
            villages[code] = (region_id, level.value)
    existing = {c.case_ref: c for c in _load(Case.case_ref, (r.values["case_ref"] for r in rows),
                                             selectinload(Case.category_rows))}
    holders = [c for c in _load(Case.head_id_number, (r.values["id_number"] for r in rows),
                                selectinload(Case.category_rows))
               if c.discovery_status is not DiscoveryStatus.DISMISSED]
    checked = rules.check_rows(
        rows, village_levels={code: level for code, (_id, level) in villages.items()},
        id_owners={c.head_id_number: rules.IdOwner(c.case_ref, c.origin is Origin.DISCOVERED) for c in holders},
        known_refs=existing, today=on, now=now)
    report.errors = sorted(errors + checked.errors, key=lambda e: (e.row, e.column or ""))
    report.rejected = len({e.row for e in report.errors})
    if report.errors and not partial:
        return report

    discovered = {c.case_ref: c for c in holders if c.origin is Origin.DISCOVERED}
    touched_ids = [c.id for c in existing.values()] + [discovered[ref].id for ref in checked.adopt.values()]
    alerts_of: dict[int, list[Alert]] = defaultdict(list)
    for chunk in _chunks(touched_ids):
        for alert in db.session.scalars(sa.select(Alert).where(Alert.case_id.in_(chunk))):
            alerts_of[alert.case_id].append(alert)

    hours = deadline_hours()
    base = os.path.basename(filename) or "—"
    issued, lifted, new_alerts, new_rows = 0, 0, [], []
    for row in checked.good:
        v = row.values
        case = existing.get(v["case_ref"])
        provisional = checked.adopt.get(row.number)
        if case is None and provisional is not None:
            case = discovered[provisional]
            case.case_ref = v["case_ref"]
        if case is None:
            new_rows.append(v)
            continue
        changed = _apply_row(case, v, villages[v["village_code"]][0], on)
        if provisional is not None:
            confirmed = case.discovery_status is DiscoveryStatus.PENDING
            if confirmed:
                case.discovery_status, case.reviewed_at = DiscoveryStatus.CONFIRMED, now
                case.review_reason = f"已列入救助系统（导入文件 {base}，户编号 {case.case_ref}）"
            db.session.flush()
            audit.record(events.DiscoveryImported(case_id=case.id, provisional_ref=provisional,
                                                  case_ref=case.case_ref, confirmed=confirmed))

        known = alerts_of.get(case.id, [])
        current = next((a for a in known if a.cleared_at is None), None)
        action = rules.alert_action(
            v["alert_level"], v["alert_issued_at"], known={(a.level.value, a.issued_at) for a in known},
            latest_issued_at=max((a.issued_at for a in known), default=None),
            open_level=current.level.value if current else None)
        if action == rules.LIFT:
            current.cleared_at = max(now, current.issued_at)
            current.clear_note = f"监测系统已解除预警（导入文件 {base}）"
            lifted += 1
        elif action == rules.ISSUE:
            level = AlertLevel(v["alert_level"])
            if current is not None:
                _supersede(current, level, now)
            alert = Alert(case=case, level=level, issued_at=v["alert_issued_at"],
                          due_at=rules.due_at(level.value, v["alert_issued_at"], hours))
            db.session.add(alert)
            new_alerts.append(alert)
            issued += 1
        if changed or action != rules.KEEP or provisional is not None:
            report.updated += 1
    db.session.flush()
    new_alerts.extend(_insert_new(new_rows, villages, hours))
    issued += sum(1 for v in new_rows if v["alert_level"] in rules.ALERT_RANK)
    report.imported = len(new_rows)
    report.written = True
    audit.record(events.CasesImported(filename=filename, sha256=hashlib.sha256(data).hexdigest(),
                                      imported=report.imported, updated=report.updated, rejected=report.rejected,
                                      alerts_issued=issued, alerts_lifted=lifted))
    announce_alerts(new_alerts)
    return report


def _insert_new(rows: list[dict], villages: dict[str, tuple[int, str]], hours: dict) -> list[Alert]:
    """Write households the platform did not know with plain executemany inserts: at
    province scale the ORM's per-object work would take minutes. Returns their alerts."""
    if not rows:
        return []
    db.session.execute(Case.__table__.insert(), [
        {"case_ref": v["case_ref"], "head_name": v["head_name"], "head_id_number": v["id_number"],
         "village_id": villages[v["village_code"]][0], "household_size": v["household_size"],
         "status": CaseStatus(v["status"] or "active"), "status_changed_on": v["status_changed_on"],
         "lat": v["lat"], "lon": v["lon"], "origin": Origin.IMPORTED} for v in rows])
    id_of: dict[str, int] = {}
    for chunk in _chunks(v["case_ref"] for v in rows):
        id_of.update(db.session.execute(sa.select(Case.case_ref, Case.id).where(Case.case_ref.in_(chunk))).all())
    db.session.execute(CaseCategory.__table__.insert(), [
        {"case_id": id_of[v["case_ref"]], "category": Category(c)} for v in rows for c in v["categories"]])
    alerting = [v for v in rows if v["alert_level"] in rules.ALERT_RANK]
    if not alerting:
        return []
    db.session.execute(Alert.__table__.insert(), [
        {"case_id": id_of[v["case_ref"]], "level": AlertLevel(v["alert_level"]), "issued_at": v["alert_issued_at"],
         "due_at": rules.due_at(v["alert_level"], v["alert_issued_at"], hours), "note": ""} for v in alerting])
    found: list[Alert] = []
    for chunk in _chunks(id_of[v["case_ref"]] for v in alerting):
        found.extend(db.session.scalars(sa.select(Alert).where(Alert.case_id.in_(chunk), Alert.cleared_at.is_(None))))
    return found


# --- who serves where ------------------------------------------------------------------

def provider_villages(provider: Provider) -> set[int]:
    """Village ids of the provider's service area; empty until the contracts domain registers its scope."""
    hook = current_app.extensions.get(CASE_SCOPE_HOOK)
    scope = hook(ScopeSubject(provider.organisation_id)) if hook is not None else None
    if scope is None:
        return set()
    if isinstance(scope, sa.sql.ClauseElement):
        return set(db.session.scalars(sa.select(Case.village_id).where(scope).distinct()))
    return set(scope)


def _provider_people(provider: Provider) -> list[int]:
    return db.session.scalars(sa.select(User.id).where(
        User.organisation_id == provider.organisation_id, User.role == Role.PROVIDER_MANAGER,
        User.is_enabled.is_(True))).all()


def _providers_concerned(alerts: list[Alert]) -> dict[Provider, list[Alert]]:
    """The providers whose area (or own discovery) holds each alert's household."""
    concerned: dict[Provider, list[Alert]] = defaultdict(list)
    if not alerts:
        return concerned
    for provider in db.session.scalars(sa.select(Provider)):
        area = provider_villages(provider)
        for alert in alerts:
            if alert.case.village_id in area or alert.case.discovered_by_provider_id == provider.id:
                concerned[provider].append(alert)
    return concerned


def announce_alerts(alerts: list[Alert]) -> None:
    """Tell each provider of the new alerts in its area: the check is due within hours."""
    for provider, mine in _providers_concerned(alerts).items():
        first = min(a.due_at for a in mine).astimezone(LOCAL_TZ)
        notifications.notify(_provider_people(provider), "alert.issued",
                             f"服务区域内新增监测预警 {len(mine)} 条，最早须于 {first:%m月%d日 %H:%M} 前入户核查",
                             "、".join(f"{a.case.village.name} {a.case.head_name}（{rules.ALERT_WORDS[a.level.value]}）"
                                      for a in mine[:20]),
                             link="/cases/alerts")


def overdue_alerts_to_announce(now: datetime) -> list[Alert]:
    return db.session.scalars(sa.select(Alert).where(
        Alert.cleared_at.is_(None), Alert.due_at < now, Alert.overdue_notified_at.is_(None))
        .order_by(Alert.due_at)).all()


def announce_overdue(now: datetime) -> int:
    """Tell officers and the providers concerned, once, of alerts whose check is overdue."""
    alerts = overdue_alerts_to_announce(now)
    if not alerts:
        return 0
    for alert in alerts:
        alert.overdue_notified_at = now

    def lines(items):
        return "\n".join(f"{a.case.case_ref} {a.case.village.name} {a.case.head_name}："
                         f"{rules.ALERT_WORDS[a.level.value]}预警，应于 {a.due_at.astimezone(LOCAL_TZ):%Y-%m-%d %H:%M} 前核查"
                         for a in items[:30])

    notifications.notify_roles((Role.OFFICER,), "alert.overdue",
                               f"{len(alerts)} 条监测预警已超过入户核查时限", lines(alerts),
                               link="/cases/alerts?state=overdue")
    for provider, mine in _providers_concerned(alerts).items():
        notifications.notify(_provider_people(provider), "alert.overdue",
                             f"服务区域内 {len(mine)} 条监测预警已超过入户核查时限", lines(mine),
                             link="/cases/alerts?state=overdue")
    db.session.flush()
    return len(alerts)


# --- active discovery (section 十一) ----------------------------------------------------------

@dataclass(frozen=True)
class Discovery:
    """What a worker records about a household in need that the registry does not know."""

    head_name: str
    village_id: int
    household_size: int
    #: The difficulty the worker saw and why the household needs help.
    need: str
    id_number: str | None = None
    categories: tuple[str, ...] = ()
    address: str | None = None
    lat: float | None = None
    lon: float | None = None


def _registered_head(id_number: str) -> Case | None:
    return db.session.scalar(sa.select(Case).where(Case.head_id_number == id_number, _in_registry()))


def discover_case(d: Discovery, user: User, now: datetime | None = None) -> Case:
    """Record a household found by a provider's worker: it waits for an officer's confirmation."""
    if not user.role.is_provider:
        raise CaseError("只有承接主体人员可以上报新发现的困难家庭", "only a provider's people report discoveries")
    provider = providers.provider_of_user(user)
    if provider is None:
        raise CaseError("您的账号不属于任何已登记的承接主体", "your account belongs to no registered provider")
    name = (d.head_name or "").strip()
    if not name or len(name) > 50:
        raise CaseError("请填写户主姓名（最长 50 个字）", "the head's name is required (at most 50 characters)")
    number = None
    if d.id_number and d.id_number.strip():
        try:
            number = idnumber.validate(d.id_number)
        except idnumber.IdNumberError as exc:
            raise CaseError(exc.zh, exc.en) from None
    village = db.session.get(Region, d.village_id)
    if village is None or village.level is not Level.VILLAGE:
        raise CaseError("请选择所在村", "choose the village")
    if d.household_size is None or d.household_size < 1:
        raise CaseError("家庭人口至少为 1", "a household has at least one person")
    need = (d.need or "").strip()
    if len(need) < 4:
        raise CaseError("请写明该户的困难情况（至少 4 个字）", "describe the household's difficulty (4 characters or more)")
    if (d.lat is None) != (d.lon is None):
        raise CaseError("纬度和经度须同时填写", "lat and lon go together")
    if d.lat is not None and not (-90 <= d.lat <= 90 and -180 <= d.lon <= 180):
        raise CaseError("位置超出范围", "the position is out of range")
    _lock_discoveries()
    if number:
        known = _registered_head(number)
        if known is not None:
            if known.visible_to(user):
                raise CaseError(f"该户已在救助对象名册中（户编号 {known.case_ref}），无需重复上报",
                                f"this household is already in the registry as {known.case_ref}")
            raise CaseError("该户已在救助对象名册中，无需重复上报", "this household is already in the registry")
    staff = db.session.scalar(sa.select(Staff).where(
        Staff.user_id == user.id, Staff.provider_id == provider.id, Staff.left_on.is_(None)))
    now = now or utcnow()
    case = Case(head_name=name, head_id_number=number, village=village, address=(d.address or "").strip() or None,
                household_size=d.household_size, status=CaseStatus.ACTIVE, lat=d.lat, lon=d.lon,
                origin=Origin.DISCOVERED, discovery_status=DiscoveryStatus.PENDING, discovered_by_provider=provider,
                discovered_by_user_id=user.id, discovered_by_staff=staff, discovered_at=now, discovery_note=need)
    set_categories(case, d.categories)
    _insert_with_provisional_ref(case, now)
    audit.record(events.CaseDiscovered(case_id=case.id, case_ref=case.case_ref, provider_id=provider.id,
                                       staff_id=staff.id if staff else None, village_code=village.code))
    notifications.notify_roles((Role.OFFICER,), "case.discovered",
                               f"{provider.name} 上报新发现困难家庭：{village.name} {name}，待确认",
                               need[:500], link=f"/cases/{case.id}")
    return case


def _lock_discoveries() -> None:
    """Serialise discoveries: SQLite writers already queue (BEGIN IMMEDIATE); PostgreSQL takes a lock."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_DISCOVERY_LOCK})


def _insert_with_provisional_ref(case: Case, now: datetime) -> None:
    """Give the household the day's next FX number (discoveries are serialised, see above).

    No savepoint here on purpose: releasing one counts as a commit for the notification
    queue, which would mark earlier messages of the request as deliverable.
    """
    day = now.astimezone(LOCAL_TZ).date()
    prefix = rules.provisional_ref(day, 0)[:-4]
    last = db.session.scalar(sa.select(sa.func.max(Case.case_ref)).where(Case.case_ref.like(prefix + "____")))
    sequence = int(last[-4:]) + 1 if last and last[-4:].isdigit() else 1
    case.case_ref = rules.provisional_ref(day, sequence)
    db.session.add(case)
    db.session.flush()


def review_discovery(case: Case, confirm: bool, reason: str, user: User, now: datetime | None = None) -> None:
    """The officer confirms a discovered household into the registry, or dismisses it with a reason."""
    if case.origin is not Origin.DISCOVERED:
        raise CaseError("只有主动发现的家庭需要确认", "only discovered households are confirmed")
    if case.discovery_status is not DiscoveryStatus.PENDING:
        raise CaseError("该户已确认或已排除", "the discovery has been reviewed")
    reason = (reason or "").strip()
    if not confirm and len(reason) < 2:
        raise CaseError("不予确认时须写明理由", "a dismissal needs a reason")
    case.discovery_status = DiscoveryStatus.CONFIRMED if confirm else DiscoveryStatus.DISMISSED
    case.reviewed_by, case.reviewed_at, case.review_reason = user, now or utcnow(), reason or None
    db.session.flush()
    audit.record(events.DiscoveryReviewed(case_id=case.id, case_ref=case.case_ref,
                                          provider_id=case.discovered_by_provider_id,
                                          decision=case.discovery_status.value, reason=reason))
    people = set(_provider_people(case.discovered_by_provider))
    if case.discovered_by_user_id:
        people.add(case.discovered_by_user_id)
    word = "已确认纳入名册" if confirm else "未予确认"
    notifications.notify(sorted(people), "case.discovery_reviewed",
                         f"上报的困难家庭 {case.village.name} {case.head_name} {word}", reason,
                         link=f"/cases/{case.id}")


def discovery_counts(provider_ids: Iterable[int] | None = None) -> dict[int, dict[str, int]]:
    """Discoveries per provider and state: what the discovery counts for each provider."""
    query = (sa.select(Case.discovered_by_provider_id, Case.discovery_status, sa.func.count())
             .where(Case.origin == Origin.DISCOVERED)
             .group_by(Case.discovered_by_provider_id, Case.discovery_status))
    if provider_ids is not None:
        query = query.where(Case.discovered_by_provider_id.in_(list(provider_ids)))
    counts: dict[int, dict[str, int]] = defaultdict(lambda: {s.value: 0 for s in DiscoveryStatus})
    for provider_id, status, n in db.session.execute(query):
        counts[provider_id][status.value] = n
    return dict(counts)


# --- members and ID numbers ----------------------------------------------------------------

def add_member(case: Case, name: str, relation: MemberRelation | str, id_number: str | None = None,
               birth_year: int | None = None) -> CaseMember:
    name = (name or "").strip()
    if not name or len(name) > 50:
        raise CaseError("请填写姓名（最长 50 个字）", "the name is required (at most 50 characters)")
    number = None
    if id_number and id_number.strip():
        try:
            number = idnumber.validate(id_number)
        except idnumber.IdNumberError as exc:
            raise CaseError(exc.zh, exc.en) from None
        if number == case.head_id_number:
            raise CaseError("这是户主本人的身份证号", "this is the head's own ID number")
        if any(m.id_number == number for m in case.members):
            raise CaseError("该成员已登记", "this member is already recorded")
        born = idnumber.birth_date(number).year
        if birth_year is not None and birth_year != born:
            raise CaseError(f"出生年份与身份证号不符（身份证号为 {born} 年）",
                            f"the birth year does not match the ID number ({born})")
        birth_year = born
    if birth_year is not None and not (1900 <= birth_year <= today().year):
        raise CaseError("出生年份无效", "the birth year is invalid")
    member = CaseMember(case=case, name=name, relation=MemberRelation(relation), id_number=number,
                        birth_year=birth_year)
    db.session.add(member)
    db.session.flush()
    audit.record(events.CaseMemberAdded(case_id=case.id, member_id=member.id, relation=member.relation.value))
    return member


def reveal_id_number(case: Case, reason: str, member: CaseMember | None = None) -> str:
    """The full ID number of the head (or a member), for an officer who says why; audited."""
    reason = (reason or "").strip()
    if len(reason) < 2:
        raise CaseError("请说明查看完整身份证号的理由", "a reason is required to reveal an ID number")
    number = member.id_number if member is not None else case.head_id_number
    if not number:
        raise CaseError("没有登记身份证号", "no ID number is recorded")
    audit.record(events.CaseIdNumberRevealed(case_id=case.id, member_id=member.id if member else None,
                                             reason=reason[:200]))
    return number


# --- lists -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class CaseFilter:
    q: str = ""
    category: str = ""
    status: str = ""
    #: "" (any), "open", "overdue", "none" or a level
    alert: str = ""
    township_id: int | None = None
    #: "" (the registry: all but dismissed discoveries), "imported", or a discovery state
    discovery: str = ""


def case_query(user: User, f: CaseFilter, now: datetime | None = None) -> sa.Select:
    """The cases ``user`` may see that match ``f``, in case_ref order."""
    query = sa.select(Case).join(Case.village).where(Case.visible_filter(user))
    if f.q:
        text = f.q.strip()
        query = query.where(sa.or_(Case.head_name.contains(text, autoescape=True),
                                   Case.case_ref.contains(text, autoescape=True),
                                   Region.name.contains(text, autoescape=True)))
    if f.category in {c.value for c in Category}:
        query = query.where(sa.exists().where(CaseCategory.case_id == Case.id,
                                              CaseCategory.category == Category(f.category)))
    if f.status in {s.value for s in CaseStatus}:
        query = query.where(Case.status == CaseStatus(f.status))
    open_alert = sa.exists().where(Alert.case_id == Case.id, Alert.cleared_at.is_(None))
    if f.alert == "open":
        query = query.where(open_alert)
    elif f.alert == "none":
        query = query.where(~open_alert)
    elif f.alert == "overdue":
        query = query.where(sa.exists().where(Alert.case_id == Case.id, Alert.cleared_at.is_(None),
                                              Alert.due_at < (now or utcnow())))
    elif f.alert in {lv.value for lv in AlertLevel}:
        query = query.where(sa.exists().where(Alert.case_id == Case.id, Alert.cleared_at.is_(None),
                                              Alert.level == AlertLevel(f.alert)))
    if f.township_id:
        query = query.where(Region.parent_id == f.township_id)
    if f.discovery == "imported":
        query = query.where(Case.origin == Origin.IMPORTED)
    elif f.discovery in {s.value for s in DiscoveryStatus}:
        query = query.where(Case.discovery_status == DiscoveryStatus(f.discovery))
    else:
        query = query.where(_in_registry())
    return query.order_by(Case.case_ref).options(
        selectinload(Case.category_rows), selectinload(Case.village).selectinload(Region.parent))


def open_alerts(case_ids: Iterable[int]) -> dict[int, Alert]:
    found: dict[int, Alert] = {}
    for chunk in _chunks(case_ids):
        for alert in db.session.scalars(sa.select(Alert).where(Alert.case_id.in_(chunk), Alert.cleared_at.is_(None))):
            found[alert.case_id] = alert
    return found


def alert_query(user: User, state: str = "open", level: str = "", now: datetime | None = None) -> sa.Select:
    """Alerts of the cases ``user`` may see; open ones by due time, soonest (most overdue) first."""
    now = now or utcnow()
    query = sa.select(Alert).join(Alert.case).where(Case.visible_filter(user))
    if level in {lv.value for lv in AlertLevel}:
        query = query.where(Alert.level == AlertLevel(level))
    if state == "cleared":
        return query.where(Alert.cleared_at.is_not(None)).order_by(Alert.cleared_at.desc(), Alert.id.desc())
    if state == "overdue":
        query = query.where(Alert.cleared_at.is_(None), Alert.due_at < now)
    elif state != "all":
        query = query.where(Alert.cleared_at.is_(None))
    return query.order_by(Alert.cleared_at.is_not(None), Alert.due_at, Alert.id).options(
        selectinload(Alert.case).selectinload(Case.village))


def alert_counts(user: User, now: datetime | None = None) -> dict[str, int]:
    """Open alerts per level, and how many are overdue, among the cases ``user`` may see."""
    now = now or utcnow()
    base = sa.select(Alert.level, sa.func.count()).join(Alert.case).where(
        Case.visible_filter(user), Alert.cleared_at.is_(None))
    counts = {lv.value: 0 for lv in AlertLevel}
    for level, n in db.session.execute(base.group_by(Alert.level)):
        counts[level.value] = n
    counts["overdue"] = db.session.scalar(
        sa.select(sa.func.count()).select_from(Alert).join(Alert.case).where(
            Case.visible_filter(user), Alert.cleared_at.is_(None), Alert.due_at < now))
    return counts


def discovery_query(user: User, status: str = "") -> sa.Select:
    """Discovered households ``user`` may see: those waiting first, oldest first."""
    query = sa.select(Case).where(Case.origin == Origin.DISCOVERED, Case.visible_filter(user))
    if status in {s.value for s in DiscoveryStatus}:
        query = query.where(Case.discovery_status == DiscoveryStatus(status))
    waiting_first = sa.case((Case.discovery_status == DiscoveryStatus.PENDING, 0), else_=1)
    return query.order_by(waiting_first, Case.discovered_at.desc(), Case.id.desc()).options(
        selectinload(Case.village), selectinload(Case.discovered_by_provider), selectinload(Case.category_rows))


def with_page_relations(case: Case) -> Case:
    """The household with what its page shows of it — village and township, categories,
    members, alerts and who cleared them — loaded in four statements, not one per relation."""
    return db.session.scalars(sa.select(Case).where(Case.id == case.id).options(
        sa.orm.joinedload(Case.village).joinedload(Region.parent), selectinload(Case.category_rows),
        selectinload(Case.members), selectinload(Case.alerts).joinedload(Alert.cleared_by))).one()


def townships() -> list[Region]:
    return db.session.scalars(sa.select(Region).where(Region.level == Level.TOWNSHIP).order_by(Region.code)).all()


def villages_by_township() -> list[tuple[Region, list[Region]]]:
    regions = db.session.scalars(sa.select(Region).where(Region.level.in_([Level.TOWNSHIP, Level.VILLAGE]))
                                 .order_by(Region.code)).all()
    children: dict[int, list[Region]] = defaultdict(list)
    for r in regions:
        if r.level is Level.VILLAGE:
            children[r.parent_id].append(r)
    return [(t, children[t.id]) for t in regions if t.level is Level.TOWNSHIP and children[t.id]]


# --- relations: staff who are, or may be related to, households served (section 九) --------------

def _match_villages(provider: Provider) -> set[int]:
    """Villages where a namesake of a head is worth a look: the provider's service area, or
    (until contracts say) the villages of the households it discovered."""
    area = provider_villages(provider)
    if area:
        return area
    return set(db.session.scalars(sa.select(Case.village_id).where(
        Case.discovered_by_provider_id == provider.id).distinct()))


def _case_household_matches(staff_rows: list[Staff]) -> list[providers.Match]:
    """Active staff who are a household's head or member (same ID number), or who share a
    head's name in a village their provider serves."""
    matches: list[providers.Match] = []
    by_number: dict[str, list[Staff]] = defaultdict(list)
    for s in staff_rows:
        by_number[s.id_number].append(s)
    for chunk in _chunks(by_number):
        for case in db.session.scalars(sa.select(Case).where(Case.head_id_number.in_(chunk), _in_registry())
                                       .options(selectinload(Case.village))):
            for s in by_number[case.head_id_number]:
                matches.append(providers.Match(
                    s, RelationKind.CASE_HOUSEHOLD, case.head_name, f"户编号 {case.case_ref} · {case.village.name}",
                    "本人即救助对象户主（身份证号相同）", f"case:{s.id}:head:{case.id}"))
        for member in db.session.scalars(sa.select(CaseMember).join(CaseMember.case).where(
                CaseMember.id_number.in_(chunk), _in_registry()).options(selectinload(CaseMember.case))):
            for s in by_number[member.id_number]:
                matches.append(providers.Match(
                    s, RelationKind.CASE_HOUSEHOLD, member.name,
                    f"户编号 {member.case.case_ref} · 户主 {member.case.head_name}",
                    "本人是救助对象家庭成员（身份证号相同）", f"case:{s.id}:member:{member.id}"))

    by_provider: dict[int, list[Staff]] = defaultdict(list)
    for s in staff_rows:
        by_provider[s.provider_id].append(s)
    for provider_id, staff in by_provider.items():
        villages = _match_villages(db.session.get(Provider, provider_id))
        names: dict[str, list[Staff]] = defaultdict(list)
        for s in staff:
            names[s.name].append(s)
        for chunk in _chunks(villages):
            for case in db.session.scalars(sa.select(Case).where(
                    Case.village_id.in_(chunk), Case.head_name.in_(list(names)), _in_registry())
                    .options(selectinload(Case.village))):
                for s in names[case.head_name]:
                    if s.id_number == case.head_id_number:
                        continue  # the same person: matched above by the ID number
                    matches.append(providers.Match(
                        s, RelationKind.CASE_HOUSEHOLD, case.head_name,
                        f"户编号 {case.case_ref} · {case.village.name}",
                        "与服务区域内救助对象户主同名同村", f"case:{s.id}:name:{case.id}"))
    return matches


if _case_household_matches not in providers.MATCHERS:
    providers.MATCHERS.append(_case_household_matches)
