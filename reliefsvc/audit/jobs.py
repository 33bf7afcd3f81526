"""The daily check of the audit chain, and the anchor of its head outside the database."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l

from reliefsvc import audit
from reliefsvc.audit import service
from reliefsvc.audit.events import AuditChainVerified
from reliefsvc.jobs.registry import JobSpec
from reliefsvc.notifications import service as notifications
from reliefsvc.security.models import Role


def verify_chain(period: str, now: datetime) -> str:
    # The chain and the earlier anchors first: a truncation (newest entries removed) or a
    # rewrite under the key is visible only against what was written out before.
    checked, problem = service.verify_all()
    # The head's hash written beside the database: a later truncation or rewrite of the
    # table no longer matches what was anchored here.
    anchor = service.write_anchor(period, intact=problem is None)
    audit.record(AuditChainVerified(checked=checked, intact=problem is None,
                                    first_problem=problem.seq if problem else None))
    if problem is not None:
        notifications.notify_roles(
            (Role.ADMIN, Role.INSPECTOR), "audit.damaged",
            f"审计日志校验未通过：第 {problem.seq} 条", problem.detail_zh, link="/audit/")
        return f"第 {problem.seq} 条起损坏：{problem.detail_zh} / damaged at entry {problem.seq}"
    return (f"审计日志完好，共 {checked} 条；已锚定第 {anchor.seq} 条 {anchor.hash[:12]} / "
            f"{checked} entries intact, head {anchor.seq} anchored")


JOBS = [
    JobSpec("audit.verify", verify_chain, "daily", {"hour": 1, "minute": 30},
            _l("Verify the audit chain and anchor its head hash outside the database")),
]
