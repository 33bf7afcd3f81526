from datetime import date

import pytest

from reliefsvc.contracts import rules


def test_term_rules():
    assert rules.term_problems(date(2026, 1, 1), date(2026, 12, 31)) == []
    assert rules.term_problems(date(2026, 1, 1), date(2028, 12, 31)) == []
    assert "不得超过 3 年" in rules.term_problems(date(2026, 1, 1), date(2029, 1, 1))[0].zh
    assert "晚于开始日期" in rules.term_problems(date(2026, 5, 1), date(2026, 4, 30))[0].zh
    assert "晚于开始日期" in rules.term_problems(date(2026, 5, 1), date(2026, 5, 1))[0].zh


@pytest.mark.parametrize("title,word", [
    ("康乐县低保审核确认服务", "决定权"), ("民政局窗口劳务派遣项目", "劳务派遣"),
    ("社会救助经办人员招聘", "招聘"), ("公益性岗位购买", "公益性岗位"),
])
def test_what_may_not_be_bought(title, word):
    assert word in rules.forbidden_content(title)


def test_ordinary_titles_pass():
    assert rules.forbidden_content("康乐县社会救助协理服务项目") is None


@pytest.mark.parametrize("day,month,quarter,year", [
    (date(2026, 3, 31), "2026-03", "2026-Q1", "2026"),
    (date(2026, 4, 1), "2026-04", "2026-Q2", "2026"),
    (date(2026, 12, 31), "2026-12", "2026-Q4", "2026"),
])
def test_period_keys(day, month, quarter, year):
    assert (rules.period_key("month", day), rules.period_key("quarter", day), rules.period_key("year", day)) == \
        (month, quarter, year)


def test_months_and_bounds():
    assert rules.months_of("quarter", "2026-Q4") == ["2026-10", "2026-11", "2026-12"]
    assert len(rules.months_of("year", "2026")) == 12
    assert rules.period_bounds("quarter", "2026-Q4") == (date(2026, 10, 1), date(2027, 1, 1))
    assert rules.periods_in_term("quarter", date(2026, 2, 15), date(2027, 2, 14)) == \
        ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4", "2027-Q1"]


def test_traffic_light_uses_the_pace():
    assert rules.traffic_light(5, 10, 0.5).colour == "green"
    assert rules.traffic_light(4, 10, 0.5).colour == "amber"
    assert rules.traffic_light(3, 10, 0.5).colour == "red"
    assert rules.traffic_light(0, 10, 0).colour == "grey"
    assert rules.traffic_light(12, 10, 1).share == 1.2


def test_a_period_cut_short_by_the_term_owes_its_share():
    assert rules.term_coverage("month", "2026-11", date(2026, 11, 28), date(2027, 11, 27)) == 3 / 30
    assert rules.period_target(20, 3 / 30) == 2
    assert rules.period_target(20, 1.0) == 20
    assert rules.period_target(3, 0.01) == 1
    assert rules.term_coverage("quarter", "2026-Q1", date(2026, 1, 1), date(2026, 12, 31)) == 1.0


def test_months_between_crosses_the_year_and_takes_both_ends():
    assert rules.months_between(date(2026, 11, 15), date(2027, 1, 2)) == ["2026-11", "2026-12", "2027-01"]
    assert rules.months_between(date(2026, 4, 1), date(2026, 3, 15)) == []
    assert rules.months_between(date(2026, 3, 1), date(2026, 3, 1)) == ["2026-03"]
