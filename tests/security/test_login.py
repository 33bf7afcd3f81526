import pytest

from reliefsvc.security.models import Role
from tests.conftest import TEST_PASSWORD


def test_login_page_is_chinese_by_default(client):
    response = client.get("/login")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'lang="zh-CN"' in page
    assert "登录" in page


def test_login_with_the_form_reaches_the_home_page(client, create_user):
    user = create_user(Role.OFFICER, username="wang")
    response = client.post("/login", data={"username": "wang", "password": TEST_PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/")
    page = client.get("/").get_data(as_text=True)
    assert user.display_name in page
    assert "采购经办" in page


def test_wrong_password_is_refused_in_chinese_and_audited(client, create_user, db):
    from reliefsvc.audit.models import AuditEntry

    create_user(Role.OFFICER, username="wang")
    response = client.post("/login", data={"username": "wang", "password": "wrong-password"})
    assert response.status_code == 200
    assert "用户名或密码错误" in response.get_data(as_text=True)
    last = db.session.query(AuditEntry).order_by(AuditEntry.seq.desc()).first()
    assert last.event_type == "user.login_failed"
    assert "wrong-password" not in last.payload


def test_disabled_account_cannot_log_in(client, create_user, db):
    from reliefsvc.security import service

    user = create_user(Role.OFFICER, username="wang")
    service.set_enabled(user, False)
    response = client.post("/login", data={"username": "wang", "password": TEST_PASSWORD})
    assert response.status_code == 200
    assert client.get("/").status_code == 302


def test_next_parameter_only_follows_local_paths(client, create_user):
    create_user(Role.ADMIN, username="root1")
    response = client.post("/login?next=https://evil.example/x",
                           data={"username": "root1", "password": TEST_PASSWORD})
    assert response.headers["Location"] == "/"
    client.post("/logout")
    response = client.post("/login?next=/users", data={"username": "root1", "password": TEST_PASSWORD})
    assert response.headers["Location"] == "/users"


def test_logout_is_a_post_and_ends_the_session(client, create_user, login):
    user = create_user(Role.OFFICER)
    login(user)
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 302
    assert client.get("/").status_code == 302


def test_passwords_are_stored_as_argon2(create_user):
    user = create_user(Role.OFFICER)
    assert user.password_hash.startswith("$argon2id$")
    assert TEST_PASSWORD not in user.password_hash


@pytest.mark.parametrize("locale,word", [("en", "Log in"), ("zh_CN", "登录")])
def test_language_switch(client, locale, word):
    response = client.post("/locale", data={"locale": locale, "next": "/login"})
    assert response.status_code == 302
    assert word in client.get("/login").get_data(as_text=True)


def test_language_choice_is_kept_on_the_account(client, create_user, login, db):
    user = create_user(Role.OFFICER)
    login(user)
    client.post("/locale", data={"locale": "en"})
    db.session.refresh(user)
    assert user.locale == "en"
    assert "Log out" in client.get("/").get_data(as_text=True)


def test_language_chosen_before_login_survives_login_and_logout(client, create_user, db):
    user = create_user(Role.OFFICER, username="li")
    client.post("/locale", data={"locale": "en"})
    client.post("/login", data={"username": "li", "password": TEST_PASSWORD})
    assert "Log out" in client.get("/").get_data(as_text=True)
    db.session.refresh(user)
    assert user.locale == "en"
    client.post("/logout")
    assert "Log in" in client.get("/login").get_data(as_text=True)


def test_login_is_audited_with_the_address(client, create_user, db):
    import sqlalchemy as sa

    from reliefsvc.audit.models import AuditEntry

    create_user(Role.OFFICER, username="li")
    client.post("/login", data={"username": "li", "password": TEST_PASSWORD},
                environ_base={"REMOTE_ADDR": "10.1.2.3"})
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.event_type == "user.logged_in"))
    assert (entry.actor_name, entry.remote_addr) == ("li", "10.1.2.3")
