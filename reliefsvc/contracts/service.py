"""Operations on contracts. They flush, never commit."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from reliefsvc import audit
from reliefsvc.common.errors import BilingualError
from reliefsvc.common.formatting import today_local
from reliefsvc.common.tabular import (
    Column,
    FieldError,
    ImportReport,
    RowError,
    TableError,
    parse_choice,
    parse_date,
    parse_decimal,
    parse_flag,
    parse_int,
    read_table,
)
from reliefsvc.contracts import events, rules
from reliefsvc.contracts.models import (
    Amendment,
    Contract,
    ContractDocument,
    ContractStatus,
    DocumentKind,
    MonthCase,
    MonthCounter,
    Obligation,
    PerformanceTarget,
    Period,
    PricingModel,
    ProcurementMethod,
    ServiceType,
    StatusChange,
    TargetGroup,
    TargetValue,
    Unit,
)
from reliefsvc.db import utcnow
from reliefsvc.evidence import content, get_storage
from reliefsvc.extensions import db
from reliefsvc.notifications import service as notifications
from reliefsvc.providers import rules as provider_rules
from reliefsvc.providers import service as providers
from reliefsvc.providers.models import Provider
from reliefsvc.regions.models import Level, Region
from reliefsvc.security.models import Role, User


class ContractError(BilingualError):
    """A contract operation that cannot be done."""


today = today_local


# --- the catalogue ----------------------------------------------------------------------

def ensure_catalogue() -> int:
    """Add the spec's built-in service types that are missing; returns how many."""
    from reliefsvc.integrity.catalogue import CATALOGUE

    known = set(db.session.scalars(sa.select(ServiceType.code)))
    added = 0
    for position, t in enumerate(CATALOGUE, start=1):
        if t.code in known:
            continue
        reason = None if t.purchasable else "审核确认、审批决定等决定权属于政府职责，不得购买"
        db.session.add(ServiceType(code=t.code, name_zh=t.name_zh, case_linked=bool(t.case_linked),
                                   field_work=bool(t.field_work), min_minutes=t.min_minutes,
                                   photo_required=t.photo_required, purchasable=t.purchasable,
                                   not_purchasable_reason=reason, builtin=True, position=position * 10))
        added += 1
    db.session.flush()
    return added


def service_types(purchasable_only: bool = False) -> list[ServiceType]:
    query = sa.select(ServiceType).order_by(ServiceType.position, ServiceType.code)
    if purchasable_only:
        query = query.where(ServiceType.purchasable.is_(True))
    return db.session.scalars(query).all()


def save_service_type(code: str, **values) -> ServiceType:
    code = code.strip()
    if not code.replace("_", "").isalnum() or not code.isascii():
        raise ContractError("代码只能由字母、数字和下划线组成", "a code has letters, digits and underscores")
    reason = rules.forbidden_content(values.get("name_zh", ""))
    if reason and values.get("purchasable", True):
        raise ContractError(reason, "this service may not be bought", "name_zh")
    st = db.session.get(ServiceType, code) or ServiceType(code=code)
    db.session.add(st)
    for key, value in values.items():
        setattr(st, key, value)
    db.session.flush()
    audit.record(events.ServiceTypeSaved(code=code, name_zh=st.name_zh, purchasable=st.purchasable))
    return st


def purchasable_type(code: str) -> ServiceType:
    st = db.session.get(ServiceType, code)
    if st is None:
        raise ContractError(f"服务类型“{code}”不在服务目录中", f"service type {code!r} is not in the catalogue",
                            "service_type")
    if not st.purchasable:
        raise ContractError(f"“{st.name_zh}”不能作为购买服务内容：{st.not_purchasable_reason or '属于政府职责'}",
                            f"{code} is not purchasable: decision powers stay with the government", "service_type")
    return st


# --- contracts ---------------------------------------------------------------------------------

@dataclass
class ContractData:
    contract_no: str
    title: str
    provider: Provider
    purchaser: str
    procurement_method: ProcurementMethod | str
    amount: Decimal
    starts_on: date
    ends_on: date
    pricing_model: PricingModel | str
    payment_linked: bool = True
    budget_source: str | None = None
    villages: list[Region] = field(default_factory=list)


