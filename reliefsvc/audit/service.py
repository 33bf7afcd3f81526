"""Recording and verifying the audit log.

``record`` is called by services inside the transaction of the change it describes, so
an event exists exactly when its change was committed.
"""

from __future__ import annotations

import getpass

import sqlalchemy as sa
from flask import current_app, g, has_request_context, request
from flask_login import current_user
from sqlalchemy import event
from sqlalchemy.orm import Session

from reliefsvc.audit import rules
from reliefsvc.audit.events import Event
from reliefsvc.audit.models import AuditEntry
from reliefsvc.common.sensitive import mask_ids
from reliefsvc.db import utcnow
from reliefsvc.extensions import db

#: Any constant: the PostgreSQL advisory lock that serialises appends to the chain.
_PG_APPEND_LOCK = 0x52454C4946


def _hmac_key() -> bytes:
    return current_app.config["AUDIT_HMAC_KEY"].encode("utf-8")


def set_actor(name: str) -> None:
    """Name the actor outside a request: ``cli:<os user>`` or ``job:<name>``."""
    g.audit_actor = name


def _actor() -> tuple[int | None, str, str | None]:
    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user.id, current_user.username, request.remote_addr
    name = g.get("audit_actor")
    if name is None and has_request_context():
        name = "anonymous"
    if name is None:
        try:
            name = f"cli:{getpass.getuser()}"
        except (KeyError, OSError):
            name = "cli"
    return None, name, (request.remote_addr if has_request_context() else None)


#: session.info key: the last entry this transaction appended. While the transaction holds
#: the append lock nobody else can append, so the next entry chains to it without asking
#: the database again (a bulk import records thousands of events).
_LAST = "audit_last_row"


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_soft_rollback")
def _forget_last(session, *_args):
    session.info.pop(_LAST, None)


def record(event: Event, *, actor=None) -> AuditEntry:
    """Append ``event`` to the chain in the current transaction (never commits)."""
    session = db.session
    last = session.info.get(_LAST)
    if last is None:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_APPEND_LOCK})
        with session.no_autoflush:
            found = session.execute(
                sa.select(AuditEntry.seq, AuditEntry.occurred_at, AuditEntry.actor_id,
                          AuditEntry.actor_name, AuditEntry.remote_addr, AuditEntry.event_type,
                          AuditEntry.object_type, AuditEntry.object_id, AuditEntry.payload,
                          AuditEntry.prev_hash, AuditEntry.mac)
                .order_by(AuditEntry.seq.desc()).limit(1)
            ).first()
        last = rules.ChainRow(*found) if found else None
    prev_hash = rules.row_hash(last) if last else rules.GENESIS_HASH
    if actor is not None:
        actor_id, actor_name = actor.id, actor.username
        remote_addr = request.remote_addr if has_request_context() else None
    else:
        actor_id, actor_name, remote_addr = _actor()
    row = rules.ChainRow(
        seq=(last.seq + 1) if last else 1,
        occurred_at=utcnow(),
        actor_id=actor_id,
        actor_name=actor_name,
        remote_addr=remote_addr,
        event_type=event.event_type,
        object_type=event.object_type,
        object_id=event.object_id(),
        # issue 15: an ID number in an event's fields is kept masked (6229**********123X)
        payload=rules.canonical_payload(mask_ids(event.payload())),
        prev_hash=prev_hash,
    )
    mac = rules.compute_mac(_hmac_key(), row)
    entry = AuditEntry(**{f.name: getattr(row, f.name) for f in rules.ChainRow.__dataclass_fields__.values()
                          if f.name != "mac"}, mac=mac)
    session.add(entry)
    session.info[_LAST] = rules.ChainRow(**{**row.__dict__, "mac": mac})
    return entry


def _chain_rows(batch: int = 5000):
    """Stream the log in order without holding it all as ORM objects."""
    result = db.session.execute(
        sa.select(AuditEntry.seq, AuditEntry.occurred_at, AuditEntry.actor_id,
                  AuditEntry.actor_name, AuditEntry.remote_addr, AuditEntry.event_type,
                  AuditEntry.object_type, AuditEntry.object_id, AuditEntry.payload,
                  AuditEntry.prev_hash, AuditEntry.mac)
        .order_by(AuditEntry.seq).execution_options(yield_per=batch)
    )
    for r in result:
        yield rules.ChainRow(*r)


def verify_log() -> tuple[int, rules.ChainProblem | None]:
    return rules.verify(_chain_rows(), _hmac_key())


# --- anchors (issue 15) -------------------------------------------------------------------

def anchor_path():
    """``instance/audit-anchors.log`` unless ``AUDIT_ANCHOR_FILE`` names another file."""
    from pathlib import Path

    configured = current_app.config.get("AUDIT_ANCHOR_FILE")
    return Path(configured) if configured else Path(current_app.instance_path) / "audit-anchors.log"


def read_anchors() -> list[rules.Anchor]:
    path = anchor_path()
    if not path.exists():
        return []
    return rules.parse_anchors(path.read_text(encoding="utf-8"))[0]


def head() -> rules.ChainRow | None:
    found = db.session.execute(
        sa.select(AuditEntry.seq, AuditEntry.occurred_at, AuditEntry.actor_id,
                  AuditEntry.actor_name, AuditEntry.remote_addr, AuditEntry.event_type,
                  AuditEntry.object_type, AuditEntry.object_id, AuditEntry.payload,
                  AuditEntry.prev_hash, AuditEntry.mac)
        .order_by(AuditEntry.seq.desc()).limit(1)).first()
    return rules.ChainRow(*found) if found else None


def verify_anchors() -> rules.ChainProblem | None:
    """The first anchor the log contradicts (truncated or rewritten), or None."""
    anchors = [a for a in read_anchors() if a.status == "ok" and a.seq > 0]
    if not anchors:
        return None
    last = head()
    wanted = {a.seq for a in anchors}
    rows = db.session.execute(
        sa.select(AuditEntry.seq, AuditEntry.occurred_at, AuditEntry.actor_id,
                  AuditEntry.actor_name, AuditEntry.remote_addr, AuditEntry.event_type,
                  AuditEntry.object_type, AuditEntry.object_id, AuditEntry.payload,
                  AuditEntry.prev_hash, AuditEntry.mac)
        .where(AuditEntry.seq.in_(sorted(wanted)))).all()
    hash_at = {r.seq: rules.row_hash(rules.ChainRow(*r)) for r in rows}
    return rules.check_anchors(anchors, last.seq if last else 0, hash_at)


def verify_all() -> tuple[int, rules.ChainProblem | None]:
    """The chain and its anchors: (entries checked, first problem or None)."""
    checked, problem = verify_log()
    if problem is None:
        problem = verify_anchors()
    return checked, problem


def write_anchor(period: str, intact: bool) -> rules.Anchor:
    """Append the head (position, hash, time) to the anchor file and force it to disk."""
    import os

    last = head()
    anchor = rules.Anchor(period, last.seq if last else 0, rules.row_hash(last) if last else rules.GENESIS_HASH,
                          utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"), "ok" if intact else "damaged")
    path = anchor_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_APPEND: lines are only ever added; a reader never sees a half-rewritten file.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
    try:
        os.write(fd, anchor.line().encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    return anchor
