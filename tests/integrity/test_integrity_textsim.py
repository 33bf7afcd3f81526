"""The notes join: normalisation, bounded edit distance, and no pair missed."""

from __future__ import annotations

import itertools
import random

from reliefsvc.integrity import textsim


def levenshtein(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def test_normalise_drops_punctuation_spaces_and_width():
    assert textsim.normalise("入户走访， 老人身体良好。ＯＫ!") == "入户走访老人身体良好ok"
    assert textsim.normalise("  ") == ""


def test_bounded_levenshtein():
    assert textsim.bounded_levenshtein("入户走访王家", "入户走访李家", 1) == 1
    assert textsim.bounded_levenshtein("abcdef", "abcdef", 0) == 0
    assert textsim.bounded_levenshtein("abcdef", "abcxyz", 2) is None
    assert textsim.bounded_levenshtein("abc", "abcdefgh", 4) is None


def _mutate(rnd: random.Random, text: str, edits: int, alphabet: str) -> str:
    chars = list(text)
    for _ in range(edits):
        pos = rnd.randrange(len(chars) + 1)
        op = rnd.randrange(3)
        if op == 0:
            chars.insert(pos, rnd.choice(alphabet))
        elif pos < len(chars):
            if op == 1:
                del chars[pos]
            else:
                chars[pos] = rnd.choice(alphabet)
    return "".join(chars)


def test_the_join_finds_exactly_the_pairs_a_full_comparison_finds():
    # A four-letter alphabet makes many texts share segments, the hard case for the index.
    rnd = random.Random(11)
    alphabet = "abcd"

    def allowed(la: int, lb: int) -> int:
        return min(5, int(0.15 * max(la, lb)))

    for _ in range(12):
        bases = ["".join(rnd.choice(alphabet) for _ in range(rnd.randint(20, 45))) for _ in range(12)]
        texts = list(bases)
        for base in bases:
            texts += [_mutate(rnd, base, rnd.randint(0, 8), alphabet) for _ in range(4)]
        texts = [t for t in dict.fromkeys(texts) if len(t) > 5]
        found = {(min(i, j), max(i, j)): d for i, j, d in textsim.similar_pairs(texts, allowed, 5)}
        expected = {}
        for i, j in itertools.combinations(range(len(texts)), 2):
            distance = levenshtein(texts[i], texts[j])
            limit = allowed(len(texts[i]), len(texts[j]))
            assert textsim.bounded_levenshtein(texts[i], texts[j], limit) == (
                distance if distance <= limit else None)
            if distance <= limit:
                expected[(i, j)] = distance
        assert found == expected


def test_the_join_over_new_texts_finds_exactly_their_pairs():
    # An incremental run: only pairs with one of the new texts, probing both ways.
    rnd = random.Random(12)
    alphabet = "abcd"

    def allowed(la: int, lb: int) -> int:
        return min(5, int(0.15 * max(la, lb)))

    for _ in range(8):
        bases = ["".join(rnd.choice(alphabet) for _ in range(rnd.randint(20, 45))) for _ in range(12)]
        texts = list(bases)
        for base in bases:
            texts += [_mutate(rnd, base, rnd.randint(0, 8), alphabet) for _ in range(4)]
        texts = [t for t in dict.fromkeys(texts) if len(t) > 5]
        new = sorted(rnd.sample(range(len(texts)), 8))
        found = {(min(i, j), max(i, j)): d for i, j, d in textsim.similar_pairs(texts, allowed, 5, involving=new)}
        expected = {}
        for i, j in itertools.combinations(range(len(texts)), 2):
            distance = levenshtein(texts[i], texts[j])
            if (i in new or j in new) and distance <= allowed(len(texts[i]), len(texts[j])):
                expected[(i, j)] = distance
        assert found == expected


def test_normalising_many_notes_at_once_is_normalising_each():
    rnd = random.Random(5)
    pool = ([chr(c) for c in range(0x20, 0x250)] + [chr(c) for c in range(0x3000, 0x30A0)]
            + [chr(c) for c in range(0x4E00, 0x4E40)] + [chr(c) for c in range(0xFF00, 0xFFF0)]
            + [chr(c) for c in range(0x2460, 0x2500)] + ["\n", "\u0301", "Σ", "İ", "ﬁ", "ǅ", "㈱", "ｶﾞ"])
    simple = [c for c in pool if textsim._OTHER_CHARACTER.search(c) is None]
    for source in (pool, simple):
        texts = ["".join(rnd.choice(source) for _ in range(rnd.randint(0, 50))) for _ in range(3000)]
        texts += ["入户走访， 老人身体良好。ＯＫ!", "3月5日入户走访王家；"]
        assert textsim.normalise_many(texts) == [textsim.normalise(t) for t in texts]
