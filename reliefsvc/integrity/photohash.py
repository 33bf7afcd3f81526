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


def _open_grey(image_bytes: bytes) -> Image.Image:
    with Image.open(io.BytesIO(image_bytes)) as image:
        # For a JPEG, decode at 1/2..1/8 scale straight from the DCT blocks: a 12 MP phone
        # photo then costs a few milliseconds instead of ~100 ms, and the thumbnails
        # (32x32 and 9x8) are far below what the reduced decode keeps.
        image.draft("L", (256, 256))
        return _grey(image)


def photo_hashes(image_bytes: bytes) -> tuple[int, int]:
    """``(phash, dhash)`` of a JPEG/PNG given as bytes; raises ``PIL.UnidentifiedImageError``."""
    grey = _open_grey(image_bytes)
    return phash_of(grey), dhash_of(grey)


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
    """``(phash, dhash, trim_hashes)`` from one decode: what the evidence store keeps."""
    grey = _open_grey(image_bytes)
    return phash_of(grey), dhash_of(grey), trim_hashes(grey)


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


def _band_keys(phash: int, dhash: int) -> list[int]:
    key = (phash << 64) | dhash
    # The band number lives above the 16 bits so one dict serves all bands.
    return [(b << BAND_BITS) | ((key >> (BAND_BITS * b)) & _BAND_MASK) for b in range(BANDS)]


def near_duplicates(
    items: Sequence[tuple[int, int, Sequence[tuple[int, int]]]],
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
    masks = _masks(probe_radius)
    window_sum_max = min(sum_max, WINDOW_SUM_MAX if window_sum_max is None else window_sum_max)
    phashes = [item[0] for item in items]
    dhashes = [item[1] for item in items]
    index: dict[int, list[int]] = {}
    for n, (phash, dhash, _trims) in enumerate(items):
        for key in _band_keys(phash, dhash):
            bucket = index.get(key)
            if bucket is None:
                index[key] = [n]
            else:
                bucket.append(n)

    get = index.get
    found: dict[tuple[int, int], tuple[int, int]] = {}
    for i, (phash, dhash, trims) in enumerate(items):
        for sig_no, (qp, qd) in enumerate(((phash, dhash), *trims)):
            limit = sum_max if sig_no == 0 else window_sum_max
            for key in _band_keys(qp, qd):
                for mask in masks:
                    bucket = get(key ^ mask)
                    if bucket is None:
                        continue
                    for j in bucket:
                        # Full against full is symmetric: look at it from one side only.
                        if j == i or (sig_no == 0 and j < i):
                            continue
                        p = (qp ^ phashes[j]).bit_count()
                        if p > phash_max:
                            continue
                        d = (qd ^ dhashes[j]).bit_count()
                        if d > dhash_max or p + d > limit:
                            continue
                        pair = (i, j) if i < j else (j, i)
                        best = found.get(pair)
                        if best is not None and best[0] + best[1] <= p + d:
                            continue
                        if (wanted is None or wanted(*pair)) and (confirm is None or confirm(i, sig_no, j)):
                            found[pair] = (p, d)
    for (i, j), (p, d) in sorted(found.items()):
        yield i, j, p, d
