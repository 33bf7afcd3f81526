"""Annual evaluations: opened by the clock, scored with narratives, commented, signed by a
reviewing officer who did not score it, frozen, listed as overdue, printed."""

from __future__ import annotations

import io
from datetime import date, datetime

import pytest
import sqlalchemy as sa

from reliefsvc.evaluations import service
from reliefsvc.evaluations.models import Evaluation, EvaluationStatus, FrozenError
from reliefsvc.security.models import Role


def _sign_refusal(ev, user, on):
    with pytest.raises(service.EvaluationError) as caught:
        service.sign(ev, user, on=on)
    return caught.value.zh


# --- the clock ---------------------------------------------------------------------------------

def test_the_daily_job_opens_the_evaluation_when_a_contract_year_ends(ended_contract, db):
    from reliefsvc.evaluations.jobs import open_and_chase

    assert service.open_due(on=date(2025, 12, 31)) == []
    open_and_chase("2026-01-01", datetime(2026, 1, 1, 6, 40, tzinfo=service.LOCAL_TZ))
    ev = db.session.scalar(sa.select(Evaluation).where(Evaluation.contract_id == ended_contract.id))
    assert (ev.year_no, ev.day_from, ev.day_to, ev.due_on, ev.origin) == (
        1, date(2025, 1, 1), date(2025, 12, 31), date(2026, 3, 1), "job")
    assert ev.status is EvaluationStatus.DRAFT
    assert {i["dimension"] for i in ev.indicators} == {"management", "outcomes", "funds"}
    assert {i["key"] for i in ev.indicators} >= {"obligations_met", "alert_checks_on_time", "rectifications_closed",
                                                 "flags_per_hundred", "hiring_risk", "assessment_grades",
                                                 "false_service_rate", "households_reached", "active_discoveries",
                                                 "payments_against_results", "fund_use_findings"}
    assert service.open_due(on=date(2026, 1, 2)) == []  # once per contract-year


def test_an_officer_may_open_one_early_but_not_before_the_year_begins(create_contract, create_user):
    contract = create_contract(starts_on=date(2026, 1, 1), ends_on=date(2027, 12, 31))
    officer = create_user(Role.OFFICER)
    ev = service.create_evaluation(contract, 1, officer, on=date(2026, 11, 1))
    assert ev.origin == "officer" and ev.day_to == date(2026, 12, 31)
    with pytest.raises(service.EvaluationError, match="has not begun"):
        service.create_evaluation(contract, 2, officer, on=date(2026, 11, 1))
    with pytest.raises(service.EvaluationError, match="already has"):
        service.create_evaluation(contract, 1, officer, on=date(2026, 11, 1))


def test_a_contract_year_without_a_signed_evaluation_is_overdue(ended_contract, ready):
    # never opened: overdue the day after its due date
    assert service.overdue(date(2026, 3, 1)) == []
    late = service.overdue(date(2026, 3, 2))
    assert [(r.contract.id, r.year.number, r.due_on, r.evaluation) for r in late] == [
        (ended_contract.id, 1, date(2026, 3, 1), None)]
    # opened but not signed: still overdue
    ev, who = ready(ended_contract)
    assert [r.evaluation for r in service.overdue(date(2026, 3, 2))] == [ev]
    service.close_comments(ev, who["manager"], on=date(2026, 2, 11))
    service.sign(ev, who["reviewer"], on=date(2026, 3, 5))
    assert service.overdue(date(2026, 3, 6)) == []


def test_the_clock_tells_officers_of_overdue_years(ended_contract, create_user, db):
    from reliefsvc.evaluations.jobs import open_and_chase

    officer = create_user(Role.OFFICER)
    db.session.info.pop("notifications_pending", None)
    summary = open_and_chase("2026-03-02", datetime(2026, 3, 2, 6, 40, tzinfo=service.LOCAL_TZ))
    assert "1 overdue (1 new)" in summary
    told = [m for m in db.session.info.get("notifications_pending", []) if m.kind == "evaluation.overdue"]
    assert officer.id in {m.user_id for m in told}
    assert all(ended_contract.contract_no in m.body for m in told)


