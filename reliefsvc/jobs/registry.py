"""How a domain declares a job, and the periods jobs run for."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Shanghai")

#: granularity -> how the period of a moment is written
PERIOD_FORMATS = {
    "hourly": "%Y-%m-%dT%H",
    "daily": "%Y-%m-%d",
    "monthly": "%Y-%m",
}


@dataclass(frozen=True)
class JobSpec:
    """One scheduled job.

    ``func(period, now)`` does the work inside the runner's transaction (it flushes,
    never commits) and returns a one-line summary. ``cron`` holds APScheduler cron fields
    in local (Asia/Shanghai) time; the job runs once per period of ``granularity``.
    """

    name: str
    func: Callable[[str, datetime], str | None]
    granularity: str
    cron: dict
    #: what the job does, for operators (a lazy gettext string)
    description: object
    #: on start, run the job for the current period if it has not run yet
    catch_up: bool = True

    def period_of(self, moment: datetime) -> str:
        return moment.astimezone(LOCAL_TZ).strftime(PERIOD_FORMATS[self.granularity])


def all_jobs() -> dict[str, JobSpec]:
    """Every job of every domain (its ``jobs.py`` with a ``JOBS`` list), by name."""
    from reliefsvc import domain_modules

    jobs: dict[str, JobSpec] = {}
    for module in domain_modules("jobs"):
        for spec in module.JOBS:
            if spec.name in jobs:
                raise RuntimeError(f"duplicate job name {spec.name}")
            jobs[spec.name] = spec
    return jobs
