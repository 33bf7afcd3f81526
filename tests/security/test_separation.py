"""Separation of duties (三员分立, issue 15): system administrator, security administrator and
auditor are three roles; no account holds two of them, now or after a role change; nobody can
edit or delete an audit entry."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from reliefsvc.security.models import DUTY_ROLES, NON_BUSINESS_ROLES, OrgKind, Role
from tests.security.test_identity import events


def test_the_three_duties_are_three_roles():
    assert DUTY_ROLES == (Role.ADMIN, Role.SECURITY_ADMIN, Role.AUDITOR)


@pytest.fixture
def secadmin(create_user, login):
    user = create_user(Role.SECURITY_ADMIN)
    login(user)
    return user


def post_role(client, user, role):
    return client.post(f"/users/{user.id}/role", data={"role": role.value})


def test_the_security_administrator_changes_business_roles(client, secadmin, create_user, db):
    officer = create_user(Role.OFFICER)
    assert post_role(client, officer, Role.INSPECTOR).status_code == 302
    db.session.refresh(officer)
    assert officer.role is Role.INSPECTOR
    entry = events(db, "user.role_changed")[-1]
    assert '"old_role":"officer"' in entry.payload and '"new_role":"inspector"' in entry.payload
    assert entry.actor_id == secadmin.id


@pytest.mark.parametrize("duty", DUTY_ROLES)
def test_no_role_change_turns_an_account_into_one_of_the_duties(client, secadmin, create_user, db, duty):
    officer = create_user(Role.OFFICER)
    post_role(client, officer, duty)
    db.session.refresh(officer)
    assert officer.role is Role.OFFICER
    assert '"why":"duty_role"' in events(db, "user.role_change_refused")[-1].payload


@pytest.mark.parametrize("duty", DUTY_ROLES)
def test_no_role_change_moves_a_duty_account_elsewhere(client, secadmin, create_user, db, duty):
    holder = create_user(duty)
    for target in (Role.OFFICER, *[d for d in DUTY_ROLES if d is not duty]):
        post_role(client, holder, target)
        db.session.refresh(holder)
        assert holder.role is duty


def test_the_security_administrator_cannot_change_its_own_role(client, secadmin, db):
    post_role(client, secadmin, Role.AUDITOR)
    post_role(client, secadmin, Role.OFFICER)
    db.session.refresh(secadmin)
    assert secadmin.role is Role.SECURITY_ADMIN
    assert '"why":"own_account"' in events(db, "user.role_change_refused")[-1].payload


def test_a_role_must_fit_the_organisation(client, secadmin, create_user, db):
    officer = create_user(Role.OFFICER)
    post_role(client, officer, Role.PROVIDER_WORKER)
    db.session.refresh(officer)
    assert officer.role is Role.OFFICER


def test_a_role_change_ends_the_accounts_sessions(app, client, secadmin, create_user, login, db):
    from reliefsvc.security import identity

    officer = create_user(Role.OFFICER)
    other = app.test_client()
    from reliefsvc.security.views import session_markers

    with other.session_transaction() as sess:
        sess.update({"_user_id": str(officer.id), "_fresh": True, **session_markers(officer)})
    assert other.get("/cases/").status_code == 200
    identity.change_role(secadmin, officer, Role.EVALUATOR)
    assert other.get("/cases/").status_code == 302


@pytest.mark.parametrize("actor", [Role.ADMIN, Role.AUDITOR, Role.OFFICER])
def test_only_the_security_administrator_changes_roles(client, create_user, login, db, actor):
    from reliefsvc.security import identity
    from reliefsvc.security.service import AccountError

    someone = create_user(actor)
    officer = create_user(Role.OFFICER)
    login(someone)
    assert post_role(client, officer, Role.INSPECTOR).status_code == 403
    with pytest.raises(AccountError):
        identity.change_role(someone, officer, Role.INSPECTOR)
    db.session.refresh(officer)
    assert officer.role is Role.OFFICER


def test_the_administrator_cannot_make_duty_accounts_on_the_web(client, create_user, login, db):
    from reliefsvc.security.models import User

    admin = create_user(Role.ADMIN)
    login(admin)
    page = client.get("/users/new").get_data(as_text=True)
    assert 'value="auditor"' not in page and 'value="security_admin"' not in page and 'value="admin"' not in page
    for role in ("auditor", "security_admin", "admin"):
        client.post("/users/new", data={"username": f"x-{role}", "display_name": "某", "role": role,
                                        "password": "Initial-pass-2026", "organisation_id": admin.organisation_id})
        assert db.session.scalar(sa.select(User).where(User.username == f"x-{role}")) is None


@pytest.mark.parametrize("duty", [Role.SECURITY_ADMIN, Role.AUDITOR])
def test_the_administrator_cannot_disable_the_other_duties(client, create_user, login, db, duty):
    admin = create_user(Role.ADMIN)
    holder = create_user(duty)
    login(admin)
    client.post(f"/users/{holder.id}/enabled")
    db.session.refresh(holder)
    assert holder.is_enabled


def test_the_security_administrator_does_not_make_or_disable_accounts(client, secadmin, create_user):
    officer = create_user(Role.OFFICER)
    assert client.get("/users/new").status_code == 403
    assert client.post(f"/users/{officer.id}/enabled").status_code == 403
    page = client.get("/users").get_data(as_text=True)
    assert "新建账号" not in page and "变更角色" in page


def test_the_administrator_sees_no_role_unlock_or_reset_buttons(client, create_user, login):
    login(create_user(Role.ADMIN))
    create_user(Role.OFFICER)
    page = client.get("/users").get_data(as_text=True)
    assert "变更角色" not in page and "重置双因素认证" not in page


# --- the audit log --------------------------------------------------------------------------

def test_the_auditor_reads_and_verifies_the_audit_log(client, create_user, login):
    login(create_user(Role.AUDITOR))
    assert client.get("/audit/").status_code == 200
    assert client.post("/audit/verify").status_code == 200


def test_the_administrator_and_the_security_administrator_do_not_read_it(client, create_user, login):
    for role in (Role.ADMIN, Role.SECURITY_ADMIN):
        login(create_user(role))
        assert client.get("/audit/").status_code == 403
        assert client.post("/audit/verify").status_code == 403


def test_no_endpoint_edits_or_deletes_audit_entries(app):
    """The audit blueprint has a list (GET) and a check (POST that only reads); no other
    endpoint of any room is routed under /audit, and none takes PUT, PATCH or DELETE there."""
    audit_rules = [r for r in app.url_map.iter_rules() if r.rule.startswith("/audit")
                   or r.endpoint.startswith("audit.")]
    found = {(r.endpoint, frozenset(r.methods - {"HEAD", "OPTIONS"})) for r in audit_rules
             if not r.endpoint.endswith("static")}
    assert found == {("audit.log", frozenset({"GET"})), ("audit.verify", frozenset({"POST"}))}
    for rule in app.url_map.iter_rules():
        assert not ({"PATCH", "DELETE"} & rule.methods and "audit" in rule.rule), rule


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_changing_methods_on_the_audit_log_are_refused(client, create_user, login, method, db):
    from reliefsvc.audit.models import AuditEntry

    login(create_user(Role.AUDITOR))
    first = db.session.scalar(sa.select(AuditEntry.seq).order_by(AuditEntry.seq))
    for url in ("/audit/", f"/audit/{first}", "/audit/verify"):
        assert client.open(url, method=method).status_code in (404, 405)


def test_verifying_the_log_changes_nothing(client, create_user, login, db):
    from reliefsvc.audit.models import AuditEntry

    login(create_user(Role.AUDITOR))
    before = db.session.execute(sa.select(AuditEntry.seq, AuditEntry.mac).order_by(AuditEntry.seq)).all()
    client.post("/audit/verify")
    after = db.session.execute(sa.select(AuditEntry.seq, AuditEntry.mac).order_by(AuditEntry.seq)).all()
    assert after == before


# --- no business data for the security administrator and the auditor --------------------------

@pytest.mark.parametrize("role", sorted(NON_BUSINESS_ROLES))
def test_the_non_business_duties_see_no_business_page(client, create_user, login, role):
    login(create_user(role))
    for url in ("/cases/", "/records/", "/contracts/", "/providers/", "/regions/", "/api/tokens"):
        assert client.get(url).status_code == 403, url
    for url in ("/", "/notifications/", "/account", "/account/password"):
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize("role", sorted(NON_BUSINESS_ROLES))
def test_the_api_refuses_the_non_business_duties(client, create_user, role, db):
    """Even with a token (made here directly: the token page is not theirs), every business call is 403."""
    from reliefsvc.api import service as api

    _token, secret = api.create_token(create_user(role), "测试令牌", 30)
    for url in ("/api/v1/regions", "/api/v1/cases", "/api/v1/records"):
        response = client.get(url, headers={"Authorization": f"Bearer {secret}"})
        assert response.status_code == 403, url
        assert response.mimetype == "application/problem+json"


def test_duty_accounts_belong_to_the_bureau(create_user, create_org):
    from reliefsvc.security.service import AccountError

    provider = create_org("测试承接主体甲", OrgKind.PROVIDER)
    for role in (Role.SECURITY_ADMIN, Role.AUDITOR):
        with pytest.raises(AccountError):
            create_user(role, org=provider)


def test_the_demo_county_has_one_account_per_duty():
    from reliefsvc.demo.accounts import LOGINS

    holders = {role: [u for u, r, *_ in LOGINS if r is role] for role in DUTY_ROLES}
    assert holders == {Role.ADMIN: ["admin"], Role.SECURITY_ADMIN: ["secadmin"], Role.AUDITOR: ["auditor"]}
