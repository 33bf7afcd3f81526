"""What every page shares: the request transaction, locale, formatting, navigation."""

from __future__ import annotations

from dataclasses import dataclass

from flask import (
    Flask,
    Response,
    abort,
    current_app,
    g,
    has_request_context,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale, get_translations
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup

from reliefsvc.common import formatting, pagecache
from reliefsvc.db import sqlite_begin_mode
from reliefsvc.extensions import db
from reliefsvc.notifications import service as notifications
from reliefsvc.security.models import Role

READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    chosen = session.get("locale")
    if chosen in languages:
        return chosen
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def flash_import(report) -> None:
    """The one-line result of an import page; a failed import rolls back what it touched."""
    from flask import flash
    from flask_babel import gettext as _

    if report.written:
        flash(_("Import finished: %(imported)d new, %(updated)d updated, %(rejected)d rejected.",
                imported=report.imported, updated=report.updated, rejected=report.rejected), "success")
    else:
        db.session.rollback()
        flash(_("Nothing was imported: the file has %(n)d errors. Correct them and import again.",
                n=len(report.errors)), "danger")


def translations():
    """The request's catalogue for the templates' ``_()``, found in a few attribute reads where
    Flask-Babel's ``get_translations`` takes some thirty calls (a page's forty ``_()`` were a
    fifth of a list's work, issue 16): Flask-Babel's answer is kept beside the locale it
    settled for the request, and asked again whenever that locale object changes, so
    ``force_locale`` (e-mails, papers in another language) is obeyed."""
    ctx = g.get("_flask_babel")
    locale = getattr(ctx, "babel_locale", None)
    if locale is None:  # not settled yet in this request: Flask-Babel settles it
        return get_translations()
    kept = getattr(ctx, "reliefsvc_catalogue", None)
    if kept is None or kept[0] is not locale:
        kept = ctx.reliefsvc_catalogue = (locale, get_translations())
    return kept[1]


def current_locale() -> str:
    """``zh_CN`` or ``en``: the platform's own names for its two languages.

    Babel spells Simplified Chinese ``zh_Hans_CN``, which is also the catalog's folder.
    """
    locale = get_locale()
    return "zh_CN" if locale is None or locale.language == "zh" else "en"


def in_locale(error) -> str:
    """The Chinese or English text of an error that carries both (``zh``, ``en``)."""
    return error.zh if current_locale() == "zh_CN" else error.en


def select_timezone() -> str:
    return current_app.config["BABEL_DEFAULT_TIMEZONE"]


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: object
    roles: frozenset
    #: entries with the same group label sit together in one drop-down menu
    group: object | None = None


SUPERVISION = _l("Supervision")
SYSTEM = _l("System")
_BUREAU = frozenset({Role.OFFICER, Role.EVALUATOR, Role.INSPECTOR, Role.ADMIN})
_CHECKERS = frozenset({Role.OFFICER, Role.EVALUATOR, Role.INSPECTOR, Role.PROVIDER_MANAGER})
#: issue 15: every role but the security administrator and the auditor, who see no business data
_WORK = frozenset(Role) - {Role.SECURITY_ADMIN, Role.AUDITOR}

#: The navigation bar, by role. A later domain appends its own entries here.
NAV: list[NavItem] = [
    NavItem("security.home", _l("Home"), frozenset(Role)),
    NavItem("providers.index", _l("Providers"), _BUREAU),
    NavItem("providers.index", _l("My organisation"), frozenset({Role.PROVIDER_MANAGER, Role.PROVIDER_WORKER})),
    NavItem("contracts.index", _l("Contracts"), _WORK),
    NavItem("records.new", _l("Record a service"), frozenset({Role.PROVIDER_WORKER, Role.PROVIDER_MANAGER})),
    NavItem("records.index", _l("Service records"), _WORK),
    NavItem("cases.index", _l("Cases"), _WORK),
    NavItem("cases.alerts", _l("Monitoring alerts"), _WORK),
    NavItem("cases.discoveries", _l("Discovered households"), frozenset({Role.OFFICER})),
    NavItem("cases.discover", _l("Report a household in need"), frozenset({Role.PROVIDER_MANAGER, Role.PROVIDER_WORKER})),
    NavItem("spotchecks.index", _l("Spot checks"), frozenset({Role.OFFICER, Role.EVALUATOR}), SUPERVISION),
    NavItem("assessments.index", _l("Assessments"), _CHECKERS, SUPERVISION),
    NavItem("assessments.inspections", _l("Field inspections"), _CHECKERS, SUPERVISION),
    NavItem("rectifications.board", _l("Rectifications"), _CHECKERS, SUPERVISION),
    NavItem("hiring.index", _l("Disguised-hiring risk"), _BUREAU, SUPERVISION),
    NavItem("payments.index", _l("Payments"), _BUREAU | {Role.PROVIDER_MANAGER}, SUPERVISION),
    # issue 12: annual evaluations, for the bureau and the provider's manager
    NavItem("evaluations.index", _l("Annual evaluations"), _BUREAU | {Role.PROVIDER_MANAGER}, SUPERVISION),
    # issue 13: the ledgers (台账) a county office files, for the officer and the provider's manager
    NavItem("ledgers.index", _l("Ledgers"), frozenset({Role.OFFICER, Role.PROVIDER_MANAGER}), SUPERVISION),
    NavItem("regions.tree", _l("Regions"), _WORK),
    # issue 15 (三员分立): the auditor and the discipline inspector read the audit log
    NavItem("audit.log", _l("Audit log"), frozenset({Role.AUDITOR, Role.INSPECTOR})),
    NavItem("security.users", _l("Users"), frozenset({Role.ADMIN}), SYSTEM),
    NavItem("security.users", _l("Users and roles"), frozenset({Role.SECURITY_ADMIN})),
    NavItem("jobs.overview", _l("Scheduled jobs"), frozenset({Role.ADMIN}), SYSTEM),
]


def nav_for(user) -> list[tuple[object | None, list[NavItem]]]:
    """The user's menu: ``(None, [item])`` for a plain entry, ``(label, items)`` for a drop-down."""
    if user is None or not user.is_authenticated:
        return []
    from reliefsvc.security import identity

    if identity.must_change_password(user) or (identity.totp_required(user) and not user.has_totp):
        return []  # every page leads to the password change or the second factor's set-up first
    menu: list[tuple[object | None, list[NavItem]]] = []
    groups: dict[str, list[NavItem]] = {}
    for item in NAV:
        if user.role not in item.roles:
            continue
        if item.group is None:
            menu.append((None, [item]))
        elif str(item.group) in groups:
            groups[str(item.group)].append(item)
        else:
            groups[str(item.group)] = [item]
            menu.append((item.group, groups[str(item.group)]))
    return menu


_NAV_HTML: dict = {}


def nav_html(menu: list[tuple[object | None, list[NavItem]]]) -> Markup:
    """The main menu ``menu`` (from :func:`nav_for`), rendered once per process for each set of
    entries and language (``_nav.html``: twenty links, each a ``url_for`` and a translated
    label, were a sixth of a light page's work, issue 16), this page's entry and its group
    marked active."""
    key = (tuple(id(item) for _group, items in menu for item in items), str(get_locale()), request.script_root)
    kept = _NAV_HTML.get(key)
    if kept is None:
        html = current_app.jinja_env.get_template("_nav.html").render(nav_items=menu)
        groups = {item.endpoint: i for i, (group, items) in enumerate(menu, 1) if group is not None for item in items}
        kept = _NAV_HTML[key] = (html, groups)
    html, groups = kept
    endpoint = request.endpoint
    for kind in ("nav-link", "dropdown-item"):
        marker = f'data-endpoint="{endpoint}" class="{kind}"'
        html = html.replace(marker, marker[:-1] + ' active"')
    if endpoint in groups:
        marker = f'data-group="{groups[endpoint]}" class="nav-link dropdown-toggle btn btn-link"'
        html = html.replace(marker, marker[:-1] + ' active"', 1)
    return Markup(html)  # noqa: S704 — our own template, escaped by its autoescape


#: Stands for the page number in the one link a pager builds (no list has that many pages).
PAGE_MARK = "987654321"


def page_link(endpoint: str, args: dict) -> tuple[str, str]:
    """(link, mark): the link to a page of the list ``endpoint`` with ``args``, the page number
    written as ``mark`` — the pager puts each number in, rather than building ten links."""
    return url_for(endpoint, **dict(args, page=PAGE_MARK)), PAGE_MARK


def import_models() -> None:
    """Import every domain's models so that the metadata (and migrations) know them all."""
    from reliefsvc import domain_modules

    for _module in domain_modules("models"):
        pass


def blueprints():
    from reliefsvc import domain_modules

    for module in domain_modules("views"):
        yield module.bp


def init_app(app: Flask) -> None:
    from reliefsvc import cli

    cli.register(app)
    pagecache.init_app(app)

    app.jinja_env.install_gettext_callables(
        gettext=lambda s: translations().ugettext(s),
        ngettext=lambda s, p, n: translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: translations().unpgettext(c, s, p, n),
    )
    app.jinja_env.globals["page_link"] = page_link  # a global: imported macros see no context
    app.jinja_env.filters["cn_date"] = lambda d: formatting.date_text(d, current_locale())
    app.jinja_env.filters["cn_datetime"] = lambda d: formatting.datetime_text(d, current_locale())
    app.jinja_env.filters["money"] = lambda v: formatting.money_text(v, current_locale())
    app.jinja_env.filters["masked_id"] = formatting.mask_id_number
    app.jinja_env.filters["num"] = formatting.plain_number
    app.jinja_env.filters["pct"] = formatting.percent

    @app.context_processor
    def _globals():
        return {
            "nav_items": nav_for(current_user),
            "nav_html": nav_html,
            "current_locale": current_locale(),
            "languages": app.config["LANGUAGES"],
            "county_name": app.config["COUNTY_NAME"],
            "bureau_name": app.config["BUREAU_NAME"],
            "now_local": formatting.now_local,
            "unread_messages": (notifications.unread_count(current_user)
                                if current_user and current_user.is_authenticated else 0),
        }

    @app.before_request
    def _refuse_nul_characters():
        # No field of ours ever holds a NUL character, and PostgreSQL text cannot store
        # one: a request carrying one is refused as a bad request, never a server error.
        if "\x00" in request.path or _holds_nul(request.args.lists()) or (
                request.mimetype in FORM_TYPES and _holds_nul(request.form.lists())) or (
                request.is_json and _json_holds_nul(request.get_json(silent=True))):
            abort(400)

    @app.before_request
    def _begin_mode():
        mode = "DEFERRED" if request.method in READ_ONLY_METHODS else "IMMEDIATE"
        g.sqlite_begin_token = sqlite_begin_mode.set(mode)

    @app.after_request
    def _commit(response):
        # One transaction per request: committed here once, or rolled back on error;
        # the messages it announced are written only after the commit.
        if response.status_code < 400:
            notifications.commit()
        else:
            db.session.rollback()
        return response

    @app.teardown_request
    def _reset(exc):
        if exc is not None:
            db.session.rollback()
        token = g.pop("sqlite_begin_token", None)
        if token is not None:
            sqlite_begin_mode.reset(token)

    @app.after_request
    def _headers(response):
        # Scripts only from our own static files (no inline script anywhere); inline
        # style attributes are allowed (Bootstrap utilities, chart sizes).
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        # --- issue 15: HTTP hardening ---
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if request.is_secure:
            # Only over TLS (directly or as the trusted proxy says): HSTS sent over plain
            # HTTP is ignored by browsers and would lock out a site still on HTTP.
            seconds = app.config.get("HSTS_SECONDS") or 0
            if seconds:
                response.headers.setdefault("Strict-Transport-Security", f"max-age={int(seconds)}; includeSubDomains")
        return response

    for code in (400, 403, 404, 405, 413, 500):
        app.register_error_handler(code, _error_page)

    # --- issue 15: behind nginx, and no ID number or position in any log ---
    app.response_class = TlsCookieResponse
    hops = int(app.config.get("PROXY_FIX") or 0)
    if hops > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # Trust X-Forwarded-For/-Proto/-Host/-Port from exactly this many proxies in front
        # of us; more would let a client forge its address or claim TLS.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)
    from reliefsvc.common import sensitive

    sensitive.install()


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _holds_nul(lists) -> bool:
    # A malformed multipart part may come without a name (None): nothing to refuse there.
    return any("\x00" in (key or "") or any("\x00" in (value or "") for value in values) for key, values in lists)


def _json_holds_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_json_holds_nul(k) or _json_holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_json_holds_nul(v) for v in value)
    return False


CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                           "img-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; "
                           "frame-ancestors 'none'")

#: Browser features no page of ours uses; camera stays "self" for photo uploads from phones.
PERMISSIONS_POLICY = ("accelerometer=(), autoplay=(), camera=(self), display-capture=(), geolocation=(self), "
                      "gyroscope=(), magnetometer=(), microphone=(), midi=(), payment=(), usb=(), "
                      "interest-cohort=()")


class TlsCookieResponse(Response):
    """Over TLS every cookie we set — session, remember-me, language — carries ``Secure``.

    Production sets ``SESSION_COOKIE_SECURE`` and ``REMEMBER_COOKIE_SECURE`` anyway; this
    covers an installation served over TLS whose ENV_NAME says otherwise. The session and
    remember cookies are set after every ``after_request`` hook, so the flag is given here.
    """

    def set_cookie(self, key, *args, **kwargs):
        if has_request_context() and request.is_secure:
            kwargs["secure"] = True
        return super().set_cookie(key, *args, **kwargs)


ERROR_TITLES = {
    400: _l("The request could not be understood"),
    403: _l("You are not allowed to do this"),
    404: _l("Page not found"),
    405: _l("This action is not allowed here"),
    413: _l("The file is too large"),
    500: _l("Something went wrong on our side"),
}


def _error_page(error):
    code = getattr(error, "code", 500) or 500
    db.session.rollback()
    return render_template("errors.html", code=code, title=ERROR_TITLES.get(code, ERROR_TITLES[500])), code
