"""The photo index's band join, compiled (numba).

``photohash.matching_comparisons`` proposes a comparison wherever a query signature
(a photo's full frame or one of its trim windows) and a target full frame share one of
the eight 16-bit bands of their 128-bit key ``phash << 64 | dhash``. Per band the targets
are sorted by band value, so that each value's targets are one run (``starts``); a query
meets the run of its own band value (or of one a probe mask away) and each target of it
is compared by two popcounts.

Done with numpy, every candidate of every run cost half a dozen passes over temporary
arrays: at a million photos (16 million signatures against a million frames, 8 bands)
the join was 41 of the full check's 90 seconds. Here a run is read in place, a candidate
costs two XORs, two popcounts and a compare, and only the comparisons that pass are
written out. The numbers are the same: same candidates, same limits, same results
(tests/integrity/test_bandjoin.py compares with a plain scan).

numba compiles the loops once and keeps the machine code beside this file (or in the
user's cache when the package folder is read-only), so a later process loads it in a
fraction of a second. This module is imported only by the integrity checks, never by
the web processes.
"""

from __future__ import annotations

import numpy as np
from numba import njit, types
from numba.extending import intrinsic

from reliefsvc.integrity.photohash import BAND_BITS, BANDS

_HALF = BANDS // 2
_VALUES = 1 << BAND_BITS
_LOW_BITS = 9
_BUCKETS = _VALUES >> _LOW_BITS
#: A query's reference is ``item << _SIG_BITS | signature``: a photo has at most SIGNATURES
#: (its full frame and its trim windows).
_SIG_BITS = 4
_SIG_MASK = (1 << _SIG_BITS) - 1
SIGNATURES = 1 << _SIG_BITS
#: Above this many targets the queries are grouped by band value first (the targets' sorted
#: hashes and items, 24 bytes each, then outgrow the processor's second-level cache).
GROUP_ABOVE = 1 << 15


@intrinsic
def _popcount(typingctx, value):
    """LLVM's ctpop on a uint64: one POPCNT instruction where the CPU has it."""
    signature = types.uint64(types.uint64)

    def codegen(context, builder, sig, args):
        return builder.ctpop(args[0])

    return signature, codegen


@njit(cache=True, inline="always")
def _value(p, d, from_d, shift):
    """A band's value of the key ``p << 64 | d``: 16 bits of dHash (``from_d``) or of pHash
    from bit ``shift`` (see ``_band``; computed once a band, not once a key: per key it cost
    four times the rest of reading a query)."""
    return np.int64(((d if from_d else p) >> shift) & np.uint64(_VALUES - 1))


@njit(cache=True, inline="always")
def _has(present, value):
    return (present[value >> 6] >> np.uint64(value & 63)) & np.uint64(1)


@njit(cache=True, inline="always")
def _band(band):
    return band < _HALF, np.uint64(BAND_BITS * (band % _HALF))


@njit(cache=True)
def band_sorted(items, tp, td, band):
    """The targets (``items`` with full frames ``tp``/``td``) sorted by band value, stable,
    and where each value's run starts (``starts[v]`` to ``starts[v + 1]``): a counting sort
    that writes the sorted items and hashes in its second pass (three numpy gathers after
    an ``argsort`` took 0.11 s a band at a million)."""
    from_d, shift = _band(band)
    n = len(tp)
    counts = np.zeros(_VALUES + 1, dtype=np.int64)
    for t in range(n):
        counts[_value(tp[t], td[t], from_d, shift) + 1] += 1
    starts = np.cumsum(counts)
    fill = starts[:-1].copy()
    s_item, sp, sd = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.uint64), np.empty(n, dtype=np.uint64)
    for t in range(n):
        p, d = tp[t], td[t]
        v = _value(p, d, from_d, shift)
        at = fill[v]
        s_item[at], sp[at], sd[at] = items[t], p, d
        fill[v] = at + 1
    return s_item, sp, sd, starts


@njit(cache=True)
def _present(starts):
    """A bit per band value that has a run: 8 KiB, read from the first-level cache, where
    ``starts`` (512 KiB) is not; most of a few targets' values have none."""
    present = np.zeros(_VALUES >> 6, dtype=np.uint64)
    for v in range(_VALUES):
        if starts[v + 1] > starts[v]:
            present[v >> 6] |= np.uint64(1) << np.uint64(v & 63)
    return present


