from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from reliefsvc.audit.events import OBJECT_LABELS, Event

OBJECT_LABELS.update(assessment=_l("Assessment"), assessment_standard=_l("Assessment standard"),
                     inspection=_l("Field inspection"))


@dataclass(frozen=True, kw_only=True)
class StandardSaved(Event):
    event_type = "assessments.standard_saved"
    label = _l("Assessment standard changed")
    object_type = "assessment_standard"
    object_field = "standard_id"
    standard_id: int
    code: str
    version: int
    change: str


@dataclass(frozen=True, kw_only=True)
class StandardPublished(Event):
    event_type = "assessments.standard_published"
    label = _l("Assessment standard published")
    object_type = "assessment_standard"
    object_field = "standard_id"
    standard_id: int
    code: str
    version: int
    #: [section, points, [[indicator, max points, method, source], ...]] per section
    rubric: list


@dataclass(frozen=True, kw_only=True)
class StandardBound(Event):
    event_type = "assessments.bound"
    label = _l("Assessment standard bound to a contract")
    object_type = "contract"
    object_field = "contract_id"
    contract_id: int
    standard_id: int
    version: int
    period: str
    comment_days: int
    coefficients: dict


@dataclass(frozen=True, kw_only=True)
class AssessmentCreated(Event):
    event_type = "assessments.created"
    label = _l("Assessment opened")
    object_type = "assessment"
    object_field = "assessment_id"
    assessment_id: int
    contract_id: int
    period_key: str
    standard_id: int


@dataclass(frozen=True, kw_only=True)
class AssessmentScored(Event):
    event_type = "assessments.scored"
    label = _l("Assessment indicator scored")
    object_type = "assessment"
    object_field = "assessment_id"
    assessment_id: int
    indicator: str
    points: str | None
    justification: str
    total: str


@dataclass(frozen=True, kw_only=True)
class AssessmentRecomputed(Event):
    event_type = "assessments.recomputed"
    label = _l("Assessment figures recomputed")
    object_type = "assessment"
    object_field = "assessment_id"
    assessment_id: int
    total: str


@dataclass(frozen=True, kw_only=True)
class AssessmentSent(Event):
    event_type = "assessments.sent"
    label = _l("Assessment sent to the provider for comment")
    object_type = "assessment"
    object_field = "assessment_id"
    assessment_id: int
    total: str
    comment_until: str


@dataclass(frozen=True, kw_only=True)
class AssessmentCommented(Event):
    event_type = "assessments.commented"
    label = _l("Provider commented on an assessment")
    object_type = "assessment"
    object_field = "assessment_id"
    assessment_id: int
    comment_id: int
    kind: str
    indicator: str | None
    text: str
    sha256: str | None


@dataclass(frozen=True, kw_only=True)
class AppealDecided(Event):
    event_type = "assessments.appeal_decided"
    label = _l("Assessment appeal decided")
    object_type = "assessment"
    object_field = "assessment_id"
    assessment_id: int
    comment_id: int
    decision: str
    note: str
    points_before: str | None
    points_after: str | None


@dataclass(frozen=True, kw_only=True)
class AssessmentSigned(Event):
    event_type = "assessments.signed"
    label = _l("Assessment signed")
    object_type = "assessment"
    object_field = "assessment_id"
    assessment_id: int
    contract_id: int
    period_key: str
    total: str
    grade: str
    coefficient: str
    consequences: list
    scores: dict


@dataclass(frozen=True, kw_only=True)
class InspectionRecorded(Event):
    event_type = "assessments.inspection"
    label = _l("Field inspection recorded")
    object_type = "inspection"
    object_field = "inspection_id"
    inspection_id: int
    contract_id: int
    region_id: int
    visited_on: str
    findings: list
    photos: list
    rectification_notice_id: int | None
