"""Recording and verifying the audit log.

``record`` is called by services inside the transaction of the change it describes, so
an event exists exactly when its change was committed.
"""

from __future__ import annotations

import dataclasses
import getpass
import hashlib
import hmac
from collections.abc import Iterable

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


def _last_row(session) -> rules.ChainRow | None:
    """The chain's last entry; the first time in a transaction, takes the append lock."""
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
    return last


def _actor_of(actor) -> tuple[int | None, str, str | None]:
    if actor is not None:
        return actor.id, actor.username, (request.remote_addr if has_request_context() else None)
    return _actor()


def record(event: Event, *, actor=None) -> AuditEntry:
    """Append ``event`` to the chain in the current transaction (never commits)."""
    session = db.session
    last = _last_row(session)
    prev_hash = rules.row_hash(last) if last else rules.GENESIS_HASH
    actor_id, actor_name, remote_addr = _actor_of(actor)
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


#: Entries per INSERT statement in ``record_many``.
_MANY_BATCH = 5000

#: Field values ``dataclasses.asdict`` returns unchanged (exact types: it deep-copies the rest).
_PLAIN = frozenset({str, int, float, bool, type(None)})
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _payload(ev: Event) -> dict:
    """``ev.payload()``, equal value; without ``asdict``'s deep copy when every field is a plain value."""
    cls = type(ev)
    if cls.payload is Event.payload:
        names = _FIELD_NAMES.get(cls)
        if names is None:
            names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
        values = {name: getattr(ev, name) for name in names}
        if all(type(v) in _PLAIN for v in values.values()):
            return values
    return ev.payload()


def record_many(events: Iterable[Event], *, actor=None) -> int:
    """Append ``events`` to the chain in order, in the current transaction (never commits).

    The same rows as ``record`` called once per event (same seq, time taken per entry,
    actor, masked canonical payload, MAC and chain hash), computed in one loop and written
    with one executemany per 5 000 entries instead of one ORM object each (a ledger import
    records an entry per record). Returns the number of entries appended.
    """
    session = db.session
    last = _last_row(session)
    actor_id, actor_name, remote_addr = _actor_of(actor)
    keyed = hmac.new(_hmac_key(), digestmod=hashlib.sha256)
    seq = last.seq if last else 0
    prev_hash = rules.row_hash(last) if last else rules.GENESIS_HASH
    table = AuditEntry.__table__
    rows: list[dict] = []
    count = 0
    for ev in events:
        seq += 1
        occurred_at = utcnow()
        object_id = ev.object_id()
        # issue 15: an ID number in an event's fields is kept masked (as record does)
        payload = rules.canonical_payload(mask_ids(_payload(ev)))
        content = rules.content_of(occurred_at, actor_id, actor_name, remote_addr, ev.event_type,
                                   ev.object_type, object_id, payload, prev_hash)
        mac_of = keyed.copy()
        mac_of.update(content)
        mac = mac_of.hexdigest()  # rules.compute_mac
        rows.append({"seq": seq, "occurred_at": occurred_at, "actor_id": actor_id, "actor_name": actor_name,
                     "remote_addr": remote_addr, "event_type": ev.event_type,
                     "object_type": ev.object_type, "object_id": object_id, "payload": payload,
                     "prev_hash": prev_hash, "mac": mac})
        prev_hash = hashlib.sha256(content + mac.encode("ascii")).hexdigest()  # rules.row_hash
        if len(rows) == _MANY_BATCH:
            session.execute(table.insert(), rows)
            count += len(rows)
            last_row = rows[-1]
            rows = []
    if rows:
        session.execute(table.insert(), rows)
        count += len(rows)
        last_row = rows[-1]
    if count:
        session.info[_LAST] = rules.ChainRow(**last_row)
    return count


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
