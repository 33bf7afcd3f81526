"""Messages are written only after the transaction that caused them commits."""

import pytest
import sqlalchemy as sa

from reliefsvc.notifications import service
from reliefsvc.notifications.models import Notification
from tests.conftest import count


def test_nothing_is_written_before_the_commit(db, create_user):
    user = create_user("officer")
    service.notify([user], "test", "合同即将到期")
    db.session.flush()
    assert count(Notification) == 0
    service.commit()
    note = db.session.scalar(sa.select(Notification))
    assert (note.user_id, note.title, note.read_at) == (user.id, "合同即将到期", None)


def test_a_rollback_drops_the_message(db, create_user):
    user = create_user("officer")
    db.session.commit()
    service.notify([user], "test", "不会发出")
    db.session.rollback()
    db.session.commit()
    assert service.deliver_pending() == 0
    assert count(Notification) == 0


@pytest.mark.parametrize("status,written", [(200, 1), (302, 1), (409, 0), (500, 0)])
def test_the_request_transaction_decides(app, create_user, db, status, written):
    """A response under 400 commits the request and delivers; an error page drops it."""
    user = create_user("officer")
    db.session.commit()
    with app.test_request_context("/"):
        app.preprocess_request()
        service.notify([user.id], "test", "请求中的消息")
        app.process_response(app.make_response(("x", status)))
    assert count(Notification) == written


def test_inbox_badge_mark_read_and_read_all(client, login, create_user, db):
    user = create_user("officer")
    service.notify([user], "test", "第一条消息", "正文", link="/regions/")
    service.notify([user], "test", "第二条消息")
    service.commit()
    login(user)
    home = client.get("/").get_data(as_text=True)
    assert 'data-testid="unread-count">2<' in home
    inbox = client.get("/notifications/").get_data(as_text=True)
    assert "第一条消息" in inbox and "第二条消息" in inbox
    first = db.session.scalar(sa.select(Notification).where(Notification.title == "第一条消息"))
    response = client.post(f"/notifications/{first.id}/read")
    assert response.headers["Location"] == "/regions/"
    assert 'data-testid="unread-count">1<' in client.get("/").get_data(as_text=True)
    client.post("/notifications/read-all")
    assert "unread-count" not in client.get("/").get_data(as_text=True)


def test_outside_links_are_not_followed(client, login, create_user, db):
    user = create_user("officer")
    service.notify([user], "test", "钓鱼链接", link="//evil.example/")
    service.commit()
    login(user)
    note = db.session.scalar(sa.select(Notification))
    assert client.post(f"/notifications/{note.id}/read").headers["Location"] == "/notifications/"


def test_email_copy_when_smtp_is_configured(app, db, create_user, monkeypatch):
    sent = []

    class FakeSMTP:
        def __init__(self, host, port, timeout):
            sent.append(("connect", host, port))

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def send_message(self, msg):
            sent.append(("send", msg["To"], msg["Subject"]))

    monkeypatch.setattr("smtplib.SMTP", FakeSMTP)
    monkeypatch.setitem(app.config, "MAIL_SERVER", "smtp.county.local")
    monkeypatch.setitem(app.config, "MAIL_FROM", "reliefsvc@county.local")
    user = create_user("officer")
    user.email = "wang@county.local"
    service.notify([user], "test", "审查到期提醒")
    service.commit()
    assert ("send", "wang@county.local", "审查到期提醒") in sent
    assert db.session.scalar(sa.select(Notification.emailed_at)) is not None


def test_a_released_savepoint_is_not_a_commit(db, create_user):
    user = create_user("officer")
    db.session.commit()
    service.notify([user], "test", "保存点之后回滚")
    with db.session.begin_nested():
        db.session.flush()
    db.session.rollback()
    db.session.commit()
    assert service.deliver_pending() == 0
    assert count(Notification) == 0
