"""The compiled band join (integrity/bandjoin.py) against a plain all-pairs reckoning.

Both joins (``join_band``: one band, the queries grouped by band value first, for many
targets; ``join_few``: every band at once, the queries as they come, for few) must give
exactly the comparisons that a query and a target sharing the band value (or one a mask
away) and passing the limits make: ``join_few`` a row per band that finds it.
"""

import numpy as np
import pytest

from reliefsvc.integrity import bandjoin, photohash

LIMITS = {"phash_max": 12, "dhash_max": 12, "sum_max": 15, "window_sum_max": 14}


def _photos(count: int, seed: int):
    """Hashes with near copies (a few bits flipped) and trim windows, some photos without."""
    rng = np.random.default_rng(seed)
    phash = rng.integers(0, 2**64, size=count, dtype=np.uint64)
    dhash = rng.integers(0, 2**64, size=count, dtype=np.uint64)
    trims = rng.integers(0, 2**64, size=(count, len(photohash.TRIM_WINDOWS), 2), dtype=np.uint64)
    for i in range(1, count, 3):  # a near copy of an earlier photo, or of one of its windows
        source = int(rng.integers(0, i))
        window = int(rng.integers(0, len(photohash.TRIM_WINDOWS) + 1))
        p, d = (phash[source], dhash[source]) if window == 0 else trims[source, window - 1]
        for bits, arr in ((rng.integers(0, 6), "p"), (rng.integers(0, 6), "d")):
            flips = np.uint64(sum(1 << int(b) for b in rng.choice(64, size=bits, replace=False)))
            if arr == "p":
                p = p ^ flips
            else:
                d = d ^ flips
        phash[i], dhash[i] = p, d
    trim_counts = rng.choice([0, 3, len(photohash.TRIM_WINDOWS)], size=count).astype(np.int64)
    return phash, dhash, trims, trim_counts


def _expected(band, masks, q_item, first, last, phash, dhash, trims, trim_counts, targets):
    """Every query against every target, with numpy: the rows the join must give."""
    rows = []
    for item in q_item.tolist():
        for sig in range(first, min(last, int(trim_counts[item])) + 1):
            qp, qd = (phash[item], dhash[item]) if sig == 0 else trims[item, sig - 1]
            tp, td = phash[targets], dhash[targets]
            source_q, source_t = (qd, td) if band < 4 else (qp, tp)
            shift = np.uint64(16 * (band % 4))
            qv = (source_q >> shift) & np.uint64(0xFFFF)
            tv = (source_t >> shift) & np.uint64(0xFFFF)
            meets = np.isin(tv ^ qv, masks.astype(np.uint64))
            p = np.bitwise_count(tp ^ qp).astype(np.int64)
            d = np.bitwise_count(td ^ qd).astype(np.int64)
            limit = LIMITS["sum_max"] if sig == 0 else LIMITS["window_sum_max"]
            ok = (meets & (p <= LIMITS["phash_max"]) & (d <= LIMITS["dhash_max"]) & (p + d <= limit)
                  & (targets != item))
            rows += [(item, sig, int(j), int(pp), int(dd)) for j, pp, dd in zip(targets[ok], p[ok], d[ok], strict=True)]
    return sorted(rows)


def _rows(rows):
    return sorted(map(tuple, rows.tolist()))


def _join(band, masks, q_item, first, last, phash, dhash, trims, trim_counts, targets, *, buffer=0):
    work, refs = np.empty((buffer, 2), dtype=np.uint64), np.empty(buffer, dtype=np.int32)
    table = bandjoin.band_sorted(targets, phash[targets], dhash[targets], band)
    return _rows(bandjoin.join_band(band, masks, q_item, first, last, phash, dhash, trims, trim_counts,
                                    *table, *LIMITS.values(), work, refs))


def _join_few(masks, q_item, first, last, phash, dhash, trims, trim_counts, targets):
    tables = [bandjoin.band_sorted(targets, phash[targets], dhash[targets], band) for band in range(photohash.BANDS)]
    return _rows(bandjoin.join_few(masks, q_item, first, last, phash, dhash, trims, trim_counts,
                                   *(np.stack(column) for column in zip(*tables, strict=True)), *LIMITS.values()))


