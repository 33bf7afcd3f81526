"""Audit events of the integrity checks."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from reliefsvc.audit.events import OBJECT_LABELS, Event

OBJECT_LABELS.update(integrity_flag=_l("Integrity flag"))


@dataclass(frozen=True, kw_only=True)
class IntegrityRunFinished(Event):
    event_type = "integrity.run"
    label = _l("Integrity checks run")
    kind: str
    contract_no: str | None
    records_checked: int
    inserted: int
    updated: int
    deleted: int
    counts: dict


@dataclass(frozen=True, kw_only=True)
class FlagDismissed(Event):
    event_type = "integrity.flag_dismissed"
    label = _l("Integrity flag dismissed")
    object_type = "integrity_flag"
    object_field = "flag_id"
    flag_id: int
    record_id: int
    record_ref: str
    code: str
    detail: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class FlagRestored(Event):
    event_type = "integrity.flag_restored"
    label = _l("Integrity flag restored")
    object_type = "integrity_flag"
    object_field = "flag_id"
    flag_id: int
    record_id: int
    record_ref: str
    code: str
    by: str


@dataclass(frozen=True, kw_only=True)
class ThresholdsChanged(Event):
    event_type = "integrity.thresholds_changed"
    label = _l("Integrity thresholds changed")
    object_type = "contract"
    object_field = "contract_id"
    contract_id: int
    contract_no: str
    changes: dict
    by: str
