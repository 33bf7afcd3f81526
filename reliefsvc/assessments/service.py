"""Assessment standards, periodic assessments and field inspections.

Later issues read ``signed_assessments(contract, day_from, day_to)`` (payments, the annual
evaluation). Everything here flushes; the request, job or command commits.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa

from reliefsvc import audit
from reliefsvc.assessments import events, rules
from reliefsvc.assessments.models import (
    Assessment,
    AssessmentComment,
    AssessmentScore,
    AssessmentStatus,
    ContractStandard,
    Inspection,
    InspectionFinding,
    InspectionPhoto,
    Method,
    Standard,
    StandardIndicator,
    StandardSection,
    StandardStatus,
)
from reliefsvc.common.errors import BilingualError
from reliefsvc.common.formatting import LOCAL_TZ, today_local
from reliefsvc.contracts.models import Contract, ContractStatus
from reliefsvc.contracts.rules import months_between
from reliefsvc.db import utcnow
from reliefsvc.extensions import db
from reliefsvc.notifications import service as notifications
from reliefsvc.providers.models import Provider
from reliefsvc.security.models import BUREAU_ROLES, Role, User

DEFAULT_CODE = "KL-KH"
DEFAULT_COMMENT_DAYS = 14
MAX_EVIDENCE_BYTES = 15 * 1024 * 1024


class AssessmentError(BilingualError):
    pass


# --- the default standard -------------------------------------------------------------------
#
# Weights as county and prefecture civil-affairs and finance bureaus publish them for
# purchased social-assistance services (项目管理 / 服务数量 / 服务质量 / 服务对象满意度 /
# 资金使用, 20/25/30/15/10), with the data-driven indicators this platform can compute.

DEFAULT_RUBRIC = [
    ("项目管理", 20, [
        ("制度建设与服务台账管理", 6, "entered", None, None, None, None,
         "查阅管理制度、服务台账、人员考勤，制度健全、台账完整得满分，缺一项扣1分"),
        ("人员配备与业务培训", 4, "entered", None, None, None, None,
         "按合同配备专职人员并开展业务培训，人员不足或未培训酌情扣分"),
        ("整改按期完成率", 5, "computed", "rectifications_on_time", "1", "0.5", None,
         "本期到期的整改项按期完成的比例：100%得满分，50%及以下不得分"),
        ("实地考察发现问题", 5, "deduction", "inspection_finding", None, None, "1",
         "实地考察每发现一项需扣分的问题扣1分，扣完为止"),
    ]),
    ("服务数量", 25, [
        ("服务义务完成率", 15, "computed", "obligation_completion", "1", "0.6", None,
         "按合同服务义务计算：完成100%得满分，60%及以下不得分，其间按比例"),
        ("监测预警按时核查率", 10, "computed", "alert_checks_on_time", "1", "0.7", None,
         "本期到期的监测预警按时入户核查的比例：100%得满分，70%及以下不得分"),
    ]),
    ("服务质量", 30, [
        ("服务记录审核通过率", 8, "computed", "accepted_share", "0.98", "0.8", None,
         "审核通过的服务记录占已审核记录的比例：98%以上得满分，80%及以下不得分"),
        ("随机抽查确认率", 8, "computed", "spotcheck_confirmation", "1", "0.8", None,
         "随机抽查确认属实的比例：100%得满分，80%及以下不得分；本期无抽查不扣分"),
        ("每百条记录疑点数", 6, "computed", "flags_per_hundred", "2", "20", None,
         "数据核查疑点（未排除）每百条记录：2个以下得满分，20个及以上不得分"),
        ("抽查否定扣分", 4, "deduction", "refuted_spot_check", None, None, "1",
         "每条经抽查否定（未提供服务）的记录扣1分，扣完为止"),
        ("红色预警漏查扣分", 4, "deduction", "missed_red_alert", None, None, "2",
         "每条未按时入户核查的红色预警扣2分，扣完为止"),
    ]),
    ("服务对象满意度", 15, [
        ("服务对象满意度测评", 15, "entered", None, None, None, None,
         "按电话回访或入户问卷的满意率评分：95%以上满分，每低1个百分点扣0.5分"),
    ]),
    ("资金使用", 10, [
        ("资金使用规范性", 10, "entered", None, None, None, None,
         "查阅资金使用报告和凭证：专款专用、支出合规得满分；挤占挪用的不得分"),
    ]),
]


def _new_standard(code: str, name: str, version: int, by_user, based_on=None) -> Standard:
    standard = Standard(code=code, name=name, version=version, status=StandardStatus.DRAFT, created_by=by_user,
                        created_at=utcnow(), based_on=based_on)
    db.session.add(standard)
    return standard


def default_standard(by_user=None) -> Standard:
    """The newest published version of the default standard, created on first use."""
    found = db.session.scalar(sa.select(Standard).where(Standard.code == DEFAULT_CODE,
                                                        Standard.status == StandardStatus.PUBLISHED)
                              .order_by(Standard.version.desc()).limit(1))
    if found is not None:
        return found
    version = (db.session.scalar(sa.select(sa.func.max(Standard.version)).where(Standard.code == DEFAULT_CODE))
               or 0) + 1
    standard = _new_standard(DEFAULT_CODE, "购买社会救助服务项目考核评分标准", version, by_user)
    for position, (name, points, indicators) in enumerate(DEFAULT_RUBRIC):
        section = StandardSection(standard=standard, position=position, name=name, points=Decimal(points))
        db.session.add(section)
        for i, (iname, maxp, method, source, full, zero, per, guide) in enumerate(indicators):
            section.indicators.append(StandardIndicator(
                standard=standard, position=i, name=iname, max_points=Decimal(maxp), method=Method(method),
                source=source, full_at=Decimal(full) if full else None, zero_at=Decimal(zero) if zero else None,
                per_event=Decimal(per) if per else None, guidance=guide))
    db.session.flush()
    publish(standard, by_user)
    return standard


# --- editing standards ------------------------------------------------------------------------

def _editable(standard: Standard) -> None:
    if standard.status is not StandardStatus.DRAFT:
        raise AssessmentError("已发布的考核标准不能修改，请另建新版本",
                              "a published standard cannot change; make a new version")


def _decimal(value, field: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise AssessmentError("请填写数字", "please enter a number", field) from exc
    if not number.is_finite():
        raise AssessmentError("请填写数字", "please enter a number", field)
    return number


def new_version(standard: Standard, by_user) -> Standard:
    """A draft copy of ``standard`` with the next version number of its code."""
    version = db.session.scalar(sa.select(sa.func.max(Standard.version)).where(Standard.code == standard.code)) + 1
    copy = _new_standard(standard.code, standard.name, version, by_user, based_on=standard)
    copy.excellent_from, copy.good_from, copy.pass_from = (standard.excellent_from, standard.good_from,
                                                           standard.pass_from)
    for section in standard.sections:
        new_section = StandardSection(standard=copy, position=section.position, name=section.name,
                                      points=section.points)
        db.session.add(new_section)
        for i in section.indicators:
            new_section.indicators.append(StandardIndicator(
                standard=copy, position=i.position, name=i.name, max_points=i.max_points, method=i.method,
                source=i.source, full_at=i.full_at, zero_at=i.zero_at, per_event=i.per_event, guidance=i.guidance))
    db.session.flush()
    audit.record(events.StandardSaved(standard_id=copy.id, code=copy.code, version=copy.version,
                                      change=f"new version from {standard.id}"), actor=by_user)
    return copy


def add_section(standard: Standard, name: str, points, by_user) -> StandardSection:
    _editable(standard)
    name = (name or "").strip()
    points = _decimal(points, "points")
    if not name or points <= 0:
        raise AssessmentError("请填写部分名称和分值", "please give the section's name and points", "name")
    section = StandardSection(standard=standard, name=name, points=points,
                              position=len(standard.sections))
    db.session.add(section)
    db.session.flush()
    audit.record(events.StandardSaved(standard_id=standard.id, code=standard.code, version=standard.version,
                                      change=f"+ section {name} {points}"), actor=by_user)
    return section


def add_indicator(section: StandardSection, name: str, max_points, method: str, source: str | None,
                  full_at=None, zero_at=None, per_event=None, guidance: str = "", by_user=None) -> StandardIndicator:
    standard = section.standard
    _editable(standard)
    name = (name or "").strip()
    max_points = _decimal(max_points, "max_points")
    if not name or max_points <= 0:
        raise AssessmentError("请填写指标名称和满分", "please give the indicator's name and maximum points", "name")
    method = Method(method)
    indicator = StandardIndicator(section=section, standard=standard, name=name, max_points=max_points,
                                  method=method, guidance=(guidance or "").strip(),
                                  position=len(section.indicators))
    if method is Method.COMPUTED:
        if source not in rules.COMPUTED:
            raise AssessmentError("请选择数据来源", "please choose what the indicator is computed from", "source")
        if full_at in (None, "") or zero_at in (None, ""):
            raise AssessmentError("请填写满分值和零分值", "please give the values for full and for no points",
                                  "full_at")
        indicator.source, indicator.full_at, indicator.zero_at = (source, _decimal(full_at, "full_at"),
                                                                  _decimal(zero_at, "zero_at"))
    elif method is Method.DEDUCTION:
        if source not in rules.DEDUCTIONS:
            raise AssessmentError("请选择扣分事项", "please choose the events that take points off", "source")
        if per_event in (None, "") or _decimal(per_event, "per_event") <= 0:
            raise AssessmentError("请填写每次扣分", "please give the points taken off per event", "per_event")
        indicator.source, indicator.per_event = source, _decimal(per_event, "per_event")
    db.session.add(indicator)
    db.session.flush()
    audit.record(events.StandardSaved(standard_id=standard.id, code=standard.code, version=standard.version,
                                      change=f"+ indicator {name} {max_points} {method.value} {source or ''}"),
                 actor=by_user)
    return indicator


def remove(standard: Standard, section: StandardSection | None, indicator: StandardIndicator | None,
           by_user) -> None:
    _editable(standard)
    if indicator is not None:
        if indicator.standard_id != standard.id:
            raise AssessmentError("指标不属于该标准", "the indicator is not in this standard")
        change = f"- indicator {indicator.name}"
        indicator.section.indicators.remove(indicator)
        db.session.delete(indicator)
    elif section is not None:
        if section.standard_id != standard.id:
            raise AssessmentError("部分不属于该标准", "the section is not in this standard")
        change = f"- section {section.name}"
        for i in list(section.indicators):
            db.session.delete(i)
        standard.sections.remove(section)
        db.session.delete(section)
    else:
        return
    db.session.flush()
    audit.record(events.StandardSaved(standard_id=standard.id, code=standard.code, version=standard.version,
                                      change=change), actor=by_user)


def set_grade_edges(standard: Standard, excellent_from, good_from, pass_from, by_user) -> None:
    _editable(standard)
    e, g, p = (_decimal(excellent_from, "excellent_from"), _decimal(good_from, "good_from"),
               _decimal(pass_from, "pass_from"))
    if not (0 < p < g < e <= 100):
        raise AssessmentError("等级分数线须满足 0 < 合格 < 良好 < 优秀 ≤ 100",
                              "grade edges must satisfy 0 < pass < good < excellent ≤ 100", "excellent_from")
    standard.excellent_from, standard.good_from, standard.pass_from = e, g, p
    db.session.flush()
    audit.record(events.StandardSaved(standard_id=standard.id, code=standard.code, version=standard.version,
                                      change=f"grade edges {e}/{g}/{p}"), actor=by_user)


def rubric_problems(standard: Standard) -> list[tuple[str, str]]:
    """(zh, en) for everything that keeps a draft from being published."""
    problems = []
    if not standard.sections:
        problems.append(("标准还没有任何部分", "the standard has no sections"))
    if standard.points != 100:
        problems.append((f"各部分分值合计 {standard.points}，应为 100", f"the sections add up to {standard.points}, "
                                                                  "not 100"))
    for s in standard.sections:
        inner = sum((i.max_points for i in s.indicators), Decimal(0))
        if inner != s.points:
            problems.append((f"“{s.name}”各指标满分合计 {inner}，应为 {s.points}",
                             f"the indicators of {s.name} add up to {inner}, not {s.points}"))
    return problems


def publish(standard: Standard, by_user) -> None:
    _editable(standard)
    problems = rubric_problems(standard)
    if problems:
        raise AssessmentError("；".join(p[0] for p in problems), "; ".join(p[1] for p in problems))
    standard.status, standard.published_by, standard.published_at = StandardStatus.PUBLISHED, by_user, utcnow()
    db.session.flush()
    audit.record(events.StandardPublished(
        standard_id=standard.id, code=standard.code, version=standard.version,
        rubric=[[s.name, str(s.points), [[i.name, str(i.max_points), i.method.value, i.source]
                                         for i in s.indicators]] for s in standard.sections]), actor=by_user)


def standards() -> list[Standard]:
    return db.session.scalars(sa.select(Standard).order_by(Standard.code, Standard.version.desc())).all()


# --- binding a contract -------------------------------------------------------------------------

def binding_for(contract: Contract, create: bool = True, by_user=None) -> ContractStandard | None:
    """The contract's binding; on first use the default standard, quarterly, 14 days."""
    binding = db.session.get(ContractStandard, contract.id)
    if binding is None and create:
        binding = bind(contract, default_standard(by_user), "quarter", DEFAULT_COMMENT_DAYS, {}, by_user)
    return binding


