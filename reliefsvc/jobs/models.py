"""The record of every job run."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column

from reliefsvc.extensions import db


class Outcome(enum.StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    @property
    def label(self) -> str:
        return str(OUTCOME_LABELS[self])


OUTCOME_LABELS = {Outcome.RUNNING: _l("Running"), Outcome.SUCCEEDED: _l("Succeeded"), Outcome.FAILED: _l("Failed")}


class JobRun(db.Model):
    __tablename__ = "job_run"
    __table_args__ = (sa.UniqueConstraint("job", "period", name="uq_job_run_job_period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(sa.String(64))
    #: The period the run is for, in the job's granularity: "2026-11-27", "2026-11", "2026-11-27T08".
    period: Mapped[str] = mapped_column(sa.String(20))
    started_at: Mapped[datetime] = mapped_column(index=True)
    finished_at: Mapped[datetime | None]
    outcome: Mapped[Outcome] = mapped_column(sa.Enum(Outcome, native_enum=False, length=10,
                                                     values_callable=lambda e: [m.value for m in e]))
    #: What the job reported: "3 notices sent", or the error on failure.
    summary: Mapped[str | None] = mapped_column(sa.Text)
    error: Mapped[str | None] = mapped_column(sa.Text)
    #: host:pid of the process that ran it, to tell two schedulers apart.
    runner: Mapped[str] = mapped_column(sa.String(100))
    #: how many times a failed or stale run of this period was taken up again
    attempts: Mapped[int] = mapped_column(default=1)
