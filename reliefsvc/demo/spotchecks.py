"""Spot checks in the demo county: one finished and published draw of the sloppy
provider (a false service found, the record refuted, the sample then escalated over the
same frame and seed and the new tickets checked too), and one open draw of the sound
provider whose checks wait for the evaluators."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from reliefsvc.common.formatting import LOCAL_TZ, now_local
from reliefsvc.evidence.models import ServiceRecord
from reliefsvc.extensions import db
from reliefsvc.security.models import Role, User
from reliefsvc.spotchecks import service
from reliefsvc.spotchecks.models import CheckOutcome

#: Two more evaluators, so that the second 随机 (who checks what) has a pool to draw from.
WHAT_DONE = ["工作人员来家里了解了收入和看病的情况", "上门送了政策宣传单，问了老人身体", "帮忙整理了临时救助申请材料",
             "来家里坐了半个多小时，问了孩子上学的事"]


def _period(contract):
    """The records of the last weeks that have been reviewed (older than a week)."""
    rows = db.session.execute(sa.select(sa.func.min(ServiceRecord.started_at), sa.func.max(ServiceRecord.started_at))
                              .where(ServiceRecord.contract_id == contract.id)).one()
    today = now_local().date()
    first = rows[0].astimezone(LOCAL_TZ).date() if rows[0] else today - timedelta(days=30)
    return max(first, today - timedelta(days=30)), today - timedelta(days=8)


def step(ctx):
    rng = ctx.rng
    officer = db.session.scalar(sa.select(User).where(User.role == Role.OFFICER))
    contracts = ctx.made["contracts"]
    providers = ctx.made["providers"]
    sound, sloppy = contracts[providers["sound"].id], contracts[providers["sloppy"].id]

    # A finished draw, checked and published: the sloppy provider's month.
    day_from, day_to = _period(sloppy)
    done = service.new_draw(sloppy, day_from, day_to, service.SizeSettings(risk_size=2), officer)
    rolled = now_local().replace(hour=9, minute=30, second=0, microsecond=0) - timedelta(days=6)
    service.enter_seed(done, "3-5-1-6-2-4-4-1", "王秀兰（掷骰子）", "赵德胜、李明", rolled, officer)
    false_ones = 0

    def check(items):
        nonlocal false_ones
        for item in items:
            if item.evaluator is None or item.outcome is not None:
                continue
            if false_ones == 0 and item.record.case_id is not None and item.stratum.value == "random":
                false_ones += 1
                data = service.CheckInput(outcome=CheckOutcome.NOT_DELIVERED, method="phone", service_happened=False,
                                          remarks="户主说记录的那天没有人来过家里，近两个月未见服务人员。", satisfaction=2)
            else:
                data = service.CheckInput(outcome=CheckOutcome.CONFIRMED, method="phone", service_happened=True,
                                          minutes=rng.choice([20, 30, 40, 45]), what_done=rng.choice(WHAT_DONE),
                                          satisfaction=rng.choice([4, 5, 5]))
            service.file_check(item, data, item.evaluator)

    check(done.items)
    # A false service found: the officer grows the sample over the same frame and seed (to
    # the size the results suggest, or ten more) and the new tickets are checked too.
    found = service.results(done)
    if found.complete and done.size < done.population_size:
        grow_to = found.escalate_to or min(done.size + 10, done.population_size)
        check(service.escalate(done, grow_to, officer))
    if all(i.outcome is not None for i in done.items):
        service.publish(done, officer)

    # An open draw: the sound provider's month, checks assigned and waiting.
    day_from, day_to = _period(sound)
    open_draw = service.new_draw(sound, day_from, day_to, service.SizeSettings(min_count=10), officer)
    service.enter_seed(open_draw, "6-2-6-3-1-5-2-2", "王秀兰（掷骰子）", "李明", rolled + timedelta(days=5), officer)
    ctx.made["spotchecks"] = [done, open_draw]
