"""An officer follows the demo's integrity flags from the contract to the photos side by side,
dismisses one with a reason, and reads the records by risk; a provider's manager sees the
integrity checks of their own record on a phone but cannot dismiss a flag.

The demo's sloppy provider (惠民) has a photo used for two households, notes copied from
one household to the next, visits of a few minutes and a worker in two places at once;
the demo load runs the checks as the nightly job would.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from reliefsvc.common.formatting import now_local

pytestmark = [pytest.mark.e2e, pytest.mark.no_db_rollback, pytest.mark.xdist_group("browser")]

#: this year's contract of the sloppy provider (the demo also holds an earlier 2号)
SLOPPY_CONTRACT = f"康民购〔{now_local().year}〕2号"


def test_an_officer_compares_a_reused_photo_and_dismisses_a_flag(page, artifacts, log_in, untranslated):
    log_in(page, "officer")
    page.get_by_test_id("nav").get_by_role("link", name="合同", exact=True).click()
    page.get_by_test_id("contracts").get_by_role("link", name=SLOPPY_CONTRACT, exact=True).click()
    panel = page.locator('[data-panel="integrity"]')
    expect(panel.get_by_test_id("integrity-total")).not_to_have_text("0")
    expect(panel.get_by_test_id("integrity-codes")).to_contain_text("照片重复使用")
    panel.get_by_role("link", name="按类别、月份和人员统计").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("诚信标记")
    by_month = page.get_by_test_id("by-month")
    for label in ("照片重复使用", "服务内容雷同", "服务时长过短", "与其他服务重叠"):
        expect(by_month).to_contain_text(label)
    expect(page.get_by_test_id("by-worker")).to_be_visible()
    assert untranslated(page) == []
    page.screenshot(path=artifacts / "integrity-contract-1280.png", full_page=True)

    by_month.get_by_role("link", name="照片重复使用").click()
    flags = page.get_by_test_id("flags").get_by_test_id("flag")
    expect(flags.first).to_have_attribute("data-code", "PHOTO_REUSED")
    detail = flags.first.get_by_test_id("flag-reason").inner_text()
    other_ref = re.search(r"台账 (\S+) 的照片", detail).group(1)
    flags.first.get_by_role("link", name="对照查看").click()

    sides = page.get_by_test_id("side")
    expect(sides).to_have_count(2)
    expect(sides.nth(1)).to_contain_text(other_ref)
    expect(sides.nth(0).locator("img.border-danger")).to_have_count(1)
    expect(sides.nth(1).locator("img.border-danger")).to_have_count(1)
    assert untranslated(page) == []
    page.screenshot(path=artifacts / "integrity-side-by-side-1280.png", full_page=True)

    # Dismissing needs a reason; with one, the flag is dismissed and says by whom and why.
    form = page.get_by_test_id("dismiss-form")
    form.get_by_placeholder("排除理由").fill("同一户两次入户，照片为同一次拍摄，已核实")
    form.get_by_role("button", name="排除").click()
    expect(page.locator(".alert-success")).to_contain_text("标记已排除")
    dismissed = page.get_by_test_id("flag").filter(has_text="照片重复使用")
    expect(dismissed).to_contain_text("已排除")
    expect(dismissed).to_contain_text("已核实")
    expect(dismissed.get_by_role("button", name="恢复标记")).to_be_visible()

    # The review list, highest risk first: the first record carries a risk badge.
    page.get_by_test_id("nav").get_by_role("link", name="服务记录", exact=True).click()
    page.get_by_label("排序").select_option(label="风险最高在前")
    page.get_by_role("button", name="筛选").click()
    expect(page.get_by_test_id("records").locator("a").first.get_by_test_id("risk")).to_be_visible()


def test_a_provider_reads_the_checks_of_its_record_on_a_phone_but_cannot_dismiss(phone_page, artifacts, log_in):
    page = phone_page
    log_in(page, "manager")
    page.goto("/records/?sort=risk")
    page.get_by_test_id("records").locator("a").first.click()
    panel = page.get_by_test_id("integrity-panel")
    expect(panel).to_contain_text("诚信核查")
    expect(panel).to_contain_text("风险分")
    expect(page.get_by_test_id("dismiss-form")).to_have_count(0)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, width
    page.screenshot(path=artifacts / "integrity-record-360.png", full_page=True)
