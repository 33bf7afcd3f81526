"""Annual evaluations: opening, the figures behind them, scoring, comment, signing, the clock.

Later issues read ``latest_signed(contract)``, ``signed_for_provider(provider)`` and
``overdue(on)``. Everything here flushes; the request, job or command commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from flask import current_app

from reliefsvc import audit
from reliefsvc.common.errors import BilingualError
from reliefsvc.common.formatting import LOCAL_TZ, today_local
from reliefsvc.contracts.models import Contract, ContractStatus
from reliefsvc.contracts.rules import months_between
from reliefsvc.db import utcnow
from reliefsvc.evaluations import events, rules
from reliefsvc.evaluations.models import (
    Evaluation,
    EvaluationComment,
    EvaluationDimension,
    EvaluationStatus,
    Rating,
)
from reliefsvc.extensions import db
from reliefsvc.notifications import service as notifications
from reliefsvc.providers.models import Provider
from reliefsvc.security.models import BUREAU_ROLES, Role, User


class EvaluationError(BilingualError):
    pass


# --- settings ---------------------------------------------------------------------------------

def due_days() -> int:
    """Days after the end of an execution year by which its evaluation must be signed."""
    return int(current_app.config.get("EVALUATION_DUE_DAYS", rules.DEFAULT_DUE_DAYS))


def comment_days() -> int:
    return int(current_app.config.get("EVALUATION_COMMENT_DAYS", rules.DEFAULT_COMMENT_DAYS))


def doc_prefix() -> str:
    return str(current_app.config.get("EVALUATION_DOC_PREFIX", "康民评"))


# --- people -------------------------------------------------------------------------------------

def provider_managers(contract: Contract) -> list[int]:
    return db.session.scalars(sa.select(User.id).where(
        User.organisation_id == contract.provider.organisation_id, User.role == Role.PROVIDER_MANAGER,
        User.is_enabled.is_(True))).all()


def users_of(*roles: Role) -> list[int]:
    return db.session.scalars(sa.select(User.id).where(User.role.in_(roles), User.is_enabled.is_(True))).all()


def _link(ev: Evaluation) -> str:
    return f"/evaluations/{ev.id}"


def _title(ev: Evaluation) -> str:
    return f"{ev.contract.contract_no} 第{ev.year_no}执行年度（{_d(ev.day_from)}—{_d(ev.day_to)}）"


def _d(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


# --- execution years ----------------------------------------------------------------------------

def _ended_early_on(contract: Contract) -> date | None:
    if contract.status in (ContractStatus.TERMINATED, ContractStatus.COMPLETED) and contract.status_changed_on \
            and contract.status_changed_on < contract.ends_on:
        return contract.status_changed_on
    return None


def execution_years(contract: Contract) -> list[rules.ExecutionYear]:
    years = rules.execution_years(contract.starts_on, contract.ends_on)
    early = _ended_early_on(contract)
    if early is None:
        return years
    out = []
    for y in years:
        if y.day_from > early:
            break
        out.append(rules.ExecutionYear(y.number, y.day_from, min(y.day_to, early)))
    return out


def execution_year(contract: Contract, year_no: int) -> rules.ExecutionYear:
    for y in execution_years(contract):
        if y.number == year_no:
            return y
    raise EvaluationError("合同没有这个执行年度", "the contract has no such execution year", "year_no")


def year_by_calendar(contract: Contract, year: int) -> rules.ExecutionYear | None:
    """The execution year that begins in calendar ``year`` (what ``--year`` names)."""
    return next((y for y in execution_years(contract) if y.year == year), None)


def find(contract: Contract, year_no: int) -> Evaluation | None:
    return db.session.scalar(sa.select(Evaluation).where(Evaluation.contract_id == contract.id,
                                                         Evaluation.year_no == year_no))


# --- the figures --------------------------------------------------------------------------------

def _utc(day: date) -> datetime:
    return datetime.combine(day, time(0), LOCAL_TZ)


def _pct(a, b) -> str:
    return f"{(Decimal(a) * 100 / Decimal(b)).quantize(Decimal('0.1'))}%" if b else "—"


def _ratio(a, b) -> str | None:
    return str((Decimal(a) / Decimal(b)).quantize(Decimal("0.0001"))) if b else None


def _json(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json(v) for v in value]
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def _indicator(dimension, key, name, figure, source, value=None, **basis) -> dict:
    return {"dimension": dimension, "key": key, "name": name, "figure": figure, "source": source,
            "value": None if value is None else str(value), "basis": _json(basis)}


def _obligations(contract, day_from, day_to, counters) -> dict:
    from reliefsvc.contracts.progress import obligation_completion

    months = months_between(day_from, day_to)
    done = obligation_completion(contract, months, counters)
    return _indicator("management", "obligations_met", "服务义务完成率", done.text("本年度无服务义务"),
                      "合同服务义务与服务记录（合同进度）", _ratio(done.completed, done.due),
                      completed=done.completed, due=done.due, months=months)


def _alerts(contract, day_from, day_to) -> dict:
    from reliefsvc.cases.models import Alert, Case
    from reliefsvc.contracts.models import contract_village
    from reliefsvc.contracts.progress import missed_alert_checks

    area = sa.select(contract_village.c.region_id).where(contract_village.c.contract_id == contract.id)
    rows = db.session.execute(sa.select(Alert.due_at, Alert.cleared_at).join(Case, Case.id == Alert.case_id).where(
        Case.village_id.in_(area), Alert.due_at >= _utc(day_from), Alert.due_at < _utc(day_to + timedelta(days=1)))
    ).all()
    on_time = sum(1 for due, cleared in rows if cleared is not None and cleared <= due)
    missed_term, _latest = missed_alert_checks(contract, utcnow(), limit=0)
    figure = (f"本年度到期预警 {len(rows)} 条，按时入户核查 {on_time} 条（{_pct(on_time, len(rows))}）；"
              f"合同期内超期或未核查共 {missed_term} 条" if rows else
              f"本年度无到期的监测预警；合同期内超期或未核查共 {missed_term} 条")
    return _indicator("management", "alert_checks_on_time", "监测预警按时核查率", figure, "监测预警（困难家庭）",
                      _ratio(on_time, len(rows)), due=len(rows), on_time=on_time, missed_in_term=missed_term)


def _rectifications(contract, day_from, day_to) -> dict:
    from reliefsvc.rectifications.service import on_time_counts

    c = on_time_counts(contract, day_from, day_to)
    figure = (f"本年度到期整改项 {c.due} 项：按期完成 {c.on_time} 项、逾期完成 {c.late} 项、未完成 {c.still_open} 项"
              f"（按期完成率 {_pct(c.on_time, c.due)}）" if c.due else "本年度无到期的整改项")
    return _indicator("management", "rectifications_closed", "整改按期完成率", figure, "整改通知",
                      _ratio(c.on_time, c.due), due=c.due, on_time=c.on_time, late=c.late, still_open=c.still_open)


def _integrity(contract, day_from, day_to) -> dict:
    from reliefsvc.evidence.models import ServiceRecord
    from reliefsvc.integrity.models import IntegrityFlag
    from reliefsvc.integrity.service import flag_counts

    r = flag_counts(contract.id, day_from, day_to)
    records, flags = int(r.get("records") or 0), int(r.get("flags") or 0)
    dismissed = db.session.scalar(sa.select(sa.func.count()).select_from(IntegrityFlag).join(
        ServiceRecord, ServiceRecord.id == IntegrityFlag.record_id).where(
        IntegrityFlag.contract_id == contract.id, IntegrityFlag.dismissed_at.is_not(None),
        ServiceRecord.started_at >= _utc(day_from), ServiceRecord.started_at < _utc(day_to + timedelta(days=1))))
    if not records:
        figure = "本年度无服务记录"
        value = None
    else:
        value = (Decimal(flags) * 100 / records).quantize(Decimal("0.01"))
        figure = (f"服务记录 {records} 条，有疑点的 {int(r.get('flagged_records') or 0)} 条，未排除疑点 {flags} 个"
                  f"（每百条 {value} 个）；经核实排除 {dismissed} 个")
    return _indicator("management", "flags_per_hundred", "数据核查疑点（每百条记录）及处理", figure,
                      "数据核查（疑点）", value, records=records, flags=flags, dismissed=dismissed,
                      flagged_records=int(r.get("flagged_records") or 0), by_code=dict(r.get("by_code") or {}))


def _hiring(contract) -> dict:
    from reliefsvc.hiring.service import latest

    result = latest(contract)
    words = {"low": "低风险", "medium": "中风险", "high": "高风险"}
    if result is None:
        return _indicator("management", "hiring_risk", "变相“招聘合同工”风险", "尚未计算", "变相招聘风险")
    level = getattr(result.level, "value", result.level)
    return _indicator("management", "hiring_risk", "变相“招聘合同工”风险",
                      f"{words.get(level, level)}（{result.score} 分）", "变相招聘风险（最近一次计算）",
                      result.score, level=level, computed_at=result.computed_at)


def _assessments(contract, day_from, day_to) -> dict:
    from reliefsvc.assessments.service import signed_assessments

    found = signed_assessments(contract, day_from, day_to)
    zh = {"excellent": "优秀", "good": "良好", "pass": "合格", "fail": "不合格"}
    if not found:
        return _indicator("outcomes", "assessment_grades", "定期考核等级", "本年度无已签发的定期考核", "定期考核")
    mean = (sum((a.total for a in found), Decimal(0)) / len(found)).quantize(Decimal("0.01"))
    figure = (f"已签发 {len(found)} 次，平均 {mean} 分："
              + "；".join(f"{a.period_key} {a.total} 分 {zh.get(a.grade, a.grade)}" for a in found))
    return _indicator("outcomes", "assessment_grades", "定期考核等级", figure, "定期考核", mean,
                      periods=[[a.period_key, str(a.total), a.grade, str(a.coefficient)] for a in found])


def _spotchecks(contract, day_from, day_to) -> dict:
    from reliefsvc.spotchecks.service import contract_results

    r = contract_results(contract, day_from, day_to)
    checked = int(r.get("checked") or 0)
    if not checked:
        figure = "本年度无已完成的随机抽查" + (f"（{r.get('pending_checks')} 条待核查）" if r.get("pending_checks") else "")
        return _indicator("outcomes", "false_service_rate", "随机抽查虚假服务率", figure, "随机抽查", None,
                          **{k: v for k, v in r.items() if k != "risk"})

    def p(x):
        return f"{(Decimal(str(x)) * 100).quantize(Decimal('0.1'))}%" if x is not None else "—"

    figure = (f"抽查 {checked} 条：属实 {r['confirmed']} 条、部分属实 {r['partly']} 条、未提供服务 "
              f"{r['not_delivered']} 条；虚假服务率 {p(r['false_rate'])}"
              f"（95% 置信区间 {p(r['lower'])}—{p(r['upper'])}）")
    return _indicator("outcomes", "false_service_rate", "随机抽查虚假服务率", figure, "随机抽查", r["false_rate"],
                      **{k: v for k, v in r.items() if k != "risk"})


def _households(contract, day_from, day_to, counters) -> dict:
    reached = counters.households(None, months_between(day_from, day_to))
    return _indicator("outcomes", "households_reached", "服务覆盖家庭数", f"本年度接受服务的家庭 {reached} 户",
                      "服务记录（合同进度）", reached, households=reached)


def _discoveries(contract, day_from, day_to) -> dict:
    from reliefsvc.cases.models import Case, DiscoveryStatus

    rows = dict(db.session.execute(sa.select(Case.discovery_status, sa.func.count()).where(
        Case.discovered_by_provider_id == contract.provider_id, Case.discovered_at >= _utc(day_from),
        Case.discovered_at < _utc(day_to + timedelta(days=1))).group_by(Case.discovery_status)).all())
    confirmed = rows.get(DiscoveryStatus.CONFIRMED, 0)
    pending = rows.get(DiscoveryStatus.PENDING, 0)
    dismissed = rows.get(DiscoveryStatus.DISMISSED, 0)
    total = confirmed + pending + dismissed
    figure = (f"主动发现困难家庭 {total} 户：确认 {confirmed} 户、待确认 {pending} 户、不予确认 {dismissed} 户"
              if total else "本年度无主动发现的困难家庭")
    return _indicator("outcomes", "active_discoveries", "主动发现困难家庭", figure, "主动发现（困难家庭）", confirmed,
                      confirmed=confirmed, pending=pending, dismissed=dismissed)


def _payments(contract, day_from, day_to) -> list[dict]:
    source = "支付与资金使用"
    try:
        from reliefsvc.payments.service import payment_summary
    except ImportError:
        payment_summary = None
    if payment_summary is None:
        return [_indicator("funds", "payments_against_results", "支付与服务成果挂钩", "暂不可用", source),
                _indicator("funds", "fund_use_findings", "资金使用问题", "暂不可用", source)]
    s = payment_summary(contract, day_from, day_to)

    def m(key):
        value = s.get(key)
        return "—" if value is None else f"{Decimal(str(value)).quantize(Decimal('0.01')):,} 元"

    findings = s.get("fund_use_findings")
    finding_list = findings if isinstance(findings, (list, tuple)) else []
    n_findings = len(finding_list) if finding_list or isinstance(findings, (list, tuple)) else int(findings or 0)
    unit = s.get("unit_cost")
    return [
        _indicator("funds", "payments_against_results", "支付与服务成果挂钩",
                   f"计划 {m('planned')}，按考核结果应付 {m('computed')}，核定 {m('approved')}，已拨付 {m('disbursed')}，"
                   f"扣减 {m('deductions')}；与服务成果差额 {m('gap_to_results')}"
                   + (f"；单位服务成本 {m('unit_cost')}" if unit is not None else ""),
                   source, s.get("gap_to_results"), **{k: v for k, v in s.items() if k != "fund_use_findings"}),
        _indicator("funds", "fund_use_findings", "资金使用问题",
                   (f"发现 {n_findings} 项：" + "；".join(str(getattr(f, "text", f)) for f in finding_list[:10])
                    if finding_list else (f"发现 {n_findings} 项" if n_findings else "未发现资金使用问题")),
                   source, n_findings),
    ]


def _contract_money(contract, day_from, day_to, counters) -> dict:
    term_days = (contract.ends_on - contract.starts_on).days + 1
    days = (day_to - day_from).days + 1
    share = (contract.amount * Decimal(days) / Decimal(term_days)).quantize(Decimal("0.01"))
    months = months_between(day_from, day_to)
    delivered = sum(counters.total(c, months, "delivered") - counters.total(c, months, "refuted")
                    for c in {c for c, _m in counters.rows})
    per = (share / delivered).quantize(Decimal("0.01")) if delivered else None
    figure = (f"合同金额 {contract.amount:,} 元，本年度按天数分摊 {share:,} 元；有效服务记录 {delivered} 条"
              + (f"，每条约 {per:,} 元" if per is not None else ""))
    return _indicator("funds", "contract_amount", "合同金额与服务量", figure, "合同与服务记录", per,
                      amount=contract.amount, year_share=share, delivered=delivered)


def compute_indicators(contract: Contract, day_from: date, day_to: date) -> list[dict]:
    """Every indicator of the three dimensions, read from the platform's data now."""
    from reliefsvc.contracts.progress import Counters

    counters = Counters(contract)
    # a year still running is measured up to yesterday: targets of months to come are not yet owed
    so_far = min(day_to, today_local() - timedelta(days=1))
    if so_far < day_from:
        so_far = day_from
    return [
        _obligations(contract, day_from, so_far, counters),
        _alerts(contract, day_from, day_to),
        _rectifications(contract, day_from, day_to),
        _integrity(contract, day_from, day_to),
        _hiring(contract),
        _assessments(contract, day_from, day_to),
        _spotchecks(contract, day_from, day_to),
        _households(contract, day_from, day_to, counters),
        _discoveries(contract, day_from, day_to),
        *_payments(contract, day_from, day_to),
        _contract_money(contract, day_from, so_far, counters),
    ]


