"""Jobs run once per period, record their outcome, and never leave half their work."""

import os
import subprocess
import sys
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from reliefsvc.jobs import service
from reliefsvc.jobs.models import JobRun, Outcome
from reliefsvc.jobs.registry import JobSpec, all_jobs
from reliefsvc.notifications.models import Notification
from reliefsvc.regions.models import Level, Region
from tests.conftest import count

NOON = datetime(2026, 11, 27, 4, 0, tzinfo=UTC)  # 12:00 in Asia/Shanghai


def add_county(period, now):
    from reliefsvc.extensions import db

    db.session.add(Region(code=f"9{period.replace('-', '')[:8]}", name="作业县", level=Level.COUNTY))
    return "one county"


def fail_half_way(period, now):
    from reliefsvc.extensions import db

    db.session.add(Region(code="999999", name="不该留下", level=Level.COUNTY))
    db.session.flush()
    raise RuntimeError("数据源不可用")


ADD = JobSpec("test.add", add_county, "daily", {"hour": 1}, "adds a county")
FAIL = JobSpec("test.fail", fail_half_way, "daily", {"hour": 1}, "fails")


def test_a_period_runs_once(db):
    first = service.run_job(ADD, now=NOON)
    assert (first.outcome, first.period, first.summary) == ("succeeded", "2026-11-27", "one county")
    assert service.run_job(ADD, now=NOON).outcome == "skipped"
    assert count(Region) == 1
    run = db.session.scalar(sa.select(JobRun).where(JobRun.job == "test.add"))
    assert run.outcome is Outcome.SUCCEEDED and run.finished_at is not None
    assert service.run_job(ADD, period="2026-11-28").outcome == "succeeded"
    assert count(Region) == 2


def test_the_period_is_local_time():
    late_evening_utc = datetime(2026, 11, 27, 17, 30, tzinfo=UTC)  # 01:30 on the 28th in China
    assert ADD.period_of(late_evening_utc) == "2026-11-28"
    monthly = JobSpec("m", add_county, "monthly", {}, "")
    assert monthly.period_of(late_evening_utc) == "2026-11"


def test_a_failure_is_recorded_and_leaves_nothing_half_done(db, create_user):
    admin = create_user("admin")
    result = service.run_job(FAIL, now=NOON)
    assert result.outcome == "failed"
    assert count(Region) == 0
    run = db.session.scalar(sa.select(JobRun).where(JobRun.job == "test.fail"))
    assert run.outcome is Outcome.FAILED and "数据源不可用" in run.error
    note = db.session.scalar(sa.select(Notification).where(Notification.user_id == admin.id))
    assert note.kind == "job.failed" and "test.fail" in note.title
    # not retried by itself, only when asked
    assert service.run_job(FAIL, now=NOON).outcome == "skipped"
    assert service.run_job(FAIL, now=NOON, retry=True).outcome == "failed"
    assert db.session.scalar(sa.select(JobRun.attempts).where(JobRun.job == "test.fail")) == 2


def test_run_once_command(run_cli, db):
    result = run_cli("jobs", "run-once", "audit.verify")
    assert result.exit_code == 0, result.output
    assert "succeeded" in result.output
    again = run_cli("jobs", "run-once", "audit.verify")
    assert "skipped" in again.output
    assert run_cli("jobs", "run-once", "no.such.job").exit_code == 2


def test_jobs_list_command(run_cli):
    result = run_cli("jobs", "list")
    assert result.exit_code == 0
    assert "audit.verify" in result.output and "evidence.sweep" in result.output


def test_every_declared_job_has_a_valid_schedule():
    from reliefsvc.jobs.scheduler import next_run

    jobs = all_jobs()
    assert {"audit.verify", "evidence.sweep"} <= set(jobs)
    for spec in jobs.values():
        assert next_run(spec, NOON) > NOON
        assert str(spec.description)


def test_audit_job_anchors_the_head_and_alerts_on_damage(db, app, create_user, run_cli):
    from pathlib import Path

    inspector = create_user("inspector")
    assert service.run_job(all_jobs()["audit.verify"], now=NOON).outcome == "succeeded"
    anchors = (Path(app.instance_path) / "audit-anchors.log").read_text().splitlines()
    assert anchors[-1].startswith("2026-11-27\t") and anchors[-1].endswith("\tok")
    # damage the log, then the next day's run tells the inspector
    conn = db.session.connection()
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("DROP TRIGGER audit_entry_no_update")
    else:
        conn.exec_driver_sql("ALTER TABLE audit_entry DISABLE TRIGGER audit_entry_no_change")
    conn.exec_driver_sql("UPDATE audit_entry SET actor_name = 'forged' WHERE seq = 1")
    result = service.run_job(all_jobs()["audit.verify"], period="2026-11-28")
    assert result.summary.startswith("第 1 条起损坏") and "damaged at entry 1" in result.summary
    note = db.session.scalar(sa.select(Notification).where(Notification.user_id == inspector.id))
    assert "第 1 条" in note.title


def test_reconcile_adds_declared_and_removes_stale_jobs(app, tmp_path):
    from reliefsvc.jobs import scheduler as scheduling

    app.config["SCHEDULER_JOBSTORE_URL"] = f"sqlite:///{tmp_path / 'store.sqlite'}"
    try:
        sched = scheduling.build(app)
        sched.start(paused=True)
        sched.add_job(scheduling.execute, "interval", hours=1, args=["old.job"], id="old.job")
        kept, removed = scheduling.reconcile(sched)
        assert removed == ["old.job"]
        assert {j.id for j in sched.get_jobs()} == set(all_jobs())
        sched.shutdown(wait=False)
        # a second start finds the same jobs in the store and removes nothing
        again = scheduling.build(app)
        again.start(paused=True)
        assert {j.id for j in again.get_jobs()} == set(all_jobs())
        assert scheduling.reconcile(again)[1] == []
        again.shutdown(wait=False)
    finally:
        app.config.pop("SCHEDULER_JOBSTORE_URL")


@pytest.mark.no_db_rollback
@pytest.mark.slow
def test_two_scheduler_processes_do_each_period_once(scratch_database):
    """Two ``reliefsvc jobs run`` started at once over one database: each job runs once."""
    url, instance = scratch_database
    env = {**os.environ, "DATABASE_URL": url, "RELIEFSVC_INSTANCE_PATH": str(instance)}
    procs = [subprocess.Popen([sys.executable, "-m", "reliefsvc", "jobs", "run", "--exit-after-catch-up"],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outputs = [p.communicate(timeout=180) for p in procs]
    for proc, (_out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            runs = conn.execute(sa.text("SELECT job, period, outcome FROM job_run")).all()
            verified = conn.execute(sa.text(
                "SELECT count(*) FROM audit_entry WHERE event_type = 'audit.verified'")).scalar()
    finally:
        engine.dispose()
    declared = set(all_jobs())
    assert sorted(r.job for r in runs) == sorted(declared)  # one row per job, not two
    assert all(r.outcome == "succeeded" for r in runs)
    assert verified == 1  # the audit job's own effect happened once
    combined = outputs[0][0] + outputs[1][0]
    for name in declared:
        assert combined.count(f"{name} ") == 2  # both processes saw every job ...
    assert combined.count("skipped") == len(declared)  # ... and one of them skipped each
    assert len((instance / "audit-anchors.log").read_text().splitlines()) == 1
