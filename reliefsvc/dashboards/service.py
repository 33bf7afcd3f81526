"""What each role sees first: a fixed handful of aggregate queries per dashboard.

Speed is the design constraint: the officer's and the provider manager's home page must
answer in well under 150 ms with a million service records on PostgreSQL. So every
figure here is one ``GROUP BY`` over a kept counter (``progress_month``,
``progress_month_case``) or an indexed table, and no query is ever issued per contract,
per obligation or per row: the number of queries of a dashboard does not depend on the
amount of data (``tests/dashboards/test_query_counts.py`` holds it to that).

The functions return plain dicts and dataclasses; the views add URLs and render.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from reliefsvc.common.formatting import LOCAL_TZ
from reliefsvc.contracts import rules as contract_rules
from reliefsvc.contracts.models import (
    Contract,
    ContractStatus,
    MonthCase,
    MonthCounter,
    Obligation,
    ServiceType,
    Unit,
)
from reliefsvc.extensions import db
from reliefsvc.providers.models import Provider
from reliefsvc.security.models import Role

#: Contracts a dashboard follows: those under way.
RUNNING = (ContractStatus.ACTIVE, ContractStatus.SUSPENDED)
#: Months in an obligation's period (as contracts.progress).
MONTHS_PER = {"month": 1, "quarter": 3, "year": 12}
#: How many months the delivery chart shows.
CHART_MONTHS = 12


def local_start(day: date) -> datetime:
    """Midnight at the start of ``day`` in the county, as an aware datetime."""
    return datetime.combine(day, time(0), LOCAL_TZ)


def week_bounds(today: date) -> tuple[date, date]:
    """Monday and Sunday of the week ``today`` falls in (county offices plan by the week)."""
    monday = today - timedelta(days=today.weekday())
    return monday, monday + timedelta(days=6)


def last_months(today: date, n: int = CHART_MONTHS) -> list[str]:
    """The ``n`` month keys ending with the current one, oldest first."""
    keys, year, month = [], today.year, today.month
    for _ in range(n):
        keys.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return keys[::-1]


def own_contract_ids(user) -> sa.Select:
    """Subquery: the ids of the contracts of the user's organisation (a provider's people)."""
    return (sa.select(Contract.id).join(Provider, Provider.id == Contract.provider_id)
            .where(Provider.organisation_id == user.organisation_id))


def _scoped(column, user):
    """``column`` (a contract id) limited to what ``user`` may see."""
    if user.role.is_provider:
        return column.in_(own_contract_ids(user))
    return sa.true()


# --- contract progress ------------------------------------------------------------------------

@dataclass(slots=True)
class ContractRow:
    id: int
    contract_no: str
    title: str
    provider_name: str
    status: ContractStatus
    starts_on: date
    ends_on: date
    #: delivered (each obligation capped at what is due so far) / due so far; None: nothing due yet
    progress: Decimal | None = None
    grade: str | None = None
    grade_period: str | None = None
    risk_level: str | None = None
    risk_score: int | None = None
    open_flags: int = 0
    checked: int = 0
    not_delivered: int = 0

    @property
    def false_rate(self) -> Decimal | None:
        return (Decimal(self.not_delivered) / self.checked).quantize(Decimal("0.0001")) if self.checked else None


def _elapsed_months(starts_on: date, ends_on: date, today: date) -> list[str]:
    """Month keys of the term from its start up to and including the current month."""
    if today < starts_on:
        return []
    last = min(today, ends_on)
    return contract_rules.periods_in_term("month", starts_on, last)


def _obligation_rows(contract_ids: sa.Select | list[int]):
    return db.session.execute(
        sa.select(Obligation.contract_id, Obligation.service_type_code, Obligation.period, Obligation.target,
                  Obligation.unit, ServiceType.name_zh)
        .join(ServiceType, ServiceType.code == Obligation.service_type_code)
        .where(Obligation.contract_id.in_(contract_ids), Obligation.ended_in_version.is_(None))
        .order_by(Obligation.contract_id, Obligation.id)).all()


def _counter_sums(contract_ids, months: list[str] | None = None):
    """(contract, type) → (delivered − refuted, minutes) in one GROUP BY over the month counters."""
    query = (sa.select(MonthCounter.contract_id, MonthCounter.service_type_code,
                       sa.func.sum(MonthCounter.delivered - MonthCounter.refuted), sa.func.sum(MonthCounter.minutes))
             .where(MonthCounter.contract_id.in_(contract_ids))
             .group_by(MonthCounter.contract_id, MonthCounter.service_type_code))
    if months is not None:
        query = query.where(MonthCounter.month.in_(months))
    return {(cid, code): (int(n or 0), int(m or 0)) for cid, code, n, m in db.session.execute(query)}


def _household_months(contract_ids, months: list[str] | None = None):
    """(contract, type) → household-months served (a household counts once a month), for
    the obligations counted in households only: the household table is the large one."""
    by_households = sa.select(Obligation.contract_id, Obligation.service_type_code).where(
        Obligation.unit == Unit.CASES, Obligation.ended_in_version.is_(None), Obligation.contract_id.in_(contract_ids))
    query = (sa.select(MonthCase.contract_id, MonthCase.service_type_code, sa.func.count())
             .where(sa.tuple_(MonthCase.contract_id, MonthCase.service_type_code).in_(by_households),
                    MonthCase.records > 0)
             .group_by(MonthCase.contract_id, MonthCase.service_type_code))
    if months is not None:
        query = query.where(MonthCase.month.in_(months))
    return {(cid, code): int(n) for cid, code, n in db.session.execute(query)}


def _delivered(unit: Unit, sums: tuple[int, int], households: int) -> Decimal:
    if unit is Unit.HOURS:
        return Decimal(sums[1]) / 60
    if unit is Unit.CASES:
        return Decimal(households)
    return Decimal(sums[0])


def running_contracts(user) -> sa.Select:
    """The ids of the running contracts the user may see, by contract number."""
    return (sa.select(Contract.id).where(Contract.status.in_(RUNNING), _scoped(Contract.id, user))
            .order_by(Contract.contract_no))


def contract_rows(user, today: date, only: list[int] | None = None,
                  flag_counts: list[tuple[int, str, int]] | None = None) -> list[ContractRow]:
    """The running contracts the user may see (``only`` those of these ids), with progress,
    grade, risk, flags (from ``flag_counts`` if given: :func:`open_flag_counts`) and checks.

    Seven queries whatever the number of contracts: contracts, obligations, counters,
    household-months, latest signed grade, latest risk result, open flags and spot-check
    outcomes (the last two grouped by contract).
    """
    from reliefsvc.assessments.models import Assessment, AssessmentStatus
    from reliefsvc.hiring.models import HiringRiskResult
    from reliefsvc.integrity.models import IntegrityFlag
    from reliefsvc.spotchecks.models import SpotCheckDraw, SpotCheckItem

    ids = running_contracts(user).order_by(None)
    if only is not None:
        ids = ids.where(Contract.id.in_(only))
    rows = {r.id: ContractRow(r.id, r.contract_no, r.title, r.name, r.status, r.starts_on, r.ends_on)
            for r in db.session.execute(
                sa.select(Contract.id, Contract.contract_no, Contract.title, Contract.status, Contract.starts_on,
                          Contract.ends_on, Provider.name)
                .join(Provider, Provider.id == Contract.provider_id)
                .where(Contract.id.in_(ids)).order_by(Contract.contract_no))}
    if not rows:
        return []
    sums, households = _counter_sums(ids), _household_months(ids)
    got: dict[int, Decimal] = defaultdict(Decimal)
    due: dict[int, Decimal] = defaultdict(Decimal)
    elapsed: dict[tuple[date, date], int] = {}  # contracts of a round share their term
    for cid, code, period, target, unit, _name in _obligation_rows(ids):
        row = rows[cid]
        term = (row.starts_on, row.ends_on)
        if term not in elapsed:
            elapsed[term] = len(_elapsed_months(row.starts_on, row.ends_on, today))
        months = elapsed[term]
        owed = Decimal(target) * months / MONTHS_PER[period.value]
        delivered = _delivered(unit, sums.get((cid, code), (0, 0)), households.get((cid, code), 0))
        got[cid] += min(delivered, owed)
        due[cid] += owed
    for cid, row in rows.items():
        if due[cid]:
            row.progress = (got[cid] / due[cid]).quantize(Decimal("0.0001"))

    latest_grade = sa.select(sa.func.max(Assessment.id)).where(
        Assessment.status == AssessmentStatus.SIGNED, Assessment.contract_id.in_(ids)).group_by(Assessment.contract_id)
    for cid, grade, key in db.session.execute(sa.select(Assessment.contract_id, Assessment.grade, Assessment.period_key)
                                              .where(Assessment.id.in_(latest_grade))):
        rows[cid].grade, rows[cid].grade_period = grade, key

    latest_risk = sa.select(sa.func.max(HiringRiskResult.id)).where(
        HiringRiskResult.contract_id.in_(ids)).group_by(HiringRiskResult.contract_id)
    for cid, level, score in db.session.execute(
            sa.select(HiringRiskResult.contract_id, HiringRiskResult.level, HiringRiskResult.score)
            .where(HiringRiskResult.id.in_(latest_risk))):
        rows[cid].risk_level, rows[cid].risk_score = level.value, score

    by_contract = [(cid, n) for cid, _code, n in flag_counts] if flag_counts is not None else db.session.execute(
        sa.select(IntegrityFlag.contract_id, sa.func.count())
        .where(IntegrityFlag.contract_id.in_(ids), IntegrityFlag.dismissed_at.is_(None))
        .group_by(IntegrityFlag.contract_id)).all()
    for cid, n in by_contract:
        if cid in rows:
            rows[cid].open_flags += n

    for cid, checked, false in db.session.execute(
            sa.select(SpotCheckDraw.contract_id, sa.func.count(),
                      sa.func.sum(sa.case((SpotCheckItem.outcome == "not_delivered", 1), else_=0)))
            .join(SpotCheckDraw, SpotCheckDraw.id == SpotCheckItem.draw_id)
            .where(SpotCheckDraw.contract_id.in_(ids), SpotCheckItem.outcome.is_not(None))
            .group_by(SpotCheckDraw.contract_id)):
        rows[cid].checked, rows[cid].not_delivered = checked, int(false or 0)
    return list(rows.values())


#: How many contracts the officer's home page lists when more are under way: those needing
#: attention first; the page of every contract under way (``dashboards.contracts``) has the rest.
HOME_CONTRACTS = 20
#: Progress to date below this shows as behind (the bar turns amber).
BEHIND = Decimal("0.8")


def needs_attention(row: ContractRow) -> tuple:
    """Sort key: the contracts with the most signs of trouble first (suspended, behind,
    failed the latest assessment, high hiring risk, open flags, services found not
    delivered), then the most open flags, the least progress, the contract number."""
    signs = sum((row.status is ContractStatus.SUSPENDED, row.progress is not None and row.progress < BEHIND,
                 row.grade == "fail", row.risk_level == "high", row.open_flags > 0, row.not_delivered > 0))
    return (-signs, -row.open_flags, row.progress if row.progress is not None else Decimal(1), row.contract_no)


# --- due and overdue this week ----------------------------------------------------------------

@dataclass
class Due:
    """One line of "this week": how many fall due by Sunday, and how many are already late."""

    key: str
    this_week: int = 0
    overdue: int = 0


def _due_and_late(query_from, due_column, today: date, week_end: date, *where) -> tuple[int, int]:
    """(due by ``week_end``, already overdue) in one query: ``due_column`` is a date."""
    row = db.session.execute(
        sa.select(sa.func.count(), sa.func.sum(sa.case((due_column < today, 1), else_=0)))
        .select_from(query_from).where(due_column <= week_end, *where)).one()
    return int(row[0] or 0), int(row[1] or 0)


def due_this_week(user, today: date, now: datetime) -> list[Due]:
    """Assessments, evaluations, rectifications, alert checks, vetting expiries and payments
    due by the end of this week, and how many of them are overdue: one query each."""
    from reliefsvc.assessments.models import Assessment, AssessmentStatus
    from reliefsvc.cases.models import Alert, Case
    from reliefsvc.evaluations.models import Evaluation, EvaluationStatus
    from reliefsvc.payments.models import EntryKind, EntryStatus, Instalment, PaymentEntry
    from reliefsvc.providers.models import Vetting, VettingStatus
    from reliefsvc.rectifications.models import NoticeStatus, RectificationNotice

    _, week_end = week_bounds(today)
    out = []
    # Assessments in their comment window: signing is due when the window closes.
    n, late = _due_and_late(Assessment, Assessment.comment_until, today, week_end,
                            Assessment.status == AssessmentStatus.COMMENTING, _scoped(Assessment.contract_id, user))
    out.append(Due("assessments", n, late))
    n, late = _due_and_late(Evaluation, Evaluation.due_on, today, week_end,
                            Evaluation.status != EvaluationStatus.SIGNED, _scoped(Evaluation.contract_id, user))
    out.append(Due("evaluations", n, late))
    n, late = _due_and_late(RectificationNotice, RectificationNotice.due_on, today, week_end,
                            RectificationNotice.status == NoticeStatus.OPEN,
                            _scoped(RectificationNotice.contract_id, user))
    out.append(Due("rectifications", n, late))
    # Alert checks: due_at is a moment, not a day.
    end = local_start(week_end + timedelta(days=1))
    row = db.session.execute(
        sa.select(sa.func.count(), sa.func.sum(sa.case((Alert.due_at < now, 1), else_=0)))
        .join(Case, Case.id == Alert.case_id)
        .where(Alert.cleared_at.is_(None), Alert.due_at < end, Case.visible_filter(user))).one()
    out.append(Due("alerts", int(row[0] or 0), int(row[1] or 0)))
    # Vetting: the latest decision of each provider that lets it contract, ending soon.
    latest = (sa.select(sa.func.max(Vetting.id))
              .where(Vetting.status.in_((VettingStatus.APPROVED, VettingStatus.CONDITIONAL, VettingStatus.REJECTED)))
              .group_by(Vetting.provider_id))
    ends = sa.case((sa.and_(Vetting.status == VettingStatus.CONDITIONAL, Vetting.conditions_met_on.is_(None),
                            Vetting.condition_deadline.is_not(None),
                            Vetting.condition_deadline < sa.func.coalesce(Vetting.valid_until, date.max)),
                    Vetting.condition_deadline), else_=Vetting.valid_until)
    scope = [Vetting.provider_id.in_(sa.select(Provider.id).where(Provider.organisation_id == user.organisation_id))] \
        if user.role.is_provider else []
    # Expired long ago stays "overdue" only for a quarter: older ones are a closed matter.
    n, late = _due_and_late(Vetting, ends, today, week_end, Vetting.id.in_(latest),
                            Vetting.status != VettingStatus.REJECTED, ends >= today - timedelta(days=90), *scope)
    out.append(Due("vettings", n, late))
    # Payments: instalments due without an approved payment, and payments waiting for approval.
    paid = sa.select(PaymentEntry.instalment_id).where(PaymentEntry.status == EntryStatus.APPROVED,
                                                       PaymentEntry.kind == EntryKind.PAYMENT)
    n, late = _due_and_late(Instalment, Instalment.due_on, today, week_end, Instalment.id.not_in(paid),
                            _scoped(Instalment.contract_id, user))
    out.append(Due("payments", n, late))
    return out


# --- charts -----------------------------------------------------------------------------------

def delivery_by_month(user, today: date) -> list[tuple[str, int]]:
    """Service records delivered per month over the last twelve months (from the counters)."""
    months = last_months(today)
    got = dict(db.session.execute(
        sa.select(MonthCounter.month, sa.func.sum(MonthCounter.delivered))
        .where(MonthCounter.month.in_(months), _scoped(MonthCounter.contract_id, user))
        .group_by(MonthCounter.month)).all())
    return [(m, int(got.get(m) or 0)) for m in months]


def delivery_by_township(user, today: date) -> list[tuple[int, str, int]]:
    """(township id, name, household services) over the last twelve months, most first.

    Read from ``progress_month_case`` (household × month), so only services to a
    household count here; a township without any is left out.
    """
    from reliefsvc.cases.models import Case
    from reliefsvc.regions.models import Region

    village, township = aliased(Region), aliased(Region)
    rows = db.session.execute(
        sa.select(township.id, township.name, sa.func.sum(MonthCase.records))
        .join(Case, Case.id == MonthCase.case_id)
        .join(village, village.id == Case.village_id)
        .join(township, township.id == village.parent_id)
        .where(MonthCase.month.in_(last_months(today)), _scoped(MonthCase.contract_id, user))
        .group_by(township.id, township.name)).all()
    return sorted(((tid, name, int(n or 0)) for tid, name, n in rows), key=lambda r: (-r[2], r[1]))


def open_flag_counts(user) -> list[tuple[int, str, int]]:
    """(contract, code, open flags) over the open (not dismissed) integrity flags the user
    may see: one pass over the partial index of open flags serves both the contract table
    and the chart by kind."""
    from reliefsvc.integrity.models import IntegrityFlag

    return [(cid, code, int(n)) for cid, code, n in db.session.execute(
        sa.select(IntegrityFlag.contract_id, IntegrityFlag.code, sa.func.count())
        .where(IntegrityFlag.dismissed_at.is_(None), _scoped(IntegrityFlag.contract_id, user))
        .group_by(IntegrityFlag.contract_id, IntegrityFlag.code))]


def flags_by_code(user, counts: list[tuple[int, str, int]] | None = None) -> list[tuple[str, int]]:
    """Open (not dismissed) integrity flags per code, most first (from ``counts`` if given:
    :func:`open_flag_counts`)."""
    totals: dict[str, int] = defaultdict(int)
    for _cid, code, n in open_flag_counts(user) if counts is None else counts:
        totals[code] += n
    return sorted(totals.items(), key=lambda r: (-r[1], r[0]))


GRADES = ("excellent", "good", "pass", "fail")


def grades_over_time(user, periods: int = 8) -> tuple[list[str], dict[str, list[int]]]:
    """Signed assessments per period and grade: (period keys, grade → counts), the last ``periods``."""
    from reliefsvc.assessments.models import Assessment, AssessmentStatus

    rows = db.session.execute(sa.select(Assessment.period_key, Assessment.grade, sa.func.count())
                              .where(Assessment.status == AssessmentStatus.SIGNED,
                                     _scoped(Assessment.contract_id, user))
                              .group_by(Assessment.period_key, Assessment.grade)).all()
    keys = sorted({k for k, _g, _n in rows})[-periods:]
    series = {g: [0] * len(keys) for g in GRADES}
    for key, grade, n in rows:
        if key in keys and grade in series:
            series[grade][keys.index(key)] += int(n)
    return keys, series


def spot_check_totals(user) -> dict[str, int]:
    """Checked items by outcome, over every drawn sample the user may see."""
    from reliefsvc.spotchecks.models import SpotCheckDraw, SpotCheckItem

    got = dict(db.session.execute(
        sa.select(SpotCheckItem.outcome, sa.func.count())
        .join(SpotCheckDraw, SpotCheckDraw.id == SpotCheckItem.draw_id)
        .where(SpotCheckItem.outcome.is_not(None), _scoped(SpotCheckDraw.contract_id, user))
        .group_by(SpotCheckItem.outcome)).all())
    counts = {k.value if hasattr(k, "value") else k: int(v) for k, v in got.items()}
    return {"confirmed": counts.get("confirmed", 0), "partly": counts.get("partly", 0),
            "not_delivered": counts.get("not_delivered", 0), "checked": sum(counts.values())}


@dataclass(frozen=True)
class OverdueYear:
    contract_no: str
    year_no: int
    due_on: date


def overdue_evaluations(today: date) -> list[OverdueYear]:
    """The ended contract-years without a signed evaluation by their due date
    (``evaluations.service.overdue``), as the home page lists them."""
    from reliefsvc.evaluations import service as evaluations

    return [OverdueYear(cy.contract.contract_no, cy.year.number, cy.due_on) for cy in evaluations.overdue(today)]


# --- the four dashboards ------------------------------------------------------------------------

@dataclass
class OfficerDashboard:
    #: all running contracts, or the HOME_CONTRACTS needing attention most when there are more
    contracts: list[ContractRow]
    due: list[Due]
    by_month: list[tuple[str, int]]
    #: not read for the home page (the household table is large): the chart is an image of its own
    by_township: list[tuple[int, str, int]]
    flags: list[tuple[str, int]]
    grade_periods: list[str]
    grades: dict[str, list[int]]
    checks: dict[str, int]
    proposed_payments: int
    week: tuple[date, date]
    #: ended contract-years without a signed evaluation by their due date (opened or not)
    overdue_evaluations: list[OverdueYear] = field(default_factory=list)
    #: how many contracts are under way (more than ``contracts`` when those are a selection)
    contracts_total: int = 0

    @property
    def false_rate(self) -> Decimal | None:
        c = self.checks
        return (Decimal(c["not_delivered"]) / c["checked"]).quantize(Decimal("0.0001")) if c["checked"] else None


def officer(user, today: date, now: datetime) -> OfficerDashboard:
    from reliefsvc.payments.models import EntryStatus, PaymentEntry

    keys, grades = grades_over_time(user)
    proposed = db.session.scalar(sa.select(sa.func.count()).select_from(PaymentEntry)
                                 .where(PaymentEntry.status == EntryStatus.PROPOSED))
    flag_counts = open_flag_counts(user)
    contracts = contract_rows(user, today, flag_counts=flag_counts)
    total = len(contracts)
    if total > HOME_CONTRACTS:
        contracts = sorted(contracts, key=needs_attention)[:HOME_CONTRACTS]
    return OfficerDashboard(
        contracts=contracts, contracts_total=total, due=due_this_week(user, today, now),
        by_month=delivery_by_month(user, today), by_township=[],
        flags=flags_by_code(user, flag_counts), grade_periods=keys, grades=grades, checks=spot_check_totals(user),
        proposed_payments=int(proposed or 0), week=week_bounds(today),
        overdue_evaluations=overdue_evaluations(today))


@dataclass
class EvaluatorDashboard:
    checks: list  # (item id, draw id, record ref, contract no, assigned_at, draw day_to)
    assessments: list  # (id, contract no, period key, day_to)
    evaluations: list  # (id, contract no, year no, due_on)
    inspections: list  # (id, contract no, visited_on, notice id, notice due_on, notice status)
    check_count: int = 0
    today: date = field(default_factory=date.today)


def evaluator(user, today: date, limit: int = 20) -> EvaluatorDashboard:
    """Spot checks assigned to the evaluator, assessments and evaluations to score, and the
    evaluator's recent inspections with the deadline of the rectification they raised."""
    from reliefsvc.assessments.models import Assessment, AssessmentStatus, Inspection
    from reliefsvc.evaluations.models import Evaluation, EvaluationStatus
    from reliefsvc.rectifications.models import RectificationNotice
    from reliefsvc.spotchecks.models import DrawStatus, SpotCheckDraw, SpotCheckItem

    open_checks = (sa.select(SpotCheckItem.id, SpotCheckItem.draw_id, SpotCheckItem.record_ref, Contract.contract_no,
                             SpotCheckItem.assigned_at, SpotCheckDraw.day_to)
                   .join(SpotCheckDraw, SpotCheckDraw.id == SpotCheckItem.draw_id)
                   .join(Contract, Contract.id == SpotCheckDraw.contract_id)
                   .where(SpotCheckItem.evaluator_id == user.id, SpotCheckItem.outcome.is_(None),
                          SpotCheckDraw.status == DrawStatus.DRAWN))
    count = db.session.scalar(sa.select(sa.func.count()).select_from(open_checks.subquery()))
    checks = db.session.execute(open_checks.order_by(SpotCheckItem.assigned_at, SpotCheckItem.id).limit(limit)).all()
    assessments = db.session.execute(
        sa.select(Assessment.id, Contract.contract_no, Assessment.period_key, Assessment.day_to)
        .join(Contract, Contract.id == Assessment.contract_id)
        .where(Assessment.status == AssessmentStatus.DRAFT).order_by(Assessment.day_to, Assessment.id)
        .limit(limit)).all()
    evaluations = db.session.execute(
        sa.select(Evaluation.id, Contract.contract_no, Evaluation.year_no, Evaluation.due_on)
        .join(Contract, Contract.id == Evaluation.contract_id)
        .where(Evaluation.status == EvaluationStatus.DRAFT).order_by(Evaluation.due_on, Evaluation.id)
        .limit(limit)).all()
    inspections = db.session.execute(
        sa.select(Inspection.id, Contract.contract_no, Inspection.visited_on, RectificationNotice.id,
                  RectificationNotice.due_on, RectificationNotice.status)
        .join(Contract, Contract.id == Inspection.contract_id)
        .outerjoin(RectificationNotice, RectificationNotice.id == Inspection.rectification_notice_id)
        .where(Inspection.evaluator_id == user.id, Inspection.visited_on >= today - timedelta(days=90))
        .order_by(Inspection.visited_on.desc(), Inspection.id.desc()).limit(limit)).all()
    return EvaluatorDashboard(checks, assessments, evaluations, inspections, int(count or 0), today)


