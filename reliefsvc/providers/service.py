"""Operations on providers, staff, vettings and relations. They flush, never commit."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from reliefsvc import audit
from reliefsvc.common import idnumber
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
    parse_flag,
    read_table,
)
from reliefsvc.db import utcnow
from reliefsvc.evidence import content, get_storage
from reliefsvc.extensions import db
from reliefsvc.notifications import service as notifications
from reliefsvc.providers import events, rules
from reliefsvc.providers.models import (
    ChecklistItem,
    OrgType,
    Provider,
    ProviderDocument,
    Relation,
    RelationKind,
    RelationStatus,
    Staff,
    StaffRole,
    Verdict,
    Vetting,
    VettingItem,
    VettingStatus,
)
from reliefsvc.security.models import Organisation, OrgKind, Role, User


class ProviderError(BilingualError):
    """An operation that cannot be done; ``zh`` and ``en`` say why."""


today = today_local


# --- parsing ----------------------------------------------------------------------------

def parse_uscc(text: str) -> str:
    try:
        return rules.validate_uscc(text)
    except rules.UsccError as exc:
        raise FieldError(exc.zh, exc.en) from None


def parse_id_number(text: str) -> str:
    try:
        return idnumber.validate(text)
    except idnumber.IdNumberError as exc:
        raise FieldError(exc.zh, exc.en) from None


def parse_mobile(text: str) -> str:
    digits = text.replace(" ", "").replace("-", "")
    if not (len(digits) == 11 and digits.isdigit() and digits.startswith("1")):
        raise FieldError("手机号应为 11 位数字", "a mobile number has 11 digits")
    return digits


ORG_TYPES = {"social_org": "社会组织", "enterprise": "企业", "public_institution": "事业单位"}
STAFF_ROLES = {"coordinator": "协理员", "social_worker": "社工", "manager": "管理人员", "other": "其他"}

PROVIDER_COLUMNS = [
    Column("uscc", "统一社会信用代码", required=True, parse=parse_uscc),
    Column("name", "名称", required=True),
    Column("org_type", "组织类型", required=True, parse=parse_choice(ORG_TYPES)),
    Column("registered_on", "登记日期", parse=parse_date),
    Column("legal_rep", "法定代表人"),
    Column("phone", "联系电话"),
    Column("address", "地址"),
    Column("vetted_on", "审查日期", parse=parse_date),
    Column("vetted_by", "审查人"),
    Column("vetting_valid_until", "审查有效期至", parse=parse_date),
]

STAFF_COLUMNS = [
    Column("name", "姓名", required=True),
    Column("id_number", "身份证号", required=True, parse=parse_id_number),
    Column("phone", "手机号", parse=parse_mobile),
    Column("role", "岗位", required=True, parse=parse_choice(STAFF_ROLES)),
    Column("qualification", "资格"),
    Column("hired_on", "入职日期", parse=parse_date),
    Column("nominated_by_purchaser", "采购方指定", parse=parse_flag),
    Column("attendance_by_purchaser", "采购方考勤", parse=parse_flag),
]


def _assign(obj, values: dict) -> list[str]:
    """Set attributes; return the names of those that changed."""
    changed = []
    for key, value in values.items():
        if getattr(obj, key) != value:
            setattr(obj, key, value)
            changed.append(key)
    return changed


def _read(data: bytes, columns, filename: str, encoding: str, report: ImportReport):
    try:
        return read_table(data, columns, encoding=encoding, filename=filename)
    except TableError as exc:
        report.errors = exc.errors
        return None, None


# --- providers ----------------------------------------------------------------------------

def get_by_uscc(uscc: str) -> Provider | None:
    return db.session.scalar(sa.select(Provider).where(Provider.uscc == uscc))


def create_provider(uscc: str, name: str, org_type: OrgType | str, **details) -> Provider:
    uscc = rules.validate_uscc(uscc)
    if get_by_uscc(uscc) is not None:
        raise ProviderError(f"统一社会信用代码 {uscc} 已登记", f"USCC {uscc} is already registered")
    org = db.session.scalar(sa.select(Organisation).where(Organisation.name == name))
    if org is None:
        from reliefsvc.security import service as security

        org = security.get_or_create_organisation(name, OrgKind.PROVIDER)
    elif org.kind is not OrgKind.PROVIDER:
        raise ProviderError(f"“{name}”已作为非承接主体机构登记", f"{name!r} exists as another kind of organisation")
    provider = Provider(organisation=org, uscc=uscc, name=name, org_type=OrgType(org_type), **details)
    db.session.add(provider)
    db.session.flush()
    audit.record(events.ProviderSaved(provider_id=provider.id, uscc=uscc, changed=["created"]))
    return provider


def update_provider(provider: Provider, values: dict) -> list[str]:
    changed = _assign(provider, values)
    if "name" in changed:
        provider.organisation.name = provider.name
    if changed:
        db.session.flush()
        audit.record(events.ProviderSaved(provider_id=provider.id, uscc=provider.uscc, changed=changed))
    return changed


def import_providers(data: bytes, *, filename: str = "", encoding: str = "utf-8",
                     partial: bool = False) -> ImportReport:
    """``providers import`` of the interchange spec; matched on the USCC."""
    report = ImportReport()
    rows, errors = _read(data, PROVIDER_COLUMNS, filename, encoding, report)
    if rows is None:
        return report
    seen: dict[str, int] = {}
    good = []
    for row in rows:
        v = row.values
        row_errors = []
        if v["uscc"] in seen:
            row_errors.append(RowError(row.number, "uscc", f"统一社会信用代码与第 {seen[v['uscc']]} 行重复",
                                       f"uscc repeats row {seen[v['uscc']]}"))
        seen.setdefault(v["uscc"], row.number)
        if v["vetting_valid_until"] and not v["vetted_on"]:
            row_errors.append(RowError(row.number, "vetting_valid_until", "填写审查有效期须同时填写审查日期",
                                       "vetting_valid_until needs vetted_on"))
        if v["vetted_on"] and not v["vetted_by"]:
            row_errors.append(RowError(row.number, "vetted_by", "填写审查日期须同时填写审查人",
                                       "vetted_on needs vetted_by"))
        if v["vetted_on"] and v["vetting_valid_until"] and v["vetting_valid_until"] <= v["vetted_on"]:
            row_errors.append(RowError(row.number, "vetting_valid_until", "审查有效期应晚于审查日期",
                                       "vetting_valid_until must be after vetted_on"))
        name_owner = db.session.scalar(sa.select(Provider.uscc).where(Provider.name == v["name"]))
        if name_owner and name_owner != v["uscc"]:
            row_errors.append(RowError(row.number, "name", f"名称已被统一社会信用代码为 {name_owner} 的承接主体使用",
                                       f"the name belongs to provider {name_owner}"))
        errors.extend(row_errors)
        if not row_errors:
            good.append(row)
    report.errors = sorted(errors, key=lambda e: (e.row, e.column or ""))
    report.rejected = len({e.row for e in report.errors})
    if report.errors and not partial:
        return report
    for row in good:
        v = row.values
        details = {"name": v["name"], "org_type": OrgType(v["org_type"]), "registered_on": v["registered_on"],
                   "legal_rep": v["legal_rep"], "phone": v["phone"], "address": v["address"]}
        provider = get_by_uscc(v["uscc"])
        if provider is None:
            provider = create_provider(v["uscc"], **details)
            report.imported += 1
        elif update_provider(provider, details):
            report.updated += 1
        if v["vetted_on"]:
            record_external_vetting(provider, v["vetted_on"], v["vetted_by"],
                                    v["vetting_valid_until"] or rules.default_validity(v["vetted_on"]))
    report.written = True
    db.session.flush()
    audit.record(events.ProvidersImported(filename=filename, sha256=hashlib.sha256(data).hexdigest(),
                                          imported=report.imported, updated=report.updated,
                                          rejected=report.rejected))
    return report


def record_external_vetting(provider: Provider, vetted_on: date, vetted_by: str, valid_until: date) -> Vetting:
    """A vetting done outside the platform, recorded as such (once per date and validity)."""
    existing = db.session.scalar(sa.select(Vetting).where(
        Vetting.provider_id == provider.id, Vetting.external.is_(True),
        Vetting.decided_on == vetted_on, Vetting.valid_until == valid_until))
    if existing is not None:
        return existing
    vetting = Vetting(provider=provider, status=VettingStatus.APPROVED, decided_on=vetted_on,
                      valid_until=valid_until, external=True, external_vetted_by=vetted_by)
    db.session.add(vetting)
    db.session.flush()
    audit.record(events.ExternalVettingRecorded(vetting_id=vetting.id, provider_id=provider.id,
                                                vetted_on=vetted_on.isoformat(), vetted_by=vetted_by,
                                                valid_until=valid_until.isoformat()))
    return vetting


# --- staff ------------------------------------------------------------------------------------

def active_elsewhere(id_number: str, provider: Provider) -> Staff | None:
    return db.session.scalar(sa.select(Staff).where(
        Staff.id_number == id_number, Staff.left_on.is_(None), Staff.provider_id != provider.id))


def import_staff(provider: Provider, data: bytes, *, filename: str = "", encoding: str = "utf-8",
                 partial: bool = False) -> ImportReport:
    """``providers import-staff``: matched on the ID number within the provider."""
    report = ImportReport()
    rows, errors = _read(data, STAFF_COLUMNS, filename, encoding, report)
    if rows is None:
        return report
    seen: dict[str, int] = {}
    good = []
    for row in rows:
        v = row.values
        number = v["id_number"]
        if number in seen:
            errors.append(RowError(row.number, "id_number", f"身份证号与第 {seen[number]} 行重复",
                                   f"id_number repeats row {seen[number]}"))
            continue
        seen[number] = row.number
        other = active_elsewhere(number, provider)
        if other is not None:
            errors.append(RowError(row.number, "id_number",
                                   f"此人仍在“{other.provider.name}”的在岗名册上，须先在该机构办理离岗",
                                   f"this person is still on the active roster of {other.provider.uscc}"))
            continue
        good.append(row)
    report.errors = sorted(errors, key=lambda e: (e.row, e.column or ""))
    report.rejected = len({e.row for e in report.errors})
    if report.errors and not partial:
        return report
    existing = {s.id_number: s for s in db.session.scalars(sa.select(Staff).where(Staff.provider_id == provider.id))}
    for row in good:
        v = row.values
        values = {"name": v["name"], "phone": v["phone"], "role": StaffRole(v["role"]),
                  "qualification": v["qualification"], "hired_on": v["hired_on"],
                  "nominated_by_purchaser": bool(v["nominated_by_purchaser"]),
                  "attendance_by_purchaser": bool(v["attendance_by_purchaser"])}
        staff = existing.get(v["id_number"])
        if staff is None:
            staff = Staff(provider=provider, id_number=v["id_number"], **values)
            db.session.add(staff)
            db.session.flush()
            audit.record(events.StaffSaved(staff_id=staff.id, provider_id=provider.id, changed=["created"]))
            report.imported += 1
        else:
            changed = _assign(staff, values)
            if changed:
                db.session.flush()
                audit.record(events.StaffSaved(staff_id=staff.id, provider_id=provider.id, changed=changed))
                report.updated += 1
    report.written = True
    db.session.flush()
    audit.record(events.StaffImported(provider_id=provider.id, filename=filename,
                                      sha256=hashlib.sha256(data).hexdigest(), imported=report.imported,
                                      updated=report.updated, rejected=report.rejected))
    return report


def add_staff(provider: Provider, *, id_number: str, name: str, role: StaffRole | str, **details) -> Staff:
    id_number = idnumber.validate(id_number)
    other = active_elsewhere(id_number, provider) if details.get("left_on") is None else None
    if other is not None:
        raise ProviderError(f"此人仍在“{other.provider.name}”的在岗名册上，须先在该机构办理离岗",
                            f"this person is still on the active roster of {other.provider.name}")
    if db.session.scalar(sa.select(Staff.id).where(Staff.provider_id == provider.id, Staff.id_number == id_number)):
        raise ProviderError("此人已在本机构名册上", "this person is already on the roster")
    staff = Staff(provider=provider, id_number=id_number, name=name.strip(), role=StaffRole(role), **details)
    db.session.add(staff)
    db.session.flush()
    audit.record(events.StaffSaved(staff_id=staff.id, provider_id=provider.id, changed=["created"]))
    return staff


def mark_left(staff: Staff, left_on: date) -> None:
    if staff.hired_on and left_on < staff.hired_on:
        raise ProviderError("离岗日期不能早于入职日期", "the leaving date is before the hiring date")
    staff.left_on = left_on
    db.session.flush()
    audit.record(events.StaffSaved(staff_id=staff.id, provider_id=staff.provider_id, changed=["left_on"]))


def reveal_id_number(staff: Staff, reason: str) -> str:
    """The full ID number, for an officer who says why; the reveal is in the audit log."""
    reason = reason.strip()
    if len(reason) < 2:
        raise ProviderError("请说明查看完整身份证号的理由", "a reason is required to reveal an ID number")
    audit.record(events.IdNumberRevealed(staff_id=staff.id, provider_id=staff.provider_id, reason=reason[:200]))
    return staff.id_number


# --- checklist ----------------------------------------------------------------------------

#: The default vetting checklist (section 十三 and the Ministry of Finance order No. 102).
DEFAULT_CHECKLIST = [
    ("registration", "依法登记且登记证书在有效期内", "核对登记证书或营业执照、统一社会信用代码、业务范围是否包含社会工作或社会救助服务。", True),
    ("annual_report", "年检或年度报告合格", "近两年年检结论或年度报告公示情况。", True),
    ("no_violation", "近三年无重大违法记录、未列入失信名单", "查询信用中国、社会组织信用信息公示平台，并由承接主体出具书面声明。", True),
    ("tax_insurance", "依法缴纳税收和社会保险", "近一年纳税证明和社会保险缴费记录。", True),
    ("professional_staff", "具备专业人员", "持证社会工作者（助理社会工作师及以上）占服务人员比例，及人员名册。", True),
    ("finances", "财务制度健全、财务状况良好", "上一年度财务报表或审计报告。", True),
    ("capacity", "具备提供服务的能力", "办公场所、服务经验、同类项目业绩、服务方案。", True),
    ("conflict", "利益冲突声明", "承接主体及其人员与购买主体工作人员、村（社区）两委成员、服务对象是否存在近亲属关系的声明。", True),
]


def ensure_default_checklist() -> int:
    """Create the default items if the checklist is empty; returns how many were made."""
    if db.session.scalar(sa.select(sa.func.count()).select_from(ChecklistItem)):
        return 0
    for position, (code, title, guidance, needs_document) in enumerate(DEFAULT_CHECKLIST, start=1):
        db.session.add(ChecklistItem(code=code, title=title, guidance=guidance, needs_document=needs_document,
                                     position=position * 10))
    db.session.flush()
    return len(DEFAULT_CHECKLIST)


def checklist(include_retired: bool = False) -> list[ChecklistItem]:
    query = sa.select(ChecklistItem).order_by(ChecklistItem.position, ChecklistItem.id)
    if not include_retired:
        query = query.where(ChecklistItem.is_active.is_(True))
    return db.session.scalars(query).all()


def save_checklist_item(item: ChecklistItem | None, *, code: str, title: str, guidance: str,
                        needs_document: bool, position: int, is_active: bool) -> ChecklistItem:
    code = code.strip()
    clash = db.session.scalar(sa.select(ChecklistItem).where(ChecklistItem.code == code))
    if clash is not None and clash is not item:
        raise ProviderError(f"代码“{code}”已被其他审查事项使用", f"code {code!r} is taken")
    if item is None:
        item = ChecklistItem(code=code)
        db.session.add(item)
    _assign(item, {"code": code, "title": title.strip(), "guidance": guidance.strip(),
                   "needs_document": needs_document, "position": position, "is_active": is_active})
    db.session.flush()
    audit.record(events.ChecklistChanged(item_id=item.id, code=item.code, title=item.title, is_active=is_active))
    return item


# --- vetting ------------------------------------------------------------------------------

def open_vetting(provider: Provider, user: User) -> Vetting:
    if any(v.status is VettingStatus.OPEN for v in provider.vettings):
        raise ProviderError("该承接主体已有进行中的审查", "a vetting of this provider is already open")
    ensure_default_checklist()
    items = checklist()
    vetting = Vetting(provider=provider, status=VettingStatus.OPEN, opened_by=user)
    vetting.items = [VettingItem(checklist_item_id=i.id, title=i.title, needs_document=i.needs_document,
                                 position=i.position) for i in items]
    db.session.add(vetting)
    db.session.flush()
    audit.record(events.VettingOpened(vetting_id=vetting.id, provider_id=provider.id, items=len(items)))
    notifications.notify(_managers(provider), "vetting.opened", f"{provider.name}：资格审查已开始",
                         "请在平台上提交审查所需材料和利益冲突声明。", link=f"/providers/{provider.id}")
    return vetting


def set_verdict(item: VettingItem, verdict: Verdict | str, remark: str, user: User) -> None:
    verdict = Verdict(verdict)
    remark = (remark or "").strip()
    if item.vetting.status is not VettingStatus.OPEN:
        raise ProviderError("审查已作出决定，不能再修改", "the vetting is decided and cannot change")
    if verdict is Verdict.PASS and item.needs_document and not item.documents:
        raise ProviderError(f"“{item.title}”须有证明材料才能判定为通过",
                            f"{item.title!r} needs a document before it can pass")
    if verdict in (Verdict.FAIL, Verdict.NOT_APPLICABLE) and not remark:
        raise ProviderError("判定为不通过或不适用时须填写说明", "a remark is required for fail or not applicable")
    item.verdict, item.remark = verdict, remark
    item.checked_by, item.checked_at = user, utcnow()
    db.session.flush()
    audit.record(events.VettingItemChecked(vetting_id=item.vetting_id, item=item.title, verdict=verdict.value,
                                           remark=remark))


@dataclass(frozen=True)
class Decision:
    status: VettingStatus
    valid_until: date | None = None
    conditions: str | None = None
    condition_deadline: date | None = None
    reasons: str | None = None


def decide(vetting: Vetting, decision: Decision, user: User, on: date | None = None) -> None:
    """Approve (with a validity date), approve on conditions (with a deadline), or reject."""
    on = on or today()
    if vetting.status is not VettingStatus.OPEN:
        raise ProviderError("审查已作出决定", "the vetting is already decided")
    pending = [i.title for i in vetting.items if i.verdict is Verdict.PENDING]
    failed = [i.title for i in vetting.items if i.verdict is Verdict.FAIL]
    status = decision.status
    if status in (VettingStatus.APPROVED, VettingStatus.CONDITIONAL):
        if pending:
            raise ProviderError("尚有未审查的事项：" + "、".join(pending), "items not yet checked: " + ", ".join(pending))
        if not decision.valid_until or decision.valid_until <= on:
            raise ProviderError("请填写晚于今天的有效期", "a validity date after today is required")
    if status is VettingStatus.APPROVED and failed:
        raise ProviderError("有不通过的事项，只能附条件通过或不予通过：" + "、".join(failed),
                            "failed items allow only a conditional approval or a rejection")
    if status is VettingStatus.CONDITIONAL:
        if not (decision.conditions or "").strip():
            raise ProviderError("附条件通过须写明条件", "a conditional approval needs its conditions")
        if not decision.condition_deadline or decision.condition_deadline <= on:
            raise ProviderError("请填写晚于今天的整改期限", "a deadline after today is required")
        if decision.condition_deadline > decision.valid_until:
            raise ProviderError("整改期限不能晚于有效期", "the deadline cannot be after the validity date")
    if status is VettingStatus.REJECTED and not (decision.reasons or "").strip():
        raise ProviderError("不予通过须写明理由", "a rejection needs its reasons")
    if status is VettingStatus.OPEN:
        raise ProviderError("请选择审查结论", "choose a decision")
    vetting.status = status
    vetting.decided_on, vetting.decided_by = on, user
    vetting.valid_until = decision.valid_until if status is not VettingStatus.REJECTED else None
    vetting.conditions = (decision.conditions or "").strip() or None
    vetting.condition_deadline = decision.condition_deadline if status is VettingStatus.CONDITIONAL else None
    vetting.reasons = (decision.reasons or "").strip() or None
    db.session.flush()
    provider = vetting.provider
    audit.record(events.VettingDecided(
        vetting_id=vetting.id, provider_id=provider.id, uscc=provider.uscc, decision=status.value,
        decided_on=on.isoformat(), valid_until=vetting.valid_until.isoformat() if vetting.valid_until else None,
        conditions=vetting.conditions,
        condition_deadline=vetting.condition_deadline.isoformat() if vetting.condition_deadline else None,
        reasons=vetting.reasons,
        items={i.title: i.verdict.value for i in vetting.items}))
    words = {VettingStatus.APPROVED: "审查通过", VettingStatus.CONDITIONAL: "附条件通过",
             VettingStatus.REJECTED: "审查未通过"}
    notifications.notify(_managers(provider), "vetting.decided", f"{provider.name}：{words[status]}",
                         vetting.conditions or vetting.reasons or "", link=f"/providers/{provider.id}/vettings/{vetting.id}")


def confirm_conditions_met(vetting: Vetting, note: str, user: User) -> None:
    if vetting.status is not VettingStatus.CONDITIONAL or vetting.conditions_met_on:
        raise ProviderError("只有尚未确认的附条件通过才能确认整改完成", "only an open conditional approval can be confirmed")
    vetting.conditions_met_on = today()
    db.session.flush()
    audit.record(events.ConditionsMet(vetting_id=vetting.id, note=note.strip()))


def latest_decision(provider: Provider, on: date | None = None) -> Vetting | None:
    """The provider's latest decided vetting, as it stood on ``on`` (default: any date)."""
    query = sa.select(Vetting).where(Vetting.provider_id == provider.id, Vetting.status != VettingStatus.OPEN)
    if on is not None:
        query = query.where(Vetting.decided_on <= on)
    return db.session.scalar(query.order_by(Vetting.decided_on.desc(), Vetting.id.desc()).limit(1))


