"""Monthly proposals of spot-check draws and daily reminders of open checks."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from reliefsvc.contracts.models import Contract, ContractStatus
from reliefsvc.extensions import db
from reliefsvc.jobs.registry import LOCAL_TZ, JobSpec
from reliefsvc.notifications import service as notifications
from reliefsvc.spotchecks import service
from reliefsvc.spotchecks.models import DrawStatus, SpotCheckDraw, SpotCheckItem


def propose_draws(period: str, now: datetime) -> str:
    """On the first days of a month: propose a draw of last month's records for each
    active contract that has none for that month; officers freeze and draw it."""
    today = now.astimezone(LOCAL_TZ).date()
    last_day = today.replace(day=1) - timedelta(days=1)
    first_day = last_day.replace(day=1)
    made = []
    for contract in db.session.scalars(sa.select(Contract).where(Contract.status == ContractStatus.ACTIVE)
                                       .order_by(Contract.id)):
        if contract.starts_on > last_day or contract.ends_on < first_day:
            continue
        exists = db.session.scalar(sa.select(SpotCheckDraw.id).where(
            SpotCheckDraw.contract_id == contract.id, SpotCheckDraw.day_from <= last_day,
            SpotCheckDraw.day_to >= first_day))
        if exists is not None:
            continue
        made.append(service.propose(contract, first_day, last_day))
    if made:
        lines = "\n".join(f"{d.contract.contract_no}：抽查编号 {d.id}" for d in made)
        notifications.notify(service._officers(), "spotcheck.proposed",
                             f"{first_day:%Y年%m月} 的随机抽查待冻结抽样框：{len(made)} 个合同",
                             "请核对期间和样本量规则，冻结抽样框，再在评估会上公开产生种子。\n" + lines,
                             link="/spotchecks/")
    return f"建议抽查 {len(made)} 个 / {len(made)} draws proposed"


def remind_open_checks(period: str, now: datetime) -> str:
    """Each morning: tell every evaluator how many of their checks are open for days."""
    due = now - timedelta(days=service.REMIND_AFTER_DAYS)
    rows = db.session.scalars(sa.select(SpotCheckItem.evaluator_id).join(SpotCheckDraw).where(
        SpotCheckDraw.status == DrawStatus.DRAWN, SpotCheckItem.outcome.is_(None),
        SpotCheckItem.evaluator_id.is_not(None), SpotCheckItem.assigned_at <= due)).all()
    for evaluator_id, n in sorted(Counter(rows).items()):
        notifications.notify([evaluator_id], "spotcheck.reminder", f"您有 {n} 条抽查任务尚未填报结果",
                             f"分配已超过 {service.REMIND_AFTER_DAYS} 天，请尽快电话回访或上门复核。",
                             link="/spotchecks/")
    return f"提醒评估人员 {len(set(rows))} 人 / {len(set(rows))} evaluators reminded"


JOBS = [
    JobSpec("spotchecks.propose", propose_draws, "monthly", {"day": 2, "hour": 7, "minute": 30},
            _l("Propose a spot-check draw of last month's records for each active contract")),
    JobSpec("spotchecks.remind", remind_open_checks, "daily", {"hour": 8, "minute": 10},
            _l("Remind evaluators of spot checks open for more than three days")),
]
