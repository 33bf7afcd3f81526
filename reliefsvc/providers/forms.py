from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from reliefsvc.common import idnumber
from reliefsvc.providers import rules
from reliefsvc.providers.models import OrgType, RelationKind, StaffRole, Verdict, VettingStatus


class LazyChoices:
    """Labels are translated per request, so choices are built when the form is."""

    def __init__(self, enum_cls, exclude=()):
        self.enum_cls, self.exclude = enum_cls, exclude

    def __call__(self):
        return [SelectChoice(m.value, m.label) for m in self.enum_cls if m not in self.exclude]


def uscc_valid(form, field):
    try:
        field.data = rules.validate_uscc(field.data or "")
    except rules.UsccError as exc:
        raise ValidationError(exc.zh) from None


def id_number_valid(form, field):
    try:
        field.data = idnumber.validate(field.data or "")
    except idnumber.IdNumberError as exc:
        raise ValidationError(exc.zh) from None


class ProviderForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(_l("Please enter the name")), Length(max=200)])
    uscc = StringField(_l("Unified social credit code"), validators=[DataRequired(_l("Please enter the code")), uscc_valid])
    org_type = SelectField(_l("Organisation type"))
    registered_on = DateField(_l("Registration date"), validators=[Optional()])
    registration_authority = StringField(_l("Registration authority"), validators=[Optional(), Length(max=200)])
    legal_rep = StringField(_l("Legal representative"), validators=[Optional(), Length(max=50)])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=300)])
    phone = StringField(_l("Telephone"), validators=[Optional(), Length(max=30)])
    contact_person = StringField(_l("Contact person"), validators=[Optional(), Length(max=50)])
    contact_phone = StringField(_l("Contact telephone"), validators=[Optional(), Length(max=30)])
    bank_name = StringField(_l("Bank"), validators=[Optional(), Length(max=100)])
    bank_account = StringField(_l("Bank account"), validators=[Optional(), Length(max=40)])
    submit = SubmitField(_l("Save"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.org_type.choices = LazyChoices(OrgType)()


class StaffForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(_l("Please enter the name")), Length(max=50)])
    id_number = StringField(_l("ID number"), validators=[DataRequired(_l("Please enter the ID number")), id_number_valid])
    phone = StringField(_l("Mobile"), validators=[Optional(), Length(min=11, max=11)])
    role = SelectField(_l("Post"))
    qualification = StringField(_l("Qualification"), validators=[Optional(), Length(max=100)])
    hired_on = DateField(_l("Hiring date"), validators=[Optional()])
    nominated_by_purchaser = BooleanField(_l("Named or recruited by the purchaser"))
    attendance_by_purchaser = BooleanField(_l("Attendance kept by the purchaser"))
    submit = SubmitField(_l("Save"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = LazyChoices(StaffRole)()


class LeftForm(FlaskForm):
    left_on = DateField(_l("Leaving date"), validators=[DataRequired(_l("Please enter the leaving date"))])
    submit = SubmitField(_l("Record leaving"))


class RevealForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[DataRequired(_l("Please give the reason")), Length(2, 200)])
    submit = SubmitField(_l("Show the full ID number"))


class DocumentForm(FlaskForm):
    file = FileField(_l("Document (PDF, JPEG or PNG)"), validators=[FileRequired(_l("Please choose a file"))])
    vetting_item_id = HiddenField()
    submit = SubmitField(_l("Upload"))


class VerdictForm(FlaskForm):
    verdict = SelectField(_l("Verdict"))
    remark = TextAreaField(_l("Remark"), validators=[Optional(), Length(max=2000)])
    submit = SubmitField(_l("Save verdict"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.verdict.choices = LazyChoices(Verdict)()


class DecisionForm(FlaskForm):
    decision = SelectField(_l("Decision"))
    valid_until = DateField(_l("Valid until"), validators=[Optional()])
    conditions = TextAreaField(_l("Conditions"), validators=[Optional(), Length(max=2000)])
    condition_deadline = DateField(_l("Deadline for the conditions"), validators=[Optional()])
    reasons = TextAreaField(_l("Reasons"), validators=[Optional(), Length(max=2000)])
    submit = SubmitField(_l("Record the decision"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.decision.choices = LazyChoices(VettingStatus, exclude=(VettingStatus.OPEN,))()


class ConditionsMetForm(FlaskForm):
    note = TextAreaField(_l("How the conditions were met"), validators=[DataRequired(_l("Please describe"))])
    submit = SubmitField(_l("Confirm the conditions are met"))


class RelationForm(FlaskForm):
    staff_id = SelectField(_l("Staff member"), coerce=int)
    kind = SelectField(_l("Relation to"))
    related_name = StringField(_l("Name of the relative"), validators=[DataRequired(_l("Please enter the name")), Length(max=100)])
    relationship_text = StringField(_l("Kinship"), validators=[DataRequired(_l("Please enter the kinship")), Length(max=200)])
    related_detail = StringField(_l("Where the relative works or lives"), validators=[Optional(), Length(max=200)])
    submit = SubmitField(_l("Declare"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = LazyChoices(RelationKind)()


class ReviewForm(FlaskForm):
    note = StringField(_l("Note"), validators=[Optional(), Length(max=500)])
    confirm = SubmitField(_l("Confirm"))
    dismiss = SubmitField(_l("Dismiss"))


class ChecklistItemForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=40)])
    title = StringField(_l("Item"), validators=[DataRequired(), Length(max=200)])
    guidance = TextAreaField(_l("What to check"), validators=[Optional()])
    needs_document = BooleanField(_l("Needs a document"), default=True)
    position = IntegerField(_l("Order"), default=100)
    is_active = BooleanField(_l("In use"), default=True)
    submit = SubmitField(_l("Save"))

