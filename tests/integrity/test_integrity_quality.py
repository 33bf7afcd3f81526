"""Recall and precision per flag code on a county generated with planted problems
(bench/integrity_planted.py, with a seed of its own: not the benchmark's data)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def measured():
    from bench import integrity_planted as planted

    world, table = planted.measure(seed=20261127, workers=12, days=20, plants_each=6)
    planted.print_table(world, table)  # shown with pytest -s
    return {row[0]: row for row in table}


RULE_BASED = ["FLASH_SHORT", "FLASH_BURST", "TIME_OVERLAP", "TRAVEL_IMPOSSIBLE", "PHOTO_TIME_MISMATCH",
              "PHOTO_PLACE_MISMATCH", "PHOTO_NO_METADATA", "EVIDENCE_MISSING", "LATE_ENTRY", "CASE_INACTIVE",
              "OUT_OF_AREA"]


@pytest.mark.parametrize("code", RULE_BASED)
def test_rule_based_codes_are_exact(measured, code):
    _code, planted, found, right, recall, precision = measured[code]
    assert planted > 0
    assert (recall, precision) == (1.0, 1.0), measured[code]


@pytest.mark.parametrize("code", ["PHOTO_REUSED", "NOTES_COPIED"])
def test_similarity_codes_find_copies_and_little_else(measured, code):
    _code, planted, found, right, recall, precision = measured[code]
    assert planted >= 30
    assert recall >= 0.95, measured[code]
    assert precision >= 0.90, measured[code]
