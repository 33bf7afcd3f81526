"""The message centre."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, url_for
from flask_login import current_user

from reliefsvc.extensions import db
from reliefsvc.notifications import service
from reliefsvc.notifications.models import Notification
from reliefsvc.security.access import restrict_access, url_object
from reliefsvc.security.forms import ConfirmForm

bp = Blueprint("notifications", __name__, url_prefix="/notifications")

url_object("notification_id", Notification, as_="notification")


@bp.route("/")
@restrict_access()
def inbox():
    page = db.paginate(service.for_user(current_user), per_page=current_app.config["PAGE_SIZE"], error_out=False)
    return render_template("notifications/inbox.html", page=page, form=ConfirmForm())


@bp.route("/<int:notification_id>/read", methods=["POST"])
@restrict_access()
def read(notification):
    if ConfirmForm().validate_on_submit():
        service.mark_read(notification)
    link = notification.link
    # Only paths inside the platform are followed.
    if link and link.startswith("/") and not link.startswith("//"):
        return redirect(link)
    return redirect(url_for("notifications.inbox"))


@bp.route("/read-all", methods=["POST"])
@restrict_access()
def read_all():
    if ConfirmForm().validate_on_submit():
        service.mark_all_read(current_user)
    return redirect(url_for("notifications.inbox"))