# --- scoring and signing -----------------------------------------------------------------------

def test_every_dimension_needs_a_narrative(ended_contract, people):
    who = people(ended_contract)
    ev = service.create_evaluation(ended_contract, 1, who["officer"], on=date(2026, 1, 5))
    with pytest.raises(service.EvaluationError, match="narrative"):
        service.score_dimension(ev, "management", "80", "   ", who["evaluator"])
    service.score_dimension(ev, "management", "80", "台账完整", who["evaluator"])
    service.conclude(ev, "good", True, "良好", who["evaluator"])
    with pytest.raises(service.EvaluationError, match="outcomes"):
        service.send_to_provider(ev, who["evaluator"], on=date(2026, 1, 6))


def test_cannot_be_signed_without_every_narrative(ended_contract, ready, db):
    ev, who = ready(ended_contract)
    service.close_comments(ev, who["manager"], on=date(2026, 2, 11))
    ev.dimension("funds").narrative = ""  # however it got lost, signing checks again
    db.session.flush()
    assert "“经费使用”尚未评分或缺少评价意见" in _sign_refusal(ev, who["reviewer"], date(2026, 2, 12))
    assert ev.status is EvaluationStatus.COMMENTING


def test_cannot_be_signed_during_an_open_comment_window(ended_contract, ready):
    ev, who = ready(ended_contract, on=date(2026, 2, 10))
    assert ev.comment_until == date(2026, 2, 24)
    assert "意见反馈期至 2026年2月24日" in _sign_refusal(ev, who["reviewer"], date(2026, 2, 24))
    # the window runs out ...
    assert service.sign_problems(ev, who["reviewer"], date(2026, 2, 25)) == []
    # ... or the provider declares it has no further comments
    service.comment(ev, "对经费使用评分有不同看法。", who["manager"], on=date(2026, 2, 11))
    service.close_comments(ev, who["manager"], on=date(2026, 2, 12))
    service.sign(ev, who["reviewer"], on=date(2026, 2, 12))
    assert ev.status is EvaluationStatus.SIGNED and ev.doc_no == "康民评〔2026〕1号"


def test_cannot_be_signed_by_its_own_assessor(ended_contract, people, db):
    who = people(ended_contract)
    officer = who["officer"]
    ev = service.create_evaluation(ended_contract, 1, officer, on=date(2026, 1, 5))
    for code in ("management", "outcomes", "funds"):
        service.score_dimension(ev, code, "75", "现场查看台账", officer)  # an officer scored it himself
    service.conclude(ev, "pass", True, "合格", officer)
    service.send_to_provider(ev, officer, on=date(2026, 1, 6))
    service.close_comments(ev, who["manager"], on=date(2026, 1, 7))
    assert "评估人不能签发自己评分的评估" in _sign_refusal(ev, officer, date(2026, 1, 8))
    # a second evaluator may not take over the scoring either
    assert ev.assessor == officer
    # the database refuses it too
    with pytest.raises(sa.exc.IntegrityError), db.session.begin_nested():
        db.session.execute(sa.text("UPDATE evaluation SET signed_by_id = :u WHERE id = :e"),
                           {"u": officer.id, "e": ev.id})
    service.sign(ev, who["reviewer"], on=date(2026, 1, 8))
    assert ev.signed_by == who["reviewer"]


def test_only_the_assessor_scores_and_only_an_officer_signs(ended_contract, ready, create_user):
    ev, who = ready(ended_contract)
    service.close_comments(ev, who["manager"], on=date(2026, 2, 11))
    with pytest.raises(service.EvaluationError, match="only an officer"):
        service.sign(ev, create_user(Role.EVALUATOR), on=date(2026, 2, 12))


