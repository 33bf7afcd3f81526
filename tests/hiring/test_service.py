"""Contracts built to sit on each side of every threshold, stored results, the job, the command."""

from __future__ import annotations

import json
from datetime import date

import pytest
import sqlalchemy as sa

from reliefsvc.hiring import service
from reliefsvc.hiring.models import HiringRiskResult, RiskLevel


def priced(contract, model="per_head", linked=True):
    """The fixture signs output-priced contracts; these tests set the terms they need."""
    from reliefsvc.contracts.models import PricingModel

    contract.pricing_model, contract.payment_linked = PricingModel(model), linked
    return contract


def indicator(contract, code):
    return next(i for i in service.evaluate(contract).indicators if i.code == code)


@pytest.fixture
def office(villages, db):
    """The township of the ``villages`` fixture gets its government seat."""
    town = villages[0].parent
    town.office_lat, town.office_lon = 35.37, 103.70
    db.session.flush()
    return town


def north_of(town, metres):
    return town.office_lat + metres / 111_195, town.office_lon


@pytest.mark.parametrize("unlinked,triggered", [(40, False), (41, True)])
def test_case_link_ratio(unlinked, triggered, create_contract, create_case, add_staff, add_record, villages):
    contract = create_contract()
    worker = add_staff(contract.provider)
    add_record(contract, worker, 100 - unlinked, case=create_case(villages[0]))
    add_record(contract, worker, unlinked, type_code="phone_followup")
    add_record(contract, worker, 500, type_code="phone_followup", status="rejected")  # sent back: not counted
    assert indicator(contract, "CASE_LINK_RATIO").triggered is triggered


@pytest.mark.parametrize("office_minutes,triggered", [(29, False), (30, True)])
def test_non_case_work_share(office_minutes, triggered, create_contract, create_case, add_staff, add_record, villages):
    contract = create_contract()
    worker = add_staff(contract.provider)
    add_record(contract, worker, 100 - office_minutes, case=create_case(villages[0]))
    add_record(contract, worker, office_minutes, type_code="office_duty")
    assert indicator(contract, "NON_CASE_WORK_SHARE").triggered is triggered


@pytest.mark.parametrize("elsewhere,triggered", [(5, False), (4, True)])
def test_office_location_share(elsewhere, triggered, create_contract, add_staff, add_record, office):
    contract = create_contract()
    worker = add_staff(contract.provider)
    at_office = add_record(contract, worker, type_code="office_duty", position=north_of(office, 250))
    for _ in range(elsewhere):
        add_record(contract, worker, position=north_of(office, 2000))
    found = indicator(contract, "OFFICE_LOCATION_SHARE")
    assert found.triggered is triggered
    assert found.evidence["offices"][0]["region_id"] == office.id
    assert found.evidence["records"] == [[at_office.id, at_office.record_ref]]


def test_a_village_centre_is_no_office(create_contract, add_staff, add_record, office, villages):
    contract = create_contract()
    worker = add_staff(contract.provider)
    add_record(contract, worker, position=(villages[0].lat, villages[0].lon))
    assert indicator(contract, "OFFICE_LOCATION_SHARE").value == 0


@pytest.mark.parametrize("model,linked,codes", [("per_head", False, {"PER_HEAD_PRICING", "PAYMENT_NOT_LINKED"}),
                                                 ("output", True, set())])
def test_pricing_and_payment(model, linked, codes, create_contract):
    contract = priced(create_contract(), model, linked)
    triggered = {i.code for i in service.evaluate(contract).indicators if i.triggered}
    assert triggered == codes


@pytest.mark.parametrize("others,triggered", [(5, False), (4, True)])
def test_purchaser_nominated_and_attendance(others, triggered, create_contract, create_provider, add_staff):
    provider = create_provider()
    add_staff(provider, nominated=True, attendance=True)
    for _ in range(others):
        add_staff(provider)
    contract = create_contract(provider=provider)
    assert indicator(contract, "PURCHASER_NOMINATED_STAFF").triggered is triggered
    assert indicator(contract, "PURCHASER_ATTENDANCE").triggered is triggered


def test_staff_are_the_people_who_worked_under_the_contract(create_contract, create_provider, add_staff, add_record):
    provider = create_provider()
    named = add_staff(provider, nominated=True)
    worker = add_staff(provider)
    contract = create_contract(provider=provider)
    add_record(contract, worker)
    found = indicator(contract, "PURCHASER_NOMINATED_STAFF")
    assert found.value == 0 and named.id not in [s for s, _n in found.evidence["staff"]]


