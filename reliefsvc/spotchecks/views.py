"""Spot checks: freeze a frame, enter the seed, the evaluators' phone form, results,
escalation, publication, the public results page and the report."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from io import BytesIO

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from reliefsvc.common import panels
from reliefsvc.common.formatting import LOCAL_TZ, today_local
from reliefsvc.contracts.models import Contract
from reliefsvc.evidence import get_storage
from reliefsvc.evidence import service as evidence
from reliefsvc.extensions import db
from reliefsvc.security.access import public, restrict_access, url_object
from reliefsvc.security.models import BUREAU_ROLES, Role
from reliefsvc.spotchecks import service
from reliefsvc.spotchecks.forms import CheckForm, EscalateForm, FreezeForm, PublishForm, SeedForm
from reliefsvc.spotchecks.models import (
    CheckMethod,
    CheckOutcome,
    DrawStatus,
    SizeRule,
    SpotCheckDraw,
    SpotCheckItem,
)
from reliefsvc.web import in_locale

bp = Blueprint("spotchecks", __name__, url_prefix="/spotchecks")

url_object("draw_id", SpotCheckDraw, as_="draw")
url_object("check_id", SpotCheckItem, as_="item", parent=("draw_id", "draw_id"))


def _previous_month(today: date) -> tuple[date, date]:
    last = today.replace(day=1) - timedelta(days=1)
    return last.replace(day=1), last


def _freeze_form(draw: SpotCheckDraw | None = None) -> FreezeForm:
    form = FreezeForm()
    form.size_rule.choices = [SelectChoice(r.value, r.label) for r in SizeRule]
    if request.method == "GET":
        if draw is not None:
            form.day_from.data, form.day_to.data = draw.day_from, draw.day_to
        else:
            form.day_from.data, form.day_to.data = _previous_month(today_local())
    return form


def _settings(form: FreezeForm) -> service.SizeSettings:
    def pct(field, default):
        return (Decimal(field.data) if field.data is not None else Decimal(default)) / 100

    return service.SizeSettings(
        rule=SizeRule(form.size_rule.data), min_count=form.min_count.data or 0,
        share=pct(form.share_percent, 5), confidence=pct(form.confidence_percent, 95),
        tolerable_rate=pct(form.tolerable_percent, 5), expected_errors=form.expected_errors.data or 0,
        size=form.size.data or 0, risk_size=form.risk_size.data or 0)


def _form_error(form, exc) -> None:
    db.session.rollback()
    target = form[exc.field] if exc.field and exc.field in form else None
    if target is not None:
        target.errors = [*target.errors, in_locale(exc)]
    flash(in_locale(exc), "danger")


@bp.route("/")
@restrict_access(*BUREAU_ROLES)
def index():
    mine = service.open_checks_of(current_user) if current_user.role is Role.EVALUATOR else []
    return render_template("spotchecks/index.html", draws=service.all_draws(), mine=mine,
                           officer=current_user.role is Role.OFFICER, Status=DrawStatus)


@bp.route("/new/<int:contract_id>", methods=["GET", "POST"])
@restrict_access(Role.OFFICER)
def new(contract: Contract):
    form = _freeze_form()
    if form.validate_on_submit():
        try:
            draw = service.new_draw(contract, form.day_from.data, form.day_to.data, _settings(form), current_user)
        except service.SpotCheckError as exc:
            _form_error(form, exc)
        else:
            flash(_("Frame frozen: %(n)d records, sample of %(k)d. Now enter the seed.",
                    n=draw.population_size, k=draw.size), "success")
            return redirect(url_for("spotchecks.show", draw_id=draw.id))
    return render_template("spotchecks/new.html", form=form, contract=contract)


@bp.route("/<int:draw_id>")
@restrict_access(*BUREAU_ROLES)
def show(draw: SpotCheckDraw):
    officer = current_user.role is Role.OFFICER
    result = service.results(draw)
    escalate_form = EscalateForm()
    if result.escalate_to:
        escalate_form.new_size.data = result.escalate_to
    return render_template(
        "spotchecks/show.html", draw=draw, result=result, officer=officer, Status=DrawStatus,
        freeze_form=_freeze_form(draw) if officer and draw.status is DrawStatus.PROPOSED else None,
        seed_form=SeedForm() if officer and draw.status is DrawStatus.FROZEN else None,
        escalate_form=escalate_form, publish_form=PublishForm(), rectifications=service.rectifications_service())


@bp.route("/<int:draw_id>/freeze", methods=["POST"])
@restrict_access(Role.OFFICER)
def freeze(draw: SpotCheckDraw):
    form = _freeze_form(draw)
    if form.validate_on_submit():
        try:
            service.freeze(draw, _settings(form), current_user, form.day_from.data, form.day_to.data)
        except service.SpotCheckError as exc:
            _form_error(form, exc)
        else:
            flash(_("Frame frozen: %(n)d records, sample of %(k)d. Now enter the seed.",
                    n=draw.population_size, k=draw.size), "success")
    else:
        flash(_("Please check the form."), "danger")
    return redirect(url_for("spotchecks.show", draw_id=draw.id))


@bp.route("/<int:draw_id>/seed", methods=["POST"])
@restrict_access(Role.OFFICER)
def seed(draw: SpotCheckDraw):
    form = SeedForm()
    if form.validate_on_submit():
        rolled_at = form.rolled_at.data.replace(tzinfo=LOCAL_TZ) if form.rolled_at.data else None
        try:
            service.enter_seed(draw, form.seed.data, form.rolled_by.data, form.witnesses.data or "", rolled_at,
                               current_user)
        except service.SpotCheckError as exc:
            db.session.rollback()
            flash(in_locale(exc), "danger")
        else:
            flash(_("Sample drawn: %(n)d records, assigned to the evaluators.", n=len(draw.items)), "success")
    else:
        for errors in form.errors.values():
            for error in errors:
                flash(error, "danger")
    return redirect(url_for("spotchecks.show", draw_id=draw.id))


@bp.route("/<int:draw_id>/escalate", methods=["POST"])
@restrict_access(Role.OFFICER)
def escalate(draw: SpotCheckDraw):
    form = EscalateForm()
    if form.validate_on_submit():
        try:
            added = service.escalate(draw, form.new_size.data, current_user)
        except service.SpotCheckError as exc:
            db.session.rollback()
            flash(in_locale(exc), "danger")
        else:
            flash(_("Sample escalated to %(n)d: %(k)d more records to check.", n=draw.size, k=len(added)), "success")
    else:
        flash(_("Please give the new sample size."), "danger")
    return redirect(url_for("spotchecks.show", draw_id=draw.id))


@bp.route("/<int:draw_id>/publish", methods=["POST"])
@restrict_access(Role.OFFICER)
def publish(draw: SpotCheckDraw):
    if PublishForm().validate_on_submit():
        try:
            service.publish(draw, current_user)
        except service.SpotCheckError as exc:
            db.session.rollback()
            flash(in_locale(exc), "danger")
        else:
            flash(_("Results published."), "success")
    return redirect(url_for("spotchecks.show", draw_id=draw.id))


def _text_file(text: str, name: str, mimetype: str):
    return send_file(BytesIO(text.encode("utf-8")), mimetype=f"{mimetype}; charset=utf-8", as_attachment=True,
                     download_name=name, max_age=0)


@bp.route("/<int:draw_id>/population.txt")
@restrict_access(*BUREAU_ROLES)
def population(draw: SpotCheckDraw):
    """The frozen frame, one record_ref a line, sorted: it hashes to the frame hash."""
    if draw.frame_text is None:
        abort(404)
    return _text_file(draw.frame_text, f"spotcheck-{draw.id}-population.txt", "text/plain")


@bp.route("/<int:draw_id>/sample.csv")
@restrict_access(*BUREAU_ROLES)
def sample(draw: SpotCheckDraw):
    if draw.status is not DrawStatus.DRAWN:
        abort(404)
    return _text_file(service._rules_draw(draw).to_csv(), f"spotcheck-{draw.id}.csv", "text/csv")


@bp.route("/<int:draw_id>/report.pdf")
@restrict_access(*BUREAU_ROLES)
def report(draw: SpotCheckDraw):
    from reliefsvc.reports.pdf import render_pdf

    if draw.status is not DrawStatus.DRAWN:
        abort(404)
    with force_locale("zh_CN"):
        data = render_pdf("spotchecks/report.html", title="随机抽查报告", draw=draw, result=service.results(draw),
                          csv_rows=service._rules_draw(draw).rows,
                          draft=any(i.outcome is None for i in draw.items))
    return send_file(BytesIO(data), mimetype="application/pdf", download_name=f"spotcheck-{draw.id}.pdf",
                     max_age=0)


def _check_form() -> CheckForm:
    form = CheckForm()
    form.method.choices = [SelectChoice(m.value, m.label) for m in CheckMethod]
    form.happened.choices = [SelectChoice("yes", _("Yes")), SelectChoice("no", _("No"))]
    form.outcome.choices = [SelectChoice(o.value, o.label) for o in CheckOutcome]
    form.satisfaction.choices = [SelectChoice("", _("Not asked")),
                                 *[SelectChoice(str(n), f"{n} · {label}") for n, label in
                                   ((5, _("very satisfied")), (4, _("satisfied")), (3, _("neutral")),
                                    (2, _("unsatisfied")), (1, _("very unsatisfied")))]]
    return form


@bp.route("/<int:draw_id>/checks/<int:check_id>", methods=["GET", "POST"])
@restrict_access(*BUREAU_ROLES)
def check(draw: SpotCheckDraw, item: SpotCheckItem):
    mine = item.evaluator_id == current_user.id and item.outcome is None and draw.status is DrawStatus.DRAWN
    form = _check_form()
    if request.method == "POST":
        if not mine:
            flash(_("This check is not yours to file, or it has been filed."), "warning")
            return redirect(url_for("spotchecks.check", draw_id=draw.id, check_id=item.id))
        if form.validate_on_submit():
            upload = form.photo.data
            photo = evidence.Upload(upload.read(), upload.filename or "") if upload and upload.filename else None
            data = service.CheckInput(
                outcome=form.outcome.data, method=form.method.data, service_happened=form.happened.data == "yes",
                minutes=form.minutes.data, what_done=form.what_done.data or "",
                satisfaction=int(form.satisfaction.data) if form.satisfaction.data else None,
                remarks=form.remarks.data or "", photo=photo)
            try:
                service.file_check(item, data, current_user)
            except service.SpotCheckError as exc:
                _form_error(form, exc)
            else:
                flash(_("Result filed for record %(ref)s: %(o)s.", ref=item.record_ref, o=item.outcome.label),
                      "success")
                return redirect(url_for("spotchecks.show", draw_id=draw.id))
    return render_template("spotchecks/check.html", draw=draw, item=item, record=item.record, form=form,
                           mine=mine)


@bp.route("/<int:draw_id>/checks/<int:check_id>/photo")
@restrict_access(*BUREAU_ROLES)
def check_photo(draw: SpotCheckDraw, item: SpotCheckItem):
    """The display copy of the evaluator's photo (no EXIF)."""
    if item.photo is None:
        abort(404)
    return send_file(get_storage().open(item.photo.display_sha256), mimetype="image/jpeg", max_age=3600)


