"""The ledger filters: GET forms (no CSRF: they change nothing), one per ledger."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import NumberRange, Optional


class _Filter(FlaskForm):
    class Meta:
        csrf = False


class PeriodMixin:
    day_from = DateField(_l("From"), validators=[Optional()])
    day_to = DateField(_l("To"), validators=[Optional()])


class ServiceLedgerForm(_Filter, PeriodMixin):
    contract_id = SelectField(_l("Contract"), coerce=int)


class CaseLedgerForm(_Filter, PeriodMixin):
    village_id = SelectField(_l("Village"), coerce=int)


class SpotCheckLedgerForm(_Filter, PeriodMixin):
    contract_id = SelectField(_l("Contract"), coerce=int)


class RectificationLedgerForm(_Filter, PeriodMixin):
    contract_id = SelectField(_l("Contract"), coerce=int)
    status = SelectField(_l("Notices"), choices=[SelectChoice("", _l("All")),
                                                 SelectChoice("open", _l("Not yet closed")),
                                                 SelectChoice("closed", _l("Closed"))], default="")


class PaymentLedgerForm(_Filter):
    contract_id = SelectField(_l("Contract"), coerce=int)
    year = IntegerField(_l("Year"), validators=[Optional(), NumberRange(2000, 2100)])


class EvaluationSummaryForm(_Filter):
    year = IntegerField(_l("Year"), validators=[Optional(), NumberRange(2000, 2100)])
