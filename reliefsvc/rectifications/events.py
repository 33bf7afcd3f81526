from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from reliefsvc.audit.events import OBJECT_LABELS, Event

OBJECT_LABELS.update(rectification_notice=_l("Rectification notice"))


@dataclass(frozen=True, kw_only=True)
class RectificationRaised(Event):
    event_type = "rectifications.raised"
    label = _l("Rectification notice issued")
    object_type = "rectification_notice"
    object_field = "notice_id"
    notice_id: int
    contract_id: int
    source: str
    record_id: int | None
    due_on: str
    #: [what, rule] per item
    items: list


@dataclass(frozen=True, kw_only=True)
class RectificationAnswered(Event):
    event_type = "rectifications.answered"
    label = _l("Rectification item answered")
    object_type = "rectification_notice"
    object_field = "notice_id"
    notice_id: int
    item_id: int
    answer_id: int
    text: str
    sha256: str | None


@dataclass(frozen=True, kw_only=True)
class RectificationDecided(Event):
    event_type = "rectifications.decided"
    label = _l("Rectification answer decided")
    object_type = "rectification_notice"
    object_field = "notice_id"
    notice_id: int
    item_id: int
    answer_id: int
    verdict: str
    note: str
    notice_closed: bool
