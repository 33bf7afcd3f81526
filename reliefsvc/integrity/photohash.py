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
# The index is a join (``matching_comparisons``): per band the targets sorted by band
# value, each query against its value's run, in compiled loops (bandjoin.py, numba); only
# comparisons within the limits reach Python. ``near_duplicates`` keeps its pairwise-scan
# contract (same pairs, same (p, d), same order; docs/integrity.md, PHOTO_REUSED).

BANDS = 8
BAND_BITS = 16
#: A window against a full frame must agree more closely than two full frames (p + d at
#: most 14, not 15): each photo offers 15 windows, so a loose limit multiplies the chances
#: of two different pictures that happen to hash close. Measured with the colour check
#: below on three planted counties (bench/integrity_planted.py, half the pictures the
#: demo's look-alike village scenes as they were first drawn, before they got more varied): at 12, recall 0.944-0.973 and precision 0.967-1.0;
#: at 14, recall 1.0 and precision 0.931-0.951; at 15, recall 1.0, precision 0.906-0.947.
WINDOW_SUM_MAX = 14


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


#: Queries the join lays out at once (16 bytes and a reference each: 40 MB; 8 M queries, 160 MB,
#: took no less time and set the check's peak memory at a million photos).
_QUERIES = 1 << 21


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
    # Compiled loops (bandjoin.py); imported here so that the web processes, which hash
    # photos at intake but never join them, do not load numba.
    from reliefsvc.integrity import bandjoin

    window_sum_max = min(sum_max, WINDOW_SUM_MAX if window_sum_max is None else window_sum_max)
    n = len(phash)
    width = trims.shape[1] if trims.ndim == 3 else 0
    phash, dhash = np.ascontiguousarray(phash, dtype=np.uint64), np.ascontiguousarray(dhash, dtype=np.uint64)
    trims = np.ascontiguousarray(trims, dtype=np.uint64).reshape(n, width, 2)
    trim_counts = np.ascontiguousarray(trim_counts, dtype=np.int64)
    masks = np.array(_masks(probe_radius), dtype=np.int64)

    if width > bandjoin.SIGNATURES - 1:
        raise ValueError(f"at most {bandjoin.SIGNATURES - 1} trim windows a photo")
    # Buffers the join groups its queries in, reused from band to band; the signatures are
    # asked a few at a time so that a province's queries stay about _QUERIES at once.
    step = max(1, min(width + 1, _QUERIES // max(n, 1)))
    work = np.empty((0, 2), dtype=np.uint64)
    refs = np.empty(0, dtype=np.int32 if n * bandjoin.SIGNATURES < 1 << 31 else np.int64)  # item << 4 | signature

    def join(q_items, first, last, targets):
        # Per band the targets sorted by band value, then the queries against their runs.
        nonlocal work, refs
        limits = (phash_max, dhash_max, sum_max, window_sum_max)
        tp, td = phash[targets], dhash[targets]
        if len(targets) <= bandjoin.GROUP_ABOVE:
            # Few targets: every band's table at once, every query read once.
            tables = [bandjoin.band_sorted(targets, tp, td, band) for band in range(BANDS)]
            return bandjoin.join_few(masks, q_items, first, last, phash, dhash, trims, trim_counts,
                                     *(np.stack(column) for column in zip(*tables, strict=True)), *limits)
        # Many targets: the queries are laid out a few signatures at a time (buffers of
        # about _QUERIES, reused), one band's sorted targets at a time (24 MB at a million).
        wanted = len(q_items) * min(step, last - first + 1)
        if len(work) < wanted:
            work, refs = np.empty((wanted, 2), dtype=np.uint64), np.empty(wanted, dtype=refs.dtype)
        found = []
        for band in range(BANDS):
            table = bandjoin.band_sorted(targets, tp, td, band)
            found += [bandjoin.join_band(band, masks, q_items, group, min(last, group + step - 1), phash, dhash,
                                         trims, trim_counts, *table, *limits, work, refs)
                      for group in range(first, last + 1, step)]
        return np.concatenate(found)

    items = np.arange(n, dtype=np.int64)
    if not n:
        rows = np.zeros((0, 5), dtype=np.int64)
    elif involving is None:
        rows = join(items, 0, width, items)
    else:
        new, old = np.flatnonzero(involving), np.flatnonzero(~involving)
        # The new photos' frames and windows against every frame, then the other photos'
        # windows against the new frames.
        rows = np.concatenate((join(new, 0, width, items), join(old, 1, width, new) if width and len(old) and len(new)
                               else np.zeros((0, 5), dtype=np.int64)))
    qi, qs, j, p, d = rows.T
    # Full frames against full frames: once per pair, from the lower item (in an
    # incremental join, those of two new items; a new one against an old one is asked once).
    keep = (qs != 0) | (j > qi) if involving is None else (qs != 0) | (j > qi) | ~involving[j]
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
