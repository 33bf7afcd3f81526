"""Annual evaluation pages: the list and clock, one evaluation (score, conclude, comment,
sign), the report PDF, the overdue list, the comparison of a year and its Excel export;
panels on the home, contract, provider and vetting pages."""

from __future__ import annotations

from io import BytesIO

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from reliefsvc.common import panels
from reliefsvc.common.formatting import today_local
from reliefsvc.contracts.models import Contract, ContractStatus
from reliefsvc.evaluations import rules, service
from reliefsvc.evaluations.forms import (
    ConclusionForm,
    ConfirmForm,
    DimensionForm,
    EvaluationCommentForm,
)
from reliefsvc.evaluations.models import Evaluation, EvaluationStatus, FrozenError
from reliefsvc.extensions import db
from reliefsvc.security.access import restrict_access, url_object
from reliefsvc.security.models import BUREAU_ROLES, Role
from reliefsvc.web import in_locale

bp = Blueprint("evaluations", __name__, url_prefix="/evaluations")

url_object("evaluation_id", Evaluation, as_="evaluation")

READERS = (*BUREAU_ROLES, Role.PROVIDER_MANAGER)
SCORERS = (Role.OFFICER, Role.EVALUATOR)


def _fail(exc):
    db.session.rollback()
    flash(in_locale(exc) if hasattr(exc, "zh") else _("A signed evaluation cannot change."), "danger")


def _back(ev, anchor=""):
    return redirect(url_for("evaluations.show", evaluation_id=ev.id) + anchor)


def _guarded(action) -> bool:
    try:
        action()
    except (service.EvaluationError, FrozenError) as exc:
        _fail(exc)
        return False
    return True


def _open_years():
    """Contract-years an officer may open on demand: begun, not yet evaluated."""
    today = today_local()
    contracts = db.session.scalars(db.select(Contract).where(Contract.status != ContractStatus.DRAFT)
                                   .order_by(Contract.contract_no)).all()
    have = set(db.session.execute(db.select(Evaluation.contract_id, Evaluation.year_no)).all())
    return [(c, y) for c in contracts for y in service.execution_years(c)
            if y.day_from <= today and (c.id, y.number) not in have]


@bp.route("/")
@restrict_access(*READERS)
def index():
    status = request.args.get("status") or None
    if status not in (None, *[s.value for s in EvaluationStatus]):
        abort(400)
    found = db.session.scalars(service.visible_query(current_user, status).limit(300)).all()
    bureau = current_user.role in BUREAU_ROLES
    return render_template("evaluations/index.html", evaluations=found, status=status, Status=EvaluationStatus,
                           overdue=service.overdue() if bureau else [], bureau=bureau,
                           openable=_open_years() if current_user.role is Role.OFFICER else [],
                           confirm=ConfirmForm(), years=service.years() if bureau else [], today=today_local())


@bp.route("/contracts/<int:contract_id>/years/<int:year_no>", methods=["POST"])
@restrict_access(Role.OFFICER)
def open_year(contract, year_no):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        ev = service.create_evaluation(contract, year_no, current_user, origin="officer")
    except service.EvaluationError as exc:
        _fail(exc)
        return redirect(url_for("evaluations.index"))
    flash(_("Evaluation opened; the indicators are filled in from the platform's data."), "success")
    return _back(ev)


