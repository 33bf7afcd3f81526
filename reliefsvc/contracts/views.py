"""Contract pages: register, obligations, targets, status, amendments, progress."""

from __future__ import annotations

from datetime import datetime
from io import BytesIO

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
from markupsafe import Markup
from wtforms.fields.choices import SelectChoice

from reliefsvc.common import formcache, pagecache, panels
from reliefsvc.common.formatting import LOCAL_TZ
from reliefsvc.common.forms import ImportForm
from reliefsvc.contracts import progress, rules, service
from reliefsvc.contracts.forms import (
    AmendForm,
    ContractForm,
    DocumentForm,
    ObligationForm,
    ServiceTypeForm,
    StatusForm,
    TargetForm,
    TargetValueForm,
)
from reliefsvc.contracts.models import (
    Contract,
    ContractDocument,
    ContractStatus,
    PerformanceTarget,
    ServiceType,
)
from reliefsvc.db import utcnow
from reliefsvc.extensions import db
from reliefsvc.providers.models import Provider
from reliefsvc.regions.models import Level, Region
from reliefsvc.reports.charts import bar_chart
from reliefsvc.security.access import restrict_access, url_object
from reliefsvc.security.models import BUREAU_ROLES, Role
from reliefsvc.web import flash_import, in_locale

bp = Blueprint("contracts", __name__, url_prefix="/contracts")

url_object("contract_id", Contract, as_="contract")
url_object("contract_document_id", ContractDocument, as_="document", parent=("contract_id", "contract_id"))
url_object("target_id", PerformanceTarget, as_="target", parent=("contract_id", "contract_id"))

OFFICER = (Role.OFFICER,)


def _fail(exc):
    db.session.rollback()
    flash(in_locale(exc), "danger")


def _back(contract, anchor=""):
    return redirect(url_for("contracts.show", contract_id=contract.id) + anchor)


def register(app) -> None:
    """Let the provider and vetting pages list the contracts that rest on an approval."""

    def contracts_of(provider):
        return [{"url": url_for("contracts.show", contract_id=c.id), "label": f"{c.contract_no}（{c.status.label}）"}
                for c in service.contracts_of(provider)]

    app.extensions["provider_contracts"] = contracts_of
    # Which households a provider's people may see: those in the service area of its
    # active or suspended contracts (the cases domain asks through this hook).
    app.extensions["provider_case_scope"] = service.service_area_condition


@bp.record_once
def _on_register(state):
    register(state.app)


@bp.route("/")
@restrict_access()
def index():
    text, status = request.args.get("q", "").strip(), request.args.get("status", "")
    today = service.today()
    rows = []
    found = service.search(current_user, text, status)
    # The current period of any obligation lies within this year's months.
    counters_of = progress.Counters.for_contracts(found, rules.months_of("year", str(today.year)))
    # The disguised-hiring column (hiring domain): None when this user does not see it.
    hiring_hook = current_app.extensions.get("contract_hiring_risk")
    hiring = hiring_hook(found, current_user) if hiring_hook else None
    for contract in found:
        obligations = progress.obligation_progress(contract, today, counters_of[contract.id])
        current = [o.current for o in obligations if o.current]
        worst = min(current, key=lambda p: p.light.pace, default=None)
        flags_hook = current_app.extensions.get("contract_flags")
        rows.append({"contract": contract, "current": current, "worst": worst,
                     "next_due": progress.next_due(contract, today),
                     "flags": flags_hook(contract) if flags_hook else []})
    return render_template("contracts/index.html", rows=rows, q=text, status=status, statuses=ContractStatus,
                           hiring=hiring)


def _fill_choices(form: ContractForm):
    form.provider_id.choices = [SelectChoice(p.id, f"{p.name}（{p.uscc}）")
                                for p in db.session.scalars(db.select(Provider).order_by(Provider.name))]
    villages = db.session.scalars(db.select(Region).where(Region.level == Level.VILLAGE).order_by(Region.code)).all()
    form.villages.choices = [SelectChoice(v.id, f"{v.parent.name if v.parent else ''} {v.name}") for v in villages]


def _data(form: ContractForm) -> service.ContractData:
    villages = db.session.scalars(db.select(Region).where(Region.id.in_(form.villages.data or []))).all()
    return service.ContractData(
        contract_no=form.contract_no.data, title=form.title.data,
        provider=db.session.get(Provider, form.provider_id.data), purchaser=form.purchaser.data,
        procurement_method=form.procurement_method.data, amount=form.amount.data, starts_on=form.starts_on.data,
        ends_on=form.ends_on.data, pricing_model=form.pricing_model.data, payment_linked=form.payment_linked.data,
        budget_source=form.budget_source.data or None, villages=list(villages))


