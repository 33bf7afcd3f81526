"""The record list's filters at county and at province scale (issue 16): drop-downs while they
are short, a search with its matches when they are not, the village chosen township first;
the links of before (``contract_id``, ``worker_id``, ``village_id``) keep working."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

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
    other_town = Region(code="622922101", name="景古镇", level=Level.TOWNSHIP, parent=villages[0].parent.parent)
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


def add_townships(county: Region, count: int, start: int = 0) -> None:
    """``count`` more townships in ``county``, in bulk (a province has a thousand)."""
    _db.session.execute(sa.insert(Region), [
        {"code": f"{county.code}{n:03d}", "name": f"第{n}镇", "level": Level.TOWNSHIP, "parent_id": county.id}
        for n in range(start + 1, start + count + 1)])
    _db.session.flush()


@pytest.fixture
def province(listed):
    """The county of ``listed`` with its two townships, and another county with a 附城镇 of its
    own and 199 more: 202 townships, more than LIST_AT_MOST."""
    county = Region(code="622923", name="和政县", level=Level.COUNTY)
    namesake = Region(code="622923999", name="附城镇", level=Level.TOWNSHIP, parent=county)
    _db.session.add_all([county, namesake])
    _db.session.flush()
    add_townships(county, 199)
    assert _db.session.scalar(sa.select(sa.func.count()).where(Region.level == Level.TOWNSHIP)) > views.LIST_AT_MOST
    return {**listed, "county": county, "namesake": namesake}


def test_a_county_lists_its_townships_without_a_search(client, listed):
    page = client.get("/records/").get_data(as_text=True)
    assert 'name="township"' not in page and "全部符合条件的乡镇" not in page
    assert [label for _v, label, _s in options(page, "township_id")] == ["全部乡镇", "附城镇", "景古镇"]


def test_a_province_searches_townships(client, province):
    town, other_town = province["town"], province["other_town"]
    page = client.get("/records/").get_data(as_text=True)
    # a search field with its label, and no township listed before a search
    assert re.search(r'<input type="search" name="township" value=""[^>]* aria-label="查找乡镇"', page)
    assert 'placeholder="乡镇名称或区划代码"' in page
    assert options(page, "township_id") == [("", "全部乡镇", False)] and "第150镇" not in page
    assert re.search(r'<select name="village_id"[^>]* disabled', page) and total(page) == 1
    # by name: the matches, told apart by their county; the records of every match
    found = client.get("/records/?township=附城").get_data(as_text=True)
    assert options(found, "township_id") == [("", "全部符合条件的乡镇", False), (str(town.id), "附城镇 · 康乐县", False),
                                             (str(province["namesake"].id), "附城镇 · 和政县", False)]
    assert total(found) == 1
    assert total(client.get("/records/?township=景古").get_data(as_text=True)) == 0
    # by division code: a county's code finds its townships; a wildcard is a character
    by_code = client.get(f"/records/?township={other_town.code}").get_data(as_text=True)
    assert [v for v, _l, _s in options(by_code, "township_id")][1:] == [str(other_town.id)]
    assert len(options(client.get("/records/?township=622923").get_data(as_text=True), "township_id")) \
        == 1 + views.MATCHES_SHOWN
    assert options(client.get("/records/?township=%25").get_data(as_text=True), "township_id")[1:] == []
    # the township chosen survives another search, and offers its villages
    chosen = client.get(f"/records/?township=景古&township_id={town.id}").get_data(as_text=True)
    assert [(v, label, sel) for v, label, sel in options(chosen, "township_id")][1:] == [
        (str(town.id), "附城镇 · 康乐县", True), (str(other_town.id), "景古镇 · 康乐县", False)]
    assert [label for _v, label, _s in options(chosen, "village_id")][1:] == ["第1村", "第2村", "第3村"]
    assert total(chosen) == 1


def test_a_village_link_brings_its_township_in_a_province(client, province):
    village = province["villages"][0]
    linked = client.get(f"/records/?village_id={village.id}").get_data(as_text=True)
    assert options(linked, "township_id") == [("", "全部乡镇", False), (str(province["town"].id), "附城镇 · 康乐县", True)]
    assert (str(village.id), "第1村", True) in options(linked, "village_id") and total(linked) == 1
    # the township changed with the old village still in the form: the village is dropped
    changed = client.get(f"/records/?township=景古&township_id={province['other_town'].id}"
                         f"&village_id={village.id}").get_data(as_text=True)
    assert total(changed) == 0 and [label for _v, label, _s in options(changed, "village_id")][1:] == ["景古村"]


def test_a_township_search_asks_as_often_with_twice_the_townships(client, province):
    from tests.test_query_counts import counting

    url = f"/records/?township=第&township_id={province['town'].id}&village_id={province['villages'][0].id}"

    def statements() -> int:
        assert client.get(url).status_code == 200  # warm-up
        with counting() as sent:
            page = client.get(url).get_data(as_text=True)
        assert len(options(page, "township_id")) == 1 + views.MATCHES_SHOWN + 1  # the matches and the chosen
        return len(sent)

    before = statements()
    add_townships(province["county"], 200, start=200)
    assert statements() == before
