from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    DateField,
    DecimalField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from reliefsvc.payments.models import LABELS, Category


class InstalmentForm(FlaskForm):
    share = DecimalField(_l("Share of the contract amount (%)"), places=2,
                         validators=[DataRequired(_l("Please give the share")), NumberRange(min=0.01, max=100)])
    period_from = DateField(_l("Work from"), validators=[DataRequired(_l("Please give the dates"))])
    period_to = DateField(_l("Work until"), validators=[DataRequired(_l("Please give the dates"))])
    due_on = DateField(_l("Due on"), validators=[Optional()])
    milestone = StringField(_l("Or a milestone"), validators=[Length(max=200)])
    submit = SubmitField(_l("Add the instalment"))


class EvenPlanForm(FlaskForm):
    count = IntegerField(_l("Number of equal instalments"), default=4,
                         validators=[DataRequired(_l("Please give the number")), NumberRange(min=1, max=24)])
    submit = SubmitField(_l("Make the plan"))


class SettingsForm(FlaskForm):
    fee_cap = DecimalField(_l("Management fee cap (%)"), places=2, default=10,
                           validators=[InputRequired(_l("Please give the cap")), NumberRange(min=0, max=100)])
    quantity_weight = DecimalField(_l("Share of a payment that missed obligations can take off (%)"), places=2,
                                   default=25, validators=[Optional(), NumberRange(min=0, max=100)])
    submit = SubmitField(_l("Save the settings"))


class ProposeForm(FlaskForm):
    note = TextAreaField(_l("Note for the approving officer"), validators=[Length(max=2000)])
    submit = SubmitField(_l("Propose this payment"))


class DecideForm(FlaskForm):
    note = TextAreaField(_l("Decision note"), validators=[Length(max=2000)])


class DisburseForm(FlaskForm):
    disbursed_on = DateField(_l("Disbursed on"), validators=[DataRequired(_l("Please give the date"))])
    voucher_no = StringField(_l("Voucher number"), validators=[DataRequired(_l("Please give the voucher number")),
                                                               Length(max=60)])
    submit = SubmitField(_l("Record the disbursement"))


class ReverseForm(FlaskForm):
    reason = TextAreaField(_l("Reason for the reversal"), validators=[DataRequired(_l("Please give the reason")),
                                                                      Length(max=2000)])
    submit = SubmitField(_l("Propose a reversal"))


class ReportForm(FlaskForm):
    contract_id = SelectField(_l("Contract"), coerce=int)
    period_from = DateField(_l("Period from"), validators=[DataRequired(_l("Please give the dates"))])
    period_to = DateField(_l("Period until"), validators=[DataRequired(_l("Please give the dates"))])
    note = TextAreaField(_l("Note"), validators=[Length(max=2000)])
    submit = SubmitField(_l("Start the report"))


class LineForm(FlaskForm):
    category = SelectField(_l("Category"), choices=[SelectChoice(c.value, LABELS[Category][c.value]) for c in Category])
    purpose = StringField(_l("Spent on"), validators=[DataRequired(_l("Please say what it was spent on")),
                                                      Length(max=300)])
    amount = DecimalField(_l("Amount (yuan)"), places=2, validators=[DataRequired(_l("Please give the amount")),
                                                                    NumberRange(min=0)])
    file = FileField(_l("Receipt (PDF, JPEG or PNG)"))
    submit = SubmitField(_l("Add the line"))


class ReceiptForm(FlaskForm):
    file = FileField(_l("Receipt (PDF, JPEG or PNG)"))
    submit = SubmitField(_l("Upload"))


class ReviewForm(FlaskForm):
    note = TextAreaField(_l("Review note"), validators=[Length(max=2000)])
    submit = SubmitField(_l("Mark as reviewed"))
