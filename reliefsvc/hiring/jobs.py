"""Once a month: recompute the disguised-hiring risk of every running contract."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l

from reliefsvc.hiring import service
from reliefsvc.jobs.registry import JobSpec


def monthly_hiring_risk(period: str, now: datetime) -> str:
    _results, s = service.recompute_all("job")
    return (f"合同 {s.computed} 个，高风险 {s.high} 个，等级上升 {s.rose} 个"
            f" / {s.computed} contracts, {s.high} high, {s.rose} rose")


JOBS = [
    JobSpec("hiring.monthly_risk", monthly_hiring_risk, "monthly", {"day": 1, "hour": 4, "minute": 10},
            _l("Recompute the disguised-hiring risk of running contracts; tell officers when a level rises")),
]
