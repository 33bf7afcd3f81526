"""Payment plans, the computation of instalments from results, the two-person approval,
disbursements, fund-use reports and their checks, and the monthly anomaly list.

Services flush, never commit. For later issues: :func:`payment_summary`.
"""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa

from reliefsvc import audit
from reliefsvc.assessments import rules as assessment_rules
from reliefsvc.assessments import service as assessments
from reliefsvc.common.errors import BilingualError
from reliefsvc.common.formatting import LOCAL_TZ, today_local
from reliefsvc.contracts import progress
from reliefsvc.contracts import rules as contract_rules
from reliefsvc.contracts.models import Contract, ContractStatus, MonthCase, MonthCounter
from reliefsvc.db import utcnow
from reliefsvc.evidence import content, get_storage
from reliefsvc.extensions import db
from reliefsvc.notifications import service as notifications
from reliefsvc.payments import events, rules
from reliefsvc.payments.models import (
    DEFAULT_FEE_CAP,
    DEFAULT_QUANTITY_WEIGHT,
    Category,
    Disbursement,
    EntryKind,
    EntryStatus,
    FundReceipt,
    FundUseLine,
    FundUseReport,
    Instalment,
    PaymentAnomaly,
    PaymentEntry,
    PaymentSettings,
    ReportStatus,
)
from reliefsvc.providers.models import Provider
from reliefsvc.security.models import BUREAU_ROLES, Role, User

#: Receipts are scans or photos: at most this many bytes each.
MAX_RECEIPT_BYTES = 10 * 1024 * 1024
CATEGORY_ZH = {"staff": "人员费用", "travel": "交通差旅", "materials": "物资材料", "training": "培训",
               "management_fee": "管理费", "other": "其他支出"}


class PaymentError(BilingualError):
    """A payment or fund-use operation that cannot be done."""


def today() -> date:
    return today_local()


def _money(value, field: str = "amount") -> Decimal:
    try:
        amount = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        raise PaymentError("金额格式不正确", "the amount is not a number", field) from None
    if not amount.is_finite() or amount < 0:
        raise PaymentError("金额不能为负数", "the amount cannot be negative", field)
    if amount != rules.fen(amount):
        raise PaymentError("金额最多两位小数（到分）", "amounts go to the fen: at most two decimals", field)
    return amount


def _officer(user: User) -> None:
    if user is None or user.role is not Role.OFFICER:
        raise PaymentError("只有采购经办人员可以办理支付", "only officers decide payments")


# --- settings and plan ---------------------------------------------------------------------

def settings_for(contract: Contract) -> PaymentSettings:
    """The contract's settings (defaults when none were saved; not added to the session)."""
    found = db.session.get(PaymentSettings, contract.id)
    return found or PaymentSettings(contract_id=contract.id, fee_cap=DEFAULT_FEE_CAP,
                                    quantity_weight=DEFAULT_QUANTITY_WEIGHT, budget={})


def _share(value, field: str) -> Decimal:
    try:
        share = Decimal(str(value)).quantize(Decimal("0.0001"))
    except (InvalidOperation, ValueError):
        raise PaymentError("比例格式不正确", "the share is not a number", field) from None
    if not (0 <= share <= 1):
        raise PaymentError("比例应在 0 到 100% 之间", "the share must be between 0 and 100 %", field)
    return share


def save_settings(contract: Contract, fee_cap, budget: dict, user: User,
                  quantity_weight=DEFAULT_QUANTITY_WEIGHT) -> PaymentSettings:
    """The management-fee cap and the quantity weight (shares, 0.10 = 10 %) and the budget
    of the term by category."""
    _officer(user)
    cap, weight = _share(fee_cap, "fee_cap"), _share(quantity_weight, "quantity_weight")
    clean = {}
    for key, value in (budget or {}).items():
        if key not in {c.value for c in Category}:
            raise PaymentError("未知的支出类别", f"unknown category {key}")
        if value not in (None, ""):
            clean[key] = str(_money(value, key))
    settings = db.session.get(PaymentSettings, contract.id)
    if settings is None:
        settings = PaymentSettings(contract_id=contract.id)
        db.session.add(settings)
    settings.fee_cap, settings.quantity_weight, settings.budget = cap, weight, clean
    settings.changed_by_id, settings.changed_at = user.id, utcnow()
    db.session.flush()
    audit.record(events.PaymentSettingsSaved(contract_id=contract.id, fee_cap=str(cap), quantity_weight=str(weight),
                                             budget=clean), actor=user)
    return settings


