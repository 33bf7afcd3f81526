"""The ledgers page (台账) and its downloads; the open-contracting (OCDS) download."""

from __future__ import annotations

import json
from io import BytesIO

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from reliefsvc.common import exportgate
from reliefsvc.contracts.models import Contract
from reliefsvc.extensions import db
from reliefsvc.ledgers import forms, service
from reliefsvc.ledgers.workbook import write_workbook
from reliefsvc.security.access import restrict_access
from reliefsvc.security.models import Role

bp = Blueprint("ledgers", __name__, url_prefix="/ledgers")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: who files ledgers: the officer (all), the provider's manager (its own contracts)
FILERS = (Role.OFFICER, Role.PROVIDER_MANAGER)


def _contract_choices(form_field, contracts, optional: bool) -> None:
    choices = [SelectChoice(0, _("All contracts"))] if optional else []
    form_field.choices = choices + [SelectChoice(c.id, f"{c.contract_no} {c.provider.name}") for c in contracts]


def _village_choices() -> dict[str, list[SelectChoice]]:
    """Every village, grouped under its township (``<optgroup>``): one query, whatever the
    number of townships (a province has a thousand; the parents were one query each)."""
    from sqlalchemy.orm import aliased

    from reliefsvc.regions.models import Level, Region

    township = aliased(Region)
    rows = db.session.execute(sa.select(Region.id, Region.name, township.name)
                              .join(township, Region.parent_id == township.id)
                              .where(Region.level == Level.VILLAGE).order_by(township.code, Region.code))
    groups: dict[str, list[SelectChoice]] = {}
    for village_id, name, township_name in rows:
        groups.setdefault(township_name, []).append(SelectChoice(village_id, name))
    return groups


def _forms(contracts, args=None):
    made = {
        "service": forms.ServiceLedgerForm(formdata=args, prefix="s"),
        "rectifications": forms.RectificationLedgerForm(formdata=args, prefix="r"),
        "payments": forms.PaymentLedgerForm(formdata=args, prefix="p"),
        "evaluations": forms.EvaluationSummaryForm(formdata=args, prefix="e"),
    }
    _contract_choices(made["service"].contract_id, contracts, optional=False)
    _contract_choices(made["rectifications"].contract_id, contracts, optional=True)
    _contract_choices(made["payments"].contract_id, contracts, optional=True)
    if current_user.role is Role.OFFICER:
        made["spotchecks"] = forms.SpotCheckLedgerForm(formdata=args, prefix="k")
        _contract_choices(made["spotchecks"].contract_id, contracts, optional=True)
        made["cases"] = forms.CaseLedgerForm(formdata=args, prefix="c")
        made["cases"].village_id.choices = _village_choices()
    return made


@bp.route("/")
@restrict_access(*FILERS)
def index():
    contracts = service.visible_contracts(current_user)
    return render_template("ledgers/index.html", forms=_forms(contracts), officer=current_user.role is Role.OFFICER)


def _send(make):
    """The workbook of ``make()`` (a ``service.Ledger``) as a download; a refused ledger goes
    back to the page with its reason."""
    from reliefsvc.web import in_locale

    try:
        ledger = make()
    except service.LedgerError as exc:
        flash(in_locale(exc), "danger")
        return redirect(url_for("ledgers.index"))
    out = BytesIO()
    write_workbook(out, ledger.sheets, title=ledger.title)
    out.seek(0)
    return send_file(out, mimetype=XLSX, as_attachment=True, download_name=ledger.filename)


def _valid(form):
    """The filter form read from the query string, or back to the page with its errors."""
    if not form.validate():
        for name, errors in form.errors.items():
            for error in errors:
                flash(f"{form[name].label.text}：{error}", "danger")
        return False
    return True


def _contract(contract_id: int | None, contracts) -> Contract | None:
    """The contract chosen (0 or none: all), which must be one the user may see (else 404)."""
    if not contract_id:
        return None
    found = next((c for c in contracts if c.id == contract_id), None)
    if found is None:
        abort(404)
    return found