def check_contract(data: ContractData, existing: Contract | None = None) -> list[rules.Problem]:
    problems = rules.term_problems(data.starts_on, data.ends_on)
    reason = rules.forbidden_content(data.title)
    if reason:
        problems.append(rules.Problem("title", reason, "the title describes something that may not be bought"))
    clash = db.session.scalar(sa.select(Contract).where(Contract.contract_no == data.contract_no.strip()))
    if clash is not None and clash is not existing:
        problems.append(rules.Problem("contract_no", f"合同编号 {data.contract_no} 已存在",
                                      f"contract {data.contract_no} exists"))
    if data.amount is None or Decimal(data.amount) < 0:
        problems.append(rules.Problem("amount", "合同金额不能为负", "the amount cannot be negative"))
    if any(v.level is not Level.VILLAGE for v in data.villages):
        problems.append(rules.Problem("service_area", "服务区域只能选择村", "the service area lists villages"))
    return problems


def _raise(problems: list[rules.Problem]) -> None:
    if problems:
        p = problems[0]
        raise ContractError("；".join(x.zh for x in problems), "; ".join(x.en for x in problems), p.field)


def create_contract(data: ContractData) -> Contract:
    _raise(check_contract(data))
    contract = Contract(contract_no=data.contract_no.strip(), title=data.title.strip(), provider=data.provider,
                        purchaser=data.purchaser.strip(), procurement_method=ProcurementMethod(data.procurement_method),
                        amount=Decimal(data.amount).quantize(Decimal("0.01")), budget_source=data.budget_source,
                        starts_on=data.starts_on, ends_on=data.ends_on, pricing_model=PricingModel(data.pricing_model),
                        payment_linked=data.payment_linked, status=ContractStatus.DRAFT,
                        villages=list(data.villages), thresholds={})
    db.session.add(contract)
    db.session.flush()
    _status_row(contract, None, ContractStatus.DRAFT, today(), "登记合同")
    audit.record(events.ContractSaved(contract_id=contract.id, contract_no=contract.contract_no, changed=["created"]))
    return contract


def update_draft(contract: Contract, data: ContractData) -> list[str]:
    """A draft can be edited freely; a signed contract changes only by amendment."""
    if contract.status is not ContractStatus.DRAFT:
        raise ContractError("已生效的合同只能通过合同变更修改", "only a draft can be edited; amend a signed contract")
    _raise(check_contract(data, existing=contract))
    values = {"contract_no": data.contract_no.strip(), "title": data.title.strip(), "provider": data.provider,
              "purchaser": data.purchaser.strip(), "procurement_method": ProcurementMethod(data.procurement_method),
              "amount": Decimal(data.amount).quantize(Decimal("0.01")), "budget_source": data.budget_source,
              "starts_on": data.starts_on, "ends_on": data.ends_on, "pricing_model": PricingModel(data.pricing_model),
              "payment_linked": data.payment_linked}
    changed = [k for k, v in values.items() if getattr(contract, k) != v]
    for k in changed:
        setattr(contract, k, values[k])
    if {v.id for v in contract.villages} != {v.id for v in data.villages}:
        contract.villages = list(data.villages)
        changed.append("service_area")
    if changed:
        db.session.flush()
        audit.record(events.ContractSaved(contract_id=contract.id, contract_no=contract.contract_no, changed=changed))
    return changed


def add_obligation(contract: Contract, service_type_code: str, period: Period | str, target: int,
                   unit: Unit | str, extra_rule: str | None = None, *, amending: bool = False) -> Obligation:
    if contract.status is not ContractStatus.DRAFT and not amending:
        raise ContractError("已生效的合同只能通过合同变更增加服务义务", "obligations of a signed contract change by amendment")
    st = purchasable_type(service_type_code)
    if int(target) <= 0:
        raise ContractError("目标数量须为正整数", "the target must be a positive integer", "target")
    period, unit = Period(period), Unit(unit)
    if unit is Unit.CASES and not st.case_linked:
        raise ContractError(f"“{st.name_zh}”不与家庭关联，不能按户计量", "this type is not tied to households", "unit")
    duplicate = next((o for o in contract.obligations if o.ended_in_version is None and
                      (o.service_type_code, o.period, o.unit) == (st.code, period, unit)), None)
    if duplicate is not None:
        raise ContractError("该服务义务已存在", "this obligation exists already")
    obligation = Obligation(contract=contract, service_type=st, period=period, target=int(target), unit=unit,
                            extra_rule=extra_rule or None)
    db.session.add(obligation)
    db.session.flush()
    audit.record(events.ObligationSaved(contract_id=contract.id, service_type=st.code, period=period.value,
                                        target=int(target), unit=unit.value))
    return obligation