def plan(contract: Contract) -> list[Instalment]:
    return db.session.scalars(sa.select(Instalment).where(Instalment.contract_id == contract.id)
                              .order_by(Instalment.number)).all()


def add_instalment(contract: Contract, share, period_from: date, period_to: date, user: User,
                   due_on: date | None = None, milestone: str = "") -> Instalment:
    """Add an instalment to the plan: ``share`` of the contract amount (0.25 or "25%")."""
    _officer(user)
    text = str(share).strip()
    try:
        value = Decimal(text.rstrip("%")) / (100 if text.endswith("%") else 1)
    except (InvalidOperation, ValueError):
        raise PaymentError("比例格式不正确", "the share is not a number", "share") from None
    value = value.quantize(Decimal("0.0001"))
    if not (0 < value <= 1):
        raise PaymentError("比例应大于 0 且不超过 100%", "the share must be above 0 and at most 100 %", "share")
    existing = plan(contract)
    if sum((i.share for i in existing), Decimal(0)) + value > 1:
        raise PaymentError("各期比例合计超过 100%", "the shares of the plan would add up to more than 100 %", "share")
    if period_to < period_from:
        raise PaymentError("结束日期早于开始日期", "the period ends before it starts", "period_to")
    if period_from < contract.starts_on or period_to > contract.ends_on:
        raise PaymentError("支付期应在合同期限内", "the period must lie within the contract term", "period_from")
    milestone = (milestone or "").strip()
    if due_on is None and not milestone:
        raise PaymentError("请填写支付日期或支付节点", "give a due date or a milestone", "due_on")
    inst = Instalment(contract=contract, number=max((i.number for i in existing), default=0) + 1, share=value,
                      due_on=due_on, milestone=milestone[:200], period_from=period_from, period_to=period_to,
                      created_by_id=user.id, created_at=utcnow())
    db.session.add(inst)
    db.session.flush()
    audit.record(events.InstalmentPlanned(contract_id=contract.id, number=inst.number, share=str(value),
                                          due_on=due_on.isoformat() if due_on else None, milestone=inst.milestone,
                                          period_from=period_from.isoformat(), period_to=period_to.isoformat()),
                 actor=user)
    return inst


def even_plan(contract: Contract, count: int, user: User, due_days: int = 15) -> list[Instalment]:
    """Split the term into ``count`` equal instalments, each due ``due_days`` after its period."""
    if plan(contract):
        raise PaymentError("合同已有支付计划", "the contract already has a payment plan")
    if not (1 <= count <= 24):
        raise PaymentError("期数应在 1 到 24 之间", "between 1 and 24 instalments", "count")
    return [add_instalment(contract, share, start, end, user, due_on=end + timedelta(days=due_days))
            for share, start, end in rules.even_plan(contract.starts_on, contract.ends_on, count)]


def remove_instalment(inst: Instalment, user: User) -> None:
    _officer(user)
    if inst.entries:
        raise PaymentError("这一期已有支付记录，不能删除", "the instalment has payment entries and cannot be removed")
    number, contract_id = inst.number, inst.contract_id
    db.session.delete(inst)
    db.session.flush()
    audit.record(events.InstalmentRemoved(contract_id=contract_id, number=number), actor=user)


# --- computing an instalment ---------------------------------------------------------------

def _months(day_from: date, day_to: date) -> list[str]:
    out, day = [], day_from.replace(day=1)
    while day <= day_to:
        out.append(contract_rules.month_key(day))
        day = date(day.year + 1, 1, 1) if day.month == 12 else day.replace(month=day.month + 1)
    return out


