"""Disguised-hiring risk pages: the evidence per contract, the overview, and the panels elsewhere.

Only the bureau's people see it: the risk is about how the purchaser buys, and a
provider's people are not the audience for the evidence about other staff.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from reliefsvc.common import panels
from reliefsvc.contracts.models import Contract, ServiceType
from reliefsvc.extensions import db
from reliefsvc.hiring import rules, service
from reliefsvc.hiring.models import RiskLevel
from reliefsvc.security.access import restrict_access, url_object
from reliefsvc.security.models import BUREAU_ROLES, Role

bp = Blueprint("hiring", __name__, url_prefix="/hiring")

url_object("contract_id", Contract, as_="contract")

#: How many records or staff the contract page's panel names per indicator (the evidence page names all).
PANEL_ITEMS = 5
LEVEL_STYLE = {"low": "success", "medium": "warning", "high": "danger"}


def _is_bureau(user) -> bool:
    return user.is_authenticated and user.role in BUREAU_ROLES


def _rows(result) -> list[dict]:
    """The stored indicators with their label, shown value and threshold and explanation."""
    names = dict(db.session.execute(db.select(ServiceType.code, ServiceType.name_zh)
                                    .where(ServiceType.code.in_(rules.NON_CASE_TYPES))).all())
    return [{**i, "label": service.LABELS[i["code"]], "measures": service.MEASURES[i["code"]],
             "shown_value": service.show_value(i), "shown_threshold": service.show_threshold(i),
             "explanation": service.explain(i), "type_names": names} for i in result.indicators]


def _score_rules():
    return [{"code": s.code, "label": service.LABELS[s.code], "weight": s.weight} for s in rules.INDICATORS]


def contract_panel(contract, user):
    if not _is_bureau(user):
        return None
    result = service.latest(contract)
    return {"result": result, "rows": _rows(result) if result else [], "limit": PANEL_ITEMS,
            "style": LEVEL_STYLE, "can_recompute": user.role is Role.OFFICER}


def home_panel(user):
    if user.role not in (Role.OFFICER, Role.INSPECTOR):
        return None
    results = service.high_risk(levels=(RiskLevel.HIGH, RiskLevel.MEDIUM))
    if not results:
        return None
    # issue 13: the contracts and providers in one query, not one each (the home page's query count is fixed)
    import sqlalchemy as sa
    from sqlalchemy.orm import joinedload

    contracts = db.session.scalars(sa.select(Contract).options(joinedload(Contract.provider))
                                   .where(Contract.id.in_([r.contract_id for r in results]))).all()
    return {"results": results, "style": LEVEL_STYLE, "contracts": contracts}


panels.register("contract", "hiring", "hiring/_contract_panel.html", contract_panel, order=40)
panels.register("home", "hiring", "hiring/_home_panel.html", home_panel, order=40)


def list_column(contracts, user) -> dict | None:
    """For the contract list: each contract's stored level and score (None: no column for this user)."""
    if not _is_bureau(user):
        return None
    return {cid: {"level": r.level.value, "label": r.level.label, "score": r.score, "style": LEVEL_STYLE[r.level.value],
                  "url": url_for("hiring.show", contract_id=cid)}
            for cid, r in service.latest_for(contracts).items()}


@bp.record_once
def _on_register(state):
    state.app.extensions["contract_hiring_risk"] = list_column


@bp.route("/")
@restrict_access(*BUREAU_ROLES)
def index():
    from reliefsvc.contracts import service as contracts

    found = contracts.search(current_user)
    latest = service.latest_for(found)
    rows = sorted(({"contract": c, "result": latest.get(c.id)} for c in found),
                  key=lambda r: (-(r["result"].score if r["result"] else -1), r["contract"].contract_no))
    return render_template("hiring/index.html", rows=rows, style=LEVEL_STYLE, score_rules=_score_rules(),
                           settings=service.installation_settings())


@bp.route("/contracts/<int:contract_id>")
@restrict_access(*BUREAU_ROLES)
def show(contract):
    result = service.latest(contract)
    return render_template("hiring/contract.html", contract=contract, result=result,
                           rows=_rows(result) if result else [], style=LEVEL_STYLE, score_rules=_score_rules(),
                           can_recompute=current_user.role is Role.OFFICER)


@bp.route("/contracts/<int:contract_id>/recompute", methods=["POST"])
@restrict_access(Role.OFFICER)
def recompute(contract):
    result = service.recompute(contract, "manual", current_user)
    flash(_("Disguised-hiring risk recomputed: %(score)d of 100, %(level)s.", score=result.score,
            level=result.level.label), "success")
    return redirect(url_for("hiring.show", contract_id=contract.id))
