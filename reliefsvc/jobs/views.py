"""The administrator's view of scheduled jobs: what is declared, what ran, what failed."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from reliefsvc.db import utcnow
from reliefsvc.jobs import scheduler as scheduling
from reliefsvc.jobs import service
from reliefsvc.jobs.registry import all_jobs
from reliefsvc.security.access import restrict_access
from reliefsvc.security.forms import ConfirmForm
from reliefsvc.security.models import Role

bp = Blueprint("jobs", __name__, url_prefix="/admin/jobs")


@bp.route("/")
@restrict_access(Role.ADMIN)
def overview():
    now = utcnow()
    jobs = all_jobs()
    last = service.last_runs_by_job()
    rows = [{"spec": spec, "next": scheduling.next_run(spec, now), "last": last.get(name)}
            for name, spec in jobs.items()]
    return render_template("jobs/overview.html", rows=rows, runs=service.recent_runs(50),
                           failures=service.recent_failures(), form=ConfirmForm())


@bp.route("/<name>/run", methods=["POST"])
@restrict_access(Role.ADMIN)
def run_now(name):
    spec = all_jobs().get(name)
    if spec is None:
        abort(404)
    if ConfirmForm().validate_on_submit():
        result = service.run_job(spec, retry=True)
        messages = {
            "succeeded": (_("Job %(name)s ran for %(period)s.", name=name, period=result.period), "success"),
            "skipped": (_("Job %(name)s has already run for %(period)s.", name=name, period=result.period), "info"),
            "failed": (_("Job %(name)s failed: %(error)s", name=name, error=result.summary), "danger"),
        }
        flash(*messages[result.outcome])
    return redirect(url_for("jobs.overview"))
