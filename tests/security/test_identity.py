"""Identity rules of issue 15, each at and around its threshold: password policy and age,
lockout, the per-address limit, sessions. Time is moved with time_machine, never slept."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from reliefsvc.security import rules
from reliefsvc.security.models import Role, User
from tests.conftest import TEST_PASSWORD

T0 = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)
NEW_PASSWORD = "Another-pass-2027"


def events(db, event_type: str):
    from reliefsvc.audit.models import AuditEntry

    return db.session.scalars(sa.select(AuditEntry).where(AuditEntry.event_type == event_type)
                              .order_by(AuditEntry.seq)).all()


def form_login(client, username, password=TEST_PASSWORD, address="10.0.0.1", **kw):
    return client.post("/login", data={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": address}, **kw)


def logged_in(client) -> bool:
    response = client.get("/")
    return response.status_code == 200


# --- password policy -----------------------------------------------------------------------

@pytest.mark.parametrize("password,ok", [
    ("Abcdefgh-1x", False),    # 11 characters
    ("Abcdefgh-1xy", True),    # 12 characters, four classes
    ("abcdefgh1xyz", False),   # 12 characters, two classes
    ("abcdefgh-1xyz", True),   # three classes: lower, symbol, digit
    ("ABCDEFGH-XYZW", False),  # two classes: upper, symbol
    ("ABCDEFGH-XYZw", True),   # three
])
def test_length_and_classes_at_their_thresholds(password, ok):
    problems = rules.password_problems(password)
    assert (problems == []) is ok, problems


@pytest.mark.parametrize("password", ["Password123!", "Qwerty123456!", "!!Iloveyou2026", "P@ssw0rd12345"])
def test_common_passwords_and_their_decorated_forms_are_refused(password):
    assert "common" in {p.code for p in rules.password_problems(password)}


def test_the_common_list_is_vendored_and_large():
    common = rules.common_passwords()
    assert len(common) > 19000
    assert {"123456", "password", "qwerty"} <= common


def test_a_password_containing_the_username_is_refused():
    assert "username" in {p.code for p in rules.password_problems("Zhangsan-2026x", username="zhangsan")}
    assert rules.password_problems("Zhangsan-2026x", username="lisi") == []


def test_demo_and_test_passwords_satisfy_the_policy():
    from reliefsvc.demo import DEMO_PASSWORD
    from reliefsvc.demo.accounts import LOGINS

    for username, *_ in LOGINS:
        assert rules.password_problems(DEMO_PASSWORD, username=username) == []
    assert rules.password_problems(TEST_PASSWORD, username="officer1") == []


def test_accounts_are_made_only_with_good_passwords(create_user):
    from reliefsvc.security.service import AccountError

    with pytest.raises(AccountError, match="12"):
        create_user(Role.OFFICER, password="Short-1a")
    with pytest.raises(AccountError) as caught:
        create_user(Role.OFFICER, password="Password2026!")
    assert "常见" in caught.value.zh


def test_the_cli_refuses_a_weak_password(run_cli):
    result = run_cli("users", "create", "--username", "newby", "--password", "password", "--role", "officer")
    assert result.exit_code == 1
    assert "12" in result.output


def test_production_refuses_the_public_demo_password_as_a_new_password(app, monkeypatch, create_user):
    from reliefsvc.demo import DEMO_PASSWORD
    from reliefsvc.security.service import AccountError

    monkeypatch.setitem(app.config, "ENV_NAME", "production")
    with pytest.raises(AccountError):
        create_user(Role.OFFICER, password=DEMO_PASSWORD)


# --- changing the password -----------------------------------------------------------------

def test_the_change_page_needs_the_current_password_and_a_good_new_one(client, create_user, db):
    user = create_user(Role.EVALUATOR, username="li")
    form_login(client, "li")
    page = client.post("/account/password", data={"current": "Wrong-pass-2026", "new": NEW_PASSWORD,
                                                  "repeat": NEW_PASSWORD})
    assert "当前密码错误" in page.get_data(as_text=True)
    page = client.post("/account/password", data={"current": TEST_PASSWORD, "new": "short", "repeat": "short"})
    assert "至少 12 个字符" in page.get_data(as_text=True)
    assert events(db, "user.password_refused")[-1].payload
    page = client.post("/account/password", data={"current": TEST_PASSWORD, "new": NEW_PASSWORD,
                                                  "repeat": NEW_PASSWORD + "x"})
    assert "两次输入的新密码不一致" in page.get_data(as_text=True)
    response = client.post("/account/password", data={"current": TEST_PASSWORD, "new": NEW_PASSWORD,
                                                      "repeat": NEW_PASSWORD})
    assert response.status_code == 302
    db.session.refresh(user)
    from reliefsvc.security.passwords import verify_password

    assert verify_password(user.password_hash, NEW_PASSWORD)
    assert [e.payload for e in events(db, "user.password_changed")]
    assert logged_in(client)  # this session goes on


def test_a_password_change_ends_the_users_other_sessions(app, client, create_user, db):
    create_user(Role.OFFICER, username="wang")
    other = app.test_client()
    form_login(client, "wang")
    form_login(other, "wang")
    assert logged_in(client) and logged_in(other)
    client.post("/account/password", data={"current": TEST_PASSWORD, "new": NEW_PASSWORD, "repeat": NEW_PASSWORD})
    assert logged_in(client)
    response = other.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert events(db, "user.session_ended")[-1].payload.count("superseded") == 1
    # and the old password no longer opens a new one
    assert form_login(other, "wang").status_code == 200
    assert form_login(other, "wang", NEW_PASSWORD).status_code == 302


@pytest.mark.parametrize("age_days,forced", [(179, False), (180, False), (181, True)])
def test_an_expired_password_forces_the_change_page_first(client, create_user, db, age_days, forced):
    with time_machine.travel(T0 - timedelta(days=age_days), tick=False):
        create_user(Role.INSPECTOR, username="zhao")
        db.session.commit()
    with time_machine.travel(T0, tick=False):
        form_login(client, "zhao")
        response = client.get("/cases/")
        if forced:
            assert response.status_code == 302 and response.headers["Location"].endswith("/account/password")
            page = client.get("/account/password").get_data(as_text=True)
            assert "密码已过期" in page
            assert 'data-endpoint="cases.index"' not in page  # no menu leading nowhere but here
            client.post("/account/password", data={"current": TEST_PASSWORD, "new": NEW_PASSWORD,
                                                   "repeat": NEW_PASSWORD})
            assert client.get("/cases/").status_code == 200
            assert 'data-endpoint="cases.index"' in client.get("/account/password").get_data(as_text=True)
            assert "expired" in events(db, "user.password_changed")[-1].payload
        else:
            assert response.status_code == 200


def test_an_initial_password_from_the_administrator_must_be_replaced(client, create_user, login, db):
    admin = create_user(Role.ADMIN)
    login(admin)
    org = admin.organisation_id
    client.post("/users/new", data={"username": "newofficer", "display_name": "新人", "password": "Initial-pass-2026",
                                    "role": "officer", "organisation_id": org})
    client.post("/logout")
    form_login(client, "newofficer", "Initial-pass-2026")
    assert client.get("/").headers["Location"].endswith("/account/password")


# --- lockout -------------------------------------------------------------------------------

@pytest.mark.parametrize("failures,locked", [(4, False), (5, True), (6, True)])
def test_five_failed_logins_lock_the_account(client, create_user, db, failures, locked):
    create_user(Role.PROVIDER_WORKER, username="ma")
    with time_machine.travel(T0, tick=False):
        for _ in range(failures):
            form_login(client, "ma", "Wrong-pass-2026")
        page = form_login(client, "ma")
    assert (page.status_code == 200) is locked
    if locked:
        assert "已被锁定 15 分钟" in page.get_data(as_text=True)
        assert len(events(db, "user.locked")) == 1  # the sixth failure does not lock anew
        assert events(db, "user.login_failed")[-1].payload.count("locked") == 1


@pytest.mark.parametrize("minutes,opens", [(14, False), (15, True), (16, True)])
def test_the_lock_lasts_fifteen_minutes(client, create_user, minutes, opens):
    create_user(Role.PROVIDER_WORKER, username="ma")
    with time_machine.travel(T0, tick=False) as traveller:
        for _ in range(5):
            form_login(client, "ma", "Wrong-pass-2026")
        traveller.shift(timedelta(minutes=minutes))
        assert (form_login(client, "ma").status_code == 302) is opens


def test_the_lock_is_kept_in_the_database(create_user, client, db):
    """Several server processes agree: the count and the lock are columns, not process memory."""
    user = create_user(Role.OFFICER, username="wang")
    for _ in range(3):
        form_login(client, "wang", "Wrong-pass-2026")
    db.session.refresh(user)
    assert user.failed_logins == 3
    for _ in range(2):
        form_login(client, "wang", "Wrong-pass-2026")
    db.session.refresh(user)
    assert user.locked_until is not None


def test_a_success_resets_the_count(client, create_user, db):
    user = create_user(Role.OFFICER, username="wang")
    for _ in range(4):
        form_login(client, "wang", "Wrong-pass-2026")
    form_login(client, "wang")
    client.post("/logout")
    db.session.refresh(user)
    assert user.failed_logins == 0
    for _ in range(4):
        form_login(client, "wang", "Wrong-pass-2026")
    assert form_login(client, "wang").status_code == 302


def test_the_security_administrator_unlocks(client, create_user, login, db):
    user = create_user(Role.OFFICER, username="wang")
    for _ in range(5):
        form_login(client, "wang", "Wrong-pass-2026")
    login(create_user(Role.SECURITY_ADMIN))
    page = client.get("/users").get_data(as_text=True)
    assert "解锁" in page
    assert client.post(f"/users/{user.id}/unlock").status_code == 302
    assert events(db, "user.unlocked")
    client.post("/logout")
    assert form_login(client, "wang").status_code == 302


def test_the_security_administrator_gives_a_temporary_password(app, client, create_user, login, db):
    """A forgotten password: the security administrator's page shows a temporary one once; the
    old one stops working, the account's sessions end, and the next login must choose its own."""
    user = create_user(Role.OFFICER, username="wang")
    for _ in range(5):
        form_login(client, "wang", "Wrong-pass-2026")  # locked, too: the reset lifts it
    from reliefsvc.security import identity
    from reliefsvc.security.views import session_markers

    phone = app.test_client()  # the account's own session elsewhere, open before the reset
    with phone.session_transaction() as sess:
        sess.update({"_user_id": str(user.id), "_fresh": True, **session_markers(user)})
    secadmin = create_user(Role.SECURITY_ADMIN)
    login(secadmin)
    assert "重置密码" in client.get("/users").get_data(as_text=True)
    response = client.post(f"/users/{user.id}/password/reset")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    temporary = page.split('data-testid="temporary-password">')[1].split("<")[0]
    assert len(temporary) == 19 and identity.password_problems(temporary, "wang") == []
    assert "只显示这一次" in page
    assert temporary not in events(db, "user.password_changed")[-1].payload
    assert json.loads(events(db, "user.password_changed")[-1].payload)["how"] == "reset"
    assert events(db, "user.password_changed")[-1].actor_id == secadmin.id
    assert "/login" in phone.get("/").headers["Location"]  # its sessions have ended
    client.post("/logout")
    assert form_login(client, "wang").status_code == 200  # the old password no longer works
    answer = form_login(client, "wang", temporary)
    assert answer.status_code == 302  # logged in …
    assert "/account/password" in client.get("/").headers["Location"]  # nothing else until changed


