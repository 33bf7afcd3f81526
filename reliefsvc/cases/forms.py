from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    FloatField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from reliefsvc.cases.models import Category, MemberRelation
from reliefsvc.common import idnumber


def id_number_valid(form, field):
    if not (field.data or "").strip():
        field.data = None
        return
    try:
        field.data = idnumber.validate(field.data)
    except idnumber.IdNumberError as exc:
        raise ValidationError(exc.zh) from None


def optional_int(value):
    return int(value) if value not in (None, "") else None


class CheckboxesField(SelectMultipleField):
    """Several choices ticked in a list: easier with a thumb than a multiple select."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class DiscoveryForm(FlaskForm):
    head_name = StringField(_l("Head of household"), validators=[
        DataRequired(_l("Please enter the name of the head of household")), Length(max=50)])
    id_number = StringField(_l("ID number of the head"), validators=[Optional(), id_number_valid])
    #: Rendered by hand with an empty first option, so that no village is chosen by accident.
    village_id = SelectField(_l("Village"), coerce=optional_int, validate_choice=False,
                             validators=[DataRequired(_l("Please choose the village"))])
    address = StringField(_l("Where the house is"), validators=[Optional(), Length(max=200)])
    household_size = IntegerField(_l("Household size"), default=1, validators=[
        DataRequired(_l("Please enter the household size")), NumberRange(1, 30)])
    categories = CheckboxesField(_l("Assistance that may apply"), validators=[Optional()])
    need = TextAreaField(_l("What difficulty did you find?"), validators=[
        DataRequired(_l("Please describe the difficulty")), Length(4, 2000)])
    lat = FloatField(_l("Latitude"), validators=[Optional(), NumberRange(-90, 90)])
    lon = FloatField(_l("Longitude"), validators=[Optional(), NumberRange(-180, 180)])
    submit = SubmitField(_l("Report the household"))

    def __init__(self, *args, villages=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.categories.choices = [SelectChoice(c.value, c.label) for c in Category]
        self.village_id.choices = {township.name: [(v.id, v.name) for v in children] for township, children in villages}


class ReviewForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=500)])
    confirm = SubmitField(_l("Confirm into the registry"))
    dismiss = SubmitField(_l("Dismiss"))


class RevealForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[DataRequired(_l("Please give the reason")), Length(2, 200)])
    submit = SubmitField(_l("Show the full ID number"))


class MemberForm(FlaskForm):
    name = StringField(_l("Full name"), validators=[DataRequired(_l("Please enter the full name")), Length(max=50)])
    relation = SelectField(_l("Relation to the head"))
    id_number = StringField(_l("ID number"), validators=[Optional(), id_number_valid])
    birth_year = IntegerField(_l("Year of birth"), validators=[Optional(), NumberRange(1900, 2100)])
    submit = SubmitField(_l("Add the member"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.relation.choices = [SelectChoice(r.value, r.label) for r in MemberRelation]


class AlertClearForm(FlaskForm):
    note = StringField(_l("How the alert was dealt with"), validators=[
        DataRequired(_l("Please say how the alert was dealt with")), Length(2, 500)])
    submit = SubmitField(_l("Clear the alert"))
