"""Perceptual hashes of evidence photos and a Hamming-distance index over them.

Two independent 64-bit hashes are kept per photo (see docs/integrity.md):

* pHash: signs of the 8x8 lowest frequencies of the DCT of a 32x32 grey thumbnail
  against their median — the overall layout of light and dark.
* dHash: whether each pixel of a 9x8 grey thumbnail is brighter than its left
  neighbour — local horizontal gradients.

Both follow the construction of ``imagehash.phash`` / ``imagehash.dhash`` 4.x (same
thumbnail sizes, LANCZOS filter, median rule and bit order, first cell as the most
significant bit). We do not depend on imagehash: it brings PyWavelets for what is a few
lines of numpy on a 32x32 thumbnail here, and it neither applies EXIF orientation nor
decodes JPEGs at reduced size (we do both, so values may differ
from imagehash's by a bit or two; only our own hashes are ever compared).
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import combinations

import numpy as np
from PIL import Image, ImageOps

HASH_BITS = 64
_PHASH_SIDE = 32  # thumbnail side for the DCT: 4x the 8x8 hash, as imagehash does
_PHASH_KEEP = 8

# DCT-II basis rows for the lowest 8 frequencies over 32 samples. scipy's unnormalised
# DCT-II multiplies by 2; a common factor does not change which side of the median a
# coefficient falls on, so it is left out.
_DCT_BASIS = tuple(
    tuple(math.cos(math.pi * k * (2 * n + 1) / (2 * _PHASH_SIDE)) for n in range(_PHASH_SIDE))
    for k in range(_PHASH_KEEP)
)
_DCT_MATRIX = np.array(_DCT_BASIS, dtype=np.float64)  # 8 x 32


def _bits_to_int(bits: Iterable[bool]) -> int:
    value = 0
    for bit in bits:
        value = (value << 1) | bool(bit)
    return value


def _grey(image: Image.Image) -> Image.Image:
    # A phone photo is stored sideways with an Orientation tag; the same picture
    # turned upright by another tool must hash alike, so hash what a person sees.
    image = ImageOps.exif_transpose(image)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        # Transparent areas become white, as an image viewer shows them.
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return image.convert("L")


def phash_of(grey: Image.Image) -> int:
    """64-bit DCT hash of a grey ("L") image."""
    small = grey.resize((_PHASH_SIDE, _PHASH_SIDE), Image.Resampling.LANCZOS)
    pixels = np.frombuffer(small.tobytes(), dtype=np.uint8).reshape(_PHASH_SIDE, _PHASH_SIDE).astype(np.float64)
    # Separable DCT, only the 8 lowest frequencies in each direction are ever needed:
    # along each row (horizontal frequency v), then down each column (vertical u).
    # numpy does in microseconds what the same sums in pure Python took ~10 ms for
    # (15 windows a photo: most of a photo's intake time before).
    coeffs = (_DCT_MATRIX @ (pixels @ _DCT_MATRIX.T)).ravel()
    ordered = np.sort(coeffs)
    median = (ordered[31] + ordered[32]) / 2
    return _bits_to_int((coeffs > median).tolist())


def dhash_of(grey: Image.Image) -> int:
    """64-bit horizontal-gradient hash of a grey ("L") image."""
    small = grey.resize((9, 8), Image.Resampling.LANCZOS)
    data = small.tobytes()
    return _bits_to_int(data[r * 9 + c + 1] > data[r * 9 + c] for r in range(8) for c in range(8))


#: Windows hashed besides the full frame, as the share cut off (left, top, right, bottom).
#: A copy that was cropped is compared, full frame, with the original's nearest window;
#: measured, a window within about 2 % per side of the crop matches as closely as a
#: re-encoded copy. Centre windows cover borders trimmed evenly (up to ~9 % a side), side
#: windows a crop from one edge (up to 10 % and a bit), corner windows a crop from two
#: edges (5 % + 5 %). Measured on 120 generated photos, each copy resized to 60 %,
#: brightened or darkened up to 15 % and saved at JPEG quality 60: one side cropped
#: 3/6/8/10 % all 120 found (centre windows alone: 113, 25, 22, 0), two sides 3 + 3 %
#: 119, 5 + 5 % 120, random crops of up to 10 % of the area 120; no false pair.
TRIM_WINDOWS: tuple[tuple[float, float, float, float], ...] = (
    (0.025, 0.025, 0.025, 0.025), (0.05, 0.05, 0.05, 0.05), (0.075, 0.075, 0.075, 0.075),
    (0.05, 0, 0, 0), (0.10, 0, 0, 0), (0, 0.05, 0, 0), (0, 0.10, 0, 0),
    (0, 0, 0.05, 0), (0, 0, 0.10, 0), (0, 0, 0, 0.05), (0, 0, 0, 0.10),
    (0.05, 0.05, 0, 0), (0, 0.05, 0.05, 0), (0.05, 0, 0, 0.05), (0, 0, 0.05, 0.05),
)


def open_grey(image: Image.Image) -> Image.Image:
    """The grey picture a photo's hashes are taken from, when the intake's reduced decode
    does not apply (PNG, HEIC, CMYK or progressive JPEG): the image as decoded, upright."""
    # The JPEG fast path is evidence.photos's (one decode for the display copy, the
    # colours and the hashes); this is the plain way.
    image.draft("L", (256, 256))  # a no-op but for JPEG
    return _grey(image)


def signature_of(grey: Image.Image) -> tuple[int, int, tuple[tuple[int, int], ...]]:
    """``(phash, dhash, trim_hashes)`` of a grey image: what the evidence store keeps."""
    return phash_of(grey), dhash_of(grey), trim_hashes(grey)


def photo_hashes(image_bytes: bytes) -> tuple[int, int]:
    """``(phash, dhash)`` of a photo given as bytes; raises ``PIL.UnidentifiedImageError``."""
    return photo_signature(image_bytes)[:2]


def trim_hashes(grey: Image.Image, windows=TRIM_WINDOWS) -> tuple[tuple[int, int], ...]:
    """``(phash, dhash)`` of each window of a grey image (see ``TRIM_WINDOWS``)."""
    width, height = grey.size
    out = []
    for left, top, right, bottom in windows:
        window = grey.crop((round(width * left), round(height * top), round(width * (1 - right)),
                            round(height * (1 - bottom))))
        out.append((phash_of(window), dhash_of(window)))
    return tuple(out)


def photo_signature(image_bytes: bytes) -> tuple[int, int, tuple[tuple[int, int], ...]]:
    """``(phash, dhash, trim_hashes)`` of a photo exactly as the evidence store takes them
    at intake (``evidence.photos.signature``: the same decode, bit for bit)."""
    # One definition of a stored photo's hashes: the intake's.
    from reliefsvc.evidence.photos import signature

    return signature(image_bytes)


# --- The second measure: colours where the hashes see only grey ----------------------------
#
# pHash and dHash both read the grey picture, so two different pictures of the same kind
# (sky over fields, a house, people in front) can hash alike. Colours are independent of
# that: each photo keeps an 8x8 grid of its mean colours (192 bytes), and a pair the
# hashes call the same must also agree in colour layout over the aligned area (the
# matched window of one, the full frame of the other): the cosine of their 4x4 layouts of
# opponent colours and grey deviations, which brightness and contrast changes scale but
# do not turn, must be at least COLOUR_MIN. A photo with no colour to speak of (grey or
# faded) is not vetoed: the hashes decide alone.

COLOUR_GRID = 8
COLOUR_MIN = 0.94


def colour_grid(image_bytes: bytes) -> bytes:
    """8x8 mean colours of the upright picture, RGB, 192 bytes."""
    with Image.open(io.BytesIO(image_bytes)) as image:
        image.draft("RGB", (128, 128))
        upright = ImageOps.exif_transpose(image).convert("RGB")
    return upright.resize((COLOUR_GRID, COLOUR_GRID), Image.Resampling.BOX).tobytes()


def _layout(grid: bytes, box: tuple[float, float, float, float]) -> list[float] | None:
    left, top, right, bottom = box
    n = COLOUR_GRID
    small = Image.frombytes("RGB", (n, n), grid).resize(
        (4, 4), Image.Resampling.BILINEAR, box=(n * left, n * top, n * (1 - right), n * (1 - bottom)))
    pixels = list(small.get_flattened_data())
    grey = [(r + g + b) / 3 for r, g, b in pixels]
    mean = sum(grey) / len(grey)
    out = []
    for (r, g, b), y in zip(pixels, grey, strict=True):
        out += [r - (g + b) / 2, (g - b) * 0.866, y - mean]
    return out


def same_colours(grid_a: bytes | None, window: int, grid_b: bytes | None) -> bool:
    """Whether window ``window`` of picture a (0: full frame) and picture b agree in colour."""
    if not grid_a or not grid_b or len(grid_a) != len(grid_b):
        return True
    box = (0.0, 0.0, 0.0, 0.0) if window == 0 else TRIM_WINDOWS[window - 1]
    a, b = _layout(grid_a, box), _layout(grid_b, (0.0, 0.0, 0.0, 0.0))
    norm_a = sum(x * x for x in a) ** 0.5
    norm_b = sum(x * x for x in b) ** 0.5
    if norm_a < 30 or norm_b < 30:
        return True
    return sum(x * y for x, y in zip(a, b, strict=True)) / (norm_a * norm_b) >= COLOUR_MIN


def pack_trims(trims: Sequence[tuple[int, int]]) -> bytes:
    """The trim windows' hashes as stored with a photo: 16 bytes a window, big-endian."""
    return b"".join(p.to_bytes(8, "big") + d.to_bytes(8, "big") for p, d in trims)


