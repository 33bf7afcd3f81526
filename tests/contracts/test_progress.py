"""Progress figures from the month counters equal a direct count of the service records,
across month and quarter boundaries in Asia/Shanghai time."""

from datetime import UTC, datetime

import sqlalchemy as sa
import time_machine

from reliefsvc.contracts import progress
from reliefsvc.contracts.models import Unit
from reliefsvc.evidence import service as records
from reliefsvc.evidence.models import RecordSource, RecordStatus, ServiceRecord
from reliefsvc.providers import service as providers
from tests.conftest import make_id

# UTC times chosen to fall on the other side of a local month or quarter boundary.
MOMENTS = [
    datetime(2026, 3, 31, 15, 30, tzinfo=UTC),  # 23:30 on 31 March in China: March, Q1
    datetime(2026, 3, 31, 16, 30, tzinfo=UTC),  # 00:30 on 1 April in China: April, Q2
    datetime(2026, 4, 30, 15, 59, tzinfo=UTC),  # 23:59 on 30 April: April
    datetime(2026, 6, 30, 16, 0, tzinfo=UTC),   # 00:00 on 1 July: July, Q3
    datetime(2026, 6, 30, 15, 0, tzinfo=UTC),   # 23:00 on 30 June: June, Q2
    datetime(2026, 9, 30, 16, 1, tzinfo=UTC),   # 00:01 on 1 October: Q4
]


def direct_count(contract, months, code, attr="records"):
    """Straight from the service records, with the local month computed in Python."""
    found = [r for r in records.db.session.scalars(sa.select(ServiceRecord).where(
        ServiceRecord.contract_id == contract.id, ServiceRecord.service_type_code == code))
        if records.local_month(r.started_at) in months]
    if attr == "records":
        return sum(1 for r in found if r.status is not RecordStatus.REJECTED)
    if attr == "accepted":
        return sum(1 for r in found if r.status is RecordStatus.ACCEPTED)
    if attr == "cases":
        return len({r.case_id for r in found if r.status is not RecordStatus.REJECTED})
    if attr == "hours":
        return round(sum(r.minutes for r in found if r.status is not RecordStatus.REJECTED) / 60, 1)
    raise ValueError(attr)


@time_machine.travel(datetime(2027, 1, 15, 4, 0, tzinfo=UTC), tick=False)
def test_counters_equal_a_direct_count(create_contract, create_case, villages, create_user, db):
    from datetime import date, timedelta

    contract = create_contract(obligations=(("home_visit", "month", 3, "records"),
                                            ("home_visit", "quarter", 2, "cases"),
                                            ("phone_followup", "quarter", 2, "hours")),
                               starts_on=date(2026, 1, 1))
    worker = providers.add_staff(contract.provider, id_number=make_id(77), name="马小军", role="coordinator")
    officer = create_user("officer")
    cases = [create_case(villages[i % 3]) for i in range(3)]
    made = []
    for i, start in enumerate(MOMENTS * 2):
        code = "home_visit" if i % 3 else "phone_followup"
        record = records.submit(records.RecordInput(
            contract=contract, worker=worker, service_type_code=code, started_at=start,
            ended_at=start + timedelta(minutes=20 + i), case=cases[i % 3], record_ref=f"R{i:03d}"),
            [], None, RecordSource.LEDGER)
        made.append(record)
    # reviews move records between the counters
    for record in made[::3]:
        records.review(record, True, "", officer)
    for record in made[1::4]:
        if record.status is RecordStatus.SUBMITTED:
            records.review(record, False, "照片不清晰", officer)
    # a correction moves one record to another month
    rejected = next(r for r in made if r.status is RecordStatus.REJECTED)
    data = records.RecordInput(contract=contract, worker=worker, service_type_code=rejected.service_type_code,
                               started_at=datetime(2026, 12, 31, 16, 0, tzinfo=UTC),
                               ended_at=datetime(2026, 12, 31, 16, 45, tzinfo=UTC), case=rejected.case)
    records.correct(rejected, data, [], [], officer)
    db.session.flush()

    today = date(2027, 1, 15)
    for op in progress.obligation_progress(contract, today):
        o = op.obligation
        for p in op.periods:
            months = progress.rules.months_of(o.period.value, p.key)
            attr = {Unit.RECORDS: "records", Unit.CASES: "cases", Unit.HOURS: "hours"}[o.unit]
            assert p.delivered == direct_count(contract, months, o.service_type_code, attr), (o.unit, p.key)
            if o.unit is Unit.RECORDS:
                assert p.accepted == direct_count(contract, months, o.service_type_code, "accepted")
    # the boundary records really did land in their local months, not their UTC ones
    counters = progress.Counters(contract)
    months = {m for (_code, m), row in counters.rows.items() if row.delivered or row.rejected}
    assert {"2026-03", "2026-04", "2026-06", "2026-07", "2026-10", "2027-01"} <= months


def test_extra_rules_are_measured(create_contract, create_case, villages, db):
    from datetime import date, timedelta

    from reliefsvc.cases import service as cases
    from reliefsvc.cases.models import CaseCategory
    from reliefsvc.common.formatting import now_local

    today = now_local().date()
    contract = create_contract(obligations=(("care_service", "month", 5, "records", "tekun_monthly"),
                                            ("alert_check", "month", 5, "records", "red_alert_24h")),
                               starts_on=date(today.year, 1, 1) if today.month > 1 else date(today.year - 1, 12, 1))
    worker = providers.add_staff(contract.provider, id_number=make_id(78), name="照料员", role="coordinator")
    tekun = [create_case(villages[0]) for _ in range(3)]
    for case in tekun:
        db.session.add(CaseCategory(case=case, category="tekun"))
    db.session.flush()
    start = datetime.combine(today.replace(day=1), datetime.min.time(), tzinfo=UTC) + timedelta(hours=2)
    records.submit(records.RecordInput(contract=contract, worker=worker, service_type_code="care_service",
                                       started_at=start, ended_at=start + timedelta(minutes=40), case=tekun[0],
                                       record_ref="T-1"), [], None, RecordSource.LEDGER)
    red = cases.issue_alert(tekun[1], "red", start)
    records.submit(records.RecordInput(contract=contract, worker=worker, service_type_code="alert_check",
                                       started_at=start + timedelta(hours=5), ended_at=start + timedelta(hours=6),
                                       case=tekun[1], record_ref="T-2"), [], None, RecordSource.LEDGER)
    assert red.cleared_by_record_id is not None
    status = {o.extra_rule: progress.extra_rule_status(contract, o, today) for o in contract.obligations}
    # both households were served this month (a visit of any kind counts); the third was not
    assert (status["tekun_monthly"].done, status["tekun_monthly"].total) == (2, 3)
    assert (status["red_alert_24h"].done, status["red_alert_24h"].total) == (1, 1)


def test_month_labels_fit_under_their_bars_and_name_a_new_year():
    from reliefsvc.contracts.views import month_labels

    got = month_labels(["2026-11", "2026-12", "2027-01", "2027-02"], [3, 4, 5, 6])
    assert got == [("11月", 3), ("12月", 4), ("27年1月", 5), ("2月", 6)]
