from datetime import date
from decimal import Decimal

from reliefsvc.evaluations import rules


def test_execution_years_are_counted_from_the_start_and_cut_at_the_end():
    years = rules.execution_years(date(2025, 7, 1), date(2027, 3, 31))
    assert [(y.number, y.day_from, y.day_to) for y in years] == [
        (1, date(2025, 7, 1), date(2026, 6, 30)), (2, date(2026, 7, 1), date(2027, 3, 31))]
    assert years[0].year == 2025
    assert rules.execution_years(date(2024, 2, 29), date(2025, 12, 31))[1].day_from == date(2025, 3, 1)


def test_ended_years_and_early_end():
    assert [y.number for y in rules.ended_years(date(2025, 1, 1), date(2026, 12, 31), date(2026, 1, 1))] == [1]
    assert rules.ended_years(date(2025, 1, 1), date(2026, 12, 31), date(2025, 12, 31)) == []
    cut = rules.ended_years(date(2025, 1, 1), date(2026, 12, 31), date(2026, 9, 1), ended_early_on=date(2026, 5, 31))
    assert [(y.number, y.day_to) for y in cut] == [(1, date(2025, 12, 31)), (2, date(2026, 5, 31))]


def test_due_and_overdue():
    due = rules.due_on(date(2025, 12, 31), 60)
    assert due == date(2026, 3, 1)
    assert not rules.is_overdue(due, False, date(2026, 3, 1))
    assert rules.is_overdue(due, False, date(2026, 3, 2))
    assert not rules.is_overdue(due, True, date(2026, 3, 2))


def test_suggested_rating_needs_all_three_scores():
    assert rules.suggested_rating([Decimal(95), Decimal(90), Decimal(86)]) == "excellent"
    assert rules.suggested_rating([Decimal(80), Decimal(80), Decimal(80)]) == "good"
    assert rules.suggested_rating([Decimal(60), Decimal(61), Decimal(59)]) == "pass"
    assert rules.suggested_rating([Decimal(50), Decimal(60), Decimal(59)]) == "fail"
    assert rules.suggested_rating([Decimal(90), None, Decimal(90)]) is None


def test_missing_narratives_and_document_number():
    given = [("management", Decimal(80), "台账完整"), ("outcomes", Decimal(70), "  "), ("funds", None, "x")]
    assert rules.missing_narratives(given) == ["outcomes", "funds"]
    assert rules.missing_narratives(given[:1]) == ["outcomes", "funds"]
    assert rules.document_number("康民评", 2026, 3) == "康民评〔2026〕3号"
