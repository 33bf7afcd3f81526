"""Nightly: check what is new or changed since the last run."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l

from reliefsvc.integrity import service
from reliefsvc.jobs.registry import JobSpec


def nightly(period: str, now: datetime) -> str:
    result = service.run(incremental=True, now=now)
    return result.summary()


JOBS = [
    JobSpec("integrity.nightly", nightly, "daily", {"hour": 1, "minute": 30},
            _l("Check new and changed service records for seconds-long, staged and perfunctory services")),
]
