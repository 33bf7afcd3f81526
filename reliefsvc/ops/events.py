"""Audit events of operations."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from reliefsvc.audit.events import Event


@dataclass(frozen=True, kw_only=True)
class BackupWritten(Event):
    event_type = "ops.backup"
    label = _l("Backup written")
    folder: str
    database: str
    evidence_files: int
    new_evidence_files: int


@dataclass(frozen=True, kw_only=True)
class BackupRestored(Event):
    event_type = "ops.restore"
    label = _l("Backup restored")
    snapshot: str
    database: str
    evidence_files: int
