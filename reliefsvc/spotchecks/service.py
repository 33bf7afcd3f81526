"""Spot checks on the database: freeze the frame, enter the seed, draw, assign evaluators,
file checks, estimate, escalate, publish. Functions flush, never commit.

The maths is in ``rules``; this module only feeds it the frozen frame and stores what it
answers, so that anybody holding the seed and the population list gets the same sample.
"""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from reliefsvc import audit
from reliefsvc.cases.models import Case
from reliefsvc.common.errors import BilingualError
from reliefsvc.common.formatting import LOCAL_TZ, today_local
from reliefsvc.contracts.models import Contract, ContractStatus
from reliefsvc.db import utcnow
from reliefsvc.evidence import service as evidence
from reliefsvc.evidence.content import ContentError
from reliefsvc.evidence.models import RecordStatus, ServiceRecord
from reliefsvc.extensions import db
from reliefsvc.notifications import service as notifications
from reliefsvc.providers import service as providers
from reliefsvc.providers.models import RelationStatus
from reliefsvc.security.models import Role, User
from reliefsvc.spotchecks import events, rules
from reliefsvc.spotchecks.models import (
    CheckMethod,
    CheckOutcome,
    DrawStatus,
    SizeRule,
    SpotCheckDraw,
    SpotCheckItem,
    Stratum,
)

#: Days an officer gives the provider to put a false service right.
RECTIFICATION_DAYS = 15
#: An assigned check still open after this many days is reminded daily.
REMIND_AFTER_DAYS = 3
MAX_SEED_LENGTH = 200


class SpotCheckError(BilingualError):
    """A spot-check step that cannot be taken as asked."""


# --- the population ------------------------------------------------------------------------


def _local_bounds(day_from: date, day_to: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day_from, datetime.min.time(), LOCAL_TZ)
    end = datetime.combine(day_to, datetime.min.time(), LOCAL_TZ) + timedelta(days=1)
    return start, end


def population(contract: Contract, day_from: date, day_to: date) -> list[ServiceRecord]:
    """The spec's population: the contract's records started between ``day_from`` 00:00
    and ``day_to`` 23:59:59 local time, except those rejected at review."""
    start, end = _local_bounds(day_from, day_to)
    return db.session.scalars(
        sa.select(ServiceRecord).where(
            ServiceRecord.contract_id == contract.id, ServiceRecord.started_at >= start,
            ServiceRecord.started_at < end, ServiceRecord.status != RecordStatus.REJECTED)
        .order_by(ServiceRecord.record_ref)).all()


def _scores(records: list[ServiceRecord]) -> dict[str, float]:
    """Risk scores above zero (a record without one counts as 0.0 in the draw)."""
    return {r.record_ref: float(r.risk_score) for r in records if r.risk_score and r.risk_score > 0}


@dataclass
class Population:
    """The population as the draw needs it: refs in the frame's (Python string) order and
    the risk scores above zero. Two columns, no ORM objects: a province contract's year
    is a million records (bench/spotcheck_draw.py)."""

    refs: list[str]
    scores: dict[str, float]

    @functools.cached_property
    def frame(self) -> rules.Frame:
        """The refs checked, joined and hashed once (issue 16): kept in memory from
        ``freeze`` to the draw instead of being split, checked and hashed again."""
        return rules.Frame.of(self.refs)

    @property
    def frame_hash(self) -> str:
        """``rules.frame_hash`` of the refs."""
        return self.frame.digest


def population_frame(contract: Contract, day_from: date, day_to: date) -> Population:
    """``population`` as two columns (same records, same rule)."""
    start, end = _local_bounds(day_from, day_to)
    members = (ServiceRecord.contract_id == contract.id, ServiceRecord.started_at >= start,
               ServiceRecord.started_at < end, ServiceRecord.status != RecordStatus.REJECTED)
    # Through the session's connection, not session.execute: plain rows, without the
    # ORM's per-row processing (a third of the time at a million rows).
    connection = db.session.connection()
    # issue 16: the refs come as one text the database joins (string_agg / group_concat):
    # a million rows fetched one by one cost 0.75 s, the joined text and the few scored
    # rows 0.5 s. A ref with a line break in it would split into two: then the counts
    # differ and the rows are read one by one, where the frame's check names the culprit.
    count, joined = connection.execute(sa.select(sa.func.count(), _joined(connection, ServiceRecord.record_ref))
                                       .where(*members)).one()
    refs = joined.split("\n") if joined else []
    if len(refs) != count:
        refs = [ref for (ref,) in connection.execute(sa.select(ServiceRecord.record_ref).where(*members))]
    scores = {ref: float(score) for ref, score in connection.execute(
        sa.select(ServiceRecord.record_ref, ServiceRecord.risk_score).where(*members, ServiceRecord.risk_score > 0))}
    # Sorted here, not by the database: the frame is in Python's (code point) order,
    # which a PostgreSQL collation need not follow.
    refs.sort()
    return Population(refs, scores)


