"""The record list's rows, written in Python (issue 16).

Fifty rows through the template cost more than the rest of the page together — a dozen
expressions, escapes and filter calls a row, each through Jinja's runtime, and a ``url_for``
a row. Here the words every row repeats are translated once, each value escaped once, and
the record links made from one built link, so a page of rows is one join of f-strings.
The markup is the one ``records/index.html`` had (the browser tests read it).
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import url_for
from flask_babel import gettext as _
from markupsafe import Markup, escape

from reliefsvc.common.formatting import datetime_text, plain_number
from reliefsvc.evidence.models import RecordStatus

STATUS_STYLE = {RecordStatus.SUBMITTED: "secondary", RecordStatus.ACCEPTED: "success", RecordStatus.REJECTED: "danger"}
#: Stands for the record id in the one link built (no record has it: ids are positive).
_ID = 0


def _risk_style(score: float) -> str:
    return "danger" if score >= 60 else "warning" if score >= 30 else "light"


def record_rows(rows: Iterable, locale: str) -> Markup:
    """``<a class="list-group-item">`` per row of :class:`reliefsvc.evidence.views.RowPage`;
    the empty list's line when there is none."""
    rows = list(rows)
    if not rows:
        return Markup('<div class="list-group-item text-muted">%s</div>') % _("No service records.")
    status = {s: escape(s.label) for s in RecordStatus}
    risk_title, risk, minutes, photos = (escape(_("Risk score from the integrity flags")), _("Risk %(n)s"),
                                         _("%(n)d min"), _("%(n)d photos"))
    rejected = _("Rejected: %(why)s")
    link = url_for("records.show", record_id=_ID)
    head, tail = link[:link.rindex(str(_ID))], link[link.rindex(str(_ID)) + len(str(_ID)):]
    out = []
    for r in rows:
        title = escape(r.type_name)
        if r.head_name:
            title += Markup(" · %s（%s）") % (r.head_name, r.village_name)
        badges = ""
        if r.risk_score > 0:
            badges = (f'<span class="badge text-bg-{_risk_style(r.risk_score)} me-1" data-testid="risk" '
                      f'title="{risk_title}">{escape(risk % {"n": plain_number(r.risk_score)})}</span>')
        facts = [datetime_text(r.started_at, locale), minutes % {"n": r.minutes}, r.worker_name, r.contract_no,
                 r.record_ref]
        if r.photo_count:
            facts.append(photos % {"n": r.photo_count})
        reason = (f'\n    <div class="small text-danger">{escape(rejected % {"why": r.review_reason})}</div>'
                  if r.status is RecordStatus.REJECTED and r.review_reason else "")
        out.append(
            f'  <a class="list-group-item list-group-item-action" href="{head}{r.id}{tail}">\n'
            f'    <div class="d-flex flex-wrap justify-content-between gap-2">\n'
            f'      <strong>{title}</strong>\n'
            f'      <span>{badges}<span class="badge text-bg-{STATUS_STYLE[r.status]}">{status[r.status]}</span></span>\n'
            f'    </div>\n'
            f'    <div class="small text-muted">{" · ".join(str(escape(f)) for f in facts)}</div>{reason}\n'
            f'  </a>')
    return Markup("\n".join(out))  # noqa: S704 — every value above is escaped, the rest is ours