# --- opening ------------------------------------------------------------------------------------

def create_evaluation(contract: Contract, year_no: int, by_user, origin: str = "officer",
                      on: date | None = None) -> Evaluation:
    """Open the evaluation of one execution year. The daily job does this when the year has
    ended; an officer may open it earlier (e.g. before the contract is renewed)."""
    on = on or today_local()
    if contract.status is ContractStatus.DRAFT:
        raise EvaluationError("草稿合同不评估", "a draft contract is not evaluated")
    year = execution_year(contract, year_no)
    if year.day_from > on:
        raise EvaluationError("该执行年度尚未开始", "the execution year has not begun", "year_no")
    if find(contract, year_no) is not None:
        raise EvaluationError("该执行年度已有评估", "this execution year already has an evaluation", "year_no")
    ev = Evaluation(contract=contract, year_no=year.number, year=year.year, day_from=year.day_from,
                    day_to=year.day_to, due_on=rules.due_on(year.day_to, due_days()), status=EvaluationStatus.DRAFT,
                    origin=origin, created_by=by_user, created_at=utcnow())
    for position, (code, _name) in enumerate(rules.DIMENSIONS):
        ev.dimensions.append(EvaluationDimension(code=code, position=position))
    db.session.add(ev)
    _read_figures(ev)
    db.session.flush()
    audit.record(events.EvaluationCreated(evaluation_id=ev.id, contract_id=contract.id, year_no=ev.year_no,
                                          day_from=ev.day_from.isoformat(), day_to=ev.day_to.isoformat(),
                                          due_on=ev.due_on.isoformat(), origin=origin), actor=by_user)
    notifications.notify(users_of(Role.EVALUATOR, Role.OFFICER), "evaluation.to_score",
                         f"年度评估待评分：{_title(ev)}", f"请于 {_d(ev.due_on)} 前完成评估并签发。", link=_link(ev))
    return ev


