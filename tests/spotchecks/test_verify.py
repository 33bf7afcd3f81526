"""Verifying a published draw: it matches, or every tampering shows up; a changed
population shows in the frame hash."""

import pytest

from reliefsvc.spotchecks import rules

SEED = "2026-07-01 公开抽签"


@pytest.fixture
def published():
    refs = [f"SR-{i:05d}" for i in range(1, 401)]
    scores = {ref: (i * 37 % 101) / 100 for i, ref in enumerate(refs)}
    result = rules.draw(refs, SEED, 12, scores, 4)
    return refs, scores, result


def verify(text, refs, scores, expected_hash, seed=SEED, **sizes):
    return rules.verify(text, refs, seed, scores, expected_frame_hash=expected_hash, **sizes)


def lines_of(result):
    return result.to_csv().splitlines()


def test_an_untouched_draw_verifies(published):
    refs, scores, result = published
    outcome = verify(result.to_csv(), refs, scores, result.frame_hash, size=12, risk_size=4)
    assert outcome.ok
    assert outcome.matches and outcome.frame_unchanged
    assert outcome.differences == [] and outcome.notes == []
    assert outcome.frame_hash == result.frame_hash

    # Without the announced sizes the file's own counts are used, and said so.
    outcome = verify(result.to_csv(), refs, scores, result.frame_hash)
    assert outcome.ok and outcome.notes == ["sizes read from the file: 12 random, 4 risk"]


def test_the_file_may_come_back_with_bom_crlf_and_upper_case_hex(published):
    # As it returns from a spreadsheet round trip on Windows.
    refs, scores, result = published
    rows = [line.split(",") for line in lines_of(result)]
    text = "\ufeff" + "\r\n".join(f"{r},{t.upper()},{s}" for r, t, s in rows) + "\r\n"
    assert verify(text, refs, scores, result.frame_hash).ok


def test_a_changed_population_changes_the_frame_hash(published):
    refs, scores, result = published
    added = verify(result.to_csv(), [*refs, "SR-99999"], scores, result.frame_hash)
    assert not added.frame_unchanged and not added.ok
    assert added.frame_hash != result.frame_hash

    # A record of the sample quietly removed from the ledger: both checks fail.
    gone = result.random_rows[3].record_ref
    removed = verify(result.to_csv(), [r for r in refs if r != gone], scores, result.frame_hash)
    assert not removed.frame_unchanged
    assert not removed.matches
    assert any(f"{gone} is not in the population" in d for d in removed.differences)


def test_a_swapped_ref_is_caught(published):
    refs, scores, result = published
    lines = lines_of(result)
    outsider = next(r for r in refs if r not in result.refs)
    lines[2] = lines[2].replace(result.rows[1].record_ref, outsider)
    outcome = verify("\n".join(lines), refs, scores, result.frame_hash)
    assert outcome.frame_unchanged and not outcome.matches
    text = " ".join(outcome.differences)
    assert f"row 3: ticket of {outsider}" in text
    assert f"row 3: {outsider} is published in the random stratum" in text
    assert f"{result.rows[1].record_ref} is drawn by the recomputation but not published" in text


def test_a_changed_ticket_is_caught(published):
    refs, scores, result = published
    lines = lines_of(result)
    ref, hex_ticket, stratum = lines[5].split(",")
    lines[5] = f"{ref},{'0' * 63}1,{stratum}"
    outcome = verify("\n".join(lines), refs, scores, result.frame_hash)
    assert not outcome.matches
    assert outcome.differences == [f"row 6: ticket of {ref} is not SHA-256 of seed|record_ref"]


def test_reordered_rows_are_caught(published):
    refs, scores, result = published
    lines = lines_of(result)
    lines[2], lines[3] = lines[3], lines[2]
    outcome = verify("\n".join(lines), refs, scores, result.frame_hash)
    assert not outcome.matches
    assert len(outcome.differences) == 1
    assert "row 3: random stratum out of order" in outcome.differences[0]

    # A risk row moved in front of the random ones.
    lines = lines_of(result)
    moved = lines.pop(-1)
    lines.insert(1, moved)
    outcome = verify("\n".join(lines), refs, scores, result.frame_hash)
    assert any("random row after the risk rows began" in d for d in outcome.differences)