def _joined(connection, column) -> sa.ColumnElement[str]:
    """The column's values joined with line breaks, in no particular order."""
    if connection.dialect.name == "postgresql":
        return sa.func.string_agg(column, sa.literal_column("E'\\n'"))
    return sa.func.group_concat(column, sa.literal_column("char(10)"))


def _check_period(day_from: date, day_to: date) -> None:
    if day_from is None or day_to is None:
        raise SpotCheckError("请填写抽查期间", "the period is missing", "day_from")
    if day_to < day_from:
        raise SpotCheckError("期间的结束日期不能早于开始日期", "the period ends before it starts", "day_to")


# --- sample size ---------------------------------------------------------------------------


@dataclass
class SizeSettings:
    rule: SizeRule = SizeRule.SHARE
    min_count: int = 10
    share: Decimal = Decimal("0.05")
    confidence: Decimal = Decimal("0.95")
    tolerable_rate: Decimal = Decimal("0.05")
    expected_errors: int = 0
    #: The size for the fixed rule.
    size: int = 0
    risk_size: int = 0


def sample_size(settings: SizeSettings, population_size: int) -> int:
    """The random-stratum size the rule gives for a population of ``population_size``."""
    if settings.risk_size < 0 or settings.size < 0 or settings.min_count < 0 or settings.expected_errors < 0:
        raise SpotCheckError("样本量不能为负数", "sizes cannot be negative", "size")
    if settings.rule is SizeRule.FIXED:
        return min(settings.size, population_size)
    if settings.rule is SizeRule.SHARE:
        try:
            return rules.sample_size_by_share(population_size, settings.min_count, settings.share)
        except ValueError as exc:
            raise SpotCheckError("抽查比例须在 0 到 100% 之间", str(exc), "share") from None
    if population_size == 0:
        return 0
    try:
        # With the population size: the hypergeometric count, smaller for small frames.
        return rules.attribute_sample_size(settings.confidence, settings.tolerable_rate,
                                           settings.expected_errors, population_size)
    except ValueError as exc:
        # The population is too small for the errors allowed: only a census decides.
        if "census" in str(exc) or "only checking every record" in str(exc):
            return population_size
        raise SpotCheckError("置信度和可容忍率须在 0 到 100% 之间（不含两端）", str(exc), "confidence") from None


# --- draws: propose, freeze, seed ----------------------------------------------------------


def propose(contract: Contract, day_from: date, day_to: date) -> SpotCheckDraw:
    """A draw the monthly job suggests; an officer freezes and draws it."""
    _check_period(day_from, day_to)
    draw = SpotCheckDraw(contract=contract, day_from=day_from, day_to=day_to, status=DrawStatus.PROPOSED,
                         origin="job", proposed_at=utcnow())
    db.session.add(draw)
    db.session.flush()
    audit.record(events.DrawProposed(draw_id=draw.id, contract_id=contract.id, day_from=day_from.isoformat(),
                                     day_to=day_to.isoformat()))
    return draw


def new_draw(contract: Contract, day_from: date, day_to: date, settings: SizeSettings, user: User | None,
             origin: str = "web", *, frame: Population | None = None) -> SpotCheckDraw:
    """Create a draw and freeze its frame at once (the usual path from the contract page)."""
    _check_period(day_from, day_to)
    if contract.status is ContractStatus.DRAFT:
        raise SpotCheckError("草稿合同没有服务记录可抽查", "a draft contract has no records to check")
    draw = SpotCheckDraw(contract=contract, day_from=day_from, day_to=day_to, status=DrawStatus.PROPOSED,
                         origin=origin)
    db.session.add(draw)
    freeze(draw, settings, user, frame=frame)
    return draw