@dataclass
class ObligationLine:
    contract_id: int
    contract_no: str
    service_name: str
    period_key: str
    unit: Unit
    delivered: Decimal
    target: Decimal

    @property
    def share(self) -> Decimal:
        return (self.delivered / self.target).quantize(Decimal("0.0001")) if self.target else Decimal(0)


@dataclass
class ManagerDashboard:
    obligations: list[ObligationLine]
    rejected: int
    rejected_list: list
    rectifications_open: int
    rectifications_overdue: int
    comments: list  # (kind, id, contract no, label, until)
    payments: dict[str, Decimal]
    recent_payments: list
    today: date


def manager(user, today: date, limit: int = 10) -> ManagerDashboard:
    """The provider's own contracts: obligations this period against target, records sent
    back, open rectifications, comment windows open now, and payments."""
    from reliefsvc.assessments.models import Assessment, AssessmentStatus
    from reliefsvc.evaluations.models import Evaluation, EvaluationStatus
    from reliefsvc.evidence.models import RecordStatus, ServiceRecord
    from reliefsvc.payments.models import Disbursement, Instalment, PaymentEntry
    from reliefsvc.rectifications.models import NoticeStatus, RectificationNotice

    ids = sa.select(Contract.id).where(Contract.status.in_(RUNNING), Contract.id.in_(own_contract_ids(user)))
    numbers = dict(db.session.execute(sa.select(Contract.id, Contract.contract_no).where(Contract.id.in_(ids))).all())
    # The current period of each obligation: months from January of last year cover a year period.
    months = list(last_months(today, 24))
    obligations = _obligation_rows(ids)
    window: dict[tuple[int, str], list[str]] = {}
    for cid, code, period, _t, _u, _n in obligations:
        window[(cid, code)] = contract_rules.months_of(period.value, contract_rules.period_key(period.value, today))
    # Per (contract, type, month) once, then summed over each obligation's own months.
    per_month = db.session.execute(
        sa.select(MonthCounter.contract_id, MonthCounter.service_type_code, MonthCounter.month,
                  MonthCounter.delivered - MonthCounter.refuted, MonthCounter.minutes)
        .where(MonthCounter.contract_id.in_(ids), MonthCounter.month.in_(months))).all()
    by_households = sa.select(Obligation.contract_id, Obligation.service_type_code).where(
        Obligation.unit == Unit.CASES, Obligation.ended_in_version.is_(None), Obligation.contract_id.in_(ids))
    household_months = db.session.execute(
        sa.select(MonthCase.contract_id, MonthCase.service_type_code, MonthCase.month, sa.func.count())
        .where(sa.tuple_(MonthCase.contract_id, MonthCase.service_type_code).in_(by_households),
               MonthCase.month.in_(months), MonthCase.records > 0)
        .group_by(MonthCase.contract_id, MonthCase.service_type_code, MonthCase.month)).all()
    lines = []
    for cid, code, period, target, unit, name in obligations:
        keep = set(window[(cid, code)])
        n = sum(d for c, t, m, d, _mi in per_month if c == cid and t == code and m in keep)
        minutes = sum(mi for c, t, m, _d, mi in per_month if c == cid and t == code and m in keep)
        households = sum(h for c, t, m, h in household_months if c == cid and t == code and m in keep)
        lines.append(ObligationLine(cid, numbers.get(cid, ""), name,
                                    contract_rules.period_key(period.value, today), unit,
                                    _delivered(unit, (int(n), int(minutes)), int(households)), Decimal(target)))

    own_records = ServiceRecord.contract_id.in_(own_contract_ids(user))
    rejected = db.session.scalar(sa.select(sa.func.count()).select_from(ServiceRecord)
                                 .where(own_records, ServiceRecord.status == RecordStatus.REJECTED))
    rejected_list = db.session.execute(
        sa.select(ServiceRecord.id, ServiceRecord.record_ref, ServiceRecord.started_at, ServiceRecord.review_reason,
                  Contract.contract_no)
        .join(Contract, Contract.id == ServiceRecord.contract_id)
        .where(own_records, ServiceRecord.status == RecordStatus.REJECTED)
        .order_by(ServiceRecord.reviewed_at.desc(), ServiceRecord.id.desc()).limit(limit)).all()
    open_n, late_n = db.session.execute(
        sa.select(sa.func.count(), sa.func.sum(sa.case((RectificationNotice.due_on < today, 1), else_=0)))
        .where(RectificationNotice.status == NoticeStatus.OPEN,
               RectificationNotice.contract_id.in_(own_contract_ids(user)))).one()
    comments = [("assessment", i, no, key, until) for i, no, key, until in db.session.execute(
        sa.select(Assessment.id, Contract.contract_no, Assessment.period_key, Assessment.comment_until)
        .join(Contract, Contract.id == Assessment.contract_id)
        .where(Assessment.status == AssessmentStatus.COMMENTING, Assessment.comment_until >= today,
               Assessment.contract_id.in_(own_contract_ids(user))).order_by(Assessment.comment_until).limit(limit))]
    comments += [("evaluation", i, no, str(year), until) for i, no, year, until in db.session.execute(
        sa.select(Evaluation.id, Contract.contract_no, Evaluation.year_no, Evaluation.comment_until)
        .join(Contract, Contract.id == Evaluation.contract_id)
        .where(Evaluation.status == EvaluationStatus.COMMENTING, Evaluation.comment_until >= today,
               Evaluation.contract_id.in_(own_contract_ids(user))).order_by(Evaluation.comment_until).limit(limit))]
    comments.sort(key=lambda c: c[4])
    own_entries = PaymentEntry.contract_id.in_(own_contract_ids(user))
    totals = db.session.execute(
        sa.select(PaymentEntry.status, sa.func.sum(PaymentEntry.amount)).where(own_entries)
        .group_by(PaymentEntry.status)).all()
    payments = {s.value if hasattr(s, "value") else s: Decimal(v or 0) for s, v in totals}
    payments["disbursed"] = Decimal(db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(PaymentEntry.amount), 0))
        .join(Disbursement, Disbursement.entry_id == PaymentEntry.id).where(own_entries)) or 0)
    recent = db.session.execute(
        sa.select(PaymentEntry.id, Contract.contract_no, Instalment.number, PaymentEntry.amount, PaymentEntry.status,
                  PaymentEntry.proposed_at)
        .join(Contract, Contract.id == PaymentEntry.contract_id)
        .join(Instalment, Instalment.id == PaymentEntry.instalment_id)
        .where(own_entries).order_by(PaymentEntry.proposed_at.desc(), PaymentEntry.id.desc()).limit(5)).all()
    return ManagerDashboard(lines, int(rejected or 0), rejected_list, int(open_n or 0), int(late_n or 0), comments,
                            {k: payments.get(k, Decimal(0)) for k in ("proposed", "approved", "disbursed")},
                            recent, today)