@bp.route("/<int:evaluation_id>")
@restrict_access(*READERS)
def show(evaluation):
    ev = evaluation
    today = today_local()
    forms = {}
    for d in ev.dimensions:
        form = DimensionForm(prefix=d.code, score=d.score, narrative=d.narrative)
        forms[d.code] = form
    conclusion = ConclusionForm(rating=ev.rating or service.suggested_rating(ev),
                                rebuy=None if ev.rebuy is None else ("yes" if ev.rebuy else "no"),
                                summary=ev.summary)
    draft = ev.status is EvaluationStatus.DRAFT
    may_score = current_user.role in SCORERS and draft and ev.assessor_id in (None, current_user.id)
    return render_template(
        "evaluations/show.html", ev=ev, today=today, Status=EvaluationStatus, dimensions=rules.DIMENSIONS,
        forms=forms, conclusion=conclusion, comment_form=EvaluationCommentForm(), confirm=ConfirmForm(),
        can_score=may_score, can_comment=current_user.role is Role.PROVIDER_MANAGER and ev.window_open(today),
        can_sign=current_user.role is Role.OFFICER and ev.status is EvaluationStatus.COMMENTING,
        sign_problems=service.sign_problems(ev, current_user, today), missing=service.missing(ev),
        suggested=service.suggested_rating(ev), mean=service.mean_score(ev), zh=rules.RATING_ZH,
        charts=service.charts(ev), draws=service.spotcheck_draws(ev) if current_user.role in BUREAU_ROLES else [],
        others=[e for e in service.of_contract(ev.contract) if e.id != ev.id and e.visible_to(current_user)],
    )


@bp.route("/<int:evaluation_id>/refresh", methods=["POST"])
@restrict_access(*SCORERS)
def refresh(evaluation):
    if ConfirmForm().validate_on_submit() and _guarded(lambda: service.refresh(evaluation, current_user)):
        flash(_("Figures read again."), "success")
    return _back(evaluation)


@bp.route("/<int:evaluation_id>/dimensions/<code>", methods=["POST"])
@restrict_access(*SCORERS)
def score(evaluation, code):
    if code not in rules.DIMENSION_CODES:
        abort(404)
    form = DimensionForm(prefix=code)
    if not form.validate_on_submit():
        flash(_("Please give a score from 0 to 100 and write the narrative."), "danger")
        return _back(evaluation, f"#dimension-{code}")
    if _guarded(lambda: service.score_dimension(evaluation, code, form.score.data, form.narrative.data,
                                                current_user)):
        flash(_("Dimension scored."), "success")
    return _back(evaluation, f"#dimension-{code}")


@bp.route("/<int:evaluation_id>/conclusion", methods=["POST"])
@restrict_access(*SCORERS)
def conclude(evaluation):
    form = ConclusionForm()
    if not form.validate_on_submit():
        flash(_("Please choose the rating, say whether to buy again and write the overall conclusion."), "danger")
        return _back(evaluation, "#conclusion")
    if _guarded(lambda: service.conclude(evaluation, form.rating.data, form.rebuy.data == "yes", form.summary.data,
                                         current_user)):
        flash(_("Rating saved."), "success")
    return _back(evaluation, "#conclusion")


@bp.route("/<int:evaluation_id>/send", methods=["POST"])
@restrict_access(*SCORERS)
def send(evaluation):
    if ConfirmForm().validate_on_submit() and _guarded(lambda: service.send_to_provider(evaluation, current_user)):
        flash(_("Sent to the provider; its comment window runs until %(d)s.",
                d=evaluation.comment_until.isoformat()), "success")
    return _back(evaluation)


@bp.route("/<int:evaluation_id>/comments", methods=["POST"])
@restrict_access(Role.PROVIDER_MANAGER)
def comment(evaluation):
    form = EvaluationCommentForm()
    if not form.validate_on_submit():
        flash(_("Please write the comment."), "danger")
    elif _guarded(lambda: service.comment(evaluation, form.text.data, current_user)):
        flash(_("Comment sent."), "success")
    return _back(evaluation, "#comments")


@bp.route("/<int:evaluation_id>/no-further-comments", methods=["POST"])
@restrict_access(Role.PROVIDER_MANAGER)
def no_further(evaluation):
    if ConfirmForm().validate_on_submit() and _guarded(lambda: service.close_comments(evaluation, current_user)):
        flash(_("Recorded: no further comments. The comment window is closed."), "success")
    return _back(evaluation, "#comments")


@bp.route("/<int:evaluation_id>/sign", methods=["POST"])
@restrict_access(Role.OFFICER)
def sign(evaluation):
    if ConfirmForm().validate_on_submit() and _guarded(lambda: service.sign(evaluation, current_user)):
        flash(_("Evaluation signed: %(rating)s, document %(no)s.", rating=evaluation.rating_label,
                no=evaluation.doc_no), "success")
    return _back(evaluation)


