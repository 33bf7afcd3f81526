"""Payment and fund-use maths: plain data in, plain data out (no Flask, no session).

Rounding is stated once, in :func:`fen`: every amount shown on a line of a computation is
rounded half up to the fen (0.01 元), and totals are sums of the lines as shown, so the
page, the ledger and the database agree to the fen.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

FEN = Decimal("0.01")
ZERO = Decimal("0.00")


def fen(value) -> Decimal:
    """The one rounding of money in payments: half up to the fen."""
    return Decimal(value).quantize(FEN, rounding=ROUND_HALF_UP)


def days(day_from: date, day_to: date) -> int:
    """Days from ``day_from`` to ``day_to``, both included (0 when the order is wrong)."""
    return max((day_to - day_from).days + 1, 0)


def overlap(a_from: date, a_to: date, b_from: date, b_to: date) -> int:
    return days(max(a_from, b_from), min(a_to, b_to))


# --- the computation of an instalment ------------------------------------------------------

@dataclass(frozen=True)
class Assessed:
    """A signed assessment as the computation needs it."""

    period_key: str
    day_from: date
    day_to: date
    grade_zh: str
    total: Decimal
    coefficient: Decimal


@dataclass(frozen=True)
class Shortfall:
    """An obligation's ended period within the instalment's period: target and delivered."""

    name: str
    period_key: str
    target: int
    delivered: float


@dataclass(frozen=True)
class Line:
    #: "planned", "result", "unassessed", "refuted", "missed", "gap", "total", "to_pay"
    kind: str
    text_zh: str
    text_en: str
    amount: Decimal

    def as_dict(self) -> dict:
        return {**asdict(self), "amount": str(self.amount)}


@dataclass
class Computation:
    planned: Decimal
    gross: Decimal = ZERO
    deductions: Decimal = ZERO
    #: what the results justify: gross less deductions
    computed: Decimal = ZERO
    #: what to pay: the computed amount, or the planned one when payment is not linked to results
    amount: Decimal = ZERO
    linked: bool = True
    lines: list[Line] = field(default_factory=list)

    @property
    def gap_to_results(self) -> Decimal:
        return self.amount - self.computed


def compute_instalment(planned: Decimal, period_from: date, period_to: date, assessed: list[Assessed],
                       delivered: int, refuted: int, shortfalls: list[Shortfall], linked: bool = True,
                       quantity_weight: Decimal = Decimal("0.25")) -> Computation:
    """What an instalment's period of work justifies.

    1. Each signed assessment pays the planned amount for the days of the period it covers,
       times its grade's coefficient: planned × covered days ÷ period days × coefficient.
    2. Days no signed assessment covers earn nothing yet (they are paid once assessed).
    3. Refuted records (spot checks found the service was not delivered) take their share
       off: gross × refuted ÷ delivered records of the period.
    4. Missed obligations take the missing share of the target off the part of the payment
       that rests on quantity: gross × quantity weight × units short ÷ units due, over the
       obligation periods that ended inside the instalment's period (the assessment's
       grade already weighs quantity among the rest, so the weight keeps this in proportion).
    Deductions never exceed the gross. When payment is not linked to the results the
    planned amount is paid and the gap to the results is shown instead.
    """
    planned = fen(planned)
    comp = Computation(planned=planned, linked=linked)
    total_days = days(period_from, period_to)
    comp.lines.append(Line("planned", f"计划金额（{period_from.isoformat()} 至 {period_to.isoformat()}，{total_days} 天）",
                           f"Planned amount ({period_from.isoformat()} to {period_to.isoformat()}, {total_days} days)",
                           planned))
    covered = 0
    for a in assessed:
        n = overlap(a.day_from, a.day_to, period_from, period_to)
        if n <= 0:
            continue
        covered += n
        amount = fen(planned * n / total_days * a.coefficient)
        comp.lines.append(Line(
            "result",
            f"{a.period_key} 考核 {a.grade_zh}（{a.total} 分），系数 {a.coefficient}：{planned} × {n}/{total_days} × {a.coefficient}",
            f"{a.period_key} assessment {a.grade_zh} ({a.total} points), coefficient {a.coefficient}: "
            f"{planned} × {n}/{total_days} × {a.coefficient}", amount))
    if covered < total_days:
        comp.lines.append(Line("unassessed", f"尚无已签发考核的 {total_days - covered} 天：暂不支付",
                               f"{total_days - covered} days without a signed assessment: nothing paid yet", ZERO))
    gross = sum((line.amount for line in comp.lines if line.kind == "result"), ZERO)
    comp.gross = gross
    deductions = ZERO
    if refuted > 0 and delivered > 0:
        d = fen(gross * refuted / delivered)
        deductions += d
        comp.lines.append(Line("refuted", f"抽查否定的服务记录 {refuted} 条 / 本期记录 {delivered} 条：扣减 {gross} × {refuted}/{delivered}",
                               f"Refuted records {refuted} of {delivered}: deduct {gross} × {refuted}/{delivered}", -d))
    due = sum(s.target for s in shortfalls)
    short = sum(max(s.target - s.delivered, 0) for s in shortfalls)
    if due > 0 and short > 0:
        short_text = _plain(short)
        w = _plain(quantity_weight)
        d = fen(gross * quantity_weight * Decimal(str(short)) / due)
        deductions += d
        detail = "；".join(f"{s.name} {s.period_key} {_plain(s.delivered)}/{s.target}"
                          for s in shortfalls if s.delivered < s.target)
        comp.lines.append(Line("missed", f"未完成的合同义务（{detail}）：短缺 {short_text} / 应完成 {due}，"
                                         f"扣减 {gross} × 数量权重 {w} × {short_text}/{due}",
                               f"Missed obligations ({detail}): {short_text} short of {due}, "
                               f"deduct {gross} × quantity weight {w} × {short_text}/{due}", -d))
    if deductions > gross:
        comp.lines.append(Line("cap", "扣减不超过考核结果金额", "Deductions never exceed the amount the results earn",
                               deductions - gross))
        deductions = gross
    comp.deductions = deductions
    comp.computed = gross - deductions
    comp.lines.append(Line("total", "按结果应付", "What the results justify", comp.computed))
    if linked:
        comp.amount = comp.computed
    else:
        comp.amount = planned
        comp.lines.append(Line("gap", f"本合同付款不与考核结果挂钩：按计划支付 {planned}，比结果多 {planned - comp.computed}",
                               f"Payment is not linked to results: the planned {planned} is paid, "
                               f"{planned - comp.computed} more than the results justify", planned - comp.computed))
    comp.lines.append(Line("to_pay", "拟支付金额", "Amount to pay", comp.amount))
    return comp


def _plain(value) -> str:
    value = Decimal(str(value))
    return str(value.quantize(Decimal(1))) if value == value.to_integral() else str(value.normalize())


def even_plan(starts_on: date, ends_on: date, count: int) -> list[tuple[Decimal, date, date]]:
    """Split a term into ``count`` instalments of (nearly) equal length: (share, from, to).

    The shares are rounded to 0.0001 and the last one takes the remainder, so they add up to 1.
    """
    if count < 1:
        raise ValueError("count must be at least 1")
    total = days(starts_on, ends_on)
    out, start, given = [], starts_on, Decimal(0)
    for i in range(count):
        end = ends_on if i == count - 1 else starts_on + timedelta(days=round(total * (i + 1) / count) - 1)
        share = Decimal(1) - given if i == count - 1 else (Decimal(1) / count).quantize(Decimal("0.0001"))
        given += share
        out.append((share, start, end))
        start = end + timedelta(days=1)
    return out


# --- fund use ------------------------------------------------------------------------------

#: Purposes the notice forbids for assistance funds (section 七): words a provider might
#: write, and the purpose they stand for.
FORBIDDEN_PURPOSES = {
    "搬迁": ("易地搬迁", "relocation"),
    "relocat": ("易地搬迁", "relocation"),
    "环境整治": ("环境整治", "environmental improvement"),
    "人居环境": ("环境整治", "environmental improvement"),
    "environmental improvement": ("环境整治", "environmental improvement"),
    "危房": ("危房改造", "dangerous-house repair"),
    "dangerous hous": ("危房改造", "dangerous-house repair"),
    "dilapidated": ("危房改造", "dangerous-house repair"),
    "硬化": ("路面硬化", "road hardening"),
    "road harden": ("路面硬化", "road hardening"),
    "paving": ("路面硬化", "road hardening"),
}


def forbidden_purpose(text: str) -> tuple[str, str] | None:
    """The forbidden purpose (zh, en) ``text`` describes, or None."""
    lowered = (text or "").lower().replace(" ", "")
    for word, purpose in FORBIDDEN_PURPOSES.items():
        if word.replace(" ", "") in lowered:
            return purpose
    return None


@dataclass(frozen=True)
class SpendLine:
    category: str
    purpose: str
    amount: Decimal
    receipts: int


@dataclass(frozen=True)
class Finding:
    #: "forbidden", "fee_share", "over_budget", "no_budget", "no_receipt"
    kind: str
    text_zh: str
    text_en: str
    #: index of the line in the report it concerns, or None for the whole report
    line: int | None = None


@dataclass
class FundUseCheck:
    total: Decimal
    by_category: dict[str, Decimal]
    findings: list[Finding]
    fee_share: Decimal | None
    #: category → (budget, spent to date) where a budget is set
    budget_use: dict[str, tuple[Decimal, Decimal]]
    unit_cost: Decimal | None


def check_fund_use(lines: list[SpendLine], fee_cap: Decimal, budget: dict[str, Decimal],
                   spent_to_date: dict[str, Decimal], accepted: int, category_zh: dict[str, str]) -> FundUseCheck:
    """The checks of one fund-use report.

    ``spent_to_date`` is what the contract's reports up to and including this one spent by
    category; ``accepted`` the services accepted in the report's period.
    """
    findings: list[Finding] = []
    by_category: dict[str, Decimal] = {}
    for i, line in enumerate(lines):
        by_category[line.category] = by_category.get(line.category, ZERO) + line.amount
        purpose = forbidden_purpose(line.purpose)
        if purpose is not None:
            findings.append(Finding("forbidden", f"用途“{line.purpose}”属于救助资金不得用于的领域：{purpose[0]}",
                                    f"The purpose \u201c{line.purpose}\u201d is one the funds may not be used for: "
                                    f"{purpose[1]}", i))
        if line.amount > 0 and line.receipts == 0:
            findings.append(Finding("no_receipt", f"“{line.purpose}”没有票据", f"\u201c{line.purpose}\u201d has no receipt", i))
    total = sum(by_category.values(), ZERO)
    fee = by_category.get("management_fee", ZERO)
    fee_share = (fee / total).quantize(Decimal("0.0001")) if total > 0 else None
    if fee_share is not None and fee_share > fee_cap:
        findings.append(Finding("fee_share", f"管理费占 {fee_share * 100:.1f}%，超过合同上限 {fee_cap * 100:.1f}%",
                                f"The management fee is {fee_share * 100:.1f}%, above the cap of {fee_cap * 100:.1f}%"))
    budget_use = {}
    if budget:
        for category, spent in spent_to_date.items():
            if category not in by_category:
                continue
            allowed = budget.get(category)
            if allowed is None or allowed <= 0:
                findings.append(Finding("no_budget", f"{category_zh.get(category, category)}不在预算内",
                                        f"{category} is not in the budget"))
                continue
            budget_use[category] = (allowed, spent)
            if spent > allowed:
                findings.append(Finding("over_budget", f"{category_zh.get(category, category)}累计支出 {spent} 元，超过预算 {allowed} 元",
                                        f"{category}: {spent} spent to date, above the budget of {allowed}"))
    unit_cost = fen(total / accepted) if accepted > 0 and total > 0 else None
    return FundUseCheck(total=total, by_category=by_category, findings=findings, fee_share=fee_share,
                        budget_use=budget_use, unit_cost=unit_cost)


# --- anomalies (section 八) ------------------------------------------------------------------

#: A value this many times above (or below one over) its baseline is an outlier.
OUTLIER_FACTOR = Decimal(2)


def outlier(value: Decimal, baseline: list[Decimal], factor: Decimal = OUTLIER_FACTOR) -> Decimal | None:
    """The baseline (median of ``baseline``) when ``value`` is an outlier against it, else None.

    At least two earlier figures are needed; a zero baseline makes no comparison."""
    if len(baseline) < 2:
        return None
    median = Decimal(statistics.median(baseline))
    if median <= 0:
        return None
    if value > median * factor or value < median / factor:
        return median
    return None
