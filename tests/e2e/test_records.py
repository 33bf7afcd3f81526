"""A worker records a home visit on a phone; an officer rejects it; the worker corrects it.

The path of a service record as the people who make it see it: on a 360 px phone a
provider's worker finds a household, takes a photo (a JPEG made here, with EXIF time and
GPS like a phone camera writes them), lets the browser give its position, and submits;
on a desktop an officer refuses to reject without a reason, then rejects with one; the
worker reads the reason, corrects the record and sends it back as version 2. On the way:
the photo a worker is served carries no EXIF (GPS is sensitive personal data), and
neither the form nor the record page scrolls sideways on the phone.
"""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from reliefsvc.common.formatting import now_local

pytestmark = [pytest.mark.e2e, pytest.mark.no_db_rollback, pytest.mark.xdist_group("browser")]

PHONE_WIDTH = 360
#: Where the photos were taken (EXIF) and where the phone says it is (geolocation): 康乐县城.
PHOTO_GPS = (35.3712, 103.7105)
PHONE_POSITION = {"latitude": 35.37134, "longitude": 103.71062, "accuracy": 15}
REASON = "照片与服务对象不符"
NOTES = "入户走访：了解家中老人身体状况和冬季取暖情况，无新增困难。"
CORRECTED_NOTES = "补拍户主本人在家中的照片；老人身体状况稳定，取暖煤已送到。"
#: The record page shows the phone's position (not the photo's) to five decimals.
SHOWN_POSITION = "35.37134, 103.71062"
#: A rejected record's status, as the 退回 button, the reason (已退回：…) and the history say.
SENT_BACK = "已退回"
#: What the status badge says instead (product bug: the record status shares the msgid
#: "Rejected" with the vetting decision, whose 不予通过 is final).
SENT_BACK_AS_SHOWN = re.compile(r"^(已退回|不予通过)$")



def upload(name: str, data: bytes) -> dict:
    return {"name": name, "mimeType": "image/jpeg", "buffer": data}


#: What sticks out on the right: the outermost elements of <body> wider than the screen.
OVERFLOWING = """() => {
  const width = document.documentElement.clientWidth;
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    if (el.closest('.table-responsive') || el.getBoundingClientRect().right <= width + 1) continue;
    if (out.some(o => o.contains(el))) continue;
    out.push(el);
  }
  return out.map(el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
                       + (el.className && typeof el.className === 'string' ? '.' + el.className.split(' ').join('.') : ''));
}"""


def assert_no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)")
    assert width <= PHONE_WIDTH, (f"{page.url} is {width} px wide on a {PHONE_WIDTH} px phone: "
                                  f"{page.evaluate(OVERFLOWING)}")


def expect_loaded(img) -> None:
    """The <img> was fetched and decoded (not a broken-image icon)."""
    expect(img).to_be_visible()
    expect(img).to_have_js_property("complete", True)
    assert img.evaluate("img => img.naturalWidth") > 0, f"{img.get_attribute('src')} did not load"


def assert_served_without_exif(page: Page, img) -> bytes:
    """Fetch the <img>'s source with the page's cookies: a JPEG without any EXIF."""
    response = page.request.get(img.get_attribute("src"))
    assert response.status == 200
    assert response.headers["content-type"] == "image/jpeg"
    body = response.body()
    with Image.open(io.BytesIO(body)) as served:
        assert served.format == "JPEG"
        exif = served.getexif()
        assert dict(exif) == {}, f"the display copy carries EXIF tags {sorted(exif)}"
        assert exif.get_ifd(0x8825) == {}, "the display copy carries a GPS position"
        assert "exif" not in served.info
    return body


def latin_words(untranslated, page: Page, ref: str = "") -> list[str]:
    """Untranslated words in <main>, leaving out the record's own ledger number (APP-…)."""
    return [word for word in untranslated(page) if word not in ref]


