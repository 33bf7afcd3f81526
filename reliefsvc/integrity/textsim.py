"""Near-identical text: normalisation, bounded edit distance and a similarity join.

The join follows PassJoin (Li, Deng, Wang, Feng, VLDB 2011): split each text into
segments; every edit spoils at most one segment, so two texts within tau edits share the
untouched segments verbatim, each shifted by at most a few places (pigeonhole). Indexing
segments and probing with the substrings at those places finds every pair within the
threshold without comparing all pairs, and unlike MinHash it cannot miss one. Ledger
notes are templated, so two refinements keep the candidates few (docs/integrity.md):
tau + 4 segments, of which each text indexes all but its two most common, and a
candidate must be hit by two segments; then two bitmap filters, then the edit distance.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence

import numpy as np

# After NFKC, full-width punctuation and digits are ASCII. What goes: everything that is
# not a letter (\W: punctuation, spaces, symbols; and "_"), and digits — a copied note
# differs first in its date ("3月5日" / "3月12日") and numbers, which say nothing about
# whether the text was written for this household. One C-level regex, because it runs
# on every note of a province.
_NOT_TEXT = re.compile(r"[\W\d_]+")


def normalise(text: str) -> str:
    return _NOT_TEXT.sub("", unicodedata.normalize("NFKC", text)).lower()


def _simple_characters() -> tuple[re.Pattern, dict[int, str]]:
    """Characters ledger notes are made of (ASCII, CJK ideographs and punctuation,
    full-width forms) whose NFKC form is made of non-combining characters only: a text
    of just these normalises character by character, so ``str.translate`` with each
    one's ``normalise`` does it in one C call. Returns the pattern of any other
    character and the translation table."""
    ranges = [(0x00, 0x7F), (0x3000, 0x303F), (0x4E00, 0x9FFF), (0xFF01, 0xFF60), (0xFFE0, 0xFFE6)]
    simple = [c for lo, hi in ranges for c in range(lo, hi + 1)
              if unicodedata.combining(chr(c)) == 0
              and not any(unicodedata.combining(x) for x in unicodedata.normalize("NFKC", chr(c)))]
    table = {c: out for c in simple if (out := normalise(chr(c))) != chr(c)}
    spans: list[list[int]] = []
    for c in simple:
        if spans and spans[-1][1] == c - 1:
            spans[-1][1] = c
        else:
            spans.append([c, c])
    other = re.compile("[^" + "".join(f"\\U{lo:08x}-\\U{hi:08x}" for lo, hi in spans) + "]")
    return other, table


_OTHER_CHARACTER, _SIMPLE_TABLE = _simple_characters()
#: ``_SIMPLE_TABLE`` as a list over the Basic Multilingual Plane (an entry for every
#: character, the unchanged ones mapped to themselves): ``str.translate`` then indexes a
#: list instead of looking each character up in a dictionary, where every CJK character
#: is a miss — half the time of the dictionary on ledger notes. (Used for simple texts
#: only, whose characters are all in the table's plane.)
_SIMPLE_LIST = [None if (out := _SIMPLE_TABLE.get(c, chr(c))) == "" else ord(out) if len(out) == 1 else out
                for c in range(0x10000)]


def normalise_many(texts: Sequence[str]) -> list[str]:
    """``[normalise(t) for t in texts]``, several times faster for ledger notes: a text of
    simple characters only (``_simple_characters``) is translated in one C call; any
    other text goes through NFKC."""
    other, table = _OTHER_CHARACTER.search, _SIMPLE_LIST
    return [text.translate(table) if other(text) is None else normalise(text) for text in texts]


def bounded_levenshtein(a: str, b: str, limit: int) -> int | None:
    """Edit distance of ``a`` and ``b`` if it is at most ``limit``, else None.

    Banded dynamic programme, O(limit * len) and stops as soon as a whole band row
    exceeds ``limit``; copied notes share long prefixes and suffixes, which are
    stripped first, so a true copy usually costs a few dozen steps.
    """
    if abs(len(a) - len(b)) > limit:
        return None
    start = 0
    end_a, end_b = len(a), len(b)
    while start < end_a and start < end_b and a[start] == b[start]:
        start += 1
    while end_a > start and end_b > start and a[end_a - 1] == b[end_b - 1]:
        end_a -= 1
        end_b -= 1
    a, b = a[start:end_a], b[start:end_b]
    if len(a) > len(b):
        a, b = b, a
    n, m = len(a), len(b)
    if n == 0:
        return m if m <= limit else None
    big = limit + 1
    # Row i keeps only columns lo..hi of the band, offset so that column j sits at j - lo.
    previous = list(range(min(m, limit) + 1))
    prev_lo = 0
    for i in range(1, n + 1):
        lo = max(0, i - limit)
        hi = min(m, i + limit)
        ai = a[i - 1]
        current = []
        row_min = big
        for j in range(lo, hi + 1):
            if j == 0:
                cost = i
            else:
                k = j - 1 - prev_lo  # previous[j - 1]
                cost = previous[k] + (ai != b[j - 1]) if 0 <= k < len(previous) else big
                if current:
                    left = current[-1] + 1
                    if left < cost:
                        cost = left
            k = j - prev_lo  # previous[j]
            if 0 <= k < len(previous):
                up = previous[k] + 1
                if up < cost:
                    cost = up
            if cost > big:
                cost = big
            current.append(cost)
            if cost < row_min:
                row_min = cost
        if row_min > limit:
            return None
        previous, prev_lo = current, lo
    result = previous[m - prev_lo]
    return result if result <= limit else None


_PRINT_BITS = 1021  # a prime, so code points spread evenly over the bits


def _fingerprint(text: str, bits: int = _PRINT_BITS) -> tuple[int, int]:
    """Bitmaps (of ``bits`` bits) of the characters and of the adjacent pairs of characters of ``text``.

    One edit removes or adds at most one distinct character on each side and at most
    two pairs on each side, so texts within k edits differ in at most 2k character bits
    and 4k pair bits (two things sharing a bit only make the difference smaller). Two
    XORs and popcounts then turn away almost every candidate that merely shares some
    phrases, before the edit distance is computed.
    """
    chars = pairs = previous = 0
    for ch in text:
        code = ord(ch)
        chars |= 1 << (code % bits)
        pairs |= 1 << ((previous * 31 + code) % bits)
        previous = code
    return chars, pairs


#: Segments beyond tau + 1: each edit spoils at most one segment, so with tau + 2 + PRUNED
#: segments a pair within tau edits keeps PRUNED + 2 of them intact. That allows (a)
#: leaving each text's PRUNED most common segments out of the index — the boilerplate
#: every note starts with ("入户走访") — and (b) still asking for two hits before a
#: candidate is looked at.
PRUNED = 2
#: Untouched indexed segments a partner must share (the pigeonhole leaves PRUNED + HITS
#: of the tau + HITS + PRUNED segments untouched, HITS of them indexed).
HITS = 2


def _segments(length: int, tau: int) -> list[tuple[int, int]]:
    """Even partition of ``length`` characters into tau + HITS + PRUNED (start, length) segments."""
    parts = tau + HITS + PRUNED
    short = length // parts
    longer = length - short * parts  # the last `longer` segments get one more character
    out, start = [], 0
    for i in range(parts):
        size = short + (1 if i >= parts - longer else 0)
        out.append((start, size))
        start += size
    return out


def similar_pairs(
    texts: Sequence[str],
    max_edits: Callable[[int, int], int],
    cap: int,
    wanted: Callable[[int, int], bool] | None = None,
    involving: Sequence[int] | None = None,
) -> Iterator[tuple[int, int, int]]:
    """Every pair ``(i, j, distance)`` of ``texts`` within ``max_edits(len_i, len_j)`` edits.

    ``involving`` (text numbers), when given, keeps only the pairs with at least one of
    them and does only their work: those texts probe the index of all texts, in both
    directions of length (an incremental run's new notes against the archive).

    ``max_edits`` must never exceed ``cap`` and every text must be longer than ``cap``.
    ``wanted(i, j)``, when given, is asked before a pair is given out (a caller that
    already has the answer it needs skips it). Texts are expected distinct (deduplicate
    first); i and j index ``texts``; pairs come by j in order of length (then index),
    and for one j by the length of i, then i.

    The PassJoin index of the module docstring, computed for all texts at once with
    numpy (substrings as polynomial hashes, the index as a sorted array, the probes as
    one array per pair of lengths), so the cost per text is a few vector operations
    rather than ~200 dictionary probes; the candidates hit twice are then measured with
    ``rapidfuzz``'s edit distance in C (``bounded_levenshtein`` when it is not
    installed). A hash collision can only add a candidate, which the edit distance then
    turns away, so the result is exactly that of the pairwise definition.
    """
    n = len(texts)
    if n < 2:
        return
    tau_of: dict[int, int] = {}
    segments_of: dict[int, list[tuple[int, int]]] = {}
    for length in sorted({len(t) for t in texts}):
        # The largest threshold any partner at most `cap` characters longer (or, when
        # probing both ways, shorter) can bring.
        lowest = length if involving is None else max(0, length - cap)
        tau = max(max_edits(length, other) for other in range(lowest, length + cap + 1))
        tau_of[length] = tau
        segments_of[length] = _segments(length, tau)
    probers = None if involving is None else np.unique(np.asarray(involving, dtype=np.int64))
    candidates_r, candidates_s = _passjoin_candidates(texts, tau_of, segments_of, cap, probers)
    if not len(candidates_r):
        return
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=n)
    limits = _limits(lengths[candidates_r], lengths[candidates_s], max_edits)
    distances = _distances(texts, candidates_r, candidates_s, limits, cap)
    close = distances <= limits
    r_ids, s_ids, distances = candidates_r[close], candidates_s[close], distances[close]
    rank = np.empty(n, dtype=np.int64)
    rank[np.lexsort((np.arange(n), lengths))] = np.arange(n)
    order = np.lexsort((r_ids, lengths[r_ids], rank[s_ids]))
    for r_id, s_id, distance in zip(r_ids[order].tolist(), s_ids[order].tolist(), distances[order].tolist(),
                                    strict=True):
        if wanted is None or wanted(r_id, s_id):
            yield r_id, s_id, distance


def _limits(len_r: np.ndarray, len_s: np.ndarray, max_edits: Callable[[int, int], int]) -> np.ndarray:
    width = int(max(len_r.max(), len_s.max())) + 1
    pairs, inverse = np.unique(len_r * width + len_s, return_inverse=True)
    table = np.array([max_edits(int(p // width), int(p % width)) for p in pairs.tolist()], dtype=np.int64)
    return table[inverse]


def _distances(texts: Sequence[str], r_ids: np.ndarray, s_ids: np.ndarray, limits: np.ndarray,
               cap: int) -> np.ndarray:
    """Edit distance of each candidate pair where it is within ``limits``, else more."""
    try:
        from rapidfuzz.distance import Levenshtein
        from rapidfuzz.process import cpdist
    except ImportError:  # pragma: no cover - rapidfuzz is a dependency; the banded DP is the fallback
        out = np.empty(len(r_ids), dtype=np.int64)
        prints: dict[int, tuple[int, int]] = {}
        for n, (r, s, limit) in enumerate(zip(r_ids.tolist(), s_ids.tolist(), limits.tolist(), strict=True)):
            pr = prints.get(r) or prints.setdefault(r, _fingerprint(texts[r]))
            ps = prints.get(s) or prints.setdefault(s, _fingerprint(texts[s]))
            if (pr[0] ^ ps[0]).bit_count() > 2 * limit or (pr[1] ^ ps[1]).bit_count() > 4 * limit:
                out[n] = limit + 1
                continue
            distance = bounded_levenshtein(texts[r], texts[s], limit)
            out[n] = limit + 1 if distance is None else distance
        return out
    # The bitmap filter of ``_fingerprint`` first, in numpy and on 64 bits: of the ~265 000
    # candidates of a provider's 15 000 texts (they share stock phrases) it leaves ~6 500,
    # so the edit distances cost little beside it.
    if len(r_ids) >= len(texts):
        chars, pairs = _bitmaps(texts)
        r_at, s_at = r_ids, s_ids
    else:  # few candidates (an incremental run): the bitmaps of their texts only
        used = np.unique(np.concatenate((r_ids, s_ids)))
        chars, pairs = _bitmaps([texts[i] for i in used.tolist()])
        r_at, s_at = np.searchsorted(used, r_ids), np.searchsorted(used, s_ids)
    differ = (_popcount(chars[r_at] ^ chars[s_at]) > 2 * limits) | (_popcount(pairs[r_at] ^ pairs[s_at]) > 4 * limits)
    out = limits + 1
    ask = np.flatnonzero(~differ)
    if len(ask):
        out[ask] = cpdist([texts[i] for i in r_ids[ask].tolist()], [texts[i] for i in s_ids[ask].tolist()],
                          scorer=Levenshtein.distance, score_cutoff=cap, dtype=np.int64, workers=1)
    return out


#: Bits of the bitmaps of ``_bitmaps`` (one 64-bit word; 128 would leave ~850 of the
#: 265 000, but cost more to make and compare than the edit distances they spare).
_BITMAP_BITS = 64


def _bitmaps(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """``_fingerprint`` of every text on ``_BITMAP_BITS`` bits, as uint64 arrays: characters,
    and adjacent pairs of characters. Fewer bits than ``_fingerprint`` only make two
    bitmaps differ less (characters that share a bit), so the bound holds."""
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
    if not len(texts) or not lengths.all():  # an empty text (never, in the join): one at a time
        bitmaps = [_fingerprint(text, _BITMAP_BITS) for text in texts]
        return (np.array([c for c, _p in bitmaps], dtype=np.uint64).reshape(-1),
                np.array([p for _c, p in bitmaps], dtype=np.uint64).reshape(-1))
    codes = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    previous = np.concatenate(([0], codes[:-1]))
    previous[starts] = 0
    one = np.uint64(1)
    chars = np.bitwise_or.reduceat(np.left_shift(one, (codes % _BITMAP_BITS).astype(np.uint64)), starts)
    pairs = np.bitwise_or.reduceat(np.left_shift(one, ((previous * 31 + codes) % _BITMAP_BITS).astype(np.uint64)),
                                   starts)
    return chars, pairs


def _popcount(values: np.ndarray) -> np.ndarray:
    """Set bits of each uint64 (``np.bitwise_count`` from numpy 2.0; a byte table before)."""
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(values)
    table = np.array([bin(b).count("1") for b in range(256)], dtype=np.uint8)  # pragma: no cover
    return table[values.view(np.uint8)].reshape(-1, 8).sum(axis=1, dtype=np.uint8)  # pragma: no cover


_HASH_BASE = 0x9E3779B97F4A7C15  # odd, so it has an inverse modulo 2**64
_HASH_MIX = np.uint64(0xC2B2AE3D27D4EB4F)
_HASH_SALT = np.uint64(0x165667B19E3779F9)
#: Probe matches expanded at once (bounds the memory of the join).
_EXPAND = 1 << 22


def _passjoin_candidates(texts: Sequence[str], tau_of: dict[int, int], segments_of: dict[int, list[tuple[int, int]]],
                         cap: int, probers: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (r, s), r before s in order of length then index, that share two indexed
    segments at the positions PassJoin allows: arrays of text numbers. With ``probers``
    only those texts probe, against partners up to ``cap`` characters shorter or longer
    (a segment of the longer text survives in the shorter one too, shifted within the
    same bounds), and only pairs with a prober come out."""
    n = len(texts)
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=n)
    rank = np.empty(n, dtype=np.int64)
    rank[np.lexsort((np.arange(n), lengths))] = np.arange(n)
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    codes = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64) + np.uint64(1)
    total = len(codes)
    powers = np.full(total + 1, _HASH_BASE, dtype=np.uint64)
    powers[0] = 1
    powers = np.cumprod(powers, dtype=np.uint64)  # wraps modulo 2**64, as intended
    inverse = np.full(total + 1, pow(_HASH_BASE, -1, 1 << 64), dtype=np.uint64)
    inverse[0] = 1
    inverse = np.cumprod(inverse, dtype=np.uint64)
    prefix = np.zeros(total + 1, dtype=np.uint64)
    np.cumsum(codes * powers[:total], out=prefix[1:])

    def keys(at: np.ndarray, size: np.ndarray, length: int, segment: np.ndarray) -> np.ndarray:
        # Hash of texts' characters [at, at + size), made independent of the position,
        # mixed with the segment's length class and number.
        h = (prefix[at + size] - prefix[at]) * inverse[at]
        return (h ^ ((segment.astype(np.uint64) + np.uint64(length << 8)) * _HASH_SALT)) * _HASH_MIX

    # The index: each text's segments but its PRUNED most common.
    by_length: dict[int, np.ndarray] = {}
    for length in tau_of:
        by_length[length] = np.flatnonzero(lengths == length)
    seg_keys, seg_ids = [], []
    for length, ids in by_length.items():
        segs = segments_of[length]
        pos = np.array([p for p, _s in segs], dtype=np.int64)
        size = np.array([s for _p, s in segs], dtype=np.int64)
        at = starts[ids][:, None] + pos[None, :]
        seg_keys.append(keys(at, np.broadcast_to(size, at.shape), length,
                             np.broadcast_to(np.arange(len(segs)), at.shape)))
        seg_ids.append(ids)
    kept_keys, kept_ids = [], []
    all_keys = np.concatenate([k.ravel() for k in seg_keys])
    by_key = np.argsort(all_keys)
    ordered = all_keys[by_key]
    run_starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    runs = np.diff(np.append(run_starts, len(ordered)))
    frequency = np.empty(len(all_keys), dtype=np.int64)
    frequency[by_key] = np.repeat(runs, runs)
    offset = 0
    for k, ids in zip(seg_keys, seg_ids, strict=True):
        freq = frequency[offset:offset + k.size].reshape(k.shape)
        offset += k.size
        keep = np.argsort(freq, axis=1, kind="stable")[:, :k.shape[1] - PRUNED]
        kept_keys.append(np.take_along_axis(k, keep, axis=1).ravel())
        kept_ids.append(np.repeat(ids, keep.shape[1]))
    index_keys = np.concatenate(kept_keys)
    index_ids = np.concatenate(kept_ids)
    order = np.argsort(index_keys)
    index_keys, index_ids = index_keys[order], index_ids[order]
    # Distinct keys with the run of texts under each, and a direct-address table on the
    # keys' top bits that finds a probe's run without a binary search (slots where two
    # keys meet fall back to one).
    first_of = np.flatnonzero(np.concatenate(([True], index_keys[1:] != index_keys[:-1])))
    distinct = index_keys[first_of]
    run_of = np.diff(np.append(first_of, len(index_keys)))
    slot_bits = max(10, min(24, int(len(distinct)).bit_length() + 4))
    shift = np.uint64(64 - slot_bits)
    table = np.full(1 << slot_bits, -1, dtype=np.int64)
    slots = (distinct >> shift).astype(np.int64)
    table[slots] = np.arange(len(distinct))
    shared = np.flatnonzero(np.bincount(slots, minlength=1 << slot_bits) > 1)
    table[shared] = -2

    def find(probes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(probe number, distinct key number) of the probes whose key is indexed."""
        where = table[(probes >> shift).astype(np.int64)]
        direct = np.flatnonzero(where >= 0)
        direct = direct[distinct[where[direct]] == probes[direct]]
        out_p, out_k = [direct], [where[direct]]
        crowded = np.flatnonzero(where == -2)
        if len(crowded):
            k = np.minimum(np.searchsorted(distinct, probes[crowded]), len(distinct) - 1)
            ok = distinct[k] == probes[crowded]
            out_p.append(crowded[ok])
            out_k.append(k[ok])
        return np.concatenate(out_p), np.concatenate(out_k)

    # The probes: each text's substrings at the places a partner's segment can have moved to.
    pair_keys: list[np.ndarray] = []
    probing = by_length if probers is None else {
        length: probers[lengths[probers] == length] for length in np.unique(lengths[probers]).tolist()}
    for ls, ids in probing.items():
        for lr in range(max(0, ls - cap), ls + 1 + (0 if probers is None else cap)):
            if lr not in tau_of:
                continue
            tau = tau_of[lr]
            delta = ls - lr
            if abs(delta) > tau:
                continue
            shift_lo, shift_hi = -((tau - delta) // 2), (tau + delta) // 2
            probe_seg, probe_pos, probe_size = [], [], []
            for i, (p, size) in enumerate(segments_of[lr]):
                for pos in range(max(p + shift_lo, 0), min(p + shift_hi, ls - size) + 1):
                    probe_seg.append(i)
                    probe_pos.append(pos)
                    probe_size.append(size)
            if not probe_seg:
                continue
            at = starts[ids][:, None] + np.array(probe_pos, dtype=np.int64)[None, :]
            shape = at.shape
            probes = keys(at, np.broadcast_to(np.array(probe_size, dtype=np.int64), shape), lr,
                          np.broadcast_to(np.array(probe_seg, dtype=np.int64), shape)).ravel()
            hit, key_no = find(probes)
            if not len(hit):
                continue
            lo, counts, owners = first_of[key_no], run_of[key_no], ids[hit // shape[1]]
            # Expand each probe to the texts under its key, in slices of bounded size.
            ends = np.cumsum(counts)
            first = 0
            while first < len(hit):
                last = int(np.searchsorted(ends, (ends[first - 1] if first else 0) + _EXPAND, side="right"))
                last = max(last, first + 1)
                c = counts[first:last]
                base = np.repeat(lo[first:last] - (np.cumsum(c) - c), c)
                r = index_ids[base + np.arange(int(c.sum()))]
                s = np.repeat(owners[first:last], c)
                if probers is None:
                    earlier = rank[r] < rank[s]
                    pair_keys.append(s[earlier] * n + r[earlier])
                else:
                    other = r != s
                    pair_keys.append(s[other] * n + r[other])
                first = last
    if not pair_keys:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    pairs = np.sort(np.concatenate(pair_keys))
    # Hit at least HITS times: equal to the one HITS - 1 places on in sorted order (taken once).
    again = pairs[HITS - 1:][pairs[HITS - 1:] == pairs[:len(pairs) - HITS + 1]]
    twice = again[np.concatenate(([True], again[1:] != again[:-1]))] if len(again) else again
    r, s = twice % n, twice // n
    if probers is not None:
        # Each pair once, the earlier text first (two probers may have found each other).
        swap = rank[r] > rank[s]
        r, s = np.where(swap, s, r), np.where(swap, r, s)
        twice = np.unique(s * n + r)
        r, s = twice % n, twice // n
    return r, s
