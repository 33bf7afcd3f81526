"""The record list's filters at county and at province scale (issue 16): drop-downs while they
are short, a search with its matches when they are not, the village chosen township first;
the links of before (``contract_id``, ``worker_id``, ``village_id``) keep working."""

from __future__ import annotations

import re

import pytest

from reliefsvc.evidence import views
from reliefsvc.extensions import db as _db
from reliefsvc.regions.models import Level, Region
from tests.evidence.test_records import field, post_record  # noqa: F401 — the fixture


def options(page: str, name: str) -> list[tuple[str, str, bool]]:
    """(value, label, selected) of the <select name=...> of the page."""
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', page, re.S)
    assert select, name
    return [(v, label, " selected" in attrs) for v, attrs, label in
            re.findall(r'<option value="([^"]*)"([^>]*)>([^<]*)</option>', select.group(1))]


@pytest.fixture
def listed(client, login, field, photo_bytes, create_user, villages):  # noqa: F811
    login(field["worker"])
    assert post_record(client, field, photo_bytes(13)).status_code == 302
    other_town = Region(code="622922101", name="景古镇", level=Level.TOWNSHIP, parent=villages[0].parent)
    far = Region(code="622922101201", name="景古村", level=Level.VILLAGE, parent=other_town)
    _db.session.add_all([other_town, far])
    _db.session.flush()
    login(create_user("officer"))
    return {**field, "town": villages[0].parent, "other_town": other_town, "far": far, "villages": villages}


def total(page: str) -> int:
    return int(re.search(r"共 (\d+) 条", page).group(1))


def test_a_county_keeps_its_drop_downs_and_rows_read_in_chinese(client, listed):
    page = client.get("/records/").get_data(as_text=True)
    assert [label for _v, label, _s in options(page, "worker_id")][1:] == ["马小军"]
    assert [label for _v, label, _s in options(page, "contract_id")][1:] == [listed["contract"].contract_no]
    assert 'name="worker"' not in page and 'name="contract"' not in page
    assert "待审核" in page and "分钟" in page  # the row's status and minutes, translated once a page
    assert '<script src="/static/js/record-filters.js"></script>' in page


def test_the_village_is_chosen_township_first(client, listed):
    page = client.get("/records/").get_data(as_text=True)
    assert [label for _v, label, _s in options(page, "township_id")] == ["全部乡镇", "附城镇", "景古镇"]
    assert re.search(r'<select name="village_id"[^>]* disabled', page)  # no township chosen yet
    town = client.get(f"/records/?township_id={listed['town'].id}").get_data(as_text=True)
    assert [label for _v, label, _s in options(town, "village_id")][1:] == ["第1村", "第2村", "第3村"]
    assert total(town) == 1
    other = client.get(f"/records/?township_id={listed['other_town'].id}").get_data(as_text=True)
    assert [label for _v, label, _s in options(other, "village_id")][1:] == ["景古村"] and total(other) == 0
    # a link naming the village brings its township
    linked = client.get(f"/records/?village_id={listed['villages'][0].id}").get_data(as_text=True)
    assert ("附城镇", True) in [(label, sel) for _v, label, sel in options(linked, "township_id")]
    assert (str(listed["villages"][0].id), "第1村", True) in options(linked, "village_id") and total(linked) == 1
    # the township changed with the old village still in the form: the village is dropped
    changed = client.get(f"/records/?township_id={listed['other_town'].id}"
                         f"&village_id={listed['villages'][0].id}").get_data(as_text=True)
    assert total(changed) == 0 and not any(sel for _v, _l, sel in options(changed, "village_id"))


def test_a_province_searches_workers_and_contracts(client, listed, monkeypatch):
    monkeypatch.setattr(views, "LIST_AT_MOST", 0)  # as if there were thousands
    page = client.get("/records/").get_data(as_text=True)
    assert 'name="worker"' in page and 'name="contract"' in page
    assert options(page, "worker_id")[1:] == [] and options(page, "contract_id")[1:] == []
    found = client.get("/records/?worker=小军").get_data(as_text=True)
    staff = listed["staff"]
    assert [(v, label) for v, label, _s in options(found, "worker_id")][1:] == [
        (str(staff.id), f"马小军 · {staff.provider.name}")]
    assert total(found) == 1
    assert total(client.get("/records/?worker=无此人").get_data(as_text=True)) == 0
    assert total(client.get(f"/records/?worker={staff.id_number}").get_data(as_text=True)) == 1
    assert total(client.get("/records/?worker=%25").get_data(as_text=True)) == 0  # a wildcard is a character
    # a link with the worker's id: the one worker, chosen
    linked = client.get(f"/records/?worker_id={staff.id}").get_data(as_text=True)
    assert [(v, sel) for v, _l, sel in options(linked, "worker_id")][1:] == [(str(staff.id), True)]
    assert total(linked) == 1
    contract = listed["contract"]
    by_no = client.get("/records/?contract=" + contract.contract_no[-4:]).get_data(as_text=True)
    assert [v for v, _l, _s in options(by_no, "contract_id")][1:] == [str(contract.id)] and total(by_no) == 1
    assert total(client.get("/records/?contract=没有这个合同").get_data(as_text=True)) == 0
    chosen = client.get(f"/records/?contract_id={contract.id}").get_data(as_text=True)
    assert [(v, sel) for v, _l, sel in options(chosen, "contract_id")][1:] == [(str(contract.id), True)]


def test_a_long_list_is_counted_up_to_a_bound(client, listed, monkeypatch):
    # issue 16 (pages): the matches are counted up to COUNT_AT_MOST, "more than" beyond it
    page = client.get("/records/").get_data(as_text=True)
    assert total(page) == 1
    monkeypatch.setattr(views, "COUNT_AT_MOST", 0)  # as if there were tens of thousands
    page = client.get("/records/").get_data(as_text=True)
    assert re.search(r'data-testid="records-total">[^<]*0', page) and "共 1 条" not in page
    assert "records/" in page and listed["contract"].contract_no in page  # the rows are still listed
