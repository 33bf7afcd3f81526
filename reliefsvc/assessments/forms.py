from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, MultipleFileField
from wtforms import (
    DateField,
    DecimalField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional


class NewAssessmentForm(FlaskForm):
    contract_id = SelectField(_l("Contract"), coerce=int)
    period_key = StringField(_l("Period (e.g. 2026-05 or 2026-Q2)"),
                             validators=[DataRequired(_l("Please give the period")), Length(max=10)])
    submit = SubmitField(_l("Open the assessment"))


class ScoreForm(FlaskForm):
    points = DecimalField(_l("Points"), places=2, validators=[DataRequired(_l("Please enter the points")),
                                                              NumberRange(min=0)])
    justification = TextAreaField(_l("Justification"), validators=[DataRequired(_l("Please give the justification")),
                                                                   Length(max=2000)])
    submit = SubmitField(_l("Save the score"))


class CommentForm(FlaskForm):
    kind = RadioField(_l("Kind"), choices=[SelectChoice("comment", _l("Comment")),
                                           SelectChoice("appeal", _l("Appeal against an indicator"))],
                      default="comment")
    indicator_id = SelectField(_l("Indicator appealed"), coerce=int, validators=[Optional()])
    text = TextAreaField(_l("Your comment or the grounds of the appeal"),
                         validators=[DataRequired(_l("Please write the comment")), Length(max=4000)])
    file = FileField(_l("Evidence (PDF, JPEG or PNG; required for an appeal)"))
    submit = SubmitField(_l("Send"))


class AppealDecisionForm(FlaskForm):
    decision = RadioField(_l("Decision"), choices=[SelectChoice("upheld", _l("Appeal upheld")),
                                                   SelectChoice("rejected", _l("Appeal rejected"))],
                          validators=[DataRequired(_l("Please choose a decision"))])
    new_points = DecimalField(_l("New points (when upheld)"), places=2, validators=[Optional(), NumberRange(min=0)])
    note = TextAreaField(_l("Reasons"), validators=[DataRequired(_l("Please give the reasons")), Length(max=2000)])
    submit = SubmitField(_l("Record the decision"))


class ConfirmForm(FlaskForm):
    submit = SubmitField(_l("Confirm"))


class SectionForm(FlaskForm):
    name = StringField(_l("Section"), validators=[DataRequired(), Length(max=100)])
    points = DecimalField(_l("Points"), places=2, validators=[DataRequired(), NumberRange(min=0.01)])
    submit = SubmitField(_l("Add the section"))


class IndicatorForm(FlaskForm):
    section_id = SelectField(_l("Section"), coerce=int)
    name = StringField(_l("Indicator"), validators=[DataRequired(), Length(max=200)])
    max_points = DecimalField(_l("Maximum points"), places=2, validators=[DataRequired(), NumberRange(min=0.01)])
    method = SelectField(_l("Scoring method"))
    source = SelectField(_l("Computed from / events"), validators=[Optional()])
    full_at = DecimalField(_l("Full points at"), places=4, validators=[Optional()])
    zero_at = DecimalField(_l("No points at"), places=4, validators=[Optional()])
    per_event = DecimalField(_l("Points off per event"), places=2, validators=[Optional()])
    guidance = TextAreaField(_l("Scoring guidance"), validators=[Optional(), Length(max=2000)])
    submit = SubmitField(_l("Add the indicator"))


class GradesForm(FlaskForm):
    excellent_from = DecimalField(_l("Excellent from"), places=2, validators=[DataRequired()])
    good_from = DecimalField(_l("Good from"), places=2, validators=[DataRequired()])
    pass_from = DecimalField(_l("Pass from"), places=2, validators=[DataRequired()])
    submit = SubmitField(_l("Save the grade edges"))


class BindingForm(FlaskForm):
    standard_id = SelectField(_l("Assessment standard"), coerce=int)
    period = SelectField(_l("Assessed"), choices=[SelectChoice("month", _l("Monthly")),
                                                  SelectChoice("quarter", _l("Quarterly"))])
    comment_days = IntegerField(_l("Comment window (days)"), validators=[DataRequired(), NumberRange(1, 60)])
    coef_excellent = DecimalField(_l("Payment coefficient: excellent"), places=2, validators=[DataRequired()])
    coef_good = DecimalField(_l("Payment coefficient: good"), places=2, validators=[DataRequired()])
    coef_pass = DecimalField(_l("Payment coefficient: pass"), places=2, validators=[DataRequired()])
    coef_fail = DecimalField(_l("Payment coefficient: fail"), places=2, validators=[DataRequired()])
    submit = SubmitField(_l("Save"))


class InspectionForm(FlaskForm):
    contract_id = SelectField(_l("Contract"), coerce=int)
    region_id = SelectField(_l("Village"), coerce=int)
    place = StringField(_l("Service station or place"), validators=[Optional(), Length(max=200)])
    visited_on = DateField(_l("Date of the visit"), validators=[DataRequired(_l("Please give the date"))])
    people_met = TextAreaField(_l("People met"), validators=[Optional(), Length(max=2000)])
    summary = TextAreaField(_l("Summary"), validators=[Optional(), Length(max=4000)])
    photos = MultipleFileField(_l("Photos"))
    rectify_due = DateField(_l("Deadline for rectification"), validators=[Optional()])
    submit = SubmitField(_l("Save the inspection"))
