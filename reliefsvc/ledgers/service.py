"""The six ledgers (台账) a county office files, each a workbook of Chinese-headed sheets.

Each function takes the filters, the user (a provider's manager sees only its own
contracts) and returns a :class:`Ledger`: a title, a file name and the sheets. The rows are
read with one query per sheet (the detail sheets stream with ``yield_per``), never a query
per row. Household names and ID numbers appear only in the case service ledger, whose ID
numbers are masked and whose download asks for a reason (``security.exports``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from reliefsvc.common.formatting import LOCAL_TZ, mask_id_number
from reliefsvc.contracts.models import Contract, ServiceType
from reliefsvc.extensions import db
from reliefsvc.ledgers.workbook import Sheet
from reliefsvc.providers.models import Provider
from reliefsvc.reports.excel import LedgerColumn as Col

RECORD_STATUS_ZH = {"submitted": "待审核", "accepted": "已采纳", "rejected": "已退回"}
SOURCE_ZH = {"phone": "手机填报", "ledger": "台账导入"}
OUTCOME_ZH = {"confirmed": "属实", "partly": "部分属实", "not_delivered": "未提供服务（虚假）"}
METHOD_ZH = {"phone": "电话回访", "revisit": "入户复核"}
STRATUM_ZH = {"random": "随机抽取", "risk": "风险抽取"}
NOTICE_SOURCE_ZH = {"spotcheck": "抽查", "inspection": "实地考察", "assessment": "考核", "officer": "经办人员",
                    "integrity": "真实性核查"}
ITEM_STATUS_ZH = {"open": "待答复", "answered": "待审核", "sent_back": "已退回", "accepted": "已整改"}
ENTRY_STATUS_ZH = {"proposed": "待审批", "approved": "已批准", "refused": "未批准"}
ENTRY_KIND_ZH = {"payment": "支付", "reversal": "冲销"}
ASSESSMENT_STATUS_ZH = {"draft": "评分中", "commenting": "征求意见中", "signed": "已签发"}
EVALUATION_STATUS_ZH = {"draft": "评估中", "commenting": "征求意见中", "signed": "已签发"}
GRADE_ZH = {"excellent": "优秀", "good": "良好", "pass": "合格", "fail": "不合格"}
CATEGORY_ZH = {"dibao": "低保", "tekun": "特困", "linshi": "临时救助", "bianyuan": "低保边缘", "jiance": "防返贫监测"}
CASE_STATUS_ZH = {"active": "在册", "suspended": "暂停", "closed": "已退出", "deceased": "已故"}


class LedgerError(Exception):
    """A ledger asked for with filters that do not fit (no such contract, a period backwards)."""

    def __init__(self, zh: str, en: str):
        super().__init__(en)
        self.zh, self.en = zh, en


@dataclass
class Ledger:
    title: str
    filename: str
    sheets: list[Sheet]


def cn_date(day: date | None) -> str:
    return f"{day.year}年{day.month}月{day.day}日" if day else ""


def period_text(day_from: date | None, day_to: date | None) -> str:
    if day_from and day_to:
        return f"{cn_date(day_from)}至{cn_date(day_to)}"
    if day_from:
        return f"{cn_date(day_from)}起"
    if day_to:
        return f"截至{cn_date(day_to)}"
    return "全部"


def _start(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), LOCAL_TZ)


def _check_period(day_from, day_to):
    if day_from and day_to and day_to < day_from:
        raise LedgerError("结束日期不能早于开始日期", "the period ends before it begins")


def _exported() -> tuple[str, str]:
    now = datetime.now(LOCAL_TZ)
    return "导出时间", f"{now.year}年{now.month}月{now.day}日 {now:%H:%M}"


def visible_contracts(user):
    """The contracts the user may file ledgers of (a provider's people: their own)."""
    query = sa.select(Contract).join(Provider, Provider.id == Contract.provider_id).order_by(Contract.contract_no)
    if user.role.is_provider:
        query = query.where(Provider.organisation_id == user.organisation_id)
    return db.session.scalars(query).all()


def _contract_scope(column, user, contract: Contract | None):
    conditions = []
    if contract is not None:
        conditions.append(column == contract.id)
    if user.role.is_provider:
        conditions.append(column.in_(sa.select(Contract.id).join(Provider, Provider.id == Contract.provider_id)
                                     .where(Provider.organisation_id == user.organisation_id)))
    return conditions


def _ratio(a, b):
    return (Decimal(a) / Decimal(b)).quantize(Decimal("0.0001")) if b else None


# --- 1. service ledger per contract and period -------------------------------------------------

def service_ledger(contract: Contract, day_from: date | None, day_to: date | None) -> Ledger:
    from reliefsvc.cases.models import Case
    from reliefsvc.evidence.models import ServiceRecord
    from reliefsvc.providers.models import Staff
    from reliefsvc.regions.models import Region

    _check_period(day_from, day_to)
    where = [ServiceRecord.contract_id == contract.id]
    if day_from:
        where.append(ServiceRecord.started_at >= _start(day_from))
    if day_to:
        where.append(ServiceRecord.started_at < _start(day_to + timedelta(days=1)))
    filters = [("合同", f"{contract.contract_no} {contract.title}"), ("承接主体", contract.provider.name),
               ("服务期间", period_text(day_from, day_to)), _exported()]

    def detail():
        query = (sa.select(ServiceRecord.record_ref, ServiceRecord.started_at, ServiceRecord.ended_at,
                           ServiceRecord.minutes, ServiceType.name_zh.label("service"), Staff.name.label("worker"),
                           Case.case_ref, Region.name.label("village"), ServiceRecord.status, ServiceRecord.refuted,
                           ServiceRecord.source)
                 .join(ServiceType, ServiceType.code == ServiceRecord.service_type_code)
                 .join(Staff, Staff.id == ServiceRecord.worker_id)
                 .outerjoin(Case, Case.id == ServiceRecord.case_id)
                 .outerjoin(Region, Region.id == Case.village_id)
                 .where(*where).order_by(ServiceRecord.started_at, ServiceRecord.id)
                 .execution_options(yield_per=2000))
        for r in db.session.execute(query):
            yield {"ref": r.record_ref, "day": r.started_at, "start": r.started_at, "end": r.ended_at,
                   "minutes": r.minutes, "service": r.service, "worker": r.worker, "case": r.case_ref or "",
                   "village": r.village or "", "status": RECORD_STATUS_ZH[r.status.value],
                   "refuted": "是" if r.refuted else "", "source": SOURCE_ZH.get(r.source.value, r.source.value)}

    summary = db.session.execute(
        sa.select(ServiceType.name_zh, sa.func.count(),
                  sa.func.sum(sa.case((ServiceRecord.status == "accepted", 1), else_=0)),
                  sa.func.sum(sa.case((ServiceRecord.status == "rejected", 1), else_=0)),
                  sa.func.sum(sa.case((ServiceRecord.status == "submitted", 1), else_=0)),
                  sa.func.sum(sa.case((ServiceRecord.refuted.is_(True), 1), else_=0)),
                  sa.func.sum(ServiceRecord.minutes))
        .join(ServiceType, ServiceType.code == ServiceRecord.service_type_code)
        .where(*where).group_by(ServiceType.name_zh, ServiceType.position)
        .order_by(ServiceType.position, ServiceType.name_zh)).all()
    summary_rows = [{"service": name, "records": n, "accepted": int(a or 0), "rejected": int(rj or 0),
                     "submitted": int(s or 0), "refuted": int(rf or 0), "minutes": int(m or 0),
                     "hours": (Decimal(int(m or 0)) / 60).quantize(Decimal("0.01"))}
                    for name, n, a, rj, s, rf, m in summary]
    return Ledger(
        title=f"服务台账 {contract.contract_no}", filename=f"服务台账_{contract.contract_no}.xlsx",
        sheets=[
            Sheet("服务记录", f"服务台账（{contract.contract_no}）", [
                Col("ref", "台账编号"), Col("day", "服务日期", "date"), Col("start", "开始时间", "datetime"),
                Col("end", "结束时间", "datetime"), Col("minutes", "时长（分钟）", "int"), Col("service", "服务类型"),
                Col("worker", "服务人员"), Col("case", "户编号"), Col("village", "村"), Col("status", "审核状态"),
                Col("refuted", "抽查否定"), Col("source", "来源")], detail(), filters, sums=("minutes",)),
            Sheet("按服务类型汇总", f"服务台账汇总（{contract.contract_no}）", [
                Col("service", "服务类型"), Col("records", "记录数", "int"), Col("accepted", "已采纳", "int"),
                Col("rejected", "已退回", "int"), Col("submitted", "待审核", "int"), Col("refuted", "抽查否定", "int"),
                Col("minutes", "时长（分钟）", "int"), Col("hours", "时长（小时）", "money")],
                summary_rows, filters, sums=("records", "accepted", "rejected", "submitted", "refuted", "minutes",
                                             "hours"), count_total=False),
        ])


# --- 2. case service ledger per village (personal data) --------------------------------------

def case_ledger(village, day_from: date | None, day_to: date | None) -> Ledger:
    """Every household of ``village`` with the services it received in the period.

    Holds names and (masked) ID numbers: the view asks for a reason and audits the export.
    """
    from reliefsvc.cases.models import Case, CaseCategory
    from reliefsvc.evidence.models import ServiceRecord
    from reliefsvc.providers.models import Staff

    _check_period(day_from, day_to)
    where = [Case.village_id == village.id]
    if day_from:
        where.append(ServiceRecord.started_at >= _start(day_from))
    if day_to:
        where.append(ServiceRecord.started_at < _start(day_to + timedelta(days=1)))
    filters = [("村", f"{village.parent.name if village.parent else ''}{village.name}（{village.code}）"),
               ("服务期间", period_text(day_from, day_to)), ("说明", "身份证号已脱敏"), _exported()]
    categories: dict[int, list[str]] = defaultdict(list)
    for case_id, category in db.session.execute(
            sa.select(CaseCategory.case_id, CaseCategory.category).join(Case, Case.id == CaseCategory.case_id)
            .where(Case.village_id == village.id)):
        categories[case_id].append(CATEGORY_ZH.get(category.value, category.value))
    served = {r[0]: r for r in db.session.execute(
        sa.select(ServiceRecord.case_id, sa.func.count(), sa.func.sum(ServiceRecord.minutes),
                  sa.func.max(ServiceRecord.started_at))
        .join(Case, Case.id == ServiceRecord.case_id).where(*where).group_by(ServiceRecord.case_id))}
    providers = defaultdict(set)
    for case_id, name in db.session.execute(
            sa.select(ServiceRecord.case_id, Provider.name).distinct()
            .join(Case, Case.id == ServiceRecord.case_id).join(Contract, Contract.id == ServiceRecord.contract_id)
            .join(Provider, Provider.id == Contract.provider_id).where(*where)):
        providers[case_id].add(name)
    households = []
    for case in db.session.scalars(sa.select(Case).where(Case.village_id == village.id).order_by(Case.case_ref)):
        row = served.get(case.id)
        households.append({"ref": case.case_ref, "name": case.head_name, "id": mask_id_number(case.head_id_number),
                           "size": case.household_size, "categories": "、".join(sorted(categories[case.id])),
                           "status": CASE_STATUS_ZH.get(case.status.value, case.status.value),
                           "records": row[1] if row else 0, "minutes": int(row[2] or 0) if row else 0,
                           "last": row[3] if row else None, "providers": "、".join(sorted(providers[case.id]))})

    def detail():
        query = (sa.select(ServiceRecord.started_at, Case.case_ref, Case.head_name, ServiceType.name_zh,
                           Provider.name, Contract.contract_no, Staff.name.label("worker"), ServiceRecord.minutes,
                           ServiceRecord.status, ServiceRecord.record_ref)
                 .join(Case, Case.id == ServiceRecord.case_id)
                 .join(ServiceType, ServiceType.code == ServiceRecord.service_type_code)
                 .join(Contract, Contract.id == ServiceRecord.contract_id)
                 .join(Provider, Provider.id == Contract.provider_id)
                 .join(Staff, Staff.id == ServiceRecord.worker_id)
                 .where(*where).order_by(Case.case_ref, ServiceRecord.started_at).execution_options(yield_per=2000))
        for r in db.session.execute(query):
            yield {"day": r.started_at, "ref": r.case_ref, "name": r.head_name, "service": r.name_zh,
                   "provider": r.name, "contract": r.contract_no, "worker": r.worker, "minutes": r.minutes,
                   "status": RECORD_STATUS_ZH[r.status.value], "record": r.record_ref}

    return Ledger(
        title=f"个案服务台账 {village.name}", filename=f"个案服务台账_{village.code}.xlsx",
        sheets=[
            Sheet("个案汇总", f"个案服务台账（{village.name}）", [
                Col("ref", "户编号"), Col("name", "户主姓名"), Col("id", "身份证号（脱敏）"),
                Col("size", "家庭人口", "int"), Col("categories", "救助类别"), Col("status", "状态"),
                Col("records", "服务次数", "int"), Col("minutes", "服务时长（分钟）", "int"),
                Col("last", "最近服务日期", "date"), Col("providers", "承接主体")],
                households, filters, sums=("size", "records", "minutes")),
            Sheet("服务明细", f"个案服务明细（{village.name}）", [
                Col("day", "服务日期", "date"), Col("ref", "户编号"), Col("name", "户主姓名"), Col("service", "服务类型"),
                Col("provider", "承接主体"), Col("contract", "合同编号"), Col("worker", "服务人员"),
                Col("minutes", "时长（分钟）", "int"), Col("status", "审核状态"), Col("record", "台账编号")],
                detail(), filters, sums=("minutes",)),
        ])


# --- 3. spot-check ledger -----------------------------------------------------------------------

def spotcheck_ledger(contract: Contract | None, day_from: date | None, day_to: date | None) -> Ledger:
    from reliefsvc.security.models import User
    from reliefsvc.spotchecks.models import DrawStatus, SpotCheckDraw, SpotCheckItem

    _check_period(day_from, day_to)
    where = [SpotCheckDraw.status == DrawStatus.DRAWN]
    if contract is not None:
        where.append(SpotCheckDraw.contract_id == contract.id)
    if day_from:
        where.append(SpotCheckDraw.day_to >= day_from)
    if day_to:
        where.append(SpotCheckDraw.day_from <= day_to)
    filters = [("合同", contract.contract_no if contract else "全部合同"),
               ("抽查期间", period_text(day_from, day_to)), _exported()]
    checker = aliased(User)
    rows = []
    per_contract: dict[str, dict] = {}
    for r in db.session.execute(
            sa.select(SpotCheckDraw.id.label("draw"), SpotCheckDraw.day_from, SpotCheckDraw.day_to, Contract.contract_no,
                      Provider.name, SpotCheckItem.record_ref, SpotCheckItem.stratum, SpotCheckItem.outcome,
                      SpotCheckItem.method, SpotCheckItem.service_happened, SpotCheckItem.satisfaction,
                      SpotCheckItem.checked_at, checker.display_name)
            .join(SpotCheckDraw, SpotCheckDraw.id == SpotCheckItem.draw_id)
            .join(Contract, Contract.id == SpotCheckDraw.contract_id)
            .join(Provider, Provider.id == Contract.provider_id)
            .outerjoin(checker, checker.id == SpotCheckItem.checked_by_id)
            .where(*where).order_by(Contract.contract_no, SpotCheckDraw.id, SpotCheckItem.id)):
        outcome = r.outcome.value if r.outcome else None
        rows.append({"draw": r.draw, "period": f"{cn_date(r.day_from)}至{cn_date(r.day_to)}",
                     "contract": r.contract_no, "provider": r.name, "ref": r.record_ref,
                     "stratum": STRATUM_ZH.get(r.stratum.value, r.stratum.value),
                     "checker": r.display_name or "", "method": METHOD_ZH.get(r.method.value, "") if r.method else "",
                     "outcome": OUTCOME_ZH[outcome] if outcome else "未核查",
                     "happened": {True: "是", False: "否", None: ""}[r.service_happened],
                     "satisfaction": r.satisfaction, "checked_at": r.checked_at})
        c = per_contract.setdefault(r.contract_no, {"contract": r.contract_no, "provider": r.name, "drawn": 0,
                                                    "checked": 0, "confirmed": 0, "partly": 0, "false": 0})
        c["drawn"] += 1
        if outcome:
            c["checked"] += 1
            c[{"confirmed": "confirmed", "partly": "partly", "not_delivered": "false"}[outcome]] += 1
    for c in per_contract.values():
        c["rate"] = _ratio(c["false"], c["checked"])
    return Ledger(
        title="抽查台账", filename=f"抽查台账_{contract.contract_no if contract else '全部'}.xlsx",
        sheets=[
            Sheet("抽查明细", "服务记录抽查台账", [
                Col("draw", "批次", "int"), Col("period", "抽查期间"), Col("contract", "合同编号"),
                Col("provider", "承接主体"), Col("ref", "台账编号"), Col("stratum", "抽取方式"), Col("checker", "核查人"),
                Col("method", "核查方式"), Col("outcome", "核查结论"), Col("happened", "服务是否发生"),
                Col("satisfaction", "满意度（1-5）", "int"), Col("checked_at", "核查时间", "datetime")],
                rows, filters),
            Sheet("按合同汇总", "抽查结果汇总", [
                Col("contract", "合同编号"), Col("provider", "承接主体"), Col("drawn", "抽取数", "int"),
                Col("checked", "已核查", "int"), Col("confirmed", "属实", "int"), Col("partly", "部分属实", "int"),
                Col("false", "虚假服务", "int"), Col("rate", "虚假服务率", "percent")],
                list(per_contract.values()), filters, sums=("drawn", "checked", "confirmed", "partly", "false"),
                count_total=False, derived={"rate": lambda s: _ratio(s["false"], s["checked"])}),
        ])


# --- 4. rectification ledger --------------------------------------------------------------------

def rectification_ledger(user, contract: Contract | None, status: str, day_from: date | None,
                         day_to: date | None) -> Ledger:
    from reliefsvc.rectifications.models import RectificationItem, RectificationNotice

    _check_period(day_from, day_to)
    where = _contract_scope(RectificationNotice.contract_id, user, contract)
    if status in ("open", "closed"):
        where.append(RectificationNotice.status == status)
    if day_from:
        where.append(RectificationNotice.issued_at >= _start(day_from))
    if day_to:
        where.append(RectificationNotice.issued_at < _start(day_to + timedelta(days=1)))
    filters = [("合同", contract.contract_no if contract else "全部合同"),
               ("通知状态", {"open": "未结", "closed": "已结"}.get(status, "全部")),
               ("下达期间", period_text(day_from, day_to)), _exported()]
    rows, per_contract = [], {}
    for r in db.session.execute(
            sa.select(RectificationNotice.id, Contract.contract_no, Provider.name, RectificationNotice.source,
                      RectificationNotice.issued_at, RectificationNotice.due_on, RectificationNotice.status.label("ns"),
                      RectificationItem.what, RectificationItem.rule, RectificationItem.status,
                      RectificationItem.accepted_on)
            .join(RectificationNotice, RectificationNotice.id == RectificationItem.notice_id)
            .join(Contract, Contract.id == RectificationNotice.contract_id)
            .join(Provider, Provider.id == Contract.provider_id)
            .where(*where).order_by(RectificationNotice.issued_at, RectificationNotice.id, RectificationItem.position)):
        on_time = r.accepted_on is not None and r.accepted_on <= r.due_on
        rows.append({"notice": r.id, "contract": r.contract_no, "provider": r.name,
                     "source": NOTICE_SOURCE_ZH.get(r.source, r.source), "issued": r.issued_at, "due": r.due_on,
                     "what": r.what, "rule": r.rule, "status": ITEM_STATUS_ZH.get(r.status.value, r.status.value),
                     "accepted": r.accepted_on,
                     "on_time": "按期" if on_time else ("逾期" if r.accepted_on else "")})
        c = per_contract.setdefault(r.contract_no, {"contract": r.contract_no, "provider": r.name, "notices": set(),
                                                    "items": 0, "accepted": 0, "on_time": 0, "open": 0})
        c["notices"].add(r.id)
        c["items"] += 1
        c["accepted"] += r.accepted_on is not None
        c["on_time"] += on_time
        c["open"] += r.accepted_on is None
    summary = [dict(c, notices=len(c["notices"])) for c in per_contract.values()]
    return Ledger(
        title="整改台账", filename=f"整改台账_{contract.contract_no if contract else '全部'}.xlsx",
        sheets=[
            Sheet("整改事项", "整改台账", [
                Col("notice", "通知编号", "int"), Col("contract", "合同编号"), Col("provider", "承接主体"),
                Col("source", "来源"), Col("issued", "下达日期", "date"), Col("due", "整改期限", "date"),
                Col("what", "问题", width=40), Col("rule", "依据", width=24), Col("status", "事项状态"),
                Col("accepted", "整改完成日期", "date"), Col("on_time", "是否按期")], rows, filters),
            Sheet("按合同汇总", "整改情况汇总", [
                Col("contract", "合同编号"), Col("provider", "承接主体"), Col("notices", "通知数", "int"),
                Col("items", "事项数", "int"), Col("accepted", "已整改", "int"), Col("on_time", "按期整改", "int"),
                Col("open", "未整改", "int")], summary, filters,
                sums=("notices", "items", "accepted", "on_time", "open"), count_total=False),
        ])


# --- 5. payment ledger ----------------------------------------------------------------------------

def payment_ledger(user, contract: Contract | None, year: int | None) -> Ledger:
    from reliefsvc.payments.models import Disbursement, EntryStatus, Instalment, PaymentEntry

    where = _contract_scope(PaymentEntry.contract_id, user, contract)
    if year:
        where.append(PaymentEntry.proposed_at >= _start(date(year, 1, 1)))
        where.append(PaymentEntry.proposed_at < _start(date(year + 1, 1, 1)))
    filters = [("合同", contract.contract_no if contract else "全部合同"), ("年度", f"{year}年" if year else "全部"),
               _exported()]
    rows = []
    for r in db.session.execute(
            sa.select(Contract.contract_no, Provider.name, Instalment.number, PaymentEntry.kind, PaymentEntry.status,
                      PaymentEntry.planned, PaymentEntry.computed, PaymentEntry.deductions, PaymentEntry.amount,
                      PaymentEntry.proposed_at, PaymentEntry.decided_at, Disbursement.disbursed_on,
                      Disbursement.voucher_no)
            .join(Contract, Contract.id == PaymentEntry.contract_id)
            .join(Provider, Provider.id == Contract.provider_id)
            .join(Instalment, Instalment.id == PaymentEntry.instalment_id)
            .outerjoin(Disbursement, Disbursement.entry_id == PaymentEntry.id)
            .where(*where).order_by(Contract.contract_no, Instalment.number, PaymentEntry.id)):
        approved = r.status is EntryStatus.APPROVED
        rows.append({"contract": r.contract_no, "provider": r.name, "number": r.number,
                     "kind": ENTRY_KIND_ZH[r.kind.value], "status": ENTRY_STATUS_ZH[r.status.value],
                     "planned": r.planned, "computed": r.computed, "deductions": r.deductions, "amount": r.amount,
                     "approved_amount": r.amount if approved else Decimal(0),
                     "proposed": r.proposed_at, "decided": r.decided_at, "disbursed": r.disbursed_on,
                     "voucher": r.voucher_no or ""})
    paid = sa.func.sum(sa.case((PaymentEntry.status == EntryStatus.APPROVED, PaymentEntry.amount), else_=0))
    per_contract = []
    scope = [Contract.status != "draft", *_contract_scope(Contract.id, user, contract)]
    totals = {cid: (p, d) for cid, p, d in db.session.execute(
        sa.select(PaymentEntry.contract_id, paid,
                  sa.func.sum(sa.case((Disbursement.id.is_not(None), PaymentEntry.amount), else_=0)))
        .outerjoin(Disbursement, Disbursement.entry_id == PaymentEntry.id)
        .where(*where).group_by(PaymentEntry.contract_id))}
    for cid, no, name, amount in db.session.execute(
            sa.select(Contract.id, Contract.contract_no, Provider.name, Contract.amount)
            .join(Provider, Provider.id == Contract.provider_id).where(*scope).order_by(Contract.contract_no)):
        p, d = totals.get(cid, (0, 0))
        per_contract.append({"contract": no, "provider": name, "amount": amount, "paid": Decimal(p or 0),
                             "disbursed": Decimal(d or 0), "remaining": amount - Decimal(p or 0)})
    return Ledger(
        title="支付台账", filename=f"支付台账_{contract.contract_no if contract else '全部'}.xlsx",
        sheets=[
            Sheet("支付明细", "购买服务资金支付台账", [
                Col("contract", "合同编号"), Col("provider", "承接主体"), Col("number", "期次", "int"),
                Col("kind", "类型"), Col("status", "审批状态"), Col("planned", "计划金额（元）", "money"),
                Col("computed", "核算金额（元）", "money"), Col("deductions", "扣减（元）", "money"),
                Col("amount", "支付金额（元）", "money"), Col("approved_amount", "已批准金额（元）", "money"),
                Col("proposed", "提出日期", "date"), Col("decided", "审批日期", "date"),
                Col("disbursed", "拨付日期", "date"), Col("voucher", "凭证号")],
                rows, filters, sums=("planned", "computed", "deductions", "amount", "approved_amount")),
            Sheet("按合同汇总", "支付情况汇总", [
                Col("contract", "合同编号"), Col("provider", "承接主体"), Col("amount", "合同金额（元）", "money"),
                Col("paid", "已批准支付（元）", "money"), Col("disbursed", "已拨付（元）", "money"),
                Col("remaining", "未支付（元）", "money")],
                per_contract, filters, sums=("amount", "paid", "disbursed", "remaining"), count_total=False),
        ])


# --- 6. evaluation summary --------------------------------------------------------------------

def evaluation_summary(user, year: int | None) -> Ledger:
    from reliefsvc.assessments.models import Assessment
    from reliefsvc.evaluations.models import Evaluation, EvaluationDimension
    from reliefsvc.evaluations.rules import DIMENSION_CODES, DIMENSIONS

    where = _contract_scope(Evaluation.contract_id, user, None)
    if year:
        where.append(Evaluation.year == year)
    filters = [("年度", f"{year}年" if year else "全部"), _exported()]
    scores: dict[int, dict[str, Decimal | None]] = defaultdict(dict)
    for eid, code, score in db.session.execute(
            sa.select(EvaluationDimension.evaluation_id, EvaluationDimension.code, EvaluationDimension.score)
            .join(Evaluation, Evaluation.id == EvaluationDimension.evaluation_id).where(*where)):
        scores[eid][code] = score
    rows = []
    for r in db.session.execute(
            sa.select(Evaluation.id, Contract.contract_no, Provider.name, Evaluation.year_no, Evaluation.day_from,
                      Evaluation.day_to, Evaluation.due_on, Evaluation.status, Evaluation.rating, Evaluation.rebuy,
                      Evaluation.signed_at, Evaluation.doc_no)
            .join(Contract, Contract.id == Evaluation.contract_id).join(Provider, Provider.id == Contract.provider_id)
            .where(*where).order_by(Contract.contract_no, Evaluation.year_no)):
        row = {"contract": r.contract_no, "provider": r.name, "year_no": r.year_no,
               "period": f"{cn_date(r.day_from)}至{cn_date(r.day_to)}", "due": r.due_on,
               "status": EVALUATION_STATUS_ZH.get(r.status.value, r.status.value),
               "rating": GRADE_ZH.get(r.rating or "", ""), "rebuy": {True: "是", False: "否", None: ""}[r.rebuy],
               "signed": r.signed_at, "doc_no": r.doc_no or ""}
        present = [scores[r.id].get(code) for code in DIMENSION_CODES]
        for code in DIMENSION_CODES:
            row[code] = scores[r.id].get(code)
        row["mean"] = (sum(present) / len(present)).quantize(Decimal("0.01")) if all(
            p is not None for p in present) and present else None
        rows.append(row)
    a_where = _contract_scope(Assessment.contract_id, user, None)
    if year:
        a_where.append(Assessment.period_key.like(f"{year}%"))
    quarters = [{"contract": no, "provider": name, "period": key, "status": ASSESSMENT_STATUS_ZH.get(s.value, s.value),
                 "total": total, "grade": GRADE_ZH.get(grade or "", ""), "coefficient": coef, "signed": signed}
                for no, name, key, s, total, grade, coef, signed in db.session.execute(
                    sa.select(Contract.contract_no, Provider.name, Assessment.period_key, Assessment.status,
                              Assessment.total, Assessment.grade, Assessment.coefficient, Assessment.signed_at)
                    .join(Contract, Contract.id == Assessment.contract_id)
                    .join(Provider, Provider.id == Contract.provider_id)
                    .where(*a_where).order_by(Contract.contract_no, Assessment.period_key))]
    dimension_cols = [Col(code, f"{name}得分", "money") for code, name in DIMENSIONS]
    return Ledger(
        title="评估汇总", filename=f"评估汇总_{year or '全部'}.xlsx",
        sheets=[
            Sheet("年度评估", "年度绩效评估汇总", [
                Col("contract", "合同编号"), Col("provider", "承接主体"), Col("year_no", "执行年度", "int"),
                Col("period", "评估期间"), Col("due", "应完成日期", "date"), Col("status", "状态"), *dimension_cols,
                Col("mean", "平均分", "money"), Col("rating", "评估等次"), Col("rebuy", "是否建议续购"),
                Col("signed", "签发日期", "date"), Col("doc_no", "文号")], rows, filters),
            Sheet("季度考核", "季度考核汇总", [
                Col("contract", "合同编号"), Col("provider", "承接主体"), Col("period", "考核期"),
                Col("status", "状态"), Col("total", "总分", "money"), Col("grade", "等次"),
                Col("coefficient", "支付系数", "money"), Col("signed", "签发日期", "date")], quarters, filters),
        ])


