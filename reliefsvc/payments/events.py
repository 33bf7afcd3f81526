"""Audit events of payments and fund use: every decision about money is recorded."""

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from reliefsvc.audit.events import OBJECT_LABELS, Event

OBJECT_LABELS.update(payment_entry=_l("Payment entry"), fund_use_report=_l("Fund-use report"))


@dataclass(frozen=True, kw_only=True)
class PaymentSettingsSaved(Event):
    event_type = "payments.settings_saved"
    label = _l("Payment settings saved")
    object_type = "contract"
    object_field = "contract_id"
    contract_id: int
    fee_cap: str
    quantity_weight: str
    budget: dict


@dataclass(frozen=True, kw_only=True)
class InstalmentPlanned(Event):
    event_type = "payments.instalment_planned"
    label = _l("Instalment planned")
    object_type = "contract"
    object_field = "contract_id"
    contract_id: int
    number: int
    share: str
    due_on: str | None
    milestone: str
    period_from: str
    period_to: str


@dataclass(frozen=True, kw_only=True)
class InstalmentRemoved(Event):
    event_type = "payments.instalment_removed"
    label = _l("Instalment removed from the plan")
    object_type = "contract"
    object_field = "contract_id"
    contract_id: int
    number: int


@dataclass(frozen=True, kw_only=True)
class PaymentProposed(Event):
    event_type = "payments.proposed"
    label = _l("Payment proposed")
    object_type = "payment_entry"
    object_field = "entry_id"
    entry_id: int
    contract_id: int
    instalment: int
    kind: str
    planned: str
    computed: str
    deductions: str
    amount: str
    reverses_id: int | None
    computation: list


@dataclass(frozen=True, kw_only=True)
class PaymentApproved(Event):
    event_type = "payments.approved"
    label = _l("Payment approved")
    object_type = "payment_entry"
    object_field = "entry_id"
    entry_id: int
    contract_id: int
    kind: str
    amount: str
    proposed_by: int
    note: str


@dataclass(frozen=True, kw_only=True)
class PaymentRefused(Event):
    event_type = "payments.refused"
    label = _l("Payment not approved")
    object_type = "payment_entry"
    object_field = "entry_id"
    entry_id: int
    contract_id: int
    amount: str
    note: str


@dataclass(frozen=True, kw_only=True)
class DisbursementRecorded(Event):
    event_type = "payments.disbursed"
    label = _l("Disbursement recorded")
    object_type = "payment_entry"
    object_field = "entry_id"
    entry_id: int
    contract_id: int
    amount: str
    disbursed_on: str
    voucher_no: str


@dataclass(frozen=True, kw_only=True)
class FundUseReportSubmitted(Event):
    event_type = "payments.fund_use_submitted"
    label = _l("Fund-use report submitted")
    object_type = "fund_use_report"
    object_field = "report_id"
    report_id: int
    contract_id: int
    period_from: str
    period_to: str
    total: str
    by_category: dict
    findings: list


@dataclass(frozen=True, kw_only=True)
class FundUseReportReviewed(Event):
    event_type = "payments.fund_use_reviewed"
    label = _l("Fund-use report reviewed")
    object_type = "fund_use_report"
    object_field = "report_id"
    report_id: int
    contract_id: int
    note: str


@dataclass(frozen=True, kw_only=True)
class PaymentAnomaliesFound(Event):
    event_type = "payments.anomalies_found"
    label = _l("Payment anomalies listed for an on-site check")
    month: str
    anomalies: list