def _read_figures(ev: Evaluation) -> None:
    ev.indicators = compute_indicators(ev.contract, ev.day_from, ev.day_to)
    ev.figures_at = utcnow()


def open_due(on: date | None = None, origin: str = "job") -> list[Evaluation]:
    """Open the evaluation of every execution year that ended before ``on`` and has none yet
    (the daily job). Contracts that never began (drafts) are not evaluated."""
    on = on or today_local()
    contracts = db.session.scalars(sa.select(Contract).where(Contract.status != ContractStatus.DRAFT)
                                   .order_by(Contract.contract_no)).all()
    have = set(db.session.execute(sa.select(Evaluation.contract_id, Evaluation.year_no)).all())
    made = []
    for contract in contracts:
        for year in execution_years(contract):
            if year.day_to < on and (contract.id, year.number) not in have:
                made.append(create_evaluation(contract, year.number, None, origin=origin, on=on))
    return made


def _frozen(ev: Evaluation) -> None:
    if ev.status is EvaluationStatus.SIGNED:
        raise EvaluationError("评估已签发，不能再修改", "the evaluation is signed and cannot change")


def _draft(ev: Evaluation) -> None:
    _frozen(ev)
    if ev.status is not EvaluationStatus.DRAFT:
        raise EvaluationError("评估已送承接主体征求意见，不能再评分", "the evaluation is with the provider; it is no "
                                                            "longer scored")


