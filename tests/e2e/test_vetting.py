"""An officer vets a newly registered provider: checklist, documents, decision, the PDF report.

The provider is registered in the test itself (the demo's three are vetted already), so the
whole path runs through the browser: 未审查 → 发起资格审查 → a document and a verdict for
every checklist item → 审查结论 通过 → 审查表（PDF） → 审查通过，有效期至 ….
"""

from __future__ import annotations

import io
import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from reliefsvc.common.formatting import now_local
from reliefsvc.demo.providers import minimal_pdf
from reliefsvc.providers.rules import USCC_ALPHABET, make_uscc

pytestmark = [pytest.mark.e2e, pytest.mark.no_db_rollback, pytest.mark.xdist_group("browser")]

#: Not one of the demo's providers; the e2e server's database is new for every session.
NAME = "康乐县e2e测试社工中心"
USCC = make_uscc("52", "622922", "MJ00E2E1")
REMARK = "材料齐全，经核对无误"


def cn_date(day: date) -> str:
    """A date as the Chinese pages write it: 2027年3月5日."""
    return f"{day.year}年{day.month}月{day.day}日"


def test_an_officer_vets_a_new_provider_from_checklist_to_approval_and_opens_the_pdf(
        page, artifacts, tmp_path, log_in, register_provider, untranslated):
    log_in(page, "officer")
    register_provider(page, NAME, USCC)
    expect(page.get_by_test_id("approval")).to_have_text("未审查")
    expect(page.locator("#vettings")).to_contain_text("尚未审查。")

    page.get_by_role("button", name="发起资格审查").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^第 \d+ 号审查 · 进行中$"))
    expect(page.get_by_role("navigation", name="breadcrumb")).to_contain_text(NAME)
    items = page.get_by_test_id("vetting-item")
    expect(items.first).to_be_visible()
    count = items.count()
    assert count >= 5, f"the checklist has only {count} items"
    expect(items.locator(".badge")).to_have_text(["待审查"] * count)

    for number in range(1, count + 1):
        item = items.nth(number - 1)
        document = tmp_path / f"材料{number}.pdf"
        document.write_bytes(minimal_pdf(f"{USCC} item {number}"))
        item.get_by_label(re.compile(r"^“.+”的证明材料$")).set_input_files(document)
        item.get_by_role("button", name="上传").click()
        expect(item.get_by_role("link", name=document.name)).to_be_visible()
        expect(page.get_by_role("alert")).to_have_text("材料已上传。")

        item.get_by_label("结论", exact=True).select_option(label="通过")
        item.get_by_label("说明", exact=True).fill(REMARK)
        item.get_by_role("button", name="保存结论").click()
        expect(item.locator(".badge")).to_have_text("通过")
        expect(item).to_contain_text(REMARK)
        expect(item).to_contain_text("王秀兰 · ")

    valid_until = now_local().date() + timedelta(days=365)
    decision_form = page.locator("form[action$='/decide']")
    # The 审查结论 label points at id="decision", which the card around the form also has
    # (see the report): the select is found by its name, not by its label.
    decision_form.locator("select[name='decision']").select_option(label="通过")
    decision_form.get_by_label("有效期至").fill(valid_until.isoformat())
    decision_form.get_by_role("button", name="作出审查结论").click()

    expect(page.get_by_role("alert")).to_have_text("已记录审查结论：通过。")
    expect(page.get_by_test_id("vetting-status")).to_have_text("通过")
    decision = page.get_by_test_id("decision")
    expect(decision).to_contain_text(f"通过 · {cn_date(now_local().date())} · 王秀兰")
    expect(decision).to_contain_text(f"有效期至：{cn_date(valid_until)}")
    expect(items.locator(".badge")).to_have_text(["通过"] * count)
    # A decided vetting is closed: no more uploads, verdicts or decisions.
    expect(page.get_by_role("button", name="保存结论")).to_have_count(0)
    expect(page.get_by_role("button", name="上传")).to_have_count(0)
    expect(page.get_by_role("button", name="作出审查结论")).to_have_count(0)
    expect(page.get_by_test_id("approval")).to_have_text(f"审查通过，有效期至 {cn_date(valid_until)}")
    assert untranslated(page) == []
    page.screenshot(path=artifacts / "vetting-decided.png", full_page=True)

    link = page.get_by_role("link", name="审查表（PDF）")
    expect(link).to_have_attribute("href", re.compile(r"/report\.pdf$"))
    # The page's request context carries the login cookie.
    response = page.request.get(link.get_attribute("href"))
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    body = response.body()
    assert body.startswith(b"%PDF-")
    (artifacts / "vetting-report.pdf").write_bytes(body)
    text = "".join(sheet.extract_text() for sheet in PdfReader(io.BytesIO(body)).pages)
    assert "承接主体资格审查表" in text
    assert NAME in text
    assert USCC in text

    page.get_by_role("navigation", name="breadcrumb").get_by_role("link", name=NAME).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(NAME)
    expect(page.get_by_test_id("approval")).to_have_text(f"审查通过，有效期至 {cn_date(valid_until)}")
    expect(page.locator("#vettings")).to_contain_text(f"通过 · {cn_date(now_local().date())}")
    assert untranslated(page) == []


def test_a_wrong_check_character_is_refused_next_to_the_code_field(page, log_in):
    log_in(page, "officer")
    page.goto("/providers/new")
    valid = make_uscc("52", "622922", "MJ00E2E9")
    wrong = valid[:-1] + next(c for c in USCC_ALPHABET if c != valid[-1])

    page.get_by_label("名称", exact=True).fill("康乐县校验位测试服务中心")
    code = page.get_by_label("统一社会信用代码")
    code.fill(wrong)
    page.get_by_role("button", name="保存").click()

    expect(code).to_have_class(re.compile(r"\bis-invalid\b"))
    expect(code).to_have_value(wrong)
    error = code.locator("xpath=following-sibling::*[contains(@class, 'invalid-feedback')]")
    expect(error).to_have_text("统一社会信用代码校验位错误")
    expect(page.locator(".invalid-feedback")).to_have_count(1)
    # Nothing was registered: the person is still on the form, and no success message shows.
    expect(page.get_by_role("heading", level=1)).to_have_text("登记承接主体")
    expect(page.get_by_role("alert")).to_have_count(0)
