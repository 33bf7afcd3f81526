"""Provider pages: register, roster, documents, relations, and the vetting workflow."""

from __future__ import annotations

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
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from reliefsvc.common import panels
from reliefsvc.common.forms import ImportForm
from reliefsvc.extensions import db
from reliefsvc.providers import service
from reliefsvc.providers.forms import (
    ChecklistItemForm,
    ConditionsMetForm,
    DecisionForm,
    DocumentForm,
    LeftForm,
    ProviderForm,
    RelationForm,
    RevealForm,
    ReviewForm,
    StaffForm,
    VerdictForm,
)
from reliefsvc.providers.models import (
    ChecklistItem,
    Provider,
    ProviderDocument,
    Relation,
    Staff,
    StaffRole,
    Vetting,
    VettingItem,
    VettingStatus,
)
from reliefsvc.security.access import restrict_access, url_object
from reliefsvc.security.forms import ConfirmForm
from reliefsvc.security.models import BUREAU_ROLES, Role
from reliefsvc.web import flash_import, in_locale

bp = Blueprint("providers", __name__, url_prefix="/providers")

url_object("provider_id", Provider, as_="provider")
url_object("staff_id", Staff, as_="staff", parent=("provider_id", "provider_id"))
url_object("document_id", ProviderDocument, as_="document", parent=("provider_id", "provider_id"))
url_object("relation_id", Relation, as_="relation", parent=("provider_id", "provider_id"))
url_object("vetting_id", Vetting, as_="vetting", parent=("provider_id", "provider_id"))
url_object("item_id", VettingItem, as_="item", parent=("vetting_id", "vetting_id"))
url_object("checklist_item_id", ChecklistItem, as_="checklist_item")

OFFICER = (Role.OFFICER,)
EDITORS = (Role.OFFICER, Role.PROVIDER_MANAGER)


def _fail(exc) -> None:
    db.session.rollback()
    flash(in_locale(exc), "danger")


def _show(provider, anchor=""):
    return redirect(url_for("providers.show", provider_id=provider.id) + anchor)


@bp.route("/")
@restrict_access()
def index():
    if current_user.role.is_provider:
        own = service.provider_of_user(current_user)
        if own is None:
            abort(404)
        return _show(own)
    text, status = request.args.get("q", "").strip(), request.args.get("status", "")
    return render_template("providers/index.html", rows=service.search(text, status), q=text, status=status)


@bp.route("/new", methods=["GET", "POST"])
@restrict_access(*OFFICER)
def new():
    form = ProviderForm()
    if form.validate_on_submit():
        data = {k: v for k, v in form.data.items() if k not in ("submit", "csrf_token", "uscc", "name", "org_type")}
        try:
            provider = service.create_provider(form.uscc.data, form.name.data, form.org_type.data, **data)
        except service.ProviderError as exc:
            _fail(exc)
        else:
            flash(_("Provider %(name)s registered.", name=provider.name), "success")
            return _show(provider)
    return render_template("providers/form.html", form=form, provider=None)


@bp.route("/<int:provider_id>/edit", methods=["GET", "POST"])
@restrict_access(*OFFICER)
def edit(provider):
    form = ProviderForm(obj=provider)
    if form.validate_on_submit():
        if form.uscc.data != provider.uscc:
            form.uscc.errors.append(_("The code of a registered provider cannot change."))
        else:
            data = {k: v for k, v in form.data.items() if k not in ("submit", "csrf_token", "uscc")}
            service.update_provider(provider, data)
            flash(_("Saved."), "success")
            return _show(provider)
    return render_template("providers/form.html", form=form, provider=provider)


@bp.route("/import", methods=["GET", "POST"])
@restrict_access(Role.OFFICER, Role.ADMIN)
def import_file():
    form, report = ImportForm(), None
    if form.validate_on_submit():
        upload = form.file.data
        report = service.import_providers(upload.read(), filename=upload.filename or "",
                                          encoding=form.encoding.data, partial=form.partial.data)
        flash_import(report)
    return render_template("providers/import.html", form=form, report=report, provider=None,
                           columns="uscc, name, org_type, registered_on, legal_rep, phone, address, vetted_on, vetted_by, vetting_valid_until")


