"""Case pages: the registry, a household, monitoring alerts, active discovery and its review."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from reliefsvc.cases import rules, service
from reliefsvc.cases.forms import AlertClearForm, DiscoveryForm, MemberForm, RevealForm, ReviewForm
from reliefsvc.cases.models import (
    Alert,
    AlertLevel,
    Case,
    CaseMember,
    CaseStatus,
    Category,
    DiscoveryStatus,
    Origin,
)
from reliefsvc.common.forms import ImportForm
from reliefsvc.db import utcnow
from reliefsvc.extensions import db
from reliefsvc.providers import service as providers
from reliefsvc.providers.models import Provider
from reliefsvc.security.access import restrict_access, url_object
from reliefsvc.security.models import PROVIDER_ROLES, Role
from reliefsvc.web import flash_import, in_locale

bp = Blueprint("cases", __name__, url_prefix="/cases")

url_object("case_id", Case, as_="case")
url_object("alert_id", Alert, as_="alert", parent=("case_id", "case_id"))
url_object("member_id", CaseMember, as_="member", parent=("case_id", "case_id"))

OFFICER = (Role.OFFICER,)
IMPORT_COLUMNS = ("case_ref, head_name, id_number, village_code, categories, household_size, status, "
                  "status_changed_on, alert_level, alert_issued_at, lat, lon")


def _fail(exc) -> None:
    db.session.rollback()
    flash(in_locale(exc), "danger")


def _show(case, anchor=""):
    return redirect(url_for("cases.show", case_id=case.id) + anchor)


def _page(query):
    return db.paginate(query, per_page=current_app.config["PAGE_SIZE"], error_out=False)


def _kept_args() -> dict:
    """The list's filters, without the page number, for the pager and the form."""
    return {k: v for k, v in request.args.items() if k != "page" and v}


@bp.route("/")
@restrict_access()
def index():
    args = request.args
    f = service.CaseFilter(q=args.get("q", "").strip(), category=args.get("category", ""),
                           status=args.get("status", ""), alert=args.get("alert", ""),
                           township_id=args.get("township", type=int), discovery=args.get("discovery", ""))
    now = utcnow()
    page = _page(service.case_query(current_user, f, now))
    return render_template(
        "cases/index.html", page=page, f=f, args=_kept_args(), now=now,
        alerts=service.open_alerts(c.id for c in page.items), townships=service.townships(),
        categories=list(Category), statuses=list(CaseStatus), levels=list(AlertLevel),
        discovery_states=list(DiscoveryStatus), is_bureau=not current_user.role.is_provider)


@bp.route("/alerts")
@restrict_access()
def alerts():
    state = request.args.get("state", "open")
    level = request.args.get("level", "")
    now = utcnow()
    page = _page(service.alert_query(current_user, state, level, now))
    return render_template("cases/alerts.html", page=page, state=state, level=level, now=now,
                           args=_kept_args(), counts=service.alert_counts(current_user, now),
                           levels=list(AlertLevel), hours=service.deadline_hours())


@bp.route("/discoveries")
@restrict_access()
def discoveries():
    status = request.args.get("status", "")
    page = _page(service.discovery_query(current_user, status))
    own = providers.provider_of_user(current_user) if current_user.role.is_provider else None
    if current_user.role.is_provider:
        counts = service.discovery_counts([own.id]) if own else {}
        per_provider = [(own, counts.get(own.id))] if own else []
    else:
        counts = service.discovery_counts()
        names = {p.id: p for p in db.session.scalars(db.select(Provider).where(Provider.id.in_(list(counts))))}
        per_provider = sorted(((names[pid], c) for pid, c in counts.items()), key=lambda pc: pc[0].name)
    return render_template("cases/discoveries.html", page=page, status=status, args=_kept_args(),
                           per_provider=per_provider, states=list(DiscoveryStatus),
                           can_report=current_user.role in PROVIDER_ROLES)


@bp.route("/discover", methods=["GET", "POST"])
@restrict_access(*PROVIDER_ROLES)
def discover():
    form = DiscoveryForm(villages=service.villages_by_township())
    if form.validate_on_submit():
        discovery = service.Discovery(
            head_name=form.head_name.data, village_id=form.village_id.data, household_size=form.household_size.data,
            need=form.need.data, id_number=form.id_number.data, categories=tuple(form.categories.data or ()),
            address=form.address.data, lat=form.lat.data, lon=form.lon.data)
        try:
            case = service.discover_case(discovery, current_user)
        except service.CaseError as exc:
            _fail(exc)
        else:
            flash(_("Household %(ref)s is recorded and waits for the bureau's confirmation. Thank you.",
                    ref=case.case_ref), "success")
            return _show(case)
    return render_template("cases/discover.html", form=form)