@bp.route("/<int:evaluation_id>/report.pdf")
@restrict_access(*READERS)
def report(evaluation):
    data = service.render_report(evaluation)
    return send_file(BytesIO(data), mimetype="application/pdf", download_name=service.report_filename(evaluation),
                     max_age=0)


@bp.route("/overdue")
@restrict_access(*BUREAU_ROLES)
def overdue():
    return render_template("evaluations/overdue.html", rows=service.overdue(), today=today_local())


def _year_and_sort():
    years = service.years()
    year = request.args.get("year", type=int) or (years[0] if years else today_local().year)
    sort = request.args.get("sort") or "mean"
    if sort not in service.SORTS:
        abort(400)
    return year, sort, years


@bp.route("/compare")
@restrict_access(*BUREAU_ROLES)
def compare():
    year, sort, years = _year_and_sort()
    rows = list(service.comparison_rows(service.comparison(year, sort)))
    found = service.comparison(year, sort)
    return render_template("evaluations/compare.html", year=year, sort=sort, years=years,
                           rows=list(zip(found, rows, strict=True)), zh=rules.RATING_ZH)


@bp.route("/compare.xlsx")
@restrict_access(*BUREAU_ROLES)
def compare_export():
    year, sort, _years = _year_and_sort()
    out = BytesIO()
    service.write_comparison(out, year, sort)
    out.seek(0)
    return send_file(out, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                     download_name=f"evaluations-{year}.xlsx", max_age=0)


# --- panels -------------------------------------------------------------------------------------

def _home_panel(user):
    today = today_local()
    if user.role is Role.OFFICER:
        late = service.overdue(today)
        ready = [e for e in db.session.scalars(service.visible_query(user, "commenting").limit(50))
                 if not service.sign_problems(e, user, today)][:10]
        if not late and not ready:
            return None
        return {"late": late[:10], "late_count": len(late), "ready": ready, "role": "officer"}
    if user.role is Role.EVALUATOR:
        todo = db.session.scalars(service.visible_query(user, "draft").limit(10)).all()
        return {"todo": todo, "role": "evaluator"} if todo else None
    if user.role is Role.PROVIDER_MANAGER:
        waiting = [e for e in db.session.scalars(service.visible_query(user, "commenting").limit(20))
                   if e.window_open(today)]
        return {"waiting": waiting, "role": "manager"} if waiting else None
    return None


def _provider_panel(provider, user):
    if user.role not in READERS:
        return None
    signed = service.signed_for_provider(provider)
    if not signed and user.role not in BUREAU_ROLES:
        return None
    return {"signed": signed, "zh": rules.RATING_ZH, "provider": provider}


def _vetting_panel(vetting, user):
    return _provider_panel(vetting.provider, user)


def _contract_panel(contract, user):
    if user.role not in READERS:
        return None
    found = [e for e in service.of_contract(contract) if e.visible_to(user)]
    have = {e.year_no for e in found}
    today = today_local()
    years = [y for y in service.execution_years(contract)
             if y.number not in have and y.day_from <= today] if user.role is Role.OFFICER else []
    return {"found": found, "contract": contract, "openable": years, "zh": rules.RATING_ZH,
            "confirm": ConfirmForm()}


# issue 13: the dashboards show overdue evaluations (officer), evaluations to score (evaluator) and
# comment windows (provider manager) in a fixed number of queries; this list left the home page.
# panels.register("home", "evaluations", "evaluations/_home_panel.html", _home_panel, order=55)
panels.register("provider", "evaluations", "evaluations/_provider_panel.html", _provider_panel, order=55)
panels.register("vetting", "evaluations", "evaluations/_provider_panel.html", _vetting_panel, order=50)
panels.register("contract", "evaluations", "evaluations/_contract_panel.html", _contract_panel, order=55)
