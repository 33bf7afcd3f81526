"""The open-contracting export: an OCDS 1.1.5 release package of every contract.

One compiled release per contract (drafts are not public): the bureau as buyer, the
provider as supplier, the tender's procurement method, the award, the contract, and its
implementation — approved payments as transactions, obligations and quarterly
assessments as milestones with their status, signed annual evaluations as documents.

No personal data leaves here: parties are organisations with their names and unified
social credit codes only (no addresses, telephone numbers or contact people), and nothing
about households, workers or service records is read at all.

The ocid is ``{OCDS_PREFIX}-{contract id}``: stable for as long as the database lives, and
the prefix is a setting (OCDS registers one per publisher).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal

import sqlalchemy as sa

from reliefsvc.contracts.models import Contract, ContractStatus
from reliefsvc.extensions import db
from reliefsvc.providers.models import Provider

VERSION = "1.1"
CURRENCY = "CNY"
BUYER_ID = "bureau"

#: The platform's procurement methods (政府采购方式) on OCDS's closed method codelist.
METHODS = {
    "public_tender": "open",  # 公开招标
    "competitive_consultation": "selective",  # 竞争性磋商
    "competitive_negotiation": "selective",  # 竞争性谈判
    "inquiry": "selective",  # 询价
    "framework": "selective",  # 框架协议
    "single_source": "direct",  # 单一来源
    "other": None,
}
METHOD_ZH = {"public_tender": "公开招标", "competitive_consultation": "竞争性磋商",
             "competitive_negotiation": "竞争性谈判", "single_source": "单一来源", "inquiry": "询价",
             "framework": "框架协议", "other": "其他"}
CONTRACT_STATUS = {"active": "active", "suspended": "active", "completed": "terminated", "terminated": "terminated"}
STATUS_ZH = {"active": "履行中", "suspended": "暂停", "completed": "已完成", "terminated": "已终止"}
GRADE_ZH = {"excellent": "优秀", "good": "良好", "pass": "合格", "fail": "不合格"}
PERIOD_ZH = {"month": "每月", "quarter": "每季度", "year": "每年"}
UNIT_ZH = {"records": "次", "cases": "户", "hours": "小时"}


def _value(amount) -> dict:
    return {"amount": float(Decimal(amount).quantize(Decimal("0.01"))), "currency": CURRENCY}


def _iso(moment: datetime | date | None) -> str | None:
    if moment is None:
        return None
    if isinstance(moment, datetime):
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return f"{moment.isoformat()}T00:00:00+08:00"


def _obligation_milestones(ids, rows: dict[int, Contract], today: date) -> dict[int, list[dict]]:
    """One milestone per active obligation: delivered so far against what was due so far."""
    from reliefsvc.dashboards import service as figures

    sums, households = figures._counter_sums(ids), figures._household_months(ids)
    out: dict[int, list[dict]] = defaultdict(list)
    for cid, code, period, target, unit, name in figures._obligation_rows(ids):
        contract = rows[cid]
        months = len(figures._elapsed_months(contract.starts_on, contract.ends_on, today))
        due = Decimal(target) * months / figures.MONTHS_PER[period.value]
        delivered = figures._delivered(unit, sums.get((cid, code), (0, 0)), households.get((cid, code), 0))
        ended = today > contract.ends_on or contract.status in (ContractStatus.COMPLETED, ContractStatus.TERMINATED)
        if not ended:
            status = "scheduled"
        elif delivered >= due:
            status = "met"
        else:
            status = "partiallyMet" if delivered > 0 else "notMet"
        out[cid].append({
            "id": f"obligation-{cid}-{code}", "type": "delivery",
            "title": f"{name} {PERIOD_ZH[period.value]} {target} {UNIT_ZH[unit.value]}",
            "description": f"截至{today.year}年{today.month}月{today.day}日完成 "
                           f"{delivered.quantize(Decimal('0.1'))}，应完成 {due.quantize(Decimal('0.1'))}",
            "dueDate": _iso(contract.ends_on), "status": status, "dateModified": _iso(today),
        })
    return out


def _assessment_milestones(ids) -> dict[int, list[dict]]:
    from reliefsvc.assessments.models import Assessment, AssessmentStatus

    out: dict[int, list[dict]] = defaultdict(list)
    for a in db.session.execute(
            sa.select(Assessment.id, Assessment.contract_id, Assessment.period_key, Assessment.day_to,
                      Assessment.status, Assessment.total, Assessment.grade, Assessment.signed_at)
            .where(Assessment.contract_id.in_(ids)).order_by(Assessment.contract_id, Assessment.period_key)):
        signed = a.status is AssessmentStatus.SIGNED
        milestone = {"id": f"assessment-{a.id}", "type": "assessment", "title": f"{a.period_key} 季度考核",
                     "dueDate": _iso(a.day_to), "status": "scheduled"}
        if signed:
            milestone["status"] = "notMet" if a.grade == "fail" else "met"
            milestone["dateMet"] = _iso(a.signed_at)
            milestone["dateModified"] = _iso(a.signed_at)
            milestone["description"] = f"总分 {a.total}，等次 {GRADE_ZH.get(a.grade or '', '')}"
        out[a.contract_id].append(milestone)
    return out


def _transactions(ids, provider_of: dict[int, str]) -> dict[int, list[dict]]:
    from reliefsvc.payments.models import (
        Disbursement,
        EntryKind,
        EntryStatus,
        Instalment,
        PaymentEntry,
    )

    out: dict[int, list[dict]] = defaultdict(list)
    for e in db.session.execute(
            sa.select(PaymentEntry.id, PaymentEntry.contract_id, PaymentEntry.kind, PaymentEntry.amount,
                      PaymentEntry.decided_at, Disbursement.disbursed_on, Instalment.number)
            .join(Instalment, Instalment.id == PaymentEntry.instalment_id)
            .outerjoin(Disbursement, Disbursement.entry_id == PaymentEntry.id)
            .where(PaymentEntry.contract_id.in_(ids), PaymentEntry.status == EntryStatus.APPROVED)
            .order_by(PaymentEntry.contract_id, PaymentEntry.id)):
        amount = Decimal(e.amount) * (-1 if e.kind is EntryKind.REVERSAL else 1)
        out[e.contract_id].append({
            "id": f"payment-{e.id}",
            "date": _iso(e.disbursed_on) if e.disbursed_on else _iso(e.decided_at),
            "value": _value(amount),
            "payer": {"id": BUYER_ID}, "payee": {"id": provider_of[e.contract_id]},
        })
    return out


def _documents(ids) -> dict[int, list[dict]]:
    from reliefsvc.evaluations.models import Evaluation, EvaluationStatus

    out: dict[int, list[dict]] = defaultdict(list)
    for ev in db.session.execute(
            sa.select(Evaluation.id, Evaluation.contract_id, Evaluation.year, Evaluation.year_no, Evaluation.doc_no,
                      Evaluation.rating, Evaluation.signed_at)
            .where(Evaluation.contract_id.in_(ids), Evaluation.status == EvaluationStatus.SIGNED)
            .order_by(Evaluation.contract_id, Evaluation.year_no)):
        out[ev.contract_id].append({
            "id": f"evaluation-{ev.id}", "documentType": "physicalProgressReport",
            "title": f"第{ev.year_no}执行年度（{ev.year}年）绩效评估报告 {ev.doc_no or ''}".strip(),
            "description": f"评估等次：{GRADE_ZH.get(ev.rating or '', '')}",
            "datePublished": _iso(ev.signed_at), "format": "application/pdf", "language": "zh",
        })
    return out


def releases(config, today: date | None = None) -> list[dict]:
    """One compiled release per non-draft contract, in a fixed number of queries."""
    from reliefsvc.common.formatting import today_local

    today = today or today_local()
    prefix = config.get("OCDS_PREFIX", "ocds-kl0622")
    bureau = config.get("BUREAU_NAME", "")
    ids = sa.select(Contract.id).where(Contract.status != ContractStatus.DRAFT)
    rows = {c.id: c for c in db.session.scalars(sa.select(Contract).where(Contract.id.in_(ids))
                                                .order_by(Contract.contract_no))}
    providers = {p.id: p for p in db.session.scalars(
        sa.select(Provider).where(Provider.id.in_({c.provider_id for c in rows.values()})))} if rows else {}
    provider_of = {cid: f"provider-{c.provider_id}" for cid, c in rows.items()}
    obligations = _obligation_milestones(ids, rows, today) if rows else {}
    assessments = _assessment_milestones(ids) if rows else {}
    transactions = _transactions(ids, provider_of) if rows else {}
    documents = _documents(ids) if rows else {}
    out = []
    for cid, c in rows.items():
        provider = providers[c.provider_id]
        ocid = f"{prefix}-{cid}"
        supplier = {"id": provider_of[cid], "name": provider.name}
        method = c.procurement_method.value
        updated = c.updated_at or c.created_at
        contract = {
            "id": f"contract-{cid}", "awardID": f"award-{cid}", "title": c.title,
            "description": f"合同编号 {c.contract_no}", "status": CONTRACT_STATUS[c.status.value],
            "period": {"startDate": _iso(c.starts_on), "endDate": _iso(c.ends_on)}, "value": _value(c.amount),
            "implementation": {"transactions": transactions.get(cid, []),
                               "milestones": obligations.get(cid, []) + assessments.get(cid, []),
                               "documents": documents.get(cid, [])},
        }
        out.append({
            "ocid": ocid, "id": f"{ocid}-{_iso(updated).replace(':', '')}", "date": _iso(updated),
            "tag": ["compiled"], "initiationType": "tender", "language": "zh",
            "parties": [
                {"id": BUYER_ID, "name": bureau, "roles": ["buyer", "payer", "procuringEntity"]},
                {"id": provider_of[cid], "name": provider.name, "roles": ["supplier", "payee"],
                 "identifier": {"scheme": "CN-USCC", "id": provider.uscc, "legalName": provider.name}},
            ],
            "buyer": {"id": BUYER_ID, "name": bureau},
            "tender": {"id": f"tender-{cid}", "title": c.title, "status": "complete",
                       "procurementMethod": METHODS.get(method),
                       "procurementMethodDetails": METHOD_ZH.get(method, method),
                       "value": _value(c.amount), "procuringEntity": {"id": BUYER_ID, "name": bureau}},
            "awards": [{"id": f"award-{cid}", "title": c.title, "status": "active", "date": _iso(c.starts_on),
                        "value": _value(c.amount), "suppliers": [supplier],
                        "contractPeriod": {"startDate": _iso(c.starts_on), "endDate": _iso(c.ends_on)}}],
            "contracts": [contract],
        })
    return out


def release_package(config, today: date | None = None, published: datetime | None = None) -> dict:
    """The release package (release-package-schema.json of OCDS 1.1.5)."""
    published = published or datetime.now(UTC)
    stamp = _iso(published)
    base = config.get("OCDS_PUBLISH_URI", "https://example.gov.cn/ocds").rstrip("/")
    return {
        "uri": f"{base}/{stamp.replace(':', '')}.json",
        "version": VERSION,
        "publishedDate": stamp,
        "publisher": {"name": config.get("BUREAU_NAME", "")},
        "releases": releases(config, today),
    }