def unpack_trims(blob: bytes | None) -> tuple[tuple[int, int], ...]:
    if not blob:
        return ()
    return tuple((int.from_bytes(blob[i:i + 8], "big"), int.from_bytes(blob[i + 8:i + 16], "big"))
                 for i in range(0, len(blob) - 15, 16))


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()


# --- Finding near-identical hashes among many -------------------------------------------
#
# A pair is "the same picture" when pHash and dHash BOTH agree: p <= p_max, d <= d_max
# and p + d <= sum_max (one hash alone lets different pictures through, NOTES.md).
#
# Candidates come from an index: the two hashes are read as one 128-bit key cut into 8
# bands of 16 bits (4 from each hash), and two photos are compared only when some band
# is identical. Pigeonhole: if either hash differs in at most 3 bits, one of its 4 bands
# is untouched, so such a pair is always found; pairs further apart are found when any
# band survives, which measured on re-encoded, resized, brightened and trimmed copies
# is nearly always (docs/integrity.md). Looking up also every neighbour within one bit
# (probe_radius=1) guarantees every pair with p + d <= 15, at 17 times the lookups and
# 17 times the candidates: affordable for one contract, not for a province.
#
# The index is a join of arrays (``matching_comparisons``), not dictionaries: a province's
# photos cost vector operations per band, and only comparisons within the limits reach
# Python. ``near_duplicates`` keeps its pairwise-scan contract (same pairs, same (p, d),
# same order; docs/integrity.md, PHOTO_REUSED).

