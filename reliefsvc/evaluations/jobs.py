"""The evaluation clock: open evaluations when a contract-year ends; tell people what is
overdue and which comment windows close."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from reliefsvc.evaluations import service
from reliefsvc.evaluations.models import Evaluation, EvaluationStatus
from reliefsvc.extensions import db
from reliefsvc.jobs.registry import LOCAL_TZ, JobSpec
from reliefsvc.notifications import service as notifications
from reliefsvc.security.models import Role


def open_and_chase(period: str, now: datetime) -> str:
    """Daily: open the evaluation of every contract-year that has ended; tell officers of
    contract-years that became overdue yesterday, and on Mondays of all that are overdue."""
    today = now.astimezone(LOCAL_TZ).date()
    made = service.open_due(today)
    late = service.overdue(today)
    newly = [r for r in late if r.due_on == today - timedelta(days=1)]
    chase = late if today.weekday() == 0 else newly
    if chase:
        lines = [f"{r.contract.contract_no} 第{r.year.number}执行年度，应于 {r.due_on.isoformat()} 前签发"
                 + ("（尚未开启）" if r.evaluation is None else f"（{r.evaluation.status.label}）") for r in chase]
        notifications.notify(service.users_of(Role.OFFICER), "evaluation.overdue",
                             f"逾期未签发的年度评估 {len(late)} 项", "\n".join(lines), link="/evaluations/overdue")
    return (f"开启 {len(made)}，逾期 {len(late)}（新增 {len(newly)}） / "
            f"{len(made)} opened, {len(late)} overdue ({len(newly)} new)")


def comment_windows(period: str, now: datetime) -> str:
    """Daily: remind the provider the day before its window closes; tell officers once it has."""
    today = now.astimezone(LOCAL_TZ).date()
    open_ones = db.session.scalars(sa.select(Evaluation).where(
        Evaluation.status == EvaluationStatus.COMMENTING, Evaluation.comments_closed_at.is_(None))).all()
    closing = [e for e in open_ones if e.comment_until == today + timedelta(days=1)]
    closed = [e for e in open_ones if e.comment_until == today - timedelta(days=1)]
    for e in closing:
        notifications.notify(service.provider_managers(e.contract), "evaluation.window_closing",
                             f"年度评估意见反馈期明天截止：{e.contract.contract_no} 第{e.year_no}执行年度",
                             link=f"/evaluations/{e.id}")
    for e in closed:
        notifications.notify(service.users_of(Role.OFFICER), "evaluation.window_closed",
                             f"年度评估意见反馈期已满，可以签发：{e.contract.contract_no} 第{e.year_no}执行年度",
                             link=f"/evaluations/{e.id}")
    return f"即将截止 {len(closing)}，已截止 {len(closed)} / {len(closing)} closing, {len(closed)} closed"


JOBS = [
    JobSpec("evaluations.daily", open_and_chase, "daily", {"hour": 6, "minute": 40},
            _l("Open the annual evaluation of every contract-year that has ended; tell officers which are overdue")),
    JobSpec("evaluations.comment_windows", comment_windows, "daily", {"hour": 8, "minute": 5},
            _l("Remind providers before an evaluation's comment window closes; tell officers when it has")),
]