def _record_counts(contract: Contract, day_from: date, day_to: date) -> tuple[int, int, int]:
    """(delivered, accepted, refuted) records in the months the days touch."""
    row = db.session.execute(sa.select(sa.func.coalesce(sa.func.sum(MonthCounter.delivered), 0),
                                       sa.func.coalesce(sa.func.sum(MonthCounter.accepted), 0),
                                       sa.func.coalesce(sa.func.sum(MonthCounter.refuted), 0))
                             .where(MonthCounter.contract_id == contract.id,
                                    MonthCounter.month.in_(_months(day_from, day_to)))).one()
    return int(row[0]), int(row[1]), int(row[2])


def _shortfalls(contract: Contract, day_from: date, day_to: date, on: date) -> list[rules.Shortfall]:
    """Obligation periods that ended inside [day_from, day_to] by ``on``, with target and delivered."""
    out = []
    for op in progress.obligation_progress(contract, on):
        period = op.obligation.period.value
        for p in op.periods:
            start, after = contract_rules.period_bounds(period, p.key)  # [start, after)
            end = min(after - timedelta(days=1), contract.ends_on)
            if start >= day_from and end <= day_to and end < on and p.target > 0:
                out.append(rules.Shortfall(op.obligation.service_type.name_zh, p.key, p.target, p.delivered))
    return out


def paid_on_results(contract: Contract) -> bool:
    """Payments follow the assessment results when the contract says so (``payment_linked``);
    per-head and lump-sum contracts that do not are paid as planned, the gap shown."""
    return bool(contract.payment_linked)


def compute(inst: Instalment, on: date | None = None) -> rules.Computation:
    """The instalment's computation from signed assessments, refuted records and missed
    obligations of its period, line by line."""
    on = on or today()
    contract = inst.contract
    assessed = [rules.Assessed(a.period_key, a.day_from, a.day_to, assessment_rules.GRADE_ZH.get(a.grade, a.grade or ""),
                               a.total, a.coefficient or Decimal(0))
                for a in assessments.signed_assessments(contract, inst.period_from, inst.period_to)]
    delivered, _accepted, refuted = _record_counts(contract, inst.period_from, inst.period_to)
    return rules.compute_instalment(inst.planned, inst.period_from, inst.period_to, assessed, delivered, refuted,
                                    _shortfalls(contract, inst.period_from, inst.period_to, on),
                                    linked=paid_on_results(contract),
                                    quantity_weight=settings_for(contract).quantity_weight)


def open_entry(inst: Instalment) -> PaymentEntry | None:
    """The entry that stands for the instalment: proposed, or approved and not reversed."""
    reversed_ids = {e.reverses_id for e in inst.entries if e.kind is EntryKind.REVERSAL
                    and e.status is EntryStatus.APPROVED}
    for e in inst.entries:
        if e.kind is EntryKind.PAYMENT and (e.status is EntryStatus.PROPOSED or (
                e.status is EntryStatus.APPROVED and e.id not in reversed_ids)):
            return e
    return None


def propose(inst: Instalment, user: User, note: str = "", on: date | None = None) -> PaymentEntry:
    """An officer proposes paying the instalment as computed now; a second officer approves."""
    _officer(user)
    if inst.contract.status is ContractStatus.DRAFT:
        raise PaymentError("合同尚未生效", "the contract is not in force yet")
    if open_entry(inst) is not None:
        raise PaymentError("这一期已有待审批或已批准的支付", "the instalment already has a proposed or approved payment")
    comp = compute(inst, on)
    if comp.amount <= 0:
        raise PaymentError("按结果应付金额为零：请先签发本期考核", "nothing to pay yet: sign the period's assessment first")
    entry = PaymentEntry(contract_id=inst.contract_id, instalment=inst, kind=EntryKind.PAYMENT,
                         status=EntryStatus.PROPOSED, planned=comp.planned, computed=comp.computed,
                         deductions=comp.deductions, amount=comp.amount,
                         computation=[line.as_dict() for line in comp.lines], note=(note or "").strip(),
                         proposed_by_id=user.id, proposed_at=utcnow())
    db.session.add(entry)
    db.session.flush()
    _record_proposal(entry, user)
    _tell_other_officers(entry, user, f"待审批支付：合同 {inst.contract.contract_no} 第 {inst.number} 期 {entry.amount} 元")
    return entry


