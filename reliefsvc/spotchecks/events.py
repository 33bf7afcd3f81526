"""Audit events of the spot checks: every decision of a draw, in the order it is taken."""

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from reliefsvc.audit.events import OBJECT_LABELS, Event

OBJECT_LABELS.update(spotcheck_draw=_l("Spot-check draw"), spotcheck_item=_l("Spot check"))


@dataclass(frozen=True, kw_only=True)
class _DrawEvent(Event):
    object_type = "spotcheck_draw"
    object_field = "draw_id"
    draw_id: int


@dataclass(frozen=True, kw_only=True)
class DrawProposed(_DrawEvent):
    event_type = "spotchecks.proposed"
    label = _l("Spot-check draw proposed")
    contract_id: int
    day_from: str
    day_to: str


@dataclass(frozen=True, kw_only=True)
class FrameFrozen(_DrawEvent):
    event_type = "spotchecks.frame_frozen"
    label = _l("Spot-check frame frozen")
    contract_id: int
    day_from: str
    day_to: str
    population_size: int
    frame_hash: str
    size_rule: str
    size: int
    risk_size: int


@dataclass(frozen=True, kw_only=True)
class SpotCheckDrawn(_DrawEvent):
    event_type = "spotchecks.drawn"
    label = _l("Spot-check seed entered and sample drawn")
    seed: str
    seed_rolled_by: str
    seed_witnesses: str
    seed_rolled_at: str
    frame_hash: str
    size: int
    risk_size: int
    record_refs: list
    origin: str


@dataclass(frozen=True, kw_only=True)
class EvaluatorsAssigned(_DrawEvent):
    event_type = "spotchecks.assigned"
    label = _l("Spot checks assigned to evaluators")
    round: int
    #: {record_ref: evaluator user id}
    assignment: dict
    unassignable: list


@dataclass(frozen=True, kw_only=True)
class CheckFiled(Event):
    event_type = "spotchecks.check_filed"
    label = _l("Spot-check result filed")
    object_type = "spotcheck_item"
    object_field = "item_id"
    item_id: int
    draw_id: int
    record_id: int
    record_ref: str
    outcome: str
    method: str
    photo_sha256: str | None
    notice_id: int | None


@dataclass(frozen=True, kw_only=True)
class SampleEscalated(_DrawEvent):
    event_type = "spotchecks.escalated"
    label = _l("Spot-check sample escalated")
    from_size: int
    to_size: int
    added_refs: list
    moved_to_random: list


@dataclass(frozen=True, kw_only=True)
class ResultsPublished(_DrawEvent):
    event_type = "spotchecks.published"
    label = _l("Spot-check results published")
    checked: int
    not_delivered: int
