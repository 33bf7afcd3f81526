from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    DateField,
    DateTimeLocalField,
    DecimalField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional


class FreezeForm(FlaskForm):
    """The frame and the sample size, fixed before the seed is known."""

    day_from = DateField(_l("Records from"), validators=[DataRequired(_l("Please enter the first day"))])
    day_to = DateField(_l("Records to"), validators=[DataRequired(_l("Please enter the last day"))])
    size_rule = SelectField(_l("Sample size rule"), default="share")
    min_count = IntegerField(_l("Minimum count"), default=10, validators=[Optional(), NumberRange(min=0)])
    share_percent = DecimalField(_l("Share (%)"), default=5, places=2,
                                 validators=[Optional(), NumberRange(min=0, max=100)])
    confidence_percent = DecimalField(_l("Confidence (%)"), default=95, places=2,
                                      validators=[Optional(), NumberRange(min=1, max=99.99)])
    tolerable_percent = DecimalField(_l("Tolerable false-service rate (%)"), default=5, places=2,
                                     validators=[Optional(), NumberRange(min=0.01, max=99.99)])
    expected_errors = IntegerField(_l("False services the sample may contain"), default=0,
                                   validators=[Optional(), NumberRange(min=0)])
    size = IntegerField(_l("Fixed size"), default=10, validators=[Optional(), NumberRange(min=0)])
    risk_size = IntegerField(_l("Risk stratum (highest risk scores)"), default=0,
                             validators=[Optional(), NumberRange(min=0)])
    submit = SubmitField(_l("Freeze the frame"))


class SeedForm(FlaskForm):
    seed = StringField(_l("Seed"), validators=[DataRequired(_l("Please enter the seed")), Length(max=200)])
    rolled_by = StringField(_l("Rolled by"), validators=[DataRequired(_l("Please say who rolled the dice")),
                                                         Length(max=200)])
    witnesses = StringField(_l("Witnesses"), validators=[Optional(), Length(max=300)])
    rolled_at = DateTimeLocalField(_l("Rolled at"), format="%Y-%m-%dT%H:%M", validators=[Optional()])
    submit = SubmitField(_l("Enter the seed and draw"))


class EscalateForm(FlaskForm):
    new_size = IntegerField(_l("New random-stratum size"), validators=[DataRequired(), NumberRange(min=1)])
    submit = SubmitField(_l("Escalate the sample"))


class PublishForm(FlaskForm):
    submit = SubmitField(_l("Publish the results"))


class CheckForm(FlaskForm):
    method = RadioField(_l("How checked"), validators=[DataRequired(_l("Please choose how you checked"))])
    happened = RadioField(_l("Did the service take place?"),
                          validators=[DataRequired(_l("Please say whether the service took place"))])
    minutes = IntegerField(_l("How long (minutes)"), validators=[Optional(), NumberRange(min=0, max=1440)])
    what_done = TextAreaField(_l("What was done, as the household says"), validators=[Optional(), Length(max=2000)])
    satisfaction = SelectField(_l("Household satisfaction"), default="")
    photo = FileField(_l("Photo"))
    remarks = TextAreaField(_l("Remarks"), validators=[Optional(), Length(max=2000)])
    outcome = RadioField(_l("Outcome"), validators=[DataRequired(_l("Please choose the outcome"))])
    submit = SubmitField(_l("File the result"))
