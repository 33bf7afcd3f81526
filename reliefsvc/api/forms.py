from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from reliefsvc.api.service import LIFETIMES


class TokenForm(FlaskForm):
    name = StringField(_l("Token name"), validators=[DataRequired(_l("Please name the token")), Length(1, 100)],
                       description=_l("What the token is for, e.g. the provincial system synchronisation"))
    days = SelectField(_l("Valid for"), coerce=int, default=90,
                       choices=[SelectChoice(d, _l("%(n)d days", n=d)) for d in LIFETIMES])
    submit = SubmitField(_l("Create token"))


class RevokeForm(FlaskForm):
    submit = SubmitField(_l("Revoke"))