@bp.route("/new", methods=["GET", "POST"])
@restrict_access(*OFFICER)
def new():
    form = ContractForm(purchaser=current_app.config["BUREAU_NAME"])
    _fill_choices(form)
    if form.validate_on_submit():
        try:
            contract = service.create_contract(_data(form))
        except service.ContractError as exc:
            _fail(exc)
            if exc.field and exc.field in form:
                form[exc.field].errors.append(in_locale(exc))
        else:
            flash(_("Contract %(no)s saved as a draft. Add its obligations, then activate it.", no=contract.contract_no),
                  "success")
            return _back(contract, "#obligations")
    return render_template("contracts/form.html", form=form, contract=None)


@bp.route("/<int:contract_id>/edit", methods=["GET", "POST"])
@restrict_access(*OFFICER)
def edit(contract):
    if contract.status is not ContractStatus.DRAFT:
        flash(_("A signed contract changes by amendment."), "warning")
        return redirect(url_for("contracts.amend", contract_id=contract.id))
    form = ContractForm(obj=contract)
    _fill_choices(form)
    if request.method == "GET":
        form.villages.data = [v.id for v in contract.villages]
    if form.validate_on_submit():
        try:
            service.update_draft(contract, _data(form))
        except service.ContractError as exc:
            _fail(exc)
        else:
            flash(_("Saved."), "success")
            return _back(contract)
    return render_template("contracts/form.html", form=form, contract=contract)


def month_labels(months: list[str], values: list) -> list[tuple[str, object]]:
    """Bars' labels for months "2026-10": "10月", with the year ("27年1月") only where a year
    begins after the first bar — "26年10月" under each of twelve bars did not fit and was cut."""
    labels = []
    for i, month in enumerate(months):
        label = f"{int(month[5:])}月"
        if i and month[5:] == "01":
            label = f"{month[2:4]}年{label}"
        labels.append((label, values[i]))
    return labels


@bp.route("/<int:contract_id>")
@restrict_access()
def show(contract):
    contract = service.with_targets(contract)
    today = service.today()
    figures, computed_at = pagecache.cached(current_user, "contract", lambda: _figures(contract, today), contract.id)
    officer = current_user.role is Role.OFFICER
    can_enter_values = current_user.role in (Role.OFFICER, Role.EVALUATOR)
    return render_template(
        "contracts/show.html", contract=contract, figures=figures,
        as_of=datetime.fromtimestamp(computed_at, LOCAL_TZ) if computed_at else None,
        indicators=rules.INDICATORS, shares=rules.SHARE_INDICATORS, meets=progress.meets, officer=officer,
        can_enter_values=can_enter_values, value_form=TargetValueForm() if can_enter_values else None,
        forms=_blank_forms(contract) if officer else {}, today=today,
        panels=panels.render("contract", contract, current_user, keep=("contract", contract.id)),
    )


def _blank_forms(contract) -> dict[str, Markup]:
    """The officer's forms on the contract page, as the contract's status allows them, each
    rendered once per process, contract, status and language (``common.formcache``)."""
    key = (contract.id, contract.status.value)
    changeable = contract.status in (ContractStatus.DRAFT, ContractStatus.ACTIVE, ContractStatus.SUSPENDED)
    forms = {"document": formcache.blank("contracts/_document_form.html", key,
                                         lambda: {"contract": contract, "document_form": DocumentForm()})}
    if changeable:
        forms["status"] = formcache.blank("contracts/_status_form.html", key,
                                          lambda: {"contract": contract, "status_form": _status_form(contract)})
        forms["target"] = formcache.blank("contracts/_target_form.html", key,
                                          lambda: {"contract": contract, "target_form": TargetForm(prefix="target")})
    if contract.status is ContractStatus.DRAFT:
        # the catalogue's service types are part of this form's key: a type added shows at once
        types = tuple((t.code, t.name_zh) for t in service.service_types(True))

        def obligation() -> dict:
            form = ObligationForm()
            form.service_type.choices = [SelectChoice(code, name) for code, name in types]
            return {"contract": contract, "obligation_form": form}

        forms["obligation"] = formcache.blank("contracts/_obligation_form.html", (*key, types), obligation)
    return forms