def approval_state(provider: Provider, on: date | None = None) -> rules.ApprovalState:
    """Where the provider stood on ``on``: a vetting decided later does not count back."""
    on = on or today()
    vetting = latest_decision(provider, on)
    if vetting is None:
        return rules.approval_state(None, None, None, False, on)
    return rules.approval_state(vetting.status.value, vetting.valid_until, vetting.condition_deadline,
                                vetting.conditions_met_on is not None, on)


def require_valid_approval(provider: Provider, on: date | None = None) -> Vetting:
    """The gate: a contract may become active only for a provider with a valid approval."""
    on = on or today()
    state = approval_state(provider, on)
    if not state.valid:
        words = {"none": "尚未通过资格审查", "rejected": "资格审查未通过", "expired": "资格审查已过期"}
        raise ProviderError(f"承接主体“{provider.name}”{words[state.status]}，合同不能生效",
                            f"provider {provider.uscc} has no valid vetting approval ({state.status})")
    return latest_decision(provider, on)


def approval_states(providers: list[Provider], on: date | None = None) -> dict[int, rules.ApprovalState]:
    """Approval states of many providers with one query."""
    on = on or today()
    ids = [p.id for p in providers]
    latest: dict[int, Vetting] = {}
    if ids:
        for v in db.session.scalars(sa.select(Vetting).where(
                Vetting.provider_id.in_(ids), Vetting.status != VettingStatus.OPEN, Vetting.decided_on <= on)
                .order_by(Vetting.decided_on, Vetting.id)):
            latest[v.provider_id] = v
    return {pid: (rules.approval_state(v.status.value, v.valid_until, v.condition_deadline,
                                       v.conditions_met_on is not None, on) if (v := latest.get(pid))
                  else rules.approval_state(None, None, None, False, on)) for pid in ids}


