"""Notifications are written only after the transaction that caused them commits.

``notify`` queues a message on the session; when the session commits, the queue becomes
deliverable, and ``deliver_pending`` (called by the request, the job runner and the CLI
right after their commit) writes it in a small transaction of its own and sends the
e-mail if SMTP is configured. A rollback drops the queue: nothing is announced that did
not happen.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage

import sqlalchemy as sa
from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from reliefsvc.db import utcnow
from reliefsvc.extensions import db
from reliefsvc.notifications.models import Notification
from reliefsvc.security.models import Role, User

log = logging.getLogger(__name__)

_PENDING = "notifications_pending"
_READY = "notifications_ready"


@dataclass(frozen=True)
class Message:
    user_id: int
    kind: str
    title: str
    body: str
    link: str | None


def notify(users, kind: str, title: str, body: str = "", link: str | None = None) -> None:
    """Queue a message to each of ``users`` (User objects or IDs) until the commit."""
    pending = db.session.info.setdefault(_PENDING, [])
    for user in users:
        user_id = user if isinstance(user, int) else user.id
        pending.append(Message(user_id, kind, title[:200], body, link))


def notify_roles(roles: tuple[Role, ...], kind: str, title: str, body: str = "", link: str | None = None) -> None:
    ids = db.session.scalars(sa.select(User.id).where(User.role.in_(roles), User.is_enabled.is_(True))).all()
    notify(ids, kind, title, body, link)


@event.listens_for(Session, "after_commit")
def _on_commit(session):
    # Releasing a savepoint also fires after_commit; only the real commit counts.
    if session.in_nested_transaction():
        return
    pending = session.info.pop(_PENDING, None)
    if pending:
        session.info.setdefault(_READY, []).extend(pending)


@event.listens_for(Session, "after_soft_rollback")
def _on_rollback(session, previous_transaction):
    session.info.pop(_PENDING, None)


def deliver_pending() -> int:
    """Write the messages of committed transactions; returns how many were written."""
    ready = db.session.info.pop(_READY, None)
    if not ready:
        return 0
    now = utcnow()
    rows = [Notification(user_id=m.user_id, kind=m.kind, title=m.title, body=m.body, link=m.link, created_at=now)
            for m in ready]
    db.session.add_all(rows)
    db.session.commit()
    if current_app.config.get("MAIL_SERVER"):
        _send_emails(rows)
    return len(rows)


def commit() -> None:
    """Commit the current transaction and deliver what it announced."""
    db.session.commit()
    deliver_pending()


def _send_emails(rows: list[Notification]) -> None:
    config = current_app.config
    try:
        with smtplib.SMTP(config["MAIL_SERVER"], config.get("MAIL_PORT", 25), timeout=10) as smtp:
            if config.get("MAIL_USE_TLS"):
                smtp.starttls()
            if config.get("MAIL_USERNAME"):
                smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
            for row in rows:
                if not row.user.email:
                    continue
                msg = EmailMessage()
                msg["From"] = config["MAIL_FROM"]
                msg["To"] = row.user.email
                msg["Subject"] = row.title
                msg.set_content(row.body or row.title)
                smtp.send_message(msg)
                row.emailed_at = utcnow()
        db.session.commit()
    except (OSError, smtplib.SMTPException):
        # E-mail is a courtesy copy; the in-app message is already stored.
        db.session.rollback()
        log.exception("sending notification e-mail failed")


def unread_count(user) -> int:
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
    )


def for_user(user):
    return sa.select(Notification).where(Notification.user_id == user.id).order_by(
        Notification.read_at.is_not(None), Notification.created_at.desc(), Notification.id.desc())


def mark_read(notification: Notification) -> None:
    if notification.read_at is None:
        notification.read_at = utcnow()


def mark_all_read(user) -> int:
    return db.session.execute(
        sa.update(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    ).rowcount
