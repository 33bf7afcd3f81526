"""Pure rules of the annual evaluation: execution years, due dates, ratings, document numbers.

Plain data in, plain data out: no Flask, no session.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

#: The three dimensions of section 十四, in the order the report prints them.
DIMENSIONS = (("management", "项目管理"), ("outcomes", "服务成效"), ("funds", "经费使用"))
DIMENSION_NAMES = dict(DIMENSIONS)
DIMENSION_CODES = tuple(code for code, _name in DIMENSIONS)

RATINGS = ("excellent", "good", "pass", "fail")
RATING_ZH = {"excellent": "优秀", "good": "良好", "pass": "合格", "fail": "不合格"}

DEFAULT_DUE_DAYS = 60
DEFAULT_COMMENT_DAYS = 14


@dataclass(frozen=True)
class ExecutionYear:
    #: 1 for the first year of the term
    number: int
    day_from: date
    #: inclusive
    day_to: date

    @property
    def year(self) -> int:
        """The calendar year the execution year begins in."""
        return self.day_from.year


def _anniversary(start: date, years: int) -> date:
    try:
        return start.replace(year=start.year + years)
    except ValueError:  # 29 February
        return start.replace(year=start.year + years, day=28) + timedelta(days=1)


def execution_years(starts_on: date, ends_on: date) -> list[ExecutionYear]:
    """The execution years of a term, counted from its first day; the last is cut at ``ends_on``."""
    years, n = [], 1
    while True:
        first = _anniversary(starts_on, n - 1)
        if first > ends_on:
            return years
        last = min(_anniversary(starts_on, n) - timedelta(days=1), ends_on)
        years.append(ExecutionYear(n, first, last))
        n += 1


def year_containing(starts_on: date, ends_on: date, day: date) -> ExecutionYear | None:
    return next((y for y in execution_years(starts_on, ends_on) if y.day_from <= day <= y.day_to), None)


def ended_years(starts_on: date, ends_on: date, on: date, ended_early_on: date | None = None) -> list[ExecutionYear]:
    """Execution years that have ended before ``on``. A contract ended early (terminated or
    completed before its term) ends its current year that day."""
    out = []
    for y in execution_years(starts_on, ends_on):
        last = y.day_to
        if ended_early_on is not None and y.day_from <= ended_early_on < y.day_to:
            last = ended_early_on
        elif ended_early_on is not None and ended_early_on < y.day_from:
            break
        if last < on:
            out.append(ExecutionYear(y.number, y.day_from, last))
    return out


def due_on(day_to: date, due_days: int = DEFAULT_DUE_DAYS) -> date:
    return day_to + timedelta(days=due_days)


def is_overdue(due: date, signed: bool, on: date) -> bool:
    """A contract-year without a signed evaluation is overdue the day after its due date."""
    return not signed and on > due


def suggested_rating(scores: list[Decimal | None]) -> str | None:
    """The rating the mean of the dimension scores points to (优秀 ≥ 90, 良好 ≥ 80,
    合格 ≥ 60, 不合格 below); the evaluator may set another with reasons in the summary."""
    present = [Decimal(s) for s in scores if s is not None]
    if len(present) != len(DIMENSIONS):
        return None
    mean = sum(present, Decimal(0)) / len(present)
    if mean >= 90:
        return "excellent"
    if mean >= 80:
        return "good"
    if mean >= 60:
        return "pass"
    return "fail"


def mean_score(scores: list[Decimal | None]) -> Decimal | None:
    present = [Decimal(s) for s in scores if s is not None]
    if not present:
        return None
    return (sum(present, Decimal(0)) / len(present)).quantize(Decimal("0.01"))


def document_number(prefix: str, year: int, serial: int) -> str:
    """康民评〔2026〕3号."""
    return f"{prefix}〔{year}〕{serial}号"


def missing_narratives(dimensions: list[tuple[str, Decimal | None, str]]) -> list[str]:
    """Codes of the dimensions (code, score, narrative) without a score or narrative, and of
    dimensions that are not there at all."""
    given = {code: (score, (narrative or "").strip()) for code, score, narrative in dimensions}
    return [code for code in DIMENSION_CODES if code not in given or given[code][0] is None or not given[code][1]]
