"""Where the risk shows: the contract page, its evidence page, the contract list, the home page."""

from __future__ import annotations

import re

import pytest

from reliefsvc.hiring import service


@pytest.fixture
def risky(create_contract, add_staff, add_record, villages, db):
    """A per-head contract whose one worker, named by the purchaser, sits at the township office."""
    from reliefsvc.contracts.models import PricingModel

    town = villages[0].parent
    town.office_lat, town.office_lon = 35.37, 103.70
    contract = create_contract()
    contract.pricing_model, contract.payment_linked = PricingModel.PER_HEAD, False
    worker = add_staff(contract.provider, nominated=True, attendance=True, name="王值班")
    record = add_record(contract, worker, 480, type_code="office_duty", position=(35.3702, 103.7001))
    service.recompute(contract, "manual")
    return contract, worker, record


def test_the_officer_sees_each_indicator_with_its_evidence_on_the_contract_page(client, login, create_user, risky):
    contract, worker, record = risky
    login(create_user("officer"))
    page = client.get(f"/contracts/{contract.id}").get_data(as_text=True)
    assert 'data-panel="hiring"' in page and "变相用工风险" in page and "高风险" in page
    for code in service.LABELS:
        assert f'data-testid="hiring-row-{code}"' in page
    assert f'href="/records/{record.id}"' in page  # the record behind the office indicators
    assert "王值班" in page and "附城镇" in page  # which staff, which office
    assert f"/hiring/contracts/{contract.id}#OFFICE_LOCATION_SHARE" in page


def test_the_evidence_page_names_records_staff_offices_and_the_score_rule(client, login, create_user, risky):
    contract, worker, record = risky
    login(create_user("inspector"))
    page = client.get(f"/hiring/contracts/{contract.id}").get_data(as_text=True)
    assert 'id="OFFICE_LOCATION_SHARE"' in page and record.record_ref in page
    assert f'href="/records/{record.id}"' in page
    assert f'/records/providers/{contract.provider_id}/staff/{worker.id}' in page
    assert "得分为已触发指标的分值之和" in page  # how the score is made is written out
    assert "立即重新计算" not in page  # only officers recompute


def test_providers_do_not_see_the_risk(client, login, create_user, risky, db):
    contract, *_ = risky
    manager = create_user("provider_manager", org=contract.provider.organisation)
    login(manager)
    page = client.get(f"/contracts/{contract.id}").get_data(as_text=True)
    assert 'data-panel="hiring"' not in page
    listing = client.get("/contracts/").get_data(as_text=True)
    assert "变相用工风险" not in listing
    assert client.get(f"/hiring/contracts/{contract.id}").status_code == 403


def test_the_contract_list_has_a_risk_column(client, login, create_user, risky):
    contract, *_ = risky
    login(create_user("officer"))
    listing = client.get("/contracts/").get_data(as_text=True)
    assert "变相用工风险" in listing
    assert re.search(rf'href="/hiring/contracts/{contract.id}"[^>]*>高风险 · 90', listing)


def test_the_home_page_lists_high_risk_contracts_for_officers(client, login, create_user, risky):
    contract, *_ = risky
    login(create_user("officer"))
    home = client.get("/").get_data(as_text=True)
    assert 'data-testid="hiring-home"' in home and contract.contract_no in home
    login(create_user("evaluator"))
    assert 'data-testid="hiring-home"' not in client.get("/").get_data(as_text=True)


def test_an_officer_recomputes(client, login, create_user, risky, db):
    contract, *_ = risky
    before = service.latest(contract).id
    login(create_user("officer"))
    response = client.post(f"/hiring/contracts/{contract.id}/recompute")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/hiring/contracts/{contract.id}")
    assert service.latest(contract).id != before


def test_english_pages(client, login, create_user, risky):
    contract, *_ = risky
    officer = create_user("officer")
    officer.locale = "en"
    login(officer)
    from flask import g

    # The test's app context outlives the request (in production each request has its own):
    # forget the locale Flask-Babel cached while the fixture computed the risk.
    g.pop("_flask_babel", None)
    page = client.get(f"/hiring/contracts/{contract.id}").get_data(as_text=True)
    assert "Disguised-hiring risk" in page and "Records placed at a government office" in page
