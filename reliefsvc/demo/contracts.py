"""Three contracts of Kangle County, one per demo provider, begun half a year ago.

The labour company's contract pays per person-month and is not tied to assessment
results: the disguised-hiring check has something to find.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from reliefsvc.common.formatting import now_local
from reliefsvc.contracts import service
from reliefsvc.contracts.models import ContractStatus
from reliefsvc.extensions import db
from reliefsvc.security.models import Role, User


def _term(today: date) -> tuple[date, date]:
    month = today.month - 6
    year = today.year + (month - 1) // 12
    starts = date(year, (month - 1) % 12 + 1, 1)
    return starts, starts.replace(year=starts.year + 1) - timedelta(days=1)


def step(ctx):
    service.ensure_catalogue()
    today = now_local().date()
    starts, ends = _term(today)
    officer = db.session.scalar(db.select(User).where(User.role == Role.OFFICER))
    townships = {t.name: t for t in ctx.made["townships"]}
    area = lambda *names: [v for n in names for v in townships[n].children]  # noqa: E731
    p = ctx.made["providers"]
    year = starts.year
    specs = [
        dict(no=f"康民购〔{year}〕1号", title="康乐县社会救助协理服务项目（附城镇、苏集镇、胭脂镇、康丰乡、流川乡）",
             provider=p["sound"], method="public_tender", amount=Decimal("486000.00"), pricing="output", linked=True,
             villages=area("附城镇", "苏集镇", "胭脂镇", "康丰乡", "流川乡"),
             obligations=[("home_visit", "month", 160, "records", None), ("alert_check", "month", 10, "records",
                                                                           "red_alert_24h"),
                          ("survey_assist", "quarter", 60, "records", None), ("phone_followup", "month", 80, "records",
                                                                               None),
                          ("home_visit", "quarter", 300, "cases", None)],
             targets=[("quantity", "服务义务完成率", "0.95", "", ">=", "obligation_completion"),
                      ("quality", "服务记录审核通过率", "0.95", "", ">=", "accepted_share"),
                      ("quality", "抽查否定率", "0.05", "", "<=", "refuted_share"),
                      ("satisfaction", "服务对象满意度", "0.90", "", ">=", None),
                      ("cost", "每条服务记录成本", "120", "元", "<=", "cost_per_record")]),
        dict(no=f"康民购〔{year}〕2号", title="康乐县分散供养特困人员照料服务项目（景古镇、莲麓镇、草滩乡、鸣鹿乡）",
             provider=p["sloppy"], method="competitive_consultation", amount=Decimal("268000.00"), pricing="output",
             linked=True, villages=area("景古镇", "莲麓镇", "草滩乡", "鸣鹿乡"),
             obligations=[("care_service", "month", 120, "records", "tekun_monthly"),
                          ("home_visit", "month", 60, "records", None)],
             targets=[("quantity", "服务义务完成率", "0.95", "", ">=", "obligation_completion"),
                      ("quality", "服务记录审核通过率", "0.90", "", ">=", "accepted_share"),
                      ("satisfaction", "服务对象满意度", "0.90", "", ">=", None)]),
        dict(no=f"康民购〔{year}〕3号", title="康乐县社会救助经办辅助服务项目（虎关乡、八丹乡、白王乡、上湾乡、八松乡、五户乡）",
             provider=p["payroll"], method="single_source", amount=Decimal("576000.00"), pricing="per_head",
             linked=False, villages=area("虎关乡", "八丹乡", "白王乡", "上湾乡", "八松乡", "五户乡"),
             obligations=[("office_duty", "month", 1400, "hours", None), ("home_visit", "month", 40, "records", None)],
             targets=[("quantity", "服务时长", "16800", "小时", ">=", "service_hours")]),
    ]
    made = {}
    for spec in specs:
        contract = service.create_contract(service.ContractData(
            contract_no=spec["no"], title=spec["title"], provider=spec["provider"], purchaser="康乐县民政局",
            procurement_method=spec["method"], amount=spec["amount"], starts_on=starts, ends_on=ends,
            pricing_model=spec["pricing"], payment_linked=spec["linked"], budget_source="中央和省级困难群众救助补助资金",
            villages=spec["villages"]))
        for code, period, target, unit, extra in spec["obligations"]:
            service.add_obligation(contract, code, period, target, unit, extra)
        for group, name, value, unit, comparison, computed in spec["targets"]:
            service.add_target(contract, group, name, value, unit, comparison, computed)
        # Signed when the term began; the provider's approval held then and holds now.
        service.change_status(contract, ContractStatus.ACTIVE, "合同签订", officer)
        made[spec["provider"].id] = contract
    ctx.made["contracts"] = made