def bind(contract: Contract, standard: Standard, period: str, comment_days: int, coefficients: dict,
         by_user) -> ContractStandard:
    if standard.status is not StandardStatus.PUBLISHED:
        raise AssessmentError("只能绑定已发布的考核标准", "only a published standard can be bound", "standard")
    if period not in ("month", "quarter"):
        raise AssessmentError("考核周期须为月度或季度", "the period must be month or quarter", "period")
    if not 1 <= int(comment_days) <= 60:
        raise AssessmentError("意见反馈期须在 1 至 60 天之间", "the comment window must be 1 to 60 days", "comment_days")
    binding = db.session.get(ContractStandard, contract.id)
    if binding is None:
        binding = ContractStandard(contract_id=contract.id, contract=contract, bound_at=utcnow())
        db.session.add(binding)
    binding.standard, binding.period, binding.comment_days = standard, period, int(comment_days)
    for grade in rules.GRADES:
        if coefficients.get(grade) is not None:
            value = _decimal(coefficients[grade], f"coef_{grade}")
            if not Decimal(0) <= value <= Decimal("1.5"):
                raise AssessmentError("支付系数须在 0 至 1.5 之间", "a payment coefficient must be 0 to 1.5",
                                      f"coef_{grade}")
            setattr(binding, f"coef_{grade}", value)
        elif getattr(binding, f"coef_{grade}") is None:
            setattr(binding, f"coef_{grade}", {"excellent": Decimal("1.00"), "good": Decimal("1.00"),
                                               "pass": Decimal("0.90"), "fail": Decimal("0.70")}[grade])
    binding.bound_by, binding.bound_at = by_user, utcnow()
    db.session.flush()
    audit.record(events.StandardBound(contract_id=contract.id, standard_id=standard.id, version=standard.version,
                                      period=period, comment_days=int(comment_days),
                                      coefficients={g: str(binding.coefficient(g)) for g in rules.GRADES}),
                 actor=by_user)
    return binding