def refresh(ev: Evaluation, by_user) -> None:
    """Read the figures again (a late spot check, a payment decided) while a draft."""
    _draft(ev)
    _read_figures(ev)
    db.session.flush()
    audit.record(events.EvaluationFiguresRead(evaluation_id=ev.id,
                                              values={i["key"]: i["value"] for i in ev.indicators}), actor=by_user)


# --- scoring ------------------------------------------------------------------------------------

def _assessor(ev: Evaluation, by_user) -> None:
    if by_user is None:
        return
    if ev.assessor_id is not None and ev.assessor_id != by_user.id:
        raise EvaluationError(f"该评估由 {ev.assessor.display_name} 评分", "another evaluator is scoring this "
                                                                         "evaluation")
    ev.assessor = by_user


def score_dimension(ev: Evaluation, code: str, score, narrative: str, by_user) -> EvaluationDimension:
    """The evaluator's score (0–100) of one dimension, with its narrative (required)."""
    _draft(ev)
    dimension = ev.dimension(code)
    if dimension is None:
        raise EvaluationError("没有这个评估维度", "no such dimension", "code")
    try:
        value = Decimal(str(score)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError) as exc:
        raise EvaluationError("请填写 0 至 100 的分数", "please give a score from 0 to 100", "score") from exc
    if not value.is_finite() or not Decimal(0) <= value <= Decimal(100):
        raise EvaluationError("请填写 0 至 100 的分数", "please give a score from 0 to 100", "score")
    narrative = (narrative or "").strip()
    if not narrative:
        raise EvaluationError(f"请写明“{dimension.name}”的评价意见", f"please write the narrative of {code}",
                              "narrative")
    _assessor(ev, by_user)
    dimension.score, dimension.narrative = value, narrative
    dimension.scored_by, dimension.scored_at = by_user, utcnow()
    db.session.flush()
    audit.record(events.DimensionScored(evaluation_id=ev.id, dimension=code, score=str(value), narrative=narrative),
                 actor=by_user)
    return dimension


