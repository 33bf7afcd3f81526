"""Browsing and checking the audit log (inspectors and admins)."""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Blueprint, current_app, render_template, request

from reliefsvc.audit import service
from reliefsvc.audit.events import EVENT_TYPES, label_for, object_label
from reliefsvc.audit.models import AuditEntry
from reliefsvc.extensions import db
from reliefsvc.security.access import restrict_access
from reliefsvc.security.forms import ConfirmForm
from reliefsvc.security.models import AUDIT_READER_ROLES, Role  # noqa: F401

bp = Blueprint("audit", __name__, url_prefix="/audit")
LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def _parse_day(text: str | None):
    try:
        return datetime.strptime(text, "%Y-%m-%d").date() if text else None
    except ValueError:
        return None


@bp.route("/")
@restrict_access(*AUDIT_READER_ROLES)  # issue 15: the auditor; the inspector for discipline inspection
def log():
    args = request.args
    query = sa.select(AuditEntry)
    if args.get("event_type"):
        query = query.where(AuditEntry.event_type == args["event_type"])
    if args.get("actor"):
        query = query.where(AuditEntry.actor_name.contains(args["actor"].strip()))
    if args.get("object_type"):
        query = query.where(AuditEntry.object_type == args["object_type"])
    if args.get("object_id"):
        query = query.where(AuditEntry.object_id == args["object_id"].strip())
    day_from, day_to = _parse_day(args.get("from")), _parse_day(args.get("to"))
    if day_from:
        query = query.where(AuditEntry.occurred_at >= datetime.combine(day_from, time(), LOCAL_TZ))
    if day_to:
        query = query.where(AuditEntry.occurred_at < datetime.combine(day_to + timedelta(days=1), time(), LOCAL_TZ))
    page = db.paginate(query.order_by(AuditEntry.seq.desc()),
                       per_page=current_app.config["PAGE_SIZE"], error_out=False)
    return render_template(
        "audit/log.html", page=page, args=args, label_for=label_for, object_label=object_label, json=json,
        event_types=sorted(EVENT_TYPES), verify_form=ConfirmForm(),
    )


@bp.route("/verify", methods=["POST"])
@restrict_access(*AUDIT_READER_ROLES)  # issue 15: the auditor; the inspector for discipline inspection
def verify():
    checked, problem = service.verify_all()
    anchors = len([a for a in service.read_anchors() if a.status == "ok"])
    return render_template("audit/verify.html", checked=checked, problem=problem, anchors=anchors)


def summary() -> dict:
    count, last = db.session.execute(
        sa.select(sa.func.count(AuditEntry.seq), sa.func.max(AuditEntry.occurred_at))
    ).one()
    return {"count": count, "last": last}