@dataclass
class WorkerDashboard:
    households: list  # dicts: case id, ref, head name, village, alert level, alert due, served today
    records: list  # (id, ref, started_at, service name, status, case ref)
    today: date
    staff_ids: list[int]


def worker(user, today: date, now: datetime, limit: int = 30) -> WorkerDashboard:
    """Today's households for a provider's worker: those with an open monitoring alert first
    (soonest due first), then the households the worker served in the last four weeks and
    has not yet seen today; and the worker's own records of the last seven days."""
    from reliefsvc.cases.models import Alert, Case
    from reliefsvc.evidence.models import ServiceRecord
    from reliefsvc.providers.models import Staff
    from reliefsvc.regions.models import Region

    staff_ids = list(db.session.scalars(sa.select(Staff.id).where(Staff.user_id == user.id)))
    # The worker's own records by the (worker, started) index; an account not on the roster
    # sees what it submitted.
    mine = ServiceRecord.worker_id.in_(staff_ids) if staff_ids else ServiceRecord.submitted_by_id == user.id
    day_start, week_start = local_start(today), local_start(today - timedelta(days=7))
    alerted = db.session.execute(
        sa.select(Case.id, Case.case_ref, Case.head_name, Region.name, Alert.level, Alert.due_at)
        .join(Alert, Alert.case_id == Case.id).join(Region, Region.id == Case.village_id)
        .where(Alert.cleared_at.is_(None), Case.visible_filter(user))
        .order_by(Alert.due_at, Alert.id).limit(limit)).all()
    recent = db.session.execute(
        sa.select(Case.id, Case.case_ref, Case.head_name, Region.name, sa.func.max(ServiceRecord.started_at))
        .join(ServiceRecord, ServiceRecord.case_id == Case.id).join(Region, Region.id == Case.village_id)
        .where(mine, ServiceRecord.started_at >= local_start(today - timedelta(days=28)))
        .group_by(Case.id, Case.case_ref, Case.head_name, Region.name)
        .order_by(sa.func.max(ServiceRecord.started_at)).limit(limit)).all()
    households, seen = [], set()
    for cid, ref, name, village, level, due in alerted:
        if cid in seen:
            continue
        seen.add(cid)
        households.append({"case_id": cid, "ref": ref, "name": name, "village": village,
                           "level": level.value, "due": due, "overdue": due < now, "served_today": False})
    for cid, ref, name, village, last in recent:
        if cid in seen:
            continue
        seen.add(cid)
        last = last if last.tzinfo else last.replace(tzinfo=LOCAL_TZ)
        households.append({"case_id": cid, "ref": ref, "name": name, "village": village, "level": None,
                           "due": None, "overdue": False, "served_today": last >= day_start, "last": last})
    households = [h for h in households if not h["served_today"]][:limit]
    records = db.session.execute(
        sa.select(ServiceRecord.id, ServiceRecord.record_ref, ServiceRecord.started_at, ServiceType.name_zh,
                  ServiceRecord.status, Case.case_ref)
        .join(ServiceType, ServiceType.code == ServiceRecord.service_type_code)
        .outerjoin(Case, Case.id == ServiceRecord.case_id)
        .where(mine, ServiceRecord.started_at >= week_start)
        .order_by(ServiceRecord.started_at.desc(), ServiceRecord.id.desc()).limit(50)).all()
    return WorkerDashboard(households, records, today, staff_ids)


def for_user(user, today: date, now: datetime):
    """The dashboard of the user's role: (kind, data); ``(None, None)`` for a role without one."""
    if user.role is Role.OFFICER:
        return "officer", officer(user, today, now)
    if user.role is Role.EVALUATOR:
        return "evaluator", evaluator(user, today)
    if user.role is Role.PROVIDER_MANAGER:
        return "manager", manager(user, today)
    if user.role is Role.PROVIDER_WORKER:
        return "worker", worker(user, today, now)
    return None, None
