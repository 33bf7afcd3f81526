"""Pure assessment arithmetic: points from figures, totals, grades, consequences, periods.

No Flask, no session: plain values in, plain values out, so that the grade edges can be
tested on their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")

#: Computed indicators: key -> (Chinese name, what the figure is, the source it is read from)
COMPUTED = {
    "obligation_completion": ("服务义务完成率", "ratio", "合同服务义务与服务记录（进度计数）"),
    "accepted_share": ("服务记录审核通过率", "ratio", "服务记录审核结果"),
    "spotcheck_confirmation": ("随机抽查确认率", "ratio", "随机抽查结果"),
    "alert_checks_on_time": ("监测预警按时核查率", "ratio", "监测预警及核查记录"),
    "flags_per_hundred": ("每百条记录疑点数", "number", "数据核查疑点"),
    "rectifications_on_time": ("整改按期完成率", "ratio", "整改通知"),
}

#: Deductions per event: key -> (Chinese name, the source it is read from)
DEDUCTIONS = {
    "refuted_spot_check": ("抽查否定的服务记录", "随机抽查（服务记录被否定）"),
    "missed_red_alert": ("红色预警未按时核查", "监测预警及核查记录"),
    "inspection_finding": ("实地考察发现的问题", "实地考察记录"),
    "overdue_rectification": ("逾期未完成的整改项", "整改通知"),
}

GRADES = ("excellent", "good", "pass", "fail")
GRADE_ZH = {"excellent": "优秀", "good": "良好", "pass": "合格", "fail": "不合格"}


def money_round(value: Decimal) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def linear_points(value: Decimal | None, max_points: Decimal, full_at: Decimal, zero_at: Decimal) -> Decimal:
    """Full points at ``full_at`` or better, none at ``zero_at`` or worse, linear between.

    Works both ways: higher is better when full_at > zero_at (a completion rate), lower is
    better when full_at < zero_at (flags per hundred records). No figure: full points
    (nothing to hold against the provider), and the page says so.
    """
    if value is None:
        return money_round(max_points)
    value, full_at, zero_at = Decimal(value), Decimal(full_at), Decimal(zero_at)
    if full_at == zero_at:
        share = Decimal(1) if value == full_at else Decimal(0)
    else:
        share = (value - zero_at) / (full_at - zero_at)
    share = min(max(share, Decimal(0)), Decimal(1))
    return money_round(max_points * share)


def deduction_points(events: int, max_points: Decimal, per_event: Decimal) -> Decimal:
    """``max_points`` less ``per_event`` for each event, never below zero."""
    return money_round(max(Decimal(max_points) - Decimal(per_event) * events, Decimal(0)))


def total(points: list[Decimal | None]) -> Decimal:
    return money_round(sum((Decimal(p) for p in points if p is not None), Decimal(0)))


@dataclass(frozen=True)
class GradeEdges:
    excellent_from: Decimal = Decimal(90)
    good_from: Decimal = Decimal(80)
    pass_from: Decimal = Decimal(60)


def grade(total_points: Decimal, edges: GradeEdges = GradeEdges()) -> str:
    """优秀 ≥ 90, 良好 80 to under 90, 合格 60 to under 80, 不合格 under 60 (by default)."""
    value = Decimal(total_points)
    if value >= edges.excellent_from:
        return "excellent"
    if value >= edges.good_from:
        return "good"
    if value >= edges.pass_from:
        return "pass"
    return "fail"


def consequences(this_grade: str, previous_grade: str | None) -> list[str]:
    """不合格 draws a warning; two 不合格 in a row a termination review."""
    found = []
    if this_grade == "fail":
        found.append("warning")
        if previous_grade == "fail":
            found.append("termination_review")
    return found


# --- periods ----------------------------------------------------------------------------

def period_key(period: str, day: date) -> str:
    if period == "month":
        return f"{day.year:04d}-{day.month:02d}"
    return f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}"


def period_bounds(period: str, key: str) -> tuple[date, date]:
    """First and last day (inclusive) of "2026-05" or "2026-Q2"."""
    year = int(key[:4])
    if period == "month":
        first_month = last_month = int(key[5:7])
    else:
        quarter = int(key[-1])
        first_month, last_month = 3 * quarter - 2, 3 * quarter
    first = date(year, first_month, 1)
    after = date(year + (last_month == 12), last_month % 12 + 1, 1)
    return first, after - timedelta(days=1)


def previous_key(period: str, key: str) -> str:
    first, _last = period_bounds(period, key)
    return period_key(period, first - timedelta(days=1))


def valid_key(period: str, key: str) -> bool:
    try:
        period_bounds(period, key)
    except (ValueError, IndexError):
        return False
    return period_key(period, period_bounds(period, key)[0]) == key