def conclude(ev: Evaluation, rating: str, rebuy: bool, summary: str, by_user) -> None:
    """The final rating, whether the bureau would buy from this provider again, and why."""
    _draft(ev)
    if rating not in rules.RATINGS:
        raise EvaluationError("请选择评估等级", "please choose the rating", "rating")
    summary = (summary or "").strip()
    if not summary:
        raise EvaluationError("请写明综合评价意见", "please write the overall conclusion", "summary")
    if rebuy is None:
        raise EvaluationError("请选择是否继续购买该承接主体的服务", "please say whether the bureau would buy again",
                              "rebuy")
    _assessor(ev, by_user)
    ev.rating, ev.rebuy, ev.summary = rating, bool(rebuy), summary
    db.session.flush()
    audit.record(events.EvaluationConcluded(evaluation_id=ev.id, rating=rating, rebuy=bool(rebuy), summary=summary),
                 actor=by_user)


def suggested_rating(ev: Evaluation) -> str | None:
    return rules.suggested_rating([d.score for d in ev.dimensions])


def mean_score(ev: Evaluation) -> Decimal | None:
    return rules.mean_score([d.score for d in ev.dimensions])


def missing(ev: Evaluation) -> list[tuple[str, str]]:
    """(zh, en) of what the evaluator has still to write."""
    problems = []
    for code in rules.missing_narratives([(d.code, d.score, d.narrative) for d in ev.dimensions]):
        problems.append((f"“{rules.DIMENSION_NAMES[code]}”尚未评分或缺少评价意见",
                         f"the dimension {code} has no score or no narrative"))
    if not ev.rating:
        problems.append(("尚未确定评估等级", "the rating is not set"))
    if ev.rebuy is None:
        problems.append(("尚未确定是否继续购买", "whether to buy again is not decided"))
    if not (ev.summary or "").strip():
        problems.append(("缺少综合评价意见", "the overall conclusion is missing"))
    return problems


def send_to_provider(ev: Evaluation, by_user, on: date | None = None) -> None:
    """Show the evaluation to the provider; its comment window starts today."""
    _draft(ev)
    problems = missing(ev)
    if problems:
        raise EvaluationError("；".join(p[0] for p in problems), "; ".join(p[1] for p in problems))
    on = on or today_local()
    ev.status, ev.sent_at, ev.comment_until = EvaluationStatus.COMMENTING, utcnow(), on + timedelta(days=comment_days())
    db.session.flush()
    audit.record(events.EvaluationSent(evaluation_id=ev.id, comment_until=ev.comment_until.isoformat()), actor=by_user)
    notifications.notify(provider_managers(ev.contract), "evaluation.for_comment",
                         f"年度评估征求意见：{_title(ev)}，评估等级 {rules.RATING_ZH[ev.rating]}",
                         f"请于 {_d(ev.comment_until)} 前提出意见；无其他意见的，可书面确认。", link=_link(ev))


# --- the provider's comment ------------------------------------------------------------------

def _open_window(ev: Evaluation, on: date | None) -> None:
    _frozen(ev)
    if not ev.window_open(on or today_local()):
        raise EvaluationError("意见反馈期未开始或已结束", "the comment window is not open")