def _record_proposal(entry: PaymentEntry, user: User) -> None:
    audit.record(events.PaymentProposed(
        entry_id=entry.id, contract_id=entry.contract_id, instalment=entry.instalment.number, kind=entry.kind.value,
        planned=str(entry.planned), computed=str(entry.computed), deductions=str(entry.deductions),
        amount=str(entry.amount), reverses_id=entry.reverses_id, computation=entry.computation), actor=user)


def _tell_other_officers(entry: PaymentEntry, user: User, title: str) -> None:
    from flask import has_request_context, url_for

    others = db.session.scalars(sa.select(User.id).where(User.role == Role.OFFICER, User.is_enabled.is_(True),
                                                         User.id != user.id)).all()
    link = url_for("payments.entry", payment_entry_id=entry.id) if has_request_context() else None
    notifications.notify(others, "payment.proposed", title, "两人审批：提出人不能批准自己的支付。", link=link)


def propose_reversal(entry: PaymentEntry, user: User, reason: str) -> PaymentEntry:
    """Take back an approved payment by a new entry (approved, in turn, by a second officer)."""
    _officer(user)
    reason = (reason or "").strip()
    if not reason:
        raise PaymentError("请写明冲销原因", "give the reason for the reversal", "reason")
    if entry.kind is not EntryKind.PAYMENT or entry.status is not EntryStatus.APPROVED:
        raise PaymentError("只能冲销已批准的支付", "only an approved payment can be reversed")
    exists = db.session.scalar(sa.select(PaymentEntry.id).where(PaymentEntry.reverses_id == entry.id))
    if exists is not None:
        raise PaymentError("这笔支付已有冲销记录", "the payment already has a reversal")
    rev = PaymentEntry(contract_id=entry.contract_id, instalment_id=entry.instalment_id, kind=EntryKind.REVERSAL,
                       reverses_id=entry.id, status=EntryStatus.PROPOSED, planned=entry.planned,
                       computed=entry.computed, deductions=entry.deductions, amount=entry.amount,
                       computation=[{"kind": "reversal", "text_zh": f"冲销第 {entry.id} 号支付：{reason}",
                                     "text_en": f"Reversal of payment entry {entry.id}: {reason}",
                                     "amount": str(-entry.amount)}],
                       note=reason, proposed_by_id=user.id, proposed_at=utcnow())
    db.session.add(rev)
    db.session.flush()
    db.session.refresh(rev)
    _record_proposal(rev, user)
    _tell_other_officers(rev, user, f"待审批冲销：合同 {entry.contract.contract_no} 第 {entry.id} 号支付 {entry.amount} 元")
    return rev


def approve(entry: PaymentEntry, user: User, note: str = "") -> None:
    """The second officer approves; the person who proposed never can (two-person rule)."""
    _officer(user)
    if entry.status is not EntryStatus.PROPOSED:
        raise PaymentError("这笔支付已有决定，不能更改", "the entry is already decided and cannot change")
    if entry.proposed_by_id == user.id:
        raise PaymentError("两人审批：提出人不能批准自己提出的支付", "two-person rule: whoever proposed cannot approve")
    entry.status, entry.approved_by_id, entry.decided_at = EntryStatus.APPROVED, user.id, utcnow()
    entry.decision_note = (note or "").strip()
    db.session.flush()
    audit.record(events.PaymentApproved(entry_id=entry.id, contract_id=entry.contract_id, kind=entry.kind.value,
                                        amount=str(entry.amount), proposed_by=entry.proposed_by_id,
                                        note=entry.decision_note), actor=user)
    managers = db.session.scalars(sa.select(User.id).join(Provider, Provider.organisation_id == User.organisation_id)
                                  .where(Provider.id == entry.contract.provider_id,
                                         User.role == Role.PROVIDER_MANAGER, User.is_enabled.is_(True))).all()
    what = "冲销" if entry.kind is EntryKind.REVERSAL else "支付"
    notifications.notify(managers, "payment.approved",
                         f"{what}已批准：合同 {entry.contract.contract_no} 第 {entry.instalment.number} 期 {entry.amount} 元")


