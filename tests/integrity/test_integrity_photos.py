"""PHOTO_REUSED on real generated JPEGs: copies are found, different pictures are not.

Pictures are made from a seeded random (a gradient, a few shapes, grain), so the suite
needs no image files and every run sees the same pixels.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import random

import pytest
from PIL import Image, ImageDraw, ImageEnhance

from reliefsvc.integrity import photohash, rules

WIDTH, HEIGHT = 480, 360


def picture(seed: int) -> Image.Image:
    rnd = random.Random(seed)
    top = tuple(rnd.randrange(256) for _ in range(3))
    bottom = tuple(rnd.randrange(256) for _ in range(3))
    mask = Image.linear_gradient("L").rotate(rnd.choice([0, 90, 180, 270])).resize((WIDTH, HEIGHT))
    img = Image.composite(Image.new("RGB", (WIDTH, HEIGHT), top), Image.new("RGB", (WIDTH, HEIGHT), bottom), mask)
    draw = ImageDraw.Draw(img)
    for _ in range(rnd.randint(4, 9)):
        x0, y0 = rnd.randrange(WIDTH), rnd.randrange(HEIGHT)
        box = (x0, y0, x0 + rnd.randint(30, WIDTH // 2), y0 + rnd.randint(30, HEIGHT // 2))
        colour = tuple(rnd.randrange(256) for _ in range(3))
        (draw.ellipse if rnd.random() < 0.5 else draw.rectangle)(box, fill=colour)
    grain = Image.frombytes("L", (WIDTH, HEIGHT), rnd.randbytes(WIDTH * HEIGHT)).convert("RGB")
    return Image.blend(img, grain, 0.25)


def jpeg(img: Image.Image, quality: int = 90, **params) -> bytes:
    out = io.BytesIO()
    img.save(out, "JPEG", quality=quality, **params)
    return out.getvalue()


def trim(img: Image.Image, share: float) -> Image.Image:
    w, h = img.size
    return img.crop((round(w * share), round(h * share), round(w * (1 - share)), round(h * (1 - share))))


VARIANTS = {
    "jpeg_quality_60": lambda img: jpeg(img, 60),
    "resized_50_percent": lambda img: jpeg(img.resize((WIDTH // 2, HEIGHT // 2), Image.Resampling.LANCZOS)),
    "borders_trimmed_4_percent": lambda img: jpeg(trim(img, 0.04)),
    "borders_trimmed_8_percent": lambda img: jpeg(trim(img, 0.08)),
    "one_side_cropped_2_percent": lambda img: jpeg(img.crop((round(WIDTH * 0.02), 0, WIDTH, HEIGHT))),
    "brightness_plus_20_percent": lambda img: jpeg(ImageEnhance.Brightness(img).enhance(1.2)),
    "contrast_plus_30_percent": lambda img: jpeg(ImageEnhance.Contrast(img).enhance(1.3)),
    "contrast_minus_30_percent": lambda img: jpeg(ImageEnhance.Contrast(img).enhance(0.7)),
    "trimmed_resized_requalified_brightened": lambda img: jpeg(
        ImageEnhance.Brightness(trim(img, 0.06).resize((WIDTH // 2, HEIGHT // 2))).enhance(1.2), 60),
}
SOURCES = range(1000, 1006)


def facts(photo_id: str, data: bytes) -> rules.PhotoFacts:
    phash, dhash, trims = photohash.photo_signature(data)
    return rules.PhotoFacts(photo_id, hashlib.sha256(data).hexdigest(), phash, dhash,
                            None, None, None, trims)


@pytest.fixture(scope="module")
def originals() -> dict[int, bytes]:
    return {seed: jpeg(picture(seed)) for seed in SOURCES}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_a_copy_is_found(make_record, originals, variant):
    records = []
    for seed, data in originals.items():
        records.append(make_record(record_ref=f"ORIG-{seed}", photos=[facts(f"原{seed}", data)]))
        copy = VARIANTS[variant](Image.open(io.BytesIO(data)).convert("RGB"))
        records.append(make_record(record_ref=f"COPY-{seed}", photos=[facts(f"复{seed}", copy)]))
    flags = {f.record_id: f for f in rules.detect_photo_reused(records)}
    for original, copy in zip(records[::2], records[1::2], strict=True):
        assert flags[original.record_id].related_record_id == copy.record_id
        assert flags[copy.record_id].related_record_id == original.record_id
        detail = flags[copy.record_id].detail_zh
        assert copy.photos[0].photo_id in detail
        assert original.record_ref in detail
        assert original.photos[0].photo_id in detail
    assert len(flags) == len(records)


def test_sixty_different_pictures_are_never_paired(make_record):
    records = [make_record(photos=[facts(f"图{seed}", jpeg(picture(seed)))]) for seed in range(60)]
    assert rules.detect_photo_reused(records) == []
    # ... and not because the pictures are trivially far apart: random 128-bit keys
    # differ in 64 bits on average, these pictures come much closer than that.
    sigs = [(r.photos[0].phash, r.photos[0].dhash) for r in records]
    closest = min(photohash.hamming(a[0], b[0]) + photohash.hamming(a[1], b[1])
                  for a, b in itertools.combinations(sigs, 2))
    assert 15 < closest < 40


def test_the_same_file_without_hashes_and_the_wording(make_record, make_photo):
    a = make_record(record_ref="A-1", photos=[make_photo(photo_id="甲", sha256="ab" * 32)])
    b = make_record(record_ref="B-1", photos=[make_photo(photo_id="乙", sha256="ab" * 32)])
    flags = {f.record_id: f for f in rules.detect_photo_reused([a, b])}
    assert flags[a.record_id].detail_zh == "照片 甲 与台账 B-1 的照片 乙为同一文件"
    assert flags[b.record_id].related_record_id == a.record_id


def test_a_picture_held_twice_lends_its_windows_to_both_copies(make_record, make_photo):
    # A and B hold the same picture (equal hashes, different files); only B's copy has its
    # windows. C is a crop of it: its full frame is one of B's windows, far from the
    # picture's own hashes, so only the windows the two copies share can find it.
    whole = (0x0F0F0F0F0F0F0F0F, 0x00FF00FF00FF00FF)
    window = (~whole[0] & (2**64 - 1), ~whole[1] & (2**64 - 1))
    a = make_record(record_ref="A-1", photos=[make_photo(phash=whole[0], dhash=whole[1])])
    b = make_record(record_ref="B-1", photos=[make_photo(phash=whole[0], dhash=whole[1], trim_hashes=(window,) * 15)])
    c = make_record(record_ref="C-1", photos=[make_photo(phash=window[0], dhash=window[1])])
    flags = {f.record_id: f for f in rules.detect_photo_reused([a, b, c])}
    assert set(flags) == {a.record_id, b.record_id, c.record_id}
    assert flags[c.record_id].related_record_id == a.record_id  # the first copy of the picture
    assert "相差 0 位、0 位" in flags[c.record_id].detail_zh


def test_two_photos_of_one_record_are_not_reuse(make_record, make_photo):
    data = jpeg(picture(7))
    record = make_record(photos=[facts("一", data), facts("二", jpeg(picture(7), 60))])
    other = make_record(photos=[facts("三", jpeg(picture(8)))])
    assert rules.detect_photo_reused([record, other]) == []


def test_hash_closeness_is_decided_per_contract(make_record, originals):
    data = originals[SOURCES[0]]
    copy = jpeg(ImageEnhance.Contrast(Image.open(io.BytesIO(data))).enhance(1.3))
    a = make_record(contract_id=1, photos=[facts("a", data)])
    b = make_record(contract_id=2, photos=[facts("b", copy)])
    exact_only = rules.Thresholds(photo_phash_max=0, photo_dhash_max=0, photo_hash_sum_max=0)
    flags = rules.detect_photo_reused([a, b], rules.PerContract(overrides={2: exact_only}))
    assert [f.record_id for f in flags] == [a.record_id]


def test_exif_orientation_is_applied():
    upright = picture(42)
    sideways = upright.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display", as phones write it
    tagged = photohash.photo_hashes(jpeg(sideways, exif=exif))
    plain = photohash.photo_hashes(jpeg(upright))
    untagged = photohash.photo_hashes(jpeg(sideways))
    assert photohash.hamming(tagged[0], plain[0]) <= 4
    assert photohash.hamming(untagged[0], plain[0]) > 16


def test_png_with_transparency_and_unreadable_bytes():
    img = picture(3).convert("RGBA")
    img.putalpha(200)
    out = io.BytesIO()
    img.save(out, "PNG")
    phash, dhash = photohash.photo_hashes(out.getvalue())
    assert 0 <= phash < 2**64 and 0 <= dhash < 2**64
    with pytest.raises(Exception, match="cannot identify"):
        photohash.photo_hashes(b"not a picture")


def test_the_banded_index_finds_exactly_the_pairs_within_the_limits():
    # Random hashes with planted neighbours at every distance around the limits, checked
    # against all pairs: the pigeonhole argument must hold for the probe radius used.
    rnd = random.Random(5)
    items = []
    for _ in range(150):
        p, d = rnd.getrandbits(64), rnd.getrandbits(64)
        items.append((p, d, ((rnd.getrandbits(64), rnd.getrandbits(64)),)))
        for flips in range(0, 20, 3):
            bits = rnd.sample(range(128), flips)
            key = (p << 64 | d)
            for bit in bits:
                key ^= 1 << bit
            items.append((key >> 64, key & (2**64 - 1), ()))
        window_copy = items[-8][2][0]
        items.append((window_copy[0] ^ 1, window_copy[1] ^ 6, ()))
    limits = {"phash_max": 12, "dhash_max": 12, "sum_max": 15}

    def close(a, b):
        pp, dd = photohash.hamming(a[0], b[0]), photohash.hamming(a[1], b[1])
        return pp <= 12 and dd <= 12 and pp + dd <= 15

    expected = set()
    for (i, a), (j, b) in itertools.combinations(enumerate(items), 2):
        candidates = [((a[0], a[1]), (b[0], b[1]))]
        candidates += [(w, (b[0], b[1])) for w in a[2]] + [(w, (a[0], a[1])) for w in b[2]]
        if any(close(x, y) for x, y in candidates):
            expected.add((i, j))
    found = {(i, j) for i, j, _p, _d in photohash.near_duplicates(items, probe_radius=1, **limits)}
    assert found == expected
    assert len(expected) > 300


def test_without_probing_a_pair_is_certain_when_one_hash_is_within_three_bits():
    rnd = random.Random(9)
    items = []
    for _ in range(200):
        p, d = rnd.getrandbits(64), rnd.getrandbits(64)
        items.append((p, d, ()))
        # 3 bits off in one hash, the most the other may differ by under the sum limit.
        flip_p = sum(1 << b for b in rnd.sample(range(64), 3))
        flip_d = sum(1 << b for b in rnd.sample(range(64), 12))
        items.append((p ^ flip_p, d ^ flip_d, ()) if rnd.random() < 0.5 else (p ^ flip_d, d ^ flip_p, ()))
    found = {(i, j) for i, j, _p, _d in photohash.near_duplicates(
        items, phash_max=12, dhash_max=12, sum_max=15)}
    assert found == {(n, n + 1) for n in range(0, len(items), 2)}


def test_the_array_join_over_new_photos_finds_their_pairs_as_the_full_join_does():
    import numpy as np

    rnd = random.Random(21)

    def flip(value: int, bits: int) -> int:
        for bit in rnd.sample(range(64), bits):
            value ^= 1 << bit
        return value

    items = []
    for _ in range(600):
        if items and rnd.random() < 0.4:
            source = rnd.choice(items)
            p, d = (source[2][0] if source[2] and rnd.random() < 0.5 else source[:2])
            p, d = flip(p, rnd.randint(0, 8)), flip(d, rnd.randint(0, 8))
        else:
            p, d = rnd.getrandbits(64), rnd.getrandbits(64)
        windows = tuple((flip(p, rnd.randint(2, 20)), flip(d, rnd.randint(2, 20))) for _ in range(rnd.choice([0, 3, 15])))
        items.append((p, d, windows))
    limits = {"phash_max": 12, "dhash_max": 12, "sum_max": 15}
    new = [rnd.random() < 0.15 for _ in items]

    def confirm(a, window, b):
        return (a + 3 * window + 7 * b) % 4 != 0

    expected = list(photohash.near_duplicates(items, confirm=confirm, wanted=lambda i, j: new[i] or new[j], **limits))
    phashes = np.array([item[0] for item in items], dtype=np.uint64)
    dhashes = np.array([item[1] for item in items], dtype=np.uint64)
    packed = [photohash.pack_trims(item[2]) for item in items]
    trims, counts = photohash.trims_array(packed)
    assert np.array_equal(trims, photohash.trims_array([item[2] for item in items])[0])
    found = list(photohash.near_duplicates_arrays(phashes, dhashes, trims, counts, confirm=confirm,
                                                  involving=np.array(new), **limits))
    assert found == expected
    assert len(expected) > 50
