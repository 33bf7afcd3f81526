"""The audit log: typed events, chained and MAC'd; verify names the first damaged entry.

Tampering tests drop the append-only triggers inside the test's own transaction (DDL is
transactional on SQLite and PostgreSQL), change the table behind the platform's back, and
are rolled back afterwards like every test.
"""

from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from reliefsvc import audit
from reliefsvc.audit import rules
from reliefsvc.audit.events import Event
from reliefsvc.audit.models import AuditEntry


@dataclass(frozen=True, kw_only=True)
class ThingDone(Event):
    event_type = "test.thing_done"
    label = "thing done"
    object_type = "thing"
    object_field = "thing_id"
    thing_id: int
    note: str


@pytest.fixture
def five_entries(db):
    for i in range(1, 6):
        audit.record(ThingDone(thing_id=i, note=f"第{i}件事"))
    db.session.flush()
    return db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.seq)).all()


def drop_triggers(db):
    conn = db.session.connection()
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("DROP TRIGGER audit_entry_no_update")
        conn.exec_driver_sql("DROP TRIGGER audit_entry_no_delete")
    else:
        conn.exec_driver_sql("ALTER TABLE audit_entry DISABLE TRIGGER audit_entry_no_change")


def test_entries_are_chained_and_verify(five_entries):
    assert [e.seq for e in five_entries] == [1, 2, 3, 4, 5]
    assert five_entries[0].prev_hash == rules.GENESIS_HASH
    assert five_entries[1].prev_hash != rules.GENESIS_HASH
    assert five_entries[2].object_type == "thing" and five_entries[2].object_id == "3"
    assert "第3件事" in five_entries[2].payload
    assert audit.verify_log() == (5, None)


def test_verify_command_on_an_intact_log(five_entries, run_cli):
    result = run_cli("audit", "verify")
    assert result.exit_code == 0
    assert "5" in result.output


def test_a_changed_field_is_named(five_entries, db, run_cli):
    drop_triggers(db)
    db.session.execute(sa.text("UPDATE audit_entry SET payload = replace(payload, '第3件事', '第9件事') WHERE seq = 3"))
    checked, problem = audit.verify_log()
    assert problem.seq == 3 and problem.kind == "changed"
    result = run_cli("audit", "verify")
    assert result.exit_code == 1
    assert "entry 3" in result.output and "第 3 条" in result.output


def test_a_changed_actor_is_named(five_entries, db):
    drop_triggers(db)
    db.session.execute(sa.text("UPDATE audit_entry SET actor_name = 'someone-else' WHERE seq = 4"))
    assert audit.verify_log()[1].seq == 4


def test_a_deleted_row_is_named(five_entries, db, run_cli):
    drop_triggers(db)
    db.session.execute(sa.text("DELETE FROM audit_entry WHERE seq = 2"))
    problem = audit.verify_log()[1]
    assert (problem.seq, problem.kind) == (2, "missing")
    result = run_cli("audit", "verify")
    assert result.exit_code == 1 and "entry 2" in result.output


def test_a_deleted_row_hidden_by_renumbering_is_found(five_entries, db):
    drop_triggers(db)
    db.session.execute(sa.text("DELETE FROM audit_entry WHERE seq = 2"))
    for seq in (3, 4, 5):
        db.session.execute(sa.text("UPDATE audit_entry SET seq = :new WHERE seq = :old"), {"new": seq - 1, "old": seq})
    problem = audit.verify_log()[1]
    assert (problem.seq, problem.kind) == (2, "broken")


def test_a_swapped_pair_is_named(five_entries, db, run_cli):
    drop_triggers(db)
    # Swap the positions of entries 2 and 3, keeping each entry's content intact.
    db.session.execute(sa.text("UPDATE audit_entry SET seq = 1000 WHERE seq = 2"))
    db.session.execute(sa.text("UPDATE audit_entry SET seq = 2 WHERE seq = 3"))
    db.session.execute(sa.text("UPDATE audit_entry SET seq = 3 WHERE seq = 1000"))
    problem = audit.verify_log()[1]
    assert (problem.seq, problem.kind) == (2, "reordered")
    result = run_cli("audit", "verify")
    assert result.exit_code == 1 and "entry 2" in result.output


def test_a_rewritten_chain_without_the_key_is_found(five_entries, db):
    """Recomputing hashes is not enough: the MAC needs the key kept outside the database."""
    drop_triggers(db)
    rows = [rules.ChainRow(**{f: getattr(e, f) for f in rules.ChainRow.__dataclass_fields__}) for e in five_entries]
    forged_key = b"not-the-real-key"
    prev = rules.GENESIS_HASH
    for row in rows:
        forged = rules.ChainRow(**{**row.__dict__, "payload": row.payload.replace("件事", "件假事"),
                                   "prev_hash": prev, "mac": ""})
        mac = rules.compute_mac(forged_key, forged)
        forged = rules.ChainRow(**{**forged.__dict__, "mac": mac})
        db.session.execute(sa.text("UPDATE audit_entry SET payload = :p, prev_hash = :h, mac = :m WHERE seq = :s"),
                           {"p": forged.payload, "h": "x" * 63 + str(row.seq), "m": mac, "s": row.seq})
        db.session.execute(sa.text("UPDATE audit_entry SET prev_hash = :h WHERE seq = :s"), {"h": prev, "s": row.seq})
        prev = rules.row_hash(forged)
    problem = audit.verify_log()[1]
    assert (problem.seq, problem.kind) == (1, "changed")


def test_the_key_lives_in_the_instance_folder_not_the_database(app):
    from pathlib import Path

    key_file = Path(app.instance_path) / "audit_hmac_key"
    assert key_file.read_text().strip() == app.config["AUDIT_HMAC_KEY"]
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"


def test_actor_outside_a_request_is_the_command_line_or_the_named_actor(db, app):
    entry = audit.record(ThingDone(thing_id=1, note="x"))
    assert entry.actor_name.startswith("cli")
    audit.set_actor("job:test")
    try:
        assert audit.record(ThingDone(thing_id=2, note="y")).actor_name == "job:test"
    finally:
        from flask import g

        g.pop("audit_actor")


def test_pure_verify_reports_the_first_problem_only():
    key = b"k"
    rows, prev = [], rules.GENESIS_HASH
    from datetime import UTC, datetime

    for seq in range(1, 4):
        row = rules.ChainRow(seq=seq, occurred_at=datetime(2026, 1, 1, tzinfo=UTC), actor_id=None,
                             actor_name="a", remote_addr=None, event_type="t", object_type=None,
                             object_id=None, payload="{}", prev_hash=prev)
        row = rules.ChainRow(**{**row.__dict__, "mac": rules.compute_mac(key, row)})
        rows.append(row)
        prev = rules.row_hash(row)
    assert rules.verify(rows, key) == (3, None)
    assert rules.verify(rows, b"other")[1].seq == 1
    assert rules.verify(rows[:1] + rows[2:], key)[1].kind == "missing"