def refuse(entry: PaymentEntry, user: User, note: str) -> None:
    """The second officer sends the proposal back (a new one may be made)."""
    _officer(user)
    note = (note or "").strip()
    if not note:
        raise PaymentError("请写明不批准的理由", "give the reason for not approving", "note")
    if entry.status is not EntryStatus.PROPOSED:
        raise PaymentError("这笔支付已有决定，不能更改", "the entry is already decided and cannot change")
    if entry.proposed_by_id == user.id:
        raise PaymentError("两人审批：提出人不能审批自己提出的支付", "two-person rule: whoever proposed cannot decide")
    entry.status, entry.approved_by_id, entry.decided_at = EntryStatus.REFUSED, user.id, utcnow()
    entry.decision_note = note
    db.session.flush()
    audit.record(events.PaymentRefused(entry_id=entry.id, contract_id=entry.contract_id, amount=str(entry.amount),
                                       note=note), actor=user)


def record_disbursement(entry: PaymentEntry, disbursed_on: date, voucher_no: str, user: User) -> Disbursement:
    _officer(user)
    voucher_no = (voucher_no or "").strip()
    if entry.status is not EntryStatus.APPROVED:
        raise PaymentError("只有已批准的支付才能登记拨付", "only an approved entry can be disbursed")
    if entry.disbursement is not None:
        raise PaymentError("已登记拨付，不能更改", "the disbursement is recorded and cannot change")
    if not voucher_no:
        raise PaymentError("请填写凭证号", "give the voucher number", "voucher_no")
    if disbursed_on > today():
        raise PaymentError("拨付日期不能晚于今天", "the disbursement date cannot be in the future", "disbursed_on")
    if entry.decided_at is not None and disbursed_on < entry.decided_at.astimezone(LOCAL_TZ).date():
        raise PaymentError("拨付日期早于批准日期", "the disbursement date is before the approval", "disbursed_on")
    d = Disbursement(entry=entry, disbursed_on=disbursed_on, voucher_no=voucher_no[:60], recorded_by_id=user.id,
                     recorded_at=utcnow())
    db.session.add(d)
    db.session.flush()
    audit.record(events.DisbursementRecorded(entry_id=entry.id, contract_id=entry.contract_id, amount=str(entry.amount),
                                             disbursed_on=disbursed_on.isoformat(), voucher_no=d.voucher_no),
                 actor=user)
    return d


# --- ledgers -------------------------------------------------------------------------------

def visible_entries(user, contract: Contract | None = None, status: str | None = None):
    query = sa.select(PaymentEntry).join(Contract, Contract.id == PaymentEntry.contract_id)
    if user.role not in BUREAU_ROLES:
        query = query.join(Provider, Provider.id == Contract.provider_id).where(
            Provider.organisation_id == user.organisation_id)
    if contract is not None:
        query = query.where(PaymentEntry.contract_id == contract.id)
    if status:
        query = query.where(PaymentEntry.status == status)
    return query.order_by(PaymentEntry.proposed_at.desc(), PaymentEntry.id.desc())


def ledger_rows(entries) -> list[dict]:
    """Rows of the payment ledger (page and Excel)."""
    rows = []
    for e in entries:
        d = e.disbursement
        rows.append({"id": e.id, "contract_no": e.contract.contract_no, "provider": e.contract.provider.name,
                     "instalment": e.instalment.number, "kind": e.kind.label, "status": e.status.label,
                     "planned": e.planned, "computed": e.computed, "deductions": e.deductions,
                     "amount": e.signed_amount, "proposed_by": e.proposed_by.display_name or e.proposed_by.username,
                     "proposed_at": e.proposed_at,
                     "approved_by": (e.approved_by.display_name or e.approved_by.username) if e.approved_by else "",
                     "decided_at": e.decided_at, "disbursed_on": d.disbursed_on if d else None,
                     "voucher_no": d.voucher_no if d else ""})
    return rows


def contract_totals(contract: Contract) -> dict:
    entries = db.session.scalars(sa.select(PaymentEntry).where(PaymentEntry.contract_id == contract.id)).all()
    approved = [e for e in entries if e.status is EntryStatus.APPROVED]
    return {"planned": sum((i.planned for i in plan(contract)), rules.ZERO),
            "approved": sum((e.signed_amount for e in approved), rules.ZERO),
            "disbursed": sum((e.signed_amount for e in approved if e.disbursement is not None), rules.ZERO),
            "proposed": sum((e.amount for e in entries if e.status is EntryStatus.PROPOSED), rules.ZERO)}


