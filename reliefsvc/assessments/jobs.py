"""Assessments due and overdue; comment windows closing."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from reliefsvc.assessments import service
from reliefsvc.assessments.models import Assessment, AssessmentStatus
from reliefsvc.contracts.models import Contract, ContractStatus
from reliefsvc.extensions import db
from reliefsvc.jobs.registry import LOCAL_TZ, JobSpec
from reliefsvc.notifications import service as notifications
from reliefsvc.security.models import Role

#: An ended period still without a signed assessment this many days later is overdue.
OVERDUE_DAYS = 45


def due_and_overdue(period: str, now: datetime) -> str:
    """On the first of a month: periods just ended (due) and those long unsigned (overdue)."""
    today = now.astimezone(LOCAL_TZ).date()
    due_lines, overdue_lines = [], []
    contracts = db.session.scalars(sa.select(Contract).where(
        Contract.status.in_((ContractStatus.ACTIVE, ContractStatus.SUSPENDED)))).all()
    for c in contracts:
        binding = service.binding_for(c)
        for key in service.due_periods(c, today):
            last = service.rules.period_bounds(binding.period, key)[1]
            if last == today - timedelta(days=1):
                due_lines.append(f"{c.contract_no} {key}")
            elif (today - last).days > OVERDUE_DAYS:
                overdue_lines.append(f"{c.contract_no} {key}（未开始考核）")
    unsigned = db.session.scalars(sa.select(Assessment).where(
        Assessment.status != AssessmentStatus.SIGNED,
        Assessment.day_to < today - timedelta(days=OVERDUE_DAYS))).all()
    overdue_lines += [f"{a.contract.contract_no} {a.period_key}（{a.status.label}）" for a in unsigned]
    if due_lines:
        notifications.notify(service.users_of(Role.EVALUATOR) + service.users_of(Role.OFFICER), "assessment.due",
                             f"本月应开展的定期考核 {len(due_lines)} 项", "\n".join(due_lines), link="/assessments/")
    if overdue_lines:
        notifications.notify(service.users_of(Role.OFFICER), "assessment.overdue",
                             f"逾期未完成的定期考核 {len(overdue_lines)} 项", "\n".join(overdue_lines),
                             link="/assessments/")
    return f"到期 {len(due_lines)}，逾期 {len(overdue_lines)} / {len(due_lines)} due, {len(overdue_lines)} overdue"


def comment_windows(period: str, now: datetime) -> str:
    """Daily: remind providers the day before their window closes; tell officers once it has."""
    today = now.astimezone(LOCAL_TZ).date()
    open_ones = db.session.scalars(sa.select(Assessment).where(
        Assessment.status == AssessmentStatus.COMMENTING, Assessment.comments_closed_at.is_(None))).all()
    closing = [a for a in open_ones if a.comment_until == today + timedelta(days=1)]
    closed = [a for a in open_ones if a.comment_until == today - timedelta(days=1)]
    for a in closing:
        notifications.notify(service.provider_managers(a.contract), "assessment.window_closing",
                             f"考核意见反馈期明天截止：合同 {a.contract.contract_no} {a.period_key}",
                             link=f"/assessments/{a.id}")
    for a in closed:
        notifications.notify(service.users_of(Role.OFFICER), "assessment.window_closed",
                             f"考核意见反馈期已满：合同 {a.contract.contract_no} {a.period_key}"
                             + ("，有申诉待复核" if a.undecided_appeals else "，可以签发"),
                             link=f"/assessments/{a.id}")
    return f"即将截止 {len(closing)}，已截止 {len(closed)} / {len(closing)} closing, {len(closed)} closed"


JOBS = [
    JobSpec("assessments.due", due_and_overdue, "monthly", {"day": 1, "hour": 7, "minute": 50},
            _l("Tell evaluators and officers which assessments are due and which are overdue")),
    JobSpec("assessments.comment_windows", comment_windows, "daily", {"hour": 8, "minute": 0},
            _l("Remind providers before an assessment's comment window closes; tell officers when it has")),
]
