"""The shapes of the JSON API, as marshmallow schemas.

Each is used three ways, so that the description cannot drift from the behaviour: to read
and check input (``load``), to shape output (``dump``), and by apispec to write the
OpenAPI description (``spec.py``).
"""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

from reliefsvc.cases.rules import ALERT_CHOICES, CATEGORY_CHOICES, STATUS_CHOICES
from reliefsvc.common.tabular import LOCAL_TZ


def DateTime(**kwargs):  # noqa: N802 - a field factory, used like a field class
    """An input time; one without an offset is Asia/Shanghai local time, as in the interchange files."""
    return fields.AwareDateTime(default_timezone=LOCAL_TZ, **kwargs)


#: Ids are INTEGER columns: 32 bits on PostgreSQL. A larger id names nothing (and must not reach the database).
MAX_ID = 2**31 - 1


def Id(**kwargs):  # noqa: N802 - a field factory
    return fields.Integer(validate=validate.Range(1, MAX_ID), **kwargs)


class Query(Schema):
    class Meta:
        unknown = EXCLUDE


class PageQuery(Query):
    cursor = fields.String(metadata={"description": "`next_cursor` of the previous page; omit for the first."})
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))


class ProblemError(Schema):
    field = fields.String(allow_none=True)
    row = fields.Integer(allow_none=True)
    en = fields.String(required=True)
    zh = fields.String(required=True)


class ProblemSchema(Schema):
    type = fields.String(required=True)
    status = fields.Integer(required=True)
    title = fields.String(required=True)
    title_zh = fields.String(required=True)
    detail = fields.String(required=True)
    detail_zh = fields.String(required=True)
    errors = fields.List(fields.Nested(ProblemError))


# --- regions and providers -----------------------------------------------------------------

class RegionQuery(PageQuery):
    level = fields.String(validate=validate.OneOf(["county", "township", "village"]))
    parent_code = fields.String(validate=validate.Length(1, 12))


class RegionSchema(Schema):
    id = fields.Integer(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)
    level = fields.String(required=True, validate=validate.OneOf(["county", "township", "village"]))
    parent_code = fields.String(required=True, allow_none=True)
    #: a village's centre is reference data, not a household's position
    lat = fields.Float(required=True, allow_none=True)
    lon = fields.Float(required=True, allow_none=True)


class ProviderSchema(Schema):
    """A provider as an organisation: no staff, no names or phones of people, no bank account."""

    id = fields.Integer(required=True)
    uscc = fields.String(required=True)
    name = fields.String(required=True)
    org_type = fields.String(required=True)
    registered_on = fields.Date(required=True, allow_none=True)
    registration_authority = fields.String(required=True, allow_none=True)
    address = fields.String(required=True, allow_none=True)
    active_staff = fields.Integer(required=True)


# --- contracts -----------------------------------------------------------------------------

class ContractQuery(PageQuery):
    status = fields.String(validate=validate.OneOf(["draft", "active", "suspended", "completed", "terminated"]))
    provider_id = Id()


class ObligationSchema(Schema):
    id = fields.Integer(required=True)
    contract_id = fields.Integer(required=True)
    service_type = fields.String(required=True)
    period = fields.String(required=True)
    target = fields.Integer(required=True)
    unit = fields.String(required=True)
    extra_rule = fields.String(required=True, allow_none=True)
    ended_in_version = fields.Integer(required=True, allow_none=True)


class ContractSchema(Schema):
    id = fields.Integer(required=True)
    contract_no = fields.String(required=True)
    title = fields.String(required=True)
    provider_id = fields.Integer(required=True)
    provider_uscc = fields.String(required=True)
    purchaser = fields.String(required=True)
    procurement_method = fields.String(required=True)
    amount = fields.String(required=True, metadata={"description": "yuan, two decimals, as text"})
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(required=True)
    pricing_model = fields.String(required=True)
    payment_linked = fields.Boolean(required=True)
    status = fields.String(required=True)
    version = fields.Integer(required=True)
    service_area = fields.List(fields.String(), required=True, metadata={"description": "village codes"})
    obligations = fields.List(fields.Nested(ObligationSchema), required=True)


# --- cases ---------------------------------------------------------------------------------

