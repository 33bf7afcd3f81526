"""Paying on results in the browser: an officer computes the sound provider's second month
from its signed assessment and proposes it, a second officer approves it (the first cannot),
and the provider's manager sees the approved payment; the fund-use report with a forbidden
item is flagged."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.no_db_rollback, pytest.mark.xdist_group("browser")]


def test_officer_proposes_second_officer_approves_provider_sees(new_page, log_in, open_menu, untranslated, artifacts):
    officer = new_page()
    log_in(officer, "officer")
    open_menu(officer, "监督考核", "资金支付")
    expect(officer.get_by_role("heading", level=1)).to_have_text("资金支付")
    assert untranslated(officer) == []
    officer.get_by_test_id("contract-totals").get_by_role("link", name=re.compile(r"〕1号$")).click()
    expect(officer.get_by_test_id("payment-plan")).to_be_visible()
    assert untranslated(officer) == []
    officer.screenshot(path=artifacts / "payments-contract.png", full_page=True)

    # The second month: assessed and signed, not yet paid.
    officer.get_by_test_id("instalment-2").get_by_role("link", name="第 2 期").click()
    expect(officer.get_by_role("heading", level=1)).to_have_text("第 2 期")
    result = officer.get_by_test_id("line-result")
    expect(result).to_contain_text("考核")
    expect(result).to_contain_text("系数")
    expect(officer.get_by_test_id("line-to_pay")).to_contain_text("元")
    assert untranslated(officer) == []
    officer.get_by_label("给审批人员的说明").fill("按第二个月考核结果计算")
    officer.get_by_role("button", name="提出支付").click()
    expect(officer.get_by_role("alert")).to_have_text("已提出支付，须由另一名经办人员审批。")
    expect(officer.get_by_test_id("two-person-note")).to_be_visible()
    expect(officer.get_by_role("button", name="批准支付")).to_have_count(0)
    amount = officer.get_by_test_id("entry-amount").inner_text()
    url = officer.url

    second = new_page()
    log_in(second, "officer2")
    second.goto(url)
    expect(second.get_by_test_id("entry-status")).to_have_text("待审批")
    second.get_by_label("审批意见").fill("已核对考核结果和扣减")
    second.get_by_role("button", name="批准支付").click()
    expect(second.get_by_role("alert")).to_have_text("支付已批准。")
    expect(second.get_by_test_id("entry-status")).to_have_text("通过")
    expect(second.get_by_test_id("approved-by")).to_contain_text("陈志刚")
    expect(second.get_by_test_id("frozen-note")).to_be_visible()
    assert untranslated(second) == []
    second.screenshot(path=artifacts / "payments-approved.png", full_page=True)

    provider = new_page()
    log_in(provider, "manager")
    open_menu(provider, "监督考核", "资金支付")
    row = provider.get_by_test_id("ledger-row").filter(has_text="第 2 期").filter(has_text="通过")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(amount)
    row.get_by_role("link").first.click()
    expect(provider.get_by_test_id("entry-amount")).to_have_text(amount)
    expect(provider.get_by_role("button", name="批准支付")).to_have_count(0)
    assert untranslated(provider) == []


def test_fund_use_report_with_a_forbidden_item_on_a_phone(phone_page, log_in, untranslated, artifacts):
    log_in(phone_page, "officer")
    phone_page.goto("/payments/fund-use")
    expect(phone_page.get_by_test_id("finding-forbidden")).to_contain_text("路面硬化")
    phone_page.get_by_test_id("fund-use-list").locator("tr.table-warning").get_by_role("link").first.click()
    expect(phone_page.get_by_test_id("finding-forbidden")).to_be_visible()
    expect(phone_page.get_by_test_id("finding-fee_share")).to_contain_text("管理费")
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 360
    assert untranslated(phone_page) == []
    phone_page.screenshot(path=artifacts / "payments-fund-use-phone.png", full_page=True)