# --- the figures behind computed indicators --------------------------------------------------------

@dataclass(frozen=True)
class Figure:
    value: Decimal | None
    text: str
    source: str
    basis: dict


def _utc(day: date) -> datetime:
    return datetime.combine(day, time(0), LOCAL_TZ)


def _pct(a, b) -> str:
    return f"{(Decimal(a) * 100 / Decimal(b)).quantize(Decimal('0.1'))}%" if b else "—"


def _ratio(a, b) -> Decimal | None:
    return (Decimal(a) / Decimal(b)).quantize(Decimal("0.0001")) if b else None


def _obligation_completion(contract, day_from, day_to) -> Figure:
    from reliefsvc.contracts.progress import obligation_completion

    months = months_between(day_from, day_to)
    done = obligation_completion(contract, months)
    return Figure(_ratio(done.completed, done.due), done.text("本期无服务义务"),
                  rules.COMPUTED["obligation_completion"][2],
                  {"completed": str(done.completed), "due": str(done.due), "months": months})


def _accepted_share(contract, day_from, day_to) -> Figure:
    from reliefsvc.contracts.progress import Counters

    counters = Counters(contract)
    months = months_between(day_from, day_to)
    accepted = sum(counters.total(code, months, "accepted") for code in {c for c, _m in counters.rows})
    rejected = sum(counters.total(code, months, "rejected") for code in {c for c, _m in counters.rows})
    reviewed = accepted + rejected
    text = (f"已审核 {reviewed} 条，通过 {accepted} 条，退回 {rejected} 条（通过率 {_pct(accepted, reviewed)}）"
            if reviewed else "本期无已审核的服务记录，不扣分")
    return Figure(_ratio(accepted, reviewed), text, rules.COMPUTED["accepted_share"][2],
                  {"accepted": accepted, "rejected": rejected})


