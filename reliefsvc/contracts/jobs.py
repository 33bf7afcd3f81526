"""Reminders before contracts end, and a monthly note on obligations behind target."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from reliefsvc.contracts import progress, rules, service
from reliefsvc.contracts.models import Contract, ContractStatus
from reliefsvc.extensions import db
from reliefsvc.jobs.registry import LOCAL_TZ, JobSpec
from reliefsvc.notifications import service as notifications

ENDING_NOTICE_DAYS = 45


def ending_reminders(period: str, now: datetime) -> str:
    today = now.astimezone(LOCAL_TZ).date()
    contracts = db.session.scalars(sa.select(Contract).where(
        Contract.status == ContractStatus.ACTIVE, Contract.ending_reminded_on.is_(None),
        Contract.ends_on <= today + timedelta(days=ENDING_NOTICE_DAYS), Contract.ends_on >= today)).all()
    for c in contracts:
        c.ending_reminded_on = today
        notifications.notify(service.officers(), "contract.ending",
                             f"合同 {c.contract_no} 将于 {c.ends_on.year}年{c.ends_on.month}月{c.ends_on.day}日 到期",
                             "请安排年度评估、结算和后续采购。", link=f"/contracts/{c.id}")
    return f"到期提醒 {len(contracts)} 条 / {len(contracts)} ending reminders"


def behind_target(period: str, now: datetime) -> str:
    """On the first of a month: which obligations ended last month behind their target."""
    today = now.astimezone(LOCAL_TZ).date()
    first_of_month = today.replace(day=1)
    lines_by_contract = {}
    for c in db.session.scalars(sa.select(Contract).where(Contract.status == ContractStatus.ACTIVE)):
        lines = []
        for op in progress.obligation_progress(c, today):
            for p in op.periods:
                # the periods (month, quarter or year) that ended when this month began
                if rules.period_bounds(op.obligation.period.value, p.key)[1] != first_of_month:
                    continue
                if p.delivered < p.target:
                    lines.append(f"{op.obligation.service_type.name_zh} {p.key}：完成 {p.delivered}/{p.target}")
        if lines:
            lines_by_contract[c] = lines
    for c, lines in lines_by_contract.items():
        notifications.notify(service.officers(), "contract.behind",
                             f"合同 {c.contract_no} 有 {len(lines)} 项服务义务未达目标", "\n".join(lines),
                             link=f"/contracts/{c.id}#obligations")
    return f"未达目标的合同 {len(lines_by_contract)} 个 / {len(lines_by_contract)} contracts behind"


JOBS = [
    JobSpec("contracts.ending", ending_reminders, "daily", {"hour": 7, "minute": 10},
            _l("Remind officers 45 days before an active contract ends")),
    JobSpec("contracts.behind_target", behind_target, "monthly", {"day": 1, "hour": 7, "minute": 20},
            _l("Tell officers which obligations ended last month behind target")),
]
