"""The rectification board, notices, the provider's answers and the officer's decisions."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from reliefsvc.common import panels
from reliefsvc.common.formatting import today_local
from reliefsvc.extensions import db
from reliefsvc.rectifications import service
from reliefsvc.rectifications.forms import AnswerForm, DecisionForm, NoticeForm
from reliefsvc.rectifications.models import (
    ItemStatus,
    NoticeStatus,
    RectificationAnswer,
    RectificationItem,
    RectificationNotice,
)
from reliefsvc.security.access import restrict_access, url_object
from reliefsvc.security.models import Role
from reliefsvc.web import in_locale

bp = Blueprint("rectifications", __name__, url_prefix="/rectifications")

url_object("notice_id", RectificationNotice, as_="notice")
url_object("rect_item_id", RectificationItem, as_="item", parent=("notice_id", "notice_id"))
url_object("answer_id", RectificationAnswer, as_="answer")

ISSUERS = (Role.OFFICER, Role.EVALUATOR)


def _fail(exc):
    db.session.rollback()
    flash(in_locale(exc), "danger")


@bp.route("/")
@restrict_access()
def board():
    status = request.args.get("status", "open")
    notices = db.session.scalars(service.board_query(current_user, status)).all()
    return render_template("rectifications/board.html", notices=notices, status=status, today=today_local(),
                           Item=ItemStatus)


@bp.route("/new/<int:contract_id>", methods=["GET", "POST"])
@restrict_access(*ISSUERS)
def new(contract):
    form = NoticeForm()
    if form.validate_on_submit():
        items = [(e.what.data or "", e.rule.data or "") for e in form.items]
        try:
            notice = service.raise_notice(contract, items, form.due.data, "officer" if current_user.role is Role.OFFICER
                                          else "inspection", current_user)
        except service.RectificationError as exc:
            _fail(exc)
        else:
            flash(_("Rectification notice issued to %(p)s.", p=contract.provider.name), "success")
            return redirect(url_for("rectifications.show", notice_id=notice.id))
    return render_template("rectifications/new.html", form=form, contract=contract)


@bp.route("/<int:notice_id>")
@restrict_access()
def show(notice):
    provider = current_user.role is Role.PROVIDER_MANAGER
    return render_template("rectifications/show.html", notice=notice, today=today_local(), Item=ItemStatus,
                           Notice=NoticeStatus, can_answer=provider and notice.status is NoticeStatus.OPEN,
                           can_decide=current_user.role is Role.OFFICER, answer_form=AnswerForm(),
                           decision_form=DecisionForm())


@bp.route("/<int:notice_id>/items/<int:rect_item_id>/answer", methods=["POST"])
@restrict_access(Role.PROVIDER_MANAGER)
def answer(notice, item):
    form = AnswerForm()
    if form.validate_on_submit():
        upload = form.file.data
        evidence = None
        if upload and getattr(upload, "filename", ""):
            evidence = service.Evidence(upload.read(), upload.filename or "")
        try:
            service.answer_item(item, form.text.data, evidence, current_user)
        except service.RectificationError as exc:
            _fail(exc)
        else:
            flash(_("Answer sent; the officer will review it."), "success")
    else:
        flash(_("Please say what was done."), "danger")
    return redirect(url_for("rectifications.show", notice_id=notice.id) + f"#item-{item.id}")


@bp.route("/<int:notice_id>/items/<int:rect_item_id>/decide", methods=["POST"])
@restrict_access(Role.OFFICER)
def decide(notice, item):
    form = DecisionForm()
    if form.validate_on_submit():
        try:
            service.decide_item(item, form.verdict.data == "accept", form.note.data or "", current_user)
        except service.RectificationError as exc:
            _fail(exc)
        else:
            flash(_("Decision recorded."), "success")
    else:
        flash(_("Please choose a decision."), "danger")
    return redirect(url_for("rectifications.show", notice_id=notice.id) + f"#item-{item.id}")


@bp.route("/<int:notice_id>/answers/<int:answer_id>/file")
@restrict_access()
def answer_file(notice, answer):
    from flask import abort

    from reliefsvc.evidence import get_storage
    from reliefsvc.evidence.content import without_metadata

    if answer.item.notice_id != notice.id or not answer.sha256:
        abort(404)
    return send_file(without_metadata(get_storage().open(answer.sha256), answer.content_type),
                     mimetype=answer.content_type, as_attachment=False,
                     download_name=answer.filename or "evidence", max_age=0)


# --- panels ---------------------------------------------------------------------------------

def _contract_panel(contract, user):
    notices = service.open_notices(contract)
    return {"notices": notices, "contract": contract, "today": today_local(),
            "can_issue": user.role in ISSUERS}


def _home_panel(user):
    if not (user.role.is_provider or user.role is Role.OFFICER):
        return None
    notices = db.session.scalars(service.board_query(user, "open").limit(10)).all()
    if not notices:
        return None
    return {"notices": notices, "today": today_local()}


panels.register("contract", "rectifications", "rectifications/_contract_panel.html", _contract_panel, order=55, kept=True)
# issue 13: the dashboards show open notices and their deadlines (officer: due this week; provider
# manager: open and overdue) in a fixed number of queries; this list left the home page.
# panels.register("home", "rectifications", "rectifications/_home_panel.html", _home_panel, order=55)

