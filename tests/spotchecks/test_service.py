"""Spot checks on database records: frozen frame, seed, draw, assignment, checks,
escalation, results, publication, the CLI and the jobs."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from reliefsvc.audit.models import AuditEntry
from reliefsvc.evidence import service as evidence
from reliefsvc.evidence.models import RecordSource, RecordStatus, ServiceRecord
from reliefsvc.providers import service as providers
from reliefsvc.spotchecks import rules, service
from reliefsvc.spotchecks.models import CheckOutcome, DrawStatus, SizeRule, SpotCheckDraw, Stratum
from tests.conftest import make_id

SEED = "2026-12-01 评估会 3-5-1-6"
MARCH = (date(2026, 3, 1), date(2026, 3, 31))


@pytest.fixture
def ledger(db, create_contract, create_case, villages):
    """An active contract with 60 home visits in March 2026 (and some outside it)."""
    contract = create_contract()
    staff = providers.add_staff(contract.provider, id_number=make_id(41), name="马小军", role="coordinator")
    cases = [create_case(villages[i % 3], head_name=f"户主{i}") for i in range(6)]

    def add(ref, when, status=RecordStatus.ACCEPTED, case=None, score=0.0):
        record = ServiceRecord(contract=contract, record_ref=ref, worker=staff, case=case or cases[0],
                               service_type_code="home_visit", started_at=when, ended_at=when + timedelta(minutes=40),
                               month=f"{when.astimezone(evidence.LOCAL):%Y-%m}", minutes=40, submitted_at=when,
                               source=RecordSource.LEDGER, status=status, risk_score=score,
                               review_reason="x" if status is RecordStatus.REJECTED else None)
        db.session.add(record)
        db.session.flush()
        evidence._count(record, +1)
        return record

    records = [add(f"SR-{i:04d}", datetime(2026, 3, 1 + i % 28, 2, 0, tzinfo=UTC), case=cases[i % 6],
                   score=float(i % 7 == 0) * (i % 50)) for i in range(60)]
    # Local time decides: 31 March 23:30 in Shanghai is inside, 31 March 16:30 UTC (= 1 April 00:30) is not.
    inside = add("SR-EDGE-IN", datetime(2026, 3, 31, 15, 30, tzinfo=UTC))
    add("SR-EDGE-OUT", datetime(2026, 3, 31, 16, 30, tzinfo=UTC))
    add("SR-REJECTED", datetime(2026, 3, 5, 2, 0, tzinfo=UTC), status=RecordStatus.REJECTED)
    return {"contract": contract, "records": [*records, inside], "staff": staff, "cases": cases}


def frozen(ledger, officer, **settings):
    return service.new_draw(ledger["contract"], *MARCH, service.SizeSettings(**settings), officer)


def test_population_is_the_contracts_records_of_the_local_period_not_rejected(ledger):
    refs = {r.record_ref for r in service.population(ledger["contract"], *MARCH)}
    assert len(refs) == 61 and "SR-EDGE-IN" in refs
    assert "SR-EDGE-OUT" not in refs and "SR-REJECTED" not in refs


def test_the_two_column_population_is_the_records_population(ledger):
    """``population_frame`` reads the refs as one joined text: same refs, same scores."""
    records = service.population(ledger["contract"], *MARCH)
    frame = service.population_frame(ledger["contract"], *MARCH)
    assert frame.refs == sorted(r.record_ref for r in records)
    assert frame.scores == service._scores(records) and frame.scores


def test_a_ref_with_a_line_break_is_named_not_split_into_two(ledger, db):
    """Joined with line breaks, such a ref would read as two records: it is refused by name."""
    record = ledger["records"][0]
    record.record_ref = "SR-BAD\nSR-9999"
    db.session.flush()
    frame = service.population_frame(ledger["contract"], *MARCH)
    assert "SR-BAD\nSR-9999" in frame.refs and len(frame.refs) == 61
    with pytest.raises(ValueError, match="line break"):
        frame.frame  # noqa: B018 — the check runs when the frame is made


def test_the_frame_is_frozen_and_hashed_before_the_seed(ledger, create_user, db):
    officer = create_user("officer")
    draw = frozen(ledger, officer)
    assert draw.status is DrawStatus.FROZEN and draw.seed is None and draw.items == []
    refs = sorted(r.record_ref for r in ledger["records"])
    assert draw.frame_text == "\n".join(refs) and draw.population_size == 61
    assert draw.frame_hash == rules.frame_hash(refs)
    # default rule: at least 10 records and 5 % → max(10, ceil(3.05)) = 10
    assert draw.size == draw.initial_size == 10
    events = [e.event_type for e in db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.seq))]
    assert "spotchecks.frame_frozen" in events and "spotchecks.drawn" not in events
    with pytest.raises(service.SpotCheckError):
        service.freeze(draw, service.SizeSettings(), officer)


def test_seed_draws_from_the_frozen_frame_as_the_rules_do(ledger, create_user, db):
    officer = create_user("officer")
    draw = frozen(ledger, officer, risk_size=3)
    result = service.enter_seed(draw, SEED, "王秀兰", "李明、赵德胜", None, officer)
    expected = rules.draw(draw.frame_refs, SEED, 10, draw.risk_scores, 3)
    assert result == expected
    assert [(i.record_ref, i.ticket, i.stratum.value) for i in draw.items] == [
        (row.record_ref, row.ticket_hex, row.stratum) for row in expected.rows]
    assert draw.status is DrawStatus.DRAWN and draw.seed_rolled_by == "王秀兰"
    with pytest.raises(service.SpotCheckError):
        service.enter_seed(draw, "another", "x", "", None, officer)


def test_a_draw_of_10_is_the_start_of_a_draw_of_20_and_escalation_takes_the_next(ledger, run_cli, tmp_path,
                                                                                 create_user, db):
    contract = ledger["contract"]
    ten, twenty = tmp_path / "ten.csv", tmp_path / "twenty.csv"
    args = ["spotcheck", "draw", "--contract", contract.contract_no, "--from", "2026-03-01", "--to", "2026-03-31",
            "--seed", SEED]
    assert run_cli(*args, "--size", "10", "-o", str(ten)).exit_code == 0
    assert run_cli(*args, "--size", "20", "-o", str(twenty)).exit_code == 0
    first = ten.read_text(encoding="utf-8").splitlines()
    second = twenty.read_text(encoding="utf-8").splitlines()
    assert first[0] == "record_ref,ticket,stratum" and len(first) == 11 and len(second) == 21
    assert second[:11] == first

    # The same on a draw made through the pages: escalating 10 → 20 adds the next 10 tickets.
    officer = create_user("officer")
    draw = frozen(ledger, officer)
    service.enter_seed(draw, SEED, "王秀兰", "", None, officer)
    added = service.escalate(draw, 20, officer)
    assert [i.record_ref for i in added] == [line.split(",")[0] for line in second[11:]]
    assert {i.round for i in added} == {1} and draw.size == 20 and draw.escalations == 1
    assert [i.ticket for i in draw.random_items] == sorted(i.ticket for i in draw.random_items)


def test_a_changed_population_changes_the_frame_hash(ledger, run_cli, tmp_path, db):
    contract = ledger["contract"]
    before = rules.frame_hash(r.record_ref for r in service.population(contract, *MARCH))
    record = ledger["records"][5]
    record.status = RecordStatus.REJECTED  # sent back at review: it leaves the population
    record.review_reason = "照片不清"
    db.session.flush()
    after = rules.frame_hash(r.record_ref for r in service.population(contract, *MARCH))
    assert after != before


def test_cli_verify_recomputes_and_says_whether_it_matches(ledger, run_cli, tmp_path, db):
    contract = ledger["contract"]
    out = tmp_path / "draw.csv"
    common = ["--contract", contract.contract_no, "--from", "2026-03-01", "--to", "2026-03-31", "--seed", SEED]
    result = run_cli("spotcheck", "draw", *common, "--size", "8", "--risk-size", "2", "-o", str(out))
    assert result.exit_code == 0, result.output
    draw = db.session.scalar(sa.select(SpotCheckDraw))
    assert f"frame hash {draw.frame_hash}" in result.output and draw.origin == "cli"
    assert draw.status is DrawStatus.DRAWN and len(draw.items) == 10
    # Running it again stores nothing new.
    again = run_cli("spotcheck", "draw", *common, "--size", "8", "--risk-size", "2", "-o", str(out))
    assert "already stored" in again.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SpotCheckDraw)) == 1

    ok = run_cli("spotcheck", "verify", str(out), *common)
    assert ok.exit_code == 0, ok.output
    assert "frame unchanged" in ok.output and "sample matches" in ok.output

    # A tampered file: one drawn record swapped for another.
    lines = out.read_text(encoding="utf-8").splitlines()
    drawn = {line.split(",")[0] for line in lines[1:]}
    other = next(r.record_ref for r in ledger["records"] if r.record_ref not in drawn)
    ref, ticket_hex, stratum = lines[1].split(",")
    lines[1] = f"{other},{rules.ticket_hex(rules.ticket(SEED, other))},{stratum}"
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run_cli("spotcheck", "verify", str(bad), *common)
    assert result.exit_code == 1 and "SAMPLE DIFFERS" in result.output and "frame unchanged" in result.output

    # A wrong seed does not recompute.
    wrong = run_cli("spotcheck", "verify", str(out), *common[:-1], "another seed", "--frame-hash", draw.frame_hash)
    assert wrong.exit_code == 1 and "SAMPLE DIFFERS" in wrong.output

    # The population changed after the draw: the frame hash says so, the exit is 1.
    ledger["records"][0].status = RecordStatus.REJECTED
    ledger["records"][0].review_reason = "重复记录"
    db.session.flush()
    changed = run_cli("spotcheck", "verify", str(out), *common)
    assert changed.exit_code == 1 and "FRAME CHANGED" in changed.output


def test_cli_verify_without_a_stored_draw_needs_the_frame_hash(ledger, run_cli, tmp_path):
    out = tmp_path / "x.csv"
    out.write_text("record_ref,ticket,stratum\n", encoding="utf-8")
    result = run_cli("spotcheck", "verify", str(out), "--contract", ledger["contract"].contract_no,
                     "--from", "2026-03-01", "--to", "2026-03-31", "--seed", "never used")
    assert result.exit_code == 2 and "--frame-hash" in result.output


# --- sample sizes ----------------------------------------------------------------------------


def test_sample_size_rules(ledger, create_user):
    assert service.sample_size(service.SizeSettings(), 61) == 10
    assert service.sample_size(service.SizeSettings(min_count=10, share=Decimal("0.07")), 1000) == 70
    attribute = service.SizeSettings(rule=SizeRule.ATTRIBUTE, confidence=Decimal("0.95"),
                                     tolerable_rate=Decimal("0.05"))
    assert service.sample_size(attribute, 1_000_000) == 59
    assert service.sample_size(attribute, 200) == 51  # the small-population correction
    assert service.sample_size(service.SizeSettings(rule=SizeRule.FIXED, size=500), 61) == 61
    draw = frozen(ledger, create_user("officer"), rule=SizeRule.ATTRIBUTE, tolerable_rate=Decimal("0.10"))
    assert draw.size == rules.attribute_sample_size(Decimal("0.95"), Decimal("0.10"), 0, 61)


# --- assignment ------------------------------------------------------------------------------


def test_evaluators_never_get_a_conflicted_record(ledger, create_user, db):
    officer = create_user("officer")
    reviewer = create_user("evaluator", username="reviewer-ev")
    related = create_user("evaluator", username="related-ev")
    related.display_name = "马德胜"
    household = create_user("evaluator", username="household-ev")
    household.display_name = ledger["cases"][0].head_name
    free = create_user("evaluator", username="free-ev")
    providers.declare_relation(ledger["contract"].provider, ledger["staff"], "bureau_staff", "马德胜",
                               "康乐县民政局", "兄弟")
    for record in ledger["records"][:20]:
        record.reviewed_by_id = reviewer.id
    db.session.flush()
    draw = frozen(ledger, officer, rule=SizeRule.FIXED, size=30)
    service.enter_seed(draw, SEED, "王秀兰", "", None, officer)
    holders = {i.record_ref: i.evaluator_id for i in draw.items}
    assert related.id not in holders.values()
    for item in draw.items:
        assert not (item.evaluator_id == reviewer.id and item.record.reviewed_by_id == reviewer.id)
        assert not (item.evaluator_id == household.id and item.record.case_id == ledger["cases"][0].id)
    assert free.id in holders.values() and None not in holders.values()
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.event_type == "spotchecks.assigned"))
    assert entry is not None


# --- checks, results, escalation, publication ------------------------------------------------


@pytest.fixture
def drawn(ledger, create_user):
    officer = create_user("officer")
    evaluator = create_user("evaluator")
    draw = frozen(ledger, officer, risk_size=2)
    service.enter_seed(draw, SEED, "王秀兰", "李明", None, officer)
    assert all(i.evaluator_id == evaluator.id for i in draw.items)
    return {"draw": draw, "officer": officer, "evaluator": evaluator, **ledger}


def confirm(item, evaluator):
    service.file_check(item, service.CheckInput(outcome="confirmed", method="phone", service_happened=True,
                                                minutes=40, satisfaction=5), evaluator)


def test_not_delivered_refutes_the_record_and_counts_in_the_results(drawn, db, create_user):
    from reliefsvc.contracts.models import MonthCounter

    draw, evaluator = drawn["draw"], drawn["evaluator"]
    first = draw.random_items[0]
    with pytest.raises(service.SpotCheckError):  # somebody else's check
        confirm(first, create_user("evaluator"))
    with pytest.raises(service.SpotCheckError):  # "not delivered" needs remarks
        service.file_check(first, service.CheckInput("not_delivered", "phone", False), evaluator)
    with pytest.raises(service.SpotCheckError):  # a revisit needs a photo
        service.file_check(first, service.CheckInput("confirmed", "revisit", True), evaluator)
    service.file_check(first, service.CheckInput("not_delivered", "phone", False, remarks="户主说没人来过"), evaluator)
    assert first.record.refuted
    counter = db.session.get(MonthCounter, (draw.contract_id, "home_visit", first.record.month))
    assert counter.refuted == 1
    assert first.record.history[-1].action == "refuted"
    from reliefsvc.rectifications.models import RectificationNotice

    notice = db.session.get(RectificationNotice, first.notice_id)
    assert notice is not None and notice.contract_id == draw.contract_id
    assert service.results(draw).estimate is None  # the random stratum is not finished
    for item in draw.items[1:]:
        confirm(item, evaluator)
    result = service.results(draw)
    assert (result.random.checked, result.random.not_delivered, result.risk.checked) == (10, 1, 2)
    assert result.estimate.rate == pytest.approx(0.1)
    assert result.needs_escalation and result.act_on_finding  # 10 % found ≥ 5 % tolerable
    totals = service.contract_results(draw.contract, *MARCH)
    assert (totals["checked"], totals["confirmed"], totals["not_delivered"]) == (10, 9, 1)
    assert totals["lower"] < 0.1 < totals["upper"] and totals["risk"]["checked"] == 2
    assert service.contract_results(draw.contract, date(2025, 1, 1), date(2025, 12, 31))["checked"] == 0


def test_a_clean_small_sample_proposes_an_escalation_to_the_next_tickets(drawn):
    draw, evaluator = drawn["draw"], drawn["evaluator"]
    for item in draw.items:
        confirm(item, evaluator)
    result = service.results(draw)
    # 0 in 10: upper bound 25.9 % ≥ 5 % → escalate; the suggestion never passes the population.
    assert result.needs_escalation and not result.act_on_finding
    assert result.escalate_to == min(59, draw.population_size)
    before = {i.record_ref for i in draw.items}
    added = service.escalate(draw, result.escalate_to, drawn["officer"])
    assert before <= {i.record_ref for i in draw.items}
    assert all(i.evaluator_id == evaluator.id for i in added)
    assert len(draw.random_items) == result.escalate_to and len(draw.risk_items) == 2


def test_publication(drawn, db):
    draw = drawn["draw"]
    service.publish(draw, drawn["officer"])
    assert draw.published_at is not None
    assert draw in service.published_draws()


# --- jobs --------------------------------------------------------------------------------------


def test_monthly_proposal_and_reminders(drawn, db, create_contract):
    from reliefsvc.notifications.service import _PENDING
    from reliefsvc.spotchecks import jobs

    now = datetime(2026, 4, 2, 0, 0, tzinfo=UTC)
    summary = jobs.propose_draws("2026-04", now)
    proposed = db.session.scalars(sa.select(SpotCheckDraw).where(SpotCheckDraw.status == DrawStatus.PROPOSED)).all()
    # March already has a draw for this contract; other active contracts get one.
    assert all(d.contract_id != drawn["contract"].id for d in proposed)
    assert "draws proposed" in summary
    later = drawn["draw"].items[0].assigned_at + timedelta(days=4)
    jobs.remind_open_checks("x", later)
    pending = db.session.info.get(_PENDING, [])
    assert any(m.kind == "spotcheck.reminder" and m.user_id == drawn["evaluator"].id for m in pending)


def test_a_proposed_draw_is_frozen_by_an_officer(ledger, create_user):
    draw = service.propose(ledger["contract"], *MARCH)
    assert draw.status is DrawStatus.PROPOSED and draw.frame_hash is None
    service.freeze(draw, service.SizeSettings(min_count=5, share=Decimal("0.02")), create_user("officer"))
    assert draw.status is DrawStatus.FROZEN and draw.size == 5


def test_strata_are_stored_as_the_rules_label_them(drawn):
    assert {i.stratum for i in drawn["draw"].items} == {Stratum.RANDOM, Stratum.RISK}
    assert CheckOutcome("not_delivered") is CheckOutcome.NOT_DELIVERED
