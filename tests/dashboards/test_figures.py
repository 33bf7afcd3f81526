"""Each dashboard figure equals a direct count on the same data (issue 13, "must show")."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa

from reliefsvc.cases.models import Alert, Case
from reliefsvc.common.formatting import LOCAL_TZ
from reliefsvc.dashboards import service
from reliefsvc.evidence.models import RecordStatus, ServiceRecord
from reliefsvc.integrity.models import IntegrityFlag
from reliefsvc.spotchecks.models import SpotCheckDraw, SpotCheckItem

TODAY = date(2026, 11, 25)
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=LOCAL_TZ)


def count(query) -> int:
    from reliefsvc.extensions import db

    return db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))


def test_the_officers_contract_table(county, db):
    made = county(n_contracts=3, records_each=4)
    rows = {r.id: r for r in service.contract_rows(made["officer"], TODAY)}
    assert set(rows) == {c.id for c in made["contracts"]}
    for contract in made["contracts"]:
        row = rows[contract.id]
        assert row.open_flags == count(sa.select(IntegrityFlag.id).where(
            IntegrityFlag.contract_id == contract.id, IntegrityFlag.dismissed_at.is_(None))) == 3
        checked = count(sa.select(SpotCheckItem.id).join(SpotCheckDraw).where(
            SpotCheckDraw.contract_id == contract.id, SpotCheckItem.outcome.is_not(None)))
        false = count(sa.select(SpotCheckItem.id).join(SpotCheckDraw).where(
            SpotCheckDraw.contract_id == contract.id, SpotCheckItem.outcome == "not_delivered"))
        assert (row.checked, row.not_delivered) == (checked, false) == (3, 2)
        assert row.grade == "good" and row.grade_period == "2026Q3"
        assert row.risk_level == "high"
        # 10 home visits a month from January to November are due: 110; four were delivered
        delivered = count(sa.select(ServiceRecord.id).where(ServiceRecord.contract_id == contract.id))
        assert row.progress == (Decimal(delivered) / 110).quantize(Decimal("0.0001"))


def test_due_this_week_and_overdue(county, db):
    made = county(n_contracts=2, records_each=1)
    due = {d.key: d for d in service.due_this_week(made["officer"], TODAY, NOW)}
    # notices were due yesterday: both overdue; alerts were due at 09:00 today: overdue at noon
    assert (due["rectifications"].this_week, due["rectifications"].overdue) == (2, 2)
    assert (due["alerts"].this_week, due["alerts"].overdue) == (count(sa.select(Alert.id).where(
        Alert.cleared_at.is_(None), Alert.due_at < NOW)), 2)
    assert (due["assessments"].this_week, due["assessments"].overdue) == (2, 0)  # windows close on the 27th
    assert (due["evaluations"].this_week, due["evaluations"].overdue) == (2, 0)  # due on the 28th
    assert (due["payments"].this_week, due["payments"].overdue) == (2, 0)  # due today, not yet paid
    # a week later everything of this week is overdue
    later = {d.key: d for d in service.due_this_week(made["officer"], TODAY + timedelta(days=7), NOW)}
    assert later["evaluations"].overdue == 2 and later["payments"].overdue == 2


def test_the_officers_charts_count_the_records(county, db):
    made = county(n_contracts=2, records_each=3)
    by_month = dict(service.delivery_by_month(made["officer"], TODAY))
    assert len(by_month) == 12 and list(by_month)[-1] == "2026-11"
    for month in ("2026-10", "2026-11"):
        assert by_month[month] == count(sa.select(ServiceRecord.id).where(ServiceRecord.month == month))
    assert by_month["2026-10"] == 4 and by_month["2026-11"] == 2
    townships = service.delivery_by_township(made["officer"], TODAY)
    assert [(name, n) for _id, name, n in townships] == [("附城镇", count(sa.select(ServiceRecord.id).where(
        ServiceRecord.case_id.is_not(None))))]
    flags = dict(service.flags_by_code(made["officer"]))
    assert flags == {code: count(sa.select(IntegrityFlag.id).where(IntegrityFlag.code == code,
                                                                   IntegrityFlag.dismissed_at.is_(None)))
                     for code in ("FLASH_SHORT", "LATE_ENTRY")}
    assert flags == {"FLASH_SHORT": 2, "LATE_ENTRY": 2}
    keys, grades = service.grades_over_time(made["officer"])
    assert keys == ["2026Q3"] and grades["good"] == [2] and grades["excellent"] == [0]
    checks = service.spot_check_totals(made["officer"])
    assert checks == {"confirmed": 2, "partly": 0, "not_delivered": 2, "checked": 4}


def test_a_provider_sees_only_its_own_figures(county, db):
    made = county(n_contracts=2, records_each=3)
    manager = made["managers"][0]
    own = made["contracts"][0]
    assert [r.id for r in service.contract_rows(manager, TODAY)] == [own.id]
    assert sum(n for _m, n in service.delivery_by_month(manager, TODAY)) == count(
        sa.select(ServiceRecord.id).where(ServiceRecord.contract_id == own.id))
    assert dict(service.flags_by_code(manager)) == {"FLASH_SHORT": 1, "LATE_ENTRY": 1}


def test_the_managers_dashboard(county, db):
    made = county(n_contracts=2, records_each=3)
    manager, contract = made["managers"][0], made["contracts"][0]
    record = made["records"][0]
    record.status, record.review_reason = RecordStatus.REJECTED, "照片不清楚"
    db.session.flush()
    d = service.manager(manager, TODAY)
    # November: one home visit (records on the 5th and 7th of October, the 6th of November)
    [line] = d.obligations
    november = count(sa.select(ServiceRecord.id).where(ServiceRecord.contract_id == contract.id,
                                                       ServiceRecord.month == "2026-11"))
    assert (line.period_key, line.delivered, line.target) == ("2026-11", november, 10) and november == 1
    assert d.rejected == 1 and d.rejected_list[0].record_ref == record.record_ref
    assert (d.rectifications_open, d.rectifications_overdue) == (1, 1)
    assert [c[0] for c in d.comments] == ["assessment"]
    assert d.payments["proposed"] == Decimal("58000.50") and d.payments["approved"] == 0


def test_the_workers_households_put_open_alerts_first(county, create_case, villages, db):
    made = county(n_contracts=1, records_each=2)
    worker = made["workers"][0]
    quiet = create_case(villages[1], head_name="平安户")
    db.session.add(Alert(case=quiet, level="yellow", issued_at=NOW - timedelta(hours=2),
                         due_at=NOW + timedelta(days=3)))
    db.session.flush()
    d = service.worker(worker, TODAY, NOW)
    names = [h["name"] for h in d.households]
    # the red alert due this morning, then the yellow one, then nobody else (the served household has the red alert)
    assert names[:2] == [made["cases"][0].head_name, "平安户"]
    assert d.households[0]["overdue"] and not d.households[1]["overdue"]
    assert len(names) == count(sa.select(Alert.id).join(Case).where(Alert.cleared_at.is_(None)))
    week = service.worker(worker, date(2026, 11, 10), NOW)
    assert [r.record_ref for r in week.records] == ["TZ-0-001"]  # the record of 6 November


def test_the_evaluators_open_checks(county, db):
    made = county(n_contracts=2, records_each=3)
    evaluator = made["evaluators"][0]
    d = service.evaluator(evaluator, TODAY)
    assert d.check_count == count(sa.select(SpotCheckItem.id).where(
        SpotCheckItem.evaluator_id == evaluator.id, SpotCheckItem.outcome.is_(None))) == 1
    assert [e[1] for e in d.evaluations] == [c.contract_no for c in made["contracts"]]


def test_the_township_chart_is_an_image_with_a_page_of_its_figures(county, client, login, villages):
    made = county(n_contracts=2, records_each=2)
    login(made["officer"])
    home = client.get("/").get_data(as_text=True)
    assert 'src="/dashboards/townships.svg"' in home
    image = client.get("/dashboards/townships.svg")
    assert image.mimetype == "image/svg+xml" and "附城镇" in image.get_data(as_text=True)
    assert "max-age=300" in image.headers["Cache-Control"]
    page = client.get("/dashboards/townships").get_data(as_text=True)
    township = villages[0].parent
    assert f'href="/cases/?township={township.id}"' in page and ">4</a>" in page