class CaseQuery(PageQuery):
    status = fields.String(validate=validate.OneOf(list(STATUS_CHOICES)))
    village_code = fields.String(validate=validate.Length(1, 12))


class AlertSchema(Schema):
    level = fields.String(required=True)
    issued_at = fields.DateTime(required=True)
    due_at = fields.DateTime(required=True)


class CaseSchema(Schema):
    id = fields.Integer(required=True)
    case_ref = fields.String(required=True)
    head_name = fields.String(required=True)
    id_number_masked = fields.String(required=True, metadata={"description": "first four and last four only"})
    village_code = fields.String(required=True)
    categories = fields.List(fields.String(), required=True)
    household_size = fields.Integer(required=True)
    status = fields.String(required=True)
    status_changed_on = fields.Date(required=True, allow_none=True)
    origin = fields.String(required=True)
    discovery_status = fields.String(required=True, allow_none=True)
    lat = fields.Float(required=True, allow_none=True, metadata={"description": "bureau roles only; null for providers"})
    lon = fields.Float(required=True, allow_none=True, metadata={"description": "bureau roles only; null for providers"})
    open_alert = fields.Nested(AlertSchema, required=True, allow_none=True)
    updated_at = fields.DateTime(required=True)


class CaseInput(Schema):
    """One household as the provincial export has it (columns of ``cases import``)."""

    head_name = fields.String(required=True, validate=validate.Length(1, 50))
    id_number = fields.String(required=True, validate=validate.Length(15, 18))
    village_code = fields.String(required=True, validate=validate.Length(6, 12))
    categories = fields.List(fields.String(validate=validate.OneOf(list(CATEGORY_CHOICES))), required=True,
                             validate=validate.Length(min=1))
    household_size = fields.Integer(required=True, validate=validate.Range(1, 99))
    status = fields.String(validate=validate.OneOf(list(STATUS_CHOICES)), load_default=None)
    status_changed_on = fields.Date(load_default=None, allow_none=True)
    alert_level = fields.String(validate=validate.OneOf(list(ALERT_CHOICES)), load_default=None, allow_none=True)
    alert_issued_at = DateTime(load_default=None, allow_none=True)
    lat = fields.Float(validate=validate.Range(-90, 90), load_default=None, allow_none=True)
    lon = fields.Float(validate=validate.Range(-180, 180), load_default=None, allow_none=True)


# --- service records -----------------------------------------------------------------------

class RecordQuery(PageQuery):
    contract_id = Id()
    status = fields.String(validate=validate.OneOf(["submitted", "accepted", "rejected"]))


class ChangesQuery(Query):
    cursor = fields.String(metadata={"description": "`next_cursor` of the previous call; omit to start at the beginning"})
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 500))


class PhotoSchema(Schema):
    id = fields.Integer(required=True)
    sha256 = fields.String(required=True)
    content_type = fields.String(required=True)
    width = fields.Integer(required=True)
    height = fields.Integer(required=True)
    exif_time = fields.DateTime(required=True, allow_none=True)
    exif_lat = fields.Float(required=True, allow_none=True, metadata={"description": "bureau roles only"})
    exif_lon = fields.Float(required=True, allow_none=True, metadata={"description": "bureau roles only"})
    url = fields.String(required=True, metadata={"description": "the display copy (no EXIF)"})


class RecordSchema(Schema):
    id = fields.Integer(required=True)
    record_ref = fields.String(required=True)
    contract_id = fields.Integer(required=True)
    worker_id = fields.Integer(required=True)
    case_id = fields.Integer(required=True, allow_none=True)
    case_ref = fields.String(required=True, allow_none=True)
    service_type = fields.String(required=True)
    started_at = fields.DateTime(required=True)
    ended_at = fields.DateTime(required=True)
    minutes = fields.Integer(required=True)
    month = fields.String(required=True)
    lat = fields.Float(required=True, allow_none=True, metadata={"description": "bureau roles only"})
    lon = fields.Float(required=True, allow_none=True, metadata={"description": "bureau roles only"})
    notes = fields.String(required=True)
    source = fields.String(required=True)
    status = fields.String(required=True)
    review_reason = fields.String(required=True, allow_none=True)
    version = fields.Integer(required=True)
    refuted = fields.Boolean(required=True)
    risk_score = fields.Float(required=True)
    submitted_at = fields.DateTime(required=True)
    photos = fields.List(fields.Nested(PhotoSchema), required=True)


