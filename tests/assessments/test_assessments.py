"""Periodic assessments: figures fill themselves in, evaluators score, the provider comments
or appeals within its window, the officer signs, and a signed assessment is frozen."""

from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from reliefsvc.assessments import service
from reliefsvc.assessments.models import (
    Assessment,
    AssessmentScore,
    AssessmentStatus,
    FrozenError,
    Method,
)
from reliefsvc.demo.providers import minimal_pdf


def test_default_standard_adds_up_and_is_published(db):
    standard = service.default_standard()
    assert standard.points == 100 and standard.status == "published"
    assert [s.name for s in standard.sections] == ["项目管理", "服务数量", "服务质量", "服务对象满意度", "资金使用"]
    assert service.rubric_problems(standard) == []
    assert {i.method for i in standard.indicators} == set(Method)
    assert service.default_standard() is standard


def test_computed_indicators_fill_themselves_in(create_contract, scored):
    contract = create_contract()
    a, _who = scored(contract)
    by_name = {s.indicator.name: s for s in a.scores}
    completion = by_name["服务义务完成率"]
    assert completion.points == D("0.00") and "应完成 30.0" in completion.figure  # no records: nothing done
    assert completion.source_label
    assert by_name["抽查否定扣分"].points == D("4.00") and "0 条" in by_name["抽查否定扣分"].figure
    assert by_name["整改按期完成率"].points == D("5.00")  # nothing due: not deducted
    assert a.total == service.rules.total([s.points for s in a.scores])
    assert not service.unscored(a)


def test_grades_and_coefficients_at_the_edges(create_contract, people):
    """Fix every points value so that the total lands exactly on each edge."""
    cases = [("90.00", "excellent", D("1.00")), ("89.99", "good", D("1.00")), ("80.00", "good", D("1.00")),
             ("79.99", "pass", D("0.90")), ("60.00", "pass", D("0.90")), ("59.99", "fail", D("0.70"))]
    for n, (target, grade, coefficient) in enumerate(cases):
        # without obligations completion is not held against the contract (computed part 65 of 65);
        # with one and no records, completion scores nothing (computed part 50)
        contract = create_contract(**({"obligations": ()} if D(target) >= 85 else {}))
        who = people(contract)
        a = service.create_assessment(contract, "2026-Q1", who["evaluator"], on=date(2026, 4, 10))
        computed = sum((s.points for s in a.scores if s.indicator.method is not Method.ENTERED), D(0))
        entered = [s for s in a.scores if s.indicator.method is Method.ENTERED]
        rest = D(target) - computed
        for s in entered:
            give = min(s.indicator.max_points, max(rest, D(0)))
            service.enter_score(a, s.indicator_id, give, "按细则评分", who["evaluator"])
            rest -= give
        assert a.total == D(target), (n, a.total)
        service.send_to_provider(a, who["evaluator"], on=date(2026, 4, 12))
        service.close_comments(a, who["manager"], on=date(2026, 4, 13))
        service.sign(a, who["officer"], on=date(2026, 4, 13))
        assert (a.grade, a.coefficient) == (grade, coefficient)


def test_cannot_sign_while_the_window_is_open_or_an_appeal_is_undecided(create_contract, scored):
    contract = create_contract()
    a, who = scored(contract)
    with pytest.raises(service.AssessmentError, match="not been sent"):
        service.sign(a, who["officer"], on=date(2026, 4, 12))
    service.send_to_provider(a, who["evaluator"], on=date(2026, 4, 12))
    assert a.comment_until == date(2026, 4, 26)  # 14 days by default
    with pytest.raises(service.AssessmentError, match="comment window is open"):
        service.sign(a, who["officer"], on=date(2026, 4, 26))
    satisfaction = next(s for s in a.scores if s.indicator.name == "服务对象满意度测评")
    with pytest.raises(service.AssessmentError, match="evidence"):
        service.comment(a, "满意度测评样本过少", who["manager"], kind="appeal", indicator_id=satisfaction.indicator_id,
                        on=date(2026, 4, 20))
    appeal = service.comment(a, "满意度测评样本过少", who["manager"], kind="appeal",
                             indicator_id=satisfaction.indicator_id, file=(minimal_pdf("survey"), "回访记录.pdf"),
                             on=date(2026, 4, 20))
    # the window has run out, but the appeal is not decided
    with pytest.raises(service.AssessmentError, match="appeals are undecided"):
        service.sign(a, who["officer"], on=date(2026, 4, 27))
    with pytest.raises(service.AssessmentError, match="not open"):
        service.comment(a, "补充意见", who["manager"], on=date(2026, 4, 27))
    service.decide_appeal(appeal, True, "补充回访 30 户，满意率 96%", D("14"), who["officer"])
    assert satisfaction.points == D("14.00")
    service.sign(a, who["officer"], on=date(2026, 4, 27))
    assert a.status is AssessmentStatus.SIGNED