def _spotcheck_confirmation(contract, day_from, day_to) -> Figure:
    source = rules.COMPUTED["spotcheck_confirmation"][2]
    try:
        from reliefsvc.spotchecks.service import contract_results
    except ImportError:
        return Figure(None, "随机抽查数据暂不可用，不扣分", source, {"available": False})
    r = contract_results(contract, day_from, day_to)
    checked = int(r.get("checked") or 0)
    if not checked:
        return Figure(None, "本期无随机抽查，不扣分", source, {"checked": 0})
    confirmed = int(r.get("confirmed") or 0)
    text = (f"抽查 {checked} 条：确认 {confirmed} 条、部分属实 {int(r.get('partly') or 0)} 条、"
            f"未提供服务 {int(r.get('not_delivered') or 0)} 条（确认率 {_pct(confirmed, checked)}）")
    return Figure(_ratio(confirmed, checked), text, source,
                  {k: (str(v) if v is not None else None) for k, v in r.items()})


def _alert_checks_on_time(contract, day_from, day_to) -> Figure:
    from reliefsvc.cases.models import Alert, Case
    from reliefsvc.contracts.models import contract_village

    area = sa.select(contract_village.c.region_id).where(contract_village.c.contract_id == contract.id)
    rows = db.session.execute(sa.select(Alert.due_at, Alert.cleared_at).join(Case, Case.id == Alert.case_id).where(
        Case.village_id.in_(area), Alert.due_at >= _utc(day_from), Alert.due_at < _utc(day_to + timedelta(days=1)))
    ).all()
    on_time = sum(1 for due, cleared in rows if cleared is not None and cleared <= due)
    text = (f"本期到期预警 {len(rows)} 条，按时核查 {on_time} 条（{_pct(on_time, len(rows))}）" if rows
            else "本期无到期的监测预警，不扣分")
    return Figure(_ratio(on_time, len(rows)), text, rules.COMPUTED["alert_checks_on_time"][2],
                  {"due": len(rows), "on_time": on_time})


def _flags_per_hundred(contract, day_from, day_to) -> Figure:
    source = rules.COMPUTED["flags_per_hundred"][2]
    try:
        from reliefsvc.integrity.service import flag_counts
    except ImportError:
        return Figure(None, "数据核查结果暂不可用，不扣分", source, {"available": False})
    r = flag_counts(contract.id, day_from, day_to)
    records, flags = int(r.get("records") or 0), int(r.get("flags") or 0)
    if not records:
        return Figure(None, "本期无服务记录，不扣分", source, {"records": 0})
    per_hundred = (Decimal(flags) * 100 / records).quantize(Decimal("0.01"))
    text = (f"服务记录 {records} 条，有疑点的 {int(r.get('flagged_records') or 0)} 条，疑点 {flags} 个"
            f"（每百条 {per_hundred} 个）")
    return Figure(per_hundred, text, source, {"records": records, "flags": flags,
                                              "flagged_records": int(r.get("flagged_records") or 0),
                                              "by_code": dict(r.get("by_code") or {})})


def _rectifications_on_time(contract, day_from, day_to) -> Figure:
    from reliefsvc.rectifications.service import on_time_counts

    c = on_time_counts(contract, day_from, day_to)
    text = (f"本期到期整改项 {c.due} 项：按期完成 {c.on_time} 项、逾期完成 {c.late} 项、未完成 {c.still_open} 项"
            f"（{_pct(c.on_time, c.due)}）" if c.due else "本期无到期的整改项，不扣分")
    return Figure(_ratio(c.on_time, c.due), text, rules.COMPUTED["rectifications_on_time"][2],
                  {"due": c.due, "on_time": c.on_time, "late": c.late, "still_open": c.still_open})


COMPUTE = {"obligation_completion": _obligation_completion, "accepted_share": _accepted_share,
           "spotcheck_confirmation": _spotcheck_confirmation, "alert_checks_on_time": _alert_checks_on_time,
           "flags_per_hundred": _flags_per_hundred, "rectifications_on_time": _rectifications_on_time}


def count_events(source: str, contract: Contract, day_from: date, day_to: date) -> tuple[int, str]:
    """How many events of a deduction happened in the period, and the figure to show."""
    if source == "refuted_spot_check":
        from reliefsvc.contracts.models import MonthCounter

        n = db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(MonthCounter.refuted), 0)).where(
            MonthCounter.contract_id == contract.id, MonthCounter.month.in_(months_between(day_from, day_to))))
        return int(n), f"经抽查否定的服务记录 {int(n)} 条"
    if source == "missed_red_alert":
        from reliefsvc.cases.models import Alert, Case
        from reliefsvc.contracts.models import contract_village

        area = sa.select(contract_village.c.region_id).where(contract_village.c.contract_id == contract.id)
        now = utcnow()
        late = sa.or_(sa.and_(Alert.cleared_at.is_(None), Alert.due_at < now), Alert.cleared_at > Alert.due_at)
        n = db.session.scalar(sa.select(sa.func.count()).select_from(Alert).join(Case, Case.id == Alert.case_id).where(
            Case.village_id.in_(area), Alert.level == "red", late, Alert.due_at >= _utc(day_from),
            Alert.due_at < _utc(day_to + timedelta(days=1))))
        return int(n), f"未按时核查的红色预警 {int(n)} 条"
    if source == "inspection_finding":
        n = db.session.scalar(sa.select(sa.func.count()).select_from(InspectionFinding).join(Inspection).where(
            Inspection.contract_id == contract.id, InspectionFinding.deducts.is_(True),
            Inspection.visited_on >= day_from, Inspection.visited_on <= day_to))
        return int(n), f"实地考察发现需扣分的问题 {int(n)} 项"
    if source == "overdue_rectification":
        from reliefsvc.rectifications.service import on_time_counts

        c = on_time_counts(contract, day_from, day_to)
        n = c.late + (c.still_open if day_to < today_local() else 0)
        return n, f"逾期完成或逾期未完成的整改项 {n} 项"
    raise AssessmentError("未知的扣分事项", f"unknown deduction source {source}")


