"""The contract page's late alert checks (issue 16, pages): the count is right whether or not the
first page is full, and each row comes with its household and village (no query per row)."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from reliefsvc.cases.models import Alert, AlertLevel
from reliefsvc.common.formatting import LOCAL_TZ
from reliefsvc.contracts import progress
from reliefsvc.extensions import db as _db


def test_late_checks_are_counted_and_loaded_with_their_households(db, create_contract, create_case, villages):
    contract = create_contract()
    now = datetime(2026, 6, 1, 12, 0, tzinfo=LOCAL_TZ)
    for i in range(5):
        case = create_case(villages[i % len(villages)])
        due = now - timedelta(days=10 + i)
        # three never checked, two checked late, one checked on time (not counted)
        cleared = None if i < 3 else due + timedelta(days=1)
        db.session.add(Alert(case=case, level=AlertLevel.RED, issued_at=due - timedelta(days=1), due_at=due,
                             note="独居", cleared_at=cleared))
    on_time = create_case(villages[0])
    db.session.add(Alert(case=on_time, level=AlertLevel.RED, issued_at=now - timedelta(days=3),
                         due_at=now - timedelta(days=2), cleared_at=now - timedelta(days=3), note="按时"))
    db.session.flush()
    db.session.expire_all()

    for limit in (20, 5, 2):
        total, rows = progress.missed_alert_checks(contract, now, limit=limit)
        assert total == 5 and len(rows) == min(5, limit)
        assert [r.due_at for r in rows] == sorted((r.due_at for r in rows), reverse=True)

    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    sa.event.listen(_db.engine, "before_cursor_execute", listener)
    try:
        db.session.expire_all()
        _total, rows = progress.missed_alert_checks(contract, now)
        names = [(r.case.head_name, r.case.village.name) for r in rows]
    finally:
        sa.event.remove(_db.engine, "before_cursor_execute", listener)
    assert len(names) == 5 and len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) <= 2
