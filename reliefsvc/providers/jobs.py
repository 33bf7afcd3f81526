"""Reminders before a vetting approval expires, and notice when it has."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from reliefsvc.extensions import db
from reliefsvc.jobs.registry import LOCAL_TZ, JobSpec
from reliefsvc.notifications import service as notifications
from reliefsvc.providers import service
from reliefsvc.providers.models import Vetting, VettingStatus
from reliefsvc.security.models import Role

REMINDER_DAYS = (60, 30)


def expiry_reminders(period: str, now: datetime) -> str:
    today = now.astimezone(LOCAL_TZ).date()
    sent = expired = 0
    vettings = db.session.scalars(sa.select(Vetting).where(
        Vetting.status.in_([VettingStatus.APPROVED, VettingStatus.CONDITIONAL]),
        Vetting.valid_until.is_not(None), Vetting.valid_until <= today + timedelta(days=max(REMINDER_DAYS)))).all()
    for vetting in vettings:
        # Only the provider's current approval matters; an older one expiring is no news.
        if service.latest_decision(vetting.provider) is not vetting:
            continue
        provider, end = vetting.provider, vetting.valid_until
        link = f"/providers/{provider.id}/vettings/{vetting.id}"
        recipients = service._managers(provider)
        if end < today:
            if vetting.expiry_notified_on is None:
                vetting.expiry_notified_on = today
                notifications.notify_roles((Role.OFFICER,), "vetting.expired",
                                           f"{provider.name} 的资格审查已于 {_zh(end)} 过期", "", link)
                notifications.notify(recipients, "vetting.expired", f"贵机构的资格审查已于 {_zh(end)} 过期", "", link)
                expired += 1
            continue
        days_left = (end - today).days
        for days, attr in ((30, "reminded_30_on"), (60, "reminded_60_on")):
            if days_left <= days and getattr(vetting, attr) is None:
                setattr(vetting, attr, today)
                if days == 30:
                    vetting.reminded_60_on = vetting.reminded_60_on or today
                title = f"{provider.name} 的资格审查将于 {_zh(end)} 到期（还有 {days_left} 天）"
                notifications.notify_roles((Role.OFFICER,), "vetting.expiring", title, "", link)
                notifications.notify(recipients, "vetting.expiring", title, "", link)
                sent += 1
                break
    return f"到期提醒 {sent} 条，过期通知 {expired} 条 / {sent} reminders, {expired} expiries"


def _zh(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


JOBS = [
    JobSpec("providers.vetting_expiry", expiry_reminders, "daily", {"hour": 7, "minute": 0},
            _l("Remind officers and providers 60 and 30 days before a vetting approval expires")),
]