def active_obligations(contract: Contract) -> list[Obligation]:
    return [o for o in contract.obligations if o.ended_in_version is None]


def add_target(contract: Contract, group: TargetGroup | str, name: str, target_value, unit: str = "",
               comparison: str = ">=", computed_by: str | None = None) -> PerformanceTarget:
    if computed_by and computed_by not in rules.INDICATORS:
        raise ContractError("未知的计算方法", "unknown computation")
    if comparison not in (">=", "<="):
        raise ContractError("比较方式只能是 ≥ 或 ≤", "comparison is >= or <=")
    target = PerformanceTarget(contract=contract, group=TargetGroup(group), name=name.strip(),
                               target_value=Decimal(str(target_value)), unit=unit, comparison=comparison,
                               computed_by=computed_by or None)
    db.session.add(target)
    db.session.flush()
    audit.record(events.ContractSaved(contract_id=contract.id, contract_no=contract.contract_no,
                                      changed=[f"target:{target.name}"]))
    return target


def enter_target_value(target: PerformanceTarget, period: str, value, note: str, user: User) -> TargetValue:
    if target.computed_by:
        raise ContractError("该指标由平台数据计算，不能手工填写", "this indicator is computed from data")
    row = TargetValue(target=target, period=period.strip(), value=Decimal(str(value)), note=note.strip(),
                      entered_by=user, entered_at=utcnow())
    db.session.add(row)
    db.session.flush()
    audit.record(events.TargetValueEntered(contract_id=target.contract_id, target=target.name, period=period,
                                           value=str(value), note=note.strip()))
    return row


# --- status -----------------------------------------------------------------------------

TRANSITIONS = {
    ContractStatus.DRAFT: {ContractStatus.ACTIVE, ContractStatus.TERMINATED},
    ContractStatus.ACTIVE: {ContractStatus.SUSPENDED, ContractStatus.COMPLETED, ContractStatus.TERMINATED},
    ContractStatus.SUSPENDED: {ContractStatus.ACTIVE, ContractStatus.COMPLETED, ContractStatus.TERMINATED},
    ContractStatus.COMPLETED: set(),
    ContractStatus.TERMINATED: set(),
}
NEEDS_REASON = {ContractStatus.SUSPENDED, ContractStatus.TERMINATED}


def _status_row(contract, from_status, to_status, on, reason, user=None):
    db.session.add(StatusChange(contract=contract, from_status=from_status.value if from_status else None,
                                to_status=to_status.value, effective_on=on, reason=reason,
                                changed_by=user, changed_at=utcnow()))


def change_status(contract: Contract, to: ContractStatus | str, reason: str, user: User | None,
                  on: date | None = None) -> None:
    """Move a contract along draft → active → suspended → completed | terminated.

    Becoming active (again) needs a valid vetting approval of the provider on that day;
    the approval is recorded with the change and in the audit log.
    """
    to, on, reason = ContractStatus(to), on or today(), (reason or "").strip()
    current = contract.status
    if to not in TRANSITIONS[current]:
        raise ContractError(f"合同状态不能从“{current.label}”变为“{to.label}”",
                            f"a contract cannot go from {current.value} to {to.value}", "status")
    if to in NEEDS_REASON and not reason:
        raise ContractError(f"“{to.label}”须写明理由", f"{to.value} needs a reason", "reason")
    vetting = None
    if to is ContractStatus.ACTIVE:
        try:
            vetting = providers.require_valid_approval(contract.provider, on)
        except providers.ProviderError as exc:
            raise ContractError(exc.zh, exc.en, "status") from None
        contract.activated_under = vetting
    contract.status, contract.status_changed_on = to, on
    _status_row(contract, current, to, on, reason, user)
    db.session.flush()
    audit.record(events.ContractStatusChanged(
        contract_id=contract.id, contract_no=contract.contract_no, from_status=current.value, to_status=to.value,
        effective_on=on.isoformat(), reason=reason, vetting_id=vetting.id if vetting else None,
        vetting_valid_until=vetting.valid_until.isoformat() if vetting and vetting.valid_until else None))
    notifications.notify(providers._managers(contract.provider), "contract.status",
                         f"合同 {contract.contract_no}：{to.label}", reason, link=f"/contracts/{contract.id}")


