"""Audit events of the annual evaluation: every decision, with the facts behind it."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from reliefsvc.audit.events import OBJECT_LABELS, Event

OBJECT_LABELS.update(evaluation=_l("Annual evaluation"))


@dataclass(frozen=True, kw_only=True)
class EvaluationCreated(Event):
    event_type = "evaluations.created"
    label = _l("Annual evaluation opened")
    object_type = "evaluation"
    object_field = "evaluation_id"
    evaluation_id: int
    contract_id: int
    year_no: int
    day_from: str
    day_to: str
    due_on: str
    #: job, officer, cli or demo
    origin: str


@dataclass(frozen=True, kw_only=True)
class EvaluationFiguresRead(Event):
    event_type = "evaluations.figures_read"
    label = _l("Annual evaluation figures read again")
    object_type = "evaluation"
    object_field = "evaluation_id"
    evaluation_id: int
    #: {indicator key: value}
    values: dict


@dataclass(frozen=True, kw_only=True)
class DimensionScored(Event):
    event_type = "evaluations.dimension_scored"
    label = _l("Annual evaluation dimension scored")
    object_type = "evaluation"
    object_field = "evaluation_id"
    evaluation_id: int
    dimension: str
    score: str
    narrative: str


@dataclass(frozen=True, kw_only=True)
class EvaluationConcluded(Event):
    event_type = "evaluations.concluded"
    label = _l("Annual evaluation rating set")
    object_type = "evaluation"
    object_field = "evaluation_id"
    evaluation_id: int
    rating: str
    rebuy: bool
    summary: str


@dataclass(frozen=True, kw_only=True)
class EvaluationSent(Event):
    event_type = "evaluations.sent"
    label = _l("Annual evaluation sent to the provider")
    object_type = "evaluation"
    object_field = "evaluation_id"
    evaluation_id: int
    comment_until: str


@dataclass(frozen=True, kw_only=True)
class EvaluationCommented(Event):
    event_type = "evaluations.commented"
    label = _l("Provider commented on an annual evaluation")
    object_type = "evaluation"
    object_field = "evaluation_id"
    evaluation_id: int
    comment_id: int
    kind: str
    text: str


@dataclass(frozen=True, kw_only=True)
class EvaluationSigned(Event):
    event_type = "evaluations.signed"
    label = _l("Annual evaluation signed")
    object_type = "evaluation"
    object_field = "evaluation_id"
    evaluation_id: int
    contract_id: int
    year_no: int
    doc_no: str
    rating: str
    rebuy: bool
    #: {dimension: score}
    scores: dict
    assessor_id: int | None