def test_a_signed_assessment_is_frozen_in_the_service_the_session_and_the_database(create_contract, scored, db):
    contract = create_contract()
    a, who = scored(contract)
    service.send_to_provider(a, who["evaluator"], on=date(2026, 4, 12))
    service.close_comments(a, who["manager"], on=date(2026, 4, 12))
    service.sign(a, who["officer"], on=date(2026, 4, 12))
    db.session.flush()
    entered = next(s for s in a.scores if s.indicator.method is Method.ENTERED)
    with pytest.raises(service.AssessmentError, match="signed"):
        service.enter_score(a, entered.indicator_id, 1, "改分", who["evaluator"])
    with pytest.raises(service.AssessmentError, match="signed"):
        service.recompute(a, who["evaluator"])
    # around the service, through the ORM: refused before it reaches the database
    a.total = D("100")
    with pytest.raises(FrozenError), db.session.begin_nested():
        db.session.flush()
    db.session.expire(a)
    # around the ORM: the database refuses
    for statement in (sa.update(Assessment).where(Assessment.id == a.id).values(total=100),
                      sa.update(AssessmentScore).where(AssessmentScore.assessment_id == a.id).values(points=0),
                      sa.delete(AssessmentScore).where(AssessmentScore.assessment_id == a.id),
                      sa.delete(Assessment).where(Assessment.id == a.id)):
        with pytest.raises(sa.exc.DatabaseError, match="frozen"), db.session.begin_nested():
            db.session.execute(statement)
    assert db.session.scalar(sa.select(Assessment.total).where(Assessment.id == a.id)) == a.total


def test_a_published_standard_never_changes(db, create_user):
    from reliefsvc.assessments.models import StandardIndicator

    officer = create_user("officer")
    standard = service.default_standard()
    with pytest.raises(service.AssessmentError, match="new version"):
        service.add_section(standard, "其他", 5, officer)
    with pytest.raises(sa.exc.DatabaseError, match="frozen"), db.session.begin_nested():
        db.session.execute(sa.update(StandardIndicator).where(StandardIndicator.standard_id == standard.id)
                           .values(max_points=1))
    copy = service.new_version(standard, officer)
    assert copy.version == standard.version + 1 and copy.points == 100 and copy.status == "draft"
    section = copy.sections[-1]
    service.add_indicator(section, "资金报告按时提交", 2, "entered", None, by_user=officer)
    assert service.rubric_problems(copy)  # 资金使用 now adds up to 12
    with pytest.raises(service.AssessmentError):
        service.publish(copy, officer)
    service.remove(copy, None, section.indicators[-1], officer)
    service.publish(copy, officer)
    assert service.default_standard() is copy


def test_two_fails_in_a_row_ask_for_a_termination_review(create_contract, people, db):
    from reliefsvc.notifications import service as notifications

    contract = create_contract()
    who = people(contract)
    service.bind(contract, service.default_standard(), "month", 14, {}, who["officer"])
    for key, on in (("2026-01", date(2026, 2, 10)), ("2026-02", date(2026, 3, 10))):
        a = service.create_assessment(contract, key, who["evaluator"], on=on)
        for s in a.scores:
            if s.indicator.method is Method.ENTERED:
                service.enter_score(a, s.indicator_id, 0, "资料缺失", who["evaluator"])
        service.send_to_provider(a, who["evaluator"], on=on)
        service.close_comments(a, who["manager"], on=on)
        db.session.info.pop(notifications._PENDING, None)
        service.sign(a, who["officer"], on=on)
    assert a.grade == "fail" and a.consequences == "warning,termination_review"
    kinds = {m.kind for m in db.session.info[notifications._PENDING]}
    assert {"assessment.warning", "assessment.termination_review"} <= kinds
    found = service.signed_assessments(contract, date(2026, 1, 1), date(2026, 12, 31))
    assert [x.period_key for x in found] == ["2026-01", "2026-02"]
    assert all(x.coefficient == D("0.70") for x in found)
    assert service.signed_assessments(contract, date(2026, 2, 1), date(2026, 2, 28))[0].period_key == "2026-02"