# --- the public results page (一公开) --------------------------------------------------------


@bp.route("/public/", defaults={"draw_no": None, "part": None})
@bp.route("/public/<int:draw_no>", defaults={"part": None})
@bp.route("/public/<int:draw_no>/<any('population.txt', 'sample.csv'):part>")
@public
def public_results(draw_no, part):
    """Published draws: parameters, recomputation data and results, no personal data.

    One endpoint for the list, a draw and its two files, so the public surface stays one
    function whose every branch shows only what publication allows.
    """
    if draw_no is None:
        return render_template("spotchecks/public_index.html", draws=service.published_draws())
    draw = db.session.get(SpotCheckDraw, draw_no)
    if draw is None or draw.published_at is None:
        abort(404)
    if part == "population.txt":
        return _text_file(draw.frame_text, f"spotcheck-{draw.id}-population.txt", "text/plain")
    if part == "sample.csv":
        return _text_file(service._rules_draw(draw).to_csv(), f"spotcheck-{draw.id}.csv", "text/csv")
    return render_template("spotchecks/public_show.html", draw=draw, result=service.results(draw))


# --- panels on other domains' pages ----------------------------------------------------------


def _contract_panel(contract, user):
    if user.role not in BUREAU_ROLES:
        return None
    draws = service.draws_of(contract)
    start, end = contract.starts_on, contract.ends_on
    return {"draws": [(d, service.results(d)) for d in draws[:10]],
            "totals": service.contract_results(contract, start, end), "contract": contract,
            "can_draw": user.role is Role.OFFICER}


def _record_panel(record, user):
    if user.role not in BUREAU_ROLES:
        return None
    checks = service.checks_of_record(record)
    return {"checks": checks} if checks else None


def _home_panel(user):
    # issue 13: the evaluator's dashboard lists the open checks; the officer's draws come with
    # their contracts in the same query (the home page asks a fixed number of queries).
    if user.role is Role.OFFICER:
        import sqlalchemy as sa
        from sqlalchemy.orm import joinedload

        waiting = db.session.scalars(sa.select(SpotCheckDraw).options(joinedload(SpotCheckDraw.contract))
                                     .where(SpotCheckDraw.status != DrawStatus.DRAWN)
                                     .order_by(SpotCheckDraw.id.desc()).limit(50)).all()
        return {"waiting": waiting, "evaluator": False} if waiting else None
    return None


panels.register("contract", "spotchecks", "spotchecks/_contract_panel.html", _contract_panel, order=60, kept=True)
panels.register("record", "spotchecks", "spotchecks/_record_panel.html", _record_panel, order=60)
panels.register("home", "spotchecks", "spotchecks/_home_panel.html", _home_panel, order=60)
