"""Payment maths: grade edges, partial periods, deductions, rounding; fund-use checks."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from reliefsvc.assessments import rules as assessment_rules
from reliefsvc.payments import rules

#: the default payment coefficients of the grades (assessments binding defaults)
COEFFICIENTS = {"excellent": Decimal("1.00"), "good": Decimal("1.00"), "pass": Decimal("0.90"), "fail": Decimal("0.70")}
Q1 = (date(2026, 1, 1), date(2026, 3, 31))


def assessed(total, day_from=Q1[0], day_to=Q1[1], key="2026-Q1"):
    grade = assessment_rules.grade(Decimal(total))
    return rules.Assessed(key, day_from, day_to, assessment_rules.GRADE_ZH[grade], Decimal(total), COEFFICIENTS[grade])


@pytest.mark.parametrize("total,amount", [
    ("90", "10000.00"), ("89.99", "10000.00"), ("80", "10000.00"), ("79.99", "9000.00"),
    ("60", "9000.00"), ("59.99", "7000.00"), ("0", "7000.00")])
def test_amount_at_grade_edges(total, amount):
    comp = rules.compute_instalment(Decimal("10000"), *Q1, [assessed(total)], 0, 0, [])
    assert comp.amount == Decimal(amount)
    assert comp.computed == comp.amount and comp.deductions == 0
    assert [line.kind for line in comp.lines] == ["planned", "result", "total", "to_pay"]


def test_partial_period_pays_only_the_assessed_days():
    # Jan 1 – Jun 30 is 181 days; only Q1 (90 days) is signed, at 合格 (0.90).
    comp = rules.compute_instalment(Decimal("10000"), date(2026, 1, 1), date(2026, 6, 30), [assessed("70")], 0, 0, [])
    assert comp.gross == Decimal("4475.14")  # 10000 × 90/181 × 0.9 = 4475.138…
    unassessed = [line for line in comp.lines if line.kind == "unassessed"]
    assert len(unassessed) == 1 and "91" in unassessed[0].text_zh and unassessed[0].amount == 0


def test_two_assessments_each_pay_their_days():
    a = assessed("95", date(2026, 1, 1), date(2026, 1, 31), "2026-01")
    b = assessed("55", date(2026, 2, 1), date(2026, 2, 28), "2026-02")
    comp = rules.compute_instalment(Decimal("5900"), date(2026, 1, 1), date(2026, 2, 28), [a, b], 0, 0, [])
    # 5900 × 31/59 × 1.00 = 3100.00; 5900 × 28/59 × 0.70 = 1960.00
    assert [line.amount for line in comp.lines if line.kind == "result"] == [Decimal("3100.00"), Decimal("1960.00")]
    assert comp.amount == Decimal("5060.00")


def test_deductions_for_refuted_records_and_missed_obligations():
    shortfalls = [rules.Shortfall("入户走访", "2026-01", 40, 30), rules.Shortfall("入户走访", "2026-02", 40, 40),
                  rules.Shortfall("入户走访", "2026-03", 40, 50)]
    comp = rules.compute_instalment(Decimal("12000"), *Q1, [assessed("92")], 120, 6, shortfalls,
                                    quantity_weight=Decimal("0.25"))
    refuted = next(line for line in comp.lines if line.kind == "refuted")
    missed = next(line for line in comp.lines if line.kind == "missed")
    assert refuted.amount == Decimal("-600.00")  # 12000 × 6/120
    assert missed.amount == Decimal("-250.00")  # 12000 × 0.25 × 10/120 (over-delivery does not offset)
    assert comp.deductions == Decimal("850.00")
    assert comp.amount == comp.computed == Decimal("11150.00")
    assert "2026-01 30/40" in missed.text_zh


def test_deductions_never_exceed_what_the_results_earn():
    comp = rules.compute_instalment(Decimal("1000"), *Q1, [assessed("92")], 10, 10,
                                    [rules.Shortfall("回访", "2026-Q1", 10, 0)], quantity_weight=Decimal(1))
    assert comp.computed == 0 and comp.deductions == comp.gross == Decimal("1000.00")


def test_rounding_is_half_up_to_the_fen_and_totals_are_sums_of_lines():
    assert rules.fen(Decimal("2.675")) == Decimal("2.68")
    assert rules.fen(Decimal("2.665")) == Decimal("2.67")  # not banker's rounding
    assert rules.fen(Decimal("-0.005")) == Decimal("-0.01")
    # 100 × 1/3 × 0.9 = 29.999… → 30.00; 100 × 2/3 × 0.7 = 46.666… → 46.67
    a = assessed("95", date(2026, 1, 1), date(2026, 1, 1), "d1")
    a = rules.Assessed(a.period_key, a.day_from, a.day_to, "合格", Decimal(70), Decimal("0.90"))
    b = rules.Assessed("d2", date(2026, 1, 2), date(2026, 1, 3), "不合格", Decimal(50), Decimal("0.70"))
    comp = rules.compute_instalment(Decimal("100"), date(2026, 1, 1), date(2026, 1, 3), [a, b], 0, 0, [])
    lines = [line.amount for line in comp.lines if line.kind == "result"]
    assert lines == [Decimal("30.00"), Decimal("46.67")]
    assert comp.amount == sum(lines) == Decimal("76.67")


def test_not_linked_contract_pays_the_plan_and_shows_the_gap():
    comp = rules.compute_instalment(Decimal("10000"), *Q1, [assessed("50")], 0, 0, [], linked=False)
    assert comp.amount == Decimal("10000.00") and comp.computed == Decimal("7000.00")
    assert comp.gap_to_results == Decimal("3000.00")
    assert any(line.kind == "gap" and line.amount == Decimal("3000.00") for line in comp.lines)


def test_even_plan_shares_add_up_to_one_and_cover_the_term():
    parts = rules.even_plan(date(2026, 1, 1), date(2026, 12, 31), 3)
    assert sum(p[0] for p in parts) == 1
    assert parts[0][1] == date(2026, 1, 1) and parts[-1][2] == date(2026, 12, 31)
    assert all((b[1] - a[2]).days == 1 for a, b in zip(parts, parts[1:], strict=False))


@pytest.mark.parametrize("text,purpose", [
    ("其他：村组道路硬化配套材料", "路面硬化"), ("人居环境整治", "环境整治"), ("易地搬迁补助", "易地搬迁"),
    ("危房改造材料费", "危房改造"), ("Road hardening in the village", "路面硬化"), ("入户走访交通补贴", None),
    ("协理员工资", None)])
def test_forbidden_purposes_are_recognised(text, purpose):
    found = rules.forbidden_purpose(text)
    assert (found[0] if found else None) == purpose


def line(category, purpose, amount, receipts=1):
    return rules.SpendLine(category, purpose, Decimal(amount), receipts)


def test_fund_use_checks_flag_forbidden_items_fee_share_budget_and_missing_receipts():
    lines = [line("staff", "工资", "8000"), line("other", "其他：道路硬化", "1000", receipts=0),
             line("management_fee", "管理费", "1500")]
    check = rules.check_fund_use(lines, Decimal("0.10"), {"staff": Decimal("7000"), "management_fee": Decimal("5000")},
                                 {"staff": Decimal("8000"), "other": Decimal("1000"), "management_fee": Decimal("1500")},
                                 accepted=40, category_zh={"staff": "人员费用", "other": "其他支出"})
    kinds = sorted(f.kind for f in check.findings)
    assert kinds == ["fee_share", "forbidden", "no_budget", "no_receipt", "over_budget"]
    assert check.fee_share == Decimal("0.1429")
    assert check.total == Decimal("10500") and check.unit_cost == Decimal("262.50")


def test_fee_share_at_the_cap_is_not_flagged():
    check = rules.check_fund_use([line("staff", "工资", "900"), line("management_fee", "管理费", "100")],
                                 Decimal("0.10"), {}, {}, 0, {})
    assert check.findings == [] and check.unit_cost is None


def test_outliers_against_the_median():
    assert rules.outlier(Decimal(250), [Decimal(100), Decimal(110), Decimal(90)]) == Decimal(100)
    assert rules.outlier(Decimal(40), [Decimal(100), Decimal(110), Decimal(90)]) == Decimal(100)
    assert rules.outlier(Decimal(150), [Decimal(100), Decimal(110), Decimal(90)]) is None
    assert rules.outlier(Decimal(500), [Decimal(100)]) is None  # too little history
