"""Typed audit events. Each domain declares its own in ``<domain>/events.py``.

An event is a small frozen dataclass; its class attributes say what kind of decision it
is and which object it concerns, its fields are the facts recorded with it.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from flask_babel import lazy_gettext as _l

#: event_type -> class, filled as domains import their events
EVENT_TYPES: dict[str, type[Event]] = {}


@dataclasses.dataclass(frozen=True, kw_only=True)
class Event:
    event_type: ClassVar[str]
    #: Chinese label through gettext (a lazy string), shown on the audit page
    label: ClassVar[Any]
    object_type: ClassVar[str | None] = None
    #: name of the field that holds the object's ID, if any
    object_field: ClassVar[str | None] = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "event_type" in cls.__dict__:
            if cls.event_type in EVENT_TYPES and EVENT_TYPES[cls.event_type] is not cls:
                raise RuntimeError(f"duplicate audit event type {cls.event_type}")
            EVENT_TYPES[cls.event_type] = cls

    def object_id(self) -> str | None:
        return None if self.object_field is None else str(getattr(self, self.object_field))

    def payload(self) -> dict:
        return dataclasses.asdict(self)


#: object_type -> its name on pages; each domain adds its own with ``OBJECT_LABELS[...] = _l(...)``
OBJECT_LABELS: dict[str, Any] = {
    "user": _l("Account"),
    "organisation": _l("Organisation"),
    "region": _l("Region"),
}


def object_label(object_type: str | None) -> str:
    if not object_type:
        return ""
    label = OBJECT_LABELS.get(object_type)
    return str(label) if label is not None else object_type


def label_for(event_type: str) -> str:
    cls = EVENT_TYPES.get(event_type)
    return str(cls.label) if cls is not None else event_type


@dataclasses.dataclass(frozen=True, kw_only=True)
class AuditChainVerified(Event):
    event_type = "audit.verified"
    label = _l("Audit chain verified")
    checked: int
    intact: bool
    first_problem: int | None


@dataclasses.dataclass(frozen=True, kw_only=True)
class DemoLoaded(Event):
    event_type = "demo.loaded"
    label = _l("Demo county loaded")
    seed: int
    regions: int
    accounts: int
