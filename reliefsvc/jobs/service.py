"""Running a job for a period exactly once.

A run is claimed by inserting its ``job_run`` row and committing: the unique (job,
period) constraint lets only one process win. The job's work and the "succeeded" mark
are committed together, so a run either happened completely or not at all; a failure
rolls the work back and records the error in a transaction of its own.
"""

from __future__ import annotations

import logging
import os
import socket
import traceback
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from reliefsvc import audit
from reliefsvc.db import utcnow
from reliefsvc.extensions import db
from reliefsvc.jobs.models import JobRun, Outcome
from reliefsvc.jobs.registry import JobSpec
from reliefsvc.notifications import service as notifications
from reliefsvc.security.models import Role

log = logging.getLogger(__name__)

#: A run still "running" after this long is taken to have died with its process.
STALE_AFTER = timedelta(hours=2)


@dataclass(frozen=True)
class RunResult:
    job: str
    period: str
    #: succeeded | failed | skipped (another process has it or had it)
    outcome: str
    summary: str | None = None


def _runner_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _claim(spec: JobSpec, period: str, now: datetime, retry: bool) -> JobRun | None:
    run = JobRun(job=spec.name, period=period, started_at=now, outcome=Outcome.RUNNING, runner=_runner_name())
    db.session.add(run)
    try:
        db.session.commit()
        return run
    except IntegrityError:
        db.session.rollback()
    if not retry:
        return None
    # Take up a failed run, or one whose process died, again; still only one process wins.
    taken = db.session.execute(
        sa.update(JobRun)
        .where(JobRun.job == spec.name, JobRun.period == period,
               sa.or_(JobRun.outcome == Outcome.FAILED,
                      sa.and_(JobRun.outcome == Outcome.RUNNING, JobRun.started_at < now - STALE_AFTER)))
        .values(outcome=Outcome.RUNNING, started_at=now, finished_at=None, error=None,
                runner=_runner_name(), attempts=JobRun.attempts + 1)
    ).rowcount
    db.session.commit()
    if taken != 1:
        return None
    return db.session.scalar(sa.select(JobRun).where(JobRun.job == spec.name, JobRun.period == period))


def run_job(spec: JobSpec, *, period: str | None = None, now: datetime | None = None,
            retry: bool = False) -> RunResult:
    """Run ``spec`` for ``period`` (default: the period of ``now``) unless it ran already."""
    now = now or utcnow()
    period = period or spec.period_of(now)
    run = _claim(spec, period, now, retry)
    if run is None:
        return RunResult(spec.name, period, "skipped")
    run_id = run.id
    audit.set_actor(f"job:{spec.name}")
    try:
        summary = spec.func(period, now)
        run.outcome = Outcome.SUCCEEDED
        run.finished_at = utcnow()
        run.summary = summary
        db.session.commit()
    except Exception as exc:  # a job's failure is recorded, never lost, never half-done
        db.session.rollback()
        log.exception("job %s for %s failed", spec.name, period)
        error = "".join(traceback.format_exception_only(exc)).strip()[:4000]
        db.session.execute(
            sa.update(JobRun).where(JobRun.id == run_id)
            .values(outcome=Outcome.FAILED, finished_at=utcnow(), error=error)
        )
        notifications.notify_roles(
            (Role.ADMIN,), "job.failed", f"定时任务 {spec.name} 运行失败（{period}）", error, link="/admin/jobs/")
        notifications.commit()
        return RunResult(spec.name, period, "failed", str(exc))
    notifications.deliver_pending()
    return RunResult(spec.name, period, "succeeded", summary)


def recent_runs(limit: int = 100) -> list[JobRun]:
    return db.session.scalars(sa.select(JobRun).order_by(JobRun.started_at.desc()).limit(limit)).all()


def recent_failures(limit: int = 20) -> list[JobRun]:
    return db.session.scalars(
        sa.select(JobRun).where(JobRun.outcome == Outcome.FAILED).order_by(JobRun.started_at.desc()).limit(limit)
    ).all()


def last_runs_by_job() -> dict[str, JobRun]:
    latest = (sa.select(JobRun.job, sa.func.max(JobRun.started_at).label("started_at"))
              .group_by(JobRun.job).subquery())
    rows = db.session.scalars(
        sa.select(JobRun).join(latest, sa.and_(JobRun.job == latest.c.job, JobRun.started_at == latest.c.started_at))
    ).all()
    return {r.job: r for r in rows}
