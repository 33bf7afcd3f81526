"""Disguised-hiring risk of contracts: gather the facts, assess, store, explain. Flush, never commit.

The annual evaluation (and anything else that needs the current verdict) reads
``latest(contract)``; lists read ``latest_for(contracts)``; ``recompute(contract)`` makes a
new stored assessment and tells the officers when the level rose.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from reliefsvc import audit
from reliefsvc.common.formatting import percent
from reliefsvc.contracts.models import Contract, ContractStatus, PricingModel
from reliefsvc.db import utcnow
from reliefsvc.evidence.models import RecordStatus, ServiceRecord
from reliefsvc.extensions import db
from reliefsvc.hiring import events, rules
from reliefsvc.hiring.models import HiringRiskResult, RiskLevel
from reliefsvc.notifications import service as notifications
from reliefsvc.providers.models import Provider, Staff
from reliefsvc.regions.models import Level, Region
from reliefsvc.security.models import Role, User

#: Contracts the monthly job looks at: those still being delivered.
RUNNING = (ContractStatus.ACTIVE, ContractStatus.SUSPENDED)

LABELS = {
    "CASE_LINK_RATIO": _l("Service hours tied to a household"),
    "NON_CASE_WORK_SHARE": _l("Office duty, meetings and training"),
    "OFFICE_LOCATION_SHARE": _l("Records placed at a government office"),
    "PER_HEAD_PRICING": _l("Paid per head or person-month"),
    "PAYMENT_NOT_LINKED": _l("Payment not tied to assessment results"),
    "PURCHASER_NOMINATED_STAFF": _l("Staff named by the purchaser"),
    "PURCHASER_ATTENDANCE": _l("Share of staff whose attendance the purchaser keeps"),
    "STAFF_CARRYOVER": _l("Staff carried over from another provider"),
}
#: What each indicator measures, for the page that explains the score.
MEASURES = {
    "CASE_LINK_RATIO": _l("Share of service hours in records that name a household; a low share is the warning."),
    "NON_CASE_WORK_SHARE": _l("Share of service hours spent on office duty, meetings and training."),
    "OFFICE_LOCATION_SHARE": _l("Share of records with a position that lie within the radius of a township "
                                "government or the county bureau."),
    "PER_HEAD_PRICING": _l("The contract pays per head or person-month instead of per service delivered."),
    "PAYMENT_NOT_LINKED": _l("Payments do not follow the assessment results."),
    "PURCHASER_NOMINATED_STAFF": _l("Share of the contract's staff whom the purchaser named or recruited."),
    "PURCHASER_ATTENDANCE": _l("Share of the contract's staff whose attendance the purchaser keeps."),
    "STAFF_CARRYOVER": _l("Share of the contract's staff who, by ID number, were on the roster of another provider "
                          "while it held an earlier contract of the same purchaser."),
}


# --- settings and facts ----------------------------------------------------------------------

def installation_settings() -> dict:
    return rules.merge_settings(current_app.config.get("HIRING_RISK"))


def settings_for(contract: Contract) -> dict:
    """Defaults, then the installation's ``HIRING_RISK`` setting, then the contract's own."""
    own = (contract.thresholds or {}).get("hiring") if isinstance(contract.thresholds, dict) else None
    return rules.merge_settings(current_app.config.get("HIRING_RISK"), own if isinstance(own, dict) else None)


def offices() -> list[rules.Office]:
    """Seats of township governments and of the county bureau."""
    rows = db.session.execute(sa.select(Region.id, Region.name, Region.office_lat, Region.office_lon).where(
        Region.level.in_([Level.COUNTY, Level.TOWNSHIP]), Region.office_lat.is_not(None),
        Region.office_lon.is_not(None)))
    return [rules.Office(r.id, r.name, r.office_lat, r.office_lon) for r in rows]


def contract_staff(contract: Contract) -> list[Staff]:
    """The people who recorded service under the contract; before the first record, the provider's active roster."""
    workers = sa.select(ServiceRecord.worker_id).where(ServiceRecord.contract_id == contract.id,
                                                       ServiceRecord.status != RecordStatus.REJECTED).distinct()
    staff = db.session.scalars(sa.select(Staff).where(Staff.id.in_(workers)).order_by(Staff.name, Staff.id)).all()
    if staff:
        return list(staff)
    return list(db.session.scalars(sa.select(Staff).where(Staff.provider_id == contract.provider_id,
                                                          Staff.left_on.is_(None)).order_by(Staff.name, Staff.id)))


