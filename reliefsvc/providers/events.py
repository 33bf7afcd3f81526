from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from reliefsvc.audit.events import OBJECT_LABELS, Event

OBJECT_LABELS.update(provider=_l("Provider"), staff=_l("Staff member"), vetting=_l("Vetting"),
                     provider_document=_l("Document"), staff_relation=_l("Relation"),
                     checklist_item=_l("Checklist item"))


@dataclass(frozen=True, kw_only=True)
class ProvidersImported(Event):
    event_type = "providers.imported"
    label = _l("Providers imported")
    filename: str
    sha256: str
    imported: int
    updated: int
    rejected: int


@dataclass(frozen=True, kw_only=True)
class StaffImported(Event):
    event_type = "providers.staff_imported"
    label = _l("Staff roster imported")
    object_type = "provider"
    object_field = "provider_id"
    provider_id: int
    filename: str
    sha256: str
    imported: int
    updated: int
    rejected: int


@dataclass(frozen=True, kw_only=True)
class ProviderSaved(Event):
    event_type = "providers.saved"
    label = _l("Provider details saved")
    object_type = "provider"
    object_field = "provider_id"
    provider_id: int
    uscc: str
    changed: list


@dataclass(frozen=True, kw_only=True)
class StaffSaved(Event):
    event_type = "providers.staff_saved"
    label = _l("Staff member saved")
    object_type = "staff"
    object_field = "staff_id"
    staff_id: int
    provider_id: int
    changed: list


@dataclass(frozen=True, kw_only=True)
class IdNumberRevealed(Event):
    event_type = "providers.id_revealed"
    label = _l("ID number revealed")
    object_type = "staff"
    object_field = "staff_id"
    staff_id: int
    provider_id: int
    reason: str


@dataclass(frozen=True, kw_only=True)
class VettingOpened(Event):
    event_type = "vetting.opened"
    label = _l("Vetting opened")
    object_type = "vetting"
    object_field = "vetting_id"
    vetting_id: int
    provider_id: int
    items: int


@dataclass(frozen=True, kw_only=True)
class VettingItemChecked(Event):
    event_type = "vetting.item_checked"
    label = _l("Vetting item checked")
    object_type = "vetting"
    object_field = "vetting_id"
    vetting_id: int
    item: str
    verdict: str
    remark: str


@dataclass(frozen=True, kw_only=True)
class VettingDecided(Event):
    event_type = "vetting.decided"
    label = _l("Vetting decided")
    object_type = "vetting"
    object_field = "vetting_id"
    vetting_id: int
    provider_id: int
    uscc: str
    decision: str
    decided_on: str
    valid_until: str | None
    conditions: str | None
    condition_deadline: str | None
    reasons: str | None
    items: dict


@dataclass(frozen=True, kw_only=True)
class ExternalVettingRecorded(Event):
    event_type = "vetting.external_recorded"
    label = _l("Outside vetting recorded")
    object_type = "vetting"
    object_field = "vetting_id"
    vetting_id: int
    provider_id: int
    vetted_on: str
    vetted_by: str
    valid_until: str


@dataclass(frozen=True, kw_only=True)
class ConditionsMet(Event):
    event_type = "vetting.conditions_met"
    label = _l("Vetting conditions met")
    object_type = "vetting"
    object_field = "vetting_id"
    vetting_id: int
    note: str


@dataclass(frozen=True, kw_only=True)
class DocumentSubmitted(Event):
    event_type = "providers.document_submitted"
    label = _l("Document submitted")
    object_type = "provider_document"
    object_field = "document_id"
    document_id: int
    provider_id: int
    sha256: str
    filename: str
    vetting_item_id: int | None


@dataclass(frozen=True, kw_only=True)
class RelationRecorded(Event):
    event_type = "providers.relation_recorded"
    label = _l("Relation declared or found")
    object_type = "staff_relation"
    object_field = "relation_id"
    relation_id: int
    provider_id: int
    staff_id: int
    kind: str
    status: str
    related_name: str


@dataclass(frozen=True, kw_only=True)
class RelationReviewed(Event):
    event_type = "providers.relation_reviewed"
    label = _l("Relation confirmed or dismissed")
    object_type = "staff_relation"
    object_field = "relation_id"
    relation_id: int
    status: str
    note: str


@dataclass(frozen=True, kw_only=True)
class ChecklistChanged(Event):
    event_type = "vetting.checklist_changed"
    label = _l("Vetting checklist changed")
    object_type = "checklist_item"
    object_field = "item_id"
    item_id: int
    code: str
    title: str
    is_active: bool