class RecordInput(Schema):
    """A service record as a phone sends it (multipart/form-data, photos as files)."""

    class Meta:
        unknown = EXCLUDE

    contract_id = Id(required=True)
    worker_id = Id(required=True)
    service_type = fields.String(required=True, validate=validate.Length(1, 40))
    case_ref = fields.String(validate=validate.Length(1, 40))
    started_at = DateTime(required=True,
                          metadata={"description": "ISO 8601; a time without offset is Asia/Shanghai"})
    ended_at = DateTime(required=True)
    lat = fields.Float(validate=validate.Range(-90, 90))
    lon = fields.Float(validate=validate.Range(-180, 180))
    notes = fields.String(load_default="", validate=validate.Length(max=4000))
    record_ref = fields.String(validate=validate.Length(1, 60),
                               metadata={"description": "the ledger number; default: made from the Idempotency-Key"})
    photos = fields.List(fields.Raw(metadata={"type": "string", "format": "binary"}),
                         metadata={"description": "JPEG or PNG files, at most 9"})


class ChangeSchema(Schema):
    change_id = fields.Integer(required=True)
    action = fields.String(required=True, metadata={"description": "submitted, accepted, rejected, corrected, refuted"})
    version = fields.Integer(required=True)
    at = fields.DateTime(required=True)
    record = fields.Nested(RecordSchema, required=True)


# --- integrity, spot checks, assessments ---------------------------------------------------

class FlagQuery(PageQuery):
    contract_id = Id()
    record_id = Id()
    code = fields.String(validate=validate.Length(1, 24))
    include_dismissed = fields.Boolean(load_default=False)


class FlagSchema(Schema):
    id = fields.Integer(required=True)
    record_id = fields.Integer(required=True)
    record_ref = fields.String(required=True)
    contract_id = fields.Integer(required=True)
    code = fields.String(required=True)
    severity = fields.String(required=True, validate=validate.OneOf(["high", "medium", "low"]))
    detail = fields.String(required=True)
    related_record_id = fields.Integer(required=True, allow_none=True)
    found_at = fields.DateTime(required=True)
    dismissed = fields.Boolean(required=True)
    dismissed_at = fields.DateTime(required=True, allow_none=True)
    dismiss_reason = fields.String(required=True)


class ResultsQuery(Query):
    day_from = fields.Date(data_key="from", metadata={"description": "default: the contract's start"})
    day_to = fields.Date(data_key="to", metadata={"description": "default: the contract's end"})


class TallySchema(Schema):
    checked = fields.Integer(required=True)
    confirmed = fields.Integer(required=True)
    partly = fields.Integer(required=True)
    not_delivered = fields.Integer(required=True)


class SpotCheckResultsSchema(TallySchema):
    contract_id = fields.Integer(required=True)
    day_from = fields.Date(required=True)
    day_to = fields.Date(required=True)
    false_rate = fields.Float(required=True, allow_none=True)
    lower = fields.Float(required=True, allow_none=True)
    upper = fields.Float(required=True, allow_none=True)
    upper_one_sided = fields.Float(required=True, allow_none=True)
    confidence = fields.Float(required=True)
    draws = fields.Integer(required=True)
    finished_draws = fields.Integer(required=True)
    pending_checks = fields.Integer(required=True)
    risk = fields.Nested(TallySchema, required=True)


class DrawQuery(PageQuery):
    contract_id = Id()


class DrawItemSchema(Schema):
    record_id = fields.Integer(required=True)
    record_ref = fields.String(required=True)
    ticket = fields.String(required=True)
    stratum = fields.String(required=True)
    outcome = fields.String(required=True, allow_none=True)
    checked_at = fields.DateTime(required=True, allow_none=True)