def earlier_stints(contract: Contract, staff: list[Staff]) -> list[rules.EarlierStint]:
    """The same ID numbers on other providers' rosters, with the signed contracts those providers held before."""
    numbers = {rules.normalise_id(s.id_number) for s in staff}
    if not numbers:
        return []
    numbers |= {n.lower() for n in numbers}
    Earlier = sa.orm.aliased(Contract)  # noqa: N806 — an alias of a model
    rows = db.session.execute(
        sa.select(Staff, Earlier, Provider.name)
        .join(Earlier, Earlier.provider_id == Staff.provider_id)
        .join(Provider, Provider.id == Staff.provider_id)
        .where(Staff.id_number.in_(numbers), Staff.provider_id != contract.provider_id,
               Earlier.status != ContractStatus.DRAFT, Earlier.starts_on < contract.starts_on))
    return [rules.EarlierStint(staff_id=s.id, id_number=s.id_number, name=s.name, provider_id=s.provider_id,
                               provider_name=provider_name, hired_on=s.hired_on, left_on=s.left_on,
                               contract_id=c.id, contract_no=c.contract_no, purchaser=c.purchaser,
                               starts_on=c.starts_on, ends_on=c.ends_on) for s, c, provider_name in rows]


def facts_for(contract: Contract, office_list: list[rules.Office] | None = None) -> rules.ContractFacts:
    records = [rules.RecordFact(r.id, r.record_ref, r.minutes, r.case_id is not None, r.service_type_code, r.lat, r.lon)
               for r in db.session.execute(
                   sa.select(ServiceRecord.id, ServiceRecord.record_ref, ServiceRecord.minutes, ServiceRecord.case_id,
                             ServiceRecord.service_type_code, ServiceRecord.lat, ServiceRecord.lon)
                   .where(ServiceRecord.contract_id == contract.id, ServiceRecord.status != RecordStatus.REJECTED)
                   .order_by(ServiceRecord.started_at.desc(), ServiceRecord.id.desc()))]
    staff = contract_staff(contract)
    return rules.ContractFacts(
        provider_id=contract.provider_id, purchaser=contract.purchaser, starts_on=contract.starts_on,
        pricing_model=PricingModel(contract.pricing_model).value, payment_linked=contract.payment_linked,
        records=records, offices=office_list if office_list is not None else offices(),
        staff=[rules.StaffFact(s.id, s.name, s.id_number, s.nominated_by_purchaser, s.attendance_by_purchaser)
               for s in staff],
        stints=earlier_stints(contract, staff))


def evaluate(contract: Contract, office_list: list[rules.Office] | None = None) -> rules.Assessment:
    """The risk as the data stand now, not stored."""
    return rules.assess(facts_for(contract, office_list), settings_for(contract))


# --- stored results ---------------------------------------------------------------------------

def latest(contract: Contract) -> HiringRiskResult | None:
    """The current stored assessment of ``contract`` (what the annual evaluation reads)."""
    return db.session.scalar(sa.select(HiringRiskResult).where(HiringRiskResult.contract_id == contract.id)
                             .order_by(HiringRiskResult.computed_at.desc(), HiringRiskResult.id.desc()).limit(1))


def latest_for(contracts) -> dict[int, HiringRiskResult]:
    """The current stored assessment of each of ``contracts`` (IDs or objects), with one query."""
    ids = [c if isinstance(c, int) else c.id for c in contracts]
    if not ids:
        return {}
    newest = (sa.select(sa.func.max(HiringRiskResult.id)).where(HiringRiskResult.contract_id.in_(ids))
              .group_by(HiringRiskResult.contract_id))
    return {r.contract_id: r for r in db.session.scalars(sa.select(HiringRiskResult)
                                                         .where(HiringRiskResult.id.in_(newest)))}