def _figures(contract, today) -> dict:
    """The contract page's read-only parts — progress per obligation, the month chart, the
    alert checks missed, the computed indicators, and the lists beside them (service area,
    documents, history) — rendered (``contracts/_figures.html``): kept a minute per scope by
    :func:`show` (issue 16: they were most of the page's 33 statements). Nothing here holds
    a form or depends on the reader beyond the scope."""
    counters = progress.Counters(contract)
    obligations = progress.obligation_progress(contract, today, counters)
    series = progress.monthly_series(contract, counters)
    chart = bar_chart(month_labels([m for m, _d, _a in series], [d for _m, d, _a in series]),
                      title=_("Service records per month"), unit=_("records")) if series else None
    missed_total, missed = progress.missed_alert_checks(contract, utcnow())
    rule_status = {op.obligation.id: progress.extra_rule_status(contract, op.obligation, today)
                   for op in obligations if op.obligation.extra_rule}
    template = current_app.jinja_env.get_template("contracts/_figures.html")
    context = {"contract": contract, "Status": ContractStatus, "obligations": obligations, "chart": chart,
               "next_due": progress.next_due(contract, today),
               "ended": [o for o in contract.obligations if o.ended_in_version is not None],
               "missed_total": missed_total, "missed": missed, "rule_status": rule_status}
    # Our own template, escaped by its autoescape: safe to insert as it is.
    return {"values": progress.indicator_values(contract, today, counters),
            **{part: Markup(template.render(part=part, **context))  # noqa: S704
               for part in ("area", "chart", "obligations", "alerts", "documents", "history")}}


def _status_form(contract) -> StatusForm:
    """Only the moves the lifecycle allows from where the contract stands."""
    form = StatusForm()
    form.status.choices = [SelectChoice(s.value, s.label) for s in ContractStatus
                           if s in service.TRANSITIONS[contract.status]]
    return form


@bp.route("/<int:contract_id>/obligations", methods=["POST"])
@restrict_access(*OFFICER)
def obligation_add(contract):
    form = ObligationForm()
    form.service_type.choices = [SelectChoice(t.code, t.name_zh) for t in service.service_types()]
    if form.validate_on_submit():
        try:
            service.add_obligation(contract, form.service_type.data, form.period.data, form.target.data,
                                   form.unit.data, form.extra_rule.data or None)
        except service.ContractError as exc:
            _fail(exc)
        else:
            flash(_("Obligation added."), "success")
    else:
        flash(_("Please enter a positive target."), "danger")
    return _back(contract, "#obligations")


@bp.route("/<int:contract_id>/targets", methods=["POST"])
@restrict_access(*OFFICER)
def target_add(contract):
    form = TargetForm(prefix="target")
    if form.validate_on_submit():
        try:
            service.add_target(contract, form.group.data, form.name.data, form.target_value.data,
                               form.unit.data or "", form.comparison.data, form.computed_by.data or None)
        except service.ContractError as exc:
            _fail(exc)
    else:
        flash(_("Please fill in the indicator and its target value."), "danger")
    return _back(contract, "#targets")


@bp.route("/<int:contract_id>/targets/<int:target_id>/values", methods=["POST"])
@restrict_access(Role.OFFICER, Role.EVALUATOR)
def target_value(contract, target):
    form = TargetValueForm()
    if form.validate_on_submit():
        try:
            service.enter_target_value(target, form.period.data, form.value.data, form.note.data, current_user)
        except service.ContractError as exc:
            _fail(exc)
    else:
        flash(_("Please give the period, the value and its basis."), "danger")
    return _back(contract, "#targets")


@bp.route("/<int:contract_id>/status", methods=["POST"])
@restrict_access(*OFFICER)
def status(contract):
    form = _status_form(contract)
    if form.validate_on_submit():
        try:
            service.change_status(contract, form.status.data, form.reason.data or "", current_user,
                                  form.effective_on.data)
        except service.ContractError as exc:
            _fail(exc)
        else:
            flash(_("The contract is now %(s)s.", s=contract.status.label), "success")
    return _back(contract)


@bp.route("/<int:contract_id>/amend", methods=["GET", "POST"])
@restrict_access(*OFFICER)
def amend(contract):
    form = AmendForm()
    form.end_obligations.choices = [SelectChoice(o.id, f"{o.service_type.name_zh} {o.target} {o.unit.label} {o.period.label}")
                                    for o in service.active_obligations(contract)]
    form.add_service_type.choices = [SelectChoice("", "—")] + [
        SelectChoice(t.code, t.name_zh) for t in service.service_types(True)]
    if form.validate_on_submit():
        add = []
        if form.add_service_type.data:
            if not form.add_target.data:
                form.add_target.errors.append(_("Please enter the target"))
                return render_template("contracts/amend.html", form=form, contract=contract)
            add.append((form.add_service_type.data, form.add_period.data, form.add_target.data, form.add_unit.data))
        ending = [o for o in service.active_obligations(contract) if o.id in (form.end_obligations.data or [])]
        try:
            service.amend(contract, service.AmendmentData(reason=form.reason.data, amount=form.amount.data,
                                                          ends_on=form.ends_on.data, add_obligations=add,
                                                          end_obligations=ending), current_user)
        except service.ContractError as exc:
            _fail(exc)
        else:
            flash(_("Amendment recorded: version %(v)d.", v=contract.version), "success")
            return _back(contract, "#history")
    return render_template("contracts/amend.html", form=form, contract=contract)


