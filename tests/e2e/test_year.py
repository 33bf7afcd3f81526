"""A contract's year in one test: every room of the platform, in the order a county lives it.

A new social-work centre is registered and vetted; the bureau signs it a contract whose
term began eleven months ago (it ends this month, so the first execution year is nearly
over and last month can be assessed and paid); the administrator gives the centre its
two accounts; the centre puts its worker on the roster. On a phone the worker records
last month's home visits with photos — one photo is used for two households, the planted
problem — and the officer's integrity run flags it with its Chinese reason. The officer
draws a spot check with a dice seed and an evaluator files the result; the evaluator
assesses last month, the centre closes its comment window, the officer signs; the month
is paid on that result by one officer and approved by another; the year's evaluation is
opened, scored, sent, commented, signed, and its PDF carries the contract number.

Everything is the test's own (provider, contract, accounts, with a random suffix), so the
test runs in any order next to the others on the shared demo server.
"""

from __future__ import annotations

import io
import random
import re
from datetime import date, datetime, timedelta

import pytest
from PIL import Image
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from reliefsvc.common.formatting import now_local
from reliefsvc.common.idnumber import check_character
from reliefsvc.demo.providers import minimal_pdf
from reliefsvc.providers.rules import make_uscc

pytestmark = [pytest.mark.e2e, pytest.mark.no_db_rollback, pytest.mark.xdist_group("browser")]

#: 康乐县城: where the photos say they were taken and where the phone says it is.
PHOTO_GPS = (35.3712, 103.7105)
PHONE_POSITION = {"latitude": 35.37134, "longitude": 103.71062, "accuracy": 15}
INITIAL_PASSWORD = "Kangle#2026start"
OWN_PASSWORD = "Kangle#2026mine!"
#: Demo evaluators by their display names (reliefsvc.demo.accounts).
EVALUATORS = {"李明": "evaluator", "周文静": "evaluator2", "马志远": "evaluator3"}
SEED = "全年e2e 骰子 6-1-4-4-2"
#: The frame hash's standard may stay Latin on a Chinese page (test_spotchecks.py).
LATIN_OK = {"SHA"}
VISIT_NOTES = [
    "入户走访：查看冬季取暖准备，老人血压平稳，已提醒按时服药。",
    "入户走访：孩子上学情况良好，帮助家长填写临时救助申请表。",
    "入户走访：户主腿伤恢复中，协助预约县医院复查并联系村医上门。",
]