# --- documents -------------------------------------------------------------------------------

MAX_DOCUMENT_BYTES = 20 * 1024 * 1024


def add_document(provider: Provider, data: bytes, filename: str, user: User,
                 item: VettingItem | None = None) -> ProviderDocument:
    if len(data) > MAX_DOCUMENT_BYTES:
        raise ProviderError("文件超过 20 MB", "the file is larger than 20 MB")
    if not data:
        raise ProviderError("文件是空的", "the file is empty")
    try:
        kind = content.check_document(data)
    except content.ContentError as exc:
        raise ProviderError(exc.zh, exc.en) from None
    if item is not None and item.vetting.status is not VettingStatus.OPEN:
        raise ProviderError("审查已作出决定，不能再提交材料", "the vetting is decided")
    stored = get_storage().put(io.BytesIO(data), max_bytes=MAX_DOCUMENT_BYTES)
    safe_name = (filename or "document").replace("/", "_").replace("\\", "_")[-200:]
    doc = ProviderDocument(provider=provider, vetting_item=item, sha256=stored.sha256, filename=safe_name,
                           content_type=kind, size=stored.size, uploaded_by=user, uploaded_at=utcnow())
    db.session.add(doc)
    db.session.flush()
    audit.record(events.DocumentSubmitted(document_id=doc.id, provider_id=provider.id, sha256=stored.sha256,
                                          filename=safe_name, vetting_item_id=item.id if item else None))
    return doc


