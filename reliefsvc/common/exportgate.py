"""The page between a download link and a file of personal data (issue 15).

A view that sends names, ID numbers or positions answers GET with a form asking why
(``security.exports.ExportReasonForm``); the POST with a valid reason records the export
in the audit log (``record_personal_export``) in the request's transaction and sends the
file. Any link to the download keeps working: it now leads to the question first.
"""

from __future__ import annotations

from flask import render_template

from reliefsvc.security.exports import ExportReasonForm, record_personal_export


def reason_given() -> tuple[ExportReasonForm, str | None]:
    """The form, and the reason when this request is a valid POST of it (else None)."""
    form = ExportReasonForm()
    if form.validate_on_submit():
        return form, form.reason.data.strip()
    return form, None


def ask(form: ExportReasonForm, title, back: str):
    """The page that asks for the reason (a refused POST shows its errors with status 200)."""
    return render_template("common/export_reason.html", form=form, title=title, back=back)


def cli_export(what: str, rows: int, filters: dict | None = None, reason: str | None = None) -> None:
    """Record an export from the command line: the reason given, or "CLI" where the
    interchange spec fixes the command's options, with the operating-system user."""
    import getpass

    try:
        os_user = getpass.getuser()
    except (KeyError, OSError):
        os_user = "unknown"
    record_personal_export(what, reason or "CLI", rows, {**(filters or {}), "os_user": os_user})
