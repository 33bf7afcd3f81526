"""Each demo login's path through the browser: log in, see one's own workbench, log out.

The expected titles and menus are written out here on purpose, not read from ``NAV``:
a change to who sees what must show up as a change to this file.
"""

from __future__ import annotations

import os
import re

import pytest
from playwright.sync_api import Page, expect

from reliefsvc.demo import DEMO_PASSWORD
from tests.e2e.conftest import LATIN_WORD, untranslated_words_in_main

pytestmark = [pytest.mark.e2e, pytest.mark.no_db_rollback, pytest.mark.xdist_group("browser")]

HOME = ("security.home", "首页")
REGIONS = ("regions.tree", "区划")
USERS = ("security.users", "用户管理")
USERS_AND_ROLES = ("security.users", "用户与角色")
AUDIT_LOG = ("audit.log", "审计日志")
SCHEDULED_JOBS = ("jobs.overview", "定时任务")
PROVIDERS = ("providers.index", "承接主体")
MY_ORG = ("providers.index", "本机构")
CONTRACTS = ("contracts.index", "合同")
RECORD = ("records.new", "填报服务")
RECORDS = ("records.index", "服务记录")
CASES = ("cases.index", "救助家庭")
ALERTS = ("cases.alerts", "监测预警")
DISCOVERIES = ("cases.discoveries", "主动发现的家庭")
DISCOVER = ("cases.discover", "报告困难家庭")
SPOT_CHECKS = ("spotchecks.index", "随机抽查")
ASSESSMENTS = ("assessments.index", "定期考核")
INSPECTIONS = ("assessments.inspections", "实地考察")
RECTIFICATIONS = ("rectifications.board", "整改")
HIRING = ("hiring.index", "变相用工风险")
PAYMENTS = ("payments.index", "资金支付")
EVALUATIONS = ("evaluations.index", "年度评估")
LEDGERS = ("ledgers.index", "台账")  # issue 13: in the 监督考核 drop-down, officer and provider manager
BUREAU_MENU = [HOME, PROVIDERS, CONTRACTS, RECORDS, CASES, ALERTS]
#: the drop-down 监督考核 (its entries are links like the others)
SUPERVISION = [SPOT_CHECKS, ASSESSMENTS, INSPECTIONS, RECTIFICATIONS, HIRING, PAYMENTS, EVALUATIONS]
PROVIDER_MENU = [HOME, MY_ORG, CONTRACTS, RECORD, RECORDS, CASES, ALERTS, DISCOVER, REGIONS]

#: username → (full name, role as shown in the header, home-page title, menu entries in order)
DEMO_LOGINS = {
    # issue 15 (三员分立): the system administrator no longer reads the audit log; the auditor does
    "admin": ("马建国", "系统管理员", "系统管理", [*BUREAU_MENU, HIRING, PAYMENTS, EVALUATIONS, REGIONS, USERS, SCHEDULED_JOBS]),
    "officer": ("王秀兰", "采购经办人员", "采购经办工作台", [*BUREAU_MENU, DISCOVERIES, *SUPERVISION, LEDGERS, REGIONS]),
    "evaluator": ("李明", "考核评估人员", "考核评估工作台", [*BUREAU_MENU, *SUPERVISION, REGIONS]),
    "manager": ("张红梅", "承接主体负责人", "承接主体工作台",
                [*PROVIDER_MENU[:-1], ASSESSMENTS, INSPECTIONS, RECTIFICATIONS, PAYMENTS, EVALUATIONS, LEDGERS, REGIONS]),
    "worker": ("马小军", "承接主体服务人员", "我的服务工作", [*PROVIDER_MENU]),
    "inspector": ("赵德胜", "纪检监察人员", "纪检监察", [*BUREAU_MENU, *SUPERVISION[1:], REGIONS, AUDIT_LOG]),
    # issue 15: the security administrator and the auditor see no business pages.
    "secadmin": ("韩立新", "安全管理员", "安全管理", [HOME, USERS_AND_ROLES]),
    "auditor": ("苏文慧", "安全审计员", "安全审计", [HOME, AUDIT_LOG]),
}
#: the roles without business pages, who get no API token either
NON_BUSINESS_LOGINS = {"secadmin", "auditor"}


#: Latin words a Chinese page may show: the name of the other language on its switch button.
LATIN_ALLOWED = {"English"}


def untranslated_words(page: Page) -> list[str]:
    """Latin words in the visible text and title: English that the catalog did not translate."""
    text = page.locator("body").inner_text() + " " + page.title()
    return sorted(set(LATIN_WORD.findall(text)) - LATIN_ALLOWED)