def test_a_temporary_password_is_not_for_oneself_or_the_duties(client, create_user, login, db):
    secadmin = create_user(Role.SECURITY_ADMIN)
    login(secadmin)
    before = secadmin.password_hash
    for target in (secadmin, create_user(Role.ADMIN), create_user(Role.AUDITOR)):
        answer = client.post(f"/users/{target.id}/password/reset", follow_redirects=True)
        assert "控制台" in answer.get_data(as_text=True) or "自己的密码" in answer.get_data(as_text=True)
    db.session.refresh(secadmin)
    assert secadmin.password_hash == before
    assert not events(db, "user.password_changed")


@pytest.mark.parametrize("role", [Role.ADMIN, Role.OFFICER, Role.AUDITOR])
def test_only_the_security_administrator_resets_passwords(client, create_user, login, db, role):
    target = create_user(Role.PROVIDER_WORKER)
    login(create_user(role))
    assert client.post(f"/users/{target.id}/password/reset").status_code == 403


def test_the_cli_unlocks(client, create_user, run_cli, db):
    user = create_user(Role.OFFICER, username="wang")
    for _ in range(5):
        form_login(client, "wang", "Wrong-pass-2026")
    assert run_cli("users", "unlock", "wang").exit_code == 0
    db.session.refresh(user)
    assert user.locked_until is None


