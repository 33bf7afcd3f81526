from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from reliefsvc.contracts.models import (
    ContractStatus,
    DocumentKind,
    Period,
    PricingModel,
    ProcurementMethod,
    TargetGroup,
    Unit,
)
from reliefsvc.contracts.rules import INDICATORS


def enum_choices(cls, exclude=()):
    return [SelectChoice(m.value, m.label) for m in cls if m not in exclude]


class ContractForm(FlaskForm):
    contract_no = StringField(_l("Contract number"), validators=[DataRequired(_l("Please enter the contract number")), Length(max=60)])
    title = StringField(_l("Project title"), validators=[DataRequired(_l("Please enter the title")), Length(max=200)])
    provider_id = SelectField(_l("Provider"), coerce=int)
    purchaser = StringField(_l("Purchaser"), validators=[DataRequired(), Length(max=200)])
    procurement_method = SelectField(_l("Procurement method"))
    amount = DecimalField(_l("Contract amount (yuan)"), places=2, validators=[DataRequired(_l("Please enter the amount")), NumberRange(min=0)])
    budget_source = StringField(_l("Budget source"), validators=[Optional(), Length(max=200)])
    starts_on = DateField(_l("Start date"), validators=[DataRequired(_l("Please enter the start date"))])
    ends_on = DateField(_l("End date"), validators=[DataRequired(_l("Please enter the end date"))])
    pricing_model = SelectField(_l("Pricing model"))
    payment_linked = BooleanField(_l("Payment tied to assessment results"), default=True)
    villages = SelectMultipleField(_l("Service area (villages)"), coerce=int)
    submit = SubmitField(_l("Save"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.procurement_method.choices = enum_choices(ProcurementMethod)
        self.pricing_model.choices = enum_choices(PricingModel)


class ObligationForm(FlaskForm):
    service_type = SelectField(_l("Service type"))
    target = IntegerField(_l("Target"), validators=[DataRequired(_l("Please enter the target")), NumberRange(min=1)])
    unit = SelectField(_l("Unit"))
    period = SelectField(_l("Period"))
    extra_rule = SelectField(_l("Extra rule"), validators=[Optional()])
    submit = SubmitField(_l("Add obligation"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.unit.choices = enum_choices(Unit)
        self.period.choices = enum_choices(Period)
        self.extra_rule.choices = [SelectChoice("", _l("None")),
                                   SelectChoice("red_alert_24h", _l("Every red alert in the area checked within 24 hours")),
                                   SelectChoice("tekun_monthly", _l("Every 特困 household visited each month"))]


class TargetForm(FlaskForm):
    group = SelectField(_l("Group"))
    name = StringField(_l("Indicator"), validators=[DataRequired(), Length(max=200)])
    target_value = DecimalField(_l("Target value"), places=4, validators=[DataRequired()])
    unit = StringField(_l("Unit"), validators=[Optional(), Length(max=20)])
    comparison = SelectField(_l("Met when the value is"), choices=[SelectChoice(">=", "≥"), SelectChoice("<=", "≤")])
    computed_by = SelectField(_l("How it is measured"))
    submit = SubmitField(_l("Add indicator"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.group.choices = enum_choices(TargetGroup)
        self.computed_by.choices = [SelectChoice("", _l("Entered by an evaluator"))] + [
            SelectChoice(code, how) for code, how in INDICATORS.items()]


class TargetValueForm(FlaskForm):
    period = StringField(_l("Period"), validators=[DataRequired(), Length(max=10)])
    value = DecimalField(_l("Value"), places=4, validators=[DataRequired()])
    note = StringField(_l("Basis"), validators=[DataRequired(_l("Please give the basis of the value")), Length(max=500)])
    submit = SubmitField(_l("Enter value"))


class StatusForm(FlaskForm):
    status = SelectField(_l("New status"))
    effective_on = DateField(_l("Effective on"), validators=[Optional()])
    reason = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=2000)])
    submit = SubmitField(_l("Change status"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.status.choices = enum_choices(ContractStatus, exclude=(ContractStatus.DRAFT,))


class AmendForm(FlaskForm):
    reason = TextAreaField(_l("Why the contract changes"), validators=[DataRequired(_l("Please give the reason"))])
    amount = DecimalField(_l("New amount (yuan)"), places=2, validators=[Optional(), NumberRange(min=0)])
    ends_on = DateField(_l("New end date"), validators=[Optional()])
    end_obligations = SelectMultipleField(_l("Obligations that end"), coerce=int, validators=[Optional()])
    add_service_type = SelectField(_l("New obligation: service type"), validators=[Optional()])
    add_target = IntegerField(_l("Target"), validators=[Optional(), NumberRange(min=1)])
    add_unit = SelectField(_l("Unit"), validators=[Optional()])
    add_period = SelectField(_l("Period"), validators=[Optional()])
    submit = SubmitField(_l("Record the amendment"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_unit.choices = enum_choices(Unit)
        self.add_period.choices = enum_choices(Period)


class DocumentForm(FlaskForm):
    kind = SelectField(_l("Kind"))
    file = FileField(_l("Document (PDF, JPEG or PNG)"), validators=[FileRequired(_l("Please choose a file"))])
    submit = SubmitField(_l("Upload"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = enum_choices(DocumentKind)


class ServiceTypeForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=40)])
    name_zh = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    case_linked = BooleanField(_l("Tied to a household"))
    field_work = BooleanField(_l("Field work"))
    min_minutes = IntegerField(_l("Minimum minutes"), validators=[Optional(), NumberRange(min=0)])
    photo_required = BooleanField(_l("Photo required"))
    purchasable = BooleanField(_l("May be purchased"), default=True)
    not_purchasable_reason = StringField(_l("Why it may not be purchased"), validators=[Optional(), Length(max=300)])
    submit = SubmitField(_l("Save"))
