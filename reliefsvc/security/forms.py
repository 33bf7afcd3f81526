from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from reliefsvc.security.models import ROLE_LABELS


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(_l("Please enter your username"))])
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Please enter your password"))])
    submit = SubmitField(_l("Log in"))


class UserCreateForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(_l("Please enter a username")), Length(2, 64)])
    display_name = StringField(_l("Full name"), validators=[DataRequired(_l("Please enter the full name")), Length(1, 100)])
    password = PasswordField(_l("Initial password"), validators=[DataRequired(_l("Please enter a password")), Length(min=8)])
    role = SelectField(_l("Role"), choices=[SelectChoice(r.value, label) for r, label in ROLE_LABELS.items()])
    organisation_id = SelectField(_l("Organisation"), coerce=int, validators=[Optional()])
    submit = SubmitField(_l("Create account"))


class ConfirmForm(FlaskForm):
    """An empty form: a button that changes something, protected by CSRF."""

    submit = SubmitField(_l("Confirm"))