def log_in(page: Page, username: str, password: str = DEMO_PASSWORD) -> None:
    """Fill the Chinese login form as a person would and wait for the home page."""
    page.goto("/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_test_id("home-title")).to_be_visible()


def menu_entries(page: Page) -> list[tuple[str, str]]:
    return [tuple(entry) for entry in page.get_by_test_id("nav").locator("a").evaluate_all(
        "links => links.map(a => [a.dataset.endpoint, a.textContent.trim()])"
    )]


@pytest.mark.parametrize("username", list(DEMO_LOGINS))
def test_each_role_logs_in_sees_its_own_workbench_and_logs_out(page, artifacts, live_server, username):
    full_name, role_label, title, expected_menu = DEMO_LOGINS[username]

    page.goto("/login")
    expect(page).to_have_title(re.compile("^登录"))
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_role("heading", level=1)).to_have_text("康乐县民政局 · 登录")
    assert untranslated_words(page) == []

    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()

    expect(page).to_have_url(f"{live_server}/")
    if title is not None:
        expect(page.get_by_test_id("home-title")).to_have_text(title)
    expect(page.get_by_test_id("whoami")).to_have_text(f"{full_name} · {role_label}")
    page.screenshot(path=artifacts / f"home-{username}.png", full_page=True)
    assert menu_entries(page) == expected_menu
    # issue 15: the bar fits 1280 px for every role: its entries sit on one line, nothing scrolls sideways
    tops = page.get_by_test_id("nav").locator(":scope > li").evaluate_all(
        "items => items.map(li => Math.round(li.getBoundingClientRect().top))")
    assert len(set(tops)) == 1, tops
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    assert untranslated_words(page) == []
    # Everyone's own settings sit under their name: the account (password, second factor) and,
    # for the business roles, the access tokens of the JSON API.
    page.wait_for_load_state("load")
    page.get_by_test_id("whoami").click()
    expect(page.get_by_test_id("account-link")).to_have_text("我的账号")
    if username in NON_BUSINESS_LOGINS:
        expect(page.get_by_test_id("tokens-link")).to_have_count(0)
    else:
        expect(page.get_by_test_id("tokens-link")).to_have_text("访问令牌")

    page.get_by_role("button", name="退出").click()
    expect(page).to_have_url(f"{live_server}/login")
    expect(page.get_by_role("alert")).to_have_text("您已退出登录。")
    expect(page.get_by_role("button", name="登录")).to_be_visible()
    # The session is really over: the home page sends us back to the login form.
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\b"))


def test_a_provider_worker_sees_neither_user_management_nor_the_audit_log(page):
    log_in(page, "worker")
    body = page.locator("body")
    expect(body).not_to_contain_text("用户管理")
    expect(body).not_to_contain_text("审计日志")
    expect(page.locator("a[data-endpoint='security.users'], a[data-endpoint='audit.log']")).to_have_count(0)


def test_wrong_password_keeps_the_person_on_the_login_page(page, live_server):
    page.goto("/login")
    page.get_by_label("用户名").fill("officer")
    page.get_by_label("密码").fill("not-the-password")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("alert")).to_have_text("用户名或密码错误，或账号已停用。")
    expect(page).to_have_url(f"{live_server}/login")