class _BackToPage(Exception):
    """The filters did not validate: their errors are flashed, the ledgers page answers."""


def _filters(key: str, prefix: str):
    """The filter form ``key`` (fields prefixed ``prefix-`` in the query string) and the contract
    it names among those the user may see: another provider's contract is a 404 even when the
    rest of the form is wrong; no contract (or 0) means all."""
    contracts = service.visible_contracts(current_user)
    form = _forms(contracts, request.args)[key]
    _contract(request.args.get(f"{prefix}-contract_id", type=int), contracts)
    if not _valid(form):
        raise _BackToPage
    return form, _contract(form.contract_id.data, contracts)


@bp.errorhandler(_BackToPage)
def _back_to_page(_exc):
    return redirect(url_for("ledgers.index"))


@bp.route("/service.xlsx")
@restrict_access(*FILERS)
def service_ledger():
    form, contract = _filters("service", "s")
    if contract is None:
        abort(404)
    return _send(lambda: service.service_ledger(contract, form.day_from.data, form.day_to.data))


@bp.route("/cases.xlsx", methods=["GET", "POST"])
@restrict_access(Role.OFFICER)
def case_ledger():
    from reliefsvc.regions.models import Level, Region
    from reliefsvc.web import in_locale

    # The filters ride in the query string; the reason comes by POST (security.exports).
    form = forms.CaseLedgerForm(formdata=request.args, prefix="c")
    form.village_id.choices = _village_choices()
    if not _valid(form):
        return redirect(url_for("ledgers.index"))
    village = db.session.get(Region, form.village_id.data)
    if village is None or village.level is not Level.VILLAGE:
        abort(404)
    gate, reason = exportgate.reason_given()
    if reason is None:
        return exportgate.ask(gate, _("Case service ledger of %(village)s (Excel)", village=village.name),
                              url_for("ledgers.index"))
    try:
        ledger = service.case_ledger(village, form.day_from.data, form.day_to.data)
    except service.LedgerError as exc:
        flash(in_locale(exc), "danger")
        return redirect(url_for("ledgers.index"))
    out = BytesIO()
    rows = write_workbook(out, ledger.sheets, title=ledger.title)
    exportgate.record_personal_export("ledgers.case_service_ledger", reason, rows, {
        "village": village.code, "from": form.day_from.data, "to": form.day_to.data})
    out.seek(0)
    return send_file(out, mimetype=XLSX, as_attachment=True, download_name=ledger.filename)


@bp.route("/spotchecks.xlsx")
@restrict_access(Role.OFFICER)
def spotcheck_ledger():
    form, contract = _filters("spotchecks", "k")
    return _send(lambda: service.spotcheck_ledger(contract, form.day_from.data, form.day_to.data))


@bp.route("/rectifications.xlsx")
@restrict_access(*FILERS)
def rectification_ledger():
    form, contract = _filters("rectifications", "r")
    return _send(lambda: service.rectification_ledger(current_user, contract, form.status.data or "",
                                                      form.day_from.data, form.day_to.data))


@bp.route("/payments.xlsx")
@restrict_access(*FILERS)
def payment_ledger():
    form, contract = _filters("payments", "p")
    return _send(lambda: service.payment_ledger(current_user, contract, form.year.data))


@bp.route("/evaluations.xlsx")
@restrict_access(*FILERS)
def evaluation_summary():
    form = _forms(service.visible_contracts(current_user), request.args)["evaluations"]
    if not _valid(form):
        return redirect(url_for("ledgers.index"))
    return _send(lambda: service.evaluation_summary(current_user, form.year.data))


@bp.route("/ocds.json")
@restrict_access(Role.OFFICER)
def ocds():
    from reliefsvc.reports import ocds as opendata

    package = opendata.release_package(current_app.config)
    body = json.dumps(package, ensure_ascii=False, indent=2).encode("utf-8")
    return send_file(BytesIO(body), mimetype="application/json", as_attachment=True,
                     download_name=f"ocds-{package['publishedDate'][:10]}.json")