def _score(indicator: StandardIndicator, contract: Contract, day_from: date, day_to: date):
    """(points, figure, source, basis) of a computed or deduction indicator."""
    if indicator.method is Method.COMPUTED:
        f = COMPUTE[indicator.source](contract, day_from, day_to)
        points = rules.linear_points(f.value, indicator.max_points, indicator.full_at, indicator.zero_at)
        return points, f.text, f.source, {**f.basis, "value": str(f.value) if f.value is not None else None}
    n, text = count_events(indicator.source, contract, day_from, day_to)
    points = rules.deduction_points(n, indicator.max_points, indicator.per_event)
    return points, f"{text}，每项扣 {indicator.per_event} 分", rules.DEDUCTIONS[indicator.source][1], {"events": n}


# --- assessments ----------------------------------------------------------------------------------

def provider_managers(contract: Contract) -> list[int]:
    return db.session.scalars(sa.select(User.id).where(
        User.organisation_id == contract.provider.organisation_id, User.role == Role.PROVIDER_MANAGER,
        User.is_enabled.is_(True))).all()


def users_of(role: Role) -> list[int]:
    return db.session.scalars(sa.select(User.id).where(User.role == role, User.is_enabled.is_(True))).all()


def _link(a: Assessment) -> str:
    return f"/assessments/{a.id}"


def _frozen(a: Assessment) -> None:
    if a.status is AssessmentStatus.SIGNED:
        raise AssessmentError("考核已签发，不能再修改", "the assessment is signed and cannot change")


def create_assessment(contract: Contract, period_key: str, by_user, on: date | None = None) -> Assessment:
    """Open the assessment of ``period_key`` ("2026-05" or "2026-Q2", after the contract's
    assessment period); the computed and deduction indicators fill themselves in."""
    on = on or today_local()
    binding = binding_for(contract, by_user=by_user)
    period = binding.period
    if not rules.valid_key(period, period_key):
        raise AssessmentError(f"考核期应写作 {'2026-05' if period == 'month' else '2026-Q2'}",
                              f"the period is written {'2026-05' if period == 'month' else '2026-Q2'}",
                              "period_key")
    day_from, day_to = rules.period_bounds(period, period_key)
    if day_to >= on:
        raise AssessmentError("考核期尚未结束", "the period has not ended yet", "period_key")
    if day_to < contract.starts_on or day_from > contract.ends_on:
        raise AssessmentError("考核期不在合同期内", "the period lies outside the contract term", "period_key")
    if contract.status is ContractStatus.DRAFT:
        raise AssessmentError("草稿合同不能考核", "a draft contract is not assessed")
    exists = db.session.scalar(sa.select(Assessment.id).where(Assessment.contract_id == contract.id,
                                                              Assessment.period_key == period_key))
    if exists:
        raise AssessmentError("该考核期已有考核", "this period already has an assessment", "period_key")
    a = Assessment(contract=contract, standard=binding.standard, period=period, period_key=period_key,
                   day_from=max(day_from, contract.starts_on), day_to=min(day_to, contract.ends_on),
                   created_by=by_user, created_at=utcnow(), status=AssessmentStatus.DRAFT)
    db.session.add(a)
    for indicator in binding.standard.indicators:
        a.scores.append(AssessmentScore(indicator=indicator))
    _fill(a)
    db.session.flush()
    audit.record(events.AssessmentCreated(assessment_id=a.id, contract_id=contract.id, period_key=period_key,
                                          standard_id=binding.standard.id), actor=by_user)
    notifications.notify(users_of(Role.EVALUATOR), "assessment.to_score",
                         f"考核待评分：合同 {contract.contract_no} {period_key}", link=_link(a))
    return a


def _fill(a: Assessment) -> None:
    for s in a.scores:
        if s.indicator.method is not Method.ENTERED:
            s.points, s.figure, s.source_label, s.basis = _score(s.indicator, a.contract, a.day_from, a.day_to)
    a.total = rules.total([s.points for s in a.scores])
    a.grade = rules.grade(a.total, _edges(a.standard))


def _edges(standard: Standard) -> rules.GradeEdges:
    return rules.GradeEdges(standard.excellent_from, standard.good_from, standard.pass_from)


def recompute(a: Assessment, by_user) -> None:
    """Read the figures again (a record reviewed late, a spot check finished) while a draft."""
    _frozen(a)
    if a.status is not AssessmentStatus.DRAFT:
        raise AssessmentError("只有草稿可以重新计算", "only a draft is recomputed")
    _fill(a)
    db.session.flush()
    audit.record(events.AssessmentRecomputed(assessment_id=a.id, total=str(a.total)), actor=by_user)


def score_of(a: Assessment, indicator_id: int) -> AssessmentScore:
    for s in a.scores:
        if s.indicator_id == indicator_id:
            return s
    raise AssessmentError("该考核没有这个指标", "the assessment has no such indicator")


