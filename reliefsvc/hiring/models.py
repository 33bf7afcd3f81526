"""Stored hiring-risk assessments: one row per computation, the newest is the current one."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from reliefsvc.common.enums import LabelledEnum
from reliefsvc.contracts.models import Contract
from reliefsvc.db import str_enum
from reliefsvc.extensions import db
from reliefsvc.security.models import User


class RiskLevel(LabelledEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


RiskLevel.LABELS = {"low": _l("Low risk"), "medium": _l("Medium risk"), "high": _l("High risk")}


class HiringRiskResult(db.Model):
    """The disguised-hiring risk of a contract as computed at one moment (lists read this)."""

    __tablename__ = "hiring_risk_result"
    __table_args__ = (
        sa.CheckConstraint("score BETWEEN 0 AND 100", name="score_range"),
        sa.Index("ix_hiring_risk_result_contract_computed", "contract_id", "computed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contract.id", ondelete="CASCADE"))
    computed_at: Mapped[datetime]
    score: Mapped[int]
    level: Mapped[RiskLevel] = mapped_column(str_enum(RiskLevel, 10), index=True)
    #: Each indicator as hiring.rules.Indicator.to_dict(): code, value, threshold,
    #: triggered, weight, facts (for the explanation) and evidence (records, staff, offices).
    indicators: Mapped[list] = mapped_column(sa.JSON)
    #: The thresholds and level bounds in force for this computation.
    settings: Mapped[dict] = mapped_column(sa.JSON)
    #: What asked for it: "job" (the monthly run), "manual" (an officer), "cli", "demo".
    trigger: Mapped[str] = mapped_column(sa.String(10))
    computed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))

    contract: Mapped[Contract] = relationship()
    computed_by: Mapped[User | None] = relationship()

    def visible_to(self, user) -> bool:
        return self.contract.visible_to(user)

    def indicator(self, code: str) -> dict | None:
        return next((i for i in self.indicators if i["code"] == code), None)