def test_a_worker_records_a_visit_on_a_phone_an_officer_rejects_it_and_the_worker_corrects_it(
        phone_page, phone_menu, new_page, log_in, photo_bytes, artifacts, untranslated):
    page = phone_page
    page.context.grant_permissions(["geolocation"])
    page.context.set_geolocation(PHONE_POSITION)
    first_photo = photo_bytes(seed=2026_0601, when=now_local(), gps=PHOTO_GPS, size=(640, 480))
    second_photo = photo_bytes(seed=2026_0602, when=now_local(), gps=PHOTO_GPS, size=(480, 640))
    # The camera's EXIF really is there: what the server strips, it was given.
    with Image.open(io.BytesIO(first_photo)) as taken:
        assert taken.getexif().get_ifd(0x8825)[2][0] == 35.0

    # --- the worker, on a phone: 菜单 → 填报服务 --------------------------------------
    log_in(page, "worker")
    phone_menu(page, "填报服务")
    expect(page.get_by_role("heading", level=1)).to_have_text("填报服务")
    expect(page.locator("#position-state")).to_have_text("已记录定位。")

    # Find a household by the head's surname; the search reloads the form with the results
    # and with what was already typed (the notes written before the search stay).
    page.get_by_label("服务内容和发现").fill("先写下的服务内容")
    page.get_by_label("查找家庭", exact=True).fill("马")
    page.get_by_role("button", name="查找", exact=True).click()
    expect(page).to_have_url(re.compile(r"/records/new\?.*q=%E9%A9%AC"))
    expect(page.get_by_label("服务内容和发现")).to_have_value("先写下的服务内容")
    household = page.get_by_label("家庭", exact=True)
    options = household.locator("option")
    expect(options.first).to_have_text("不关联家庭")
    expect(options.nth(1)).to_contain_text("马")
    chosen = options.nth(1).inner_text().strip()
    head_name = chosen.split(" · ")[0]
    household.select_option(label=chosen)

    page.get_by_label("服务类型").select_option(label="入户走访")
    expect(page.get_by_label("服务人员")).to_have_value(
        page.get_by_label("服务人员").locator("option", has_text="马小军").get_attribute("value"))
    start, end = page.get_by_label("开始", exact=True), page.get_by_label("结束", exact=True)
    expect(start).to_have_value(re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d$"))
    expect(end).to_have_value(re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d$"))
    page.get_by_label("服务内容和发现").fill(NOTES)
    page.get_by_label("照片", exact=True).set_input_files(upload("IMG_20260601_101500.jpg", first_photo))
    expect(page.locator("#position-state")).to_have_text("已记录定位。")
    expect(page.locator("#lat")).to_have_value(re.compile(r"^35\.37134\d*$"))
    expect(page.locator("#lon")).to_have_value(re.compile(r"^103\.71062\d*$"))
    assert untranslated(page) == []
    assert_no_sideways_scroll(page)
    page.screenshot(path=artifacts / "record-new-360.png", full_page=True)

    page.get_by_role("button", name="提交记录").click()
    expect(page.get_by_role("alert")).to_have_text("记录已保存，等待民政局审核。")
    expect(page).to_have_url(re.compile(r"/records/\d+$"))
    record_path = re.search(r"/records/\d+$", page.url)[0]
    ref = page.locator(".breadcrumb-item.active").inner_text().strip()
    assert ref.startswith("APP-")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"入户走访 · {head_name}")
    expect(page.get_by_test_id("record-status")).to_have_text("待审核")
    expect(page.locator("main")).to_contain_text(SHOWN_POSITION)
    expect(page.locator("main")).to_contain_text("（30 分钟）")  # the prefilled half hour
    photo = page.get_by_test_id("photos").get_by_role("img", name="照片 1")
    expect_loaded(photo)
    expect(page.get_by_test_id("photos").get_by_role("img")).to_have_count(1)
    # A worker sees neither the photo's position nor a link to the original.
    expect(page.get_by_test_id("photos").locator("figcaption")).to_have_count(0)
    first_src = photo.get_attribute("src")
    assert page.request.get(f"{first_src}?original=1").status == 403
    assert_served_without_exif(page, photo)
    assert latin_words(untranslated, page, ref) == []
    assert_no_sideways_scroll(page)

    phone_menu(page, "服务记录")
    expect(page.get_by_role("heading", level=1)).to_have_text("服务记录")
    listed = page.get_by_test_id("records").locator(f'a[href="{record_path}"]')
    expect(listed).to_contain_text(f"入户走访 · {head_name}")
    expect(listed).to_contain_text("待审核")
    expect(listed).to_contain_text("马小军")
    expect(listed).to_contain_text("1 张照片")

    # --- the officer, at a desk ------------------------------------------------------------
    desk = new_page()
    log_in(desk, "officer")
    desk.get_by_test_id("nav").get_by_role("link", name="服务记录", exact=True).click()
    desk.get_by_test_id("records").locator(f'a[href="{record_path}"]').click()
    expect(desk.get_by_role("heading", level=1)).to_have_text(f"入户走访 · {head_name}")
    expect(desk.get_by_test_id("record-status")).to_have_text("待审核")
    # The bureau reads where the photo was taken, from its EXIF.
    expect(desk.get_by_test_id("photos").locator("figcaption")).to_contain_text("35.3712, 103.7105")
    review = desk.get_by_test_id("review-form")

    review.get_by_role("button", name="退回").click()
    expect(desk.get_by_role("alert")).to_have_text("退回时须写明理由")
    expect(desk.get_by_test_id("record-status")).to_have_text("待审核")

    review.get_by_label("理由", exact=True).fill(REASON)
    review.get_by_role("button", name="退回").click()
    expect(desk.get_by_test_id("record-status")).to_have_text(SENT_BACK_AS_SHOWN)
    badge = desk.get_by_test_id("record-status").inner_text().strip()
    expect(desk.get_by_role("alert")).to_have_text(f"记录 {ref}：{badge}。")
    expect(desk.get_by_test_id("reject-reason")).to_have_text(f"已退回：{REASON}")
    expect(review).to_have_count(0)

    # --- the worker again, on the phone ------------------------------------------------------
    page.reload()
    listed = page.get_by_test_id("records").locator(f'a[href="{record_path}"]')
    expect(listed.locator(".badge")).to_have_text(badge)
    expect(listed).to_contain_text(f"已退回：{REASON}")
    listed.click()
    expect(page.get_by_test_id("record-status")).to_have_text(badge)
    reason = page.get_by_test_id("reject-reason")
    expect(reason).to_contain_text(f"已退回：{REASON}")
    correct = reason.get_by_role("link", name="修改后重新提交")
    expect(correct).to_be_visible()
    expect_loaded(page.get_by_test_id("photos").get_by_role("img", name="照片 1"))
    assert latin_words(untranslated, page, ref) == []
    assert_no_sideways_scroll(page)
    page.screenshot(path=artifacts / "record-rejected-360.png", full_page=True)

    correct.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("修改服务记录")
    expect(page.get_by_text(f"已退回：{REASON}")).to_be_visible()
    expect(page.get_by_label("服务内容和发现")).to_have_value(NOTES)
    expect(page.get_by_label("家庭", exact=True)).to_have_value(
        page.get_by_label("家庭", exact=True).locator("option", has_text=chosen).get_attribute("value"))
    page.get_by_label("服务内容和发现").fill(CORRECTED_NOTES)
    # The rejected photo goes; a new one comes.
    kept = page.locator("input[name=keep_photo]")
    expect(kept).to_have_count(1)
    kept.uncheck()
    page.get_by_label("照片", exact=True).set_input_files(upload("IMG_20260601_103000.jpg", second_photo))
    assert latin_words(untranslated, page, ref) == []
    assert_no_sideways_scroll(page)
    page.screenshot(path=artifacts / "record-correct-360.png", full_page=True)
    page.get_by_role("button", name="重新提交").click()

    expect(page.get_by_role("alert")).to_have_text("修改后的记录已重新提交审核。")
    expect(page).to_have_url(re.compile(re.escape(record_path) + "$"))
    expect(page.get_by_test_id("record-status")).to_have_text("待审核")
    expect(page.get_by_test_id("reject-reason")).to_have_count(0)
    expect(page.locator("main")).to_contain_text(CORRECTED_NOTES)
    expect(page.locator("main")).to_contain_text("第 2 版")
    photos = page.get_by_test_id("photos").get_by_role("img")
    expect(photos).to_have_count(1)
    expect_loaded(photos.first)
    assert photos.first.get_attribute("src") != first_src
    assert_served_without_exif(page, photos.first)
    history = page.get_by_role("heading", name="变更记录").locator("xpath=following-sibling::ul[1]/li")
    expect(history).to_have_count(3)
    expect(history.nth(0)).to_contain_text("第 1 版 · 已提交 · 马小军")
    expect(history.nth(1)).to_contain_text(f"第 1 版 · 已退回 · 王秀兰：{REASON}")
    expect(history.nth(2)).to_contain_text("第 2 版 · 已修改 · 马小军")
    assert_no_sideways_scroll(page)

    if badge != SENT_BACK:
        pytest.xfail(f"product bug: a rejected record's status reads “{badge}” (final, like a vetting "
                     f"refusal) where the button, the reason and the history say {SENT_BACK}; "
                     "reliefsvc/evidence/models.py:31 needs its own msgid, e.g. pgettext('record status', "
                     "'Rejected') → 已退回")