def test_a_signed_evaluation_is_frozen(ended_contract, ready, db):
    ev, who = ready(ended_contract)
    service.close_comments(ev, who["manager"], on=date(2026, 2, 11))
    service.sign(ev, who["reviewer"], on=date(2026, 2, 12))
    with pytest.raises(service.EvaluationError, match="is signed"):
        service.score_dimension(ev, "funds", "10", "改分", who["evaluator"])
    with pytest.raises(FrozenError), db.session.begin_nested():
        ev.summary = "改写"
        db.session.flush()
    db.session.expire_all()
    with pytest.raises(FrozenError), db.session.begin_nested():
        ev.dimension("funds").score = 10
        db.session.flush()
    db.session.expire_all()
    for statement in ("UPDATE evaluation SET rating = 'fail' WHERE id = :e",
                      "UPDATE evaluation_dimension SET score = 1 WHERE evaluation_id = :e",
                      "DELETE FROM evaluation_comment WHERE evaluation_id = :e"):
        with pytest.raises(sa.exc.DatabaseError, match="frozen"), db.session.begin_nested():
            db.session.execute(sa.text(statement), {"e": ev.id})
    db.session.expire_all()
    assert ev.rating == "good" and ev.dimension("funds").score == 85


def test_signed_evaluations_follow_the_provider(ended_contract, ready):
    ev, who = ready(ended_contract)
    assert service.signed_for_provider(ended_contract.provider) == []
    service.close_comments(ev, who["manager"], on=date(2026, 2, 11))
    service.sign(ev, who["reviewer"], on=date(2026, 2, 12))
    assert service.signed_for_provider(ended_contract.provider) == [ev]
    assert service.latest_signed(ended_contract) == ev


# --- pages -------------------------------------------------------------------------------------

def test_pages_from_scoring_to_signing(ended_contract, people, client, login, db):
    who = people(ended_contract)
    ev = service.create_evaluation(ended_contract, 1, None, origin="job", on=date(2026, 1, 1))
    url = f"/evaluations/{ev.id}"
    login(who["manager"])
    assert client.get(url).status_code == 404  # a draft is the bureau's own
    login(who["evaluator"])
    page = client.get(url).get_data(as_text=True)
    assert "项目管理" in page and "服务成效" in page and "经费使用" in page and "服务义务完成率" in page
    for code in ("management", "outcomes", "funds"):
        client.post(f"{url}/dimensions/{code}", data={f"{code}-score": "88", f"{code}-narrative": "按合同约定完成"})
    client.post(f"{url}/conclusion", data={"rating": "good", "rebuy": "yes", "summary": "总体良好"})
    client.post(f"{url}/send")
    db.session.expire_all()
    assert ev.status is EvaluationStatus.COMMENTING and ev.assessor == who["evaluator"]
    login(who["manager"])
    assert "我们无其他意见" in client.get(url).get_data(as_text=True)
    client.post(f"{url}/comments", data={"text": "无异议"})
    client.post(f"{url}/no-further-comments")
    login(who["reviewer"])
    client.post(f"{url}/sign")
    db.session.expire_all()
    assert ev.status is EvaluationStatus.SIGNED
    page = client.get(url).get_data(as_text=True)
    assert ev.doc_no in page and "任何人不能修改" in page
    assert ended_contract.contract_no in client.get("/evaluations/compare?year=2025").get_data(as_text=True)
    response = client.get("/evaluations/compare.xlsx?year=2025&sort=rating")
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(response.data)).active
    assert ended_contract.contract_no in [c.value for row in sheet.iter_rows() for c in row]
    # the provider's page and its vetting page show it
    from reliefsvc.providers.models import Vetting

    vetting = db.session.scalar(sa.select(Vetting).where(Vetting.provider_id == ended_contract.provider_id))
    page = client.get(f"/providers/{ended_contract.provider_id}/vettings/{vetting.id}").get_data(as_text=True)
    assert 'data-panel="evaluations"' in page and ev.doc_no in page
    page = client.get(f"/contracts/{ended_contract.id}").get_data(as_text=True)
    assert 'data-testid="contract-evaluations"' in page and ev.doc_no in page