def open_document(doc: ProviderDocument):
    return get_storage().open(doc.sha256)


# --- relations (section 九) -----------------------------------------------------------------

def declare_relation(provider: Provider, staff: Staff, kind: RelationKind | str, related_name: str,
                     related_detail: str, relationship_text: str) -> Relation:
    if staff.provider_id != provider.id:
        raise ProviderError("只能为本机构人员申报", "staff of another provider")
    if not related_name.strip() or not relationship_text.strip():
        raise ProviderError("请填写亲属姓名和关系", "name and kinship are required")
    relation = Relation(provider=provider, staff=staff, kind=RelationKind(kind), related_name=related_name.strip(),
                        related_detail=related_detail.strip(), relationship_text=relationship_text.strip(),
                        status=RelationStatus.DECLARED)
    db.session.add(relation)
    db.session.flush()
    audit.record(events.RelationRecorded(relation_id=relation.id, provider_id=provider.id, staff_id=staff.id,
                                         kind=relation.kind.value, status="declared", related_name=related_name))
    return relation


@dataclass(frozen=True)
class Match:
    staff: Staff
    kind: RelationKind
    related_name: str
    related_detail: str
    reason: str
    key: str


def _bureau_user_matches(staff_rows: list[Staff]) -> list[Match]:
    """Staff who share a full name with a bureau account: possibly relatives or the same person."""
    users = db.session.scalars(
        sa.select(User).join(Organisation).where(Organisation.kind == OrgKind.BUREAU)).all()
    by_name: dict[str, list[User]] = {}
    for u in users:
        by_name.setdefault(u.display_name, []).append(u)
    matches = []
    for s in staff_rows:
        for u in by_name.get(s.name, []):
            matches.append(Match(s, RelationKind.BUREAU_STAFF, u.display_name, f"{u.organisation.name} · {u.username}",
                                 "与民政局工作人员同名", f"bureau:{s.id}:{u.id}"))
    return matches


