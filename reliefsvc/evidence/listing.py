"""The record list's rows and a household's services received, written in Python (issue 16).

Fifty rows through the template cost more than the rest of the page together — a dozen
expressions, escapes and filter calls a row, each through Jinja's runtime, and a ``url_for``
a row. Here the words every row repeats are translated once, each value escaped once, and
the record links made from one built link, so a page of rows is one join of f-strings.
The markup is the one ``records/index.html`` had (the browser tests read it).
"""

from __future__ import annotations

import html
from collections.abc import Iterable

from flask import current_app, url_for
from flask_babel import gettext as _
from jinja2.filters import do_truncate
from markupsafe import Markup, escape

from reliefsvc.common.formatting import datetime_text, plain_number
from reliefsvc.evidence.models import RecordStatus

STATUS_STYLE = {RecordStatus.SUBMITTED: "secondary", RecordStatus.ACCEPTED: "success", RecordStatus.REJECTED: "danger"}
#: Stands for the ids in the one link built of each kind (far beyond any row's id).
_ID = 987654321987


def _link(built: str, *ids: int) -> str:
    """``built`` (a link made with _ID for each id, as ``/records/<_ID>/photos/<_ID>``) for ``ids``,
    in their order."""
    for value in ids:
        built = built.replace(str(_ID), str(value), 1)
    return built


def _e(value) -> str:
    """Escaped for HTML text and attributes, as a plain string (no Markup object a value)."""
    return html.escape(str(value), quote=True)


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
    out = []
    for r in rows:
        title = _e(r.type_name)
        if r.head_name:
            title += f" · {_e(r.head_name)}（{_e(r.village_name)}）"
        badges = ""
        if r.risk_score > 0:
            badges = (f'<span class="badge text-bg-{_risk_style(r.risk_score)} me-1" data-testid="risk" '
                      f'title="{risk_title}">{_e(risk % {"n": plain_number(r.risk_score)})}</span>')
        facts = [datetime_text(r.started_at, locale), minutes % {"n": r.minutes}, r.worker_name, r.contract_no,
                 r.record_ref]
        if r.photo_count:
            facts.append(photos % {"n": r.photo_count})
        reason = (f'\n    <div class="small text-danger">{_e(rejected % {"why": r.review_reason})}</div>'
                  if r.status is RecordStatus.REJECTED and r.review_reason else "")
        out.append(
            f'  <a class="list-group-item list-group-item-action" href="{_link(link, r.id)}">\n'
            f'    <div class="d-flex flex-wrap justify-content-between gap-2">\n'
            f'      <strong>{title}</strong>\n'
            f'      <span>{badges}<span class="badge text-bg-{STATUS_STYLE[r.status]}">{status[r.status]}</span></span>\n'
            f'    </div>\n'
            f'    <div class="small text-muted">{" · ".join(_e(f) for f in facts)}</div>{reason}\n'
            f'  </a>')
    return Markup("\n".join(out))  # noqa: S704 — every value above is escaped, the rest is ours


def timeline_rows(entries: Iterable, locale: str) -> Markup:
    """The household page's services received (:class:`reliefsvc.evidence.service.TimelineEntry`),
    as ``records/index.html``'s rows are written above: the markup ``cases/show.html`` had."""
    entries = list(entries)
    if not entries:
        return Markup('<div class="list-group-item text-muted">%s</div>') % _(
            "No services recorded for this household yet.")
    env = current_app.jinja_env
    status = {s: escape(s.label) for s in RecordStatus}
    minutes = _("%(n)d min")
    record_link, photo_link = url_for("records.show", record_id=_ID), url_for("records.photo", record_id=_ID,
                                                                               photo_id=_ID)
    out = []
    for r in entries:
        record = _link(record_link, r.id)
        notes = (f'\n    <div class="small text-muted">{_e(do_truncate(env, r.notes, 80))}</div>'
                 if r.notes else "")
        photos = ""
        if r.photo_ids:
            photos = '\n    <div class="d-flex gap-1 mt-1">' + "".join(
                f'<img src="{_link(photo_link, r.id, p)}" alt="" '
                f'loading="lazy" style="height: 3rem">' for p in r.photo_ids) + "</div>"
        out.append(
            f'  <a class="list-group-item list-group-item-action" href="{record}">\n'
            f'    <div class="d-flex flex-wrap justify-content-between gap-2">\n'
            f'      <span><strong>{_e(r.type_name)}</strong> · {datetime_text(r.started_at, locale)} · '
            f'{_e(minutes % {"n": r.minutes})}</span>\n'
            f'      <span class="small">{_e(r.provider_name)} · {_e(r.worker_name)} · {status[r.status]}</span>\n'
            f'    </div>{notes}{photos}\n'
            f'  </a>')
    return Markup("\n".join(out))  # noqa: S704 — every value above is escaped, the rest is ours
