import logging
import signal
import sys
import threading

import click
from flask import current_app
from flask.cli import with_appcontext

from reliefsvc.db import utcnow
from reliefsvc.jobs import scheduler as scheduling
from reliefsvc.jobs import service
from reliefsvc.jobs.registry import all_jobs


@click.group("jobs")
def jobs_group():
    """Scheduled jobs (定时任务)."""


@jobs_group.command("list")
@with_appcontext
def list_command():
    """The declared jobs, their schedule, next and last run."""
    now = utcnow()
    last = service.last_runs_by_job()
    for name, spec in all_jobs().items():
        nxt = scheduling.next_run(spec, now)
        run = last.get(name)
        last_text = f"{run.period} {run.outcome.value}" if run else "never"
        click.echo(f"{name:<28} {spec.granularity:<8} next {nxt:%Y-%m-%d %H:%M}  last {last_text}  — {spec.description}")


@jobs_group.command("run-once")
@click.argument("name")
@click.option("--period", help="The period to run for (default: the current one), e.g. 2026-11-27.")
@click.option("--retry", is_flag=True, help="Take up a failed (or dead) run of that period again.")
@with_appcontext
def run_once_command(name, period, retry):
    """Run job NAME now, once for its period; skipped if that period is done."""
    spec = all_jobs().get(name)
    if spec is None:
        click.echo(f"no job named {name!r} / 没有名为 {name} 的任务; see `reliefsvc jobs list`", err=True)
        sys.exit(2)
    result = service.run_job(spec, period=period, retry=retry)
    click.echo(f"{result.job} {result.period}: {result.outcome}" + (f" — {result.summary}" if result.summary else ""))
    if result.outcome == "failed":
        sys.exit(1)


@jobs_group.command("run")
@click.option("--exit-after-catch-up", is_flag=True,
              help="Run what is due for the current periods, then exit (for tests and cron).")
@with_appcontext
def run_command(exit_after_catch_up):
    """Run the scheduler in this process (one per installation, beside the web server)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = current_app._get_current_object()
    for result in scheduling.catch_up(app):
        click.echo(f"{result.job} {result.period}: {result.outcome}")
    if exit_after_catch_up:
        return
    scheduler = scheduling.build(app)
    scheduler.start(paused=True)
    kept, removed = scheduling.reconcile(scheduler)
    click.echo(f"scheduler: {len(kept)} jobs" + (f", removed {', '.join(removed)}" if removed else ""), err=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    scheduler.resume()
    stop.wait()
    scheduler.shutdown(wait=True)


COMMANDS = [jobs_group]
