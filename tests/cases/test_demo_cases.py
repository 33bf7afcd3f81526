"""The demo county's households: a believable mix, alerts to chase, discoveries to confirm."""

import sqlalchemy as sa

from reliefsvc.audit.models import AuditEntry
from reliefsvc.cases.models import Alert, Case, CaseCategory, CaseStatus, DiscoveryStatus, Origin
from reliefsvc.common import idnumber
from reliefsvc.db import utcnow
from reliefsvc.providers import service as providers
from reliefsvc.providers.models import Relation, RelationKind


def test_demo_households(db, monkeypatch):
    from reliefsvc import demo

    steps = demo._steps()
    names = [name for name, _step in steps]
    monkeypatch.setattr(demo, "_steps", lambda: steps[:names.index("cases") + 1])  # later steps are not ours
    demo.load()
    session = db.session
    imported = session.scalar(sa.select(sa.func.count()).where(Case.origin == Origin.IMPORTED))
    assert imported == 5000
    shares = dict(session.execute(sa.select(CaseCategory.category, sa.func.count()).group_by(CaseCategory.category)).all())
    assert shares["dibao"] > 0.6 * imported and 0.07 * imported < shares["tekun"] < 0.14 * imported
    assert shares["jiance"] > 0 and shares["bianyuan"] > 0 and shares["linshi"] > 0
    tekun_sizes = session.scalars(sa.select(Case.household_size).join(CaseCategory).where(
        CaseCategory.category == "tekun")).all()
    assert sum(size == 1 for size in tekun_sizes) > 0.7 * len(tekun_sizes)
    ended = session.scalars(sa.select(Case).where(Case.status.in_([CaseStatus.CLOSED, CaseStatus.DECEASED]))).all()
    assert ended and all(c.status_changed_on for c in ended)
    for number in session.scalars(sa.select(Case.head_id_number).where(Case.head_id_number.is_not(None)).limit(200)):
        idnumber.validate(number)
    # houses within ~1.5 km of their village centre
    for case in session.scalars(sa.select(Case).where(Case.lat.is_not(None)).limit(300)):
        assert abs(case.lat - case.village.lat) < 0.015 and abs(case.lon - case.village.lon) < 0.02

    now = utcnow()
    for level in ("red", "orange", "yellow"):
        open_alerts = session.scalars(sa.select(Alert).where(Alert.level == level, Alert.cleared_at.is_(None))).all()
        assert len(open_alerts) == 12
        assert 3 <= sum(a.is_overdue(now) for a in open_alerts) <= 4
    assert session.scalar(sa.select(sa.func.count()).where(Alert.cleared_at.is_not(None))) == 24
    states = dict(session.execute(sa.select(Case.discovery_status, sa.func.count()).where(
        Case.origin == Origin.DISCOVERED).group_by(Case.discovery_status)).all())
    assert states == {DiscoveryStatus.PENDING: 5, DiscoveryStatus.CONFIRMED: 2, DiscoveryStatus.DISMISSED: 1}
    assert session.scalar(sa.select(sa.func.count()).where(AuditEntry.event_type == "demo.cases_loaded")) == 1

    # The planted problem: a worker of the labour company heads a 低保 household it serves.
    payroll = providers.get_by_uscc(providers.rules.make_uscc("91", "622901", "MA7X2B3C"))
    assert providers.find_relations(payroll) >= 1
    found = session.scalars(sa.select(Relation).where(Relation.kind == RelationKind.CASE_HOUSEHOLD)).all()
    assert any(r.match_key.startswith(f"case:{r.staff_id}:head:") and r.provider_id == payroll.id for r in found)
