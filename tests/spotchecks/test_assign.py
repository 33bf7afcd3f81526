"""Assigning drawn records to evaluators: never to a conflicted evaluator, loads as even
as the conflicts allow, reproducible from the seed, not steerable by list order."""

import itertools
import random

import pytest

from reliefsvc.spotchecks import rules


def conflicted(record, evaluator) -> bool:
    _, village, provider = record
    _, villages, providers = evaluator
    return village in villages or provider in providers


def random_case(rng: random.Random, records: int, evaluators: int, conflict_chance: float):
    villages = [f"V{i:03d}" for i in range(rng.randint(1, 12))]
    providers = [1, 2, 3]
    record_list = [
        (f"SR-{i:04d}", rng.choice(villages), rng.choice(providers)) for i in range(records)
    ]
    evaluator_list = [
        (
            f"E{j}",
            {v for v in villages if rng.random() < conflict_chance},
            {p for p in providers if rng.random() < conflict_chance / 2},
        )
        for j in range(evaluators)
    ]
    return record_list, evaluator_list


def best_loads(records, evaluators):
    """Brute force: the most even load vector any conflict-free assignment reaches."""
    options = [
        [e[0] for e in evaluators if not conflicted(r, e)] for r in records
    ]
    options = [o for o in options if o]
    best = None
    for choice in itertools.product(*options):
        loads = sorted(choice.count(e[0]) for e in evaluators)
        key = sum(x * x for x in loads)
        if best is None or key < best[0]:
            best = (key, loads)
    return best[1] if best else sorted(0 for _ in evaluators)


def test_no_evaluator_gets_a_record_they_are_conflicted_with():
    rng = random.Random(9)
    for trial in range(100):
        records, evaluators = random_case(rng, rng.randint(0, 60), rng.randint(1, 8), 0.3)
        result = rules.assign(records, evaluators, f"seed-{trial}")
        by_id = {e[0]: e for e in evaluators}
        for record in records:
            ref = record[0]
            if ref in result.by_ref:
                assert not conflicted(record, by_id[result.by_ref[ref]])
            else:
                assert ref in result.unassignable
                assert all(conflicted(record, e) for e in evaluators)
        assert sum(result.loads.values()) == len(result.by_ref)
        assert len(result.by_ref) + len(result.unassignable) == len(records)


def test_loads_differ_by_at_most_one_without_conflicts():
    records = [(f"SR-{i}", f"V{i % 7}", i % 3) for i in range(103)]
    evaluators = [(f"E{j}", set(), set()) for j in range(6)]
    loads = rules.assign(records, evaluators, "even").loads
    assert max(loads.values()) - min(loads.values()) <= 1
    assert sorted(loads.values()) == [17, 17, 17, 17, 17, 18]


def test_loads_are_balanced_where_conflicts_allow():
    # Ten villages of twelve records; each evaluator lives next to two villages and one
    # has worked for provider 1. An even split (20 each) is plainly possible.
    records = [(f"SR-{v}-{i}", f"V{v}", 1 + i % 3) for v in range(10) for i in range(12)]
    evaluators = [
        (f"E{j}", {f"V{j}", f"V{(j + 1) % 10}"}, {1} if j == 0 else set()) for j in range(6)
    ]
    for trial in range(20):
        result = rules.assign(records, evaluators, f"balance-{trial}")
        assert set(result.loads.values()) == {20}, trial
        assert not result.unassignable


def test_assignment_is_as_even_as_any_conflict_free_assignment():
    rng = random.Random(33)
    for trial in range(80):
        records, evaluators = random_case(rng, rng.randint(1, 7), rng.randint(1, 3), 0.45)
        result = rules.assign(records, evaluators, f"optimal-{trial}")
        assert sorted(result.loads.values()) == best_loads(records, evaluators), trial


def test_a_heavily_conflicted_evaluator_takes_what_they_can_and_the_rest_stay_even():
    # E0 may only check village V1, which has 2 records; 40 records in all.
    records = [(f"SR-{i}", "V1" if i < 2 else "V2", 1) for i in range(40)]
    evaluators = [("E0", {"V2"}, set()), ("E1", set(), set()), ("E2", set(), set())]
    result = rules.assign(records, evaluators, "constrained")
    assert result.loads == {"E0": 2, "E1": 19, "E2": 19}
    assert {ref for ref, e in result.by_ref.items() if e == "E0"} == {"SR-0", "SR-1"}


def test_records_nobody_may_check_are_reported():
    records = [("SR-1", "V1", 7), ("SR-2", "V2", 8), ("SR-3", "V3", 9)]
    evaluators = [("E1", {"V1"}, {8}), ("E2", {"V1"}, set())]
    result = rules.assign(records, evaluators, "s")
    assert result.unassignable == ("SR-1",)
    assert set(result.by_ref) == {"SR-2", "SR-3"}
    assert result.by_ref["SR-2"] == "E2"
    assert rules.assign(records, [], "s").unassignable == ("SR-1", "SR-2", "SR-3")


def test_same_seed_same_assignment_whatever_the_order_of_the_lists():
    rng = random.Random(4)
    records, evaluators = random_case(rng, 50, 5, 0.2)
    first = rules.assign(records, evaluators, "reproducible")
    shuffled_records, shuffled_evaluators = records[:], evaluators[:]
    rng.shuffle(shuffled_records)
    rng.shuffle(shuffled_evaluators)
    again = rules.assign(shuffled_records, shuffled_evaluators, "reproducible")
    assert again.by_ref == first.by_ref
    assert again.loads == first.loads
    assert rules.assign(records, evaluators, "another seed").by_ref != first.by_ref


def test_who_checks_a_record_is_spread_by_the_seed():
    # One record, three evaluators free to take it: over many seeds each gets it often.
    records = [("SR-1", "V1", 1)]
    evaluators = [(f"E{j}", set(), set()) for j in range(3)]
    counts = {"E0": 0, "E1": 0, "E2": 0}
    for trial in range(600):
        counts[rules.assign(records, evaluators, f"spread-{trial}").by_ref["SR-1"]] += 1
    assert all(150 < c < 250 for c in counts.values()), counts


def test_duplicates_are_refused():
    with pytest.raises(ValueError):
        rules.assign([("SR-1", "V", 1), ("SR-1", "V", 1)], [("E", set(), set())], "s")
    with pytest.raises(ValueError):
        rules.assign([("SR-1", "V", 1)], [("E", set(), set()), ("E", set(), set())], "s")
