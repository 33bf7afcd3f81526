"""The year before: 惠民 held the bureau's previous contract, with four people now at 鑫源.

The labour company's staff were on 惠民's roster while 惠民 held the bureau's contract of
the year before (a vetting done outside the platform then), so the carry-over indicator
has something to find. Then every contract is assessed once, as the monthly job would.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from reliefsvc.common.formatting import now_local
from reliefsvc.contracts import service as contracts
from reliefsvc.contracts.models import ContractStatus
from reliefsvc.demo.contracts import _term
from reliefsvc.hiring import service as hiring
from reliefsvc.providers import service as providers


def step(ctx):
    today = now_local().date()
    starts, _ends = _term(today)
    earlier_starts, earlier_ends = starts.replace(year=starts.year - 1), starts - timedelta(days=1)
    sloppy = ctx.made["providers"]["sloppy"]
    current = ctx.made["contracts"][sloppy.id]
    providers.record_external_vetting(sloppy, earlier_starts - timedelta(days=20), "康乐县民政局", earlier_ends)
    earlier = contracts.create_contract(contracts.ContractData(
        contract_no=f"康民购〔{earlier_starts.year}〕2号", title="康乐县社会救助经办辅助服务项目（上年度）",
        provider=sloppy, purchaser=current.purchaser, procurement_method="competitive_consultation",
        amount=Decimal("240000.00"), starts_on=earlier_starts, ends_on=earlier_ends, pricing_model="output",
        payment_linked=True, budget_source=current.budget_source, villages=list(current.villages)))
    contracts.add_obligation(earlier, "home_visit", "month", 60, "records")
    contracts.change_status(earlier, ContractStatus.ACTIVE, "合同签订", None, on=earlier_starts)
    contracts.change_status(earlier, ContractStatus.COMPLETED, "合同期满", None, on=earlier_ends)
    ctx.made["earlier_contracts"] = [earlier]
    hiring.recompute_all("demo")