def freeze(draw: SpotCheckDraw, settings: SizeSettings, user: User | None,
           day_from: date | None = None, day_to: date | None = None, *, frame: Population | None = None) -> None:
    """Store the sampling frame (sorted refs, SHA-256, risk scores) and the sample size,
    before anybody knows the seed. ``frame``: the population of the draw's contract and
    period, when the caller has just read it."""
    if draw.status not in (None, DrawStatus.PROPOSED):  # None: not flushed yet, so proposed
        raise SpotCheckError("抽样框已冻结，不能再改", "the frame is already frozen")
    if day_from is not None and day_to is not None:
        _check_period(day_from, day_to)
        draw.day_from, draw.day_to = day_from, day_to
    if frame is None or day_from is not None:
        frame = population_frame(draw.contract, draw.day_from, draw.day_to)
    refs = frame.refs
    size = sample_size(settings, len(refs))
    if not refs:
        raise SpotCheckError("该期间没有可抽查的服务记录", "no records in this period to draw from", "day_from")
    if settings.risk_size > len(refs) - size:
        raise SpotCheckError(f"风险样本最多 {len(refs) - size} 条（总体 {len(refs)} 条，随机样本 {size} 条）",
                             "the risk stratum is larger than the records left", "risk_size")
    draw.size_rule = settings.rule
    draw.min_count, draw.share = settings.min_count, Decimal(settings.share)
    draw.confidence, draw.tolerable_rate = Decimal(settings.confidence), Decimal(settings.tolerable_rate)
    draw.expected_errors = settings.expected_errors
    draw.size = draw.initial_size = size
    draw.risk_size = settings.risk_size
    draw.population_size = len(refs)
    draw.frame_text = frame.frame.text  # the refs (sorted) joined with "\n", as hashed
    draw.frame_hash = frame.frame_hash
    draw.risk_scores = frame.scores
    draw.frozen_at, draw.frozen_by = utcnow(), user
    draw.status = DrawStatus.FROZEN
    db.session.flush()
    audit.record(events.FrameFrozen(
        draw_id=draw.id, contract_id=draw.contract_id, day_from=draw.day_from.isoformat(),
        day_to=draw.day_to.isoformat(), population_size=draw.population_size, frame_hash=draw.frame_hash,
        size_rule=draw.size_rule.value, size=draw.size, risk_size=draw.risk_size))


def _rules_draw(draw: SpotCheckDraw, size: int | None = None, frame: rules.Frame | None = None) -> rules.Draw:
    """The draw as the pure maths sees it, from the frozen frame, seed and scores.

    ``frame``: the frozen frame when the caller still holds it (checked and hashed at
    freeze); it is used only when its hash is the stored one. Otherwise the stored frame
    text is read and checked again."""
    if frame is None or frame.digest != draw.frame_hash:
        frame = rules.Frame.of_text(draw.frame_text or "")
    return rules.draw_frame(frame, draw.seed, draw.size if size is None else size,
                            draw.risk_scores or {}, draw.risk_size)


def enter_seed(draw: SpotCheckDraw, seed: str, rolled_by: str, witnesses: str, rolled_at: datetime | None,
               user: User | None, origin: str | None = None, *, frame: rules.Frame | None = None) -> rules.Draw:
    """Enter the seed, draw the sample from the frozen frame and assign the evaluators.
    ``frame``: the frame ``freeze`` stored, if the caller holds it (see ``_rules_draw``)."""
    if draw.status is not DrawStatus.FROZEN:
        raise SpotCheckError("只有已冻结抽样框、尚未抽取的抽查才能录入种子",
                             "the seed can be entered only once, after the frame is frozen")
    seed = (seed or "").strip()
    if not seed:
        raise SpotCheckError("请填写随机种子", "the seed is missing", "seed")
    if len(seed) > MAX_SEED_LENGTH or "\n" in seed or "\r" in seed:
        raise SpotCheckError(f"种子须为一行，最多 {MAX_SEED_LENGTH} 个字符", "the seed must be one short line", "seed")
    if not (rolled_by or "").strip():
        raise SpotCheckError("请填写掷骰子（产生种子）的人", "say who rolled the dice", "rolled_by")
    draw.seed = seed
    draw.seed_rolled_by = rolled_by.strip()[:200]
    draw.seed_witnesses = (witnesses or "").strip()[:300]
    draw.seed_rolled_at = rolled_at or utcnow()
    draw.drawn_at, draw.drawn_by = utcnow(), user
    draw.status = DrawStatus.DRAWN
    result = _rules_draw(draw, frame=frame)
    records = _records_by_ref(draw, result.refs)
    now = utcnow()
    items = [SpotCheckItem(draw=draw, record=records[row.record_ref], record_ref=row.record_ref,
                           ticket=row.ticket_hex, stratum=Stratum(row.stratum), round=0) for row in result.rows]
    db.session.add_all(items)
    db.session.flush()
    audit.record(events.SpotCheckDrawn(
        draw_id=draw.id, seed=seed, seed_rolled_by=draw.seed_rolled_by, seed_witnesses=draw.seed_witnesses,
        seed_rolled_at=draw.seed_rolled_at.isoformat(), frame_hash=draw.frame_hash, size=draw.size,
        risk_size=draw.risk_size, record_refs=list(result.refs), origin=origin or draw.origin))
    assign(draw, items, 0, now)
    return result


