"""The open-contracting export validates against OCDS 1.1.5 and holds no personal data.

The schema files are copied from the standard into ``tests/ledgers/data/`` (with its
licence), so the test needs nothing outside the repository and no network.
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest
from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from reliefsvc.reports import ocds

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def validator():
    package = json.loads((DATA / "release-package-schema.json").read_text(encoding="utf-8"))
    release = json.loads((DATA / "release-schema.json").read_text(encoding="utf-8"))
    registry = Registry().with_resources([
        (release["id"], Resource.from_contents(release, default_specification=DRAFT4)),
        (package["id"], Resource.from_contents(package, default_specification=DRAFT4)),
    ])
    return Draft4Validator(package, registry=registry, format_checker=Draft4Validator.FORMAT_CHECKER)


def test_the_package_validates_and_maps_the_contract(county, app, validator, db):
    from reliefsvc.payments.models import EntryStatus, PaymentEntry

    made = county(n_contracts=2, records_each=3)
    approver = made["evaluators"][0]  # anyone but the proposer may approve in the data
    entry = db.session.query(PaymentEntry).first()
    entry.status, entry.approved_by_id, entry.decided_at = EntryStatus.APPROVED, approver.id, entry.proposed_at
    db.session.flush()
    package = ocds.release_package(app.config, today=date(2026, 11, 25))
    errors = sorted(validator.iter_errors(package), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]
    assert package["version"] == "1.1" and len(package["releases"]) == 2
    release = next(r for r in package["releases"] if r["ocid"] == f"{app.config['OCDS_PREFIX']}-{entry.contract_id}")
    assert release["buyer"]["name"] == app.config["BUREAU_NAME"]
    assert release["tender"]["procurementMethod"] == "open"
    assert release["tender"]["procurementMethodDetails"] == "公开招标"
    supplier = release["awards"][0]["suppliers"][0]
    party = next(p for p in release["parties"] if p["id"] == supplier["id"])
    assert party["roles"] == ["supplier", "payee"] and set(party) == {"id", "name", "roles", "identifier"}
    contract = release["contracts"][0]
    assert contract["status"] == "active" and contract["value"] == {"amount": 120000.0, "currency": "CNY"}
    implementation = contract["implementation"]
    assert [t["value"]["amount"] for t in implementation["transactions"]] == [58000.5]
    statuses = {m["id"].split("-")[0]: m["status"] for m in implementation["milestones"]}
    kinds = sorted((m["type"], m["status"]) for m in implementation["milestones"])
    # the signed 2026Q3 assessment (good) is met, the one in its comment window is scheduled,
    # and the running contract's obligation is scheduled
    assert kinds == [("assessment", "met"), ("assessment", "scheduled"), ("delivery", "scheduled")], statuses


def test_the_export_holds_no_personal_data(county, app):
    made = county(n_contracts=2, records_each=2)
    text = json.dumps(ocds.release_package(app.config), ensure_ascii=False)
    for case in made["cases"]:
        assert case.head_name not in text and case.head_id_number not in text
    for contract in made["contracts"]:
        for staff in contract.provider.staff:
            assert staff.name not in text and staff.id_number not in text
    assert not re.search(r"\b\d{17}[\dX]\b", text), "an ID number"
    assert not re.search(r"(?<!\d)1[3-9]\d{9}(?!\d)", text), "a mobile number"
    assert '"lat"' not in text and '"address"' not in text and "contactPoint" not in text


def test_the_cli_writes_the_package(county, run_cli, tmp_path, validator):
    county(n_contracts=1, records_each=1)
    target = tmp_path / "ocds.json"
    result = run_cli("reports", "ocds", "-o", str(target))
    assert result.exit_code == 0, result.output
    package = json.loads(target.read_text(encoding="utf-8"))
    assert not list(validator.iter_errors(package)) and len(package["releases"]) == 1


def test_officers_download_it(county, client, login):
    made = county(n_contracts=1, records_each=1)
    login(made["officer"])
    response = client.get("/ledgers/ocds.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert json.loads(response.data)["releases"][0]["buyer"]["id"] == "bureau"
