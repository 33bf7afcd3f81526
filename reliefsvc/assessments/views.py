"""Assessment pages: standards (rubric editor), assessments, provider comments and appeals,
signing, field inspections; panels on the contract, provider and home pages."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from reliefsvc.assessments import rules, service
from reliefsvc.assessments.forms import (
    AppealDecisionForm,
    BindingForm,
    CommentForm,
    ConfirmForm,
    GradesForm,
    IndicatorForm,
    InspectionForm,
    NewAssessmentForm,
    ScoreForm,
    SectionForm,
)
from reliefsvc.assessments.models import (
    Assessment,
    AssessmentComment,
    AssessmentStatus,
    FrozenError,
    Inspection,
    InspectionPhoto,
    Method,
    Standard,
    StandardIndicator,
    StandardSection,
    StandardStatus,
)
from reliefsvc.common import panels
from reliefsvc.common.formatting import today_local
from reliefsvc.contracts.models import Contract, ContractStatus
from reliefsvc.extensions import db
from reliefsvc.security.access import restrict_access, url_object
from reliefsvc.security.models import BUREAU_ROLES, Role
from reliefsvc.web import in_locale

bp = Blueprint("assessments", __name__, url_prefix="/assessments")

url_object("assessment_id", Assessment, as_="assessment")
url_object("comment_id", AssessmentComment, as_="comment", parent=("assessment_id", "assessment_id"))
url_object("standard_id", Standard, as_="standard")
url_object("inspection_id", Inspection, as_="inspection")
url_object("inspection_photo_id", InspectionPhoto, as_="photo", parent=("inspection_id", "inspection_id"))

SCORERS = (Role.OFFICER, Role.EVALUATOR)


def _fail(exc):
    db.session.rollback()
    flash(in_locale(exc) if hasattr(exc, "zh") else _("A signed assessment cannot change."), "danger")


def _back(a, anchor=""):
    return redirect(url_for("assessments.show", assessment_id=a.id) + anchor)


def _active_contracts():
    query = db.select(Contract).where(Contract.status.in_((ContractStatus.ACTIVE, ContractStatus.SUSPENDED,
                                                           ContractStatus.COMPLETED)))
    return db.session.scalars(query.order_by(Contract.contract_no)).all()


@bp.route("/")
@restrict_access()
def index():
    status = request.args.get("status") or None
    if status not in (None, *[s.value for s in AssessmentStatus]):
        abort(400)
    found = db.session.scalars(service.visible_query(current_user, status).limit(300)).all()
    today = today_local()
    due = []
    if current_user.role in SCORERS:
        for c in _active_contracts():
            keys = service.due_periods(c, today)
            if keys:
                due.append((c, keys))
    return render_template("assessments/index.html", assessments=found, status=status, Status=AssessmentStatus,
                           due=due, can_create=current_user.role in SCORERS, today=today)


@bp.route("/new", methods=["GET", "POST"])
@restrict_access(*SCORERS)
def new():
    form = NewAssessmentForm(contract_id=request.args.get("contract_id", type=int),
                             period_key=request.args.get("period", ""))
    form.contract_id.choices = [SelectChoice(c.id, f"{c.contract_no} {c.provider.name}") for c in _active_contracts()]
    if form.validate_on_submit():
        contract = db.session.get(Contract, form.contract_id.data)
        try:
            a = service.create_assessment(contract, form.period_key.data.strip().upper(),
                                          current_user)
        except service.AssessmentError as exc:
            _fail(exc)
        else:
            flash(_("Assessment opened; the data-driven indicators are filled in."), "success")
            return _back(a)
    return render_template("assessments/new.html", form=form)


def _can_score():
    return current_user.role in SCORERS


@bp.route("/<int:assessment_id>")
@restrict_access()
def show(assessment):
    a = assessment
    today = today_local()
    comment_form = CommentForm()
    comment_form.indicator_id.choices = [SelectChoice(s.indicator_id, s.indicator.name) for s in a.scores]
    sections = []
    for section in a.standard.sections:
        rows = [s for s in a.scores if s.indicator.section_id == section.id]
        got = rules.total([s.points for s in rows])
        sections.append((section, rows, got))
    return render_template(
        "assessments/show.html", a=a, sections=sections, today=today, Status=AssessmentStatus, Method=Method,
        binding=service.binding_for(a.contract, create=False),
        history=[h for h in service.history(a.contract) if h.visible_to(current_user)],
        can_score=_can_score() and a.status is AssessmentStatus.DRAFT,
        can_comment=current_user.role is Role.PROVIDER_MANAGER and a.window_open(today),
        can_decide=current_user.role is Role.OFFICER and a.status is AssessmentStatus.COMMENTING,
        can_sign=current_user.role is Role.OFFICER and a.status is AssessmentStatus.COMMENTING,
        sign_problems=service.sign_problems(a, today), unscored=service.unscored(a),
        score_form=ScoreForm(), comment_form=comment_form, decision_form=AppealDecisionForm(),
        confirm=ConfirmForm(), zh=rules.GRADE_ZH,
    )


def _guarded(a, action):
    try:
        action()
    except (service.AssessmentError, FrozenError) as exc:
        _fail(exc)
        return False
    return True


@bp.route("/<int:assessment_id>/scores/<int:indicator_id>", methods=["POST"])
@restrict_access(*SCORERS)
def score(assessment, indicator_id):
    form = ScoreForm()
    if not form.validate_on_submit():
        flash(_("Please enter the points and their justification."), "danger")
        return _back(assessment, f"#indicator-{indicator_id}")
    if _guarded(assessment, lambda: service.enter_score(assessment, indicator_id, form.points.data,
                                                        form.justification.data, current_user)):
        flash(_("Score saved."), "success")
    return _back(assessment, f"#indicator-{indicator_id}")


@bp.route("/<int:assessment_id>/recompute", methods=["POST"])
@restrict_access(*SCORERS)
def recompute(assessment):
    if _guarded(assessment, lambda: service.recompute(assessment, current_user)):
        flash(_("Figures read again."), "success")
    return _back(assessment)


@bp.route("/<int:assessment_id>/send", methods=["POST"])
@restrict_access(*SCORERS)
def send(assessment):
    if _guarded(assessment, lambda: service.send_to_provider(assessment, current_user)):
        flash(_("Sent to the provider; its comment window runs until %(d)s.",
                d=assessment.comment_until.isoformat()), "success")
    return _back(assessment)


@bp.route("/<int:assessment_id>/comments", methods=["POST"])
@restrict_access(Role.PROVIDER_MANAGER)
def comment(assessment):
    form = CommentForm()
    form.indicator_id.choices = [SelectChoice(s.indicator_id, s.indicator.name) for s in assessment.scores]
    if not form.validate_on_submit():
        flash(_("Please write the comment."), "danger")
        return _back(assessment, "#comments")
    upload = form.file.data
    file = (upload.read(), upload.filename or "") if upload and getattr(upload, "filename", "") else None
    kind = form.kind.data or "comment"
    if _guarded(assessment, lambda: service.comment(
            assessment, form.text.data, current_user, kind=kind,
            indicator_id=form.indicator_id.data if kind == "appeal" else None, file=file)):
        flash(_("Appeal lodged; a reviewing officer will decide it.") if kind == "appeal"
              else _("Comment sent."), "success")
    return _back(assessment, "#comments")


@bp.route("/<int:assessment_id>/no-further-comments", methods=["POST"])
@restrict_access(Role.PROVIDER_MANAGER)
def no_further(assessment):
    if _guarded(assessment, lambda: service.close_comments(assessment, current_user)):
        flash(_("Recorded: no further comments. The comment window is closed."), "success")
    return _back(assessment, "#comments")


@bp.route("/<int:assessment_id>/appeals/<int:comment_id>/decide", methods=["POST"])
@restrict_access(Role.OFFICER)
def decide(assessment, comment):
    form = AppealDecisionForm()
    if not form.validate_on_submit():
        flash(_("Please choose a decision and give the reasons."), "danger")
        return _back(assessment, "#comments")
    if _guarded(assessment, lambda: service.decide_appeal(comment, form.decision.data == "upheld", form.note.data,
                                                          form.new_points.data, current_user)):
        flash(_("Decision recorded."), "success")
    return _back(assessment, "#comments")


@bp.route("/<int:assessment_id>/sign", methods=["POST"])
@restrict_access(Role.OFFICER)
def sign(assessment):
    if _guarded(assessment, lambda: service.sign(assessment, current_user)):
        flash(_("Assessment signed: %(grade)s, %(total)s points.", grade=assessment.grade_label,
                total=assessment.total), "success")
    return _back(assessment)


@bp.route("/<int:assessment_id>/comments/<int:comment_id>/file")
@restrict_access()
def comment_file(assessment, comment):
    from reliefsvc.evidence import get_storage
    from reliefsvc.evidence.content import without_metadata

    if not comment.sha256:
        abort(404)
    return send_file(without_metadata(get_storage().open(comment.sha256), comment.content_type),
                     mimetype=comment.content_type, as_attachment=False,
                     download_name=comment.filename or "evidence", max_age=0)


# --- standards ---------------------------------------------------------------------------------

@bp.route("/standards")
@restrict_access(*BUREAU_ROLES)
def standards():
    service.default_standard()
    return render_template("assessments/standards.html", standards=service.standards(),
                           officer=current_user.role is Role.OFFICER, confirm=ConfirmForm())


def _indicator_form(standard):
    form = IndicatorForm(prefix="ind")
    form.section_id.choices = [SelectChoice(s.id, s.name) for s in standard.sections]
    form.method.choices = [SelectChoice(m.value, m.label) for m in Method]
    form.source.choices = ([SelectChoice("", "—")]
                           + [SelectChoice(k, f"{_('Computed')}：{v[0]}") for k, v in rules.COMPUTED.items()]
                           + [SelectChoice(k, f"{_('Deduction')}：{v[0]}") for k, v in rules.DEDUCTIONS.items()])
    return form


@bp.route("/standards/<int:standard_id>")
@restrict_access(*BUREAU_ROLES)
def standard_show(standard):
    editable = current_user.role is Role.OFFICER and standard.status is StandardStatus.DRAFT
    return render_template("assessments/standard.html", standard=standard, editable=editable,
                           officer=current_user.role is Role.OFFICER,
                           problems=service.rubric_problems(standard), section_form=SectionForm(prefix="sec"),
                           indicator_form=_indicator_form(standard), grades_form=GradesForm(obj=standard, prefix="gr"),
                           confirm=ConfirmForm(), computed=rules.COMPUTED, deductions=rules.DEDUCTIONS)


@bp.route("/standards/<int:standard_id>/new-version", methods=["POST"])
@restrict_access(Role.OFFICER)
def standard_copy(standard):
    copy = service.new_version(standard, current_user)
    flash(_("Version %(v)d made as a draft; edit it, then publish it.", v=copy.version), "success")
    return redirect(url_for("assessments.standard_show", standard_id=copy.id))


@bp.route("/standards/<int:standard_id>/edit", methods=["POST"])
@restrict_access(Role.OFFICER)
def standard_edit(standard):
    action = request.form.get("action", "")
    try:
        if action == "section":
            form = SectionForm(prefix="sec")
            if not form.validate_on_submit():
                raise service.AssessmentError("请填写部分名称和分值", "please give the section's name and points")
            service.add_section(standard, form.name.data, form.points.data, current_user)
        elif action == "indicator":
            form = _indicator_form(standard)
            if not form.validate_on_submit():
                raise service.AssessmentError("请填写指标名称、满分和评分方式",
                                              "please give the indicator's name, points and method")
            section = db.session.get(StandardSection, form.section_id.data)
            if section is None or section.standard_id != standard.id:
                abort(404)
            service.add_indicator(section, form.name.data, form.max_points.data, form.method.data,
                                  form.source.data or None, form.full_at.data, form.zero_at.data,
                                  form.per_event.data, form.guidance.data or "", current_user)
        elif action == "remove":
            section = db.session.get(StandardSection, request.form.get("section_id", type=int) or 0)
            indicator = db.session.get(StandardIndicator, request.form.get("indicator_id", type=int) or 0)
            service.remove(standard, section, indicator, current_user)
        elif action == "grades":
            form = GradesForm(prefix="gr")
            if not form.validate_on_submit():
                raise service.AssessmentError("请填写等级分数线", "please give the grade edges")
            service.set_grade_edges(standard, form.excellent_from.data, form.good_from.data, form.pass_from.data,
                                    current_user)
        elif action == "publish":
            service.publish(standard, current_user)
            flash(_("Published. This version can no longer change."), "success")
        else:
            flash(_("Nothing was changed."), "warning")
    except (service.AssessmentError, FrozenError) as exc:
        _fail(exc)
    return redirect(url_for("assessments.standard_show", standard_id=standard.id))


@bp.route("/contracts/<int:contract_id>/standard", methods=["GET", "POST"])
@restrict_access(Role.OFFICER)
def binding(contract):
    current = service.binding_for(contract, by_user=current_user)
    form = BindingForm(obj=current)
    form.standard_id.choices = [SelectChoice(s.id, f"{s.name}（{s.code} v{s.version}）") for s in service.standards()
                                if s.status is StandardStatus.PUBLISHED]
    if form.validate_on_submit():
        try:
            service.bind(contract, db.session.get(Standard, form.standard_id.data), form.period.data,
                         form.comment_days.data, {g: getattr(form, f"coef_{g}").data for g in rules.GRADES},
                         current_user)
        except service.AssessmentError as exc:
            _fail(exc)
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("contracts.show", contract_id=contract.id) + "#assessments")
    return render_template("assessments/binding.html", form=form, contract=contract)


# --- field inspections --------------------------------------------------------------------------

@bp.route("/inspections")
@restrict_access()
def inspections():
    found = db.session.scalars(service.inspections_query(current_user).limit(300)).all()
    return render_template("assessments/inspections.html", inspections=found,
                           can_record=current_user.role in SCORERS)


FINDING_ROWS = 3


@bp.route("/inspections/new", methods=["GET", "POST"])
@restrict_access(*SCORERS)
def inspection_new():
    contracts = _active_contracts()
    form = InspectionForm(contract_id=request.args.get("contract_id", type=int), visited_on=today_local())
    form.contract_id.choices = [SelectChoice(c.id, f"{c.contract_no} {c.provider.name}") for c in contracts]
    villages = {v.id: v for c in contracts for v in c.villages}
    form.region_id.choices = [SelectChoice(v.id, f"{v.parent.name if v.parent else ''} {v.name}")
                              for v in sorted(villages.values(), key=lambda v: v.code)]
    if form.validate_on_submit():
        data = service.InspectionInput(
            contract=db.session.get(Contract, form.contract_id.data), region_id=form.region_id.data,
            visited_on=form.visited_on.data, place=form.place.data or "", people_met=form.people_met.data or "",
            summary=form.summary.data or "",
            checklist=[(item, request.form.get(f"check-{i}", "na")) for i, item in enumerate(service.DEFAULT_CHECKLIST)],
            findings=[(request.form.get(f"finding-{i}-text", ""), request.form.get(f"finding-{i}-rule", ""),
                       bool(request.form.get(f"finding-{i}-deducts")), bool(request.form.get(f"finding-{i}-rectify")))
                      for i in range(FINDING_ROWS)],
            photos=[(f.read(), f.filename or "") for f in (form.photos.data or []) if getattr(f, "filename", "")],
            rectify_due=form.rectify_due.data)
        try:
            inspection = service.record_inspection(data, current_user)
        except service.AssessmentError as exc:
            _fail(exc)
        else:
            flash(_("Inspection saved."), "success")
            return redirect(url_for("assessments.inspection_show", inspection_id=inspection.id))
    return render_template("assessments/inspection_new.html", form=form, checklist=service.DEFAULT_CHECKLIST,
                           rows=range(FINDING_ROWS))


@bp.route("/inspections/<int:inspection_id>")
@restrict_access()
def inspection_show(inspection):
    return render_template("assessments/inspection_show.html", inspection=inspection)


@bp.route("/inspections/<int:inspection_id>/photos/<int:inspection_photo_id>")
@restrict_access()
def inspection_photo(inspection, photo):
    """The display copy: re-encoded without metadata, so no GPS leaves the bureau."""
    from reliefsvc.evidence import get_storage
    from reliefsvc.evidence.models import Photo

    stored = db.session.get(Photo, photo.photo_id)
    return send_file(get_storage().open(stored.display_sha256), mimetype="image/jpeg", max_age=0)


# --- panels -------------------------------------------------------------------------------------

def _contract_panel(contract, user):
    found = [a for a in service.history(contract) if a.visible_to(user)]
    return {"assessments": found, "contract": contract, "binding": service.binding_for(contract, create=False),
            "officer": user.role is Role.OFFICER, "scorer": user.role in SCORERS,
            "due": service.due_periods(contract, today_local()) if user.role in SCORERS else []}


def _provider_panel(provider, user):
    found = db.session.scalars(service.visible_query(user).where(Contract.provider_id == provider.id).limit(20)).all()
    return {"assessments": found} if found else None


def _home_panel(user):
    if user.role is Role.EVALUATOR:
        items = db.session.scalars(service.visible_query(user, "draft").limit(10)).all()
        title = _("Assessments to score")
    elif user.role is Role.OFFICER:
        items = [a for a in db.session.scalars(service.visible_query(user, "commenting").limit(50))
                 if not service.sign_problems(a)][:10]
        title = _("Assessments ready to sign")
    elif user.role is Role.PROVIDER_MANAGER:
        today = today_local()
        items = [a for a in db.session.scalars(service.visible_query(user, "commenting").limit(20))
                 if a.window_open(today)]
        title = _("Assessments awaiting your comments")
    else:
        return None
    return {"items": items, "title": title} if items else None


panels.register("contract", "assessments", "assessments/_contract_panel.html", _contract_panel, order=50, kept=True)
panels.register("provider", "assessments", "assessments/_provider_panel.html", _provider_panel, order=50)
# issue 13: the dashboards show assessments to score (evaluator), to sign (officer: due this week)
# and to comment on (provider manager) in a fixed number of queries; this list left the home page.
# panels.register("home", "assessments", "assessments/_home_panel.html", _home_panel, order=50)
