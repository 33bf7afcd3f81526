"""Pure rules of contracts: terms, periods, what may not be bought, progress lights."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

MAX_TERM_YEARS = 3

#: Words in a contract's title or an obligation that show it buys what may not be bought:
#: decision powers stay with the government, and the purchaser's own hiring, labour
#: dispatch and public-welfare posts are not services (财政部令第102号 第十条).
FORBIDDEN_CONTENT = {
    "审核确认": "审核确认等决定权属于政府职责，不得购买",
    "审批": "审批决定属于政府职责，不得购买",
    "劳务派遣": "劳务派遣不属于政府购买服务内容（财政部令第102号第十条）",
    "招聘": "购买主体自身的人员招聘不属于政府购买服务内容（财政部令第102号第十条）",
    "合同工": "以购买服务名义聘用合同工属于变相用工，不得购买",
    "公益性岗位": "公益性岗位不属于政府购买服务内容（财政部令第102号第十条）",
}


@dataclass(frozen=True)
class Problem:
    field: str
    zh: str
    en: str


def term_problems(starts_on: date | None, ends_on: date | None) -> list[Problem]:
    problems = []
    if starts_on is None or ends_on is None:
        return [Problem("starts_on", "须填写开始和结束日期", "start and end dates are required")]
    if ends_on <= starts_on:
        problems.append(Problem("ends_on", "结束日期须晚于开始日期", "ends_on must be after starts_on"))
    else:
        try:
            limit = starts_on.replace(year=starts_on.year + MAX_TERM_YEARS)
        except ValueError:  # 29 February
            limit = starts_on.replace(year=starts_on.year + MAX_TERM_YEARS, day=28)
        if ends_on >= limit:
            problems.append(Problem("ends_on", f"合同期限不得超过 {MAX_TERM_YEARS} 年",
                                    f"the term may not exceed {MAX_TERM_YEARS} years"))
    return problems


def forbidden_content(text: str) -> str | None:
    """The reason why ``text`` describes something that may not be bought, if it does."""
    for word, reason in FORBIDDEN_CONTENT.items():
        if word in (text or ""):
            return reason
    return None


# --- periods ---------------------------------------------------------------------------------

def month_key(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def months_between(day_from: date, day_to: date) -> list[str]:
    """The month keys (YYYY-MM) from ``day_from``'s month to ``day_to``'s, both included."""
    months, day = [], day_from.replace(day=1)
    while day <= day_to:
        months.append(month_key(day))
        day = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    return months


def period_key(period: str, day: date) -> str:
    if period == "month":
        return month_key(day)
    if period == "quarter":
        return f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}"
    return f"{day.year:04d}"


def months_of(period: str, key: str) -> list[str]:
    """The month keys a period key covers: "2026-Q4" → ["2026-10", "2026-11", "2026-12"]."""
    if period == "month":
        return [key]
    year = int(key[:4])
    if period == "quarter":
        quarter = int(key[-1])
        return [f"{year:04d}-{m:02d}" for m in range(3 * quarter - 2, 3 * quarter + 1)]
    return [f"{year:04d}-{m:02d}" for m in range(1, 13)]


def period_bounds(period: str, key: str) -> tuple[date, date]:
    months = months_of(period, key)
    first = date(int(months[0][:4]), int(months[0][5:]), 1)
    last_year, last_month = int(months[-1][:4]), int(months[-1][5:])
    end = date(last_year + (last_month == 12), last_month % 12 + 1, 1)
    return first, end  # [first, end)


def periods_in_term(period: str, starts_on: date, ends_on: date) -> list[str]:
    keys, day = [], starts_on.replace(day=1)
    while day <= ends_on:
        key = period_key(period, day)
        if key not in keys:
            keys.append(key)
        day = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    return keys


def elapsed_share(period: str, key: str, today: date, starts_on: date, ends_on: date) -> float:
    """How much of a period (within the term) has passed: 0 before, 1 after."""
    first, end = period_bounds(period, key)
    first, end = max(first, starts_on), min(end, date.fromordinal(ends_on.toordinal() + 1))
    if today < first:
        return 0.0
    if today >= end:
        return 1.0
    return (today.toordinal() - first.toordinal() + 1) / (end.toordinal() - first.toordinal())


def term_coverage(period: str, key: str, starts_on: date, ends_on: date) -> float:
    """The share of a period that lies within the contract term (a term that starts on
    28 November covers 3/30 of November)."""
    first, end = period_bounds(period, key)
    inside_first, inside_end = max(first, starts_on), min(end, date.fromordinal(ends_on.toordinal() + 1))
    days = (end - first).days
    return max(0, (inside_end - inside_first).days) / days if days else 0.0


def period_target(target: int, coverage: float) -> int:
    """The target of a period cut short by the term: in proportion, rounded up, at least 1."""
    if coverage >= 1:
        return target
    return max(1, -(-round(target * coverage * 1000) // 1000))


@dataclass(frozen=True)
class Light:
    #: green (on target or on pace), amber (behind by up to 20 %), red (further behind),
    #: grey (period not started)
    colour: str
    share: float  # delivered / target
    pace: float  # delivered / (target x elapsed share)


def traffic_light(delivered: float, target: float, elapsed: float) -> Light:
    share = delivered / target if target else 0.0
    if elapsed <= 0:
        return Light("grey", share, 0.0)
    pace = delivered / (target * elapsed) if target else 0.0
    colour = "green" if pace >= 1.0 else ("amber" if pace >= 0.8 else "red")
    return Light(colour, share, pace)


#: Indicators that are shares (shown as percentages).
SHARE_INDICATORS = {"obligation_completion", "accepted_share", "refuted_share"}

#: Performance indicators computed from the platform's data: code → how (shown on the page).
INDICATORS = {
    "obligation_completion": "各项服务义务完成量之和 ÷ 截至当期的目标量之和",
    "accepted_share": "经审核通过的服务记录数 ÷ 已审核的服务记录数",
    "refuted_share": "抽查认定未提供服务的记录数 ÷ 提交的服务记录数",
    "households_served": "有服务记录的不同家庭户数",
    "cost_per_record": "合同金额 × 已过合同期比例 ÷ 未被退回的服务记录数（元/条）",
    "service_hours": "未被退回的服务记录时长合计（小时）",
}
