"""From the automatically created annual evaluation to the signed PDF, in the browser.

An older contract of the sound provider is brought onto the platform by import; its first
execution year ended last month. The administrator runs the daily evaluation job (as the
scheduler would that morning), which opens the evaluation; the evaluator scores the three
dimensions with their narratives and sends it; the provider comments and declares it has no
further comments; the reviewing officer signs; the report PDF carries the document number,
the contract, the three dimensions and the rating, and no draft mark.
"""

from __future__ import annotations

import io
import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from reliefsvc.providers.rules import make_uscc

pytestmark = [pytest.mark.e2e, pytest.mark.no_db_rollback, pytest.mark.xdist_group("browser")]

SOUND_USCC = make_uscc("52", "622922", "MJ000001")
TITLE = "康乐县困难群众探访关爱服务项目（上一执行年度已结束）"


def _import_contract(page, number: str) -> None:
    starts = date.today().replace(day=1) - timedelta(days=1)
    starts = starts.replace(day=1)
    starts = starts.replace(year=starts.year - 1)  # the first year ended at the end of last month
    ends = starts.replace(year=starts.year + 2) - timedelta(days=1)
    csv = ("contract_no,title,provider_uscc,purchaser,amount,starts_on,ends_on,pricing_model,payment_linked,status\n"
           f"{number},{TITLE},{SOUND_USCC},康乐县民政局,360000.00,{starts.isoformat()},{ends.isoformat()},"
           "output,1,active\n")
    page.goto("/contracts/import")
    page.get_by_label("文件（CSV 或 XLSX）").set_input_files(
        files=[{"name": "contracts.csv", "mimeType": "text/csv", "buffer": csv.encode("utf-8")}])
    page.get_by_role("button", name="导入").click()
    expect(page.get_by_role("alert").first).to_contain_text("导入完成：新增 1 条")


def test_from_the_automatic_evaluation_to_the_signed_pdf(new_page, log_in, open_menu, untranslated, artifacts):
    number = f"康民购〔{date.today().year - 1}〕e2e评估号"

    officer = new_page()
    log_in(officer, "officer")
    _import_contract(officer, number)

    admin = new_page()
    log_in(admin, "admin")
    admin.goto("/admin/jobs/")
    admin.locator("tr", has_text="evaluations.daily").get_by_role("button", name="立即运行").click()
    expect(admin.get_by_role("alert").first).to_contain_text("evaluations.daily")

    evaluator = new_page()
    log_in(evaluator, "evaluator")
    expect(evaluator.get_by_test_id("home-evaluations")).to_contain_text(number)
    open_menu(evaluator, "监督考核", "年度评估")
    row = evaluator.get_by_test_id("evaluation-row").filter(has_text=number)
    expect(row).to_contain_text("每日任务开启")
    expect(row.get_by_test_id("evaluation-status")).to_have_text("草稿：评分中")
    row.get_by_role("link", name=number).click()
    expect(evaluator.get_by_test_id("dimension-name")).to_have_text(["项目管理", "服务成效", "经费使用"])
    expect(evaluator.get_by_test_id("indicator").filter(has_text="服务义务完成率")).to_have_count(1)
    assert untranslated(evaluator) == []
    for code, score, words in (("management", "86", "管理制度健全，台账完整，整改按期完成。"),
                               ("outcomes", "82", "走访覆盖面达到合同约定，抽查未发现虚假服务。"),
                               ("funds", "84", "专款专用，支付与考核结果挂钩。")):
        card = evaluator.locator(f"#dimension-{code}")
        card.get_by_label("得分（0–100）").fill(score)
        card.get_by_label("评价意见").fill(words)
        card.get_by_role("button", name="保存本维度").click()
        expect(evaluator.get_by_role("alert").first).to_have_text("维度评分已保存。")
    conclusion = evaluator.get_by_test_id("conclusion-form")
    conclusion.get_by_label("评估等级").select_option(label="良好")
    conclusion.get_by_label("是", exact=True).check()
    conclusion.get_by_label("综合评价").fill("项目实施情况良好，建议继续购买。")
    conclusion.get_by_role("button", name="保存评估等级").click()
    expect(evaluator.get_by_role("alert").first).to_have_text("评估等级已保存。")
    evaluator.get_by_role("button", name="送承接主体征求意见").click()
    expect(evaluator.get_by_test_id("evaluation-status").first).to_have_text("征求承接主体意见中")
    url = evaluator.url.split("#")[0]
    evaluator.screenshot(path=artifacts / "evaluation-commenting.png", full_page=True)

    officer.goto(url)
    expect(officer.get_by_test_id("sign-problem").first).to_contain_text("意见反馈期")
    expect(officer.get_by_role("button", name="签发评估")).to_be_disabled()

    provider = new_page()
    log_in(provider, "manager")
    provider.goto(url)
    provider.get_by_label("您对评估的意见").fill("对经费使用的评价无异议。")
    provider.get_by_role("button", name="提交", exact=True).click()
    expect(provider.get_by_role("alert").first).to_have_text("意见已提交。")
    provider.get_by_role("button", name="我们无其他意见").click()
    expect(provider.get_by_role("alert").first).to_contain_text("无其他意见")

    officer.reload()
    officer.get_by_role("button", name="签发评估").click()
    expect(officer.get_by_test_id("evaluation-status").first).to_have_text("已签发")
    expect(officer.get_by_test_id("signed-note")).to_contain_text("任何人不能修改")
    doc_no = officer.get_by_test_id("doc-no").inner_text()
    assert re.fullmatch(r"康民评〔\d{4}〕\d+号", doc_no)
    assert untranslated(officer) == []
    officer.screenshot(path=artifacts / "evaluation-signed.png", full_page=True)

    # the report link, fetched with the officer's session (Chromium would show it in its viewer)
    response = officer.request.get(officer.get_by_test_id("report-pdf").get_attribute("href"))
    assert response.ok and response.headers["content-type"] == "application/pdf"
    pdf = response.body()
    from pypdf import PdfReader

    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).replace(" ", "").replace("\n", "")
    for words in (number, doc_no, "项目管理", "服务成效", "经费使用", "良好", "对经费使用的评价无异议"):
        assert words in text, words
    assert "草稿" not in text

    # the evaluator can no longer change it
    evaluator.goto(url)
    expect(evaluator.get_by_test_id("dimension-form")).to_have_count(0)


def test_overdue_and_comparison_pages_on_a_phone(phone_page, log_in, untranslated, artifacts):
    log_in(phone_page, "officer")
    phone_page.goto("/evaluations/")
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 360
    assert untranslated(phone_page) == []
    phone_page.screenshot(path=artifacts / "evaluations-phone.png", full_page=True)
    phone_page.goto("/evaluations/compare")
    expect(phone_page.get_by_test_id("compare-row").first).to_be_visible()
    assert untranslated(phone_page) == []
