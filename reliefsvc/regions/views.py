"""The region tree and its import page."""

from __future__ import annotations

from flask import Blueprint, render_template

from reliefsvc.common.forms import ImportForm
from reliefsvc.regions import service
from reliefsvc.regions.models import Region
from reliefsvc.security.access import restrict_access, url_object
from reliefsvc.security.models import Role
from reliefsvc.web import flash_import

bp = Blueprint("regions", __name__, url_prefix="/regions")

url_object("region_id", Region, as_="region")


@bp.route("/")
@restrict_access()
def tree():
    return render_template("regions/tree.html", counties=service.tree(), counts=service.counts())


@bp.route("/<int:region_id>")
@restrict_access()
def show(region):
    return render_template("regions/show.html", region=region)


@bp.route("/import", methods=["GET", "POST"])
@restrict_access(Role.ADMIN)
def import_file():
    form = ImportForm()
    report = None
    if form.validate_on_submit():
        upload = form.file.data
        report = service.import_regions(upload.read(), filename=upload.filename or "",
                                        encoding=form.encoding.data, partial=form.partial.data)
        flash_import(report)
    return render_template("regions/import.html", form=form, report=report)