# --- amendments -----------------------------------------------------------------------------

@dataclass
class AmendmentData:
    reason: str
    amount: Decimal | None = None
    ends_on: date | None = None
    add_obligations: list[tuple[str, str, int, str]] = field(default_factory=list)
    end_obligations: list[Obligation] = field(default_factory=list)


def amend(contract: Contract, data: AmendmentData, user: User | None) -> Amendment:
    if contract.status not in (ContractStatus.ACTIVE, ContractStatus.SUSPENDED):
        raise ContractError("只有已生效或暂停的合同才能变更；草稿可直接修改", "only a signed contract is amended")
    if not data.reason.strip():
        raise ContractError("合同变更须写明理由", "an amendment needs a reason", "reason")
    changes: dict = {}
    if data.amount is not None and Decimal(data.amount) != contract.amount:
        if Decimal(data.amount) < 0:
            raise ContractError("合同金额不能为负", "the amount cannot be negative", "amount")
        changes["amount"] = [str(contract.amount), str(Decimal(data.amount).quantize(Decimal("0.01")))]
    if data.ends_on is not None and data.ends_on != contract.ends_on:
        _raise(rules.term_problems(contract.starts_on, data.ends_on))
        changes["ends_on"] = [contract.ends_on.isoformat(), data.ends_on.isoformat()]
    version = contract.version + 1
    lines = []
    for obligation in data.end_obligations:
        if obligation.contract_id != contract.id or obligation.ended_in_version is not None:
            raise ContractError("该服务义务不属于本合同或已终止", "not an active obligation of this contract")
        obligation.ended_in_version = version
        lines.append(f"- {obligation.service_type_code} {obligation.target}/{obligation.period.value} {obligation.unit.value}")
    for code, period, target, unit in data.add_obligations:
        add_obligation(contract, code, period, target, unit, amending=True)
        lines.append(f"+ {code} {target}/{period} {unit}")
    if lines:
        changes["obligations"] = lines
    if not changes:
        raise ContractError("没有需要变更的内容", "nothing to change")
    if "amount" in changes:
        contract.amount = Decimal(changes["amount"][1])
    if "ends_on" in changes:
        contract.ends_on = data.ends_on
    contract.version = version
    amendment = Amendment(contract=contract, version=version, reason=data.reason.strip(), changes=changes,
                          changed_by=user, changed_at=utcnow())
    db.session.add(amendment)
    db.session.flush()
    audit.record(events.ContractAmended(contract_id=contract.id, contract_no=contract.contract_no, version=version,
                                        reason=data.reason.strip(), changes=changes))
    return amendment


# --- documents ---------------------------------------------------------------------------------

def add_document(contract: Contract, kind: DocumentKind | str, data: bytes, filename: str,
                 user: User) -> ContractDocument:
    if not data or len(data) > providers.MAX_DOCUMENT_BYTES:
        raise ContractError("文件为空或超过 20 MB", "the file is empty or larger than 20 MB")
    try:
        kind_of_content = content.check_document(data)
    except content.ContentError as exc:
        raise ContractError(exc.zh, exc.en) from None
    stored = get_storage().put(io.BytesIO(data))
    doc = ContractDocument(contract=contract, kind=DocumentKind(kind), sha256=stored.sha256,
                           filename=(filename or "document").replace("/", "_")[-200:], content_type=kind_of_content,
                           size=stored.size, uploaded_by=user, uploaded_at=utcnow())
    db.session.add(doc)
    db.session.flush()
    audit.record(events.ContractDocumentAdded(contract_id=contract.id, kind=doc.kind.value, sha256=stored.sha256,
                                              filename=doc.filename))
    return doc


