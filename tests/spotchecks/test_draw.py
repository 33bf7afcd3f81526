"""The seeded draw of spec/interchange.md: tickets, frame hash, CSV, strata, escalation.

Pure tests: no database, no app (the suite's autouse fixtures are simply not used).
"""

import hashlib
import random

import pytest

from reliefsvc.spotchecks import rules
from reliefsvc.spotchecks.rules import RANDOM, RISK


def sha_ticket(seed: str, ref: str) -> int:
    """The spec's formula, written out again independently of the module."""
    return int.from_bytes(hashlib.sha256(f"{seed}|{ref}".encode()).digest(), "big")


def population(n: int, prefix: str = "SR-") -> list[str]:
    return [f"{prefix}{i:06d}" for i in range(1, n + 1)]


# -- ticket and frame hash ---------------------------------------------------------------


def test_ticket_known_answer():
    seed, ref = "康乐县-2026-Q1", "SR-000001"
    assert rules.ticket(seed, ref) == sha_ticket(seed, ref)
    # Pinned once with coreutils: printf '康乐县-2026-Q1|SR-000001' | sha256sum
    assert (
        rules.ticket_hex(rules.ticket(seed, ref))
        == "a534997ef30df06169bf3981631011af83f981944809b89b015be09bb52952e5"
    )
    assert rules.ticket_hex(rules.ticket("seed", "ref")) == (
        "e23a4bcd754faa608a5ad7396ffe8849059276860c05a65db74e909bb0be6671"
    )


def test_ticket_hex_is_64_lowercase_digits_with_leading_zeros():
    assert rules.ticket_hex(1) == "0" * 63 + "1"
    assert rules.ticket_hex(2**256 - 1) == "f" * 64
    with pytest.raises(ValueError):
        rules.ticket_hex(2**256)


def test_frame_hash_is_sorted_newline_joined_without_trailing_newline():
    refs = ["SR-2", "SR-10", "SR-1"]
    expected = hashlib.sha256(b"SR-1\nSR-10\nSR-2").hexdigest()
    assert rules.frame_hash(refs) == expected
    # Pinned with: printf 'SR-1\nSR-10\nSR-2' | sha256sum
    assert expected == "1a17ebe46e8f037e1dfba6862b8f045be39bd7cff7c113f4c2c4030a70fbeb0a"
    assert rules.frame_hash([]) == hashlib.sha256(b"").hexdigest()


def test_frame_hash_ignores_order_and_sees_any_change():
    refs = population(50)
    shuffled = refs[:]
    random.Random(7).shuffle(shuffled)
    assert rules.frame_hash(refs) == rules.frame_hash(shuffled)
    assert rules.frame_hash(refs) != rules.frame_hash(refs[:-1])
    assert rules.frame_hash(refs) != rules.frame_hash([*refs, "SR-999999"])


def test_frame_hash_sorts_by_code_point_which_is_utf8_byte_order():
    refs = ["Z-1", "a-1", "康-1", "É-1"]
    data = "\n".join(sorted(refs, key=lambda r: r.encode("utf-8"))).encode("utf-8")
    assert rules.frame_hash(refs) == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize(
    "refs",
    [["SR-1", "SR-1"], ["SR-1", "SR-2\nSR-3"], ["SR-1", ""], ["SR-1", "SR-2\r"], ["SR-1", 2]],
)
def test_a_frame_must_have_distinct_one_line_refs(refs):
    with pytest.raises(ValueError):
        rules.frame_hash(refs)
    with pytest.raises(ValueError):
        rules.draw(refs, "seed", 1)


# -- the draw ----------------------------------------------------------------------------


