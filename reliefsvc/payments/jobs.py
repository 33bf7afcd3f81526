"""The monthly anomaly list (section 八): amounts, households served and timing compared
with earlier months and similar contracts; outliers go to officers for an on-site check."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l

from reliefsvc.contracts import rules as contract_rules
from reliefsvc.jobs.registry import LOCAL_TZ, JobSpec
from reliefsvc.notifications import service as notifications
from reliefsvc.payments import service
from reliefsvc.security.models import Role


def monthly_anomalies(period: str, now: datetime) -> str:
    """On the 2nd of a month: look at the month just ended."""
    month = contract_rules.month_key(now.astimezone(LOCAL_TZ).date().replace(day=1) - timedelta(days=1))
    found = service.find_anomalies(month, now)
    if found:
        notifications.notify_roles((Role.OFFICER,), "payment.anomalies",
                                   f"资金监管：{month} 发现 {len(found)} 项异常，请安排实地核查",
                                   "；".join(f"{a.contract.contract_no} {service.ANOMALY_ZH[a.kind]} {a.value}（中位数 {a.baseline}）"
                                            for a in found)[:1000], link="/payments/anomalies")
    return f"{month}: 异常 {len(found)} 项 / {len(found)} anomalies"


JOBS = [
    JobSpec("payments.anomalies", monthly_anomalies, "monthly", {"day": 2, "hour": 7, "minute": 30},
            _l("Compare payments, households served and timing with earlier months and similar contracts; "
               "list outliers for an on-site check")),
]