# --- for the annual evaluation (issue 12) ----------------------------------------------------

def payment_summary(contract: Contract, day_from: date, day_to: date) -> dict:
    """Payments and fund use of ``contract`` for the instalments whose period ends within
    [day_from, day_to] (an instalment belongs to the year its period ends in) and the
    fund-use reports whose period ends within it.

    Keys (money as Decimal): ``planned``, ``computed`` (what the results justify),
    ``approved`` (payments less reversals), ``disbursed``, ``deductions``,
    ``gap_to_results`` (approved − computed; for contracts not paid on results, the
    distance of the payment from the results), ``fund_use_findings`` (int: flagged items),
    ``unit_cost`` (spending reported, or failing that the amount approved, per accepted
    service in the window; None when there is no accepted service or no money).
    """
    planned = computed = deductions = approved = disbursed = rules.ZERO
    for inst in plan(contract):
        if not (day_from <= inst.period_to <= day_to):
            continue
        comp = compute(inst)
        planned += comp.planned
        computed += comp.computed
        deductions += comp.deductions
        for e in inst.entries:
            if e.status is EntryStatus.APPROVED:
                approved += e.signed_amount
                if e.disbursement is not None:
                    disbursed += e.signed_amount
    reports = db.session.scalars(sa.select(FundUseReport).where(
        FundUseReport.contract_id == contract.id, FundUseReport.status != ReportStatus.DRAFT,
        FundUseReport.period_to >= day_from, FundUseReport.period_to <= day_to)).all()
    findings = sum(len(check_report(r).findings) for r in reports)
    spent = sum((r.total for r in reports), rules.ZERO)
    _delivered, accepted, _refuted = _record_counts(contract, day_from, day_to)
    money = spent if reports else approved
    unit_cost = rules.fen(money / accepted) if accepted > 0 and money > 0 else None
    return {"planned": planned, "computed": computed, "approved": approved, "disbursed": disbursed,
            "deductions": deductions, "gap_to_results": approved - computed, "fund_use_findings": findings,
            "unit_cost": unit_cost}


# --- fund use ------------------------------------------------------------------------------

def _manager_of(contract: Contract, user: User) -> None:
    if user.role is not Role.PROVIDER_MANAGER or not contract.visible_to(user):
        raise PaymentError("只有本承接主体负责人可以填报资金使用", "only the provider's manager reports fund use")


def create_report(contract: Contract, period_from: date, period_to: date, user: User, note: str = "") -> FundUseReport:
    _manager_of(contract, user)
    if period_to < period_from:
        raise PaymentError("结束日期早于开始日期", "the period ends before it starts", "period_to")
    if period_from < contract.starts_on or period_to > contract.ends_on:
        raise PaymentError("报告期应在合同期限内", "the period must lie within the contract term", "period_from")
    report = FundUseReport(contract=contract, period_from=period_from, period_to=period_to, note=(note or "").strip(),
                           created_by_id=user.id, created_at=utcnow())
    db.session.add(report)
    db.session.flush()
    return report


def _draft(report: FundUseReport, user: User) -> None:
    _manager_of(report.contract, user)
    if report.status is not ReportStatus.DRAFT:
        raise PaymentError("报告已提交，不能修改", "the report is submitted and cannot change")


def add_line(report: FundUseReport, category: str, purpose: str, amount, user: User) -> FundUseLine:
    _draft(report, user)
    try:
        cat = Category(category)
    except ValueError:
        raise PaymentError("未知的支出类别", "unknown category", "category") from None
    purpose = (purpose or "").strip()
    if not purpose:
        raise PaymentError("请写明用途", "say what the money was spent on", "purpose")
    line = FundUseLine(report=report, category=cat, purpose=purpose[:300], amount=_money(amount))
    db.session.add(line)
    db.session.flush()
    return line


def remove_line(line: FundUseLine, user: User) -> None:
    _draft(line.report, user)
    line.report.lines.remove(line)
    db.session.flush()


