"""The TOTP second factor (issue 15): enrolment right after the password for the roles that
need it, right / wrong / reused codes, recovery codes once only, resets by the security
administrator and the console. The requirement is turned on here (the suite runs without it)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
import sqlalchemy as sa
import time_machine

from reliefsvc.security.models import Role
from tests.security.test_identity import events, form_login, logged_in

T0 = datetime(2026, 11, 28, 1, 0, 5, tzinfo=UTC)  # 5 s into a 30-second step


@pytest.fixture
def required(app, monkeypatch):
    monkeypatch.setitem(app.config, "TOTP_REQUIRED_ROLES", ("admin", "officer", "inspector", "security_admin",
                                                            "auditor"))


def enrol(client, now) -> tuple[str, list[str]]:
    """Set up the second factor through the pages; returns (secret, recovery codes)."""
    page = client.get("/account/second-factor").get_data(as_text=True)
    qr = page[page.index('data-testid="totp-qr"'):]
    assert qr[:qr.index("</div>")].count("<svg") == 1  # inline SVG: no image file, no data URL, no script
    assert "data:image" not in page and "<script>" not in page
    secret = re.search(r'data-testid="totp-key">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    done = client.post("/account/second-factor", data={"code": pyotp.TOTP(secret).at(now)})
    assert done.status_code == 200
    codes = re.findall(r"<li>([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})</li>", done.get_data(as_text=True))
    return secret, codes


def test_a_required_role_is_sent_to_enrolment_right_after_the_password(required, client, create_user, db):
    create_user(Role.OFFICER, username="wang")
    with time_machine.travel(T0, tick=False):
        assert form_login(client, "wang").status_code == 302
        for url in ("/", "/cases/", "/contracts/"):
            response = client.get(url)
            assert response.status_code == 302 and response.headers["Location"].endswith("/account/second-factor")
        page = client.get("/account/second-factor").get_data(as_text=True)
        assert "必须使用双因素认证" in page
        shown = re.search(r'data-testid="totp-key">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
        with client.session_transaction() as sess:
            assert shown not in repr(dict(sess))  # the cookie holds a nonce, never the secret
        secret, codes = enrol(client, T0)
        assert secret == shown  # the same secret on every showing until it is confirmed
        assert len(codes) == 10 and len(set(codes)) == 10
        assert client.get("/cases/").status_code == 200
    assert events(db, "user.totp_enrolled")


def test_an_optional_role_logs_in_without_and_may_enrol_from_the_account_page(required, client, create_user):
    create_user(Role.EVALUATOR, username="li")
    with time_machine.travel(T0, tick=False):
        form_login(client, "li")
        assert logged_in(client)
        assert "设置双因素认证" in client.get("/account").get_data(as_text=True)
        secret, codes = enrol(client, T0)
        assert len(codes) == 10
        client.post("/logout")
        assert form_login(client, "li").headers["Location"].endswith("/login/code")


def test_a_wrong_code_on_enrolment_turns_nothing_on(required, client, create_user, db):
    user = create_user(Role.OFFICER, username="wang")
    with time_machine.travel(T0, tick=False):
        form_login(client, "wang")
        client.get("/account/second-factor")
        page = client.post("/account/second-factor", data={"code": "000000"})
        assert "动态码错误" in page.get_data(as_text=True)
    db.session.refresh(user)
    assert user.totp_secret is None


@pytest.fixture
def enrolled(required, client, create_user):
    """An officer with the second factor on, logged out; returns (user, secret, recovery codes)."""
    user = create_user(Role.OFFICER, username="wang")
    with time_machine.travel(T0 - timedelta(minutes=10), tick=False):
        form_login(client, "wang")
        secret, codes = enrol(client, T0 - timedelta(minutes=10))
        client.post("/logout")
    return user, secret, codes


def test_the_right_code_completes_the_login(enrolled, client, db):
    _user, secret, _codes = enrolled
    with time_machine.travel(T0, tick=False):
        response = form_login(client, "wang")
        assert response.headers["Location"].endswith("/login/code")
        assert not logged_in(client)  # the password alone opens nothing
        done = client.post("/login/code", data={"code": pyotp.TOTP(secret).at(T0)})
        assert done.status_code == 302 and done.headers["Location"] == "/"
        assert logged_in(client)
    assert events(db, "user.logged_in")


@pytest.mark.parametrize("steps,ok", [(-2, False), (-1, True), (0, True), (1, True), (2, False)])
def test_codes_of_the_neighbouring_steps_only(enrolled, client, steps, ok):
    _user, secret, _codes = enrolled
    with time_machine.travel(T0, tick=False):
        form_login(client, "wang")
        code = pyotp.TOTP(secret).at(T0 + timedelta(seconds=30 * steps))
        assert (client.post("/login/code", data={"code": code}).headers.get("Location") == "/") is ok


def test_a_wrong_code_is_refused_and_counts_toward_the_lockout(enrolled, client, db):
    user, secret, _codes = enrolled
    with time_machine.travel(T0, tick=False):
        form_login(client, "wang")
        page = client.post("/login/code", data={"code": "123456" if pyotp.TOTP(secret).at(T0) != "123456"
                                                else "654321"})
        assert page.status_code == 200 and "动态码错误" in page.get_data(as_text=True)
        db.session.refresh(user)
        assert user.failed_logins == 1
        assert "second_factor" in events(db, "user.login_failed")[-1].payload
        for _ in range(4):
            client.post("/login/code", data={"code": "000000"})
        db.session.refresh(user)
        assert user.locked_until is not None
        # locked: even the right code no longer helps
        form_login(client, "wang")
        assert not logged_in(client)


def test_a_code_works_once(enrolled, client):
    _user, secret, _codes = enrolled
    with time_machine.travel(T0, tick=False):
        code = pyotp.TOTP(secret).at(T0)
        form_login(client, "wang")
        assert client.post("/login/code", data={"code": code}).headers["Location"] == "/"
        client.post("/logout")
        form_login(client, "wang")
        page = client.post("/login/code", data={"code": code})
        assert page.status_code == 200 and "已被使用" in page.get_data(as_text=True)
        # nor an older one (the step before), once a newer one was accepted
        older = pyotp.TOTP(secret).at(T0 - timedelta(seconds=30))
        assert client.post("/login/code", data={"code": older}).status_code == 200


def test_a_recovery_code_works_once_only(enrolled, client, db):
    from reliefsvc.security.models import RecoveryCode

    user, _secret, codes = enrolled
    stored = db.session.scalars(sa.select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user.id)).all()
    assert len(stored) == 10 and not set(codes) & set(stored)  # hashed at rest
    with time_machine.travel(T0, tick=False):
        form_login(client, "wang")
        done = client.post("/login/code", data={"recovery": codes[3].upper().replace("-", " ")})
        assert done.headers["Location"] == "/"
        assert "还剩 9 个" in client.get("/").get_data(as_text=True)
        client.post("/logout")
        form_login(client, "wang")
        page = client.post("/login/code", data={"recovery": codes[3]})
        assert page.status_code == 200
        assert client.post("/login/code", data={"recovery": codes[4]}).headers["Location"] == "/"
    assert '"remaining":8' in events(db, "user.recovery_code_used")[-1].payload


def test_the_second_step_expires_after_five_minutes(enrolled, client):
    _user, secret, _codes = enrolled
    with time_machine.travel(T0, tick=False) as traveller:
        form_login(client, "wang")
        traveller.shift(timedelta(minutes=6))
        late = T0 + timedelta(minutes=6)
        response = client.post("/login/code", data={"code": pyotp.TOTP(secret).at(late)})
        assert response.headers["Location"].endswith("/login")


def test_new_recovery_codes_replace_the_old_ones(enrolled, client):
    _user, secret, codes = enrolled
    with time_machine.travel(T0, tick=False) as traveller:
        form_login(client, "wang")
        client.post("/login/code", data={"code": pyotp.TOTP(secret).at(T0)})
        traveller.shift(timedelta(seconds=30))
        page = client.post("/account/recovery-codes", data={"code": pyotp.TOTP(secret).at(T0 + timedelta(seconds=30))})
        fresh = re.findall(r"<li>([a-z2-9-]{19})</li>", page.get_data(as_text=True))
        assert len(fresh) == 10 and not set(fresh) & set(codes)
        client.post("/logout")
        form_login(client, "wang")
        assert client.post("/login/code", data={"recovery": codes[0]}).status_code == 200
        assert client.post("/login/code", data={"recovery": fresh[0]}).headers["Location"] == "/"


def test_the_security_administrator_resets_a_lost_second_factor(enrolled, client, create_user, login, db):
    user, secret, _codes = enrolled
    secadmin = create_user(Role.SECURITY_ADMIN)
    with time_machine.travel(T0, tick=False):
        login(secadmin)
        # without a second factor of its own, the security administrator can do nothing yet
        assert client.post(f"/users/{user.id}/second-factor/reset").headers["Location"].endswith(
            "/account/second-factor")
        secadmin.totp_secret = pyotp.random_base32()
        assert client.post(f"/users/{user.id}/second-factor/reset").status_code == 302
        client.post("/logout")
        db.session.refresh(user)
        assert user.totp_secret is None
        form_login(client, "wang")  # no second step now; enrolment again
        assert client.get("/").headers["Location"].endswith("/account/second-factor")
    assert events(db, "user.totp_reset")


def test_a_reset_ends_the_users_sessions(enrolled, app, client, create_user, db):
    user, secret, _codes = enrolled
    with time_machine.travel(T0, tick=False):
        form_login(client, "wang")
        client.post("/login/code", data={"code": pyotp.TOTP(secret).at(T0)})
        assert logged_in(client)
        from reliefsvc.security import identity

        identity.reset_totp(user)
        assert not logged_in(client)


def test_the_console_resets_a_second_factor(enrolled, run_cli, db):
    user, _secret, _codes = enrolled
    result = run_cli("users", "reset-2fa", "wang")
    assert result.exit_code == 0, result.output
    db.session.refresh(user)
    assert user.totp_secret is None
    assert run_cli("users", "reset-2fa", "nobody").exit_code == 1


def test_the_qr_code_is_an_inline_svg(required, client, create_user, login):
    login(create_user(Role.OFFICER))
    response = client.get("/account/second-factor")
    page = response.get_data(as_text=True)
    assert page.count("<svg") == 1 and "<?xml" not in page
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


def test_the_secret_is_not_shown_again_once_enrolled(enrolled, client):
    _user, secret, _codes = enrolled
    with time_machine.travel(T0, tick=False):
        form_login(client, "wang")
        client.post("/login/code", data={"code": pyotp.TOTP(secret).at(T0)})
        response = client.get("/account/second-factor")
        assert response.status_code == 302
        assert secret not in client.get("/account").get_data(as_text=True)


def test_totp_required_roles_default_to_the_duties_and_the_bureau(app):
    from reliefsvc.config import Defaults

    assert set(Defaults.TOTP_REQUIRED_ROLES) == {"admin", "officer", "inspector", "security_admin", "auditor"}
    assert app.config["TOTP_REQUIRED_ROLES"] == ()  # the suite itself runs with it off (tests/conftest.py)


# --- the secret at rest ---------------------------------------------------------------------

def test_the_secret_is_stored_sealed_and_bound_to_its_account(enrolled, create_user, db):
    """A database dump alone gives no authenticator away: the column holds AES-GCM ciphertext
    under instance/totp_key, and a value copied to another account does not open there."""
    from cryptography.exceptions import InvalidTag

    from reliefsvc.security import identity

    user, secret, _codes = enrolled
    stored = db.session.scalar(sa.text("SELECT totp_secret FROM user_account WHERE id = :id"), {"id": user.id})
    assert len(stored) == 64 and secret not in stored
    assert identity.open_secret(user.id, stored) == secret
    other = create_user(Role.OFFICER)
    with pytest.raises(InvalidTag):
        identity.open_secret(other.id, stored)


def test_a_secret_stored_in_clear_is_sealed_by_init_and_keeps_working(enrolled, db):
    """``reliefsvc init`` calls seal_clear_secrets after the migrations."""
    from reliefsvc.security import identity

    user, secret, _codes = enrolled
    user.totp_secret = secret  # as stored before sealing existed
    db.session.flush()
    assert identity.seal_clear_secrets() == 1
    assert identity.seal_clear_secrets() == 0
    db.session.refresh(user)
    assert identity.is_sealed(user.totp_secret)
    assert identity.verify_totp(user, pyotp.TOTP(secret).now())


def test_a_secret_stored_in_clear_is_sealed_at_its_next_use(enrolled, db):
    from reliefsvc.security import identity

    user, secret, _codes = enrolled
    user.totp_secret = secret
    assert identity.verify_totp(user, pyotp.TOTP(secret).now())
    assert identity.is_sealed(user.totp_secret) and identity.open_secret(user.id, user.totp_secret) == secret
