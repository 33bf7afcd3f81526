"""Integrity pages: flags per contract (by code, month and worker), a flag's two records side
by side, dismissal with a reason, and the contract's thresholds."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from reliefsvc.common import panels
from reliefsvc.extensions import db
from reliefsvc.integrity import service
from reliefsvc.integrity.forms import DismissForm, RunForm, ThresholdsForm
from reliefsvc.integrity.models import CODE_LABELS, IntegrityFlag
from reliefsvc.providers.models import Staff
from reliefsvc.security.access import restrict_access, url_object
from reliefsvc.security.models import Role
from reliefsvc.web import in_locale

bp = Blueprint("integrity", __name__, url_prefix="/integrity")

url_object("flag_id", IntegrityFlag, as_="flag")
OFFICER = (Role.OFFICER,)


def _fail(exc) -> None:
    db.session.rollback()
    flash(in_locale(exc), "danger")


@bp.route("/contracts/<int:contract_id>")
@restrict_access()
def contract_flags(contract):
    args = request.args
    code = args.get("code") if args.get("code") in CODE_LABELS else None
    month = args.get("month") or None
    worker_id = args.get("worker_id", type=int)
    dismissed = args.get("dismissed") == "1"
    page = db.paginate(service.flags_query(contract.id, code, month, worker_id, dismissed),
                       per_page=current_app.config["PAGE_SIZE"], error_out=False)
    months, by_month = service.counts_by_month(contract.id)
    return render_template(
        "integrity/contract.html", contract=contract, page=page, months=months[:12], by_month=by_month,
        workers=service.counts_by_worker(contract.id), codes=CODE_LABELS, code=code, month=month,
        worker=db.session.get(Staff, worker_id) if worker_id else None, dismissed=dismissed,
        totals=service.flag_counts_by_code(contract.id), last_run=service.last_run(),
        officer=current_user.role is Role.OFFICER, run_form=RunForm(), args=args)


@bp.route("/contracts/<int:contract_id>/run", methods=["POST"])
@restrict_access(*OFFICER)
def run_contract(contract):
    if RunForm().validate_on_submit():
        result = service.run(contract=contract)
        flash(_("Integrity checks finished: %(n)d records checked, %(f)d flags stand.",
                n=result.checked, f=sum(result.counts.values())), "success")
    return redirect(url_for("integrity.contract_flags", contract_id=contract.id))


@bp.route("/contracts/<int:contract_id>/thresholds", methods=["GET", "POST"])
@restrict_access(Role.OFFICER, Role.EVALUATOR, Role.INSPECTOR, Role.ADMIN)
def thresholds(contract):
    current = service.thresholds_of(contract)
    default = service.default_thresholds()
    form = ThresholdsForm(data={k: getattr(current, k) for k in service.SETTINGS})
    editable = current_user.role is Role.OFFICER
    if request.method == "POST":
        if not editable:
            return redirect(url_for("integrity.thresholds", contract_id=contract.id))
        if form.validate_on_submit():
            try:
                changes = service.set_thresholds(contract, {k: form[k].data for k in service.SETTINGS}, current_user)
            except service.IntegrityError as exc:
                _fail(exc)
            else:
                flash(_("Thresholds saved; they apply from the next run.") if changes else _("Nothing changed."),
                      "success")
                return redirect(url_for("integrity.thresholds", contract_id=contract.id))
    return render_template("integrity/thresholds.html", contract=contract, form=form, default=default,
                           settings=service.SETTINGS, codes=CODE_LABELS, editable=editable)


@bp.route("/flags/<int:flag_id>")
@restrict_access()
def flag(flag):
    """The flagged record beside the record it is paired with (overlap, travel, photo, notes)."""
    other = flag.related_record if flag.related_record and flag.related_record.visible_to(current_user) else None
    return render_template("integrity/flag.html", flag=flag, record=flag.record, other=other,
                           dismiss_form=DismissForm(), officer=current_user.role is Role.OFFICER)


@bp.route("/flags/<int:flag_id>/dismiss", methods=["POST"])
@restrict_access(*OFFICER)
def dismiss(flag):
    form = DismissForm()
    if form.validate_on_submit():
        try:
            service.dismiss(flag, current_user, form.reason.data)
        except service.IntegrityError as exc:
            _fail(exc)
        else:
            flash(_("The flag is dismissed; later runs keep it dismissed."), "success")
    else:
        flash(_("Give a reason for dismissing the flag."), "danger")
    return redirect(request.form.get("next") or url_for("records.show", record_id=flag.record_id))


@bp.route("/flags/<int:flag_id>/restore", methods=["POST"])
@restrict_access(*OFFICER)
def restore(flag):
    if RunForm().validate_on_submit():
        try:
            service.restore(flag, current_user)
        except service.IntegrityError as exc:
            _fail(exc)
        else:
            flash(_("The flag stands again."), "success")
    return redirect(request.form.get("next") or url_for("records.show", record_id=flag.record_id))


# --- Panels on pages of other domains -------------------------------------------------------------


def _record_panel(record, user):
    flags = service.flags_of(record)
    if not flags and record.checked_version == 0:
        return None
    return {"flags": flags, "record": record, "officer": user.role is Role.OFFICER, "form": DismissForm(),
            "checked": record.checked_version >= record.version}


def _contract_panel(contract, user):
    totals = service.flag_counts_by_code(contract.id)
    return {"totals": totals, "total": sum(totals.values()), "codes": CODE_LABELS}


panels.register("record", "integrity", "integrity/_record_panel.html", _record_panel, order=10)
panels.register("contract", "integrity", "integrity/_contract_panel.html", _contract_panel, order=30, kept=True)