def _records_by_ref(draw: SpotCheckDraw, refs) -> dict[str, ServiceRecord]:
    refs = list(refs)
    found = {}
    for start in range(0, len(refs), 500):
        chunk = refs[start:start + 500]
        # What the evaluators' conflict check reads, loaded with the records, not one by one.
        for r in db.session.scalars(sa.select(ServiceRecord).where(
                ServiceRecord.contract_id == draw.contract_id, ServiceRecord.record_ref.in_(chunk))
                .options(selectinload(ServiceRecord.case).selectinload(Case.members))):
            found[r.record_ref] = r
    missing = [ref for ref in refs if ref not in found]
    if missing:  # records are never deleted (RESTRICT); this would be a damaged database
        raise SpotCheckError(f"抽样框中的记录已不存在：{missing[0]}", f"record {missing[0]} is gone")
    return found


# --- evaluators (the second 随机) -----------------------------------------------------------


def evaluator_pool() -> list[User]:
    return db.session.scalars(sa.select(User).where(User.role == Role.EVALUATOR, User.is_enabled.is_(True))
                              .order_by(User.id)).all()


def _related_to(evaluator: User, relation) -> bool:
    """A provider's relation (declared by it or found by the platform) names this evaluator."""
    if relation.status is RelationStatus.DISMISSED:
        return False
    detail = (relation.related_detail or "").strip()
    return (relation.related_name.strip() == evaluator.display_name.strip()
            or detail == evaluator.username or detail.endswith(f"· {evaluator.username}"))


def _household_names(record: ServiceRecord) -> set[str]:
    case = record.case
    if case is None:
        return set()
    return {case.head_name.strip(), *(m.name.strip() for m in case.members)}


def conflicts(evaluator: User, records: list[ServiceRecord]) -> dict[str, str]:
    """The records this evaluator may not check, each with the reason (in Chinese).

    Never the officer who reviewed the record; never someone a provider's relation
    (declared or found, not dismissed) names; never a member of the household served.
    """
    reasons: dict[str, str] = {}
    by_provider: dict[int, bool] = {}
    for record in records:
        provider = record.contract.provider
        if provider.id not in by_provider:
            by_provider[provider.id] = any(_related_to(evaluator, rel) for rel in providers.relations_of(provider))
        if record.reviewed_by_id == evaluator.id:
            reasons[record.record_ref] = "审核过该记录"
        elif by_provider[provider.id]:
            reasons[record.record_ref] = "与承接主体人员有申报或发现的亲属关系"
        elif evaluator.display_name.strip() in _household_names(record):
            reasons[record.record_ref] = "与服务家庭同名（可能为家庭成员）"
    return reasons


