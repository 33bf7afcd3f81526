"""The region tree and its import page."""

from __future__ import annotations

from flask import Blueprint, flash, render_template
from flask_babel import gettext as _

from reliefsvc.common.forms import ImportForm
from reliefsvc.extensions import db
from reliefsvc.regions import service
from reliefsvc.regions.models import Region
from reliefsvc.security.access import restrict_access, url_object
from reliefsvc.security.models import Role

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
        if report.written:
            flash(_("Import finished: %(imported)d new, %(updated)d updated, %(rejected)d rejected.",
                    imported=report.imported, updated=report.updated, rejected=report.rejected), "success")
        else:
            db.session.rollback()
            flash(_("Nothing was imported: the file has %(n)d errors. Correct them and import again.",
                    n=len(report.errors)), "danger")
    return render_template("regions/import.html", form=form, report=report)
