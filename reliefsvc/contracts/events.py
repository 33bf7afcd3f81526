from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from reliefsvc.audit.events import OBJECT_LABELS, Event

OBJECT_LABELS.update(contract=_l("Contract"), service_type=_l("Service type"))


@dataclass(frozen=True, kw_only=True)
class ContractSaved(Event):
    event_type = "contracts.saved"
    label = _l("Contract saved")
    object_type = "contract"
    object_field = "contract_id"
    contract_id: int
    contract_no: str
    changed: list


@dataclass(frozen=True, kw_only=True)
class ContractStatusChanged(Event):
    event_type = "contracts.status_changed"
    label = _l("Contract status changed")
    object_type = "contract"
    object_field = "contract_id"
    contract_id: int
    contract_no: str
    from_status: str | None
    to_status: str
    effective_on: str
    reason: str
    #: the vetting approval that allowed activation
    vetting_id: int | None
    vetting_valid_until: str | None


@dataclass(frozen=True, kw_only=True)
class ContractAmended(Event):
    event_type = "contracts.amended"
    label = _l("Contract amended")
    object_type = "contract"
    object_field = "contract_id"
    contract_id: int
    contract_no: str
    version: int
    reason: str
    changes: dict


@dataclass(frozen=True, kw_only=True)
class ObligationSaved(Event):
    event_type = "contracts.obligation_saved"
    label = _l("Obligation saved")
    object_type = "contract"
    object_field = "contract_id"
    contract_id: int
    service_type: str
    period: str
    target: int
    unit: str


@dataclass(frozen=True, kw_only=True)
class ContractsImported(Event):
    event_type = "contracts.imported"
    label = _l("Contracts imported")
    filename: str
    sha256: str
    kind: str
    imported: int
    updated: int
    rejected: int


@dataclass(frozen=True, kw_only=True)
class TargetValueEntered(Event):
    event_type = "contracts.target_value"
    label = _l("Performance value entered")
    object_type = "contract"
    object_field = "contract_id"
    contract_id: int
    target: str
    period: str
    value: str
    note: str


@dataclass(frozen=True, kw_only=True)
class ServiceTypeSaved(Event):
    event_type = "contracts.service_type_saved"
    label = _l("Service type saved")
    object_type = "service_type"
    object_field = "code"
    code: str
    name_zh: str
    purchasable: bool


@dataclass(frozen=True, kw_only=True)
class ContractDocumentAdded(Event):
    event_type = "contracts.document_added"
    label = _l("Contract document added")
    object_type = "contract"
    object_field = "contract_id"
    contract_id: int
    kind: str
    sha256: str
    filename: str
