"""The case pages: Chinese by default, search, filters, pages of results."""

import re

import pytest
import time_machine

from reliefsvc.cases import service
from reliefsvc.cases.models import CaseStatus
from tests.cases.conftest import NOW

#: English messages of the case pages that must not show on a Chinese page.
ENGLISH = ["Household number", "Head of household", "Monitoring alerts", "Categories", "Check due by",
           "Discovered households", "Report a household in need", "Household members", "No households match"]


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def registry(create_case, place):
    """Five households across two townships; one overdue red alert, one deceased 特困 head."""
    cases = [
        create_case("H001", head_name="马建国", categories=("dibao",)),
        create_case("H002", head_name="李秀兰", categories=("dibao", "jiance")),
        create_case("H003", head_name="王德胜", categories=("tekun",), household_size=1,
                    status=CaseStatus.DECEASED, status_changed_on=NOW.date().replace(month=10)),
        create_case("H004", head_name="韩春花", village=place.neighbour, categories=("bianyuan",)),
        create_case("H005", head_name="马玉梅", village=place.far_village, categories=("jiance",)),
    ]
    service.issue_alert(cases[1], "red", NOW.replace(day=19, hour=6))
    service.issue_alert(cases[4], "yellow", NOW.replace(hour=6), note="因病住院")
    return cases


def refs(page: str) -> list[str]:
    return re.findall(r'class="font-monospace">(H\d{3})</a>', page)


def test_pages_render_in_chinese(client, login, create_user, create_provider_user, registry, discovery):
    _provider, worker = create_provider_user()
    found = service.discover_case(discovery(), worker)
    login(create_user("officer"))
    pages = {
        "/cases/": ["救助家庭", "户编号", "户主", "救助类别", "低保", "监测对象", "特困", "死亡", "红色", "已超期", "附城镇 · 马家集村"],
        f"/cases/{registry[1].id}": ["家庭成员", "监测预警", "核查期限", "已超期", "红色", "2026年11月20日 06:00"],
        "/cases/alerts": ["监测预警", "红色预警须在 24 小时内", "已超期 4 小时", "还剩 6 天", "因病住院"],
        "/cases/discoveries": ["主动发现的家庭", "待确认", found.case_ref],
        f"/cases/{found.id}": ["主动发现", "发现的困难", "确认纳入名册", "独居老人"],
        "/cases/import": ["导入救助家庭", "按户编号匹配"],
    }
    for url, words in pages.items():
        page = client.get(url).get_data(as_text=True)
        for word in words:
            assert word in page, (url, word)
        for english in ENGLISH:
            assert english not in page, (url, english)
    nav = client.get("/").get_data(as_text=True)
    assert re.search(r'data-endpoint="cases.index"[^>]*>救助家庭', nav) and 'data-endpoint="cases.discoveries"' in nav
    login(worker)
    form = client.get("/cases/discover").get_data(as_text=True)
    for word in ("报告困难家庭", "户主身份证号", "发现了什么困难？", "可能适用的救助", "使用我的位置", "提交报告"):
        assert word in form
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in form
    assert 'data-endpoint="cases.discover"' in client.get("/").get_data(as_text=True)


def test_search_by_name_number_and_village(client, login, create_user, registry):
    login(create_user("inspector"))
    assert refs(client.get("/cases/?q=玉梅").get_data(as_text=True)) == ["H005"]
    # "马" is in a head's name and in the name of the village 马家集村
    assert refs(client.get("/cases/?q=马").get_data(as_text=True)) == ["H001", "H002", "H003", "H005"]
    assert refs(client.get("/cases/?q=H00").get_data(as_text=True)) == ["H001", "H002", "H003", "H004", "H005"]
    assert refs(client.get("/cases/?q=白家湾").get_data(as_text=True)) == ["H004"]
    assert refs(client.get("/cases/?q=%25").get_data(as_text=True)) == []  # a % is a character, not a wildcard


@pytest.mark.parametrize("query,expected", [
    ("category=jiance", ["H002", "H005"]),
    ("category=tekun&status=deceased", ["H003"]),
    ("status=active", ["H001", "H002", "H004", "H005"]),
    ("alert=open", ["H002", "H005"]),
    ("alert=red", ["H002"]),
    ("alert=overdue", ["H002"]),
    ("alert=none", ["H001", "H003", "H004"]),
    ("township={other}", ["H005"]),
    ("township={town}&category=dibao", ["H001", "H002"]),
    ("discovery=imported", ["H001", "H002", "H003", "H004", "H005"]),
    ("discovery=pending", []),
])
def test_filters(query, expected, client, login, create_user, registry, place):
    login(create_user("evaluator"))
    url = "/cases/?" + query.format(other=place.other_township.id, town=place.township.id)
    assert refs(client.get(url).get_data(as_text=True)) == expected


def test_pages_of_results_keep_the_filters(app, monkeypatch, client, login, create_user, registry):
    monkeypatch.setitem(app.config, "PAGE_SIZE", 2)
    login(create_user("officer"))
    first = client.get("/cases/?status=active").get_data(as_text=True)
    assert refs(first) == ["H001", "H002"] and "4 户" in first
    assert "/cases/?status=active&amp;page=2" in first
    assert refs(client.get("/cases/?status=active&page=2").get_data(as_text=True)) == ["H004", "H005"]
    assert refs(client.get("/cases/?status=active&page=9").get_data(as_text=True)) == []


def test_the_alerts_of_a_provider_are_those_it_may_see(client, login, create_provider_user, registry, discovery,
                                                       no_contract_scope):
    _provider, worker = create_provider_user()
    own = service.discover_case(discovery(), worker)
    service.issue_alert(own, "orange", NOW.replace(hour=8))
    login(worker)
    page = client.get("/cases/alerts").get_data(as_text=True)
    assert page.count("data-alert=") == 1 and own.case_ref in page
    assert refs(client.get("/cases/").get_data(as_text=True)) == []