def test_the_language_switches_to_english_and_back(page, artifacts):
    page.goto("/login")
    page.screenshot(path=artifacts / "login.png", full_page=True)
    switch = page.get_by_test_id("locale-switch")

    switch.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    expect(page.get_by_label("Username")).to_be_visible()
    page.screenshot(path=artifacts / "login-en.png", full_page=True)
    switch.get_by_role("button", name="中文").click()
    expect(page.get_by_role("button", name="登录")).to_be_visible()

    # The evaluator's choice is stored with the account, so this test puts it back.
    log_in(page, "evaluator")
    switch.get_by_role("button", name="English").click()
    expect(page.get_by_test_id("home-title")).to_have_text("Evaluator workbench")
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    expect(page.get_by_test_id("nav")).to_contain_text("Home")
    switch.get_by_role("button", name="中文").click()
    expect(page.get_by_test_id("home-title")).to_have_text("考核评估工作台")
    expect(page.get_by_role("button", name="退出")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")


def test_on_a_phone_the_menu_opens_from_the_toggler_without_sideways_scrolling(phone_page, phone_menu, artifacts):
    page = phone_page
    log_in(page, "worker")

    nav = page.get_by_test_id("nav")
    expect(nav).to_be_hidden()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.screenshot(path=artifacts / "home-worker-360.png", full_page=True)

    phone_menu(page)
    expect(page.locator("#main-nav")).to_have_class(re.compile(r"\bshow\b"))
    assert menu_entries(page) == PROVIDER_MENU
    expect(page.get_by_role("button", name="退出")).to_be_visible()
    assert untranslated_words(page) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.screenshot(path=artifacts / "home-worker-360-menu.png", full_page=True)


def test_the_login_page_fits_a_phone(phone_page):
    phone_page.goto("/login")
    expect(phone_page.get_by_role("button", name="登录")).to_be_visible()
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 360


def test_an_inspector_reads_the_audit_log_and_verifies_the_chain(page):
    log_in(page, "inspector")
    page.get_by_test_id("nav").get_by_role("link", name="审计日志").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("审计日志")

    # Newest first: the inspector's own login heads the list.
    rows = page.locator("table tbody tr")
    expect(rows.first).to_contain_text("inspector")
    expect(rows.first).to_contain_text("user.logged_in")
    total = int(re.search(r"共 (\d+) 条", page.get_by_text(re.compile(r"^共 \d+ 条$")).inner_text())[1])

    # The demo created eleven accounts (the six logins, two more evaluators for the spot
    # checks' random assignment, a second officer for the two-person payment approval,
    # and the security administrator and auditor of issue 15); each left an entry by
    # "demo". (Other browser tests may have made accounts of their own by now.)
    page.get_by_label("事件").select_option(label="创建账号")
    page.get_by_role("button", name="筛选").click()
    expect(page.get_by_text(re.compile(r"^共 \d+ 条$"))).to_be_visible()
    expect(rows.filter(has_text="demo")).to_have_count(11)
    assert rows.filter(has_text="创建账号").count() == rows.count() >= 11

    page.get_by_role("button", name="校验整条哈希链").click()
    result = page.get_by_test_id("verify-result")
    expect(result).to_have_text(re.compile(r"^审计日志完好：已校验 \d+ 条。"))
    checked = int(re.search(r"已校验 (\d+) 条", result.inner_text())[1])
    assert checked >= total


def test_a_forgotten_password_is_reset_by_the_security_administrator(new_page):
    """The administrator makes an account; its owner forgets the password; the security
    administrator gives a temporary one, shown once; the owner logs in with it and must choose
    their own before anything else."""
    admin = new_page()
    log_in(admin, "admin")
    admin.goto("/users/new")
    admin.get_by_label("用户名").fill("zhangwei")
    admin.get_by_label("姓名").fill("张伟")
    admin.get_by_label("初始密码").fill("Kangle-start-2026")
    admin.get_by_label("角色").select_option(label="采购经办人员")
    admin.get_by_label("所属机构").select_option(index=0)
    admin.get_by_role("button", name="创建账号").click()
    expect(admin.locator('tr[data-username="zhangwei"]')).to_be_visible()

    secadmin = new_page()
    log_in(secadmin, "secadmin")
    secadmin.get_by_role("link", name="用户与角色").first.click()
    secadmin.locator('tr[data-username="zhangwei"]').get_by_role("button", name="重置密码").click()
    expect(secadmin.get_by_role("heading", name="临时密码")).to_be_visible()
    expect(secadmin.locator("main")).to_contain_text("只显示这一次")
    temporary = secadmin.get_by_test_id("temporary-password").inner_text().strip()
    assert re.fullmatch(r"[A-Za-z2-9]{4}(-[A-Za-z2-9]{4}){3}", temporary), temporary
    assert set(untranslated_words_in_main(secadmin)) <= {"zhangwei"}  # the username is the only Latin word

    owner = new_page()
    owner.goto("/login")
    owner.get_by_label("用户名").fill("zhangwei")
    owner.get_by_label("密码").fill("Kangle-start-2026")
    owner.get_by_role("button", name="登录").click()
    expect(owner.get_by_role("alert")).to_have_text("用户名或密码错误，或账号已停用。")  # the old one is gone
    owner.get_by_label("密码").fill(temporary)
    owner.get_by_role("button", name="登录").click()
    expect(owner).to_have_url(re.compile(r"/account/password$"))
    owner.get_by_label("当前密码").fill(temporary)
    owner.get_by_label("新密码", exact=True).fill("Kangle-mine-2026")
    owner.get_by_label("再次输入新密码").fill("Kangle-mine-2026")
    owner.get_by_role("button", name="修改密码").click()
    expect(owner.get_by_test_id("home-title")).to_be_visible()


def test_the_browser_tests_run_together_on_one_worker(request):
    """pytest-xdist sends every test marked ``xdist_group("browser")`` to one worker (one server,
    one demo load) by adding ``@browser`` to its id; pytest 9.2 silently stopped that."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        pytest.skip("not under pytest-xdist: one process runs every test")
    assert request.node.nodeid.endswith("@browser"), request.node.nodeid
