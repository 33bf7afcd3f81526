from datetime import date, timedelta
from decimal import Decimal

import pytest

from reliefsvc.contracts import service
from reliefsvc.regions.models import Level, Region


@pytest.fixture
def villages(db):
    county = Region(code="622922", name="康乐县", level=Level.COUNTY, lat=35.37, lon=103.71)
    town = Region(code="622922100", name="附城镇", level=Level.TOWNSHIP, parent=county, lat=35.37, lon=103.70)
    vs = [Region(code=f"622922100{200 + i}", name=f"第{i}村", level=Level.VILLAGE, parent=town,
                 lat=35.37 + i / 100, lon=103.70) for i in range(1, 4)]
    db.session.add_all([county, town, *vs])
    db.session.flush()
    service.ensure_catalogue()
    return vs


@pytest.fixture
def create_contract(db, villages, create_provider, approved):
    """``create_contract(status="active", obligations=[...])`` → a Contract through the service."""
    counter = iter(range(1, 1000))

    def create(status="active", provider=None, obligations=(("home_visit", "month", 10, "records"),),
               starts_on=None, ends_on=None, **overrides):
        provider = provider or create_provider()
        if status == "active" and service.providers.approval_state(provider).status == "none":
            approved(provider)
        starts_on = starts_on or date(2026, 1, 1)
        data = service.ContractData(
            contract_no=overrides.pop("contract_no", f"康民购〔2026〕{next(counter)}号"),
            title=overrides.pop("title", "协理服务项目"),
            provider=provider, purchaser="康乐县民政局", procurement_method="public_tender",
            amount=Decimal("120000"), starts_on=starts_on, ends_on=ends_on or starts_on + timedelta(days=364),
            pricing_model="output", villages=villages, **overrides)
        contract = service.create_contract(data)
        for o in obligations:
            service.add_obligation(contract, *o)
        if status == "active":
            service.change_status(contract, "active", "签订", None)
        return contract

    return create