#: Functions that look for possible relations; the cases domain adds one for household heads.
MATCHERS: list[Callable[[list[Staff]], list[Match]]] = [_bureau_user_matches]


def find_relations(provider: Provider | None = None) -> int:
    """Run every matcher over active staff and list new matches for the officer; returns how many."""
    query = sa.select(Staff).where(Staff.left_on.is_(None))
    if provider is not None:
        query = query.where(Staff.provider_id == provider.id)
    staff_rows = db.session.scalars(query).all()
    known = set(db.session.scalars(sa.select(Relation.match_key).where(Relation.match_key.is_not(None))))
    made = 0
    for matcher in MATCHERS:
        for m in matcher(staff_rows):
            if m.key in known:
                continue
            known.add(m.key)
            relation = Relation(provider_id=m.staff.provider_id, staff=m.staff, kind=m.kind,
                                related_name=m.related_name, related_detail=m.related_detail,
                                relationship_text=m.reason, status=RelationStatus.FOUND, match_key=m.key)
            db.session.add(relation)
            db.session.flush()
            audit.record(events.RelationRecorded(relation_id=relation.id, provider_id=m.staff.provider_id,
                                                 staff_id=m.staff.id, kind=m.kind.value, status="found",
                                                 related_name=m.related_name))
            made += 1
    return made