# --- the per-address rate limit ----------------------------------------------------------------

@pytest.mark.parametrize("failures,limited", [(19, False), (20, True)])
def test_failed_logins_from_one_address_are_limited(client, create_user, db, failures, limited):
    create_user(Role.OFFICER, username="wang")
    with time_machine.travel(T0, tick=False) as traveller:
        for n in range(failures):  # a different name each time: no account lock helps here
            form_login(client, f"guess{n}", "Wrong-pass-2026", address="10.9.9.9")
        page = form_login(client, "wang", address="10.9.9.9")
        assert (page.status_code == 200) is limited
        if limited:
            assert "失败次数过多" in page.get_data(as_text=True)
            assert form_login(client, "wang", address="10.9.9.8").status_code == 302  # another address
            client.post("/logout")
            traveller.shift(timedelta(minutes=16))  # the window has passed
            assert form_login(client, "wang", address="10.9.9.9").status_code == 302


# --- sessions ------------------------------------------------------------------------------

@pytest.mark.parametrize("idle,ends", [(29, False), (31, True)])
def test_idle_sessions_end_after_thirty_minutes(client, create_user, db, idle, ends):
    create_user(Role.OFFICER, username="wang")
    with time_machine.travel(T0, tick=False) as traveller:
        form_login(client, "wang")
        traveller.shift(timedelta(minutes=29))
        assert logged_in(client)  # activity at 29 minutes restarts the idle clock
        traveller.shift(timedelta(minutes=idle))
        assert logged_in(client) is not ends
    if ends:
        assert "idle" in events(db, "user.session_ended")[-1].payload


