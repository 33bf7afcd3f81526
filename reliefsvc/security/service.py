"""Accounts and organisations. Functions flush, never commit."""

from __future__ import annotations

import sqlalchemy as sa

from reliefsvc import audit
from reliefsvc.common.errors import BilingualError
from reliefsvc.db import utcnow
from reliefsvc.extensions import db
from reliefsvc.security import events
from reliefsvc.security.models import Organisation, OrgKind, Role, User
from reliefsvc.security.passwords import hash_password


class AccountError(BilingualError):
    """A request about accounts that cannot be carried out; ``zh``/``en`` say why."""


#: The organisation kind a role belongs to; admin and inspector sit in the bureau.
ROLE_ORG_KIND = {
    Role.ADMIN: OrgKind.BUREAU,
    Role.OFFICER: OrgKind.BUREAU,
    Role.INSPECTOR: OrgKind.BUREAU,
    Role.SECURITY_ADMIN: OrgKind.BUREAU,
    Role.AUDITOR: OrgKind.BUREAU,
    Role.EVALUATOR: None,  # the bureau's own staff or a third-party evaluation body
    Role.PROVIDER_MANAGER: OrgKind.PROVIDER,
    Role.PROVIDER_WORKER: OrgKind.PROVIDER,
}


def get_or_create_organisation(name: str, kind: OrgKind) -> Organisation:
    org = db.session.scalar(sa.select(Organisation).where(Organisation.name == name))
    if org is not None:
        return org
    org = Organisation(name=name, kind=kind)
    db.session.add(org)
    db.session.flush()
    audit.record(events.OrganisationCreated(organisation_id=org.id, name=name, kind=kind.value))
    return org


def create_user(username: str, password: str, role: Role | str, *, display_name: str | None = None,
                organisation: Organisation | None = None, org_name: str | None = None,
                bureau_name: str = "康乐县民政局", must_change_password: bool = False) -> User:
    """Make an account; the password must pass the policy (docs/identity.md).

    ``must_change_password``: an initial password someone else chose; the first login goes to
    the change page before anything else.
    """
    from reliefsvc.security import identity

    try:
        role = Role(role)
    except ValueError:
        raise AccountError(f"角色“{role}”不存在", f"unknown role {role!r}") from None
    username = username.strip()
    if not (2 <= len(username) <= 64):
        raise AccountError("用户名长度应为 2 到 64 个字符", "a username has 2 to 64 characters")
    identity.check_password(password, username)
    if db.session.scalar(sa.select(User.id).where(User.username == username)) is not None:
        raise AccountError(f"用户名“{username}”已被使用", f"username {username!r} is taken")
    kind = ROLE_ORG_KIND[role]
    if organisation is None:
        if org_name:
            existing = db.session.scalar(sa.select(Organisation).where(Organisation.name == org_name))
            organisation = existing or get_or_create_organisation(org_name, kind or OrgKind.EVALUATION_BODY)
        elif kind is OrgKind.PROVIDER:
            raise AccountError("承接主体人员必须指定所属机构（--org）",
                               "provider accounts need an organisation (--org)")
        else:
            organisation = get_or_create_organisation(bureau_name, OrgKind.BUREAU)
    if kind is not None and organisation.kind is not kind:
        raise AccountError(f"角色“{role.label}”不能属于“{organisation.kind.label}”类机构",
                           f"role {role.value} cannot belong to a {organisation.kind.value}")
    if role is Role.EVALUATOR and organisation.kind is OrgKind.PROVIDER:
        raise AccountError("考核评估人员不能属于承接主体", "an evaluator cannot belong to a provider")
    user = User(username=username, display_name=display_name or username,
                password_hash=hash_password(password), role=role, organisation=organisation,
                password_changed_at=utcnow(), must_change_password=must_change_password)
    db.session.add(user)
    db.session.flush()
    audit.record(events.UserCreated(user_id=user.id, username=username, role=role.value,
                                    organisation=organisation.name if organisation else None))
    return user


def set_enabled(user: User, enabled: bool) -> None:
    user.is_enabled = enabled
    db.session.flush()
    audit.record(events.UserEnabledChanged(user_id=user.id, username=user.username, enabled=enabled))


def set_locale(user: User, locale: str) -> None:
    user.locale = locale
    db.session.flush()


def list_users() -> list[User]:
    return db.session.scalars(
        sa.select(User).options(sa.orm.joinedload(User.organisation)).order_by(User.role, User.username)
    ).all()


def list_organisations() -> list[Organisation]:
    return db.session.scalars(sa.select(Organisation).order_by(Organisation.kind, Organisation.name)).all()
