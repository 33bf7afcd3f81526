"""``audit.record_many`` (issue 16): the same rows as one ``audit.record`` call per event.

Same seq, time, actor, masked canonical payload, MAC and chain hash — compared column by
column against N calls of ``record`` in the same position of the chain, with the clock
fixed so that both runs take the same times.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from reliefsvc import audit
from reliefsvc.audit import rules
from reliefsvc.audit import service as audit_service
from reliefsvc.audit.events import Event
from reliefsvc.audit.models import AuditEntry
from tests.conftest import make_id


@dataclass(frozen=True, kw_only=True)
class ManyThing(Event):
    event_type = "test.many_thing"
    label = "many thing"
    object_type = "thing"
    object_field = "thing_id"
    thing_id: int
    note: str
    tags: tuple = ()


@dataclass(frozen=True, kw_only=True)
class Plain(Event):
    event_type = "test.plain"
    label = "plain"
    count: int


@dataclass(frozen=True, kw_only=True)
class Flat(Event):
    event_type = "test.flat"
    label = "flat"
    object_type = "thing"
    object_field = "thing_id"
    thing_id: int
    note: str
    share: float
    done: bool
    left: str | None


COLUMNS = [c.name for c in AuditEntry.__table__.columns]


def _events(n: int) -> list[Event]:
    out: list[Event] = []
    for i in range(n):
        if i % 4 == 3:
            out.append(Plain(count=i))
        elif i % 4 == 2:
            out.append(Flat(thing_id=i, note=f"身份证{make_id(i)}", share=i / 3, done=bool(i % 3), left=None))
        else:
            # An ID number in a field: stored masked by both paths.
            out.append(ManyThing(thing_id=i, note=f"第{i}户 户主身份证 {make_id(i)}，\"引号\"", tags=("甲", i)))
    return out


@pytest.fixture
def clock(monkeypatch):
    """utcnow as seen by the audit service: 1 ms later at every call, restartable."""
    state = {}

    def restart():
        state["t"] = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)

    def now():
        state["t"] += timedelta(microseconds=1000)
        return state["t"]

    restart()
    monkeypatch.setattr(audit_service, "utcnow", now)
    return restart


def _rows(db, after: int) -> list[tuple]:
    db.session.flush()
    return [tuple(r) for r in db.session.execute(
        sa.select(*[AuditEntry.__table__.c[name] for name in COLUMNS])
        .where(AuditEntry.seq > after).order_by(AuditEntry.seq))]


@pytest.mark.parametrize("before", [0, 3])
@pytest.mark.parametrize("as_user", [False, True])
def test_record_many_stores_the_rows_of_n_record_calls(db, clock, create_user, before, as_user):
    user = create_user() if as_user else None
    for i in range(before):
        audit.record(Plain(count=-i))
    db.session.commit()  # the test's savepoint: what follows is rolled back to here
    before = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry))  # the user's own entries too
    events = _events(11)

    clock()
    for e in events:
        audit.record(e, actor=user)
    one_by_one = _rows(db, before)
    db.session.rollback()

    clock()
    assert audit.record_many(events, actor=user) == 11
    many = _rows(db, before)

    assert len(one_by_one) == len(many) == 11
    assert many == one_by_one
    assert [r[COLUMNS.index("seq")] for r in many] == list(range(before + 1, before + 12))
    payloads = " ".join(r[COLUMNS.index("payload")] for r in many)
    assert make_id(0) not in payloads and "**********" in payloads
    assert audit.verify_log() == (before + 11, None)


def test_record_after_record_many_continues_the_chain(db):
    audit.record(Plain(count=1))
    assert audit.record_many(_events(6)) == 6
    audit.record(Plain(count=2))
    assert audit.record_many([]) == 0
    assert audit.record_many(iter(_events(3))) == 3
    db.session.commit()
    seqs = db.session.scalars(sa.select(AuditEntry.seq).order_by(AuditEntry.seq)).all()
    assert seqs == list(range(1, 12))
    assert audit.verify_log() == (11, None)


def test_record_many_starts_from_the_committed_head(db):
    """A new transaction reads the head again (the remembered last row is dropped at commit)."""
    audit.record_many(_events(4))
    db.session.commit()
    assert db.session.info.get(audit_service._LAST) is None
    audit.record_many(_events(2))
    db.session.commit()
    rows = db.session.execute(sa.select(AuditEntry.seq, AuditEntry.prev_hash).order_by(AuditEntry.seq)).all()
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5, 6]
    assert rows[0].prev_hash == rules.GENESIS_HASH
    assert audit.verify_log() == (6, None)


def test_record_many_in_batches(db, monkeypatch):
    monkeypatch.setattr(audit_service, "_MANY_BATCH", 4)
    assert audit.record_many(_events(10)) == 10
    audit.record(Plain(count=99))
    db.session.flush()
    assert audit.verify_log() == (11, None)


def test_verify_command_after_record_many(db, run_cli):
    audit.record_many(_events(5))
    db.session.commit()
    result = run_cli("audit", "verify")
    assert result.exit_code == 0, result.output


def test_payload_shortcut_equals_event_payload():
    from reliefsvc.evidence.events import RecordSubmitted

    for ev in [*_events(8), RecordSubmitted(record_id=1, contract_id=2, record_ref="XL1", service_type="home_visit",
                                            photos=0, source="ledger")]:
        assert audit_service._payload(ev) == ev.payload()
        assert rules.canonical_payload(audit_service._payload(ev)) == rules.canonical_payload(ev.payload())