def add_receipt(line: FundUseLine, data: bytes, filename: str, user: User) -> FundReceipt:
    _draft(line.report, user)
    if not data or len(data) > MAX_RECEIPT_BYTES:
        raise PaymentError("文件为空或超过 10 MB", "the file is empty or larger than 10 MB", "file")
    try:
        kind = content.check_document(data)
    except content.ContentError as exc:
        raise PaymentError(exc.zh, exc.en, "file") from None
    stored = get_storage().put(io.BytesIO(data))
    receipt = FundReceipt(line=line, sha256=stored.sha256, filename=(filename or "receipt").replace("/", "_")[-200:],
                          content_type=kind, size=stored.size, uploaded_by_id=user.id, uploaded_at=utcnow())
    db.session.add(receipt)
    db.session.flush()
    return receipt


def check_report(report: FundUseReport) -> rules.FundUseCheck:
    """The checks of a report: forbidden purposes, management-fee share, budget, receipts,
    unit cost per accepted service of its period."""
    settings = settings_for(report.contract)
    budget = {k: Decimal(v) for k, v in (settings.budget or {}).items()}
    earlier = db.session.scalars(sa.select(FundUseLine).join(FundUseReport).where(
        FundUseReport.contract_id == report.contract_id, FundUseReport.id != report.id,
        FundUseReport.status != ReportStatus.DRAFT, FundUseReport.period_to <= report.period_to)).all()
    to_date: dict[str, Decimal] = {}
    for line in [*earlier, *report.lines]:
        to_date[line.category.value] = to_date.get(line.category.value, rules.ZERO) + line.amount
    _delivered, accepted, _refuted = _record_counts(report.contract, report.period_from, report.period_to)
    lines = [rules.SpendLine(line.category.value, line.purpose, line.amount, len(line.receipts)) for line in report.lines]
    return rules.check_fund_use(lines, settings.fee_cap, budget, to_date, accepted, CATEGORY_ZH)


def submit_report(report: FundUseReport, user: User) -> rules.FundUseCheck:
    _draft(report, user)
    if not report.lines:
        raise PaymentError("报告没有支出明细", "the report has no spending lines")
    check = check_report(report)
    report.status, report.submitted_at, report.findings = ReportStatus.SUBMITTED, utcnow(), len(check.findings)
    db.session.flush()
    audit.record(events.FundUseReportSubmitted(
        report_id=report.id, contract_id=report.contract_id, period_from=report.period_from.isoformat(),
        period_to=report.period_to.isoformat(), total=str(check.total),
        by_category={k: str(v) for k, v in check.by_category.items()},
        findings=[f.text_zh for f in check.findings]), actor=user)
    if check.findings:
        notifications.notify_roles((Role.OFFICER,), "fund_use.findings",
                                   f"资金使用报告有 {len(check.findings)} 项问题：合同 {report.contract.contract_no}",
                                   "；".join(f.text_zh for f in check.findings)[:1000])
    return check


def review_report(report: FundUseReport, user: User, note: str) -> None:
    _officer(user)
    if report.status is not ReportStatus.SUBMITTED:
        raise PaymentError("只有已提交的报告可以审阅", "only a submitted report can be reviewed")
    report.status, report.reviewed_by_id, report.reviewed_at = ReportStatus.REVIEWED, user.id, utcnow()
    report.review_note = (note or "").strip()
    db.session.flush()
    audit.record(events.FundUseReportReviewed(report_id=report.id, contract_id=report.contract_id,
                                              note=report.review_note), actor=user)


def visible_reports(user, contract: Contract | None = None):
    query = sa.select(FundUseReport).join(Contract, Contract.id == FundUseReport.contract_id)
    if user.role in BUREAU_ROLES:
        query = query.where(FundUseReport.status != ReportStatus.DRAFT)
    else:
        query = query.join(Provider, Provider.id == Contract.provider_id).where(
            Provider.organisation_id == user.organisation_id)
    if contract is not None:
        query = query.where(FundUseReport.contract_id == contract.id)
    return query.order_by(FundUseReport.period_to.desc(), FundUseReport.id.desc())


# --- anomalies (section 八) ------------------------------------------------------------------