@pytest.mark.parametrize("hours_minutes,ends", [((11, 50), False), ((12, 10), True)])
def test_every_session_ends_after_twelve_hours(client, create_user, db, hours_minutes, ends):
    create_user(Role.OFFICER, username="wang")
    end = timedelta(hours=hours_minutes[0], minutes=hours_minutes[1])
    with time_machine.travel(T0, tick=False) as traveller:
        form_login(client, "wang")
        elapsed = timedelta()
        while elapsed + timedelta(minutes=25) < timedelta(hours=11, minutes=50):  # busy all day: never idle
            traveller.shift(timedelta(minutes=25))
            elapsed += timedelta(minutes=25)
            assert logged_in(client)
        traveller.shift(end - elapsed)
        assert logged_in(client) is not ends
    if ends:
        assert "absolute" in events(db, "user.session_ended")[-1].payload


def test_logout_clears_the_session(client, create_user):
    create_user(Role.OFFICER, username="wang")
    client.post("/locale", data={"locale": "en"})
    form_login(client, "wang")
    client.post("/logout")
    with client.session_transaction() as sess:
        assert set(sess) <= {"locale", "_flashes"}
    assert not logged_in(client)


def test_a_session_without_the_identity_markers_is_refused(client, create_user):
    """A cookie made before issue 15 (or by hand) carries no epoch or clock: it is not honoured."""
    user = create_user(Role.OFFICER)
    with client.session_transaction() as sess:
        sess["_user_id"] = str(user.id)
        sess["_fresh"] = True
    assert not logged_in(client)