BANDS = 8
BAND_BITS = 16
#: A window against a full frame must agree more closely than two full frames (p + d at
#: most 14, not 15): each photo offers 15 windows, so a loose limit multiplies the chances
#: of two different pictures that happen to hash close. Measured with the colour check
#: below on three planted counties (bench/integrity_planted.py, half the pictures the
#: demo's look-alike village scenes as they were first drawn, before they got more varied): at 12, recall 0.944-0.973 and precision 0.967-1.0;
#: at 14, recall 1.0 and precision 0.931-0.951; at 15, recall 1.0, precision 0.906-0.947.
WINDOW_SUM_MAX = 14
_BAND_MASK = (1 << BAND_BITS) - 1


def _masks(radius: int) -> tuple[int, ...]:
    out = [0]
    for r in range(1, radius + 1):
        for bits in combinations(range(BAND_BITS), r):
            mask = 0
            for bit in bits:
                mask |= 1 << bit
            out.append(mask)
    return tuple(out)


def trims_array(trims: Sequence[Sequence[tuple[int, int]] | bytes | None]) -> tuple[np.ndarray, np.ndarray]:
    """The trim windows of many photos as one ``(N, W, 2)`` uint64 array and the number of
    windows each photo has (``(N,)``); each entry is a tuple of ``(phash, dhash)`` pairs
    or the packed blob of ``pack_trims`` (which is read without unpacking)."""
    n = len(trims)
    blobs = all(t is None or type(t) is bytes for t in trims)
    sizes = np.fromiter((0 if t is None else len(t) for t in trims), dtype=np.int64, count=n)
    whole = blobs and not (sizes % 16).any()
    if blobs:
        sizes //= 16
    width = int(sizes.max()) if n else 0
    if width == 0:
        return np.zeros((n, 0, 2), dtype=np.uint64), sizes
    if whole:  # packed blobs only (or none): one buffer, no Python per photo
        return windows_from_buffer(b"".join(t for t in trims if t), sizes)
    out = np.zeros((n, width, 2), dtype=np.uint64)
    for i in np.flatnonzero(sizes).tolist():
        t, k = trims[i], int(sizes[i])
        if isinstance(t, bytes | bytearray | memoryview):
            out[i, :k] = np.frombuffer(bytes(t[:16 * k]), dtype=">u8").reshape(k, 2)
        else:
            out[i, :k] = np.array([(p, d) for p, d in t[:k]], dtype=np.uint64)
    return out, sizes