def test_random_stratum_is_the_smallest_tickets_in_ascending_order():
    refs = population(500)
    result = rules.draw(refs, "2026-04-01 county lottery", 25)
    by_ticket = sorted(refs, key=lambda r: sha_ticket("2026-04-01 county lottery", r))
    assert list(result.refs) == by_ticket[:25]
    assert [row.stratum for row in result.rows] == [RANDOM] * 25
    assert all(row.ticket == sha_ticket(result.seed, row.record_ref) for row in result.rows)
    assert result.population_size == 500
    assert result.frame_hash == rules.frame_hash(refs)


def test_draw_does_not_depend_on_the_order_of_the_population():
    refs = population(300)
    shuffled = refs[:]
    random.Random(1).shuffle(shuffled)
    scores = {ref: float(i % 7) for i, ref in enumerate(refs)}
    assert rules.draw(refs, "s", 20, scores, 10) == rules.draw(shuffled, "s", 20, scores, 10)


def test_size_beyond_the_population_takes_everybody():
    refs = population(8)
    result = rules.draw(refs, "s", 20, {refs[0]: 1.0}, 5)
    assert sorted(result.refs) == sorted(refs)
    assert len(result.random_rows) == 8
    assert result.risk_rows == ()


def test_risk_stratum_takes_the_highest_scores_not_already_drawn():
    refs = population(200)
    seed = "risk"
    random_refs = rules.draw(refs, seed, 10).refs
    scores = dict.fromkeys(refs, 0.1)
    # The riskiest record is also in the random stratum: it stays there, once.
    scores[random_refs[0]] = 9.0
    top = [ref for ref in refs if ref not in random_refs][:3]
    for value, ref in zip((5.0, 4.0, 3.0), top, strict=True):
        scores[ref] = value
    result = rules.draw(refs, seed, 10, scores, 3)
    assert result.refs[:10] == random_refs
    assert {row.record_ref for row in result.risk_rows} == set(top)
    # Within the stratum the rows go by ascending ticket, not by score.
    tickets = [row.ticket for row in result.risk_rows]
    assert tickets == sorted(tickets)
    assert [row.stratum for row in result.rows] == [RANDOM] * 10 + [RISK] * 3


def test_risk_ties_are_broken_by_the_smaller_ticket():
    refs = population(100)
    seed = "ties"
    scores = dict.fromkeys(refs, 0.5)  # everybody equally risky
    result = rules.draw(refs, seed, 5, scores, 4)
    by_ticket = sorted(refs, key=lambda r: sha_ticket(seed, r))
    assert [row.record_ref for row in result.risk_rows] == by_ticket[5:9]


def test_records_without_a_score_fill_the_risk_stratum_by_ticket():
    refs = population(100)
    seed = "fill"
    by_ticket = sorted(refs, key=lambda r: sha_ticket(seed, r))
    # Two scored records, far down the ticket order; three more slots are filled.
    scores = {by_ticket[-1]: 2.0, by_ticket[-2]: 1.0, by_ticket[6]: 0.0}
    result = rules.draw(refs, seed, 5, scores, 5)
    risk = {row.record_ref for row in result.risk_rows}
    assert risk == {by_ticket[-1], by_ticket[-2], by_ticket[5], by_ticket[6], by_ticket[7]}


def test_draw_matches_the_definition_written_naively():
    rng = random.Random(2026)
    for trial in range(30):
        refs = population(rng.randint(0, 120), prefix=f"T{trial}-")
        scores = {ref: rng.choice([0.0, 0.0, 0.3, 0.7, 0.7, 1.0]) for ref in refs if rng.random() < 0.5}
        size, risk_size = rng.randint(0, 40), rng.randint(0, 40)
        seed = f"seed-{trial}"
        result = rules.draw(refs, seed, size, scores, risk_size)
        by_ticket = sorted(refs, key=lambda r: sha_ticket(seed, r))
        random_part = by_ticket[:size]
        rest = [ref for ref in refs if ref not in random_part]
        ranked = sorted(rest, key=lambda r: (-scores.get(r, 0.0), sha_ticket(seed, r)))
        risk_part = sorted(ranked[:risk_size], key=lambda r: sha_ticket(seed, r))
        assert list(result.refs) == random_part + risk_part


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"seed": ""}, "seed"),
        ({"size": -1}, "negative"),
        ({"risk_size": 2}, "risk scores"),
        ({"risk_scores": {"SR-000001": float("nan")}, "risk_size": 1}, "finite"),
        ({"risk_scores": {"SR-000001": -1.0}, "risk_size": 1}, "non-negative"),
    ],
)
def test_draw_refuses_bad_arguments(kwargs, message):
    arguments = {"population_refs": population(10), "seed": "s", "size": 3} | kwargs
    with pytest.raises(ValueError, match=message):
        rules.draw(**arguments)