class DrawSchema(Schema):
    id = fields.Integer(required=True)
    contract_id = fields.Integer(required=True)
    day_from = fields.Date(required=True)
    day_to = fields.Date(required=True)
    status = fields.String(required=True)
    size_rule = fields.String(required=True)
    size = fields.Integer(required=True)
    risk_size = fields.Integer(required=True)
    population_size = fields.Integer(required=True)
    frame_hash = fields.String(required=True, allow_none=True)
    seed = fields.String(required=True, allow_none=True)
    drawn_at = fields.DateTime(required=True, allow_none=True)
    published_at = fields.DateTime(required=True, allow_none=True)
    items = fields.List(fields.Nested(DrawItemSchema), required=True)


class AssessmentQuery(PageQuery):
    contract_id = Id()
    status = fields.String(validate=validate.Length(1, 12))


class ScoreSchema(Schema):
    indicator_id = fields.Integer(required=True)
    indicator = fields.String(required=True)
    points = fields.String(required=True, allow_none=True)
    figure = fields.String(required=True)


class AssessmentSchema(Schema):
    id = fields.Integer(required=True)
    contract_id = fields.Integer(required=True)
    period = fields.String(required=True)
    period_key = fields.String(required=True)
    day_from = fields.Date(required=True)
    day_to = fields.Date(required=True)
    status = fields.String(required=True)
    total = fields.String(required=True)
    grade = fields.String(required=True, allow_none=True)
    coefficient = fields.String(required=True, allow_none=True)
    consequences = fields.List(fields.String(), required=True)
    sent_at = fields.DateTime(required=True, allow_none=True)
    comment_until = fields.Date(required=True, allow_none=True)
    signed_at = fields.DateTime(required=True, allow_none=True)
    scores = fields.List(fields.Nested(ScoreSchema), required=True)


# --- annual evaluations --------------------------------------------------------------------

class EvaluationQuery(PageQuery):
    contract_id = Id()
    status = fields.String(validate=validate.OneOf(["draft", "commenting", "signed"]))
    year = fields.Integer(validate=validate.Range(1900, 2999),
                          metadata={"description": "the calendar year the execution year begins in"})


class IndicatorSchema(Schema):
    """A figure read from the platform's data when the evaluation was opened (aggregates only)."""

    key = fields.String(required=True)
    name = fields.String(required=True)
    figure = fields.String(required=True)
    source = fields.String(required=True)
    value = fields.String(required=True, allow_none=True)


class DimensionSchema(Schema):
    code = fields.String(required=True, validate=validate.OneOf(["management", "outcomes", "funds"]))
    name = fields.String(required=True)
    score = fields.String(required=True, allow_none=True, metadata={"description": "0–100, two decimals, as text"})
    narrative = fields.String(required=True)
    scored_at = fields.DateTime(required=True, allow_none=True)
    indicators = fields.List(fields.Nested(IndicatorSchema), required=True)


class EvaluationCommentSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(["comment", "no_further"]))
    text = fields.String(required=True)
    at = fields.DateTime(required=True)


class EvaluationSchema(Schema):
    id = fields.Integer(required=True)
    contract_id = fields.Integer(required=True)
    year_no = fields.Integer(required=True)
    year = fields.Integer(required=True)
    day_from = fields.Date(required=True)
    day_to = fields.Date(required=True)
    due_on = fields.Date(required=True)
    status = fields.String(required=True, validate=validate.OneOf(["draft", "commenting", "signed"]))
    origin = fields.String(required=True)
    figures_at = fields.DateTime(required=True, allow_none=True)
    mean = fields.String(required=True, allow_none=True, metadata={"description": "mean of the three scores"})
    rating = fields.String(required=True, allow_none=True,
                           validate=validate.OneOf(["excellent", "good", "pass", "fail"]))
    rebuy = fields.Boolean(required=True, allow_none=True,
                           metadata={"description": "whether the bureau would buy from this provider again"})
    summary = fields.String(required=True)
    sent_at = fields.DateTime(required=True, allow_none=True)
    comment_until = fields.Date(required=True, allow_none=True)
    comments_closed_at = fields.DateTime(required=True, allow_none=True)
    signed_at = fields.DateTime(required=True, allow_none=True)
    doc_no = fields.String(required=True, allow_none=True)
    dimensions = fields.List(fields.Nested(DimensionSchema), required=True)
    comments = fields.List(fields.Nested(EvaluationCommentSchema), required=True)