# --- imports (spec: contracts import, contracts import-obligations) -------------------------

def _parse_uscc(text):
    try:
        return provider_rules.validate_uscc(text)
    except provider_rules.UsccError as exc:
        raise FieldError(exc.zh, exc.en) from None


def _parse_codes(text):
    codes = [c.strip() for c in text.replace("；", ";").split(";") if c.strip()]
    for c in codes:
        if not (c.isdigit() and 6 <= len(c) <= 12):
            raise FieldError(f"村代码“{c}”无效", f"invalid village code {c!r}")
    return codes


STATUS_WORDS = {"draft": "草稿", "active": "生效", "suspended": "暂停", "completed": "完成", "terminated": "终止"}
PRICING_WORDS = {"output": "按服务成果", "per_head": "按人头/人月", "lump_sum": "总价包干"}

CONTRACT_COLUMNS = [
    Column("contract_no", "合同编号", required=True),
    Column("title", "项目名称", required=True),
    Column("provider_uscc", "承接主体代码", required=True, parse=_parse_uscc),
    Column("purchaser", "购买主体", required=True),
    Column("amount", "合同金额", required=True, parse=parse_decimal),
    Column("starts_on", "开始日期", required=True, parse=parse_date),
    Column("ends_on", "结束日期", required=True, parse=parse_date),
    Column("pricing_model", "计价方式", required=True, parse=parse_choice(PRICING_WORDS)),
    Column("payment_linked", "付款与考核挂钩", required=True, parse=parse_flag),
    Column("service_area", "服务区域", parse=_parse_codes),
    Column("status", "状态", parse=parse_choice(STATUS_WORDS)),
    Column("procurement_method", "采购方式", parse=parse_choice(
        {m.value: z for m, z in zip(ProcurementMethod, ["公开招标", "竞争性磋商", "竞争性谈判", "单一来源", "询价",
                                                         "框架协议", "其他"], strict=True)})),
]

OBLIGATION_COLUMNS = [
    Column("contract_no", "合同编号", required=True),
    Column("service_type", "服务类型", required=True),
    Column("period", "周期", required=True, parse=parse_choice({"month": "月", "quarter": "季度", "year": "年"})),
    Column("target", "目标数量", required=True, parse=parse_int(1)),
    Column("unit", "计量单位", required=True, parse=parse_choice({"records": "次", "cases": "户", "hours": "小时"})),
]


def _read(data, columns, filename, encoding, report):
    try:
        return read_table(data, columns, encoding=encoding, filename=filename)
    except TableError as exc:
        report.errors = exc.errors
        return None, None


