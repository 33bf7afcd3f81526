"""Monitoring alerts: deadlines from the settings, what an import line does, overdue marking, notices."""

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from reliefsvc.audit.models import AuditEntry
from reliefsvc.cases import rules, service
from reliefsvc.cases.models import Alert
from tests.cases.conftest import LOCAL, NOW, last_line, make_id, write

HEADER = "case_ref,head_name,id_number,village_code,categories,household_size,alert_level,alert_issued_at\n"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=LOCAL)


@pytest.mark.parametrize("level,hours", [("red", 24), ("orange", 72), ("yellow", 168)])
def test_default_deadlines(level, hours, create_case):
    alert = service.issue_alert(create_case(), level, at("2026-11-20 08:00"))
    assert alert.due_at - alert.issued_at == timedelta(hours=hours)


def test_deadlines_are_settings_fixed_at_issue_time(app, monkeypatch, create_case):
    first = service.issue_alert(create_case(), "red", at("2026-11-20 08:00"))
    monkeypatch.setitem(app.config, "ALERT_DEADLINE_HOURS", {"red": 12, "orange": 48})
    second = service.issue_alert(create_case(), "red", at("2026-11-20 08:00"))
    yellow = service.issue_alert(create_case(), "yellow", at("2026-11-20 08:00"))
    assert second.due_at == at("2026-11-20 20:00")
    assert yellow.due_at == at("2026-11-27 08:00")  # not overridden: the default of 168 hours stays
    assert first.due_at == at("2026-11-21 08:00")  # an issued alert keeps its deadline
    monkeypatch.setitem(app.config, "ALERT_DEADLINE_HOURS", {"red": 0})
    with pytest.raises(ValueError, match="positive"):
        service.issue_alert(create_case(), "red", at("2026-11-20 08:00"))


def test_the_import_uses_the_setting(app, monkeypatch, run_cli, tmp_path, place, db):
    monkeypatch.setitem(app.config, "ALERT_DEADLINE_HOURS", {"red": 6})
    text = HEADER + f"H1,马建国,{make_id(1)},622922100201,dibao,2,red,2026-11-20 08:00\n"
    assert run_cli("cases", "import", write(tmp_path, text)).exit_code == 0
    assert db.session.scalar(sa.select(Alert.due_at)) == at("2026-11-20 14:00")


A_KNOWN = {("red", at("2026-11-18 08:00"))}


@pytest.mark.parametrize("level,issued,known,latest,open_level,expected", [
    (None, None, set(), None, "red", rules.KEEP),  # empty: the file says nothing about alerts
    ("none", None, set(), None, None, rules.KEEP),
    ("none", None, A_KNOWN, at("2026-11-18 08:00"), "red", rules.LIFT),
    ("yellow", at("2026-11-19 08:00"), set(), None, None, rules.ISSUE),  # new
    ("red", at("2026-11-18 08:00"), A_KNOWN, at("2026-11-18 08:00"), None, rules.KEEP),  # same alert, since cleared
    ("red", at("2026-11-19 08:00"), A_KNOWN, at("2026-11-18 08:00"), "red", rules.ISSUE),  # issued anew
    ("red", at("2026-11-17 08:00"), A_KNOWN, at("2026-11-18 08:00"), "red", rules.KEEP),  # older than known
    ("orange", at("2026-11-19 08:00"), {("yellow", at("2026-11-18 08:00"))}, at("2026-11-18 08:00"), "yellow",
     rules.ISSUE),  # raised
    ("yellow", at("2026-11-19 08:00"), A_KNOWN, at("2026-11-18 08:00"), "red", rules.KEEP),  # lowered
])
def test_alert_action(level, issued, known, latest, open_level, expected):
    assert rules.alert_action(level, issued, known=known, latest_issued_at=latest, open_level=open_level) == expected


def test_what_import_lines_do_to_a_households_alerts(run_cli, tmp_path, place, db):
    def load(level, issued, name):
        text = HEADER + f"H1,马建国,{make_id(1)},622922100201,dibao,2,{level},{issued}\n"
        return last_line(run_cli("cases", "import", write(tmp_path, text, name)))

    def alerts():
        return [(a.level.value, a.cleared_at is None) for a in
                db.session.scalars(sa.select(Alert).order_by(Alert.issued_at, Alert.id))]

    assert load("yellow", "2026-11-18 08:00", "1.csv") == "imported 1, updated 0, rejected 0"
    assert load("yellow", "2026-11-18 08:00", "2.csv") == "imported 0, updated 0, rejected 0"
    assert load("", "", "3.csv") == "imported 0, updated 0, rejected 0"
    assert alerts() == [("yellow", True)]
    assert load("red", "2026-11-19 09:00", "4.csv") == "imported 0, updated 1, rejected 0"  # raised
    assert alerts() == [("yellow", False), ("red", True)]
    superseded = db.session.scalar(sa.select(Alert).where(Alert.level == "yellow"))
    assert superseded.clear_note == "已被红色预警取代"
    assert load("orange", "2026-11-20 09:00", "5.csv") == "imported 0, updated 0, rejected 0"  # lowered: kept
    assert alerts() == [("yellow", False), ("red", True)]
    assert load("none", "", "6.csv") == "imported 0, updated 1, rejected 0"  # lifted
    assert alerts() == [("yellow", False), ("red", False)]
    assert load("red", "2026-11-19 09:00", "7.csv") == "imported 0, updated 0, rejected 0"  # known, not again