def assign(draw: SpotCheckDraw, items: list[SpotCheckItem], round_: int, now: datetime | None = None) -> None:
    """Give each item to an evaluator without a conflict, seeded by the draw's seed."""
    now = now or utcnow()
    pool = evaluator_pool()
    records = [i.record for i in items]
    banned = {ev.id: conflicts(ev, records) for ev in pool}
    # The record ref stands in the "village" slot of rules.assign: every conflict here is
    # per record (reviewer, relation, household), so each evaluator's banned refs are it.
    result = rules.assign([(i.record_ref, i.record_ref, i.record.contract.provider_id) for i in items],
                          [(str(ev.id), set(banned[ev.id]), set()) for ev in pool], draw.seed)
    by_id = {ev.id: ev for ev in pool}
    for item in items:
        holder = result.by_ref.get(item.record_ref)
        item.evaluator = by_id[int(holder)] if holder is not None else None
        item.assigned_at = now if holder is not None else None
    db.session.flush()
    audit.record(events.EvaluatorsAssigned(
        draw_id=draw.id, round=round_, assignment={ref: int(e) for ref, e in result.by_ref.items()},
        unassignable=list(result.unassignable)))
    for ev_id, load in Counter(int(e) for e in result.by_ref.values()).items():
        notifications.notify([ev_id], "spotcheck.assigned",
                             f"抽查任务：合同 {draw.contract.contract_no} 有 {load} 条服务记录待您核查",
                             "请电话回访或上门复核，并填写核查结果。", link=f"/spotchecks/{draw.id}")
    if result.unassignable:
        notifications.notify(_officers(), "spotcheck.unassignable",
                             f"抽查 {draw.id}：{len(result.unassignable)} 条记录没有无利害关系的评估人员",
                             "请另请评估人员核查：" + "、".join(result.unassignable), link=f"/spotchecks/{draw.id}")


def _officers() -> list[int]:
    return db.session.scalars(sa.select(User.id).where(User.role == Role.OFFICER, User.is_enabled.is_(True))).all()


# --- the check -----------------------------------------------------------------------------


@dataclass
class CheckInput:
    outcome: CheckOutcome | str
    method: CheckMethod | str
    service_happened: bool
    minutes: int | None = None
    what_done: str = ""
    satisfaction: int | None = None
    remarks: str = ""
    photo: evidence.Upload | None = None


def file_check(item: SpotCheckItem, data: CheckInput, user: User) -> None:
    """The evaluator's result. "Not delivered" refutes the record (out of progress and
    payment) and raises a rectification notice to the provider."""
    if item.draw.status is not DrawStatus.DRAWN:
        raise SpotCheckError("该抽查尚未抽取", "the draw has not been made")
    if item.outcome is not None:
        raise SpotCheckError("该记录的核查结果已填报", "this check has already been filed")
    if item.evaluator_id != user.id:
        raise SpotCheckError("这条记录没有分配给您核查", "this check is not assigned to you")
    try:
        outcome, method = CheckOutcome(data.outcome), CheckMethod(data.method)
    except ValueError:
        raise SpotCheckError("请选择核查方式和核查结论", "choose a method and an outcome", "outcome") from None
    if data.satisfaction is not None and not 1 <= data.satisfaction <= 5:
        raise SpotCheckError("满意度须为 1 到 5", "satisfaction must be 1 to 5", "satisfaction")
    if data.minutes is not None and not 0 <= data.minutes <= 24 * 60:
        raise SpotCheckError("服务时长须在 0 到 1440 分钟之间", "minutes out of range", "minutes")
    if not data.service_happened and outcome is not CheckOutcome.NOT_DELIVERED:
        raise SpotCheckError("服务没有发生时，结论只能是“未提供服务”",
                             "a service that did not happen can only be not delivered", "outcome")
    if outcome is not CheckOutcome.CONFIRMED and not (data.remarks or "").strip():
        raise SpotCheckError("结论不是“属实”时，须在备注中写明发现的情况",
                             "say what was found when the service is not confirmed", "remarks")
    if method is CheckMethod.REVISIT and data.photo is None:
        raise SpotCheckError("上门复核须附现场照片", "a revisit needs a photo", "photo")
    photo = None
    if data.photo is not None:
        try:
            photo = evidence.store_photo(data.photo)
        except ContentError as exc:
            raise SpotCheckError(f"照片：{exc.zh}", f"photo: {exc.en}", "photo") from None
    item.outcome, item.method, item.service_happened = outcome, method, bool(data.service_happened)
    item.minutes, item.satisfaction = data.minutes, data.satisfaction
    item.what_done, item.remarks = (data.what_done or "").strip(), (data.remarks or "").strip()
    item.photo = photo
    item.checked_at, item.checked_by = utcnow(), user
    db.session.flush()
    if outcome is CheckOutcome.NOT_DELIVERED:
        record = item.record
        reason = f"随机抽查（抽查 {item.draw_id}）认定未提供服务：{item.remarks}"
        evidence.mark_refuted(record, user, reason)
        notice = _raise_notice(item, user)
        item.notice_id = getattr(notice, "id", None)
        notifications.notify(_officers(), "spotcheck.not_delivered",
                             f"抽查发现虚假服务：{record.contract.contract_no} 记录 {record.record_ref}",
                             item.remarks, link=f"/spotchecks/{item.draw_id}/checks/{item.id}")
    audit.record(events.CheckFiled(
        item_id=item.id, draw_id=item.draw_id, record_id=item.record_id, record_ref=item.record_ref,
        outcome=outcome.value, method=method.value, photo_sha256=photo.sha256 if photo else None,
        notice_id=item.notice_id))