# --- payments and fund use -----------------------------------------------------------------

MONEY = {"description": "yuan, two decimals, as text"}


class InstalmentSchema(Schema):
    id = fields.Integer(required=True)
    contract_id = fields.Integer(required=True)
    number = fields.Integer(required=True)
    share = fields.String(required=True, metadata={"description": "fraction of the contract amount, as text"})
    planned = fields.String(required=True, metadata=MONEY)
    due_on = fields.Date(required=True, allow_none=True)
    milestone = fields.String(required=True)
    period_from = fields.Date(required=True)
    period_to = fields.Date(required=True)
    entry_ids = fields.List(fields.Integer(), required=True, metadata={"description": "its payment entries"})


class ComputationLineSchema(Schema):
    kind = fields.String(required=True)
    text_zh = fields.String(required=True)
    text_en = fields.String(required=True)
    amount = fields.String(required=True, metadata=MONEY)


class PaymentQuery(PageQuery):
    contract_id = Id()
    status = fields.String(validate=validate.OneOf(["proposed", "approved", "refused"]))
    kind = fields.String(validate=validate.OneOf(["payment", "reversal"]))


class PaymentSchema(Schema):
    """A payment entry (or the reversal of one). The officers who proposed and decided it
    are not named."""

    id = fields.Integer(required=True)
    contract_id = fields.Integer(required=True)
    instalment_id = fields.Integer(required=True)
    instalment_number = fields.Integer(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(["payment", "reversal"]))
    reverses_id = fields.Integer(required=True, allow_none=True)
    status = fields.String(required=True, validate=validate.OneOf(["proposed", "approved", "refused"]))
    planned = fields.String(required=True, metadata=MONEY)
    computed = fields.String(required=True, metadata=MONEY)
    deductions = fields.String(required=True, metadata=MONEY)
    amount = fields.String(required=True, metadata={"description": "yuan, two decimals, as text; a reversal: "
                                                                   "the amount taken back, positive"})
    signed_amount = fields.String(required=True, metadata={"description": "the effect on what the contract was "
                                                                          "paid (a reversal negative)"})
    computation = fields.List(fields.Nested(ComputationLineSchema), required=True)
    note = fields.String(required=True)
    proposed_at = fields.DateTime(required=True)
    decided_at = fields.DateTime(required=True, allow_none=True)
    decision_note = fields.String(required=True)
    disbursed_on = fields.Date(required=True, allow_none=True)
    voucher_no = fields.String(required=True, allow_none=True)


class FundUseQuery(PageQuery):
    contract_id = Id()
    status = fields.String(validate=validate.OneOf(["draft", "submitted", "reviewed"]))


class FundUseLineSchema(Schema):
    id = fields.Integer(required=True)
    category = fields.String(required=True)
    purpose = fields.String(required=True)
    amount = fields.String(required=True, metadata=MONEY)
    receipts = fields.Integer(required=True, metadata={"description": "number of receipts"})


class FindingSchema(Schema):
    kind = fields.String(required=True)
    zh = fields.String(required=True)
    en = fields.String(required=True)
    line_id = fields.Integer(required=True, allow_none=True, metadata={"description": "null: the whole report"})


class FundUseReportSchema(Schema):
    id = fields.Integer(required=True)
    contract_id = fields.Integer(required=True)
    period_from = fields.Date(required=True)
    period_to = fields.Date(required=True)
    status = fields.String(required=True, validate=validate.OneOf(["draft", "submitted", "reviewed"]))
    note = fields.String(required=True)
    submitted_at = fields.DateTime(required=True, allow_none=True)
    reviewed_at = fields.DateTime(required=True, allow_none=True)
    review_note = fields.String(required=True)
    total = fields.String(required=True, metadata=MONEY)
    fee_share = fields.String(required=True, allow_none=True,
                              metadata={"description": "management fee share of the spending, as text"})
    unit_cost = fields.String(required=True, allow_none=True,
                              metadata={"description": "spending per accepted service of the period"})
    lines = fields.List(fields.Nested(FundUseLineSchema), required=True)
    findings = fields.List(fields.Nested(FindingSchema), required=True,
                           metadata={"description": "the checks as they stand now (the page's)"})
