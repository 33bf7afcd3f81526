from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from reliefsvc.security.models import DUTY_ROLES, ROLE_LABELS


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(_l("Please enter your username"))])
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Please enter your password"))])
    submit = SubmitField(_l("Log in"))


class UserCreateForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(_l("Please enter a username")), Length(2, 64)])
    display_name = StringField(_l("Full name"), validators=[DataRequired(_l("Please enter the full name")), Length(1, 100)])
    # The policy (length, classes, common list) is checked by the server in identity.check_password.
    password = PasswordField(_l("Initial password"), validators=[DataRequired(_l("Please enter a password"))])
    # 三员分立: the three duty roles are given at the console (reliefsvc users create), not here.
    role = SelectField(_l("Role"), choices=[SelectChoice(r.value, label) for r, label in ROLE_LABELS.items()
                                            if r not in DUTY_ROLES])
    organisation_id = SelectField(_l("Organisation"), coerce=int, validators=[Optional()])
    submit = SubmitField(_l("Create account"))


class ConfirmForm(FlaskForm):
    """An empty form: a button that changes something, protected by CSRF."""

    submit = SubmitField(_l("Confirm"))


# --- identity (issue 15) -------------------------------------------------------------------

class ChangePasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired(_l("Please enter your current password"))])
    new = PasswordField(_l("New password"), validators=[DataRequired(_l("Please enter a new password"))])
    repeat = PasswordField(_l("New password again"), validators=[DataRequired(_l("Please enter the new password again"))])
    submit = SubmitField(_l("Change password"))


class SecondFactorForm(FlaskForm):
    code = StringField(_l("Six-digit code from the authenticator app"), validators=[Optional(), Length(max=12)])
    recovery = StringField(_l("Or a recovery code"), validators=[Optional(), Length(max=40)])
    submit = SubmitField(_l("Confirm"))


class EnrolForm(FlaskForm):
    code = StringField(_l("Six-digit code from the authenticator app"),
                       validators=[DataRequired(_l("Please enter the code")), Length(max=12)])
    submit = SubmitField(_l("Turn on the second factor"))


class CodeForm(FlaskForm):
    """A button that needs a fresh code from the authenticator app (new recovery codes)."""

    code = StringField(_l("Six-digit code from the authenticator app"),
                       validators=[DataRequired(_l("Please enter the code")), Length(max=12)])
    submit = SubmitField(_l("Make new recovery codes"))


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"))
    submit = SubmitField(_l("Change role"))
