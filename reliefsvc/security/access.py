"""Access control that cannot be forgotten.

Every endpoint carries either ``@restrict_access(...)``, ``@public`` or, for the JSON API,
``@api_access(...)`` (``reliefsvc.api.guard``: token instead of session, same role and
object checks); ``create_app`` refuses to start otherwise. ``restrict_access`` checks the role, then loads every object
named in the URL *inside its parent* and asks the object whether the user may see it, so
that a provider can never reach another provider's data by guessing an ID.

URL parameters are bound to models with ``url_object``::

    url_object("contract_id", Contract, as_="contract")
    url_object("record_id", ServiceRecord, as_="record", parent=("contract_id", "contract_id"))

The view then receives ``contract`` and ``record`` instead of the raw IDs.

Separation of duties (issue 15): the security administrator and the auditor are not business
users. An endpoint open to "every logged-in user" (``restrict_access()`` or ``api_access()``
without roles) is open to them only if it is one of ``EVERY_ACCOUNT_ENDPOINTS`` (home page,
messages, one's own account); everything else answers 403. Endpoints that name them
explicitly (users, audit log) are theirs as written. The check sits in ``load_url_objects``,
which both guards call for every request.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from flask import abort, current_app, has_request_context, request
from flask_login import current_user

from reliefsvc.extensions import db, login_manager
from reliefsvc.security.models import NON_BUSINESS_ROLES, Role


@dataclass(frozen=True)
class UrlObject:
    param: str
    model: type
    kwarg: str
    #: (URL parameter of the parent, foreign-key attribute on this model)
    parent: tuple[str, str] | None = None


URL_OBJECTS: dict[str, UrlObject] = {}

#: The kinds of ``access_rule`` a guard may set: session pages, public pages, the token API.
GUARD_KINDS = frozenset({"restricted", "public", "api"})

#: Endpoints that serve static files; they carry no decorator of ours.
STATIC_ENDPOINT_SUFFIXES = ("static",)


def url_object(param: str, model: type, as_: str, parent: tuple[str, str] | None = None) -> None:
    existing = URL_OBJECTS.get(param)
    if existing and existing.model is not model:
        raise RuntimeError(f"URL parameter {param!r} is already bound to {existing.model}")
    URL_OBJECTS[param] = UrlObject(param, model, as_, parent)


#: Pages open to every account, the security administrator and the auditor included.
EVERY_ACCOUNT_ENDPOINTS = frozenset({
    "security.home", "security.logout", "security.account", "security.change_password",
    "security.totp_setup", "security.recovery_codes",
    "notifications.inbox", "notifications.read", "notifications.read_all",
})


def check_duties(user) -> None:
    """403 for a security administrator or auditor on a page open to "everyone" that is not theirs."""
    if not has_request_context() or user.role not in NON_BUSINESS_ROLES:
        return
    view = current_app.view_functions.get(request.endpoint)
    rule = getattr(view, "access_rule", None)
    if rule is not None and not rule[1] and request.endpoint not in EVERY_ACCOUNT_ENDPOINTS:
        abort(403)


def load_url_objects(view_args: dict, user) -> dict:
    check_duties(user)
    kwargs = {}
    for name, value in view_args.items():
        spec = URL_OBJECTS.get(name)
        if spec is None:
            kwargs[name] = value
            continue
        obj = db.session.get(spec.model, value)
        if obj is None:
            abort(404)
        if spec.parent is not None:
            parent_param, fk_attr = spec.parent
            if getattr(obj, fk_attr) != view_args.get(parent_param):
                abort(404)
        visible = getattr(obj, "visible_to", None)
        # Answer 404, not 403: another organisation's objects do not exist for you.
        if visible is not None and not visible(user):
            abort(404)
        kwargs[spec.kwarg] = obj
    return kwargs


def restrict_access(*roles: Role):
    """Allow the given roles (all logged-in users when none are given)."""
    allowed = frozenset(roles)

    def decorator(view):
        @functools.wraps(view)
        def wrapper(**view_args):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if allowed and current_user.role not in allowed:
                abort(403)
            return view(**load_url_objects(view_args, current_user))

        wrapper.access_rule = ("restricted", allowed)
        return wrapper

    return decorator


def public(view):
    """Mark a page that anyone may open, logged in or not (the login page)."""
    view.access_rule = ("public", frozenset())
    return view


def unguarded_endpoints(app) -> list[str]:
    missing = []
    for endpoint, view in app.view_functions.items():
        if endpoint.rsplit(".", 1)[-1] in STATIC_ENDPOINT_SUFFIXES:
            continue
        rule = getattr(view, "access_rule", None)
        if rule is None or rule[0] not in GUARD_KINDS:
            missing.append(endpoint)
    return sorted(missing)


def check_every_endpoint_guarded(app) -> None:
    missing = unguarded_endpoints(app)
    if missing:
        raise RuntimeError(
            "These endpoints have no access decorator (@restrict_access, @public or @api_access): "
            + ", ".join(missing)
        )
