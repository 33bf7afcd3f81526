"""An officer draws a spot check with a seed; an evaluator files "not delivered" on a phone.

On a desktop the officer opens the sound provider's contract, freezes the frame of the
last weeks (the frame hash appears before any seed), enters the dice roll, and the
drawn records are assigned to the evaluators. On a 360 px phone one of those evaluators
opens a home visit drawn for them, reports that it never took place, and the record is
refuted: the contract's refuted count goes up by one and the record page says so.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from reliefsvc.common.formatting import now_local

pytestmark = [pytest.mark.e2e, pytest.mark.no_db_rollback, pytest.mark.xdist_group("browser")]

#: Demo evaluators by their display names (reliefsvc.demo.accounts and demo.spotchecks).
EVALUATORS = {"李明": "evaluator", "周文静": "evaluator2", "马志远": "evaluator3"}
SEED = "e2e 骰子 4-2-6-1-3"
#: A standard's name may stay Latin on a Chinese page (the ticket's formula names it).
LATIN_OK = {"SHA"}


def refuted_home_visits(page: Page, contract_url: str) -> int:
    """The sum of the 抽查否定 column over every period of the monthly home-visit obligation."""
    page.goto(contract_url)
    card = page.get_by_test_id("obligation").filter(has_text="入户走访").first
    # The periods' table sits in a closed <details>: read its text, not what is rendered.
    return sum(int(row.locator("td").nth(3).text_content())
               for row in card.locator("details table tbody tr").all())


def no_latin(page: Page, untranslated, allowed: set[str]) -> None:
    assert sorted(set(untranslated(page)) - LATIN_OK - allowed) == []


def test_officer_draws_and_an_evaluator_files_not_delivered_on_a_phone(new_page, log_in, untranslated, artifacts):
    officer = new_page()
    log_in(officer, "officer")
    officer.get_by_test_id("nav").get_by_role("link", name="合同", exact=True).click()
    officer.get_by_role("row").filter(has_text="康乐县社会救助协理服务项目").get_by_role("link").first.click()
    contract_url = officer.url
    before = refuted_home_visits(officer, contract_url)

    officer.get_by_role("link", name="发起随机抽查").click()
    today = now_local().date()
    officer.get_by_label("记录开始日期").fill(f"{today - timedelta(days=20):%Y-%m-%d}")
    officer.get_by_label("记录结束日期").fill(f"{today - timedelta(days=1):%Y-%m-%d}")
    officer.get_by_role("button", name="冻结抽样框").click()
    expect(officer.get_by_test_id("draw-status")).to_have_text("抽样框已冻结，待录入种子")
    assert re.fullmatch(r"[0-9a-f]{64}", officer.get_by_test_id("frame-hash").inner_text())
    no_latin(officer, untranslated, set())

    officer.get_by_label("随机种子").fill(SEED)
    officer.get_by_label("掷骰人").fill("王秀兰")
    officer.get_by_label("见证人").fill("李明、赵德胜")
    officer.get_by_role("button", name="录入种子并抽取").click()
    expect(officer.get_by_test_id("draw-status")).to_have_text("已抽取")
    expect(officer.get_by_test_id("seed")).to_have_text(SEED)
    draw_url = officer.url
    officer.screenshot(path=artifacts / "spotcheck-draw-1280.png", full_page=True)

    rows = officer.get_by_test_id("items").locator("tbody tr")
    assigned = {rows.nth(i).get_by_test_id("evaluator").inner_text() for i in range(rows.count())}
    assert assigned and assigned <= set(EVALUATORS), assigned
    home_visit = rows.filter(has=officer.get_by_test_id("service").get_by_text("入户走访", exact=True)).first
    ref = home_visit.get_attribute("data-ref")
    name = home_visit.get_by_test_id("evaluator").inner_text()
    refs = [rows.nth(i).get_attribute("data-ref") for i in range(rows.count())]
    no_latin(officer, untranslated, {w for r in refs for w in r.replace("-", " ").split()})

    phone = new_page(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    log_in(phone, EVALUATORS[name])
    expect(phone.get_by_test_id("my-open-checks")).not_to_have_text("0")
    phone.goto(draw_url)
    phone.locator(f'tr[data-ref="{ref}"]').get_by_role("link", name="未核查").click()
    expect(phone.get_by_role("heading", level=1)).to_contain_text(ref)
    phone.get_by_label("电话回访").check()
    phone.get_by_label("否", exact=True).check()
    phone.get_by_label("备注").fill("户主说那天没有人来过，最近两个月都没见到服务人员。")
    phone.get_by_label("满意度").select_option("2")
    phone.get_by_label("未提供服务（虚假服务）").check()
    no_latin(phone, untranslated, set(ref.replace("-", " ").split()))
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    phone.screenshot(path=artifacts / "spotcheck-check-360.png", full_page=True)
    phone.get_by_role("button", name="提交核查结果").click()
    expect(phone.get_by_role("alert").first).to_contain_text(f"已提交记录 {ref} 的核查结果：未提供服务")

    # The record is refuted: out of progress (the contract's refuted count) and marked on its page.
    assert refuted_home_visits(officer, contract_url) == before + 1
    officer.goto(draw_url)
    officer.locator(f'tr[data-ref="{ref}"]').get_by_role("link", name=ref).click()
    expect(officer.get_by_test_id("record-spotchecks")).to_contain_text("未提供服务（虚假服务）")
    expect(officer.locator("main")).to_contain_text("抽查")