def review_relation(relation: Relation, confirm: bool, note: str, user: User) -> None:
    if relation.status in (RelationStatus.CONFIRMED, RelationStatus.DISMISSED):
        raise ProviderError("该关系已处理", "the relation has been reviewed")
    if not confirm and not note.strip():
        raise ProviderError("排除时须说明理由", "a dismissal needs a note")
    relation.status = RelationStatus.CONFIRMED if confirm else RelationStatus.DISMISSED
    relation.review_note = note.strip()
    relation.reviewed_by_id = user.id
    db.session.flush()
    audit.record(events.RelationReviewed(relation_id=relation.id, status=relation.status.value, note=note.strip()))


def relations_of(provider: Provider) -> list[Relation]:
    return db.session.scalars(sa.select(Relation).where(Relation.provider_id == provider.id)
                              .order_by(Relation.status, Relation.id)).all()


# --- lists --------------------------------------------------------------------------------

def _managers(provider: Provider) -> list[int]:
    return db.session.scalars(sa.select(User.id).where(
        User.organisation_id == provider.organisation_id, User.role == Role.PROVIDER_MANAGER,
        User.is_enabled.is_(True))).all()


def search(text: str = "", status: str = "", on: date | None = None) -> list[tuple[Provider, rules.ApprovalState]]:
    query = sa.select(Provider).order_by(Provider.name)
    if text:
        like = f"%{text.strip()}%"
        query = query.where(sa.or_(Provider.name.like(like), Provider.uscc.like(like)))
    providers = db.session.scalars(query).all()
    states = approval_states(providers, on)
    rows = [(p, states[p.id]) for p in providers]
    if status:
        rows = [(p, s) for p, s in rows if s.status == status or (status == "valid" and s.valid)]
    return rows


def provider_of_user(user: User) -> Provider | None:
    if user.organisation_id is None:
        return None
    return db.session.scalar(sa.select(Provider).where(Provider.organisation_id == user.organisation_id))


def active_staff_counts(provider: Provider) -> dict[str, int]:
    rows = db.session.execute(sa.select(Staff.role, sa.func.count()).where(
        Staff.provider_id == provider.id, Staff.left_on.is_(None)).group_by(Staff.role)).all()
    return {role.value: n for role, n in rows}