@bp.route("/<int:contract_id>/documents", methods=["POST"])
@restrict_access(*OFFICER)
def document_upload(contract):
    form = DocumentForm()
    if form.validate_on_submit():
        upload = form.file.data
        try:
            service.add_document(contract, form.kind.data, upload.read(), upload.filename or "", current_user)
        except service.ContractError as exc:
            _fail(exc)
        else:
            flash(_("Document uploaded."), "success")
    else:
        flash(_("Please choose a file"), "danger")
    return _back(contract, "#documents")


@bp.route("/<int:contract_id>/documents/<int:contract_document_id>")
@restrict_access()
def document_download(contract, document):
    from reliefsvc.evidence import get_storage
    from reliefsvc.evidence.content import without_metadata

    return send_file(without_metadata(get_storage().open(document.sha256), document.content_type),
                     mimetype=document.content_type, as_attachment=False,
                     download_name=document.filename, max_age=0)


@bp.route("/import", methods=["GET", "POST"])
@restrict_access(Role.OFFICER, Role.ADMIN)
def import_file():
    form, report = ImportForm(), None
    kind = request.values.get("kind", "contracts")
    if kind not in ("contracts", "obligations"):
        abort(400)
    if form.validate_on_submit():
        upload = form.file.data
        run = service.import_contracts if kind == "contracts" else service.import_obligations
        report = run(upload.read(), filename=upload.filename or "", encoding=form.encoding.data,
                     partial=form.partial.data, user=current_user)
        flash_import(report)
    return render_template("contracts/import.html", form=form, report=report, kind=kind)


@bp.route("/catalogue", methods=["GET", "POST"])
@restrict_access(*BUREAU_ROLES)
def catalogue():
    form = ServiceTypeForm()
    if request.method == "POST":
        if current_user.role is not Role.ADMIN:
            abort(403)
        if form.validate_on_submit():
            try:
                service.save_service_type(
                    form.code.data, name_zh=form.name_zh.data, case_linked=form.case_linked.data,
                    field_work=form.field_work.data, min_minutes=form.min_minutes.data,
                    photo_required=form.photo_required.data, purchasable=form.purchasable.data,
                    not_purchasable_reason=form.not_purchasable_reason.data or None)
            except service.ContractError as exc:
                _fail(exc)
            else:
                flash(_("Saved."), "success")
                return redirect(url_for("contracts.catalogue"))
    return render_template("contracts/catalogue.html", types=db.session.scalars(
        db.select(ServiceType).order_by(ServiceType.position, ServiceType.code)).all(), form=form,
        is_admin=current_user.role is Role.ADMIN)


@bp.route("/<int:contract_id>/ledger.xlsx")
@restrict_access()
def progress_export(contract):
    """The progress of every obligation and period as an Excel ledger (台账)."""
    from reliefsvc.reports.excel import LedgerColumn, write_ledger

    today = service.today()
    rows = [{"type": o.obligation.service_type.name_zh, "period": p.key, "unit": o.obligation.unit.label,
             "target": p.target, "delivered": p.delivered, "accepted": p.accepted, "refuted": p.refuted,
             "share": p.light.share}
            for o in progress.obligation_progress(contract, today) for p in o.periods]
    columns = [LedgerColumn("type", "服务类型"), LedgerColumn("period", "周期"), LedgerColumn("unit", "计量单位"),
               LedgerColumn("target", "目标", "int"), LedgerColumn("delivered", "完成", "text"),
               LedgerColumn("accepted", "审核通过", "int"), LedgerColumn("refuted", "抽查否定", "int"),
               LedgerColumn("share", "完成率", "percent")]
    out = BytesIO()
    write_ledger(out, columns, ({**r, "delivered": str(r["delivered"])} for r in rows),
                 sheet_title="履约进度", title=f"{contract.contract_no} {contract.title} 履约进度台账")
    out.seek(0)
    return send_file(out, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                     as_attachment=True, download_name=f"progress-{contract.contract_no}.xlsx")