def enter_score(a: Assessment, indicator_id: int, points, justification: str, by_user) -> AssessmentScore:
    _frozen(a)
    if a.status is not AssessmentStatus.DRAFT:
        raise AssessmentError("考核已送承接主体征求意见，评分只能经申诉复核调整",
                              "the assessment is with the provider; scores change only on appeal")
    s = score_of(a, indicator_id)
    if s.indicator.method is not Method.ENTERED:
        raise AssessmentError("该指标由数据自动计算，不能手工评分", "this indicator is computed from data")
    value = _decimal(points, "points")
    if not Decimal(0) <= value <= s.indicator.max_points:
        raise AssessmentError(f"得分须在 0 至 {s.indicator.max_points} 之间",
                              f"points must be between 0 and {s.indicator.max_points}", "points")
    justification = (justification or "").strip()
    if not justification:
        raise AssessmentError("请写明评分依据", "please give the justification of the score", "justification")
    s.points, s.justification, s.entered_by, s.entered_at = rules.money_round(value), justification, by_user, utcnow()
    a.total = rules.total([x.points for x in a.scores])
    a.grade = rules.grade(a.total, _edges(a.standard))
    db.session.flush()
    audit.record(events.AssessmentScored(assessment_id=a.id, indicator=s.indicator.name, points=str(s.points),
                                         justification=justification, total=str(a.total)), actor=by_user)
    return s


def unscored(a: Assessment) -> list[AssessmentScore]:
    return [s for s in a.scores if s.points is None]


def send_to_provider(a: Assessment, by_user, on: date | None = None) -> None:
    """Show the draft to the provider; its comment window starts today."""
    _frozen(a)
    if a.status is not AssessmentStatus.DRAFT:
        raise AssessmentError("考核已送承接主体", "the assessment was already sent")
    missing = unscored(a)
    if missing:
        raise AssessmentError("还有指标未评分：" + "、".join(s.indicator.name for s in missing),
                              f"{len(missing)} indicators are not scored yet")
    on = on or today_local()
    days = binding_for(a.contract).comment_days
    a.status, a.sent_at, a.comment_until = AssessmentStatus.COMMENTING, utcnow(), on + timedelta(days=days)
    db.session.flush()
    audit.record(events.AssessmentSent(assessment_id=a.id, total=str(a.total),
                                       comment_until=a.comment_until.isoformat()), actor=by_user)
    until = a.comment_until
    notifications.notify(provider_managers(a.contract), "assessment.for_comment",
                         f"考核结果征求意见：合同 {a.contract.contract_no} {a.period_key}，"
                         f"得分 {a.total}，请于 {until.year}年{until.month}月{until.day}日 前反馈意见或申诉",
                         link=_link(a))


def _store(data: bytes) -> tuple[str, str]:
    from reliefsvc.evidence import EvidenceTooLarge, get_storage
    from reliefsvc.evidence.content import ContentError, check_document

    if len(data) > MAX_EVIDENCE_BYTES:
        raise AssessmentError("证明材料超过 15 MB", "the evidence file is larger than 15 MB", "file")
    try:
        kind = check_document(data)
        stored = get_storage().put(io.BytesIO(data), max_bytes=MAX_EVIDENCE_BYTES)
    except ContentError as exc:
        raise AssessmentError(exc.zh, exc.en, "file") from exc
    except EvidenceTooLarge as exc:
        raise AssessmentError("证明材料超过 15 MB", "the evidence file is larger than 15 MB", "file") from exc
    return stored.sha256, kind


def _open_window(a: Assessment, on: date | None) -> None:
    _frozen(a)
    if not a.window_open(on or today_local()):
        raise AssessmentError("意见反馈期未开始或已结束", "the comment window is not open")


def comment(a: Assessment, text: str, by_user, kind: str = "comment", indicator_id: int | None = None,
            file: tuple[bytes, str] | None = None, on: date | None = None) -> AssessmentComment:
    """The provider's comment, or an appeal against one indicator with evidence (a file)."""
    _open_window(a, on)
    text = (text or "").strip()
    if kind not in ("comment", "appeal"):
        raise AssessmentError("未知的意见类型", "unknown kind of comment")
    if not text:
        raise AssessmentError("请填写意见内容", "please write the comment", "text")
    indicator = None
    if kind == "appeal":
        if indicator_id is None:
            raise AssessmentError("申诉须指明所申诉的指标", "an appeal names the indicator it contests", "indicator")
        indicator = score_of(a, indicator_id).indicator
        if not file or not file[0]:
            raise AssessmentError("申诉须附证明材料", "an appeal needs evidence (a file)", "file")
    sha256 = kind_of_file = None
    if file and file[0]:
        sha256, kind_of_file = _store(file[0])
    c = AssessmentComment(assessment=a, kind=kind, indicator=indicator, text=text, sha256=sha256,
                          filename=(file[1][:200] if sha256 else None), content_type=kind_of_file, by=by_user,
                          at=utcnow())
    db.session.add(c)
    db.session.flush()
    audit.record(events.AssessmentCommented(assessment_id=a.id, comment_id=c.id, kind=kind,
                                            indicator=indicator.name if indicator else None, text=text,
                                            sha256=sha256), actor=by_user)
    notifications.notify(users_of(Role.OFFICER), f"assessment.{kind}",
                         (f"承接主体申诉：合同 {a.contract.contract_no} {a.period_key}，指标“{indicator.name}”"
                          if indicator else f"承接主体对考核提出意见：合同 {a.contract.contract_no} {a.period_key}"),
                         text[:500], link=_link(a))
    return c


