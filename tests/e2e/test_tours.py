"""The README's tours, followed as written (issue 17).

The README's section "十分钟上手" has one tour per role: a heading naming the login
(``### 采购经办人员 ... （`officer`）``) and numbered steps in Chinese. In a step, 「X」 is
something to click (a link or a button of that name, a menu group first when it is one)
and 『Y』 is something the page then shows. This test reads those steps from the README
and does exactly that in Chromium, so a tour that no longer works fails here; after each
step it takes a screenshot into ``test-artifacts/``. The screenshots the README shows
(``docs/screenshots/``) are rewritten only when ``TOUR_SCREENSHOTS=docs`` is set, by a run of
this file alone on a freshly loaded demo (``TOUR_SCREENSHOTS=docs .venv/bin/python -m pytest -n0
tests/e2e/test_tours.py``): in the whole suite the other browser tests have changed the demo
before the tours run, and a test run should not rewrite tracked files.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import DESKTOP, PHONE

pytestmark = [pytest.mark.e2e, pytest.mark.no_db_rollback, pytest.mark.xdist_group("browser")]

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
SCREENSHOTS = ROOT / "docs" / "screenshots"
SECTION = re.compile(r"^## 十分钟上手.*?$(.*?)(?=^## )", re.S | re.M)
TOUR = re.compile(r"^### (.+?)（`([a-z0-9_]+)`）\s*$(.*?)(?=^### |\Z)", re.S | re.M)
STEP = re.compile(r"^\d+\. (.+)$", re.M)
#: a click 「X」 or a sight 『Y』, in the order the step names them
MARK = re.compile(r"「([^」]+)」|『([^』]+)』")
#: roles whose tour is taken on a phone
ON_A_PHONE = {"worker"}
#: a demo contract number; its year is the year the demo's contracts began (README says so)
CONTRACT_NO = re.compile(r"康民购〔\d{4}〕(\d+)号")


def _as_in_the_demo(label: str) -> str:
    from reliefsvc.common.formatting import now_local
    from reliefsvc.demo.contracts import _term

    year = _term(now_local().date())[0].year
    return CONTRACT_NO.sub(lambda m: f"康民购〔{year}〕{m.group(1)}号", label)


def tours() -> dict[str, list[str]]:
    section = SECTION.search(README.read_text(encoding="utf-8"))
    assert section, "README.md has no section 十分钟上手"
    found = {}
    for _title, username, body in TOUR.findall(section.group(1)):
        found[username] = STEP.findall(body)
    return found


def shown_screenshots() -> set[str]:
    return set(re.findall(r"\(docs/screenshots/([\w.-]+\.png)\)", README.read_text(encoding="utf-8")))


def test_the_readme_has_a_tour_for_each_role_a_newcomer_meets():
    assert {"officer", "evaluator", "manager", "worker", "inspector"} <= set(tours())
    for username, steps in tours().items():
        assert len(steps) >= 3, username
        assert any("「" in s for s in steps), username


def _click(page, label: str, phone: bool) -> None:
    """Click the visible link or button named ``label``; on a phone, unfold the menu first
    when the only one is in the folded menu."""
    for role in ("link", "button"):
        visible = page.get_by_role(role, name=label, exact=True)
        if visible.count():
            visible.first.click()
            page.wait_for_load_state("load")
            return
    if phone:
        in_menu = page.get_by_test_id("nav").get_by_role("link", name=label, exact=True, include_hidden=True)
        if in_menu.count():
            page.locator(".navbar-toggler").click()  # the menu folds away on a phone
            link = page.get_by_test_id("nav").get_by_role("link", name=label, exact=True)
            expect(link).to_be_visible()
            link.click()
            page.wait_for_load_state("load")
            return
    pytest.fail(f"nothing to click named 「{label}」 on {page.url}")


@pytest.mark.parametrize("username", ["officer", "evaluator", "manager", "worker", "inspector"])
def test_each_tour_works_as_written(new_page, log_in, untranslated, artifacts, username):
    steps = tours()[username]
    phone = username in ON_A_PHONE
    page = new_page(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2) if phone \
        else new_page(viewport=DESKTOP)
    log_in(page, username)
    shown = shown_screenshots()
    for number, step in enumerate(steps, start=1):
        for click, sight in MARK.findall(step):
            if click:
                _click(page, _as_in_the_demo(click), phone)
            else:
                expect(page.locator("main").get_by_text(sight, exact=False).filter(visible=True).first).to_be_visible()
        assert untranslated(page) == [], (username, number, page.url)
        name = f"tour-{username}-{number}.png"
        target = SCREENSHOTS if name in shown and os.environ.get("TOUR_SCREENSHOTS") == "docs" else artifacts
        target.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=target / name)
