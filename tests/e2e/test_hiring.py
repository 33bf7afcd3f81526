"""An officer opens the demo's high-risk contract and follows an indicator to the records behind it.

The labour company's contract (鑫源, per head, not tied to assessments, staff named by
the bureau) comes out high in the demo county. From the contract list the officer opens
it, reads the disguised-hiring panel, follows the office-location indicator to its
evidence page and from there opens one of the records placed at the township office.
The evidence page also fits a 360 px phone.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.no_db_rollback, pytest.mark.xdist_group("browser")]

PAYROLL = "临夏州鑫源劳务派遣有限公司"
OFFICE_INDICATOR = "位于机关办公地的服务记录占比"


def test_an_officer_follows_a_hiring_indicator_to_its_records(page, artifacts, log_in, untranslated):
    log_in(page, "officer")
    expect(page.get_by_test_id("hiring-home")).to_contain_text("高风险")
    page.get_by_test_id("nav").get_by_role("link", name="合同", exact=True).click()
    row = page.get_by_test_id("contracts").locator("tr", has_text=PAYROLL)
    expect(row.get_by_test_id("hiring-level")).to_have_text(re.compile(r"^高风险 · 100$"))
    row.get_by_role("link", name=re.compile(r"^康民购〔\d{4}〕3号$")).click()

    panel = page.get_by_test_id("hiring-panel")
    expect(panel.get_by_test_id("hiring-level")).to_have_text("高风险 · 100/100")
    office_row = panel.get_by_test_id("hiring-row-OFFICE_LOCATION_SHARE")
    expect(office_row).to_contain_text("已触发")
    expect(office_row).to_contain_text("达到阈值 20.0%")
    expect(office_row.get_by_test_id("evidence-offices")).to_contain_text("虎关乡")
    for code in ("PER_HEAD_PRICING", "PURCHASER_NOMINATED_STAFF", "STAFF_CARRYOVER"):
        expect(panel.get_by_test_id(f"hiring-row-{code}")).to_contain_text("已触发")
    page.screenshot(path=artifacts / "hiring-contract-panel-1280.png", full_page=True)

    office_row.get_by_role("link", name=OFFICE_INDICATOR).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("变相用工风险")
    card = page.get_by_test_id("indicator-OFFICE_LOCATION_SHARE")
    expect(card).to_be_in_viewport()
    expect(card.get_by_test_id("explanation")).to_contain_text("300 米以内")
    assert untranslated(page) == []
    page.screenshot(path=artifacts / "hiring-evidence-1280.png", full_page=True)

    first_record = card.get_by_test_id("evidence-records").get_by_role("link").first
    ref = first_record.inner_text()
    first_record.click()
    expect(page).to_have_url(re.compile(r"/records/\d+$"))
    expect(page.locator("main")).to_contain_text(ref)
    expect(page.locator("main")).to_contain_text("窗口值班")


def test_the_evidence_page_fits_a_phone(phone_page, artifacts, log_in):
    log_in(phone_page, "officer")
    phone_page.get_by_test_id("hiring-home").get_by_role("link", name=re.compile(r"〕3号$")).click()
    expect(phone_page.get_by_test_id("hiring-score")).to_contain_text("100")
    phone_page.screenshot(path=artifacts / "hiring-evidence-360.png", full_page=True)
    width = phone_page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 360
