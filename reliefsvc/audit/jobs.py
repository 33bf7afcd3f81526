"""The daily check of the audit chain, and the anchor of its head outside the database."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from reliefsvc import audit
from reliefsvc.audit import rules
from reliefsvc.audit.events import AuditChainVerified
from reliefsvc.audit.models import AuditEntry
from reliefsvc.extensions import db
from reliefsvc.jobs.registry import JobSpec
from reliefsvc.notifications import service as notifications
from reliefsvc.security.models import Role


def verify_chain(period: str, now: datetime) -> str:
    checked, problem = audit.verify_log()
    head = db.session.execute(sa.select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).scalar()
    head_hash = rules.row_hash(rules.ChainRow(**{f: getattr(head, f) for f in rules.ChainRow.__dataclass_fields__})) \
        if head else rules.GENESIS_HASH
    # The head's hash written beside the database: a later truncation or rewrite of the
    # table no longer matches what was anchored here.
    anchors = Path(current_app.instance_path) / "audit-anchors.log"
    with anchors.open("a", encoding="utf-8") as fh:
        fh.write(f"{period}\t{head.seq if head else 0}\t{head_hash}\t{'ok' if problem is None else 'damaged'}\n")
    audit.record(AuditChainVerified(checked=checked, intact=problem is None,
                                    first_problem=problem.seq if problem else None))
    if problem is not None:
        notifications.notify_roles(
            (Role.ADMIN, Role.INSPECTOR), "audit.damaged",
            f"审计日志校验未通过：第 {problem.seq} 条", problem.detail_zh, link="/audit/")
        return f"第 {problem.seq} 条起损坏：{problem.detail_zh} / damaged at entry {problem.seq}"
    return f"审计日志完好，共 {checked} 条 / {checked} entries intact"


JOBS = [
    JobSpec("audit.verify", verify_chain, "daily", {"hour": 1, "minute": 30},
            _l("Verify the audit chain and anchor its head hash outside the database")),
]