@njit(cache=True)
def _room(out, wanted):
    """A copy of ``out`` twice as long, or ``wanted`` rows when more.

    The probe that fills ``out`` is written out in each loop rather than called: an
    inlined call given the arrays (or returning ``out``) pays reference counting on every
    turn. At a million photos the full join took 10.4 s so, 7.2 s written out; the
    incremental run's few-target join 1.3 s, 0.45 s."""
    bigger = np.empty((max(2 * len(out), wanted), 5), dtype=np.int64)
    bigger[:len(out)] = out
    return bigger


@njit(cache=True)
def join_band(band, masks, q_item, q_first, q_last, phash, dhash, trims, trim_counts,
              t_item, sp, sd, starts, phash_max, dhash_max, sum_max, window_sum_max, work, refs):
    """Comparisons of the queries with many targets, in one band, that pass the limits.

    Queries: for each item ``q_item[k]``, its signatures ``q_first`` to ``q_last``
    (0: the full frame ``phash``/``dhash``; s: trim window s - 1 of ``trims``, where the
    item has it). Targets: full frames ``sp``/``sd`` of items ``t_item``, sorted by band
    value, value v's run from ``starts[v]`` to ``starts[v + 1]``. A query meets the run
    of its band value XOR each of ``masks``. A comparison passes when p <= phash_max,
    d <= dhash_max, p + d <= sum_max (window_sum_max for a window) and the target is
    another item. Returns a ``(comparisons, 5)`` array of rows
    ``(query item, signature, target item, p, d)``.

    The queries that meet a run are first laid out in ``work`` (``(m, 2)`` uint64: their
    hashes) and ``refs`` (``item << 4 | signature``; new buffers are taken when these are
    too short), grouped on the way by the high bits of their band value (a counting sort
    into 128 buckets), so that the targets a bucket's queries meet are 1/128 of the whole
    and stay in the processor's cache: met in the order they come, each query's run was a
    jump into memory, at a million photos a cache miss per query and most of the join's
    time. One band at a time: the band's bits of presence and its targets stay in the
    nearest caches (all eight bands in one pass over the queries took four times as long,
    measured while the probe was still a call). Few targets: ``join_few``.
    """
    from_d, shift = _band(band)
    present = _present(starts)
    out = np.empty((1024, 5), dtype=np.int64)
    used = 0
    # A query that meets no run is not laid out at all (only without masks: with them, any).
    exact = len(masks) == 1 and masks[0] == 0
    counts = np.zeros(_BUCKETS + 1, dtype=np.int64)
    for k in range(len(q_item)):
        item = q_item[k]
        for sig in range(q_first, min(q_last, trim_counts[item]) + 1):
            if sig == 0:
                qp, qd = phash[item], dhash[item]
            else:
                qp, qd = trims[item, sig - 1, 0], trims[item, sig - 1, 1]
            value = _value(qp, qd, from_d, shift)
            if exact and not _has(present, value):
                continue
            counts[(value >> _LOW_BITS) + 1] += 1
    q_starts = np.cumsum(counts)
    fill = q_starts[:-1].copy()
    size = q_starts[-1]
    queries = work[:size] if len(work) >= size else np.empty((size, 2), dtype=np.uint64)
    ref = refs[:size] if len(refs) >= size else np.empty(size, dtype=refs.dtype)
    for k in range(len(q_item)):
        item = q_item[k]
        for sig in range(q_first, min(q_last, trim_counts[item]) + 1):
            if sig == 0:
                qp, qd = phash[item], dhash[item]
            else:
                qp, qd = trims[item, sig - 1, 0], trims[item, sig - 1, 1]
            value = _value(qp, qd, from_d, shift)
            if exact and not _has(present, value):
                continue
            at = fill[value >> _LOW_BITS]
            fill[value >> _LOW_BITS] += 1
            queries[at, 0], queries[at, 1] = qp, qd
            ref[at] = item << _SIG_BITS | sig
    for q in range(size):
        qp, qd = queries[q, 0], queries[q, 1]
        item, sig = np.int64(ref[q]) >> _SIG_BITS, np.int64(ref[q]) & _SIG_MASK
        value = _value(qp, qd, from_d, shift)
        limit = sum_max if sig == 0 else window_sum_max
        for m_at in range(len(masks)):
            v = value ^ masks[m_at]
            if not _has(present, v):
                continue
            if used + starts[v + 1] - starts[v] > len(out):
                out = _room(out, used + starts[v + 1] - starts[v])
            for t in range(starts[v], starts[v + 1]):  # the probe (see _room: written out, not called)
                p = np.int64(_popcount(sp[t] ^ qp))
                if p > phash_max:
                    continue
                d = np.int64(_popcount(sd[t] ^ qd))
                if d > dhash_max or p + d > limit:
                    continue
                j = t_item[t]
                if j != item:
                    out[used, 0], out[used, 1], out[used, 2], out[used, 3], out[used, 4] = item, sig, j, p, d
                    used += 1
    return out[:used]


