"""Run the integrity checks over the demo's records, as the nightly job would have."""

from __future__ import annotations

import sqlalchemy as sa

from reliefsvc.extensions import db


def step(ctx) -> None:
    from reliefsvc.integrity import service
    from reliefsvc.integrity.models import IntegrityFlag
    from reliefsvc.security.models import Role, User

    service.run()
    # One flag an officer has looked into and dismissed, so the demo shows how that reads.
    late = db.session.scalar(sa.select(IntegrityFlag).where(IntegrityFlag.code == "LATE_ENTRY")
                             .order_by(IntegrityFlag.id).limit(1))
    officer = db.session.scalar(sa.select(User).where(User.role == Role.OFFICER).order_by(User.id).limit(1))
    if late is not None and officer is not None:
        service.dismiss(late, officer, "乡里网络中断一周，补录延迟情况属实，已电话核实服务对象")