def test_a_dropped_row_is_caught(published):
    refs, scores, result = published
    lines = lines_of(result)
    del lines[4]
    outcome = verify("\n".join(lines), refs, scores, result.frame_hash)
    # Read from the file, the random stratum has 11 rows; the 11 smallest tickets include
    # the dropped record, so it is reported missing.
    assert not outcome.matches
    dropped = result.rows[3].record_ref
    assert any(dropped in d and "not published" in d for d in outcome.differences)


def test_a_stratum_cut_short_at_its_end_needs_the_announced_size(published):
    refs, scores, result = published
    lines = lines_of(result)
    last = result.random_rows[-1].record_ref
    del lines[len(result.random_rows)]
    text = "\n".join(lines)
    # A shorter draw is all the file can show on its own ...
    assert verify(text, refs, scores, result.frame_hash).matches
    # ... the announced size exposes it.
    outcome = verify(text, refs, scores, result.frame_hash, size=12, risk_size=4)
    assert not outcome.matches
    assert any(last in d and "not published" in d for d in outcome.differences)

    # Likewise a risk row dropped when no scores are at hand.
    text = "\n".join(lines_of(result)[:-1])
    outcome = verify(text, refs, None, result.frame_hash, size=12, risk_size=4)
    assert outcome.differences == ["risk stratum: 3 rows published, 4 expected"]


def test_a_relabelled_stratum_is_caught(published):
    refs, scores, result = published
    lines = lines_of(result)
    lines[-1] = lines[-1].replace(",risk", ",random")
    assert not verify("\n".join(lines), refs, scores, result.frame_hash).matches
    lines[-1] = lines[-1].replace(",random", ",audit")
    outcome = verify("\n".join(lines), refs, scores, result.frame_hash)
    assert any("unknown stratum 'audit'" in d for d in outcome.differences)


def test_a_wrong_seed_fails_everywhere(published):
    refs, scores, result = published
    outcome = verify(result.to_csv(), refs, scores, result.frame_hash, seed="another seed")
    assert not outcome.matches and outcome.frame_unchanged


def test_changed_risk_scores_are_seen_only_with_scores(published):
    refs, scores, result = published
    changed = dict(scores)
    for row in result.risk_rows:
        changed[row.record_ref] = 0.0
    assert not verify(result.to_csv(), refs, changed, result.frame_hash).matches


def test_without_risk_scores_the_random_stratum_is_still_checked(published):
    refs, _, result = published
    outcome = verify(result.to_csv(), refs, None, result.frame_hash)
    assert outcome.ok
    assert "risk stratum membership not recomputed" in outcome.notes[-1]

    # Tampering with the random stratum is caught without the scores.
    lines = lines_of(result)
    lines[1], lines[2] = lines[2], lines[1]
    assert not verify("\n".join(lines), refs, None, result.frame_hash).matches

    # A random-stratum record relabelled as risk is caught too.
    lines = lines_of(result)
    ref, hex_ticket, _ = lines[1].split(",")
    del lines[1]
    lines.append(f"{ref},{hex_ticket},risk")
    outcome = verify("\n".join(lines), refs, None, result.frame_hash)
    assert any("published as risk but belongs to the random stratum" in d for d in outcome.differences)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the file is empty"),
        ("ref,ticket,stratum\n", "row 1: header must be"),
        ("record_ref,ticket,stratum\nSR-00001,zz,random\n", "not 64 hexadecimal digits"),
        ("record_ref,ticket,stratum\nSR-00001,abc\n", "row 2: expected 3 fields"),
    ],
)
def test_malformed_files_are_reported(published, text, message):
    refs, scores, result = published
    outcome = verify(text, refs, scores, result.frame_hash)
    assert not outcome.matches
    assert any(message in d for d in outcome.differences)


def test_column_order_is_free(published):
    refs, scores, result = published
    rows = [line.split(",") for line in lines_of(result)]
    text = "\n".join(f"{s},{r},{t}" for r, t, s in rows)
    assert verify(text, refs, scores, result.frame_hash).ok


def test_differences_are_capped(published):
    refs, scores, result = published
    many = rules.draw(refs, SEED, 300)
    outcome = rules.verify(many.to_csv(), refs, "other", expected_frame_hash=many.frame_hash)
    assert len(outcome.differences) == rules.MAX_DIFFERENCES + 1
    assert outcome.differences[-1].startswith("... and ")