@bp.route("/import", methods=["GET", "POST"])
@restrict_access(Role.OFFICER, Role.ADMIN)
def import_file():
    form, report = ImportForm(), None
    if form.validate_on_submit():
        upload = form.file.data
        report = service.import_cases(upload.read(), filename=upload.filename or "",
                                      encoding=form.encoding.data, partial=form.partial.data)
        flash_import(report)
    return render_template("cases/import.html", form=form, report=report, columns=IMPORT_COLUMNS,
                           hours=service.deadline_hours())


@bp.route("/<int:case_id>")
@restrict_access()
def show(case):
    case = service.with_page_relations(case)
    is_officer = current_user.role is Role.OFFICER
    timeline_hook = current_app.extensions.get("case_timeline")
    return render_template(
        "cases/show.html", case=case, now=utcnow(), is_officer=is_officer,
        timeline=timeline_hook(case, current_user) if timeline_hook else "",
        waiting=case.discovery_status is DiscoveryStatus.PENDING, discovered=case.origin is Origin.DISCOVERED)


@bp.route("/<int:case_id>/review", methods=["POST"])
@restrict_access(*OFFICER)
def review(case):
    form = ReviewForm()
    if not form.validate_on_submit() or not (form.confirm.data or form.dismiss.data):
        flash(_("Please confirm or dismiss the household."), "danger")
        return _show(case)
    try:
        service.review_discovery(case, bool(form.confirm.data), form.reason.data or "", current_user)
    except service.CaseError as exc:
        _fail(exc)
    else:
        flash(_("Household %(ref)s: %(state)s.", ref=case.case_ref, state=case.discovery_status.label), "success")
    return _show(case)


@bp.route("/<int:case_id>/reveal", methods=["POST"])
@restrict_access(*OFFICER)
def reveal(case):
    return _reveal(case, None)


@bp.route("/<int:case_id>/members/<int:member_id>/reveal", methods=["POST"])
@restrict_access(*OFFICER)
def member_reveal(case, member):
    return _reveal(case, member)


def _reveal(case, member):
    form = RevealForm()
    if not form.validate_on_submit():
        flash(_("Please give the reason"), "danger")
        return _show(case, "#members" if member else "")
    try:
        number = service.reveal_id_number(case, form.reason.data, member)
    except service.CaseError as exc:
        _fail(exc)
        return _show(case)
    return render_template("cases/revealed.html", case=case, person=member.name if member else case.head_name,
                           number=number)


@bp.route("/<int:case_id>/members/new", methods=["GET", "POST"])
@restrict_access(*OFFICER)
def member_new(case):
    form = MemberForm()
    if form.validate_on_submit():
        try:
            member = service.add_member(case, form.name.data, form.relation.data, form.id_number.data,
                                        form.birth_year.data)
        except service.CaseError as exc:
            db.session.rollback()
            form.id_number.errors.append(in_locale(exc))
        else:
            flash(_("%(name)s added to the household.", name=member.name), "success")
            return _show(case, "#members")
    return render_template("cases/member_form.html", form=form, case=case)


@bp.route("/<int:case_id>/alerts/<int:alert_id>/clear", methods=["POST"])
@restrict_access(*OFFICER)
def alert_clear(case, alert):
    form = AlertClearForm()
    if not form.validate_on_submit():
        flash(_("Please say how the alert was dealt with"), "danger")
        return _show(case, "#alerts")
    try:
        service.clear_alert(alert, form.note.data, user=current_user)
    except service.CaseError as exc:
        _fail(exc)
    else:
        flash(_("The alert is cleared."), "success")
    return _show(case, "#alerts")


@bp.app_template_global()
def alert_time_left(alert, now):
    """"3 hours left", "2 days overdue": how an alert stands against its deadline."""
    hours = rules.hours_left(alert.due_at, now)
    if hours >= 0:
        return (_("%(n)d days left", n=int(hours // 24)) if hours >= 48
                else _("%(n)d hours left", n=int(hours)))
    late = -hours
    return (_("%(n)d days overdue", n=int(late // 24)) if late >= 48
            else _("%(n)d hours overdue", n=max(1, int(late))))