def close_comments(a: Assessment, by_user, on: date | None = None) -> AssessmentComment:
    """The provider declares in writing that it has no further comments: the window closes
    early and the officer may sign (appeals already lodged are still decided first)."""
    _open_window(a, on)
    c = AssessmentComment(assessment=a, kind="no_further", text="承接主体确认无其他意见", by=by_user, at=utcnow())
    a.comments_closed_at = utcnow()
    db.session.add(c)
    db.session.flush()
    audit.record(events.AssessmentCommented(assessment_id=a.id, comment_id=c.id, kind="no_further", indicator=None,
                                            text=c.text, sha256=None), actor=by_user)
    notifications.notify(users_of(Role.OFFICER), "assessment.no_further",
                         f"承接主体确认无其他意见，考核可签发：合同 {a.contract.contract_no} {a.period_key}",
                         link=_link(a))
    return c


def decide_appeal(c: AssessmentComment, upheld: bool, note: str, new_points, by_user) -> None:
    """The reviewing officer decides an appeal; upheld, the indicator's points may change."""
    a = c.assessment
    _frozen(a)
    if c.kind != "appeal" or c.decision is not None:
        raise AssessmentError("没有待决定的申诉", "there is no undecided appeal here")
    note = (note or "").strip()
    if not note:
        raise AssessmentError("请写明复核意见", "please give the reasons of the decision", "note")
    s = score_of(a, c.indicator_id)
    before = s.points
    if upheld and new_points not in (None, ""):
        value = _decimal(new_points, "new_points")
        if not Decimal(0) <= value <= s.indicator.max_points:
            raise AssessmentError(f"得分须在 0 至 {s.indicator.max_points} 之间",
                                  f"points must be between 0 and {s.indicator.max_points}", "new_points")
        s.points = rules.money_round(value)
        s.justification = (s.justification + "\n" if s.justification else "") + f"申诉复核调整：{note}"
        s.entered_by, s.entered_at = by_user, utcnow()
        a.total = rules.total([x.points for x in a.scores])
        a.grade = rules.grade(a.total, _edges(a.standard))
    c.decision, c.decision_note, c.decided_by, c.decided_at = ("upheld" if upheld else "rejected"), note, by_user, \
        utcnow()
    db.session.flush()
    audit.record(events.AppealDecided(assessment_id=a.id, comment_id=c.id, decision=c.decision, note=note,
                                      points_before=str(before) if before is not None else None,
                                      points_after=str(s.points) if s.points is not None else None), actor=by_user)
    notifications.notify(provider_managers(a.contract), "assessment.appeal_decided",
                         f"申诉复核结果：合同 {a.contract.contract_no} {a.period_key}"
                         f"（{'申诉成立' if upheld else '申诉不成立'}）", note, link=_link(a))


def sign_problems(a: Assessment, on: date | None = None) -> list[tuple[str, str]]:
    on = on or today_local()
    if a.status is AssessmentStatus.SIGNED:
        return [("考核已签发", "the assessment is already signed")]
    if a.status is AssessmentStatus.DRAFT:
        return [("考核尚未送承接主体征求意见", "the assessment has not been sent to the provider for comment")]
    problems = []
    if a.window_open(on):
        until = a.comment_until
        problems.append((f"意见反馈期至 {until.year}年{until.month}月{until.day}日，期满或承接主体确认无其他意见后方可签发",
                         f"the comment window is open until {until.isoformat()}"))
    if a.undecided_appeals:
        problems.append((f"还有 {len(a.undecided_appeals)} 项申诉未复核", f"{len(a.undecided_appeals)} appeals "
                                                                       "are undecided"))
    return problems


def previous_grade(a: Assessment) -> str | None:
    key = rules.previous_key(a.period, a.period_key)
    return db.session.scalar(sa.select(Assessment.grade).where(
        Assessment.contract_id == a.contract_id, Assessment.period_key == key,
        Assessment.status == AssessmentStatus.SIGNED))


def sign(a: Assessment, by_user, on: date | None = None) -> None:
    """Sign and freeze: the grade, its payment coefficient and its consequences are fixed."""
    problems = sign_problems(a, on)
    if problems:
        raise AssessmentError("；".join(p[0] for p in problems), "; ".join(p[1] for p in problems))
    binding = binding_for(a.contract)
    grade = rules.grade(a.total, _edges(a.standard))
    found = rules.consequences(grade, previous_grade(a))
    a.grade, a.coefficient, a.consequences = grade, binding.coefficient(grade), ",".join(found)
    a.status, a.signed_by, a.signed_at = AssessmentStatus.SIGNED, by_user, utcnow()
    db.session.flush()
    audit.record(events.AssessmentSigned(
        assessment_id=a.id, contract_id=a.contract_id, period_key=a.period_key, total=str(a.total), grade=grade,
        coefficient=str(a.coefficient), consequences=found,
        scores={s.indicator.name: str(s.points) for s in a.scores}), actor=by_user)
    no = a.contract.contract_no
    notifications.notify(provider_managers(a.contract), "assessment.signed",
                         f"考核已签发：合同 {no} {a.period_key}，得分 {a.total}，等级 {rules.GRADE_ZH[grade]}",
                         link=_link(a))
    if "warning" in found:
        notifications.notify(provider_managers(a.contract) + users_of(Role.OFFICER), "assessment.warning",
                             f"考核预警：合同 {no} {a.period_key} 考核不合格（{a.total} 分）",
                             "请承接主体限期整改；连续两次不合格将启动解约审查。", link=_link(a))
    if "termination_review" in found:
        notifications.notify(users_of(Role.OFFICER), "assessment.termination_review",
                             f"解约审查：合同 {no} 连续两次考核不合格",
                             "按合同约定，请启动合同解除审查程序。", link=_link(a))