def high_risk(levels=(RiskLevel.HIGH,), statuses=RUNNING) -> list[HiringRiskResult]:
    """Current assessments at ``levels`` of running contracts, highest score first."""
    newest = sa.select(sa.func.max(HiringRiskResult.id)).group_by(HiringRiskResult.contract_id)
    return list(db.session.scalars(
        sa.select(HiringRiskResult).join(Contract).where(HiringRiskResult.id.in_(newest),
                                                         HiringRiskResult.level.in_(levels),
                                                         Contract.status.in_(statuses))
        .order_by(HiringRiskResult.score.desc(), Contract.contract_no)))


LEVEL_ZH = {"low": "低", "medium": "中", "high": "高"}


def recompute(contract: Contract, trigger: str, user: User | None = None,
              office_list: list[rules.Office] | None = None) -> HiringRiskResult:
    """Assess ``contract`` now, store the result, audit it, and tell the officers if its level rose."""
    previous = latest(contract)
    settings = settings_for(contract)
    assessment = rules.assess(facts_for(contract, office_list), settings)
    result = HiringRiskResult(contract=contract, computed_at=utcnow(), score=assessment.score,
                              level=RiskLevel(assessment.level), indicators=[i.to_dict() for i in assessment.indicators],
                              settings=settings, trigger=trigger, computed_by=user)
    db.session.add(result)
    db.session.flush()
    triggered = [i.code for i in assessment.indicators if i.triggered]
    previous_level = previous.level.value if previous else None
    audit.record(events.HiringRiskComputed(
        contract_id=contract.id, contract_no=contract.contract_no, result_id=result.id, score=result.score,
        level=result.level.value, previous_level=previous_level, triggered=triggered, trigger=trigger))
    if rules.rose(previous_level, result.level.value):
        with force_locale("zh_CN"):
            names = "、".join(str(LABELS[code]) for code in triggered)
        was = f"由“{LEVEL_ZH[previous_level]}”" if previous_level else ""
        notifications.notify_roles(
            (Role.OFFICER,), "hiring.level_rose",
            f"合同 {contract.contract_no} 变相用工风险{was}升为“{LEVEL_ZH[result.level.value]}”",
            f"得分 {result.score}/100；触发的指标：{names or '无'}。", link=f"/hiring/contracts/{contract.id}")
    return result


@dataclass
class RunSummary:
    computed: int
    high: int
    rose: int


def recompute_all(trigger: str, statuses=RUNNING, contract_no: str | None = None) -> tuple[list[HiringRiskResult],
                                                                                             RunSummary]:
    """Recompute the contracts of ``statuses`` (or the one numbered ``contract_no``, whatever its status)."""
    query = sa.select(Contract).order_by(Contract.contract_no)
    query = query.where(Contract.contract_no == contract_no) if contract_no else query.where(
        Contract.status.in_(statuses))
    contracts = db.session.scalars(query).all()
    before = latest_for(contracts)
    office_list = offices()
    results = [recompute(c, trigger, office_list=office_list) for c in contracts]
    rose = sum(1 for r in results if rules.rose(before[r.contract_id].level.value if r.contract_id in before else None,
                                                r.level.value))
    return results, RunSummary(len(results), sum(1 for r in results if r.level is RiskLevel.HIGH), rose)


# --- words -----------------------------------------------------------------------------------

def _hours(value) -> str:
    """Hours to one decimal, without a trailing .0: 524.5, 7.1, 12."""
    return f"{value:.1f}".removesuffix(".0")


def _pct(value) -> str:
    return percent(value) if value is not None else "—"


def show_threshold(indicator: dict) -> str:
    spec = rules.SPECS[indicator["code"]]
    if spec.direction == rules.FLAG:
        return _("Yes") if indicator["threshold"] else _("Not checked")
    return ("< " if spec.direction == rules.BELOW else "≥ ") + _pct(indicator["threshold"])


def show_value(indicator: dict) -> str:
    spec = rules.SPECS[indicator["code"]]
    if indicator["value"] is None:
        return _("No data")
    if spec.direction == rules.FLAG:
        return _("Yes") if indicator["value"] else _("No")
    return _pct(indicator["value"])