def import_contracts(data: bytes, *, filename: str = "", encoding: str = "utf-8", partial: bool = False,
                     user: User | None = None) -> ImportReport:
    """Matched on contract_no. A new contract is saved as a draft and then moved to the
    status of its row through the same checks as on the page (the vetting gate)."""
    report = ImportReport()
    rows, errors = _read(data, CONTRACT_COLUMNS, filename, encoding, report)
    if rows is None:
        return report
    villages = {r.code: r for r in db.session.scalars(sa.select(Region).where(Region.level == Level.VILLAGE))}
    good, seen = [], {}
    for row in rows:
        v, errs = row.values, []
        if v["contract_no"] in seen:
            errs.append(RowError(row.number, "contract_no", f"合同编号与第 {seen[v['contract_no']]} 行重复",
                                 f"contract_no repeats row {seen[v['contract_no']]}"))
        seen.setdefault(v["contract_no"], row.number)
        provider = providers.get_by_uscc(v["provider_uscc"])
        if provider is None:
            errs.append(RowError(row.number, "provider_uscc", f"承接主体 {v['provider_uscc']} 尚未登记",
                                 f"provider {v['provider_uscc']} is not registered"))
        unknown = [c for c in (v["service_area"] or []) if c not in villages]
        if unknown:
            errs.append(RowError(row.number, "service_area", "服务区域中的村代码不存在：" + "、".join(unknown),
                                 "unknown village codes: " + ", ".join(unknown)))
        status = ContractStatus(v["status"] or "active")
        for p in rules.term_problems(v["starts_on"], v["ends_on"]):
            errs.append(RowError(row.number, p.field, p.zh, p.en))
        reason = rules.forbidden_content(v["title"])
        if reason:
            errs.append(RowError(row.number, "title", reason, "the title describes something that may not be bought"))
        existing = db.session.scalar(sa.select(Contract).where(Contract.contract_no == v["contract_no"]))
        if provider is not None and status is ContractStatus.ACTIVE and (
                existing is None or existing.status is not ContractStatus.ACTIVE):
            state = providers.approval_state(provider)
            if not state.valid:
                words = {"none": "尚未通过资格审查", "rejected": "资格审查未通过", "expired": "资格审查已过期"}
                errs.append(RowError(row.number, "status",
                                     f"承接主体“{provider.name}”{words[state.status]}，合同不能为生效状态",
                                     f"provider {provider.uscc} has no valid vetting approval"))
        if existing is not None and existing.status is not ContractStatus.DRAFT and _differs(existing, v, villages):
            errs.append(RowError(row.number, "contract_no", "已生效的合同只能通过合同变更修改，不能用导入覆盖",
                                 "a signed contract changes by amendment, not by import"))
        errors.extend(errs)
        if not errs:
            good.append((row, provider, status, existing))
    report.errors = sorted(errors, key=lambda e: (e.row, e.column or ""))
    report.rejected = len({e.row for e in report.errors})
    if report.errors and not partial:
        return report
    pending_activation = []
    for row, provider, status, existing in good:
        v = row.values
        row_data = ContractData(contract_no=v["contract_no"], title=v["title"], provider=provider,
                            purchaser=v["purchaser"], procurement_method=v["procurement_method"] or "other",
                            amount=v["amount"], starts_on=v["starts_on"], ends_on=v["ends_on"],
                            pricing_model=v["pricing_model"], payment_linked=bool(v["payment_linked"]),
                            villages=[villages[c] for c in (v["service_area"] or [])])
        if existing is None:
            contract = create_contract(row_data)
            report.imported += 1
        else:
            contract = existing
            if contract.status is ContractStatus.DRAFT and update_draft(contract, row_data):
                report.updated += 1
        # Only new contracts and drafts take their status from the file; a signed
        # contract changes status on its page, with a reason.
        if contract.status is ContractStatus.DRAFT and status is not ContractStatus.DRAFT:
            pending_activation.append((contract, status))
    for contract, status in pending_activation:
        _move_to(contract, status, user)
    report.written = True
    db.session.flush()
    audit.record(events.ContractsImported(filename=filename, sha256=hashlib.sha256(data).hexdigest(),
                                          kind="contracts", imported=report.imported, updated=report.updated,
                                          rejected=report.rejected))
    return report


def _differs(contract: Contract, v: dict, villages) -> bool:
    return (contract.title != v["title"] or contract.amount != v["amount"] or contract.starts_on != v["starts_on"]
            or contract.ends_on != v["ends_on"] or contract.pricing_model.value != v["pricing_model"]
            or contract.payment_linked != bool(v["payment_linked"])
            or {r.code for r in contract.villages} != set(v["service_area"] or []))


def _move_to(contract: Contract, status: ContractStatus, user) -> None:
    """Walk a new contract from draft to the status its row asks for, through the same
    checks as the page (the vetting gate on the way to active)."""
    path = {ContractStatus.ACTIVE: [ContractStatus.ACTIVE],
            ContractStatus.SUSPENDED: [ContractStatus.ACTIVE, ContractStatus.SUSPENDED],
            ContractStatus.COMPLETED: [ContractStatus.ACTIVE, ContractStatus.COMPLETED],
            ContractStatus.TERMINATED: [ContractStatus.TERMINATED]}.get(status, [])
    for step in path:
        if contract.status is not step:
            change_status(contract, step, "按导入文件设定状态", user)


