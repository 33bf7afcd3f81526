from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from reliefsvc.audit.events import OBJECT_LABELS, Event

OBJECT_LABELS.update(assistance_case=_l("Case"), case_alert=_l("Monitoring alert"))


@dataclass(frozen=True, kw_only=True)
class CasesImported(Event):
    event_type = "cases.imported"
    label = _l("Cases imported")
    filename: str
    sha256: str
    imported: int
    updated: int
    rejected: int
    alerts_issued: int
    alerts_lifted: int


@dataclass(frozen=True, kw_only=True)
class CaseDiscovered(Event):
    event_type = "cases.discovered"
    label = _l("Household in need reported")
    object_type = "assistance_case"
    object_field = "case_id"
    case_id: int
    case_ref: str
    provider_id: int
    staff_id: int | None
    village_code: str


@dataclass(frozen=True, kw_only=True)
class DiscoveryReviewed(Event):
    event_type = "cases.discovery_reviewed"
    label = _l("Discovered household confirmed or dismissed")
    object_type = "assistance_case"
    object_field = "case_id"
    case_id: int
    case_ref: str
    provider_id: int
    decision: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class DiscoveryImported(Event):
    """The assistance system's file named a discovered household by its official number."""

    event_type = "cases.discovery_imported"
    label = _l("Discovered household found in the imported file")
    object_type = "assistance_case"
    object_field = "case_id"
    case_id: int
    provisional_ref: str
    case_ref: str
    confirmed: bool


@dataclass(frozen=True, kw_only=True)
class CaseIdNumberRevealed(Event):
    event_type = "cases.id_revealed"
    label = _l("Household ID number revealed")
    object_type = "assistance_case"
    object_field = "case_id"
    case_id: int
    member_id: int | None
    reason: str


@dataclass(frozen=True, kw_only=True)
class CaseMemberAdded(Event):
    event_type = "cases.member_added"
    label = _l("Household member added")
    object_type = "assistance_case"
    object_field = "case_id"
    case_id: int
    member_id: int
    relation: str


@dataclass(frozen=True, kw_only=True)
class AlertCleared(Event):
    event_type = "cases.alert_cleared"
    label = _l("Monitoring alert cleared")
    object_type = "case_alert"
    object_field = "alert_id"
    alert_id: int
    case_id: int
    level: str
    record_id: int | None
    note: str
    after_deadline: bool


@dataclass(frozen=True, kw_only=True)
class DemoCasesLoaded(Event):
    event_type = "demo.cases_loaded"
    label = _l("Demo households loaded")
    cases: int
    members: int
    alerts: int
    discovered: int