def explain(indicator: dict) -> str:
    """One or two sentences a person can check against the evidence (in the current locale)."""
    code, value, triggered, f = indicator["code"], indicator["value"], indicator["triggered"], indicator["facts"]
    args = {"share": _pct(value), "threshold": _pct(indicator["threshold"])
            if not isinstance(indicator["threshold"], bool) else ""}
    if code in ("CASE_LINK_RATIO", "NON_CASE_WORK_SHARE"):
        if value is None:
            return _("No service hours are recorded under this contract yet.")
        args.update(part=_hours(f["part_hours"]), total=_hours(f["hours"]))
        if code == "CASE_LINK_RATIO":
            if triggered:
                return _("Only %(share)s of the service hours (%(part)s of %(total)s hours) are tied to a household, "
                         "below the threshold of %(threshold)s: most of the work serves no particular household.",
                         **args)
            return _("%(share)s of the service hours (%(part)s of %(total)s hours) are tied to a household, not "
                     "below the threshold of %(threshold)s.", **args)
        if triggered:
            return _("%(share)s of the service hours (%(part)s of %(total)s hours) are office duty, meetings or "
                     "training, at or above the threshold of %(threshold)s: the staff do the purchaser's own daily "
                     "work.", **args)
        return _("%(share)s of the service hours (%(part)s of %(total)s hours) are office duty, meetings or training, "
                 "below the threshold of %(threshold)s.", **args)
    if code == "OFFICE_LOCATION_SHARE":
        if value is None:
            return _("No service record under this contract carries a position yet.")
        args.update(part=f["part_records"], total=f["records"], radius=f["radius_m"],
                     offices="、".join(f["offices"][:5]) or _("none"))
        if triggered:
            return _("%(share)s of the records with a position (%(part)s of %(total)s) lie within %(radius)s m of a "
                     "township government or the county bureau (%(offices)s), at or above the threshold of "
                     "%(threshold)s: the work is done at the government office.", **args)
        return _("%(share)s of the records with a position (%(part)s of %(total)s) lie within %(radius)s m of a "
                 "township government or the county bureau, below the threshold of %(threshold)s.", **args)
    if code == "PER_HEAD_PRICING":
        if triggered:
            return _("The contract pays per head or person-month, not for the services delivered: it buys people's "
                     "time, as a payroll does.")
        return _("The contract is priced “%(model)s”, not per head.", model=PricingModel(f["pricing_model"]).label)
    if code == "PAYMENT_NOT_LINKED":
        if triggered:
            return _("Payments are not tied to the assessment results: the provider is paid the same however the "
                     "work is judged.")
        return _("Payments follow the assessment results.")
    if value is None:
        return _("Nobody works under this contract yet.")
    args.update(part=f["part_staff"], total=f["staff"])
    if code == "PURCHASER_NOMINATED_STAFF":
        if triggered:
            return _("%(part)s of the %(total)s staff (%(share)s) were named or recruited by the purchaser, at or "
                     "above the threshold of %(threshold)s: the purchaser chooses its own people.", **args)
        return _("%(part)s of the %(total)s staff (%(share)s) were named or recruited by the purchaser, below the "
                 "threshold of %(threshold)s.", **args)
    if code == "PURCHASER_ATTENDANCE":
        if triggered:
            return _("The purchaser keeps the attendance of %(part)s of the %(total)s staff (%(share)s), at or above "
                     "the threshold of %(threshold)s: it manages them as its own employees.", **args)
        return _("The purchaser keeps the attendance of %(part)s of the %(total)s staff (%(share)s), below the "
                 "threshold of %(threshold)s.", **args)
    if triggered:
        return _("%(part)s of the %(total)s staff (%(share)s) worked for the same purchaser under another provider's "
                 "earlier contract, at or above the threshold of %(threshold)s: the same people move from one "
                 "provider to the next.", **args)
    return _("%(part)s of the %(total)s staff (%(share)s) worked for the same purchaser under another provider's "
             "earlier contract, below the threshold of %(threshold)s.", **args)


def _plain(value):
    return round(value, 4) if isinstance(value, float) else value


def export(results: list[HiringRiskResult]) -> list[dict]:
    """The spec's JSON: contract_no, score, level and each indicator with a Chinese explanation."""
    with force_locale("zh_CN"):
        return [{"contract_no": r.contract.contract_no, "score": r.score, "level": r.level.value,
                 "indicators": [{"code": i["code"], "value": _plain(i["value"]), "threshold": _plain(i["threshold"]),
                                 "triggered": i["triggered"], "explanation": explain(i)} for i in r.indicators]}
                for r in results]
