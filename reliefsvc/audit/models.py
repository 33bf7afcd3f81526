"""The append-only audit log."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from reliefsvc.extensions import db


class AuditEntry(db.Model):
    """One decision or change, chained to the one before it.

    UPDATE, DELETE and TRUNCATE are refused by database triggers (see the migration);
    ``reliefsvc audit verify`` recomputes the chain and the MACs.
    """

    __tablename__ = "audit_entry"

    #: Position in the chain, 1, 2, 3 … without gaps; assigned under a lock.
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    occurred_at: Mapped[datetime] = mapped_column(index=True)
    #: The acting user; none for the system (jobs) or the command line.
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="RESTRICT"), index=True)
    #: Who acted, as shown then ("zhang.officer", "cli:root", "job:integrity").
    actor_name: Mapped[str] = mapped_column(sa.String(100))
    remote_addr: Mapped[str | None] = mapped_column(sa.String(45))
    event_type: Mapped[str] = mapped_column(sa.String(64), index=True)
    object_type: Mapped[str | None] = mapped_column(sa.String(40))
    object_id: Mapped[str | None] = mapped_column(sa.String(64))
    #: Canonical JSON of the event's fields, exactly as hashed.
    payload: Mapped[str] = mapped_column(sa.Text)
    #: SHA-256 of the previous entry (64 zeros for the first); unique, so the chain cannot fork.
    prev_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    #: HMAC-SHA256 of this entry's content with the key kept in the instance folder.
    mac: Mapped[str] = mapped_column(sa.String(64))

    __table_args__ = (sa.Index("ix_audit_entry_object", "object_type", "object_id"),)