#: Queries read before their hits are probed (``join_few``): a block's hits are kept in a
#: buffer of fixed size, so that the reading loop carries no array that may be replaced.
_BLOCK = 256


@njit(cache=True)
def join_few(masks, q_item, q_first, q_last, phash, dhash, trims, trim_counts,
             t_item, sp, sd, starts, phash_max, dhash_max, sum_max, window_sum_max):
    """``join_band`` of every band at once, for few targets (at most GROUP_ABOVE):
    ``t_item``, ``sp``, ``sd`` and ``starts`` hold one row per band (``band_sorted``).

    Each query is read once and tried in all eight bands against the bands' bits of
    presence (64 KiB, in the nearest caches); a block of queries' hits are then probed.
    An incremental run's 15 million old windows against ten thousand new frames: 0.12 s
    to read them all and 0.33 s for their 17 million hits, where one band at a time took
    2.0 s. Rows as ``join_band``'s (a comparison found in several bands comes once per
    band)."""
    present = np.empty((BANDS, _VALUES >> 6), dtype=np.uint64)
    for band in range(BANDS):
        present[band] = _present(starts[band])
    out = np.empty((1024, 5), dtype=np.int64)
    used = 0
    n_masks = len(masks)
    hits = np.empty((_BLOCK * SIGNATURES * BANDS * n_masks, 3), dtype=np.int64)
    for block in range(0, len(q_item), _BLOCK):
        found = 0
        for k in range(block, min(block + _BLOCK, len(q_item))):
            item = q_item[k]
            for sig in range(q_first, min(q_last, trim_counts[item]) + 1):
                if sig == 0:
                    qp, qd = phash[item], dhash[item]
                else:
                    qp, qd = trims[item, sig - 1, 0], trims[item, sig - 1, 1]
                for band in range(BANDS):
                    from_d, shift = _band(band)
                    value = _value(qp, qd, from_d, shift)
                    for m_at in range(n_masks):
                        v = value ^ masks[m_at]
                        if (present[band, v >> 6] >> np.uint64(v & 63)) & np.uint64(1):
                            hits[found, 0], hits[found, 1], hits[found, 2] = item << _SIG_BITS | sig, band, v
                            found += 1
        for h in range(found):
            item, sig = hits[h, 0] >> _SIG_BITS, hits[h, 0] & _SIG_MASK
            band, v = hits[h, 1], hits[h, 2]
            if sig == 0:
                qp, qd = phash[item], dhash[item]
            else:
                qp, qd = trims[item, sig - 1, 0], trims[item, sig - 1, 1]
            run_from, run_to = starts[band, v], starts[band, v + 1]
            if used + run_to - run_from > len(out):
                out = _room(out, used + run_to - run_from)
            limit = sum_max if sig == 0 else window_sum_max
            for t in range(run_from, run_to):  # the probe, as join_band's
                p = np.int64(_popcount(sp[band, t] ^ qp))
                if p > phash_max:
                    continue
                d = np.int64(_popcount(sd[band, t] ^ qd))
                if d > dhash_max or p + d > limit:
                    continue
                j = t_item[band, t]
                if j != item:
                    out[used, 0], out[used, 1], out[used, 2], out[used, 3], out[used, 4] = item, sig, j, p, d
                    used += 1
    return out[:used]