@pytest.mark.parametrize("others,triggered", [(4, False), (3, True)])
def test_staff_carryover_by_id_number_whatever_the_name(others, triggered, create_contract, create_provider,
                                                          add_staff):
    earlier_provider, provider = create_provider(), create_provider()
    earlier = create_contract(provider=earlier_provider, starts_on=date(2025, 1, 1))
    old = add_staff(earlier_provider, name="马 建国", hired_on=date(2024, 6, 1), left_on=date(2025, 10, 31))
    moved = add_staff(provider, id_number=old.id_number, name="马建囯")
    for _ in range(others):
        add_staff(provider)
    contract = create_contract(provider=provider, starts_on=date(2026, 1, 1))
    found = indicator(contract, "STAFF_CARRYOVER")
    assert found.triggered is triggered
    [person] = found.evidence["people"]
    assert person["staff_id"] == moved.id and person["earlier_contract_id"] == earlier.id
    assert person["earlier_name"] == "马 建国" and person["earlier_provider"] == earlier_provider.name


def test_a_draft_or_later_contract_of_the_other_provider_is_no_carryover(create_contract, create_provider,
                                                                         add_staff):
    earlier_provider, provider = create_provider(), create_provider()
    create_contract(provider=earlier_provider, starts_on=date(2025, 1, 1), status="draft")
    create_contract(provider=earlier_provider, starts_on=date(2026, 6, 1))
    old = add_staff(earlier_provider, left_on=date(2025, 10, 31))
    add_staff(provider, id_number=old.id_number)
    contract = create_contract(provider=provider, starts_on=date(2026, 1, 1))
    assert indicator(contract, "STAFF_CARRYOVER").value == 0


def test_thresholds_are_settings_per_installation_and_per_contract(app, create_contract):
    contract = priced(create_contract())
    assert indicator(contract, "PER_HEAD_PRICING").triggered
    contract.thresholds = {"FLASH_BURST": 15, "hiring": {"PER_HEAD_PRICING": False}}
    assert not indicator(contract, "PER_HEAD_PRICING").triggered
    contract.thresholds = {}
    app.config["HIRING_RISK"] = {"LEVEL_MEDIUM": 10}
    try:
        assert service.evaluate(contract).level == "medium"
    finally:
        del app.config["HIRING_RISK"]
    assert service.evaluate(contract).level == "low"


def pending(db):
    return db.session.info.get("notifications_pending", [])


def test_recompute_stores_audits_and_tells_officers_when_the_level_rises(db, create_contract, create_user):
    from reliefsvc.audit.models import AuditEntry

    officer = create_user("officer")
    contract = priced(create_contract(), "per_head", False)
    db.session.info.pop("notifications_pending", None)
    first = service.recompute(contract, "manual", officer)
    assert (first.score, first.level, first.computed_by) == (25, RiskLevel.MEDIUM, officer)
    assert [m.user_id for m in pending(db) if m.kind == "hiring.level_rose"].count(officer.id) == 1
    assert "升为“中”" in pending(db)[-1].title
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.event_type == "hiring.computed")
                              .order_by(AuditEntry.seq.desc()).limit(1))
    payload = json.loads(entry.payload)
    assert payload["level"] == "medium" and payload["previous_level"] is None and entry.object_id == str(contract.id)

    db.session.info.pop("notifications_pending", None)
    again = service.recompute(contract, "job")
    assert again.level is RiskLevel.MEDIUM and not [m for m in pending(db) if m.kind == "hiring.level_rose"]
    assert service.latest(contract) == again
    assert service.latest_for([contract])[contract.id] == again
    assert db.session.scalar(sa.select(sa.func.count()).select_from(HiringRiskResult)
                             .where(HiringRiskResult.contract_id == contract.id)) == 2


def test_the_monthly_job_recomputes_running_contracts(db, create_contract):
    from reliefsvc.hiring.jobs import JOBS

    running = priced(create_contract())
    draft = create_contract(status="draft")
    [job] = JOBS
    assert job.granularity == "monthly"
    summary = job.func("2026-03", None)
    assert "合同" in summary
    assert service.latest(running) is not None and service.latest(draft) is None


def test_the_command_writes_the_spec_json(run_cli, tmp_path, create_contract):
    contract = priced(create_contract(), "per_head", False)
    out = tmp_path / "risk.json"
    result = run_cli("contracts", "hiring-risk", "--contract", contract.contract_no, "--format", "json", "-o", str(out))
    assert result.exit_code == 0, result.output
    [item] = json.loads(out.read_text(encoding="utf-8"))
    assert set(item) == {"contract_no", "score", "level", "indicators"}
    assert (item["contract_no"], item["score"], item["level"]) == (contract.contract_no, 25, "medium")
    assert [i["code"] for i in item["indicators"]] == list(service.LABELS)
    for i in item["indicators"]:
        assert set(i) == {"code", "value", "threshold", "triggered", "explanation"}
        assert any("\u4e00" <= ch <= "\u9fff" for ch in i["explanation"]), i
    per_head = item["indicators"][3]
    assert per_head == {"code": "PER_HEAD_PRICING", "value": True, "threshold": True, "triggered": True,
                        "explanation": per_head["explanation"]}
    assert "人头" in per_head["explanation"]


def test_the_command_refuses_an_unknown_contract(run_cli):
    result = run_cli("contracts", "hiring-risk", "--contract", "没有这个合同", "--format", "json", "-o", "-")
    assert result.exit_code == 1 and "不存在" in result.output
