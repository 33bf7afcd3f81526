"""The audit head anchored outside the database: truncation and rewrites are found (issue 15).

The chain alone cannot see its newest entries removed, nor a log rebuilt by someone who
holds the HMAC key; both contradict a head hash written to the anchor file earlier.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from reliefsvc import audit
from reliefsvc.audit import rules, service
from reliefsvc.audit.models import AuditEntry
from tests.audit.test_audit_chain import ThingDone, drop_triggers


@pytest.fixture
def anchored(db, anchor_file):
    """Six entries, the head anchored after five of them."""
    for i in range(1, 6):
        audit.record(ThingDone(thing_id=i, note=f"第{i}件事"))
    db.session.flush()
    anchor = service.write_anchor("2026-11-27", intact=True)
    audit.record(ThingDone(thing_id=6, note="锚定之后"))
    db.session.flush()
    return anchor


def _row(db, seq: int) -> rules.ChainRow:
    entry = db.session.get(AuditEntry, seq)
    return rules.ChainRow(**{f: getattr(entry, f) for f in rules.ChainRow.__dataclass_fields__})


def test_the_anchor_line_holds_position_hash_and_time(anchored, anchor_file, db):
    line = anchor_file.read_text(encoding="utf-8").splitlines()[-1]
    period, seq, digest, written_at, status = line.split("\t")
    assert (period, seq, status) == ("2026-11-27", "5", "ok")
    assert digest == rules.row_hash(_row(db, 5)) == anchored.hash
    assert abs(datetime.strptime(written_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
               - datetime.now(UTC)).total_seconds() < 3600


def test_a_clean_chain_agrees_with_its_anchors(anchored, run_cli, client, login, create_user):
    assert service.verify_all() == (6, None)
    result = run_cli("audit", "verify")
    assert result.exit_code == 0, result.output
    assert "1 个锚定值一致" in result.output
    login(create_user("inspector"), locale="zh_CN")
    page = client.post("/audit/verify").get_data(as_text=True)
    assert "审计日志完好" in page or "完好" in page
    assert "锚定" in page


def test_a_truncated_log_is_found_against_the_anchor(anchored, db, run_cli, client, login, create_user):
    inspector = create_user("inspector")
    drop_triggers(db)
    db.session.execute(sa.text("DELETE FROM audit_entry WHERE seq >= 4"))
    # the remaining chain is perfectly valid on its own ...
    assert audit.verify_log() == (3, None)
    # ... but shorter than what was anchored
    checked, problem = service.verify_all()
    assert problem.kind == "truncated" and problem.seq == 5
    result = run_cli("audit", "verify")
    assert result.exit_code == 1
    assert "审计日志被截短" in result.output and "第 5 条" in result.output
    login(inspector, locale="zh_CN")
    page = client.post("/audit/verify").get_data(as_text=True)
    assert "审计日志被截短" in page


def test_a_log_rewritten_with_the_key_is_found_against_the_anchor(anchored, db, app, run_cli):
    drop_triggers(db)
    key = app.config["AUDIT_HMAC_KEY"].encode("utf-8")
    # Rewrite entries 3..6 as someone holding the key would: every MAC and link valid again.
    previous = rules.row_hash(_row(db, 2))
    for seq in range(3, 7):
        row = _row(db, seq)
        payload = row.payload.replace("件事", "件别的事")
        forged = rules.ChainRow(**{**row.__dict__, "payload": payload, "prev_hash": previous, "mac": ""})
        mac = rules.compute_mac(key, forged)
        db.session.execute(sa.text("UPDATE audit_entry SET payload = :p, prev_hash = :h, mac = :m WHERE seq = :s"),
                           {"p": payload, "h": previous, "m": mac, "s": seq})
        previous = rules.row_hash(rules.ChainRow(**{**forged.__dict__, "mac": mac}))
    db.session.expire_all()
    assert audit.verify_log() == (6, None)  # the chain cannot tell
    problem = service.verify_all()[1]
    assert problem.kind == "rewritten" and problem.seq == 5
    result = run_cli("audit", "verify")
    assert result.exit_code == 1 and "审计日志被改写" in result.output


def test_the_daily_job_checks_the_anchors_before_adding_one(anchored, anchor_file, db, create_user):
    from reliefsvc.jobs import service as jobs
    from reliefsvc.jobs.registry import all_jobs
    from reliefsvc.notifications.models import Notification

    inspector = create_user("inspector")
    result = jobs.run_job(all_jobs()["audit.verify"], period="2026-11-28")
    assert result.outcome == "succeeded" and "已锚定第" in result.summary
    lines = anchor_file.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2 and lines[-1].startswith("2026-11-28\t") and lines[-1].endswith("\tok")
    drop_triggers(db)
    db.session.execute(sa.text("DELETE FROM audit_entry WHERE seq > 3"))
    result = jobs.run_job(all_jobs()["audit.verify"], period="2026-11-29")
    assert "审计日志被截短" in result.summary
    assert anchor_file.read_text(encoding="utf-8").splitlines()[-1].endswith("\tdamaged")
    note = db.session.scalar(sa.select(Notification).where(Notification.user_id == inspector.id))
    assert "审计日志校验未通过" in note.title


def test_anchor_lines_are_parsed_old_and_new_and_junk_is_named():
    text = ("2026-11-01\t3\t" + "a" * 64 + "\tok\n"
            "2026-11-02\t4\t" + "b" * 64 + "\t2026-11-02T17:30:00Z\tok\n"
            "garbage line\n")
    anchors, bad = rules.parse_anchors(text)
    assert [a.seq for a in anchors] == [3, 4] and anchors[0].written_at == "" and bad == [3]
    assert rules.check_anchors(anchors, 4, {3: "a" * 64, 4: "b" * 64}) is None
    assert rules.check_anchors(anchors, 3, {3: "a" * 64}).kind == "truncated"
    assert rules.check_anchors(anchors, 9, {3: "a" * 64, 4: "c" * 64}).kind == "rewritten"
