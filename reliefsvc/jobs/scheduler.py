"""The scheduler process: APScheduler with a persistent job store.

The job store (by default ``instance/scheduler.sqlite``) remembers each job's next run,
so that a job whose time passed while the process was down runs once when it comes back
(coalesced). The store is reconciled with the declared jobs at every start: new jobs are
added, changed schedules replace old ones, jobs no longer declared are removed.
"""

from __future__ import annotations

import logging
from datetime import datetime

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from flask import Flask

from reliefsvc.jobs import service
from reliefsvc.jobs.registry import LOCAL_TZ, JobSpec, all_jobs

log = logging.getLogger(__name__)

#: The app of this process; APScheduler stores only a function reference and arguments.
_app: Flask | None = None


def trigger_for(spec: JobSpec) -> CronTrigger:
    return CronTrigger(timezone=LOCAL_TZ, **spec.cron)


def next_run(spec: JobSpec, now: datetime) -> datetime | None:
    return trigger_for(spec).get_next_fire_time(None, now)


def execute(name: str) -> None:
    """Entry point stored in the job store: run one job in the app's context."""
    assert _app is not None, "the scheduler's app is not set"
    with _app.app_context():
        spec = all_jobs().get(name)
        if spec is None:
            log.warning("job %s is no longer declared", name)
            return
        result = service.run_job(spec)
        log.info("job %s for %s: %s", result.job, result.period, result.outcome)


def build(app: Flask) -> BackgroundScheduler:
    global _app
    _app = app
    url = app.config.get("SCHEDULER_JOBSTORE_URL") or f"sqlite:///{app.instance_path}/scheduler.sqlite"
    scheduler = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(url=url)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 6 * 3600},
        timezone=LOCAL_TZ,
    )
    return scheduler


def reconcile(scheduler: BackgroundScheduler) -> tuple[list[str], list[str]]:
    """Make the store hold exactly the declared jobs; returns (kept or added, removed)."""
    declared = all_jobs()
    removed = []
    for job in scheduler.get_jobs():
        if job.id not in declared:
            scheduler.remove_job(job.id)
            removed.append(job.id)
    for name, spec in declared.items():
        scheduler.add_job(execute, trigger=trigger_for(spec), args=[name], id=name, name=str(spec.description),
                          replace_existing=True)
    return sorted(declared), removed


def catch_up(app: Flask) -> list[service.RunResult]:
    """Run every catch-up job for its current period if no process has done so yet."""
    with app.app_context():
        return [service.run_job(spec) for spec in all_jobs().values() if spec.catch_up]