def import_obligations(data: bytes, *, filename: str = "", encoding: str = "utf-8", partial: bool = False,
                       user: User | None = None) -> ImportReport:
    """Matched on (contract_no, service_type, period, unit). On a signed contract a
    changed target is an amendment (the old obligation ends, the new one begins)."""
    report = ImportReport()
    rows, errors = _read(data, OBLIGATION_COLUMNS, filename, encoding, report)
    if rows is None:
        return report
    good, seen = [], {}
    for row in rows:
        v, errs = row.values, []
        contract = db.session.scalar(sa.select(Contract).where(Contract.contract_no == v["contract_no"]))
        if contract is None:
            errs.append(RowError(row.number, "contract_no", f"合同 {v['contract_no']} 不存在",
                                 f"contract {v['contract_no']} does not exist"))
        try:
            purchasable_type(v["service_type"])
        except ContractError as exc:
            errs.append(RowError(row.number, "service_type", exc.zh, exc.en))
        key = (v["contract_no"], v["service_type"], v["period"], v["unit"])
        if key in seen:
            errs.append(RowError(row.number, "service_type", f"与第 {seen[key]} 行重复", f"repeats row {seen[key]}"))
        seen.setdefault(key, row.number)
        if contract is not None and contract.status in (ContractStatus.COMPLETED, ContractStatus.TERMINATED):
            errs.append(RowError(row.number, "contract_no", "合同已结束，不能增加服务义务", "the contract has ended"))
        errors.extend(errs)
        if not errs:
            good.append((row, contract))
    report.errors = sorted(errors, key=lambda e: (e.row, e.column or ""))
    report.rejected = len({e.row for e in report.errors})
    if report.errors and not partial:
        return report
    for row, contract in good:
        v = row.values
        current = next((o for o in active_obligations(contract) if (o.service_type_code, o.period.value, o.unit.value)
                        == (v["service_type"], v["period"], v["unit"])), None)
        if current is None:
            add_obligation(contract, v["service_type"], v["period"], v["target"], v["unit"],
                           amending=contract.status is not ContractStatus.DRAFT)
            report.imported += 1
        elif current.target != v["target"]:
            if contract.status is ContractStatus.DRAFT:
                current.target = v["target"]
                audit.record(events.ObligationSaved(contract_id=contract.id, service_type=v["service_type"],
                                                    period=v["period"], target=v["target"], unit=v["unit"]))
            else:
                amend(contract, AmendmentData(reason="导入服务义务", end_obligations=[current],
                                              add_obligations=[(v["service_type"], v["period"], v["target"], v["unit"])]),
                      user)
            report.updated += 1
    report.written = True
    db.session.flush()
    audit.record(events.ContractsImported(filename=filename, sha256=hashlib.sha256(data).hexdigest(),
                                          kind="obligations", imported=report.imported, updated=report.updated,
                                          rejected=report.rejected))
    return report


# --- lists ----------------------------------------------------------------------------------

def search(user: User, text: str = "", status: str = "") -> list[Contract]:
    query = (sa.select(Contract).join(Provider).order_by(Contract.starts_on.desc(), Contract.contract_no)
             .options(sa.orm.contains_eager(Contract.provider),
                      sa.orm.selectinload(Contract.obligations).joinedload(Obligation.service_type)))
    if user.role.is_provider:
        query = query.where(Provider.organisation_id == user.organisation_id)
    if text:
        like = f"%{text.strip()}%"
        query = query.where(sa.or_(Contract.contract_no.like(like), Contract.title.like(like), Provider.name.like(like)))
    if status:
        query = query.where(Contract.status == status)
    return db.session.scalars(query).all()


def contracts_of(provider: Provider) -> list[Contract]:
    return db.session.scalars(sa.select(Contract).where(Contract.provider_id == provider.id)
                              .order_by(Contract.starts_on.desc())).all()


def service_area_condition(subject):
    """SQL condition on cases: in a village of the subject's provider's running contracts."""
    from reliefsvc.cases.models import Case
    from reliefsvc.contracts.models import contract_village

    villages = sa.select(contract_village.c.region_id).join(Contract, Contract.id == contract_village.c.contract_id) \
        .join(Provider, Provider.id == Contract.provider_id).where(
            Provider.organisation_id == subject.organisation_id,
            Contract.status.in_([ContractStatus.ACTIVE, ContractStatus.SUSPENDED]))
    return Case.village_id.in_(villages)