def rectifications_service():
    """The rectifications domain's service, or None while it is not installed."""
    try:
        from reliefsvc.rectifications import service as rectifications
    except ModuleNotFoundError as exc:
        if exc.name != "reliefsvc.rectifications.service":
            raise
        return None
    return rectifications if hasattr(rectifications, "raise_notice") else None


def _raise_notice(item: SpotCheckItem, user: User):
    rectifications = rectifications_service()
    if rectifications is None:
        return None
    record = item.record
    what = (f"服务记录 {record.record_ref}（{record.service_type.name_zh}，"
            f"{record.started_at.astimezone(LOCAL_TZ):%Y-%m-%d}）经随机抽查认定未提供服务："
            "说明情况，退回或不申领该项服务费用，并补足应提供的服务")
    rule = "合同约定的服务须真实提供，不得虚报服务记录（虚假服务）"
    return rectifications.raise_notice(record.contract, [(what, rule)], today_local() + timedelta(days=RECTIFICATION_DAYS),
                                       "spotcheck", user, record=record)


# --- results and escalation ----------------------------------------------------------------


@dataclass
class Tally:
    checked: int = 0
    confirmed: int = 0
    partly: int = 0
    not_delivered: int = 0
    open: int = 0

    @classmethod
    def of(cls, items) -> Tally:
        tally = cls()
        for item in items:
            if item.outcome is None:
                tally.open += 1
                continue
            tally.checked += 1
            setattr(tally, item.outcome.value, getattr(tally, item.outcome.value) + 1)
        return tally


@dataclass
class DrawResults:
    random: Tally
    risk: Tally
    #: The estimate from the random stratum, once every random record is checked.
    estimate: rules.Estimate | None
    #: The upper bound has not shown the rate below the tolerable rate.
    needs_escalation: bool = False
    #: The random-stratum size to escalate to, when more sampling can decide.
    escalate_to: int | None = None
    #: The false rate found is itself at or above the tolerable rate: act on it.
    act_on_finding: bool = False
    avg_satisfaction: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.random.open == 0


def results(draw: SpotCheckDraw) -> DrawResults:
    random_tally, risk_tally = Tally.of(draw.random_items), Tally.of(draw.risk_items)
    scores = [i.satisfaction for i in draw.items if i.satisfaction is not None]
    out = DrawResults(random_tally, risk_tally, None,
                      avg_satisfaction=sum(scores) / len(scores) if scores else None)
    if draw.status is not DrawStatus.DRAWN or not draw.random_items or random_tally.open:
        return out
    outcomes = [i.outcome.value for i in draw.random_items]
    estimate = rules.estimate_false_rate(outcomes, confidence=draw.confidence)
    out.estimate = estimate
    if rules.needs_escalation(estimate.upper_one_sided, draw.tolerable_rate):
        out.needs_escalation = True
        observed = Decimal(str(estimate.false_count)) / estimate.checked
        if observed >= draw.tolerable_rate:
            out.act_on_finding = True
        elif draw.size < draw.population_size:
            suggested = rules.suggest_escalation_size(estimate, draw.tolerable_rate,
                                                      max_size=draw.population_size)
            out.escalate_to = min(suggested or draw.population_size, draw.population_size)
    return out


