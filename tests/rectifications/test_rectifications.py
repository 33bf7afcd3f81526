"""Rectification notices: raised, answered with evidence, accepted or sent back, overdue."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from reliefsvc.demo.providers import minimal_pdf
from reliefsvc.rectifications import service
from reliefsvc.rectifications.models import ItemStatus, NoticeStatus
from reliefsvc.security.models import Role


@pytest.fixture
def setting(create_contract, create_user):
    contract = create_contract()
    org = contract.provider.organisation
    manager = create_user(Role.PROVIDER_MANAGER, org=org)
    officer = create_user(Role.OFFICER)
    return contract, manager, officer


def _raise(contract, officer, due=None):
    return service.raise_notice(contract, [("台账缺少签字", "合同第五条"), ("照片不清晰", "服务规范第三条")],
                                due or date(2026, 6, 30), "officer", officer)


def test_raise_answer_accept_closes_the_notice(setting, db):
    from reliefsvc.audit.models import AuditEntry

    contract, manager, officer = setting
    notice = _raise(contract, officer)
    assert notice.status is NoticeStatus.OPEN and [i.status for i in notice.items] == [ItemStatus.OPEN] * 2
    first, second = notice.items
    service.answer_item(first, "已补签", service.Evidence(minimal_pdf("signed"), "签字.pdf"), manager)
    assert first.status is ItemStatus.ANSWERED and first.answers[0].sha256
    service.decide_item(first, False, "签字页不全", officer)
    assert first.status is ItemStatus.SENT_BACK
    service.answer_item(first, "补全签字页", None, manager)  # later answers may rely on the first file
    service.decide_item(first, True, "", officer, on=date(2026, 6, 20))
    service.answer_item(second, "重新拍照", service.Evidence(minimal_pdf("photo"), "照片.pdf"), manager)
    service.decide_item(second, True, "", officer, on=date(2026, 7, 3))
    assert notice.status is NoticeStatus.CLOSED
    assert first.closed_on_time and not second.closed_on_time
    counts = service.on_time_counts(contract, date(2026, 6, 1), date(2026, 6, 30))
    assert (counts.due, counts.on_time, counts.late, counts.still_open) == (2, 1, 1, 0)
    kinds = db.session.scalars(sa.select(AuditEntry.event_type).where(
        AuditEntry.event_type.like("rectifications.%"))).all()
    assert kinds.count("rectifications.decided") == 3 and "rectifications.raised" in kinds


def test_items_need_a_rule_and_answers_need_evidence(setting):
    contract, manager, officer = setting
    with pytest.raises(service.RectificationError):
        service.raise_notice(contract, [], date(2026, 6, 30), "officer", officer)
    with pytest.raises(service.RectificationError):
        service.raise_notice(contract, [("台账缺少签字", "")], date(2026, 6, 30), "officer", officer)
    notice = _raise(contract, officer)
    item = notice.items[0]
    with pytest.raises(service.RectificationError, match="evidence"):
        service.answer_item(item, "已整改", None, manager)
    with pytest.raises(service.RectificationError, match="PDF"):
        service.answer_item(item, "已整改", service.Evidence(b"MZ\x90\x00 not a document", "x.pdf"), manager)
    with pytest.raises(service.RectificationError):
        service.decide_item(item, True, "", officer)  # nothing to decide yet
    service.answer_item(item, "已整改", service.Evidence(minimal_pdf("x"), "x.pdf"), manager)
    with pytest.raises(service.RectificationError, match="reason"):
        service.decide_item(item, False, " ", officer)


def test_overdue_items_notify_once(setting, db):
    from reliefsvc.notifications import service as notifications

    contract, manager, officer = setting
    notice = _raise(contract, officer, due=date(2026, 6, 30))
    db.session.info.pop("notifications_pending", None)
    assert service.notify_deadlines(date(2026, 6, 27)) == (1, 0)  # three days before: a reminder
    assert service.notify_deadlines(date(2026, 7, 1)) == (0, 2)
    pending = db.session.info.get(notifications._PENDING)
    assert any(m.kind == "rectification.overdue" and m.user_id == manager.id for m in pending)
    assert any(m.kind == "rectification.overdue" and m.user_id == officer.id for m in pending)
    assert service.notify_deadlines(date(2026, 7, 2)) == (0, 0)
    assert notice.overdue_on(date(2026, 7, 2))
    assert len(service.overdue_items(date(2026, 7, 2), contract)) == 2


def test_pages_provider_answers_officer_accepts(setting, client, login, create_user, create_org, db):
    from reliefsvc.security.models import OrgKind

    contract, manager, officer = setting
    notice = _raise(contract, officer)
    item = notice.items[0]
    login(manager)
    page = client.get("/rectifications/")
    assert page.status_code == 200 and contract.contract_no in page.text
    response = client.post(f"/rectifications/{notice.id}/items/{item.id}/answer",
                           data={"text": "已补签", "file": (io.BytesIO(minimal_pdf("a")), "a.pdf")},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    assert item.status is ItemStatus.ANSWERED
    answer = item.answers[0]
    download = client.get(f"/rectifications/{notice.id}/answers/{answer.id}/file")
    assert download.status_code == 200 and download.data.startswith(b"%PDF")
    download.close()
    # another provider sees neither the notice nor the board entry
    other = create_user(Role.PROVIDER_MANAGER, org=create_org("测试承接主体乙", OrgKind.PROVIDER))
    login(other)
    assert client.get(f"/rectifications/{notice.id}").status_code == 404
    assert contract.contract_no not in client.get("/rectifications/?status=all").text
    login(officer)
    response = client.post(f"/rectifications/{notice.id}/items/{item.id}/decide",
                           data={"verdict": "accept", "note": ""})
    assert response.status_code == 302 and item.status is ItemStatus.ACCEPTED
    shown = client.get(f"/contracts/{contract.id}")
    assert shown.status_code == 200 and f"/rectifications/{notice.id}" in shown.text


def test_officer_issues_a_notice_from_the_form(setting, client, login):
    contract, _manager, officer = setting
    login(officer)
    assert client.get(f"/rectifications/new/{contract.id}").status_code == 200
    due = (date.today() + timedelta(days=10)).isoformat()
    response = client.post(f"/rectifications/new/{contract.id}", data={
        "items-0-what": "未按月走访特困户", "items-0-rule": "合同第三条", "items-1-what": "", "items-1-rule": "",
        "due": due})
    assert response.status_code == 302
    notice = service.open_notices(contract)[0]
    assert [i.what for i in notice.items] == ["未按月走访特困户"] and notice.source == "officer"


def test_cli_lists_notices(setting, run_cli):
    contract, _manager, officer = setting
    _raise(contract, officer)
    result = run_cli("rectifications", "list")
    assert result.exit_code == 0 and contract.contract_no in result.output and "台账缺少签字" in result.output
