"""Scores and grades at the edges, in the pure rules."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from reliefsvc.assessments import rules


@pytest.mark.parametrize("total,grade", [
    ("100", "excellent"), ("90", "excellent"), ("90.00", "excellent"), ("89.99", "good"), ("80", "good"),
    ("79.99", "pass"), ("60", "pass"), ("59.99", "fail"), ("0", "fail"),
])
def test_grade_edges(total, grade):
    assert rules.grade(D(total)) == grade


def test_grade_edges_of_a_standard():
    edges = rules.GradeEdges(D(85), D(75), D(65))
    assert [rules.grade(D(v), edges) for v in ("85", "84.99", "75", "74.99", "65", "64.99")] == [
        "excellent", "good", "good", "pass", "pass", "fail"]


def test_linear_points_both_ways_and_clamped():
    assert rules.linear_points(D("1"), D(15), D("1"), D("0.6")) == D("15.00")
    assert rules.linear_points(D("1.2"), D(15), D("1"), D("0.6")) == D("15.00")
    assert rules.linear_points(D("0.8"), D(15), D("1"), D("0.6")) == D("7.50")
    assert rules.linear_points(D("0.6"), D(15), D("1"), D("0.6")) == D("0.00")
    assert rules.linear_points(D("0.1"), D(15), D("1"), D("0.6")) == D("0.00")
    # lower is better: flags per hundred records
    assert rules.linear_points(D("2"), D(6), D("2"), D("20")) == D("6.00")
    assert rules.linear_points(D("11"), D(6), D("2"), D("20")) == D("3.00")
    assert rules.linear_points(D("25"), D(6), D("2"), D("20")) == D("0.00")
    assert rules.linear_points(None, D(8), D("1"), D("0.8")) == D("8.00")  # no figure: nothing deducted
    assert rules.linear_points(D("0.9"), D(7), D("1"), D("0.8")) == D("3.50")


def test_deductions_stop_at_zero():
    assert rules.deduction_points(0, D(4), D(1)) == D("4.00")
    assert rules.deduction_points(3, D(4), D(1)) == D("1.00")
    assert rules.deduction_points(9, D(4), D(2)) == D("0.00")


def test_totals_round_half_up_and_consequences():
    assert rules.total([D("33.335"), D("56.66"), None]) == D("90.00")
    assert rules.grade(rules.total([D("59.995")])) == "pass"  # 59.995 rounds to 60.00
    assert rules.consequences("fail", None) == ["warning"]
    assert rules.consequences("fail", "fail") == ["warning", "termination_review"]
    assert rules.consequences("fail", "pass") == ["warning"]
    assert rules.consequences("pass", "fail") == []


def test_periods():
    assert rules.period_bounds("month", "2026-02") == (date(2026, 2, 1), date(2026, 2, 28))
    assert rules.period_bounds("quarter", "2026-Q4") == (date(2026, 10, 1), date(2026, 12, 31))
    assert rules.previous_key("quarter", "2026-Q1") == "2025-Q4"
    assert rules.previous_key("month", "2026-01") == "2025-12"
    assert rules.valid_key("quarter", "2026-Q2") and not rules.valid_key("quarter", "2026-Q5")
    assert not rules.valid_key("month", "2026-13") and not rules.valid_key("month", "2026-5")