def comment(ev: Evaluation, text: str, by_user, on: date | None = None) -> EvaluationComment:
    _open_window(ev, on)
    text = (text or "").strip()
    if not text:
        raise EvaluationError("请填写意见内容", "please write the comment", "text")
    c = EvaluationComment(evaluation=ev, kind="comment", text=text, by=by_user, at=utcnow())
    db.session.add(c)
    db.session.flush()
    audit.record(events.EvaluationCommented(evaluation_id=ev.id, comment_id=c.id, kind="comment", text=text),
                 actor=by_user)
    notifications.notify(users_of(Role.OFFICER), "evaluation.comment", f"承接主体对年度评估提出意见：{_title(ev)}",
                         text[:500], link=_link(ev))
    return c


def close_comments(ev: Evaluation, by_user, on: date | None = None) -> EvaluationComment:
    """The provider declares in writing that it has no further comments: the window closes."""
    _open_window(ev, on)
    c = EvaluationComment(evaluation=ev, kind="no_further", text="承接主体确认无其他意见", by=by_user, at=utcnow())
    ev.comments_closed_at = utcnow()
    db.session.add(c)
    db.session.flush()
    audit.record(events.EvaluationCommented(evaluation_id=ev.id, comment_id=c.id, kind="no_further", text=c.text),
                 actor=by_user)
    notifications.notify(users_of(Role.OFFICER), "evaluation.no_further",
                         f"承接主体确认无其他意见，年度评估可签发：{_title(ev)}", link=_link(ev))
    return c


# --- signing ------------------------------------------------------------------------------------

def scorers(ev: Evaluation) -> set[int]:
    """Everyone who scored or concluded it: none of them may sign it."""
    ids = {d.scored_by_id for d in ev.dimensions if d.scored_by_id is not None}
    if ev.assessor_id is not None:
        ids.add(ev.assessor_id)
    return ids


def sign_problems(ev: Evaluation, by_user=None, on: date | None = None) -> list[tuple[str, str]]:
    on = on or today_local()
    if ev.status is EvaluationStatus.SIGNED:
        return [("评估已签发", "the evaluation is already signed")]
    problems = list(missing(ev))
    if ev.status is EvaluationStatus.DRAFT:
        problems.append(("评估尚未送承接主体征求意见", "the evaluation has not been sent to the provider"))
    if ev.window_open(on):
        problems.append((f"意见反馈期至 {_d(ev.comment_until)}，期满或承接主体确认无其他意见后方可签发",
                         f"the comment window is open until {ev.comment_until.isoformat()}"))
    if by_user is not None and by_user.id in scorers(ev):
        problems.append(("评估人不能签发自己评分的评估，须由另一名复核人员签发",
                         "the evaluator who scored it cannot sign it; another officer reviews and signs"))
    return problems


def _next_doc_no(year: int) -> str:
    prefix = f"{doc_prefix()}〔{year}〕"
    existing = db.session.scalars(sa.select(Evaluation.doc_no).where(Evaluation.doc_no.like(f"{prefix}%"))).all()
    serials = [int(n[len(prefix):-1]) for n in existing if n and n.endswith("号") and n[len(prefix):-1].isdigit()]
    return rules.document_number(doc_prefix(), year, max(serials, default=0) + 1)


def sign(ev: Evaluation, by_user, on: date | None = None) -> None:
    """The reviewing officer signs: the evaluation is frozen and follows the provider."""
    if by_user is None or by_user.role is not Role.OFFICER:
        raise EvaluationError("只有采购经办人员可以签发评估", "only an officer signs an evaluation")
    problems = sign_problems(ev, by_user, on)
    if problems:
        raise EvaluationError("；".join(p[0] for p in problems), "; ".join(p[1] for p in problems))
    on = on or today_local()
    ev.doc_no = _next_doc_no(on.year)
    ev.status, ev.signed_by, ev.signed_at = EvaluationStatus.SIGNED, by_user, utcnow()
    db.session.flush()
    audit.record(events.EvaluationSigned(
        evaluation_id=ev.id, contract_id=ev.contract_id, year_no=ev.year_no, doc_no=ev.doc_no, rating=ev.rating,
        rebuy=bool(ev.rebuy), scores={d.code: str(d.score) for d in ev.dimensions}, assessor_id=ev.assessor_id),
        actor=by_user)
    notifications.notify(provider_managers(ev.contract) + users_of(Role.OFFICER, Role.EVALUATOR), "evaluation.signed",
                         f"年度评估已签发（{ev.doc_no}）：{_title(ev)}，评估等级 {rules.RATING_ZH[ev.rating]}",
                         link=_link(ev))


# --- reading ------------------------------------------------------------------------------------

def visible_query(user, status: str | None = None):
    query = sa.select(Evaluation).join(Contract, Contract.id == Evaluation.contract_id)
    if user.role not in BUREAU_ROLES:
        query = query.join(Provider, Provider.id == Contract.provider_id).where(
            Provider.organisation_id == user.organisation_id, Evaluation.status != EvaluationStatus.DRAFT)
    if status:
        query = query.where(Evaluation.status == status)
    return query.order_by(Evaluation.day_to.desc(), Contract.contract_no, Evaluation.id.desc())