def test_overdue_page_and_home_panel(ended_contract, create_user, client, login):
    login(create_user(Role.OFFICER))
    page = client.get("/evaluations/overdue").get_data(as_text=True)
    assert ended_contract.contract_no in page
    home = client.get("/").get_data(as_text=True)
    assert 'data-testid="home-evaluations"' in home and "逾期未签发的年度评估" in home


# --- the report --------------------------------------------------------------------------------

def _text(pdf: bytes) -> str:
    from pypdf import PdfReader

    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_the_report_of_a_demo_contract(run_cli, db, tmp_path):
    """The demo's signed evaluation of the previous-year contract, printed by the command."""
    assert run_cli("demo", "load", "--small").exit_code == 0
    ev = db.session.scalar(sa.select(Evaluation).where(Evaluation.status == EvaluationStatus.SIGNED))
    out = tmp_path / "评估报告.pdf"
    result = run_cli("reports", "evaluation", "--contract", ev.contract.contract_no, "--year", str(ev.year),
                     "-o", str(out))
    assert result.exit_code == 0, result.output
    text = _text(out.read_bytes()).replace(" ", "").replace("\n", "")
    assert ev.contract.contract_no in text
    for name in ("项目管理", "服务成效", "经费使用"):
        assert name in text
    assert "合格" in text and ev.doc_no in text and "草稿" not in text
    assert "年度评估报告" in text

    draft = db.session.scalar(sa.select(Evaluation).where(Evaluation.status == EvaluationStatus.DRAFT))
    assert "草稿" in _text(service.render_report(draft))

    # The year's archive: every evaluation of the year, laid out by two worker processes that
    # get only the HTML (they read no database: the demo here is not even committed).
    year = ev.year
    of_year = db.session.scalars(sa.select(Evaluation).where(Evaluation.year == year)).all()
    folder = tmp_path / "archive"
    result = run_cli("reports", "evaluations", "--year", str(year), "-o", str(folder), "--jobs", "2")
    assert result.exit_code == 0, result.output
    files = sorted(folder.iterdir())
    assert len(files) == len(of_year) and f"{len(of_year)} reports" in result.output
    signed_file = folder / f"{ev.contract.contract_no}-第{ev.year_no}执行年度评估报告.pdf"
    assert signed_file.read_bytes()[:5] == b"%PDF-"
    from pypdf import PdfReader

    batch_text = _text(signed_file.read_bytes()).replace(" ", "").replace("\n", "")
    assert ev.doc_no in batch_text and "年度评估报告" in batch_text and "草稿" not in batch_text
    assert len(PdfReader(signed_file).pages) == len(PdfReader(io.BytesIO(service.render_report(ev))).pages)
    only_signed = run_cli("reports", "evaluations", "--year", str(year), "-o", str(tmp_path / "signed"),
                          "--signed-only", "--jobs", "1")
    assert only_signed.exit_code == 0, only_signed.output
    assert len(list((tmp_path / "signed").iterdir())) == sum(e.status is EvaluationStatus.SIGNED for e in of_year)
    assert run_cli("reports", "evaluations", "--year", "1999", "-o", str(tmp_path / "none")).exit_code == 1


def test_an_archive_file_name_keeps_the_contract_number_and_drops_what_a_file_system_refuses():
    from types import SimpleNamespace

    from reliefsvc.evaluations.cli import batch_filename

    ev = SimpleNamespace(contract=SimpleNamespace(contract_no="康民购〔2026〕1号/补:1"), year_no=2)
    assert batch_filename(ev) == "康民购〔2026〕1号_补_1-第2执行年度评估报告.pdf"


def test_the_report_command_refuses_a_year_without_an_evaluation(run_cli, ended_contract, tmp_path):
    result = run_cli("reports", "evaluation", "--contract", ended_contract.contract_no, "--year", "2025",
                     "-o", str(tmp_path / "x.pdf"))
    assert result.exit_code == 1 and not (tmp_path / "x.pdf").exists()