def test_periods_must_have_ended_and_not_repeat(create_contract, people):
    contract = create_contract()
    who = people(contract)
    with pytest.raises(service.AssessmentError, match="not ended"):
        service.create_assessment(contract, "2026-Q2", who["evaluator"], on=date(2026, 6, 30))
    with pytest.raises(service.AssessmentError, match="written"):
        service.create_assessment(contract, "2026-05", who["evaluator"], on=date(2026, 7, 1))
    service.create_assessment(contract, "2026-Q2", who["evaluator"], on=date(2026, 7, 1))
    with pytest.raises(service.AssessmentError, match="already"):
        service.create_assessment(contract, "2026-Q2", who["evaluator"], on=date(2026, 7, 1))
    assert "2026-Q1" in service.due_periods(contract, date(2026, 7, 1))


def test_pages_draft_to_signed_and_nobody_edits_after(create_contract, scored, client, login, create_user, create_org,
                                                      run_cli, db):
    from reliefsvc.security.models import OrgKind, Role

    contract = create_contract()
    a, who = scored(contract)
    entered = next(s for s in a.scores if s.indicator.method is Method.ENTERED)
    login(who["evaluator"])
    assert client.get(f"/assessments/{a.id}").status_code == 200
    response = client.post(f"/assessments/{a.id}/scores/{entered.indicator_id}",
                           data={"points": "5", "justification": "台账基本完整"})
    assert response.status_code == 302 and entered.points == D("5.00")
    # the provider does not see a draft
    login(who["manager"])
    assert client.get(f"/assessments/{a.id}").status_code == 404
    login(who["evaluator"])
    assert client.post(f"/assessments/{a.id}/send").status_code == 302
    assert a.status is AssessmentStatus.COMMENTING
    login(who["manager"])
    page = client.get(f"/assessments/{a.id}")
    assert page.status_code == 200 and 'data-testid="comment-form"' in page.text
    client.post(f"/assessments/{a.id}/comments", data={"kind": "appeal", "indicator_id": entered.indicator_id,
                                                       "text": "台账已补齐",
                                                       "file": (io.BytesIO(minimal_pdf("x")), "台账.pdf")},
                content_type="multipart/form-data")
    appeal = a.comments[-1]
    assert appeal.kind == "appeal" and appeal.sha256
    file = client.get(f"/assessments/{a.id}/comments/{appeal.id}/file")
    assert file.status_code == 200
    file.close()
    other = create_user(Role.PROVIDER_MANAGER, org=create_org("测试承接主体乙", OrgKind.PROVIDER))
    login(other)
    assert client.get(f"/assessments/{a.id}").status_code == 404
    login(who["manager"])
    client.post(f"/assessments/{a.id}/no-further-comments")
    assert a.comments_closed_at is not None
    login(who["officer"])
    client.post(f"/assessments/{a.id}/sign")
    assert a.status is AssessmentStatus.COMMENTING  # the appeal is undecided
    client.post(f"/assessments/{a.id}/appeals/{appeal.id}/decide",
                data={"decision": "upheld", "new_points": "6", "note": "核实台账已补齐"})
    assert entered.points == D("6.00")
    client.post(f"/assessments/{a.id}/sign")
    assert a.status is AssessmentStatus.SIGNED
    total = a.total
    # page: the forms are gone and a direct post is refused
    login(who["evaluator"])
    page = client.get(f"/assessments/{a.id}")
    assert 'data-testid="score-form"' not in page.text and 'data-testid="signed-note"' in page.text
    client.post(f"/assessments/{a.id}/scores/{entered.indicator_id}", data={"points": "0", "justification": "改"})
    client.post(f"/assessments/{a.id}/recompute")
    db.session.expire_all()
    assert a.total == total and entered.points == D("6.00")
    # command line
    result = run_cli("assessments", "score", str(a.id), str(entered.indicator_id), "0", "--justification", "改")
    assert result.exit_code == 1 and "signed" in result.output
    result = run_cli("assessments", "show", str(a.id))
    assert result.exit_code == 0 and "signed" in result.output
    db.session.expire_all()
    assert a.total == total