def signed_assessments(contract: Contract, day_from: date, day_to: date) -> list[Assessment]:
    """Signed assessments of ``contract`` whose period overlaps [day_from, day_to] (inclusive),
    oldest first; each has ``grade``, ``total`` and ``coefficient`` (the payment coefficient)."""
    return db.session.scalars(sa.select(Assessment).where(
        Assessment.contract_id == contract.id, Assessment.status == AssessmentStatus.SIGNED,
        Assessment.day_to >= day_from, Assessment.day_from <= day_to).order_by(Assessment.day_from)).all()


def visible_query(user, status: str | None = None):
    query = sa.select(Assessment).join(Contract, Contract.id == Assessment.contract_id)
    if user.role not in BUREAU_ROLES:
        query = query.join(Provider, Provider.id == Contract.provider_id).where(
            Provider.organisation_id == user.organisation_id, Assessment.status != AssessmentStatus.DRAFT)
    if status:
        query = query.where(Assessment.status == status)
    return query.order_by(Assessment.day_from.desc(), Assessment.id.desc())


def history(contract: Contract) -> list[Assessment]:
    return db.session.scalars(sa.select(Assessment).where(Assessment.contract_id == contract.id)
                              .order_by(Assessment.day_from.desc())).all()


def due_periods(contract: Contract, on: date) -> list[str]:
    """Ended periods of the contract's term that have no assessment yet."""
    binding = binding_for(contract, create=False)
    period = binding.period if binding else "quarter"
    have = set(db.session.scalars(sa.select(Assessment.period_key).where(Assessment.contract_id == contract.id)))
    keys, day = [], contract.starts_on
    while day <= min(contract.ends_on, on):
        key = rules.period_key(period, day)
        first, last = rules.period_bounds(period, key)
        if last < on and key not in have and key not in keys:
            keys.append(key)
        day = last + timedelta(days=1)
    return keys


# --- field inspections -------------------------------------------------------------------------------

DEFAULT_CHECKLIST = [
    "服务站点有标识，开放时间公示",
    "服务人员在岗，与花名册一致",
    "服务台账齐全，与平台记录一致",
    "入户服务有记录、有签字、有照片",
    "困难群众知晓服务内容和联系方式",
    "监测预警按时入户核查",
]
CHECK_RESULTS = ("ok", "problem", "na")


@dataclass
class InspectionInput:
    contract: Contract
    region_id: int
    visited_on: date
    place: str = ""
    people_met: str = ""
    summary: str = ""
    #: [(item, result)]
    checklist: list | None = None
    #: [(text, rule, deducts, rectify)]
    findings: list | None = None
    #: [(bytes, filename)]
    photos: list | None = None
    rectify_due: date | None = None


def record_inspection(data: InspectionInput, by_user) -> Inspection:
    from reliefsvc.evidence import service as evidence
    from reliefsvc.evidence.content import ContentError
    from reliefsvc.evidence.photos import examine
    from reliefsvc.rectifications import service as rectifications

    contract = data.contract
    if data.region_id not in {v.id for v in contract.villages}:
        raise AssessmentError("考察地点须在合同服务区域内", "the place visited must be in the contract's area", "region")
    if data.visited_on > today_local():
        raise AssessmentError("考察日期不能晚于今天", "the visit cannot be in the future", "visited_on")
    checklist = [{"item": item, "result": result} for item, result in (data.checklist or [])
                 if item and result in CHECK_RESULTS]
    findings = [(t.strip(), (r or "").strip(), bool(d), bool(x)) for t, r, d, x in (data.findings or [])
                if t and t.strip()]
    if any(x and not r for _t, r, _d, x in findings):
        raise AssessmentError("要求整改的问题须写明违反的规定", "a finding to be put right must name the rule it breaks",
                              "findings")
    if any(x for *_rest, x in findings) and data.rectify_due is None:
        raise AssessmentError("请填写整改期限", "please give the deadline for the rectification", "rectify_due")
    inspection = Inspection(contract=contract, region_id=data.region_id, place=(data.place or "").strip(),
                            visited_on=data.visited_on, people_met=(data.people_met or "").strip(),
                            checklist=checklist, summary=(data.summary or "").strip(), evaluator=by_user,
                            recorded_at=utcnow(),
                            findings=[InspectionFinding(text=t, rule=r, deducts=d, rectify=x)
                                      for t, r, d, x in findings])
    for data_bytes, filename in data.photos or []:
        if not data_bytes:
            continue
        try:
            facts = examine(data_bytes)
        except ContentError as exc:
            raise AssessmentError(exc.zh, exc.en, "photos") from exc
        photo = evidence.store_photo(evidence.Upload(data_bytes, filename or ""), facts)
        inspection.photos.append(InspectionPhoto(photo_id=photo.id, filename=(filename or "")[:200]))
    db.session.add(inspection)
    db.session.flush()
    to_rectify = [(t, r) for t, r, _d, x in findings if x]
    if to_rectify:
        notice = rectifications.raise_notice(contract, to_rectify, data.rectify_due, "inspection", by_user)
        inspection.rectification_notice_id = notice.id
        db.session.flush()
    audit.record(events.InspectionRecorded(
        inspection_id=inspection.id, contract_id=contract.id, region_id=data.region_id,
        visited_on=data.visited_on.isoformat(), findings=[[t, r, d, x] for t, r, d, x in findings],
        photos=[p.photo_id for p in inspection.photos], rectification_notice_id=inspection.rectification_notice_id),
        actor=by_user)
    return inspection


def inspections_query(user):
    query = sa.select(Inspection).join(Contract, Contract.id == Inspection.contract_id)
    if user.role not in BUREAU_ROLES:
        query = query.join(Provider, Provider.id == Contract.provider_id).where(
            Provider.organisation_id == user.organisation_id)
    return query.order_by(Inspection.visited_on.desc(), Inspection.id.desc())