def test_a_disabled_account_loses_its_session(client, create_user, login, db):
    from reliefsvc.security import service

    user = create_user(Role.OFFICER)
    login(user)
    assert logged_in(client)
    service.set_enabled(user, False)
    assert not logged_in(client)


# --- no default accounts in production ---------------------------------------------------------

def test_the_demo_loader_refuses_in_production(app, run_cli, monkeypatch):
    monkeypatch.setitem(app.config, "ENV_NAME", "production")
    result = run_cli("demo", "load", "--small", "--force")
    assert result.exit_code == 1
    assert "production" in result.output
    assert run_cli("users", "list").output.count("\n") == 0


def test_the_demo_step_itself_refuses_in_production(app, monkeypatch):
    import random

    from reliefsvc.demo import DemoContext, accounts

    monkeypatch.setitem(app.config, "ENV_NAME", "production")
    with pytest.raises(accounts.DemoRefused):
        accounts.step(DemoContext(rng=random.Random(1)))


def test_production_refuses_a_login_with_the_demo_password(app, client, create_user, monkeypatch, db):
    from reliefsvc.demo import DEMO_PASSWORD

    create_user(Role.OFFICER, username="officer", password=DEMO_PASSWORD)
    monkeypatch.setitem(app.config, "ENV_NAME", "production")
    page = form_login(client, "officer", DEMO_PASSWORD)
    assert page.status_code == 200 and "演示密码" in page.get_data(as_text=True)
    assert "demo_password" in events(db, "user.login_failed")[-1].payload


@pytest.mark.no_db_rollback
def test_a_production_server_refuses_to_start_with_a_demo_password(tmp_path, monkeypatch):
    from flask_migrate import upgrade

    from reliefsvc import create_app
    from reliefsvc.demo import DEMO_PASSWORD
    from reliefsvc.extensions import db as _db
    from reliefsvc.security import service

    monkeypatch.delenv("FLASK_RUN_FROM_CLI", raising=False)
    settings = {"INSTANCE_PATH": tmp_path, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.sqlite'}",
                "SECRET_KEY": "a-production-secret-key-of-some-length",
                "ARGON2_PARAMETERS": {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}}
    dev = create_app(settings)
    with dev.app_context():
        upgrade(directory=dev.extensions["migrate"].directory)
    create_app({**settings, "ENV_NAME": "production"})  # no demo account: it starts
    with dev.app_context():
        admin_id = service.create_user("admin", DEMO_PASSWORD, Role.ADMIN).id
        _db.session.commit()
    with pytest.raises(RuntimeError, match="admin"):
        create_app({**settings, "ENV_NAME": "production"})
    monkeypatch.setenv("FLASK_RUN_FROM_CLI", "true")  # the console still opens, to mend it
    create_app({**settings, "ENV_NAME": "production"})
    monkeypatch.delenv("FLASK_RUN_FROM_CLI")
    with dev.app_context():
        _db.session.get(User, admin_id).is_enabled = False
        _db.session.commit()
        _db.engine.dispose()
    create_app({**settings, "ENV_NAME": "production"})  # a disabled demo account does not count


def test_demo_logins_lists_the_new_duties_and_says_whether_a_second_factor_is_needed(app, run_cli, monkeypatch,
                                                                                      create_user):
    create_user(Role.ADMIN, username="admin")
    out = run_cli("demo", "logins").output
    assert "secadmin" in out and "auditor" in out and "安全管理员" in out and "安全审计员" in out
    assert "NOT required" in out
    monkeypatch.setitem(app.config, "TOTP_REQUIRED_ROLES", ("admin", "officer"))
    assert "REQUIRED for admin, officer" in run_cli("demo", "logins").output