@pytest.mark.parametrize("radius", [0, 1])
def test_both_joins_give_exactly_the_comparisons_of_all_pairs(radius):
    phash, dhash, trims, trim_counts = _photos(300, seed=radius)
    masks = np.array(photohash._masks(radius), dtype=np.int64)
    items = np.arange(len(phash), dtype=np.int64)
    every_band = []
    for band in range(photohash.BANDS):
        expected = _expected(band, masks, items, 0, 15, phash, dhash, trims, trim_counts, items)
        assert expected  # the planted copies make comparisons in every band
        assert _join(band, masks, items, 0, 15, phash, dhash, trims, trim_counts, items) == expected
        every_band += expected
    assert _join_few(masks, items, 0, 15, phash, dhash, trims, trim_counts, items) == sorted(every_band)


def test_some_queries_against_some_targets_and_the_buffers():
    # The incremental join's two halves: new photos' signatures against every frame, and
    # the other photos' windows (signatures 1-15) against the new frames.
    phash, dhash, trims, trim_counts = _photos(400, seed=11)
    masks = np.zeros(1, dtype=np.int64)
    new = np.arange(300, 400, dtype=np.int64)
    old = np.arange(0, 300, dtype=np.int64)
    everything = np.arange(400, dtype=np.int64)
    for q_item, first, targets in ((new, 0, everything), (old, 1, new)):
        every_band = []
        for band in range(photohash.BANDS):
            expected = _expected(band, masks, q_item, first, 15, phash, dhash, trims, trim_counts, targets)
            for buffer in (0, 10, 100_000):  # too short: a new one is taken
                assert _join(band, masks, q_item, first, 15, phash, dhash, trims, trim_counts, targets,
                             buffer=buffer) == expected
            every_band += expected
        assert every_band
        assert _join_few(masks, q_item, first, 15, phash, dhash, trims, trim_counts, targets) == sorted(every_band)


def test_many_rows_from_few_targets_grow_the_output():
    # 2 000 copies of one photo against 40 of its copies: 80 000 comparisons in every band,
    # far beyond the first output buffer (1 024 rows).
    rng = np.random.default_rng(5)
    phash = np.full(2_040, rng.integers(0, 2**64, dtype=np.uint64), dtype=np.uint64)
    dhash = np.full(2_040, rng.integers(0, 2**64, dtype=np.uint64), dtype=np.uint64)
    trims = np.zeros((2_040, 0, 2), dtype=np.uint64)
    counts = np.zeros(2_040, dtype=np.int64)
    rows = _join_few(np.zeros(1, dtype=np.int64), np.arange(2_000), 0, 0, phash, dhash, trims, counts,
                     np.arange(2_000, 2_040))
    assert len(rows) == 2_000 * 40 * photohash.BANDS
    assert rows[0] == (0, 0, 2_000, 0, 0) and rows[-1] == (1_999, 0, 2_039, 0, 0)


def test_a_signature_range_and_the_band_order():
    phash, dhash, trims, trim_counts = _photos(200, seed=3)
    trim_counts[:] = len(photohash.TRIM_WINDOWS)
    items = np.arange(200, dtype=np.int64)
    masks = np.zeros(1, dtype=np.int64)
    whole = _join(2, masks, items, 0, 15, phash, dhash, trims, trim_counts, items)
    parts = sorted(_join(2, masks, items, 0, 7, phash, dhash, trims, trim_counts, items)
                   + _join(2, masks, items, 8, 15, phash, dhash, trims, trim_counts, items))
    assert parts == whole
    s_item, sp, sd, starts = bandjoin.band_sorted(items + 1000, phash, dhash, 5)
    values = ((phash >> np.uint64(16)) & np.uint64(0xFFFF)).astype(np.int64)
    order = np.argsort(values, kind="stable")
    assert np.array_equal(s_item, order + 1000)
    assert np.array_equal(sp, phash[order]) and np.array_equal(sd, dhash[order])
    assert np.array_equal(starts, np.concatenate(([0], np.cumsum(np.bincount(values, minlength=1 << 16)))))


def test_more_windows_than_a_reference_holds_are_refused():
    trims = np.zeros((2, bandjoin.SIGNATURES, 2), dtype=np.uint64)
    with pytest.raises(ValueError, match="trim windows"):
        photohash.matching_comparisons(np.zeros(2, dtype=np.uint64), np.zeros(2, dtype=np.uint64), trims,
                                       np.full(2, bandjoin.SIGNATURES), phash_max=12, dhash_max=12, sum_max=15)