def windows_from_buffer(buffer: bytes, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``trims_array`` of photos whose packed windows (``pack_trims``) follow each other in
    ``buffer``, ``sizes[i]`` windows for photo i (0 for none)."""
    n, width = len(sizes), int(sizes.max()) if len(sizes) else 0
    flat = np.frombuffer(buffer, dtype=">u8")
    if width and (sizes == width).all():  # the common case: every photo has every window
        return flat.astype(np.uint64).reshape(n, width, 2), sizes
    out = np.zeros((n, width, 2), dtype=np.uint64)
    out[np.arange(width)[None, :] < sizes[:, None]] = flat.reshape(-1, 2)
    return out, sizes


_U16 = np.uint64(_BAND_MASK)
_BYTE_BITS = np.array([bin(b).count("1") for b in range(256)], dtype=np.uint8)


def _popcount(values: np.ndarray) -> np.ndarray:
    """Set bits of each uint64 (``np.bitwise_count`` from numpy 2.0; a byte table before)."""
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(values)
    return _BYTE_BITS[values.view(np.uint8)].reshape(-1, 8).sum(axis=1, dtype=np.uint8)  # pragma: no cover
#: Queries handled at once (bounds the memory of one step of the join).
_CHUNK = 1 << 21
#: Queries made at once in a whole-population join (their signatures are grouped to stay
#: about this many; each group sorts the targets' bands again).
_QUERIES = 1 << 23


def _band(phash: np.ndarray, dhash: np.ndarray, band: int) -> np.ndarray:
    """Band ``band`` of the 128-bit keys ``phash << 64 | dhash`` (0-3 from dHash, 4-7 from pHash)."""
    source = dhash if band < BANDS // 2 else phash
    return ((source >> np.uint64(BAND_BITS * (band % (BANDS // 2)))) & _U16).astype(np.uint16)


def _join(q_item: np.ndarray, q_sig: np.ndarray, qp: np.ndarray, qd: np.ndarray,
          t_item: np.ndarray, tp: np.ndarray, td: np.ndarray, *, phash_max: int, dhash_max: int,
          sum_max: int, window_sum_max: int, masks: tuple[int, ...],
          bands: Sequence[int] = range(BANDS)) -> list[np.ndarray]:
    """Comparisons of query signatures with target full frames sharing a band (or, with
    ``masks``, a band one of the masks away) that pass the limits: arrays
    ``(query item, signature number, target item, p, d)`` with target ≠ query item,
    duplicates possible.

    Per band the targets are sorted by band value (a counting table of 65 536 entries
    gives each value's run); each query then meets its run, compared one offset at a
    time over all queries whose run is that long (queries sorted by run length), so the
    work is a few vector operations per candidate and no Python per photo.
    """
    found: list[list[np.ndarray]] = [[], [], [], [], []]
    if not len(q_item) or not len(t_item):
        return [np.zeros(0, dtype=np.int64)] * 5
    for band in bands:
        values = _band(tp, td, band)
        order = np.argsort(values, kind="stable")
        counts = np.bincount(values, minlength=1 << BAND_BITS)
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
        sp, sd, sj = tp[order], td[order], t_item[order]
        for c0 in range(0, len(q_item), _CHUNK):
            cp, cd = qp[c0:c0 + _CHUNK], qd[c0:c0 + _CHUNK]
            cb = _band(cp, cd, band)
            for mask in masks:
                v = cb ^ mask if mask else cb
                run = counts[v]
                hit = np.flatnonzero(run)
                if not len(hit):
                    continue
                # Longest runs first: the queries still to compare at offset k are a prefix.
                # (16-bit keys: numpy sorts them by radix, in linear time)
                hit = hit[np.argsort((65535 - np.minimum(run[hit], 65535)).astype(np.uint16), kind="stable")]
                lengths, lo = run[hit], starts[v[hit]]
                hp, hd = cp[hit], cd[hit]
                hit += c0
                k, alive = 0, len(hit)
                while alive:
                    pos = lo[:alive] + k
                    p = _popcount(sp[pos] ^ hp[:alive])
                    keep = np.flatnonzero(p <= phash_max)
                    if len(keep):
                        d = _popcount(sd[pos[keep]] ^ hd[keep])
                        qi, sig = q_item[hit[keep]], q_sig[hit[keep]]
                        limit = np.where(sig == 0, sum_max, window_sum_max)
                        pk, tj = p[keep], sj[pos[keep]]
                        # An item's own windows against its own full frame always pass:
                        # never a pair, dropped here rather than kept by the million.
                        ok = (d <= dhash_max) & (pk.astype(np.int64) + d <= limit) & (tj != qi)
                        for dest, arr in zip(found, (qi, sig, tj, pk, d), strict=True):
                            dest.append(arr[ok])
                    k += 1
                    alive = int(np.searchsorted(-lengths, -k, side="left")) if alive else 0
    return [np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, dtype=np.int64) for parts in found]


def _window_band(trims: np.ndarray, band: int) -> np.ndarray:
    """Band ``band`` of every window of ``trims`` (``(N, W, 2)``) as an ``(N, W)`` array: on a
    little-endian machine a view of the array's own 16-bit words, no arithmetic, no copy."""
    if np.little_endian and trims.dtype == np.uint64 and trims.flags.c_contiguous:
        words = trims.view(np.uint16).reshape(*trims.shape[:2], 2, BANDS // 2)
        return words[:, :, 1 if band < BANDS // 2 else 0, band % (BANDS // 2)]
    return _band(trims[:, :, 0], trims[:, :, 1], band)


def matching_comparisons(
    phash: np.ndarray, dhash: np.ndarray, trims: np.ndarray, trim_counts: np.ndarray, *,
    phash_max: int, dhash_max: int, sum_max: int, window_sum_max: int | None = None,
    probe_radius: int = 0, involving: np.ndarray | None = None,
) -> tuple[np.ndarray, ...]:
    """Every comparison the index proposes that passes the limits, as arrays
    ``(query item, signature number, target item, p, d)`` without duplicates: full frame
    against full frame (signature 0, once per pair, from the lower item) and window k of
    the query item against the target's full frame (signature k). ``involving`` (a bool
    per item) keeps only pairs with at least one such item and does only their work."""
    window_sum_max = min(sum_max, WINDOW_SUM_MAX if window_sum_max is None else window_sum_max)
    limits = {"phash_max": phash_max, "dhash_max": dhash_max, "sum_max": sum_max,
              "window_sum_max": window_sum_max, "masks": _masks(probe_radius)}
    n = len(phash)
    width = trims.shape[1] if trims.ndim == 3 else 0
    items = np.arange(n, dtype=np.int64)

    def queries(which: np.ndarray, signatures: Sequence[int]):
        # Signature 0 (full frame) and the windows each item has, as flat arrays.
        parts_i, parts_s, parts_p, parts_d = [], [], [], []
        if 0 in signatures:
            parts_i.append(which)
            parts_s.append(np.zeros(len(which), dtype=np.int64))
            parts_p.append(phash[which])
            parts_d.append(dhash[which])
        for w in (s - 1 for s in signatures if s):
            has = which[trim_counts[which] > w]
            parts_i.append(has)
            parts_s.append(np.full(len(has), w + 1, dtype=np.int64))
            parts_p.append(trims[has, w, 0])
            parts_d.append(trims[has, w, 1])
        return (np.concatenate(parts_i), np.concatenate(parts_s), np.concatenate(parts_p).astype(np.uint64),
                np.concatenate(parts_d).astype(np.uint64))

    signatures = range(width + 1)
    if involving is None:
        # A few signatures at a time (the full frames, then the windows), so that the
        # queries of a million photos' 16 signatures are never all held at once.
        step = max(1, _QUERIES // max(n, 1))
        found = [_join(*queries(items, signatures[g:g + step]), items, phash, dhash, **limits)
                 for g in range(0, len(signatures), step)]
        qi, qs, j, p, d = (np.concatenate(arrays) for arrays in zip(*found, strict=True))
        del found
        keep = (j != qi) & ((qs != 0) | (j > qi))
    else:
        new = np.flatnonzero(involving)
        old = np.flatnonzero(~involving)
        a = _join(*queries(new, signatures), items, phash, dhash, **limits)
        # Every other photo's windows against the new full frames, a band at a time: only
        # the windows whose band value (or one a mask away) some new full frame has meet
        # the new frames of that band (the windows are read in place, not copied).
        if width and len(old):
            # Flat over (item, window): one 1-D mask, one flatnonzero and two 1-D gathers
            # a band (a 2-D nonzero and fancy index cost ~1.6 × as much at a million photos).
            valid = ((np.arange(width)[None, :] < trim_counts[:, None]) & ~involving[:, None]).ravel()
            flat = np.asarray(trims, dtype=np.uint64).reshape(-1)
            new_p, new_d = phash[new], dhash[new]
            parts = []
            for band in range(BANDS):
                present = np.zeros(1 << BAND_BITS, dtype=bool)
                values = _band(new_p, new_d, band)
                for mask in limits["masks"]:
                    present[values ^ mask if mask else values] = True
                at = np.flatnonzero(present[_window_band(trims, band)].ravel() & valid)
                parts.append(_join(at // width, at % width + 1, flat[2 * at], flat[2 * at + 1],
                                   new, new_p, new_d, bands=(band,), **limits))
            b = [np.concatenate(arrays) for arrays in zip(*parts, strict=True)]
        else:
            b = [np.zeros(0, dtype=np.int64)] * 5
        qi, qs, j, p, d = (np.concatenate(pair) for pair in zip(a, b, strict=True))
        # Full frames of two new items: once, from the lower.
        keep = (j != qi) & ((qs != 0) | (j > qi) | ~involving[j])
    qi, qs, j, p, d = qi[keep], qs[keep], j[keep], p[keep], d[keep]
    if len(qi):
        key = (qi * (width + 1) + qs) * n + j
        _unique, first = np.unique(key, return_index=True)
        qi, qs, j, p, d = qi[first], qs[first], j[first], p[first], d[first]
    return qi, qs, j, p, d


def near_duplicates(
    items: Sequence[tuple[int, int, Sequence[tuple[int, int]] | bytes]],
    *,
    phash_max: int,
    dhash_max: int,
    sum_max: int,
    window_sum_max: int | None = None,
    wanted: Callable[[int, int], bool] | None = None,
    confirm: Callable[[int, int, int], bool] | None = None,
    probe_radius: int = 0,
) -> Iterator[tuple[int, int, int, int]]:
    """Pairs ``(i, j, p, d)``, i < j, of ``items`` (``(phash, dhash, trim_hashes)``) that match.

    Full frames are compared with full frames, and each trim window of one item with
    the full frame of the other (the other may be a trimmed copy). Every pair is
    reported once, with the distances of its closest comparison; ``wanted(i, j)`` can
    veto a matching pair (e.g. two photos of one record) before it is kept, and
    ``confirm(a, window, b)`` can check it with a second measure: item ``a``'s window
    (0: its full frame, k: ``TRIM_WINDOWS[k - 1]``) against item ``b``'s full frame.
    """
    phash = np.array([item[0] for item in items], dtype=np.uint64)
    dhash = np.array([item[1] for item in items], dtype=np.uint64)
    trims, counts = trims_array([item[2] for item in items])
    yield from near_duplicates_arrays(phash, dhash, trims, counts, phash_max=phash_max, dhash_max=dhash_max,
                                      sum_max=sum_max, window_sum_max=window_sum_max, wanted=wanted,
                                      confirm=confirm, probe_radius=probe_radius)


def near_duplicates_arrays(
    phash: np.ndarray, dhash: np.ndarray, trims: np.ndarray, trim_counts: np.ndarray, *,
    phash_max: int, dhash_max: int, sum_max: int, window_sum_max: int | None = None,
    wanted: Callable[[int, int], bool] | None = None, confirm: Callable[[int, int, int], bool] | None = None,
    probe_radius: int = 0, involving: np.ndarray | None = None,
    prepare: Callable[[np.ndarray], None] | None = None,
) -> Iterator[tuple[int, int, int, int]]:
    """``near_duplicates`` over arrays (``trims_array``): the same pairs, in the same order.

    Of a pair's comparisons that pass, the one kept is the closest (smallest p + d);
    among equals, the full frames first, then the lower item's windows in order, then
    the higher item's; ``confirm`` is asked in that order until one holds.
    ``prepare(items)``, when given, is called once with the items (sorted, distinct) of
    every comparison that passed, before the first ``confirm`` (a caller that reads what
    ``confirm`` needs from the database reads it for those items only).
    """
    qi, qs, j, p, d = matching_comparisons(phash, dhash, trims, trim_counts, phash_max=phash_max,
                                           dhash_max=dhash_max, sum_max=sum_max, window_sum_max=window_sum_max,
                                           probe_radius=probe_radius, involving=involving)
    if not len(qi):
        return
    if prepare is not None:
        prepare(np.union1d(qi, j))
    low, high = np.minimum(qi, j), np.maximum(qi, j)
    # Full frame against full frame is asked from the lower item, as in the pairwise scan.
    full = qs == 0
    qi, j = np.where(full, low, qi), np.where(full, high, j)
    side = qi != low
    order = np.lexsort((qs, side, p + d, high, low))
    rows = zip(low[order].tolist(), high[order].tolist(), qi[order].tolist(), qs[order].tolist(),
               j[order].tolist(), p[order].tolist(), d[order].tolist(), strict=True)
    current, settled = None, False
    for a, b, i, sig, other, pp, dd in rows:
        if (a, b) != current:
            current, settled = (a, b), False
            if wanted is not None and not wanted(a, b):
                settled = True
        if settled:
            continue
        if confirm is None or confirm(i, sig, other):
            settled = True
            yield a, b, pp, dd