# -- the published CSV -------------------------------------------------------------------


def test_csv_header_rows_and_order():
    refs = population(60)
    scores = {ref: float(i) for i, ref in enumerate(refs)}
    result = rules.draw(refs, "csv", 4, scores, 2)
    lines = result.to_csv().split("\n")
    assert lines[0] == "record_ref,ticket,stratum"
    assert lines[-1] == ""  # every line ends with \n
    body = [line.split(",") for line in lines[1:-1]]
    assert [stratum for _, _, stratum in body] == [RANDOM] * 4 + [RISK] * 2
    for ref, hex_ticket, _ in body:
        assert hex_ticket == f"{sha_ticket('csv', ref):064x}"
        assert len(hex_ticket) == 64 and hex_ticket == hex_ticket.lower()
    random_tickets = [int(t, 16) for _, t, s in body if s == RANDOM]
    risk_tickets = [int(t, 16) for _, t, s in body if s == RISK]
    assert random_tickets == sorted(random_tickets)
    assert risk_tickets == sorted(risk_tickets)


def test_csv_quotes_refs_that_need_it():
    result = rules.draw(['SR-1,"a"', "SR-2"], "q", 2)
    assert '"SR-1,""a"""' in result.to_csv()


# -- escalation --------------------------------------------------------------------------


def test_escalation_extends_the_random_stratum_as_a_prefix():
    """Property over many seeds, sizes and populations: a first draw of m is always the
    start of a later draw of n >= m, whether escalated or drawn afresh."""
    rng = random.Random(530)
    for trial in range(200):
        refs = population(rng.randint(1, 150), prefix=f"P{trial}-")
        seed = "".join(rng.choice("abcdef0123456789康乐") for _ in range(rng.randint(1, 12)))
        first = rng.randint(0, len(refs) + 5)
        second = first + rng.randint(0, 50)
        small = rules.draw(refs, seed, first)
        grown = rules.escalate(small, second)
        assert grown.refs[: len(small.refs)] == small.refs
        assert grown == rules.draw(refs, seed, second)
        new = rules.newly_drawn(small, grown)
        assert [row.record_ref for row in new] == list(grown.refs[len(small.refs) :])


def test_escalation_never_drops_a_record_already_drawn():
    rng = random.Random(14)
    for trial in range(100):
        refs = population(rng.randint(5, 120), prefix=f"E{trial}-")
        scores = {ref: rng.choice([0.0, 0.2, 0.5, 0.9]) for ref in refs}
        seed = f"escalate-{trial}"
        first = rules.draw(refs, seed, rng.randint(0, 20), scores, rng.randint(0, 10))
        grown = rules.escalate(first, first.size + rng.randint(0, 30))
        assert set(first.refs) <= set(grown.refs)
        assert len(grown.risk_rows) == min(first.risk_size, len(refs) - len(grown.random_rows))


def test_escalation_uses_the_frozen_frame_and_cannot_shrink():
    refs = population(40)
    first = rules.draw(refs, "frozen", 5)
    grown = rules.escalate(first, 10)
    assert grown.frame_hash == first.frame_hash
    with pytest.raises(ValueError):
        rules.escalate(first, 4)
