"""Contract register, refusals, the vetting gate, status lifecycle, amendments, imports."""

import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from reliefsvc.audit.models import AuditEntry
from reliefsvc.contracts import service
from reliefsvc.contracts.models import Contract, ContractStatus, Obligation
from tests.conftest import count


def test_a_decision_power_cannot_be_bought(create_contract):
    contract = create_contract(status="draft", obligations=())
    with pytest.raises(service.ContractError) as info:
        service.add_obligation(contract, "approval_decision", "month", 5, "records")
    assert "不能作为购买服务内容" in info.value.zh and "政府" in info.value.zh


@pytest.mark.parametrize("starts,ends,words", [
    (date(2026, 5, 1), date(2026, 4, 1), "结束日期须晚于开始日期"),
    (date(2026, 1, 1), date(2029, 6, 30), "不得超过 3 年"),
])
def test_bad_terms_are_refused(create_contract, starts, ends, words):
    with pytest.raises(service.ContractError) as info:
        create_contract(status="draft", starts_on=starts, ends_on=ends)
    assert words in info.value.zh


def test_activation_needs_a_valid_vetting_and_is_audited(create_contract, create_provider, approved, db):
    provider = create_provider()
    contract = create_contract(status="draft", provider=provider)
    with pytest.raises(service.ContractError) as info:
        service.change_status(contract, "active", "", None)
    assert "尚未通过资格审查，合同不能生效" in info.value.zh
    assert contract.status is ContractStatus.DRAFT
    approved(provider, valid_days=30, on=service.today() - timedelta(days=60))  # expired
    with pytest.raises(service.ContractError, match="no valid vetting"):
        service.change_status(contract, "active", "", None)
    vetting = approved(provider)
    service.change_status(contract, "active", "", None)
    assert contract.activated_under is vetting
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.event_type == "contracts.status_changed")
                              .order_by(AuditEntry.seq.desc()))
    assert f'"vetting_id":{vetting.id}' in entry.payload and '"to_status":"active"' in entry.payload


def test_status_lifecycle(create_contract):
    contract = create_contract()
    with pytest.raises(service.ContractError, match="needs a reason"):
        service.change_status(contract, "suspended", "", None)
    service.change_status(contract, "suspended", "承接主体整改", None)
    service.change_status(contract, "active", "整改完成", None)
    service.change_status(contract, "completed", "", None)
    with pytest.raises(service.ContractError) as info:
        service.change_status(contract, "active", "", None)
    assert "不能从“已完成”变为“履行中”" in info.value.zh
    assert [s.to_status for s in reversed(contract.status_changes)] == \
        ["draft", "active", "suspended", "active", "completed"]


def test_amendments_are_versioned(create_contract, create_user):
    officer = create_user("officer")
    contract = create_contract()
    old = contract.obligations[0]
    service.amend(contract, service.AmendmentData(reason="增加服务村", amount=Decimal("150000"),
                                                  end_obligations=[old],
                                                  add_obligations=[("home_visit", "month", 15, "records")]), officer)
    assert contract.version == 2 and contract.amount == Decimal("150000.00")
    assert old.ended_in_version == 2
    assert [o.target for o in service.active_obligations(contract)] == [15]
    amendment = contract.amendments[0]
    assert amendment.changes["amount"] == ["120000.00", "150000.00"] and amendment.changed_by is officer
    with pytest.raises(service.ContractError):
        service.amend(contract, service.AmendmentData(reason="无变化"), officer)
    with pytest.raises(service.ContractError, match="amendment"):
        service.add_obligation(contract, "phone_followup", "month", 5, "records")


def test_forbidden_title_is_refused(create_contract):
    with pytest.raises(service.ContractError) as info:
        create_contract(status="draft", title="社区公益性岗位购买")
    assert "公益性岗位" in info.value.zh


CONTRACTS_CSV = ("contract_no,title,provider_uscc,purchaser,amount,starts_on,ends_on,pricing_model,payment_linked,"
                 "service_area,status\n")


def _csv(provider, *rows):
    return CONTRACTS_CSV + "".join(
        f"{no},协理服务,{provider.uscc},康乐县民政局,120000.00,{s},{e},output,1,622922100201;622922100202,{st}\n"
        for no, s, e, st in rows)