def add_months(day: date, months: int) -> date:
    """The first of the month ``months`` after (or before) ``day``'s month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def cn_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def jpeg(seed: int, when: datetime) -> bytes:
    """A real JPEG with EXIF time and GPS, as a phone camera writes it."""
    rng = random.Random(seed)
    img = Image.new("RGB", (640, 480), tuple(rng.randrange(256) for _ in range(3)))
    for _ in range(12):
        x, y = rng.randrange(600), rng.randrange(440)
        img.paste(tuple(rng.randrange(256) for _ in range(3)), (x, y, x + rng.randrange(20, 120), y + rng.randrange(20, 90)))
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = when.strftime("%Y:%m:%d %H:%M:%S")

    def dms(value: float) -> tuple[float, float, float]:
        d = int(value)
        m = int((value - d) * 60)
        return (float(d), float(m), round(((value - d) * 60 - m) * 60, 2))

    exif.get_ifd(0x8825).update({1: "N", 2: dms(PHOTO_GPS[0]), 3: "E", 4: dms(PHOTO_GPS[1])})
    out = io.BytesIO()
    img.save(out, "JPEG", quality=88, exif=exif)
    return out.getvalue()


def id_number(sequence: int) -> str:
    """A valid 18-digit resident ID (born 1988-05-12 in 康乐县)."""
    first17 = f"62292219880512{sequence:03d}"
    return first17 + check_character(first17)


def no_latin(untranslated, page: Page, *codes: str) -> None:
    """No untranslated word in <main>, leaving out the given codes (ledger numbers, usernames)."""
    own = {word for code in codes for word in re.findall(r"[A-Za-z]{2,}", code)}
    assert sorted(set(untranslated(page)) - LATIN_OK - own) == []


def alert(page: Page):
    return page.get_by_role("alert").first


def first_login(page: Page, username: str) -> None:
    """The first login of an account the administrator made: the owner replaces the initial password."""
    page.goto("/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(INITIAL_PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(re.compile(r"/account/password"))
    page.locator("input[name=current]").fill(INITIAL_PASSWORD)
    page.locator("input[name=new]").fill(OWN_PASSWORD)
    page.locator("input[name=repeat]").fill(OWN_PASSWORD)
    page.locator("main input[name=submit]").click()
    expect(page.get_by_test_id("home-title")).to_be_visible()


def terms(page: Page, label: str):
    return page.locator("dt", has_text=re.compile(f"^{re.escape(label)}$")).locator("xpath=following-sibling::dd[1]")


def test_a_contract_year_from_vetting_to_the_signed_evaluation_pdf(
        new_page, phone_page, phone_menu, log_in, register_provider, untranslated, artifacts, tmp_path):
    n = random.SystemRandom().randrange(100_000, 1_000_000)
    name = f"康乐县e2e年度社会工作服务中心{n}"
    uscc = make_uscc("52", "622922", f"MJ{n:06d}")
    number = f"康民购〔{now_local().year}〕e2e年度{n}号"
    title = f"康乐县困难群众入户走访服务项目（e2e全年{n}）"
    worker_name, manager_name = "韩晓东", "石玉兰"
    worker_login, manager_login = f"yw{n}", f"ym{n}"

    today = now_local().date()
    starts = add_months(today, -11)
    ends = add_months(today, 1) - timedelta(days=1)  # the end of this month: the year is nearly over
    month_from = add_months(today, -1)  # last month: ended, so it can be assessed and paid
    month_to = add_months(today, 0) - timedelta(days=1)
    period = f"{month_from:%Y-%m}"

    # --- 1. the officer registers and vets the centre ----------------------------------------
    officer = new_page()
    log_in(officer, "officer")
    register_provider(officer, name, uscc)
    provider_url = officer.url
    expect(officer.get_by_test_id("approval")).to_have_text("未审查")
    officer.get_by_role("button", name="发起资格审查").click()
    expect(officer.get_by_role("heading", level=1)).to_have_text(re.compile(r"^第 \d+ 号审查 · 进行中$"))
    items = officer.get_by_test_id("vetting-item")
    expect(items.first).to_be_visible()
    for number_of_item in range(1, items.count() + 1):
        item = items.nth(number_of_item - 1)
        document = tmp_path / f"证明材料{number_of_item}.pdf"
        document.write_bytes(minimal_pdf(f"{uscc} item {number_of_item}"))
        item.get_by_label(re.compile(r"^“.+”的证明材料$")).set_input_files(document)
        item.get_by_role("button", name="上传").click()
        expect(item.get_by_role("link", name=document.name)).to_be_visible()
        item.get_by_label("结论", exact=True).select_option(label="通过")
        item.get_by_label("说明", exact=True).fill("原件已核对")
        item.get_by_role("button", name="保存结论").click()
        expect(item.locator(".badge")).to_have_text("通过")
    valid_until = today + timedelta(days=365)
    decision_form = officer.locator("form[action$='/decide']")
    decision_form.locator("select[name='decision']").select_option(label="通过")
    decision_form.get_by_label("有效期至").fill(valid_until.isoformat())
    decision_form.get_by_role("button", name="作出审查结论").click()
    expect(alert(officer)).to_have_text("已记录审查结论：通过。")
    expect(officer.get_by_test_id("approval")).to_have_text(f"审查通过，有效期至 {cn_date(valid_until)}")
    no_latin(untranslated, officer)
    officer.screenshot(path=artifacts / "year-1-vetting.png", full_page=True)

    # --- 2. the contract: eleven months ago to the end of this month --------------------------
    officer.get_by_test_id("nav").get_by_role("link", name="合同", exact=True).click()
    officer.get_by_role("link", name="新建合同").click()
    officer.get_by_label("合同编号").fill(number)
    officer.get_by_label("项目名称").fill(title)
    choose = officer.get_by_label("承接主体", exact=True)
    choose.select_option(label=choose.locator("option", has_text=name).inner_text())
    officer.get_by_label("合同金额（元）").fill("240000")
    officer.get_by_label("开始日期").fill(starts.isoformat())
    officer.get_by_label("结束日期").fill(ends.isoformat())
    officer.get_by_label("计价方式").select_option(label="按服务成果")
    area = officer.get_by_label("服务区域（村）")
    chosen = area.locator("option").all_inner_texts()[-2:]  # two villages: not the demo contracts' first ones
    area.select_option(label=chosen)
    officer.get_by_role("button", name="保存").click()
    expect(alert(officer)).to_have_text(f"合同 {number} 已保存为草稿。请添加服务义务后使其生效。")
    contract_url = officer.url.split("#")[0]

    form = officer.get_by_test_id("obligation-form")
    form.get_by_label("服务类型").select_option(label="入户走访")
    form.get_by_label("目标", exact=True).fill("3")
    form.get_by_label("计量单位").select_option(label="次")
    form.get_by_label("周期").select_option(label="每月")
    form.get_by_role("button", name="添加服务义务").click()
    expect(alert(officer)).to_have_text("已添加服务义务。")

    officer.locator("summary", has_text="添加绩效指标").click()
    target_form = officer.locator("form[action$='/targets']")
    target_form.get_by_label("类别").select_option(index=0)
    target_form.get_by_label("指标", exact=True).fill("服务对象满意度")
    target_form.get_by_label("目标值").fill("90")
    target_form.get_by_label("计量单位").fill("%")
    target_form.get_by_role("button", name="添加绩效指标").click()
    expect(officer.get_by_test_id("targets").locator("tbody tr").filter(has_text="服务对象满意度")).to_have_count(1)

    status_form = officer.get_by_test_id("status-form")
    status_form.get_by_label("新状态").select_option(label="履行中")
    status_form.get_by_role("button", name="变更状态").click()
    expect(alert(officer)).to_have_text("合同现为“履行中”。")
    expect(officer.get_by_test_id("contract-status")).to_have_text("履行中")
    expect(terms(officer, "服务区域")).to_have_text("、".join(c.split()[-1] for c in chosen))
    expect(officer.get_by_test_id("obligation")).to_contain_text("目标 每月 3 次")
    no_latin(untranslated, officer, number, title)
    officer.screenshot(path=artifacts / "year-2-contract.png", full_page=True)

    # Monthly assessments, a 14-day comment window (the provider may close it early).
    officer.get_by_role("link", name="考核设置").click()
    binding = officer.get_by_test_id("binding-form")
    binding.get_by_label("考核周期").select_option(label="月度")
    binding.get_by_role("button", name="保存").click()
    expect(alert(officer)).to_have_text("已保存。")
    expect(officer.locator('[data-panel="assessments"]')).to_contain_text("按月")

    # The centre's two accounts: only the administrator makes accounts (三员分立).
    admin = new_page()
    log_in(admin, "admin")
    for username, full_name, role in ((manager_login, manager_name, "承接主体负责人"),
                                      (worker_login, worker_name, "承接主体服务人员")):
        admin.goto("/users/new")
        admin.get_by_label("用户名").fill(username)
        admin.get_by_label("姓名").fill(full_name)
        admin.get_by_label("初始密码").fill(INITIAL_PASSWORD)
        admin.get_by_label("角色").select_option(label=role)
        org = admin.get_by_label("所属机构")
        org.select_option(label=org.locator("option", has_text=name).inner_text())
        admin.get_by_role("button", name="创建账号").click()
        expect(alert(admin)).to_have_text(f"账号 {username} 已创建。")

    # The centre's manager puts the worker on the roster (a record names a rostered worker).
    manager = new_page()
    first_login(manager, manager_login)
    manager.goto(provider_url)
    manager.get_by_role("link", name="添加人员").click()
    manager.get_by_label("名称", exact=True).fill(worker_name)
    manager.get_by_label("身份证号").fill(id_number(n % 1000))
    manager.get_by_label("岗位").select_option(label="社工")
    manager.get_by_label("入职日期").fill(starts.isoformat())
    manager.get_by_role("button", name="保存").click()
    expect(alert(manager)).to_have_text(f"已将 {worker_name} 加入人员名册。")

    # --- 3. the worker records last month's visits on a phone ----------------------------------
    phone = phone_page
    phone.context.grant_permissions(["geolocation"])
    phone.context.set_geolocation(PHONE_POSITION)
    first_login(phone, worker_login)
    phone_menu(phone, "救助家庭")
    rows = phone.get_by_test_id("cases").locator("tbody tr")
    expect(rows.first.locator("a")).to_be_visible()
    households = [rows.nth(i).locator("a").inner_text().strip() for i in range(3)]
    villages_seen = {rows.nth(i).locator("td").nth(3).inner_text().split("·")[-1].strip() for i in range(3)}
    assert villages_seen <= {c.split()[-1] for c in chosen}, villages_seen

    visits = [datetime.combine(month_from + timedelta(days=day), datetime.min.time()).replace(hour=9, minute=30)
              for day in (7, 11, 15)]
    photos = [jpeg(n + i, visits[i]) for i in range(2)]
    photo_of = [photos[0], photos[1], photos[0]]  # the third household gets the first one's photo
    refs, paths = [], []
    for i, (household, visit) in enumerate(zip(households, visits, strict=True)):
        phone_menu(phone, "填报服务")
        expect(phone.get_by_role("heading", level=1)).to_have_text("填报服务")
        phone.get_by_label("查找家庭", exact=True).fill(household)
        phone.get_by_role("button", name="查找", exact=True).click()
        option = phone.get_by_label("家庭", exact=True).locator("option", has_text=household)
        phone.get_by_label("家庭", exact=True).select_option(label=option.inner_text().strip())
        phone.get_by_label("服务类型").select_option(label="入户走访")
        worker = phone.get_by_label("服务人员")
        worker.select_option(label=worker_name)
        phone.get_by_label("开始", exact=True).fill(f"{visit:%Y-%m-%dT%H:%M}")
        phone.get_by_label("结束", exact=True).fill(f"{visit + timedelta(minutes=45):%Y-%m-%dT%H:%M}")
        phone.get_by_label("服务内容和发现").fill(VISIT_NOTES[i])
        phone.get_by_label("照片", exact=True).set_input_files(
            {"name": f"IMG_{visit:%Y%m%d_%H%M}00.jpg", "mimeType": "image/jpeg", "buffer": photo_of[i]})
        expect(phone.locator("#position-state")).to_have_text("已记录定位。")
        if i == 0:
            no_latin(untranslated, phone, number, title)
            phone.screenshot(path=artifacts / "year-3-record-form-360.png", full_page=True)
        phone.get_by_role("button", name="提交记录").click()
        expect(alert(phone)).to_have_text("记录已保存，等待民政局审核。")
        expect(phone.get_by_test_id("record-status")).to_have_text("待审核")
        expect(phone.locator("main")).to_contain_text("（45 分钟）")
        expect(phone.get_by_test_id("photos").get_by_role("img")).to_have_count(1)
        refs.append(phone.locator(".breadcrumb-item.active").inner_text().strip())
        paths.append(re.search(r"/records/\d+$", phone.url)[0])
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    no_latin(untranslated, phone, *refs)
    phone.screenshot(path=artifacts / "year-3-record-360.png", full_page=True)

    # The officer accepts the two visits with photos of their own.
    for path in paths[:2]:
        officer.goto(path)
        officer.get_by_test_id("review-form").get_by_role("button", name="通过").click()
        expect(officer.get_by_test_id("record-status")).to_have_text("审核通过")

    # --- 4. integrity: the officer runs the checks, the reused photo is flagged --------------------
    officer.goto(contract_url)
    officer.get_by_role("link", name="按类别、月份和人员统计").click()
    officer.get_by_test_id("run-checks").click()
    expect(alert(officer)).to_contain_text("诚信核查完成")
    expect(officer.get_by_test_id("by-month")).to_contain_text("照片重复使用")
    officer.goto(paths[2])
    flag = officer.get_by_test_id("integrity-panel").get_by_test_id("flag").filter(has_text="照片重复使用")
    expect(flag).to_have_count(1)
    expect(flag).to_have_attribute("data-code", "PHOTO_REUSED")
    expect(flag).to_contain_text(refs[0])
    # The record's risk score reads as a number people write (82.4), not a float's binary expansion.
    expect(officer.get_by_test_id("integrity-panel").locator(".card-header")).to_contain_text(
        re.compile(r"风险分 \d{1,3}(\.\d)?(\s|$)"))
    no_latin(untranslated, officer, *refs, "IMG")  # the photos' file names, as the phone named them
    officer.screenshot(path=artifacts / "year-4-flag.png", full_page=True)

    # --- 5. a spot check of last month: frame, seed, draw; an evaluator files the result --------
    officer.goto(contract_url)
    officer.get_by_role("link", name="发起随机抽查").click()
    officer.get_by_label("记录开始日期").fill(month_from.isoformat())
    officer.get_by_label("记录结束日期").fill(month_to.isoformat())
    officer.get_by_role("button", name="冻结抽样框").click()
    expect(officer.get_by_test_id("draw-status")).to_have_text("抽样框已冻结，待录入种子")
    officer.get_by_label("随机种子").fill(SEED)
    officer.get_by_label("掷骰人").fill("王秀兰")
    officer.get_by_label("见证人").fill("李明、赵德胜")
    officer.get_by_role("button", name="录入种子并抽取").click()
    expect(officer.get_by_test_id("draw-status")).to_have_text("已抽取")
    expect(officer.get_by_test_id("seed")).to_have_text(SEED)
    draw_url = officer.url
    drawn = officer.get_by_test_id("items").locator("tbody tr")
    expect(drawn.first).to_be_visible()
    ref = drawn.first.get_attribute("data-ref")
    assert ref in refs, (ref, refs)
    checker = EVALUATORS[drawn.first.get_by_test_id("evaluator").inner_text()]
    no_latin(untranslated, officer, *refs)
    officer.screenshot(path=artifacts / "year-5-draw.png", full_page=True)

    evaluator = new_page()
    log_in(evaluator, checker)
    evaluator.goto(draw_url)
    evaluator.locator(f'tr[data-ref="{ref}"]').get_by_role("link", name="未核查").click()
    expect(evaluator.get_by_role("heading", level=1)).to_contain_text(ref)
    evaluator.get_by_label("电话回访").check()
    evaluator.get_by_label("是", exact=True).check()
    evaluator.get_by_label("满意度").select_option("5")
    evaluator.get_by_label("属实").check()
    evaluator.get_by_role("button", name="提交核查结果").click()
    expect(alert(evaluator)).to_contain_text(f"已提交记录 {ref} 的核查结果：属实")

    # --- 6. the evaluator assesses last month; the centre closes its window; the officer signs ------
    if checker != "evaluator":
        evaluator = new_page()
        log_in(evaluator, "evaluator")
    evaluator.goto(contract_url)
    evaluator.get_by_role("link", name=f"考核 {period}").click()
    evaluator.get_by_role("button", name="开启考核").click()
    expect(alert(evaluator)).to_contain_text("考核已开启")
    forms = evaluator.get_by_test_id("score-form")
    for i in range(forms.count()):
        score = forms.nth(i)
        if not score.get_by_label("得分").input_value():
            score.get_by_label("得分").fill("3")
            score.get_by_label("评分依据").fill("查阅台账、照片和回访记录")
            score.get_by_role("button", name="保存评分").click()
            expect(alert(evaluator)).to_have_text("评分已保存。")
    no_latin(untranslated, evaluator)
    evaluator.get_by_role("button", name="送承接主体征求意见").click()
    expect(evaluator.get_by_test_id("assessment-status").first).to_have_text("征求承接主体意见中")
    assessment_url = evaluator.url.split("#")[0]

    manager.goto(assessment_url)
    manager.get_by_role("button", name="我们无其他意见").click()
    expect(alert(manager)).to_contain_text("无其他意见")

    officer.goto(assessment_url)
    officer.get_by_role("button", name="签发考核").click()
    expect(officer.get_by_test_id("assessment-status").first).to_have_text("已签发")
    no_latin(untranslated, officer)
    officer.screenshot(path=artifacts / "year-6-assessment-signed.png", full_page=True)

    # --- 7. last month is paid on its result: one officer proposes, another approves -------------
    officer.goto(contract_url)
    officer.get_by_test_id("payments-panel").get_by_role("link", name="支付计划和台账").click()
    plan_form = officer.get_by_test_id("instalment-form")
    plan_form.get_by_label("占合同金额比例（%）").fill("8")
    plan_form.get_by_label("服务期起").fill(month_from.isoformat())
    plan_form.get_by_label("服务期止").fill(month_to.isoformat())
    plan_form.get_by_label("应付日期").fill((month_to + timedelta(days=15)).isoformat())
    plan_form.get_by_role("button", name="添加支付期").click()
    expect(alert(officer)).to_have_text("已添加支付期。")
    officer.get_by_test_id("instalment-1").get_by_role("link", name="第 1 期").click()
    expect(officer.get_by_test_id("line-planned")).to_contain_text("19,200.00 元")  # 8 % of 240,000.00 元
    expect(officer.get_by_test_id("line-result")).to_contain_text(f"{period} 考核")
    officer.get_by_label("给审批人员的说明").fill(f"按{period}考核结果计算")
    officer.get_by_role("button", name="提出支付").click()
    expect(alert(officer)).to_have_text("已提出支付，须由另一名经办人员审批。")
    expect(officer.get_by_role("button", name="批准支付")).to_have_count(0)
    amount = officer.get_by_test_id("entry-amount").inner_text()
    entry_url = officer.url

    second = new_page()
    log_in(second, "officer2")
    second.goto(entry_url)
    expect(second.get_by_test_id("entry-status")).to_have_text("待审批")
    second.get_by_label("审批意见").fill("已核对考核结果")
    second.get_by_role("button", name="批准支付").click()
    expect(alert(second)).to_have_text("支付已批准。")
    expect(second.get_by_test_id("entry-status")).to_have_text("通过")
    expect(second.get_by_test_id("entry-amount")).to_have_text(amount)
    no_latin(untranslated, second)
    second.screenshot(path=artifacts / "year-7-payment-approved.png", full_page=True)

    # --- 8. the annual evaluation: opened, scored, sent, closed, signed, and its PDF ----------------
    officer.goto(contract_url)
    officer.get_by_role("button", name="开启第1执行年度评估").click()
    expect(alert(officer)).to_have_text("评估已开启，各项指标已按平台数据填入。")
    evaluation_url = officer.url.split("#")[0]

    evaluator.goto(evaluation_url)
    expect(evaluator.get_by_test_id("dimension-name")).to_have_text(["项目管理", "服务成效", "经费使用"])
    for code, score, words in (("management", "85", "人员名册、台账齐全，资格审查材料完整。"),
                               ("outcomes", "83", "走访按月完成，抽查属实；一张照片重复使用已标记。"),
                               ("funds", "86", "按考核结果支付，经两人审批。")):
        card = evaluator.locator(f"#dimension-{code}")
        card.get_by_label("得分（0–100）").fill(score)
        card.get_by_label("评价意见").fill(words)
        card.get_by_role("button", name="保存本维度").click()
        expect(alert(evaluator)).to_have_text("维度评分已保存。")
    conclusion = evaluator.get_by_test_id("conclusion-form")
    conclusion.get_by_label("评估等级").select_option(label="良好")
    conclusion.get_by_label("是", exact=True).check()
    conclusion.get_by_label("综合评价").fill("项目实施良好，建议续购。")
    conclusion.get_by_role("button", name="保存评估等级").click()
    expect(alert(evaluator)).to_have_text("评估等级已保存。")
    no_latin(untranslated, evaluator)
    evaluator.get_by_role("button", name="送承接主体征求意见").click()
    expect(evaluator.get_by_test_id("evaluation-status").first).to_have_text("征求承接主体意见中")

    manager.goto(evaluation_url)
    manager.get_by_role("button", name="我们无其他意见").click()
    expect(alert(manager)).to_contain_text("无其他意见")

    officer.goto(evaluation_url)
    officer.get_by_role("button", name="签发评估").click()
    expect(officer.get_by_test_id("evaluation-status").first).to_have_text("已签发")
    doc_no = officer.get_by_test_id("doc-no").inner_text()
    assert re.fullmatch(r"康民评〔\d{4}〕\d+号", doc_no), doc_no
    no_latin(untranslated, officer)
    officer.screenshot(path=artifacts / "year-8-evaluation-signed.png", full_page=True)

    # WeasyPrint takes its time on a busy machine: wait for the file, not for a speed.
    response = officer.request.get(officer.get_by_test_id("report-pdf").get_attribute("href"), timeout=90_000)
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    pdf = response.body()
    assert pdf.startswith(b"%PDF-")
    (artifacts / "year-evaluation.pdf").write_bytes(pdf)
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).replace(" ", "").replace("\n", "")
    for words in (number, doc_no, name, "良好", "项目管理", "服务成效", "经费使用"):
        assert words in text, words
    assert "草稿" not in text
    # WeasyPrint embedded a CJK font (a subset, named like /ABCDEF+WenQuanYi-Micro-Hei).
    fonts = {str(font.get_object().get("/BaseFont")) for sheet in PdfReader(io.BytesIO(pdf)).pages
             for font in sheet["/Resources"].get_object().get("/Font", {}).values()}
    assert any(re.search(r"\+.*(CJK|WenQuanYi|Hei|Song|Kai|Ming|Han)", f) for f in fonts), fonts

    # The centre's manager finds the signed evaluation of its own contract.
    manager.goto(contract_url)
    expect(manager.get_by_test_id("contract-evaluations")).to_contain_text(doc_no)