def officers() -> list[int]:
    return db.session.scalars(sa.select(User.id).where(User.role == Role.OFFICER, User.is_enabled.is_(True))).all()


# --- progress counters --------------------------------------------------------------------

_UPSERTS: dict[tuple, sa.Insert] = {}


def _upsert(model, keys: dict, deltas: dict) -> None:
    """Add ``deltas`` to a counter row, creating it when missing, in one statement.

    The statement is built once per shape and reused with new values: building it is
    most of the cost of a counter update.
    """
    dialect = db.session.get_bind().dialect.name
    shape = (dialect, model, tuple(keys), tuple(deltas))
    stmt = _UPSERTS.get(shape)
    if stmt is None:
        insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)
        stmt = insert.on_conflict_do_update(
            index_elements=list(keys), set_={k: getattr(model, k) + getattr(insert.excluded, k) for k in deltas})
        _UPSERTS[shape] = stmt
    # Counters are plain rows nobody holds as objects: no need to flush the session first.
    with db.session.no_autoflush:
        db.session.execute(stmt, {**keys, **deltas})


def count_record(contract_id: int, service_type_code: str, month: str, case_id: int | None, minutes: int,
                 state: str, sign: int) -> None:
    """Count (sign +1) or uncount (-1) a service record in ``state`` (submitted,
    accepted, rejected) in the month counters. A state change is one of each."""
    keys = {"contract_id": contract_id, "service_type_code": service_type_code, "month": month}
    if state == "rejected":
        _upsert(MonthCounter, keys, {"rejected": sign})
        return
    _upsert(MonthCounter, keys, {"delivered": sign, "accepted": sign if state == "accepted" else 0,
                                 "minutes": sign * max(0, int(minutes))})
    if case_id is not None:
        _upsert(MonthCase, {**keys, "case_id": case_id}, {"records": sign})


# --- issue 16: the ledger import counts its new records in bulk ---
def count_records_bulk(contract_id: int, months: dict[tuple[str, str], list[int]],
                       households: dict[tuple[str, str, int], int]) -> None:
    """``count_record(..., "submitted", +1)`` for many records at once: ``months`` maps
    (service type, month) to [records, minutes], ``households`` (type, month, case id) to records."""
    _upsert_many(MonthCounter, ("contract_id", "service_type_code", "month"), ("delivered", "accepted", "minutes"),
                 [{"contract_id": contract_id, "service_type_code": code, "month": month, "delivered": records,
                   "accepted": 0, "minutes": minutes} for (code, month), (records, minutes) in sorted(months.items())])
    _upsert_many(MonthCase, ("contract_id", "service_type_code", "month", "case_id"), ("records",),
                 [{"contract_id": contract_id, "service_type_code": code, "month": month, "case_id": case_id,
                   "records": records} for (code, month, case_id), records in sorted(households.items())])


def _upsert_many(model, keys: tuple[str, ...], deltas: tuple[str, ...], rows: list[dict]) -> None:
    """``_upsert`` for many rows of distinct keys: one statement, executed for all of them."""
    if not rows:
        return
    _upsert(model, {k: rows[0][k] for k in keys}, {k: rows[0][k] for k in deltas})  # builds and caches the statement
    stmt = _UPSERTS[(db.session.get_bind().dialect.name, model, keys, deltas)]
    with db.session.no_autoflush:
        for start in range(0, len(rows) - 1, 5000):
            db.session.execute(stmt, rows[1 + start:1 + start + 5000])


def count_refuted(contract_id: int, service_type_code: str, month: str, sign: int = 1) -> None:
    _upsert(MonthCounter, {"contract_id": contract_id, "service_type_code": service_type_code, "month": month},
            {"refuted": sign})


def with_targets(contract: Contract) -> Contract:
    """The contract with its performance targets, their entered values and who entered them
    (the contract page's live table) in three statements, not one per target."""
    return db.session.scalars(sa.select(Contract).where(Contract.id == contract.id).options(
        sa.orm.selectinload(Contract.targets).selectinload(PerformanceTarget.values)
        .joinedload(TargetValue.entered_by))).one()
