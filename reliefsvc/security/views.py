"""Login (password, then the second factor), logout, the home page of each role, language,
accounts; the session rules of issue 15 (idle and absolute limits, epoch, forced steps)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from markupsafe import Markup
from sqlalchemy.orm import joinedload
from wtforms.fields.choices import SelectChoice

from reliefsvc import audit
from reliefsvc.common import panels
from reliefsvc.db import utcnow
from reliefsvc.extensions import db, login_manager
from reliefsvc.regions import service as regions_service
from reliefsvc.security import events, identity, rules, service
from reliefsvc.security.access import public, restrict_access, url_object
from reliefsvc.security.forms import (
    ChangePasswordForm,
    CodeForm,
    ConfirmForm,
    EnrolForm,
    LoginForm,
    RoleForm,
    SecondFactorForm,
    UserCreateForm,
)
from reliefsvc.security.models import AUDIT_READER_ROLES, DUTY_ROLES, Organisation, Role, User
from reliefsvc.web import in_locale

bp = Blueprint("security", __name__)

url_object("user_id", User, as_="user")

login_manager.login_view = "security.login"
login_manager.login_message = None


def _signed_in(user_id) -> User | None:
    """The signed-in user with their organisation (every page's header names it): one statement."""
    return db.session.get(User, int(user_id), options=[joinedload(User.organisation)])


@login_manager.user_loader
def _load_user(user_id: str):
    try:
        user = _signed_in(user_id)
    except (TypeError, ValueError):
        return None
    if user is None or not user.is_enabled:
        return None
    # A password change, a second-factor reset or a role change raises the epoch: older sessions end.
    if session.get("_epoch") != user.session_epoch:
        return None
    return user


def session_markers(user: User, now: float | None = None) -> dict:
    """What a logged-in session carries besides Flask-Login's user id (tests use it, too)."""
    now = utcnow().timestamp() if now is None else now
    return {"_epoch": user.session_epoch, "_login_at": now, "_seen_at": now}


#: the second-factor step: who passed the password step, when, and where to go next
PENDING_KEY = "_second_factor"
PENDING_SECONDS = 300

#: Endpoints open while a forced step (password change, second-factor set-up) is due.
FORCED_STEP_OPEN = frozenset({"security.logout", "security.set_locale", "security.change_password",
                              "security.totp_setup", "security.login", "security.second_factor"})


def _keep_locale_only() -> None:
    locale = session.get("locale")
    session.clear()  # a fresh session on login and logout: no fixation
    if locale:
        session["locale"] = locale


def _start_session(user: User) -> None:
    locale = session.get("locale")
    _keep_locale_only()
    if locale and not user.locale:
        service.set_locale(user, locale)
    login_user(user)
    session.update(session_markers(user))


def _end_session() -> None:
    locale = (current_user.locale if current_user and current_user.is_authenticated else None) or session.get("locale")
    logout_user()
    session.clear()
    if locale:
        session["locale"] = locale


def _address() -> str:
    # Behind nginx, ProxyFix (see docs) makes this the client's address.
    return request.remote_addr or "-"


SESSION_END_MESSAGES = {
    "idle": lambda: _("Your session ended after %(n)d minutes without activity. Please log in again.",
                      n=current_app.config["SESSION_IDLE_MINUTES"]),
    "absolute": lambda: _("Your session ended after %(n)d hours. Please log in again.",
                          n=current_app.config["SESSION_MAX_HOURS"]),
    "superseded": lambda: _("Your session ended because the password, second factor or role of the account changed. "
                            "Please log in again."),
    "unknown": lambda: _("Please log in again."),
}


@bp.before_app_request
def _session_rules():
    """End idle, too old or outdated sessions; send a user with a due step to it first."""
    endpoint = request.endpoint or ""
    if endpoint.rsplit(".", 1)[-1] == "static" or "_user_id" not in session:
        return None
    try:
        user = _signed_in(session["_user_id"])
    except (TypeError, ValueError):
        user = None
    now = utcnow().timestamp()
    config = current_app.config
    reason = rules.session_end_reason(session.get("_login_at"), session.get("_seen_at"), now,
                                      idle=timedelta(minutes=config["SESSION_IDLE_MINUTES"]),
                                      absolute=timedelta(hours=config["SESSION_MAX_HOURS"]))
    if reason is None and (user is None or session.get("_epoch") != user.session_epoch):
        reason = "superseded"
    if reason is not None:
        if user is not None:
            audit.record(events.SessionEnded(user_id=user.id, reason=reason), actor=user)
        _end_session()
        flash(SESSION_END_MESSAGES[reason](), "warning")
        return None  # the page's guard now sends the anonymous visitor to the login page
    session["_seen_at"] = now
    if not current_user.is_authenticated or endpoint in FORCED_STEP_OPEN:
        return None
    if identity.must_change_password(current_user):
        return redirect(url_for("security.change_password"))
    if identity.totp_required(current_user) and not current_user.has_totp:
        return redirect(url_for("security.totp_setup"))
    return None


def _safe_next(target: str | None) -> str | None:
    """Only follow ``next`` to a path on this site."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _login_refusal(outcome: str) -> str:
    config = current_app.config
    if outcome == identity.LoginOutcome.LOCKED:
        return _("This account is locked for %(n)d minutes after %(k)d failed logins. Try again later, "
                 "or ask the security administrator to unlock it.",
                 n=config["LOGIN_LOCKOUT_MINUTES"], k=config["LOGIN_MAX_FAILURES"])
    if outcome == identity.LoginOutcome.RATE_LIMITED:
        return _("Too many failed logins from your address. Please wait %(n)d minutes.",
                 n=config["LOGIN_ADDRESS_WINDOW_MINUTES"])
    if outcome == identity.LoginOutcome.DEMO_PASSWORD:
        return _("This account still has the public demo password, which a production system refuses. "
                 "Ask the administrator for a new password.")
    return _("Wrong username or password, or the account is disabled.")


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    if current_user.is_authenticated:
        return redirect(url_for("security.home"))
    form = LoginForm()
    if form.validate_on_submit():
        user, outcome = identity.check_password_step(form.username.data, form.password.data, _address())
        if user is None:
            flash(_login_refusal(outcome), "danger")
        else:
            target = _safe_next(request.args.get("next"))
            if user.has_totp:
                _keep_locale_only()
                session[PENDING_KEY] = {"uid": user.id, "at": utcnow().timestamp(), "next": target,
                                        "epoch": user.session_epoch}
                return redirect(url_for("security.second_factor"))
            _start_session(user)
            identity.complete_login(user, _address())
            return redirect(target or url_for("security.home"))
    return render_template("security/login.html", form=form)


def _pending_user() -> User | None:
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict):
        return None
    if utcnow().timestamp() - float(pending.get("at", 0)) > PENDING_SECONDS:
        return None
    user = db.session.get(User, int(pending.get("uid", 0)))
    if user is None or not user.is_enabled or user.session_epoch != pending.get("epoch") or not user.has_totp:
        return None
    return user


@bp.route("/login/code", methods=["GET", "POST"])
@public
def second_factor():
    """The second step of a login: a code from the authenticator app, or a recovery code."""
    if current_user.is_authenticated:
        return redirect(url_for("security.home"))
    user = _pending_user()
    if user is None:
        session.pop(PENDING_KEY, None)
        flash(_("Please log in again."), "warning")
        return redirect(url_for("security.login"))
    form = SecondFactorForm()
    if form.validate_on_submit():
        outcome, used_recovery = identity.check_second_factor(user, form.code.data or "", form.recovery.data or "",
                                                              _address())
        if outcome == identity.LoginOutcome.OK:
            target = session[PENDING_KEY].get("next")
            _start_session(user)
            identity.complete_login(user, _address())
            if used_recovery:
                flash(_("You logged in with a recovery code; %(n)d are left. Each code works once.",
                        n=identity.remaining_recovery_codes(user)), "warning")
            return redirect(_safe_next(target) or url_for("security.home"))
        if outcome == identity.LoginOutcome.WRONG:
            flash(_("The code is wrong, or has been used already."), "danger")
        else:
            session.pop(PENDING_KEY, None)
            flash(_login_refusal(outcome), "danger")
            return redirect(url_for("security.login"))
    return render_template("security/second_factor.html", form=form)


@bp.route("/logout", methods=["POST"])
@restrict_access()
def logout():
    audit.record(events.LoggedOut(user_id=current_user.id))
    _end_session()
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
    from reliefsvc.dashboards import views as dashboards

    # issue 16: the figures kept a minute per scope (officer, provider organisation)
    figures = dashboards.home_figures(current_user, lambda: _workbench(current_user),
                                      regions_service.counts)
    return render_template(
        "security/home.html",
        role=current_user.role,
        region_counts=figures["region_counts"],
        audit_summary=audit_views.summary() if current_user.role in AUDIT_READER_ROLES else None,
        work=figures["work"],
        # issue 13: the role's dashboard (officer, evaluator, provider manager, provider worker)
        dash=figures["dash"],
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
    if user.role in DUTY_ROLES and user.role is not Role.ADMIN:
        return items  # the security administrator and the auditor see no casework (三员分立)
    alerts = cases.alert_counts(user)
    items.append({"label": _("Alert checks overdue"), "n": alerts["overdue"], "alarm": alerts["overdue"] > 0,
                  "url": url_for("cases.alerts", state="overdue")})
    return items


@bp.route("/users")
@restrict_access(Role.ADMIN, Role.SECURITY_ADMIN)
def users():
    # The system administrator makes and disables accounts; the security administrator changes
    # roles, unlocks and resets second factors (三员分立). Each sees the buttons of its duty.
    role_form = RoleForm()
    role_form.role.choices = [SelectChoice(r.value, r.label) for r in identity.ASSIGNABLE_ROLES]
    return render_template("security/users.html", users=service.list_users(), toggle_form=ConfirmForm(),
                           role_form=role_form, duty_roles=DUTY_ROLES, now=utcnow(),
                           totp_required=identity.totp_required)


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
                must_change_password=True,  # chosen by the administrator: the owner replaces it first
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
        elif user.role in DUTY_ROLES:
            # 三员分立: the system administrator cannot silence the security administrator or the auditor.
            flash(_("Accounts of the three duties are enabled or disabled at the console "
                    "(reliefsvc users enable / disable)."), "danger")
        else:
            service.set_enabled(user, not user.is_enabled)
            flash(_("Account %(name)s updated.", name=user.username), "success")
    return redirect(url_for("security.users"))


# --- one's own account (issue 15) -----------------------------------------------------------

@bp.route("/account")
@restrict_access()
def account():
    return render_template("security/account.html", password_expired=identity.password_expired(current_user),
                           totp_required=identity.totp_required(current_user),
                           recovery_left=identity.remaining_recovery_codes(current_user), code_form=CodeForm(),
                           max_age=current_app.config["PASSWORD_MAX_AGE_DAYS"])


@bp.route("/account/password", methods=["GET", "POST"])
@restrict_access()
def change_password():
    form = ChangePasswordForm()
    forced = identity.must_change_password(current_user)
    if form.validate_on_submit():
        user = current_user._get_current_object()
        if not identity.verify_password(user.password_hash, form.current.data):
            identity.record_attempt(_address(), user.username, False)
            identity.register_failure(user, "password_change")
            if identity.is_locked(user):
                _end_session()
                flash(_login_refusal(identity.LoginOutcome.LOCKED), "danger")
                return redirect(url_for("security.login"))
            flash(_("The current password is wrong."), "danger")
        elif form.new.data != form.repeat.data:
            flash(_("The two new passwords differ."), "danger")
        else:
            how = "expired" if identity.password_expired(user) else ("forced" if user.must_change_password else "user")
            try:
                identity.set_password(user, form.new.data, how)
            except service.AccountError as exc:
                flash(in_locale(exc), "danger")
            else:
                session["_epoch"] = user.session_epoch  # this session goes on; the others end
                flash(_("Your password has been changed. Your other sessions have ended."), "success")
                return redirect(url_for("security.home"))
    return render_template("security/change_password.html", form=form, forced=forced,
                           expired=identity.password_expired(current_user),
                           min_length=current_app.config["PASSWORD_MIN_LENGTH"],
                           min_classes=current_app.config["PASSWORD_MIN_CLASSES"])


TOTP_SETUP_KEY = "_totp_candidate"


@bp.route("/account/second-factor", methods=["GET", "POST"])
@restrict_access()
def totp_setup():
    """Set up the authenticator app: scan the QR code, type one code; then the recovery codes."""
    user = current_user._get_current_object()
    if user.has_totp:
        flash(_("The second factor is already set up. The security administrator can reset it."), "info")
        return redirect(url_for("security.account"))
    # The session holds a random nonce, not the secret: the secret is derived from it with the
    # server's key, so that the (signed, not encrypted) cookie never carries it.
    nonce = session.get(TOTP_SETUP_KEY)
    if not nonce:
        nonce = session[TOTP_SETUP_KEY] = identity.new_totp_secret()
    secret = identity.candidate_secret(user, nonce)
    form = EnrolForm()
    if form.validate_on_submit():
        codes = identity.enrol_totp(user, secret, form.code.data)
        if codes is not None:
            session.pop(TOTP_SETUP_KEY, None)
            return render_template("security/recovery_codes.html", codes=codes, first=True)
        flash(_("The code is wrong. Check the time on your phone and type the code shown now."), "danger")
    uri = identity.provisioning_uri(user, secret)
    return render_template("security/totp_setup.html", form=form, qr=Markup(identity.qr_svg(uri)),  # noqa: S704 — path data only
                           secret=" ".join(secret[i:i + 4] for i in range(0, len(secret), 4)),
                           required=identity.totp_required(user))


@bp.route("/account/recovery-codes", methods=["POST"])
@restrict_access()
def recovery_codes():
    """New recovery codes (the old ones stop working), against a fresh code from the app."""
    form = CodeForm()
    user = current_user._get_current_object()
    if form.validate_on_submit() and user.has_totp:
        if identity.verify_totp(user, form.code.data):
            return render_template("security/recovery_codes.html", codes=identity.regenerate_recovery_codes(user),
                                   first=False)
        identity.record_attempt(_address(), user.username, False)
        identity.register_failure(user, "second_factor")
        flash(_("The code is wrong, or has been used already."), "danger")
    return redirect(url_for("security.account"))


# --- the security administrator's duties (issue 15) ---------------------------------------------

@bp.route("/users/<int:user_id>/unlock", methods=["POST"])
@restrict_access(Role.SECURITY_ADMIN)
def unlock_user(user):
    if ConfirmForm().validate_on_submit():
        identity.unlock(user)
        flash(_("Account %(name)s unlocked.", name=user.username), "success")
    return redirect(url_for("security.users"))


@bp.route("/users/<int:user_id>/second-factor/reset", methods=["POST"])
@restrict_access(Role.SECURITY_ADMIN)
def reset_second_factor(user):
    if ConfirmForm().validate_on_submit():
        if user.id == current_user.id:
            flash(_("Your own second factor is reset by another security administrator or at the console."),
                  "danger")
        else:
            identity.reset_totp(user)
            flash(_("The second factor of %(name)s has been removed; the account sets it up again at the next "
                    "login.", name=user.username), "success")
    return redirect(url_for("security.users"))


@bp.route("/users/<int:user_id>/password/reset", methods=["POST"])
@restrict_access(Role.SECURITY_ADMIN)
def reset_password(user):
    """A temporary password for a person who forgot theirs, shown once on this answer (never
    in a URL, never stored); the person must choose their own at the next login."""
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("security.users"))
    try:
        password = identity.reset_password(current_user, user)
    except service.AccountError as exc:
        flash(in_locale(exc), "danger")
        return redirect(url_for("security.users"))
    response = make_response(render_template("security/temporary_password.html", account=user, password=password))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/users/<int:user_id>/role", methods=["POST"])
@restrict_access(Role.SECURITY_ADMIN)
def change_role(user):
    form = RoleForm()
    form.role.choices = [SelectChoice(r.value, r.label) for r in Role]
    if form.validate_on_submit():
        try:
            identity.change_role(current_user, user, form.role.data)
        except service.AccountError as exc:
            flash(in_locale(exc), "danger")
        else:
            flash(_("Account %(name)s updated.", name=user.username), "success")
    return redirect(url_for("security.users"))


@bp.record_once
def _refuse_demo_passwords_in_production(state):
    """No default accounts in production: the WSGI server (gunicorn) refuses to start while a
    demo login still opens with the public demo password. Commands of the ``reliefsvc`` console
    (Flask's CLI) still run, so that the operator can disable the account or set a new password."""
    import os

    import sqlalchemy as sa

    app = state.app
    if app.config.get("ENV_NAME") != "production" or os.environ.get("FLASK_RUN_FROM_CLI") == "true":
        return
    with app.app_context():
        try:
            found = identity.accounts_with_demo_passwords()
        except sa.exc.SQLAlchemyError:  # no schema yet: nothing to check
            db.session.rollback()
            return
        finally:
            db.session.remove()
    if found:
        raise RuntimeError(
            "生产环境不能保留演示账号：以下账号仍使用公开的演示密码：" + "、".join(found)
            + "。请用 reliefsvc users disable 或 reliefsvc users set-password 处理。"
            " / Refusing to start in production: these accounts still have the public demo password: "
            + ", ".join(found) + " (reliefsvc users disable USER, or reliefsvc users set-password USER).")


# --- home-page panels of the two new duties and of every account (issue 15) ----------------------

def _duties_panel(user):
    import sqlalchemy as sa

    if user.role is Role.SECURITY_ADMIN:
        now = utcnow()
        locked = db.session.scalars(sa.select(User).where(User.locked_until > now).order_by(User.username)).all()
        without = [u for u in service.list_users()
                   if u.is_enabled and not u.has_totp and identity.totp_required(u)]
        return {"kind": "security", "locked": locked, "without_totp": without}
    if user.role is Role.AUDITOR:
        from reliefsvc.audit import views as audit_views

        return {"kind": "audit", "summary": audit_views.summary(), "verify_form": ConfirmForm()}
    return None


def _password_panel(user):
    """A reminder on the home page when the password expires within a fortnight."""
    max_age = current_app.config["PASSWORD_MAX_AGE_DAYS"]
    changed = user.password_changed_at or user.created_at
    if not max_age or changed is None:
        return None
    left = (changed + timedelta(days=max_age) - utcnow()).days
    return {"days_left": max(left, 0)} if left < 14 else None


panels.register("home", "duties", "security/_home_duties.html", _duties_panel, order=5)
panels.register("home", "password", "security/_home_password.html", _password_panel, order=1)