def write(tmp_path, text, name="c.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_import_contracts_and_obligations(run_cli, tmp_path, create_provider, approved, villages, db):
    provider = create_provider()
    approved(provider)
    path = write(tmp_path, _csv(provider, ("KL-2026-01", "2026-01-01", "2026-12-31", "active"),
                                ("KL-2026-02", "2026-01-01", "2026-12-31", "draft")))
    result = run_cli("contracts", "import", path)
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == "imported 2, updated 0, rejected 0"
    first = db.session.scalar(sa.select(Contract).where(Contract.contract_no == "KL-2026-01"))
    assert first.status is ContractStatus.ACTIVE and len(first.villages) == 2
    assert run_cli("contracts", "import", path).output.strip().splitlines()[-1] == "imported 0, updated 0, rejected 0"
    obligations = ("contract_no,service_type,period,target,unit\n"
                   "KL-2026-01,home_visit,month,40,records\nKL-2026-01,alert_check,月,10,次\n")
    result = run_cli("contracts", "import-obligations", write(tmp_path, obligations, "o.csv"))
    assert result.output.strip().splitlines()[-1] == "imported 2, updated 0, rejected 0"
    again = run_cli("contracts", "import-obligations", write(tmp_path, obligations, "o.csv"))
    assert again.output.strip().splitlines()[-1] == "imported 0, updated 0, rejected 0"
    assert count(Obligation) == 2


def test_import_refusals_are_row_numbered_in_chinese(run_cli, tmp_path, create_provider, villages):
    unvetted = create_provider()
    text = _csv(unvetted, ("KL-1", "2026-01-01", "2026-12-31", "active"), ("KL-2", "2026-05-01", "2026-04-01", "draft"),
                ("KL-3", "2026-01-01", "2030-01-01", "draft"))
    result = run_cli("contracts", "import", write(tmp_path, text))
    assert result.exit_code == 1
    assert "row 2, status" in result.output and "尚未通过资格审查，合同不能为生效状态" in result.output
    assert "row 3, ends_on" in result.output and "结束日期须晚于开始日期" in result.output
    assert "row 4, ends_on" in result.output and "不得超过 3 年" in result.output
    assert count(Contract) == 0
    obligations = "contract_no,service_type,period,target,unit\nKL-1,approval_decision,month,5,records\n"
    result = run_cli("contracts", "import-obligations", write(tmp_path, obligations, "o.csv"))
    assert result.exit_code == 1 and "row 2, service_type" in result.output and "不能作为购买服务内容" in result.output


def test_an_officer_creates_and_activates_a_contract_on_the_pages(client, login, create_user, create_provider,
                                                                 approved, villages, db):
    provider = create_provider(name="页面承接主体")
    approved(provider)
    login(create_user("officer"))
    response = client.post("/contracts/new", data={
        "contract_no": "康民购〔2026〕9号", "title": "协理服务", "provider_id": provider.id, "purchaser": "康乐县民政局",
        "procurement_method": "public_tender", "amount": "98000.50", "starts_on": "2026-01-01",
        "ends_on": "2026-12-31", "pricing_model": "output", "payment_linked": "y",
        "villages": [v.id for v in villages]})
    assert response.status_code == 302, response.get_data(as_text=True)
    contract = db.session.scalar(sa.select(Contract).where(Contract.contract_no == "康民购〔2026〕9号"))
    url = f"/contracts/{contract.id}"
    for code, target in (("home_visit", 20), ("phone_followup", 30)):
        client.post(f"{url}/obligations", data={"service_type": code, "target": target, "unit": "records",
                                                 "period": "month", "extra_rule": ""})
    refused = client.post(f"{url}/obligations", data={"service_type": "approval_decision", "target": 3,
                                                       "unit": "records", "period": "month", "extra_rule": ""})
    assert refused.status_code == 302
    assert len(service.active_obligations(contract)) == 2
    client.post(f"{url}/status", data={"status": "active", "reason": ""})
    page = client.get(url).get_data(as_text=True)
    assert "履行中" in page and "入户走访" in page and "电话/微信回访" in page and "98,000.50 元" in page
    assert 'data-testid="obligation"' in page
    ledger = client.get(f"{url}/ledger.xlsx")
    assert ledger.mimetype.endswith("spreadsheetml.sheet")


def test_the_page_refuses_activation_without_vetting(client, login, create_user, create_contract, create_provider):
    contract = create_contract(status="draft", provider=create_provider())
    login(create_user("officer"))
    client.post(f"/contracts/{contract.id}/status", data={"status": "active"})
    page = client.get(f"/contracts/{contract.id}").get_data(as_text=True)
    assert "草稿" in page
    assert contract.status is ContractStatus.DRAFT


def test_provider_sees_only_its_own_contracts(client, login, create_user, create_contract, create_provider):
    mine = create_contract()
    other = create_contract()
    login(create_user("provider_manager", org=mine.provider.organisation))
    listing = client.get("/contracts/").get_data(as_text=True)
    assert mine.contract_no in listing and other.contract_no not in listing
    assert client.get(f"/contracts/{other.id}").status_code == 404


def test_documents_of_a_contract(client, login, create_user, create_contract):
    from reliefsvc.demo.providers import minimal_pdf

    contract = create_contract()
    login(create_user("officer"))
    client.post(f"/contracts/{contract.id}/documents", data={"kind": "signed_contract",
                "file": (io.BytesIO(minimal_pdf("signed")), "合同.pdf")}, content_type="multipart/form-data")
    assert contract.documents[0].kind.value == "signed_contract"
    response = client.get(f"/contracts/{contract.id}/documents/{contract.documents[0].id}")
    assert response.data.startswith(b"%PDF")
    response.close()