def test_overdue_alerts_are_marked_and_listed_by_due_time(client, login, create_user, create_case, frozen):
    a = service.issue_alert(create_case(head_name="甲户"), "red", at("2026-11-19 06:00"))  # due 19th 06:00+24h
    b = service.issue_alert(create_case(head_name="乙户"), "yellow", at("2026-11-19 06:00"))  # due 26th
    c = service.issue_alert(create_case(head_name="丙户"), "orange", at("2026-11-20 09:00"))  # due 23rd
    assert a.is_overdue(service.utcnow()) and not b.is_overdue(service.utcnow())
    login(create_user("officer"))
    page = client.get("/cases/alerts").get_data(as_text=True)
    rows = [page.index(f'data-alert="{x.id}"') for x in (a, c, b)]
    assert rows == sorted(rows)  # soonest due first
    overdue_row = page[page.rfind("<tr", 0, rows[0]):rows[0] + 10]
    assert 'class="overdue"' in overdue_row
    assert page.count('data-testid="overdue"') == 1
    only = client.get("/cases/alerts?state=overdue").get_data(as_text=True)
    assert f'data-alert="{a.id}"' in only and f'data-alert="{b.id}"' not in only
    listing = client.get("/cases/?alert=overdue").get_data(as_text=True)
    assert "甲户" in listing and "乙户" not in listing


def test_an_officer_clears_an_alert_with_a_note(client, login, create_user, create_case, db):
    case = create_case()
    alert = service.issue_alert(case, "red", at("2026-11-19 06:00"))
    login(create_user("officer"))
    url = f"/cases/{case.id}/alerts/{alert.id}/clear"
    assert client.post(url, data={"note": ""}).status_code == 302
    assert db.session.get(Alert, alert.id).cleared_at is None
    client.post(url, data={"note": "已电话联系并入户核查"})
    alert = db.session.get(Alert, alert.id)
    assert alert.cleared_at == NOW and alert.cleared_late and alert.clear_note == "已电话联系并入户核查"
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.event_type == "cases.alert_cleared"))
    assert '"after_deadline":true' in entry.payload
    with pytest.raises(service.CaseError):
        service.clear_alert(alert, "again")


def test_a_service_record_clears_its_alert(create_case):
    alert = service.issue_alert(create_case(), "orange", at("2026-11-20 06:00"))
    service.clear_alert(alert, "", record_id=4711, at=at("2026-11-20 09:30"))
    assert alert.cleared_by_record_id == 4711 and not alert.cleared_late


def test_time_left_reads_in_hours_then_days(app, create_case):
    from flask_babel import force_locale

    from reliefsvc.cases.views import alert_time_left

    red = service.issue_alert(create_case(), "red", at("2026-11-19 06:00"))
    yellow = service.issue_alert(create_case(), "yellow", at("2026-11-19 06:00"))
    now = service.utcnow()
    with app.test_request_context(), force_locale("en"):
        assert alert_time_left(red, now) == "4 hours overdue"
        assert alert_time_left(yellow, now) == "5 days left"  # 5 days 20 hours
        assert alert_time_left(yellow, now + timedelta(days=10)) == "4 days overdue"


def test_overdue_notices_go_out_once(create_user, create_provider_user, discovery, no_contract_scope, db, frozen):
    from reliefsvc.cases.jobs import overdue_alerts

    officer = create_user("officer")
    _provider, worker = create_provider_user()
    _provider, manager = create_provider_user(role="provider_manager")
    other_provider, _other = create_provider_user("另一家社工服务中心", role="provider_manager")
    case = service.discover_case(discovery(), worker)  # a household the provider knows: it found it
    service.issue_alert(case, "red", at("2026-11-19 06:00"))
    service.issue_alert(service.discover_case(discovery(id_number=None, head_name="李四"), worker), "yellow",
                        at("2026-11-20 06:00"))
    db.session.info.pop("notifications_pending", None)

    assert overdue_alerts("2026-11-20T10", service.utcnow()).startswith("新逾期预警 1 条")
    assert overdue_alerts("2026-11-20T11", service.utcnow()).startswith("新逾期预警 0 条")
    pending = db.session.info.get("notifications_pending", [])
    assert {m.user_id for m in pending if m.kind == "alert.overdue"} == {officer.id, manager.id}
    frozen.shift(timedelta(days=8))
    assert overdue_alerts("2026-11-28T10", service.utcnow()).startswith("新逾期预警 1 条")