@bp.route("/<int:provider_id>")
@restrict_access()
def show(provider):
    staff = sorted(provider.staff, key=lambda s: (not s.active, s.name))
    return render_template(
        "providers/show.html", provider=provider, staff=staff, state=service.approval_state(provider),
        vettings=provider.vettings, relations=service.relations_of(provider),
        documents=db.session.scalars(db.select(ProviderDocument).where(
            ProviderDocument.provider_id == provider.id, ProviderDocument.vetting_item_id.is_(None))).all(),
        counts=service.active_staff_counts(provider), roles=StaffRole,
        confirm=ConfirmForm(), reveal_form=RevealForm(), left_form=LeftForm(), review_form=ReviewForm(),
        document_form=DocumentForm(), contracts=_contracts_of(provider),
        can_edit=current_user.role in EDITORS, is_officer=current_user.role is Role.OFFICER,
        panels=panels.render("provider", provider, current_user),
    )


def _contracts_of(provider):
    """The contracts that rest on this provider's approval (filled in once contracts exist)."""
    hook = current_app.extensions.get("provider_contracts")
    return hook(provider) if hook else []


@bp.route("/<int:provider_id>/staff/new", methods=["GET", "POST"])
@restrict_access(*EDITORS)
def staff_new(provider):
    form = StaffForm()
    if form.validate_on_submit():
        data = {k: v for k, v in form.data.items() if k not in ("submit", "csrf_token")}
        try:
            staff = service.add_staff(provider, **data)
        except service.ProviderError as exc:
            db.session.rollback()
            form.id_number.errors.append(in_locale(exc))
        else:
            flash(_("%(name)s added to the roster.", name=staff.name), "success")
            return _show(provider, "#staff")
    return render_template("providers/staff_form.html", form=form, provider=provider)


@bp.route("/<int:provider_id>/staff/import", methods=["GET", "POST"])
@restrict_access(*EDITORS)
def import_staff(provider):
    form, report = ImportForm(), None
    if form.validate_on_submit():
        upload = form.file.data
        report = service.import_staff(provider, upload.read(), filename=upload.filename or "",
                                      encoding=form.encoding.data, partial=form.partial.data)
        flash_import(report)
    return render_template("providers/import.html", form=form, report=report, provider=provider,
                           columns="name, id_number, phone, role, qualification, hired_on, nominated_by_purchaser, attendance_by_purchaser")


@bp.route("/<int:provider_id>/staff/<int:staff_id>/left", methods=["POST"])
@restrict_access(*EDITORS)
def staff_left(provider, staff):
    form = LeftForm()
    if form.validate_on_submit():
        try:
            service.mark_left(staff, form.left_on.data)
        except service.ProviderError as exc:
            _fail(exc)
        else:
            flash(_("%(name)s left the roster.", name=staff.name), "success")
    else:
        flash(_("Please enter the leaving date"), "danger")
    return _show(provider, "#staff")


@bp.route("/<int:provider_id>/staff/<int:staff_id>/reveal", methods=["POST"])
@restrict_access(*OFFICER)
def reveal(provider, staff):
    form = RevealForm()
    if not form.validate_on_submit():
        flash(_("Please give the reason"), "danger")
        return _show(provider, "#staff")
    number = service.reveal_id_number(staff, form.reason.data)
    return render_template("providers/revealed.html", provider=provider, staff=staff, number=number)


