"""Each role opens its dashboard on the demo county and follows one figure to its records;
screenshots at desktop and phone width (test-artifacts/dashboard-*.png)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.no_db_rollback, pytest.mark.xdist_group("browser")]


def fits(page) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], width


def test_the_officer_sees_charts_and_follows_a_month_to_its_records(page, artifacts, log_in, untranslated):
    log_in(page, "officer")
    dashboard = page.get_by_test_id("dashboard-officer")
    expect(dashboard).to_be_visible()
    expect(page.get_by_test_id("due-this-week").locator(".card[data-testid^=due-]")).to_have_count(6)
    expect(page.get_by_test_id("dashboard-contracts").locator("tbody tr").first).to_contain_text("康民购")
    charts = page.get_by_test_id("dashboard-charts")
    expect(charts.locator("svg").first).to_be_visible()
    assert charts.locator("svg").count() >= 2
    page.screenshot(path=artifacts / "dashboard-officer-1280.png", full_page=True)
    assert untranslated(page) == []
    # the month with the most records, from the chart's table, leads to those records
    by_month = page.get_by_test_id("chart-by-month")
    by_month.get_by_text("以表格查看数据").click()
    figures = by_month.get_by_test_id("chart-figure")
    values = [int(t) for t in figures.all_inner_texts()]
    assert max(values) > 0
    figures.nth(values.index(max(values))).click()
    expect(page).to_have_url(re.compile(r"/records/\?from=\d{4}-\d{2}-01&to=\d{4}-\d{2}-\d{2}$"))
    expect(page.get_by_test_id("records").locator("a").first).to_be_visible()


def test_the_officer_follows_open_flags_to_the_contracts_flags(page, log_in):
    log_in(page, "officer")
    link = page.get_by_test_id("dashboard-contracts").get_by_test_id("open-flags").first
    link.click()
    expect(page).to_have_url(re.compile(r"/integrity/contracts/\d+$"))


def test_the_officer_dashboard_on_a_phone(phone_page, artifacts, log_in):
    log_in(phone_page, "officer")
    expect(phone_page.get_by_test_id("dashboard-officer")).to_be_visible()
    phone_page.screenshot(path=artifacts / "dashboard-officer-360.png", full_page=True)
    fits(phone_page)


def test_the_worker_on_a_phone_sees_todays_households_and_last_weeks_records(phone_page, artifacts, log_in,
                                                                             untranslated):
    log_in(phone_page, "worker")
    expect(phone_page.get_by_test_id("dashboard-worker")).to_be_visible()
    expect(phone_page.get_by_test_id("todays-households")).to_be_visible()
    phone_page.screenshot(path=artifacts / "dashboard-worker-360.png", full_page=True)
    fits(phone_page)
    assert untranslated(phone_page) == []
    phone_page.get_by_test_id("last-week-count").click()
    expect(phone_page).to_have_url(re.compile(r"/records/$"))
    expect(phone_page.get_by_test_id("records")).to_be_visible()


def test_the_provider_manager_follows_rejected_records(page, artifacts, log_in, untranslated):
    log_in(page, "manager")
    expect(page.get_by_test_id("dashboard-manager")).to_be_visible()
    expect(page.get_by_test_id("manager-obligations").locator("tbody tr").first).to_contain_text("康民购")
    page.screenshot(path=artifacts / "dashboard-manager-1280.png", full_page=True)
    assert untranslated(page) == []
    page.get_by_test_id("rejected-records").click()
    expect(page).to_have_url(re.compile(r"/records/\?status=rejected$"))


def test_the_evaluator_follows_open_checks(page, artifacts, log_in, untranslated):
    log_in(page, "evaluator")
    expect(page.get_by_test_id("dashboard-evaluator")).to_be_visible()
    page.screenshot(path=artifacts / "dashboard-evaluator-1280.png", full_page=True)
    assert untranslated(page) == []
    page.get_by_test_id("my-open-checks").click()
    expect(page).to_have_url(re.compile(r"/spotchecks/$"))


def test_the_officer_downloads_a_ledger(page, log_in, open_menu):
    log_in(page, "officer")
    open_menu(page, "监督考核", "台账")
    expect(page.get_by_role("heading", level=1)).to_have_text("台账")
    with page.expect_download() as download:
        page.get_by_test_id("ledger-payments").get_by_role("button", name="下载 Excel").click()
    assert download.value.suggested_filename.endswith(".xlsx")
