from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired, MultipleFileField
from wtforms import (
    DateTimeLocalField,
    FloatField,
    HiddenField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional


class RecordForm(FlaskForm):
    #: A one-time key made when the form is shown: a retried upload saves the record once.
    submission_key = HiddenField()
    contract_id = SelectField(_l("Contract"), coerce=int)
    case_id = SelectField(_l("Household"), coerce=int, validate_choice=False)
    service_type = SelectField(_l("Service type"))
    worker_id = SelectField(_l("Worker"), coerce=int)
    started_at = DateTimeLocalField(_l("Start"), format="%Y-%m-%dT%H:%M",
                                    validators=[DataRequired(_l("Please enter the start time"))])
    ended_at = DateTimeLocalField(_l("End"), format="%Y-%m-%dT%H:%M",
                                  validators=[DataRequired(_l("Please enter the end time"))])
    notes = TextAreaField(_l("What was done and found"), validators=[Optional(), Length(max=4000)])
    photos = MultipleFileField(_l("Photos"))
    lat = FloatField(validators=[Optional()])
    lon = FloatField(validators=[Optional()])
    submit = SubmitField(_l("Submit the record"))


class ReviewForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=1000)])
    accept = SubmitField(_l("Accept"))
    reject = SubmitField(_l("Reject"))


class LedgerForm(FlaskForm):
    contract_id = SelectField(_l("Contract"), coerce=int)
    file = FileField(_l("Ledger (CSV or XLSX)"), validators=[FileRequired(_l("Please choose a file"))])
    photos = FileField(_l("Photos (ZIP)"))
    encoding = SelectField(_l("Encoding of a CSV file"), default="utf-8")
    submit = SubmitField(_l("Import"))
