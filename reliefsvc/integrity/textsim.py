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
from collections import Counter
from collections.abc import Callable, Iterator, Sequence

# After NFKC, full-width punctuation and digits are ASCII. What goes: everything that is
# not a letter (\W: punctuation, spaces, symbols; and "_"), and digits — a copied note
# differs first in its date ("3月5日" / "3月12日") and numbers, which say nothing about
# whether the text was written for this household. One C-level regex, because it runs
# on every note of a province.
_NOT_TEXT = re.compile(r"[\W\d_]+")


def normalise(text: str) -> str:
    return _NOT_TEXT.sub("", unicodedata.normalize("NFKC", text)).lower()


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


def _fingerprint(text: str) -> tuple[int, int]:
    """Bitmaps of the characters and of the adjacent pairs of characters of ``text``.

    One edit removes or adds at most one distinct character on each side and at most
    two pairs on each side, so texts within k edits differ in at most 2k character bits
    and 4k pair bits (two things sharing a bit only make the difference smaller). Two
    XORs and popcounts then turn away almost every candidate that merely shares some
    phrases, before the edit distance is computed.
    """
    chars = 0
    pairs = 0
    previous = 0
    for ch in text:
        code = ord(ch)
        chars |= 1 << (code % _PRINT_BITS)
        pairs |= 1 << ((previous * 31 + code) % _PRINT_BITS)
        previous = code
    return chars, pairs


#: Segments beyond tau + 1: each edit spoils at most one segment, so with tau + 2 + PRUNED
#: segments a pair within tau edits keeps PRUNED + 2 of them intact. That allows (a)
#: leaving each text's PRUNED most common segments out of the index — the boilerplate
#: every note starts with ("入户走访") — and (b) still asking for two hits before a
#: candidate is looked at.
PRUNED = 2


def _segments(length: int, tau: int) -> list[tuple[int, int]]:
    """Even partition of ``length`` characters into tau + 2 + PRUNED (start, length) segments."""
    parts = tau + 2 + PRUNED
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
) -> Iterator[tuple[int, int, int]]:
    """Every pair ``(i, j, distance)`` of ``texts`` within ``max_edits(len_i, len_j)`` edits.

    ``max_edits`` must never exceed ``cap`` and every text must be longer than ``cap``.
    ``wanted(i, j)``, when given, is asked before a candidate is verified, so a caller
    that already knows the answer it needs can skip the edit distance.
    Texts are expected distinct (deduplicate first); i and j index ``texts``.
    """
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    tau_of: dict[int, int] = {}
    segments_of: dict[int, list[tuple[int, int]]] = {}
    index: dict[tuple[int, int, str], list[int]] = {}

    def tau_for(length: int) -> int:
        # The largest threshold any partner at most `cap` characters longer can bring.
        tau = tau_of.get(length)
        if tau is None:
            tau = max(max_edits(length, other) for other in range(length, length + cap + 1))
            tau_of[length] = tau
            segments_of[length] = _segments(length, tau)
        return tau

    prints = [_fingerprint(t) for t in texts]

    def keys_of(text: str) -> list[tuple[int, int, str]]:
        length = len(text)
        tau_for(length)
        return [(length, i, text[p:p + size]) for i, (p, size) in enumerate(segments_of[length])]

    frequency: Counter[tuple[int, int, str]] = Counter()
    for text in texts:
        frequency.update(keys_of(text))
    get = index.get
    lengths_seen: set[int] = set()
    for s_id in order:
        s = texts[s_id]
        ls = len(s)
        for lr in range(max(0, ls - cap), ls + 1):
            if lr not in lengths_seen:
                continue
            tau = tau_for(lr)
            delta = ls - lr
            if delta > tau:
                continue
            # A segment that survives unedited is shifted by (insertions - deletions)
            # before it, and |shift| + |delta - shift| edits are needed around it.
            shift_lo = -((tau - delta) // 2)
            shift_hi = (tau + delta) // 2
            # A true partner shows up under at least two segments; set operations in C
            # keep only those, so a segment shared by half the provider costs little.
            once: set[int] = set()
            twice: set[int] = set()
            for i, (p, size) in enumerate(segments_of[lr]):
                for pos in range(max(p + shift_lo, 0), min(p + shift_hi, ls - size) + 1):
                    bucket = get((lr, i, s[pos:pos + size]))
                    if bucket is not None:
                        if once:
                            twice.update(once.intersection(bucket))
                        once.update(bucket)
            if not twice:
                continue
            limit = max_edits(lr, ls)
            s_chars, s_pairs = prints[s_id]
            for r_id in sorted(twice):
                r_chars, r_pairs = prints[r_id]
                if (r_chars ^ s_chars).bit_count() > 2 * limit or (r_pairs ^ s_pairs).bit_count() > 4 * limit:
                    continue
                if wanted is not None and not wanted(r_id, s_id):
                    continue
                distance = bounded_levenshtein(texts[r_id], s, limit)
                if distance is not None:
                    yield r_id, s_id, distance
        lengths_seen.add(ls)
        keys = sorted(keys_of(s), key=frequency.__getitem__)
        for key in keys[:len(keys) - PRUNED]:
            index.setdefault(key, []).append(s_id)
