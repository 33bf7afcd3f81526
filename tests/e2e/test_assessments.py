"""From draft to signed in the browser: the evaluator opens and scores an assessment, the
provider comments and declares it has no further comments (closing its 14-day window
early, as a provider may in writing), and the officer signs; then nothing can be edited."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.no_db_rollback, pytest.mark.xdist_group("browser")]


def _period_two_months_ago() -> str:
    day = date.today().replace(day=1) - timedelta(days=1)
    day = day.replace(day=1) - timedelta(days=1)
    return f"{day.year:04d}-{day.month:02d}"


def test_draft_to_signed(new_page, log_in, untranslated, artifacts, open_menu):
    period = _period_two_months_ago()
    evaluator = new_page()
    log_in(evaluator, "evaluator")
    open_menu(evaluator, "监督考核", "定期考核")
    evaluator.get_by_role("link", name="开启考核").first.click()
    evaluator.get_by_label("合同").select_option(label=evaluator.get_by_label("合同").locator("option", has_text="同心").first.inner_text())
    evaluator.get_by_label("考核期").fill(period)
    evaluator.get_by_role("button", name="开启考核").click()
    expect(evaluator.get_by_role("alert")).to_contain_text("考核已开启")
    assert untranslated(evaluator) == []
    # score every entered indicator (each form keeps its value after saving)
    forms = evaluator.get_by_test_id("score-form")
    for i in range(forms.count()):
        f = forms.nth(i)
        if not f.get_by_label("得分").input_value():
            f.get_by_label("得分").fill("3")
            f.get_by_label("评分依据").fill("查阅台账和回访记录")
            f.get_by_role("button", name="保存评分").click()
            expect(evaluator.get_by_role("alert")).to_have_text("评分已保存。")
            forms = evaluator.get_by_test_id("score-form")
    evaluator.get_by_role("button", name="送承接主体征求意见").click()
    expect(evaluator.get_by_test_id("assessment-status").first).to_have_text("征求承接主体意见中")
    url = evaluator.url.split("#")[0]
    evaluator.screenshot(path=artifacts / "assessment-commenting.png", full_page=True)

    officer = new_page()
    log_in(officer, "officer")
    officer.goto(url)
    expect(officer.get_by_test_id("sign-problem")).to_contain_text("意见反馈期")
    expect(officer.get_by_role("button", name="签发考核")).to_be_disabled()

    provider = new_page()
    log_in(provider, "manager")
    provider.goto(url)
    provider.get_by_label("意见或申诉理由").fill("对满意度评分有不同看法，但不申诉。")
    provider.get_by_role("button", name="提交", exact=True).click()
    expect(provider.get_by_role("alert")).to_have_text("意见已提交。")
    provider.get_by_role("button", name="我们无其他意见").click()
    expect(provider.get_by_role("alert")).to_contain_text("无其他意见")

    officer.reload()
    officer.get_by_role("button", name="签发考核").click()
    expect(officer.get_by_test_id("assessment-status").first).to_have_text("已签发")
    expect(officer.get_by_test_id("signed-note")).to_contain_text("任何人不能修改")
    assert untranslated(officer) == []
    officer.screenshot(path=artifacts / "assessment-signed.png", full_page=True)

    evaluator.goto(url)
    expect(evaluator.get_by_test_id("score-form")).to_have_count(0)


def test_inspection_form_on_a_phone(phone_page, log_in, untranslated, artifacts):
    log_in(phone_page, "evaluator")
    phone_page.goto("/assessments/inspections/new")
    expect(phone_page.get_by_test_id("inspection-form")).to_be_visible()
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360
    assert untranslated(phone_page) == []
    phone_page.screenshot(path=artifacts / "inspection-phone.png", full_page=True)