def test_cli_create_list_and_sign(create_contract, people, run_cli, db):
    contract = create_contract()
    who = people(contract)
    result = run_cli("assessments", "create", contract.contract_no, "2026-q1")
    assert result.exit_code == 0, result.output
    a = db.session.scalar(sa.select(Assessment).where(Assessment.contract_id == contract.id))
    result = run_cli("assessments", "sign", str(a.id))
    assert result.exit_code == 1 and "not been sent" in result.output
    for s in a.scores:
        if s.indicator.method is Method.ENTERED:
            assert run_cli("assessments", "score", str(a.id), str(s.indicator_id), "1",
                           "--justification", "按细则").exit_code == 0
    service.send_to_provider(db.session.get(Assessment, a.id), who["evaluator"], on=date.today() - timedelta(days=20))
    result = run_cli("assessments", "sign", str(a.id))
    assert result.exit_code == 0, result.output
    assert "signed" in run_cli("assessments", "list", "--contract", contract.contract_no).output


def test_inspection_raises_a_rectification_and_feeds_the_next_assessment(create_contract, people, photo_bytes, db):
    contract = create_contract()
    who = people(contract)
    village = contract.villages[0]
    inspection = service.record_inspection(service.InspectionInput(
        contract=contract, region_id=village.id, visited_on=date(2026, 2, 10), place="第1村服务站",
        people_met="村支书马某；协理员张某", checklist=[(service.DEFAULT_CHECKLIST[0], "problem")],
        findings=[("服务站未公示开放时间", "合同第四条", True, True), ("台账字迹潦草", "", True, False)],
        photos=[(photo_bytes(3), "站点.jpg")], rectify_due=date(2026, 3, 10)), who["evaluator"])
    assert inspection.rectification_notice_id and len(inspection.photos) == 1
    a = service.create_assessment(contract, "2026-Q1", who["evaluator"], on=date(2026, 4, 10))
    finding = next(s for s in a.scores if s.indicator.source == "inspection_finding")
    assert finding.points == D("3.00") and "2 项" in finding.figure
    on_time = next(s for s in a.scores if s.indicator.source == "rectifications_on_time")
    assert on_time.points == D("0.00") and "未完成 1 项" in on_time.figure
    from reliefsvc.regions.models import Level, Region

    outside = Region(code="622922100299", name="区外村", level=Level.VILLAGE, parent=village.parent)
    db.session.add(outside)
    db.session.flush()
    with pytest.raises(service.AssessmentError, match="area"):
        service.record_inspection(service.InspectionInput(contract=contract, region_id=outside.id,
                                                          visited_on=date(2026, 2, 10)), who["evaluator"])


def test_inspection_form_on_the_page(create_contract, people, client, login, photo_bytes):
    contract = create_contract()
    who = people(contract)
    login(who["evaluator"])
    assert client.get("/assessments/inspections/new").status_code == 200
    response = client.post("/assessments/inspections/new", data={
        "contract_id": contract.id, "region_id": contract.villages[0].id, "visited_on": "2026-03-02",
        "people_met": "协理员", "check-0": "ok", "check-1": "problem", "finding-0-text": "人员不在岗",
        "finding-0-rule": "合同第六条", "finding-0-deducts": "1", "photos": [(io.BytesIO(photo_bytes(5)), "a.jpg")]},
        content_type="multipart/form-data")
    assert response.status_code == 302
    shown = client.get(response.headers["Location"])
    assert "人员不在岗" in shown.text
    photo_url = shown.text.split('src="')[1].split('"')[0]
    photo = client.get(photo_url)
    assert photo.status_code == 200 and photo.data[:3] == b"\xff\xd8\xff"
    photo.close()