def of_contract(contract: Contract) -> list[Evaluation]:
    return db.session.scalars(sa.select(Evaluation).where(Evaluation.contract_id == contract.id)
                              .order_by(Evaluation.year_no)).all()


def latest_signed(contract: Contract) -> Evaluation | None:
    return db.session.scalar(sa.select(Evaluation).where(Evaluation.contract_id == contract.id,
                                                         Evaluation.status == EvaluationStatus.SIGNED)
                             .order_by(Evaluation.day_to.desc()).limit(1))


def signed_for_provider(provider: Provider) -> list[Evaluation]:
    """The provider's signed evaluations, newest first: what the next vetting looks at."""
    return db.session.scalars(sa.select(Evaluation).join(Contract, Contract.id == Evaluation.contract_id).where(
        Contract.provider_id == provider.id, Evaluation.status == EvaluationStatus.SIGNED)
        .order_by(Evaluation.day_to.desc())).all()


@dataclass(frozen=True)
class ContractYear:
    contract: Contract
    year: rules.ExecutionYear
    due_on: date
    evaluation: Evaluation | None

    @property
    def days_late(self) -> int:
        return (today_local() - self.due_on).days


def overdue(on: date | None = None) -> list[ContractYear]:
    """Every ended contract-year without a signed evaluation by its due date (the clock):
    those never opened and those opened but not signed.

    Read from the columns the rule needs (a province has a thousand contracts, and the
    officer's home page asks every time); only the late contracts and evaluations are then
    loaded whole."""
    on = on or today_local()
    contracts = db.session.execute(
        sa.select(Contract.id, Contract.contract_no, Contract.starts_on, Contract.ends_on, Contract.status,
                  Contract.status_changed_on)
        .where(Contract.status != ContractStatus.DRAFT)).all()
    found = {(cid, n): (eid, due, status) for eid, cid, n, due, status in db.session.execute(
        sa.select(Evaluation.id, Evaluation.contract_id, Evaluation.year_no, Evaluation.due_on, Evaluation.status))}
    late, terms = [], {}  # contracts of a round share their term, hence their years
    for contract in contracts:
        term = (contract.starts_on, contract.ends_on, contract.status, contract.status_changed_on)
        if term not in terms:
            terms[term] = execution_years(contract)
        for year in terms[term]:
            if year.day_to >= on:
                continue
            eid, due, status = found.get((contract.id, year.number), (None, None, None))
            due = due if eid is not None else rules.due_on(year.day_to, due_days())
            if rules.is_overdue(due, status is EvaluationStatus.SIGNED, on):
                late.append((contract.id, year, due, eid))
    if not late:
        return []
    whole = {c.id: c for c in db.session.scalars(sa.select(Contract).where(Contract.id.in_({r[0] for r in late})))}
    evaluations = {e.id: e for e in db.session.scalars(
        sa.select(Evaluation).where(Evaluation.id.in_({r[3] for r in late if r[3] is not None})))}
    out = [ContractYear(whole[cid], year, due, evaluations.get(eid)) for cid, year, due, eid in late]
    return sorted(out, key=lambda cy: (cy.due_on, cy.contract.contract_no))


def years() -> list[int]:
    """Calendar years that have evaluations, newest first."""
    return sorted(db.session.scalars(sa.select(Evaluation.year).distinct()), reverse=True)


SORTS = {"contract": lambda e: e.contract.contract_no, "provider": lambda e: e.contract.provider.name,
         "rating": lambda e: rules.RATINGS.index(e.rating) if e.rating else 9,
         "mean": lambda e: -(mean_score(e) or Decimal(-1)),
         "management": lambda e: -(e.dimension("management").score or Decimal(-1)),
         "outcomes": lambda e: -(e.dimension("outcomes").score or Decimal(-1)),
         "funds": lambda e: -(e.dimension("funds").score or Decimal(-1)),
         "status": lambda e: e.status.value}


def comparison(year: int, sort: str = "mean") -> list[Evaluation]:
    """All evaluations of execution years beginning in ``year``, side by side."""
    found = db.session.scalars(sa.select(Evaluation).where(Evaluation.year == year)).all()
    return sorted(found, key=SORTS.get(sort, SORTS["mean"]))


def indicator_value(ev: Evaluation, key: str) -> str:
    return next((i["figure"] for i in ev.indicators or [] if i["key"] == key), "")


def comparison_rows(found: list[Evaluation]):
    for e in found:
        rate = next((i for i in e.indicators or [] if i["key"] == "false_service_rate"), None)
        yield {"contract": e.contract.contract_no, "provider": e.contract.provider.name, "year_no": e.year_no,
               "day_from": e.day_from, "day_to": e.day_to, "status": e.status.label,
               "management": e.dimension("management").score, "outcomes": e.dimension("outcomes").score,
               "funds": e.dimension("funds").score, "mean": mean_score(e),
               "rating": rules.RATING_ZH.get(e.rating or "", ""),
               "rebuy": "" if e.rebuy is None else ("是" if e.rebuy else "否"),
               "false_rate": Decimal(rate["value"]) if rate and rate["value"] is not None else None,
               "doc_no": e.doc_no or ""}