@bp.route("/<int:provider_id>/documents", methods=["POST"])
@restrict_access(*EDITORS)
def document_upload(provider):
    form = DocumentForm()
    item = None
    if form.vetting_item_id.data:
        item = db.session.get(VettingItem, int(form.vetting_item_id.data)) if form.vetting_item_id.data.isdigit() else None
        if item is None or item.vetting.provider_id != provider.id:
            abort(404)
    if form.validate_on_submit():
        upload = form.file.data
        try:
            service.add_document(provider, upload.read(), upload.filename or "", current_user, item)
        except service.ProviderError as exc:
            _fail(exc)
        else:
            flash(_("Document uploaded."), "success")
    else:
        flash(_("Please choose a file"), "danger")
    if item is not None:
        return redirect(url_for("providers.vetting_show", provider_id=provider.id, vetting_id=item.vetting_id)
                        + f"#item-{item.id}")
    return _show(provider, "#documents")


@bp.route("/<int:provider_id>/documents/<int:document_id>")
@restrict_access()
def document_download(provider, document):
    # Shown inline; the type comes from the checked content, never from the file name.
    from reliefsvc.evidence.content import without_metadata

    return send_file(without_metadata(service.open_document(document), document.content_type),
                     mimetype=document.content_type, as_attachment=False,
                     download_name=document.filename, max_age=0)


@bp.route("/<int:provider_id>/relations/new", methods=["GET", "POST"])
@restrict_access(*EDITORS)
def relation_new(provider):
    form = RelationForm()
    form.staff_id.choices = [SelectChoice(s.id, s.name) for s in provider.staff if s.active]
    if form.validate_on_submit():
        staff = db.session.get(Staff, form.staff_id.data)
        try:
            service.declare_relation(provider, staff, form.kind.data, form.related_name.data,
                                     form.related_detail.data or "", form.relationship_text.data)
        except service.ProviderError as exc:
            _fail(exc)
        else:
            flash(_("Relation declared."), "success")
            return _show(provider, "#relations")
    return render_template("providers/relation_form.html", form=form, provider=provider)


@bp.route("/<int:provider_id>/relations/find", methods=["POST"])
@restrict_access(*OFFICER)
def relations_find(provider):
    if ConfirmForm().validate_on_submit():
        found = service.find_relations(provider)
        flash(_("%(n)d possible relations found.", n=found), "info")
    return _show(provider, "#relations")


@bp.route("/<int:provider_id>/relations/<int:relation_id>/review", methods=["POST"])
@restrict_access(*OFFICER)
def relation_review(provider, relation):
    form = ReviewForm()
    if form.validate_on_submit():
        try:
            service.review_relation(relation, bool(form.confirm.data), form.note.data or "", current_user)
        except service.ProviderError as exc:
            _fail(exc)
    return _show(provider, "#relations")


# --- vetting ------------------------------------------------------------------------------

@bp.route("/<int:provider_id>/vettings", methods=["POST"])
@restrict_access(*OFFICER)
def vetting_open(provider):
    if ConfirmForm().validate_on_submit():
        try:
            vetting = service.open_vetting(provider, current_user)
        except service.ProviderError as exc:
            _fail(exc)
        else:
            return redirect(url_for("providers.vetting_show", provider_id=provider.id, vetting_id=vetting.id))
    return _show(provider, "#vettings")


@bp.route("/<int:provider_id>/vettings/<int:vetting_id>")
@restrict_access()
def vetting_show(provider, vetting):
    decision_form = DecisionForm()
    return render_template(
        "providers/vetting.html", provider=provider, vetting=vetting, verdict_form=VerdictForm(),
        document_form=DocumentForm(), decision_form=decision_form, conditions_form=ConditionsMetForm(),
        is_officer=current_user.role is Role.OFFICER, can_upload=current_user.role in EDITORS,
        is_open=vetting.status is VettingStatus.OPEN, contracts=_contracts_of(provider),
        state=service.approval_state(provider),
        # issue 12: panels of other domains (the provider's signed annual evaluations)
        panels=panels.render("vetting", vetting, current_user),
    )


@bp.route("/<int:provider_id>/vettings/<int:vetting_id>/items/<int:item_id>", methods=["POST"])
@restrict_access(*OFFICER)
def vetting_item(provider, vetting, item):
    form = VerdictForm()
    if form.validate_on_submit():
        try:
            service.set_verdict(item, form.verdict.data, form.remark.data or "", current_user)
        except service.ProviderError as exc:
            _fail(exc)
    return redirect(url_for("providers.vetting_show", provider_id=provider.id, vetting_id=vetting.id)
                    + f"#item-{item.id}")