def escalate(draw: SpotCheckDraw, new_size: int, user: User | None) -> list[SpotCheckItem]:
    """Grow the random stratum over the same frozen frame and seed: the next tickets."""
    if draw.status is not DrawStatus.DRAWN:
        raise SpotCheckError("尚未抽取，不能扩大样本", "the draw has not been made")
    if new_size <= draw.size:
        raise SpotCheckError(f"新的样本量须大于现在的 {draw.size}", "escalation must grow the sample", "new_size")
    if new_size > draw.population_size:
        raise SpotCheckError(f"样本量不能超过总体 {draw.population_size} 条", "larger than the population",
                             "new_size")
    previous = _rules_draw(draw)
    grown = rules.escalate(previous, new_size)
    existing = {i.record_ref: i for i in draw.items}
    moved = []
    for row in grown.rows:
        item = existing.get(row.record_ref)
        if item is not None and item.stratum.value != row.stratum:
            item.stratum = Stratum(row.stratum)
            moved.append(row.record_ref)
    new_rows = rules.newly_drawn(previous, grown)
    round_ = draw.escalations + 1
    records = _records_by_ref(draw, [r.record_ref for r in new_rows])
    added = [SpotCheckItem(draw=draw, record=records[r.record_ref], record_ref=r.record_ref, ticket=r.ticket_hex,
                           stratum=Stratum(r.stratum), round=round_) for r in new_rows]
    db.session.add_all(added)
    from_size = draw.size
    draw.size, draw.escalations = new_size, round_
    db.session.flush()
    audit.record(events.SampleEscalated(draw_id=draw.id, from_size=from_size, to_size=new_size,
                                        added_refs=[r.record_ref for r in new_rows], moved_to_random=moved))
    if added:
        assign(draw, added, round_)
    return added


def publish(draw: SpotCheckDraw, user: User) -> None:
    """Make the draw's parameters and results public (一公开), without personal data."""
    if draw.status is not DrawStatus.DRAWN:
        raise SpotCheckError("尚未抽取的抽查不能公开", "only a drawn sample can be published")
    if draw.published_at is not None:
        return
    draw.published_at, draw.published_by = utcnow(), user
    db.session.flush()
    tally = Tally.of(draw.items)
    audit.record(events.ResultsPublished(draw_id=draw.id, checked=tally.checked, not_delivered=tally.not_delivered))


def contract_results(contract: Contract, day_from: date, day_to: date) -> dict:
    """Spot-check results of a contract over a period, for the assessment rubric.

    Counts the random strata of the drawn samples whose period overlaps [day_from,
    day_to] and whose random stratum is fully checked — an unfinished stratum would bias
    the rate (the easy visits are done first). The risk strata are counted apart and
    never enter the rate. ``false_rate``, ``lower`` and ``upper`` (two-sided 95 %
    Clopper–Pearson) are None when nothing is checked.
    """
    draws = db.session.scalars(
        sa.select(SpotCheckDraw).where(SpotCheckDraw.contract_id == contract.id,
                                       SpotCheckDraw.status == DrawStatus.DRAWN,
                                       SpotCheckDraw.day_from <= day_to, SpotCheckDraw.day_to >= day_from)
        .options(selectinload(SpotCheckDraw.items)).order_by(SpotCheckDraw.id)).all()
    finished = [d for d in draws if d.random_items and all(i.outcome is not None for i in d.random_items)]
    random_items = [i for d in finished for i in d.random_items]
    tally = Tally.of(random_items)
    risk = Tally.of([i for d in draws for i in d.risk_items])
    pending = sum(1 for d in draws for i in d.items if i.outcome is None)
    out = {"checked": tally.checked, "confirmed": tally.confirmed, "partly": tally.partly,
           "not_delivered": tally.not_delivered, "false_rate": None, "lower": None, "upper": None,
           "upper_one_sided": None, "confidence": 0.95, "draws": len(draws), "finished_draws": len(finished),
           "pending_checks": pending,
           "risk": {"checked": risk.checked, "confirmed": risk.confirmed, "partly": risk.partly,
                    "not_delivered": risk.not_delivered}}
    if tally.checked:
        estimate = rules.estimate_false_rate([i.outcome.value for i in random_items], confidence=Decimal("0.95"))
        out.update(false_rate=estimate.rate, lower=estimate.lower, upper=estimate.upper,
                   upper_one_sided=estimate.upper_one_sided)
    return out


# --- lists ---------------------------------------------------------------------------------


def draws_of(contract: Contract) -> list[SpotCheckDraw]:
    return db.session.scalars(sa.select(SpotCheckDraw).where(SpotCheckDraw.contract_id == contract.id)
                              .order_by(SpotCheckDraw.id.desc())).all()


def all_draws(limit: int = 200) -> list[SpotCheckDraw]:
    return db.session.scalars(sa.select(SpotCheckDraw).order_by(SpotCheckDraw.id.desc()).limit(limit)).all()