def write_comparison(target, year: int, sort: str = "mean") -> int:
    from reliefsvc.reports.excel import LedgerColumn, write_ledger

    columns = [LedgerColumn("contract", "合同编号"), LedgerColumn("provider", "承接主体"),
               LedgerColumn("year_no", "执行年度", "int"), LedgerColumn("day_from", "起始日期", "date"),
               LedgerColumn("day_to", "截止日期", "date"), LedgerColumn("status", "状态"),
               LedgerColumn("management", "项目管理得分", "text"), LedgerColumn("outcomes", "服务成效得分", "text"),
               LedgerColumn("funds", "经费使用得分", "text"), LedgerColumn("mean", "平均分", "text"),
               LedgerColumn("rating", "评估等级"), LedgerColumn("rebuy", "是否继续购买"),
               LedgerColumn("false_rate", "抽查虚假服务率", "percent"), LedgerColumn("doc_no", "文号")]

    def rows():
        for r in comparison_rows(comparison(year, sort)):
            yield {**r, **{k: ("" if r[k] is None else str(r[k])) for k in ("management", "outcomes", "funds", "mean")}}

    return write_ledger(target, columns, rows(), sheet_title=f"{year}年度评估",
                        title=f"{year}年度购买社会救助服务项目评估汇总")


# --- the report -----------------------------------------------------------------------------------

def spotcheck_draws(ev: Evaluation) -> list[dict]:
    """The spot-check draws of the year, with what makes them recomputable (seed, frame hash)."""
    from reliefsvc.spotchecks.models import DrawStatus, SpotCheckDraw

    draws = db.session.scalars(sa.select(SpotCheckDraw).where(
        SpotCheckDraw.contract_id == ev.contract_id, SpotCheckDraw.status == DrawStatus.DRAWN,
        SpotCheckDraw.day_from <= ev.day_to, SpotCheckDraw.day_to >= ev.day_from).order_by(SpotCheckDraw.day_from)).all()
    out = []
    for d in draws:
        outcomes = [i.outcome.value for i in d.items if i.outcome is not None]
        out.append({"id": d.id, "day_from": d.day_from, "day_to": d.day_to, "population": d.population_size,
                    "size": d.size, "risk_size": d.risk_size, "seed": d.seed or "", "frame_hash": d.frame_hash or "",
                    "checked": len(outcomes), "confirmed": outcomes.count("confirmed"),
                    "partly": outcomes.count("partly"), "not_delivered": outcomes.count("not_delivered")})
    return out


def charts(ev: Evaluation) -> dict:
    """SVG charts for the page and the report: monthly delivery and assessment scores."""
    from reliefsvc.assessments.service import signed_assessments
    from reliefsvc.contracts.progress import monthly_series
    from reliefsvc.reports.charts import bar_chart, line_chart

    months = set(months_between(ev.day_from, ev.day_to))
    series = [(m, d, a) for m, d, a in monthly_series(ev.contract) if m in months]
    delivery = line_chart([m[2:].replace("-", "/") for m, _d, _a in series],
                          {"提交": [d for _m, d, _a in series], "审核通过": [a for _m, _d, a in series]},
                          title="每月服务记录", unit="条") if series else None
    found = signed_assessments(ev.contract, ev.day_from, ev.day_to)
    scores = bar_chart([(a.period_key, a.total) for a in found], title="定期考核得分", unit="分") if found else None
    return {"delivery": delivery, "scores": scores}


def report_html(ev: Evaluation) -> str:
    """The HTML of the formal report (what :func:`render_report` lays out as a PDF)."""
    from flask_babel import force_locale

    from reliefsvc.reports.pdf import render_html

    with force_locale("zh_CN"):
        return render_html("evaluations/report.html", title="购买社会救助服务项目年度评估报告", ev=ev,
                           draft=ev.status is not EvaluationStatus.SIGNED, zh=rules.RATING_ZH,
                           dimensions=rules.DIMENSIONS, draws=spotcheck_draws(ev), charts=charts(ev),
                           mean=mean_score(ev), comments=[c for c in ev.comments if c.kind == "comment"],
                           closed=next((c for c in ev.comments if c.kind == "no_further"), None))


def render_report(ev: Evaluation) -> bytes:
    """The formal Chinese report (PDF); a draft prints marked 草稿."""
    from reliefsvc.reports.pdf import html_to_pdf

    return html_to_pdf(report_html(ev))


def report_filename(ev: Evaluation) -> str:
    return f"evaluation-{ev.contract_id}-{ev.year}-{ev.year_no}.pdf"


__all__ = ["EvaluationError", "Rating", "comparison", "create_evaluation", "latest_signed", "open_due", "overdue",
           "render_report", "sign", "signed_for_provider"]