@bp.route("/<int:provider_id>/vettings/<int:vetting_id>/decide", methods=["POST"])
@restrict_access(*OFFICER)
def vetting_decide(provider, vetting):
    form = DecisionForm()
    if form.validate_on_submit():
        decision = service.Decision(VettingStatus(form.decision.data), form.valid_until.data, form.conditions.data,
                                    form.condition_deadline.data, form.reasons.data)
        try:
            service.decide(vetting, decision, current_user)
        except service.ProviderError as exc:
            _fail(exc)
        else:
            flash(_("Decision recorded: %(d)s.", d=vetting.status.label), "success")
    else:
        flash(_("Please check the dates you entered."), "danger")
    return redirect(url_for("providers.vetting_show", provider_id=provider.id, vetting_id=vetting.id))


@bp.route("/<int:provider_id>/vettings/<int:vetting_id>/conditions-met", methods=["POST"])
@restrict_access(*OFFICER)
def vetting_conditions_met(provider, vetting):
    form = ConditionsMetForm()
    if form.validate_on_submit():
        try:
            service.confirm_conditions_met(vetting, form.note.data, current_user)
        except service.ProviderError as exc:
            _fail(exc)
    return redirect(url_for("providers.vetting_show", provider_id=provider.id, vetting_id=vetting.id))


@bp.route("/<int:provider_id>/vettings/<int:vetting_id>/report.pdf")
@restrict_access(*BUREAU_ROLES, Role.PROVIDER_MANAGER)
def vetting_pdf(provider, vetting):
    from io import BytesIO

    from reliefsvc.reports.pdf import render_pdf

    # A paper for the file: always Chinese, whatever the reader's interface language.
    with force_locale("zh_CN"):
        data = render_pdf("providers/vetting_report.html", title="承接主体资格审查表", provider=provider,
                          vetting=vetting, draft=vetting.status is VettingStatus.OPEN,
                          state=service.approval_state(provider), contracts=_contracts_of(provider))
    return send_file(BytesIO(data), mimetype="application/pdf",
                     download_name=f"vetting-{provider.uscc}-{vetting.id}.pdf", max_age=0)


# --- checklist (admin) ----------------------------------------------------------------------

@bp.route("/checklist", methods=["GET", "POST"])
@restrict_access(Role.ADMIN, Role.OFFICER)
def checklist():
    form = ChecklistItemForm(prefix="new")
    if request.method == "POST":
        if current_user.role is not Role.ADMIN:
            abort(403)
        if form.validate_on_submit():
            try:
                service.save_checklist_item(None, **_checklist_values(form))
            except service.ProviderError as exc:
                _fail(exc)
            else:
                flash(_("Saved."), "success")
                return redirect(url_for("providers.checklist"))
    items = service.checklist(include_retired=True)
    edit_forms = {i.id: ChecklistItemForm(prefix=f"item{i.id}", obj=i) for i in items}
    return render_template("providers/checklist.html", items=items, form=form, edit_forms=edit_forms,
                           is_admin=current_user.role is Role.ADMIN)


def _checklist_values(form: ChecklistItemForm) -> dict:
    return {"code": form.code.data, "title": form.title.data, "guidance": form.guidance.data or "",
            "needs_document": form.needs_document.data, "position": form.position.data or 0,
            "is_active": form.is_active.data}


@bp.route("/checklist/<int:checklist_item_id>", methods=["POST"])
@restrict_access(Role.ADMIN)
def checklist_save(checklist_item):
    form = ChecklistItemForm(prefix=f"item{checklist_item.id}")
    if form.validate_on_submit():
        try:
            service.save_checklist_item(checklist_item, **_checklist_values(form))
        except service.ProviderError as exc:
            _fail(exc)
        else:
            flash(_("Saved."), "success")
    return redirect(url_for("providers.checklist"))