def open_checks_of(user: User) -> list[SpotCheckItem]:
    return db.session.scalars(
        sa.select(SpotCheckItem).join(SpotCheckDraw).where(
            SpotCheckItem.evaluator_id == user.id, SpotCheckItem.outcome.is_(None),
            SpotCheckDraw.status == DrawStatus.DRAWN)
        .order_by(SpotCheckItem.assigned_at, SpotCheckItem.id)).all()


def checks_of_record(record: ServiceRecord) -> list[SpotCheckItem]:
    return db.session.scalars(sa.select(SpotCheckItem).where(SpotCheckItem.record_id == record.id)
                              .order_by(SpotCheckItem.id)).all()


def published_draws() -> list[SpotCheckDraw]:
    return db.session.scalars(sa.select(SpotCheckDraw).where(SpotCheckDraw.published_at.is_not(None))
                              .order_by(SpotCheckDraw.published_at.desc())).all()


def find_contract(contract_no: str) -> Contract | None:
    return db.session.scalar(sa.select(Contract).where(Contract.contract_no == contract_no.strip()))


# --- the command line ----------------------------------------------------------------------


def cli_draw(contract: Contract, day_from: date, day_to: date, seed: str, size: int,
             risk_size: int = 0) -> tuple[SpotCheckDraw, rules.Draw, bool]:
    """``spotcheck draw``: freeze, seed and draw in one go, and record it like a page draw.

    A repeated command with the same contract, period, seed, sizes and an unchanged frame
    finds the draw it made before instead of storing a second one (third value False).
    """
    _check_period(day_from, day_to)
    frame = population_frame(contract, day_from, day_to)
    refs = frame.refs
    digest = frame.frame_hash
    existing = db.session.scalar(sa.select(SpotCheckDraw).where(
        SpotCheckDraw.contract_id == contract.id, SpotCheckDraw.day_from == day_from,
        SpotCheckDraw.day_to == day_to, SpotCheckDraw.seed == seed, SpotCheckDraw.frame_hash == digest,
        SpotCheckDraw.initial_size == min(size, len(refs)), SpotCheckDraw.risk_size == risk_size,
        SpotCheckDraw.escalations == 0))
    if existing is not None:
        return existing, _rules_draw(existing, frame=frame.frame), False
    draw = new_draw(contract, day_from, day_to, SizeSettings(rule=SizeRule.FIXED, size=size, risk_size=risk_size),
                    None, origin="cli", frame=frame)
    result = enter_seed(draw, seed, "命令行 reliefsvc spotcheck draw", "", None, None, origin="cli",
                        frame=frame.frame)
    return draw, result, True


def stored_draw(contract: Contract, day_from: date, day_to: date, seed: str) -> SpotCheckDraw | None:
    """The latest drawn sample of this contract, period and seed, if the platform made one."""
    return db.session.scalar(sa.select(SpotCheckDraw).where(
        SpotCheckDraw.contract_id == contract.id, SpotCheckDraw.day_from == day_from,
        SpotCheckDraw.day_to == day_to, SpotCheckDraw.seed == seed, SpotCheckDraw.status == DrawStatus.DRAWN)
        .order_by(SpotCheckDraw.id.desc()))


def verify_published(csv_text: str, contract: Contract, day_from: date, day_to: date, seed: str,
                     frame_hash: str | None = None, size: int | None = None,
                     risk_size: int | None = None) -> tuple[rules.VerifyResult, SpotCheckDraw | None]:
    """Recompute a published draw from the population as it stands now.

    The frame hash to compare with is the stored draw's (or ``frame_hash`` when given);
    the risk scores are the ones frozen with the stored draw, so that a later integrity
    run does not change the risk stratum retroactively.
    """
    frame = population_frame(contract, day_from, day_to)
    refs = frame.refs
    draw = stored_draw(contract, day_from, day_to, seed)
    expected = frame_hash or (draw.frame_hash if draw is not None else None)
    if expected is None:
        raise SpotCheckError("平台上没有该合同、期间和种子的抽查记录；请用 --frame-hash 给出公布的抽样框哈希",
                             "no stored draw for this contract, period and seed; give --frame-hash")
    if draw is not None:
        scores = draw.risk_scores or {}
        size = draw.size if size is None else size
        risk_size = draw.risk_size if risk_size is None else risk_size
    else:
        scores = frame.scores
    result = rules.verify(csv_text, refs, seed, scores, expected_frame_hash=expected, size=size,
                          risk_size=risk_size)
    return result, draw
