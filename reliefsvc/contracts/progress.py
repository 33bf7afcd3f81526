"""How far a contract is: obligations per period, performance indicators, month by month.

Everything is read from the month counters (``progress_month`` and
``progress_month_case``), which the service-record operations keep up to date, so a
contract page costs two small queries whatever the number of records.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from reliefsvc.contracts import rules
from reliefsvc.contracts.models import Contract, MonthCase, MonthCounter, Obligation, Unit
from reliefsvc.extensions import db


@dataclass(frozen=True)
class PeriodProgress:
    key: str
    delivered: float
    accepted: int
    refuted: int
    target: int
    light: rules.Light
    current: bool

    @property
    def percent(self) -> int:
        return round(100 * self.light.share)


@dataclass(frozen=True)
class ObligationProgress:
    obligation: Obligation
    periods: list[PeriodProgress]

    @property
    def current(self) -> PeriodProgress | None:
        return next((p for p in self.periods if p.current), None)


class Counters:
    """The counters of one contract, loaded once."""

    def __init__(self, contract: Contract | None = None):
        self.rows: dict[tuple[str, str], MonthCounter] = {}
        self.cases: dict[tuple[str, str], set[int]] = defaultdict(set)
        if contract is not None:
            loaded = Counters.for_contracts([contract])[contract.id]
            self.rows, self.cases = loaded.rows, loaded.cases

    @staticmethod
    def for_contracts(contracts: list[Contract], months: list[str] | None = None) -> dict[int, Counters]:
        """The counters of many contracts in two queries (a list page must not ask per row);
        ``months`` limits them to the months the page shows."""
        found = {c.id: Counters() for c in contracts}
        if not found:
            return found
        rows = sa.select(MonthCounter).where(MonthCounter.contract_id.in_(found))
        cases = sa.select(MonthCase.contract_id, MonthCase.service_type_code, MonthCase.month, MonthCase.case_id) \
            .where(MonthCase.contract_id.in_(found), MonthCase.records > 0)
        if months is not None:
            rows, cases = rows.where(MonthCounter.month.in_(months)), cases.where(MonthCase.month.in_(months))
        for r in db.session.scalars(rows):
            found[r.contract_id].rows[(r.service_type_code, r.month)] = r
        for contract_id, code, month, case_id in db.session.execute(cases):
            found[contract_id].cases[(code, month)].add(case_id)
        return found

    def total(self, code: str, months: list[str], attr: str) -> int:
        return sum(getattr(self.rows[(code, m)], attr) for m in months if (code, m) in self.rows)

    def households(self, code: str | None, months: list[str]) -> int:
        seen: set[int] = set()
        for (c, m), ids in self.cases.items():
            if (code is None or c == code) and m in months:
                seen |= ids
        return len(seen)

    def all(self, attr: str) -> int:
        return sum(getattr(r, attr) for r in self.rows.values())


def _delivered(counters: Counters, obligation: Obligation, months: list[str]) -> float:
    code = obligation.service_type_code
    if obligation.unit is Unit.CASES:
        return counters.households(code, months)
    if obligation.unit is Unit.HOURS:
        return round(counters.total(code, months, "minutes") / 60, 1)
    return counters.total(code, months, "delivered")


#: Months in an obligation's period.
MONTHS_PER = {"month": 1, "quarter": 3, "year": 12}


@dataclass(frozen=True)
class Completion:
    """Delivered (each obligation capped at its target) against due, over some months."""

    completed: Decimal
    due: Decimal
    #: one line per obligation: "入户走访 42.0/40.0"
    lines: tuple[str, ...]

    def text(self, nothing_due: str) -> str:
        if not self.due:
            return nothing_due
        share = f"{self.completed / self.due * 100:.1f}%"
        return (f"完成 {self.completed.quantize(Decimal('0.1'))}，应完成 {self.due.quantize(Decimal('0.1'))}"
                f"（{share}）：" + "；".join(self.lines))


def obligation_completion(contract: Contract, months: list[str], counters: Counters | None = None) -> Completion:
    """What assessments and evaluations score: refuted records do not count as delivered."""
    counters = counters or Counters(contract)
    got = due = Decimal(0)
    lines = []
    for o in db.session.scalars(sa.select(Obligation).where(Obligation.contract_id == contract.id,
                                                             Obligation.ended_in_version.is_(None))):
        code = o.service_type_code
        if o.unit is Unit.CASES:
            delivered = Decimal(counters.households(code, months))
        elif o.unit is Unit.HOURS:
            delivered = Decimal(counters.total(code, months, "minutes")) / 60
        else:
            delivered = Decimal(counters.total(code, months, "delivered") - counters.total(code, months, "refuted"))
        target = Decimal(o.target) * len(months) / MONTHS_PER[o.period.value]
        got += min(delivered, target)
        due += target
        lines.append(f"{o.service_type.name_zh} {delivered.quantize(Decimal('0.1'))}/{target.quantize(Decimal('0.1'))}")
    return Completion(got, due, tuple(lines))


def obligation_progress(contract: Contract, on: date, counters: Counters | None = None) -> list[ObligationProgress]:
    counters = counters or Counters(contract)
    result = []
    for obligation in contract.obligations:
        if obligation.ended_in_version is not None:
            continue
        period = obligation.period.value
        periods = []
        for key in rules.periods_in_term(period, contract.starts_on, contract.ends_on):
            months = rules.months_of(period, key)
            delivered = _delivered(counters, obligation, months)
            elapsed = rules.elapsed_share(period, key, on, contract.starts_on, contract.ends_on)
            # A period cut short by the start or end of the term owes a share of the target.
            target = rules.period_target(obligation.target,
                                         rules.term_coverage(period, key, contract.starts_on, contract.ends_on))
            periods.append(PeriodProgress(
                key=key, delivered=delivered, accepted=counters.total(obligation.service_type_code, months, "accepted"),
                refuted=counters.total(obligation.service_type_code, months, "refuted"), target=target,
                light=rules.traffic_light(delivered, target, elapsed),
                current=rules.period_key(period, on) == key))
        result.append(ObligationProgress(obligation, periods))
    return result


def monthly_series(contract: Contract, counters: Counters | None = None) -> list[tuple[str, int, int]]:
    """(month, delivered, accepted) for every month of the term."""
    counters = counters or Counters(contract)
    out = []
    for month in rules.periods_in_term("month", contract.starts_on, contract.ends_on):
        delivered = sum(r.delivered for (c, m), r in counters.rows.items() if m == month)
        accepted = sum(r.accepted for (c, m), r in counters.rows.items() if m == month)
        out.append((month, delivered, accepted))
    return out


def indicator_values(contract: Contract, on: date, counters: Counters | None = None) -> dict[str, Decimal | None]:
    """The value of each computed indicator of ``rules.INDICATORS`` today."""
    counters = counters or Counters(contract)
    delivered, accepted = counters.all("delivered"), counters.all("accepted")
    rejected, refuted = counters.all("rejected"), counters.all("refuted")
    reviewed = accepted + rejected
    progress = obligation_progress(contract, on, counters)
    got = sum(min(p.delivered, p.target) for o in progress for p in o.periods if p.light.colour != "grey"
              and not p.current) + sum(min(o.current.delivered, o.current.target) for o in progress if o.current)
    due = sum(p.target for o in progress for p in o.periods if p.light.colour != "grey" and not p.current) + sum(
        o.current.target * rules.elapsed_share(o.obligation.period.value, o.current.key, on, contract.starts_on,
                                               contract.ends_on) for o in progress if o.current)
    term_days = (contract.ends_on - contract.starts_on).days + 1
    elapsed_days = min(max((on - contract.starts_on).days + 1, 0), term_days)

    def ratio(a, b, places="0.0001"):
        return (Decimal(a) / Decimal(b)).quantize(Decimal(places)) if b else None

    return {
        "obligation_completion": ratio(got, due) if due else None,
        "accepted_share": ratio(accepted, reviewed),
        "refuted_share": ratio(refuted, delivered),
        "households_served": Decimal(counters.households(None, [m for (_c, m) in counters.cases])),
        "cost_per_record": ratio(contract.amount * Decimal(elapsed_days) / Decimal(term_days), delivered, "0.01"),
        "service_hours": Decimal(counters.all("minutes")) / 60 if counters.rows else Decimal(0),
    }


@dataclass(frozen=True)
class RuleStatus:
    done: int
    total: int

    @property
    def met(self) -> bool:
        return self.done >= self.total


def extra_rule_status(contract: Contract, obligation: Obligation, on: date) -> RuleStatus | None:
    """How an obligation's extra rule stands in the current month.

    red_alert_24h: red alerts issued in the area this month, and how many were checked
    within 24 hours. tekun_monthly: 特困 households in the area receiving assistance, and
    how many this contract served this month.
    """
    from reliefsvc.cases.models import Alert, Case, CaseCategory, CaseStatus
    from reliefsvc.contracts.models import contract_village

    area = sa.select(contract_village.c.region_id).where(contract_village.c.contract_id == contract.id)
    first = on.replace(day=1)
    start, end = _utc_start(first), _utc_start(rules.period_bounds("month", rules.month_key(on))[1])
    if obligation.extra_rule == "red_alert_24h":
        from datetime import timedelta

        alerts = db.session.execute(sa.select(Alert.issued_at, Alert.cleared_at, Alert.cleared_by_record_id)
                                    .join(Case, Case.id == Alert.case_id)
                                    .where(Case.village_id.in_(area), Alert.level == "red",
                                           Alert.issued_at >= start, Alert.issued_at < end)).all()
        done = sum(1 for issued, cleared, by_record in alerts
                   if cleared is not None and by_record is not None and cleared - issued <= timedelta(hours=24))
        return RuleStatus(done, len(alerts))
    if obligation.extra_rule == "tekun_monthly":
        tekun = sa.select(Case.id).join(CaseCategory, CaseCategory.case_id == Case.id).where(
            Case.village_id.in_(area), CaseCategory.category == "tekun", Case.status == CaseStatus.ACTIVE)
        total = db.session.scalar(sa.select(sa.func.count()).select_from(tekun.subquery()))
        done = db.session.scalar(sa.select(sa.func.count(sa.distinct(MonthCase.case_id))).where(
            MonthCase.contract_id == contract.id, MonthCase.month == rules.month_key(on), MonthCase.records > 0,
            MonthCase.case_id.in_(tekun)))
        return RuleStatus(done, total)
    return None


def missed_alert_checks(contract: Contract, now, limit: int = 20):
    """Alerts in the contract's area during its term whose door-to-door check came late
    or not at all (section 十二): (count, the latest ``limit`` of them)."""
    from reliefsvc.cases.models import Alert, Case
    from reliefsvc.contracts.models import contract_village

    area = sa.select(contract_village.c.region_id).where(contract_village.c.contract_id == contract.id)
    late = sa.or_(sa.and_(Alert.cleared_at.is_(None), Alert.due_at < now), Alert.cleared_at > Alert.due_at)
    query = (sa.select(Alert).join(Case, Case.id == Alert.case_id)
             .where(Case.village_id.in_(area), late, Alert.due_at >= _utc_start(contract.starts_on),
                    Alert.due_at < _utc_start(contract.ends_on, days=1)))
    # issue 16: the rows' households and villages come with them (the page names both), and
    # the count is asked only when the first page is full
    rows = db.session.scalars(query.order_by(Alert.due_at.desc()).limit(limit)
                              .options(sa.orm.joinedload(Alert.case).joinedload(Case.village))).all()
    if len(rows) < limit:
        return len(rows), rows
    return db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery())), rows


def _utc_start(day: date, days: int = 0):
    from datetime import datetime, time, timedelta

    from reliefsvc.common.formatting import LOCAL_TZ

    return datetime.combine(day + timedelta(days=days), time(0), LOCAL_TZ)


def meets(value: Decimal | None, target: Decimal, comparison: str) -> bool | None:
    if value is None:
        return None
    return value >= target if comparison == ">=" else value <= target


def next_due(contract: Contract, on: date) -> date | None:
    """The end of the earliest current period among the active obligations."""
    ends = []
    for obligation in contract.obligations:
        if obligation.ended_in_version is None:
            key = rules.period_key(obligation.period.value, on)
            ends.append(min(rules.period_bounds(obligation.period.value, key)[1], contract.ends_on))
    return min(ends) if ends else None
