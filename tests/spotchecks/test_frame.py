"""The frame checked and hashed once (issue 16): ``rules.Frame``, ``rules.draw_frame`` and the
service keeping the frame in memory from ``freeze`` to the draw give exactly the spec's draw.

The reference here is the spec written out the slow way (interchange.md, "Spot-check draw"):
frame hash = SHA-256 of the sorted refs joined with "\\n"; ticket = SHA-256 of "seed|ref" as
an integer; the random stratum = the ``size`` smallest tickets in ascending order.
"""

from __future__ import annotations

import hashlib
import random

import pytest

from reliefsvc.spotchecks import rules, service
from reliefsvc.spotchecks.models import SpotCheckDraw
from tests.spotchecks.test_service import MARCH, SEED, frozen, ledger  # noqa: F401 (fixture)


def _refs(n: int, rnd: random.Random) -> list[str]:
    alphabet = "0123456789ABCxyz-_/台账编号甲乙丙"
    refs = {"".join(rnd.choice(alphabet) for _ in range(rnd.randint(1, 12))) for _ in range(n)}
    out = list(refs)
    rnd.shuffle(out)
    return out


def _spec_hash(refs) -> str:
    return hashlib.sha256("\n".join(sorted(refs)).encode("utf-8")).hexdigest()


def _spec_random_stratum(refs, seed: str, size: int) -> list[tuple[str, int]]:
    tickets = [(int(hashlib.sha256(f"{seed}|{ref}".encode()).hexdigest(), 16), ref) for ref in refs]
    return [(ref, value) for value, ref in sorted(tickets)[:size]]


@pytest.mark.parametrize("n", [0, 1, 2, 7, 500, 3000])
def test_frame_hash_and_text_are_the_specs_sorted_or_not(n):
    refs = _refs(n, random.Random(n))
    for given in (refs, sorted(refs)):
        frame = rules.Frame.of(given)
        assert frame.digest == _spec_hash(refs) == rules.frame_hash(given)
        assert frame.text == "\n".join(sorted(refs))
        assert frame.refs == tuple(given) and frame.members == frozenset(refs)
        assert rules.Frame.of_text(frame.text).digest == frame.digest


@pytest.mark.parametrize("seed", ["1", "2026-12-01 评估会 3-5-1-6", "x" * 80])
def test_draw_frame_is_draw_and_the_specs_tickets(seed):
    rnd = random.Random(seed)
    refs = _refs(2000, rnd)
    scores = {ref: float(rnd.choice([0, 0, 1, 2.5, 9])) for ref in refs[::3]}
    frame = rules.Frame.of(refs)
    for size, risk in ((0, 0), (1, 0), (25, 0), (25, 10), (1990, 10), (5000, 0)):
        fast = rules.draw_frame(frame, seed, size, scores, risk)
        slow = rules.draw(list(refs), seed, size, scores, risk)
        assert fast == slow
        assert fast.frame_hash == _spec_hash(refs)
        assert [(r.record_ref, r.ticket) for r in fast.random_rows] == _spec_random_stratum(refs, seed, size)
        assert all(r.ticket == rules.ticket(seed, r.record_ref) for r in fast.rows)


def test_a_bad_frame_is_still_refused():
    for bad in (["a", "a"], ["a", ""], ["a\nb"], ["a\rb"], ["a", 3]):
        with pytest.raises(ValueError):
            rules.Frame.of(bad)


def test_escalation_over_the_frame_is_unchanged():
    refs = _refs(800, random.Random(5))
    first = rules.draw_frame(rules.Frame.of(refs), SEED, 30, {refs[0]: 5.0}, 4)
    grown = rules.escalate(first, 60)
    assert grown == rules.draw(refs, SEED, 60, {refs[0]: 5.0}, 4)
    assert grown.frame_hash == first.frame_hash


def test_the_frame_kept_in_memory_draws_what_the_stored_frame_draws(ledger, create_user, db):  # noqa: F811
    """``cli_draw`` hands the frame it froze to the draw; the stored text gives the same sample."""
    contract = ledger["contract"]
    draw, result, created = service.cli_draw(contract, *MARCH, SEED, 12, 3)
    assert created
    db.session.expire_all()
    stored = db.session.get(SpotCheckDraw, draw.id)
    again = service._rules_draw(stored)  # from frame_text, checked and hashed again
    assert again == result and again.frame_hash == stored.frame_hash == result.frame_hash
    assert stored.frame_text == "\n".join(sorted(r.record_ref for r in ledger["records"]))
    assert [(i.record_ref, i.ticket) for i in sorted(stored.items, key=lambda i: (i.stratum.value != "random",
                                                                                   i.ticket))] == [
        (row.record_ref, row.ticket_hex) for row in result.rows]
    # Same seed, same sample: the repeated command finds it, with the frame in memory too.
    same, result_again, created_again = service.cli_draw(contract, *MARCH, SEED, 12, 3)
    assert not created_again and same.id == draw.id and result_again == result


def test_a_frame_whose_hash_differs_is_not_used(ledger, create_user, db):  # noqa: F811
    officer = create_user("officer")
    draw = frozen(ledger, officer)
    other = rules.Frame.of(["SR-0000", "SR-0001"])
    result = service.enter_seed(draw, SEED, "王秀兰", "", None, officer, frame=other)
    assert result.population_size == 61 and result == rules.draw(draw.frame_refs, SEED, draw.size, {}, 0)


@pytest.mark.parametrize("n", [0, 1, 2, 10, 99, 100, 101, 1000])
def test_smallest_is_heapq_nsmallest(n):
    import heapq

    rnd = random.Random(n)
    items = [(hashlib.sha256(str(rnd.random()).encode()).digest(), f"R{i}") for i in range(100)]
    items += [(bytes(32), "Z0"), (bytes(32), "A0"), (b"\xff" * 32, "M")]  # equal tickets: ref decides, as in nsmallest
    assert rules._smallest(n, iter(items)) == heapq.nsmallest(n, items)
