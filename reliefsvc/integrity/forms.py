from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DecimalField, IntegerField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, NumberRange


class RunForm(FlaskForm):
    """A button that runs (or restores) something, protected by CSRF."""

    submit = SubmitField(_l("Run the checks now"))


class DismissForm(FlaskForm):
    reason = StringField(_l("Why this flag does not stand"),
                         validators=[DataRequired(_l("Give a reason for dismissing the flag.")), Length(max=500)])
    submit = SubmitField(_l("Dismiss"))


def _whole(label, low):
    return IntegerField(label, validators=[DataRequired(), NumberRange(min=low)])


def _number(label, low):
    return DecimalField(label, places=None, validators=[NumberRange(min=low)])


class ThresholdsForm(FlaskForm):
    """One field per setting of ``service.SETTINGS``, named as the setting."""

    flash_burst_per_day = _whole(_l("Field services per worker and day, at most"), 1)
    time_overlap_minutes = _number(_l("Overlap of two services of one worker, minutes, at most"), 0)
    travel_max_kmh = _number(_l("Straight-line speed between services, km/h, at most"), 1)
    travel_min_km = _number(_l("Distances up to this many km are not checked for speed"), 0)
    photo_time_minutes = _number(_l("Photo taken outside the service by at most, minutes"), 0)
    photo_place_km = _number(_l("Photo taken from the household at most, km"), 0)
    late_entry_days = _number(_l("Record entered after the service at most, days"), 0)
    notes_min_length = _whole(_l("Notes compared from this many characters"), 5)
    notes_max_edits = IntegerField(_l("Characters that may differ in copied notes, at most"),
                                   validators=[NumberRange(min=0, max=20)])
    submit = SubmitField(_l("Save the thresholds"))
