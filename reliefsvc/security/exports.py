"""Exports of personal data ask for a reason, and the reason lands in the audit log (issue 15).

A view that sends a file with names, ID numbers, addresses or photo positions shows
:class:`ExportReasonForm` (a POST with CSRF), and on a valid submission calls
:func:`record_personal_export` in the same transaction as the download is prepared.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired, Length

from reliefsvc import audit
from reliefsvc.security import events


class ExportReasonForm(FlaskForm):
    reason = StringField(_l("Reason for exporting personal data"), validators=[
        DataRequired(_l("Please say why you export personal data")),
        Length(4, 200, _l("The reason has 4 to 200 characters")),
    ])
    submit = SubmitField(_l("Export"))


def record_personal_export(what: str, reason: str, rows: int, filters: dict | None = None) -> None:
    """Write who exported which personal data, why, and how many rows, to the audit log."""
    audit.record(events.PersonalDataExported(
        what=what, reason=reason.strip(), rows=rows,
        filters={k: str(v) for k, v in (filters or {}).items() if v not in (None, "")}))
