"""Rectification deadlines: a reminder before, a message once an item is overdue."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l

from reliefsvc.jobs.registry import LOCAL_TZ, JobSpec
from reliefsvc.rectifications import service


def deadlines(period: str, now: datetime) -> str:
    reminded, overdue = service.notify_deadlines(now.astimezone(LOCAL_TZ).date())
    return f"整改期限提醒 {reminded} 份，新逾期 {overdue} 项 / {reminded} reminded, {overdue} newly overdue items"


JOBS = [
    JobSpec("rectifications.deadlines", deadlines, "daily", {"hour": 7, "minute": 40},
            _l("Remind providers of rectification deadlines and report overdue items")),
]
