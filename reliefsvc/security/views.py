"""Login, logout, the home page of each role, language, accounts."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from wtforms.fields.choices import SelectChoice

from reliefsvc import audit
from reliefsvc.common import panels
from reliefsvc.extensions import db, login_manager
from reliefsvc.regions import service as regions_service
from reliefsvc.security import events, service
from reliefsvc.security.access import public, restrict_access, url_object
from reliefsvc.security.forms import ConfirmForm, LoginForm, UserCreateForm
from reliefsvc.security.models import Organisation, Role, User
from reliefsvc.web import in_locale

bp = Blueprint("security", __name__)

url_object("user_id", User, as_="user")

login_manager.login_view = "security.login"
login_manager.login_message = None


@login_manager.user_loader
def _load_user(user_id: str):
    user = db.session.get(User, int(user_id))
    return user if user is not None and user.is_enabled else None


def _safe_next(target: str | None) -> str | None:
    """Only follow ``next`` to a path on this site."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    if current_user.is_authenticated:
        return redirect(url_for("security.home"))
    form = LoginForm()
    if form.validate_on_submit():
        user = service.authenticate(form.username.data, form.password.data)
        if user is None:
            flash(_("Wrong username or password, or the account is disabled."), "danger")
        else:
            locale = session.get("locale")
            session.clear()  # a fresh session on login: no fixation
            if locale:
                session["locale"] = locale
                if not user.locale:
                    service.set_locale(user, locale)
            login_user(user)
            return redirect(_safe_next(request.args.get("next")) or url_for("security.home"))
    return render_template("security/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@restrict_access()
def logout():
    audit.record(events.LoggedOut(user_id=current_user.id))
    locale = current_user.locale or session.get("locale")
    logout_user()
    session.clear()
    if locale:
        session["locale"] = locale
    flash(_("You have logged out."), "info")
    return redirect(url_for("security.login"))


@bp.route("/locale", methods=["POST"])
@public
def set_locale():
    # CSRFProtect has checked the token of this form, as of every POST.
    locale = request.form.get("locale", "")
    if locale in current_app.config["LANGUAGES"]:
        session["locale"] = locale
        if current_user.is_authenticated:
            service.set_locale(current_user, locale)
    return redirect(_safe_next(request.form.get("next")) or url_for("security.home"))


@bp.route("/")
@restrict_access()
def home():
    from reliefsvc.audit import views as audit_views

    return render_template(
        "security/home.html",
        role=current_user.role,
        region_counts=regions_service.counts(),
        audit_summary=audit_views.summary() if current_user.role in (Role.ADMIN, Role.INSPECTOR) else None,
        work=_workbench(current_user),
        panels=panels.render("home", current_user),
    )


def _workbench(user) -> list[dict]:
    """The few numbers each role starts its day with, each a link to the list behind it."""
    import sqlalchemy as sa

    from reliefsvc.cases import service as cases
    from reliefsvc.evidence import service as records
    from reliefsvc.evidence.models import RecordStatus

    def count(query):
        return db.session.scalar(sa.select(sa.func.count()).select_from(query.order_by(None).subquery()))

    items = []
    if user.role in (Role.OFFICER, Role.PROVIDER_MANAGER, Role.PROVIDER_WORKER, Role.EVALUATOR, Role.INSPECTOR):
        waiting = count(records.records_for(user, status=RecordStatus.SUBMITTED.value))
        items.append({"label": _("Records awaiting review"), "n": waiting,
                      "url": url_for("records.index", status="submitted")})
    if user.role.is_provider:
        sent_back = count(records.records_for(user, status=RecordStatus.REJECTED.value))
        items.append({"label": _("Records sent back to correct"), "n": sent_back, "alarm": sent_back > 0,
                      "url": url_for("records.index", status="rejected")})
    if user.role is Role.OFFICER:
        from reliefsvc.cases.models import Case, DiscoveryStatus

        pending = db.session.scalar(sa.select(sa.func.count()).select_from(Case).where(
            Case.discovery_status == DiscoveryStatus.PENDING))
        items.append({"label": _("Discovered households to confirm"), "n": pending, "alarm": pending > 0,
                      "url": url_for("cases.discoveries")})
    alerts = cases.alert_counts(user)
    items.append({"label": _("Alert checks overdue"), "n": alerts["overdue"], "alarm": alerts["overdue"] > 0,
                  "url": url_for("cases.alerts", state="overdue")})
    return items


@bp.route("/users")
@restrict_access(Role.ADMIN)
def users():
    return render_template("security/users.html", users=service.list_users(), toggle_form=ConfirmForm())


@bp.route("/users/new", methods=["GET", "POST"])
@restrict_access(Role.ADMIN)
def create_user():
    form = UserCreateForm()
    orgs = service.list_organisations()
    form.organisation_id.choices = [SelectChoice(o.id, f"{o.name}（{o.kind.label}）") for o in orgs]
    if form.validate_on_submit():
        try:
            user = service.create_user(
                form.username.data, form.password.data, form.role.data,
                display_name=form.display_name.data,
                organisation=db.session.get(Organisation, form.organisation_id.data),
                bureau_name=current_app.config["BUREAU_NAME"],
            )
        except service.AccountError as exc:
            db.session.rollback()
            flash(in_locale(exc), "danger")
        else:
            flash(_("Account %(name)s created.", name=user.username), "success")
            return redirect(url_for("security.users"))
    return render_template("security/user_form.html", form=form)


@bp.route("/users/<int:user_id>/enabled", methods=["POST"])
@restrict_access(Role.ADMIN)
def toggle_user(user):
    form = ConfirmForm()
    if form.validate_on_submit():
        if user.id == current_user.id:
            flash(_("You cannot disable your own account."), "danger")
        else:
            service.set_enabled(user, not user.is_enabled)
            flash(_("Account %(name)s updated.", name=user.username), "success")
    return redirect(url_for("security.users"))
