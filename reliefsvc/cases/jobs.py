"""Tell officers and providers when the door-to-door check of a monitoring alert is overdue."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l

from reliefsvc.cases import service
from reliefsvc.jobs.registry import JobSpec


def overdue_alerts(period: str, now: datetime) -> str:
    told = service.announce_overdue(now)
    return f"新逾期预警 {told} 条 / {told} alerts newly overdue"


JOBS = [
    JobSpec("cases.alert_overdue", overdue_alerts, "hourly", {"minute": 5},
            _l("Tell officers and providers once when the check of a monitoring alert is overdue")),
]