def _month_figures(contract: Contract, month: str) -> dict[str, Decimal]:
    """amount approved for work of the month (instalments pro rata by days), households
    served, and days from the end of the work to the approval (timing)."""
    first, last = assessment_rules.period_bounds("month", month)
    amount, lags = rules.ZERO, []
    for inst in plan(contract):
        n = rules.overlap(inst.period_from, inst.period_to, first, last)
        for e in inst.entries:
            if e.status is EntryStatus.APPROVED and n > 0:
                amount += e.signed_amount * n / rules.days(inst.period_from, inst.period_to)
                if e.kind is EntryKind.PAYMENT and inst.period_to <= last:
                    lags.append(Decimal((e.decided_at.astimezone(LOCAL_TZ).date() - inst.period_to).days))
    households = db.session.scalar(sa.select(sa.func.count(sa.distinct(MonthCase.case_id))).where(
        MonthCase.contract_id == contract.id, MonthCase.month == month, MonthCase.records > 0)) or 0
    out = {"amount": rules.fen(amount), "households": Decimal(households)}
    if lags:
        out["timing"] = max(lags)
    return out


def find_anomalies(month: str, now: datetime | None = None) -> list[PaymentAnomaly]:
    """Compare each contract's month with its earlier months (amount, households served,
    timing of approval) and its cost per household with similar contracts (same pricing
    model); store and return the outliers not listed before."""
    now = now or utcnow()
    contracts = db.session.scalars(sa.select(Contract).where(Contract.status.in_(
        (ContractStatus.ACTIVE, ContractStatus.SUSPENDED, ContractStatus.COMPLETED)))).all()
    found: list[PaymentAnomaly] = []
    per_household: dict[int, Decimal] = {}
    for contract in contracts:
        months = [m for m in contract_rules.periods_in_term("month", contract.starts_on, contract.ends_on) if m < month]
        if assessment_rules.period_bounds("month", month)[0] > contract.ends_on or \
                assessment_rules.period_bounds("month", month)[1] < contract.starts_on:
            continue
        current = _month_figures(contract, month)
        history = [_month_figures(contract, m) for m in months[-6:]]
        for kind in ("amount", "households", "timing"):
            if kind not in current:
                continue
            base = rules.outlier(current[kind], [h[kind] for h in history if kind in h and h[kind] > 0])
            if base is not None:
                found.append(PaymentAnomaly(contract_id=contract.id, month=month, kind=kind, value=current[kind],
                                            baseline=rules.fen(base), found_at=now))
        if current["households"] > 0 and current["amount"] > 0:
            per_household[contract.id] = rules.fen(current["amount"] / current["households"])
    by_model: dict[str, list[int]] = {}
    for contract in contracts:
        if contract.id in per_household:
            by_model.setdefault(contract.pricing_model.value, []).append(contract.id)
    for ids in by_model.values():
        for cid in ids:
            peers = [per_household[o] for o in ids if o != cid]
            base = rules.outlier(per_household[cid], peers)
            if base is not None:
                found.append(PaymentAnomaly(contract_id=cid, month=month, kind="peer_cost",
                                            value=per_household[cid], baseline=rules.fen(base), found_at=now))
    known = set(db.session.execute(sa.select(PaymentAnomaly.contract_id, PaymentAnomaly.kind)
                                   .where(PaymentAnomaly.month == month)).all())
    new = [a for a in found if (a.contract_id, a.kind) not in known]
    db.session.add_all(new)
    db.session.flush()
    if new:
        audit.record(events.PaymentAnomaliesFound(month=month, anomalies=[
            {"contract_id": a.contract_id, "kind": a.kind, "value": str(a.value), "baseline": str(a.baseline)}
            for a in new]))
    return new


ANOMALY_ZH = {"amount": "支付金额", "households": "服务人数（户）", "timing": "拨付时间（期末至批准天数）",
              "peer_cost": "每户成本（与同类合同比）"}


def anomalies(limit: int = 200) -> list[PaymentAnomaly]:
    return db.session.scalars(sa.select(PaymentAnomaly).order_by(PaymentAnomaly.month.desc(), PaymentAnomaly.id)
                              .limit(limit)).all()
