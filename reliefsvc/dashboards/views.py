"""The dashboards of the home page: figures with the links to the lists behind them, and charts.

The home page (``security.home``) owns the URL ``/``; it asks :func:`dashboard` for the
role's dashboard and includes ``dashboards/_<kind>.html``. Every figure links to an
existing list page with its filters. The one chart that reads the large household table
(services by township) is not drawn into the home page: it is an image of its own
(``townships.svg``, cached by the browser for five minutes) with a page of its figures, so
the home page stays within its time whatever the number of records.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from datetime import datetime

from flask import (
    Blueprint,
    Response,
    current_app,
    render_template,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from reliefsvc.common import pagecache as cache
from reliefsvc.common.formatting import LOCAL_TZ, now_local
from reliefsvc.dashboards import service
from reliefsvc.extensions import db
from reliefsvc.reports import charts
from reliefsvc.security.access import restrict_access
from reliefsvc.security.models import Role

bp = Blueprint("dashboards", __name__, url_prefix="/dashboards")

#: Where each line of "due this week" leads, and what it is called.
DUE_LINKS = {
    "assessments": ("assessments.index", {"status": "commenting"}),
    "evaluations": ("evaluations.overdue", {}),
    "rectifications": ("rectifications.board", {"status": "open"}),
    "alerts": ("cases.alerts", {"state": "open"}),
    "vettings": ("providers.index", {}),
    "payments": ("payments.index", {}),
}
OVERDUE_LINKS = {
    "alerts": ("cases.alerts", {"state": "overdue"}),
    "vettings": ("providers.index", {"status": "expired"}),
}


def due_labels() -> dict[str, str]:
    return {
        "assessments": _("Assessments to sign (comment window closing)"),
        "evaluations": _("Annual evaluations due"),
        "rectifications": _("Rectification deadlines"),
        "alerts": _("Alert checks due"),
        "vettings": _("Vetting approvals expiring"),
        "payments": _("Payment instalments due"),
    }


def grade_labels() -> dict[str, str]:
    from reliefsvc.assessments.models import Grade

    return {g.value: g.label for g in Grade}


def officer_charts(d: service.OfficerDashboard) -> dict:
    """The officer's four charts, each with the rows of its text table (label, value, link)."""
    from reliefsvc.integrity.models import CODE_LABELS

    out = {}
    month_rows = []
    for key, n in d.by_month:
        year, month = int(key[:4]), int(key[5:])
        last_day = calendar.monthrange(year, month)[1]
        month_rows.append((key, n, url_for("records.index", **{"from": f"{key}-01", "to": f"{key}-{last_day:02d}"})))
    out["by_month"] = {
        "svg": charts.bar_chart([(k[2:], n) for k, n, _u in month_rows], title=_("Services delivered by month"),
                                unit=_("records"), width=640, height=300),
        "rows": month_rows, "head": (_("Month"), _("Records"))}
    out["by_township"] = {"img": url_for("dashboards.townships_svg"), "alt": _("Household services by township"),
                          "table_url": url_for("dashboards.townships")}
    out["flags"] = {
        "svg": charts.hbar_chart([(str(CODE_LABELS.get(code, code)), n) for code, n in d.flags],
                                 title=_("Open integrity flags by kind"), unit=_("flags")) if d.flags else None,
        "rows": [(str(CODE_LABELS.get(code, code)), n, url_for("records.index", flag=code)) for code, n in d.flags],
        "head": (_("Flag"), _("Open flags"))}
    labels = grade_labels()
    named = {labels[g]: values for g, values in d.grades.items()}
    out["grades"] = {
        "svg": charts.stacked_bar_chart(d.grade_periods, named, title=_("Assessment grades by period"),
                                        unit=_("contracts"), colours=("#3d9970", "#2f6db5", "#d9822b", "#b53f3f"))
        if d.grade_periods else None,
        "rows": [(key, " · ".join(f"{labels[g]} {d.grades[g][i]}" for g in service.GRADES if d.grades[g][i]),
                  url_for("assessments.index", status="signed")) for i, key in enumerate(d.grade_periods)],
        "head": (_("Period"), _("Grades"))}
    return out


def dashboard(user) -> dict | None:
    """The context of the role's dashboard for the home page, or None."""
    now = now_local()
    kind, data = service.for_user(user, now.date(), now)
    if kind is None:
        return None
    context = {"kind": kind, "d": data, "template": f"dashboards/_{kind}.html"}
    if kind == "officer":
        context["charts"] = officer_charts(data)
        context["due_labels"] = due_labels()
        context["due_links"] = {k: url_for(e, **a) for k, (e, a) in DUE_LINKS.items()}
        context["overdue_links"] = {k: url_for(*OVERDUE_LINKS[k][:1], **OVERDUE_LINKS[k][1])
                                    if k in OVERDUE_LINKS else context["due_links"][k] for k in DUE_LINKS}
        context["grade_labels"] = grade_labels()
    return context


def home_figures(user, work: Callable[[], list], regions: Callable[[], dict]) -> dict:
    """The home page's figures for ``user``: the workbench numbers (``work()``), the region
    counts (``regions()``) and the role's dashboard, rendered — kept for a minute per scope
    (:mod:`reliefsvc.common.pagecache`). ``dash`` is the context the home page includes."""

    def compute() -> dict:
        context = dashboard(user)
        # The fragments read nothing but ``dash`` (no context processors: they would query).
        # Our own template's output, escaped by its autoescape: safe to insert as it is.
        html = Markup(current_app.jinja_env.get_template(context["template"]).render(dash=context)) \
            if context else None  # noqa: S704
        return {"work": work(), "region_counts": regions(), "html": html,
                "kind": context["kind"] if context else None}

    value, computed_at = cache.cached(user, "home", compute)
    dash = None
    if value["html"] is not None:
        dash = {"kind": value["kind"], "html": value["html"], "template": "dashboards/_cached.html",
                "as_of": datetime.fromtimestamp(computed_at, LOCAL_TZ) if computed_at else None}
    return {"work": value["work"], "region_counts": value["region_counts"], "dash": dash}


def township_chart(rows) -> dict:
    return {
        "svg": charts.hbar_chart([(name, n) for _tid, name, n in rows[:15]],
                                 title=_("Household services by township, last 12 months"), unit=_("services"))
        if rows else None,
        "rows": [(name, n, url_for("cases.index", township=tid)) for tid, name, n in rows],
        "head": (_("Township"), _("Services"))}


@bp.route("/townships.svg")
@restrict_access(Role.OFFICER)
def townships_svg():
    rows = service.delivery_by_township(current_user, now_local().date())
    svg = township_chart(rows)["svg"] or charts.hbar_chart([], title=_("No data yet."))
    response = Response(str(svg), mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


@bp.route("/townships")
@restrict_access(Role.OFFICER)
def townships():
    rows = service.delivery_by_township(current_user, now_local().date())
    return render_template("dashboards/townships.html", township=township_chart(rows))


#: Contracts a page on the page of every contract under way.
CONTRACTS_PER_PAGE = 50


@bp.route("/contracts")
@restrict_access(Role.OFFICER)
def contracts():
    """Every contract under way with the figures of the home page's table, by contract
    number, a page at a time (the home page lists those needing attention most)."""
    page = db.paginate(service.running_contracts(current_user), per_page=CONTRACTS_PER_PAGE, error_out=False)
    rows = service.contract_rows(current_user, now_local().date(), only=list(page.items))
    return render_template("dashboards/contracts.html", page=page, contracts=rows, grade_labels=grade_labels())
