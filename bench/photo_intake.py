"""What one evidence photo costs at intake, against one plain decode and re-encode of it.

    .venv/bin/python -m bench.photo_intake [--runs 15] [--compare 60]

The photo is a 12-megapixel (4000x3000) phone-like JPEG at quality 90 with EXIF time and
GPS: a generated scene (reliefsvc.demo.records.photo) with sensor noise and texture laid
over it, so that it is as busy, and as slow to decode, as a real one (about 3.4 MB).
It is made once and kept in ``bench/.data/``.

* intake: ``evidence.photos.examine`` — SHA-256, EXIF time and position, the display copy
  (at most 1600 px, re-encoded without metadata), the colour grid, pHash, dHash and the
  15 trim windows' hashes, all from one reduced decode. Storing the two files
  (``storage.put``, fsync) is disk work and is left out.
* baseline: Pillow opens the same bytes, decodes them at full size and encodes them
  again at quality 90 — the least a service that keeps a re-encoded copy would do.

Both are timed alternately, ``--runs`` times after a warm-up, so that a busy neighbour
slows both alike; the medians are compared (CPU times are printed too). ``--compare N``
also checks, on N generated photos of various sizes, orientations and noise, that the
hashes ``examine`` stores are bit for bit those of ``evidence.photos.signature`` (what
``services rehash-photos`` gives a photo stored before), how far they lie from hash
version 1 (the hashes' own 1/8-scale grey decode, what photos stored before carry until
they are rehashed), and how far the colour grid it takes from the display copy's decode
lies from ``photohash.colour_grid``'s own.
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image, ImageChops  # noqa: E402

from reliefsvc.common.formatting import LOCAL_TZ  # noqa: E402
from reliefsvc.demo.records import photo  # noqa: E402
from reliefsvc.evidence import photos  # noqa: E402
from reliefsvc.integrity import photohash  # noqa: E402

DATA = Path(__file__).resolve().parent / ".data"
TARGET = 1.2


def twelve_megapixels(seed: int = 1, size=(4000, 3000), quality: int = 90) -> bytes:
    rng = random.Random(seed)
    base = Image.open(io.BytesIO(photo(rng, datetime(2026, 3, 5, 10, 20, tzinfo=LOCAL_TZ), (35.38, 103.72),
                                       size=size)))
    exif = base.getexif()
    base = base.convert("RGB")
    # Sensor noise (fine) and uneven light and surfaces (coarse): a flat drawing would
    # compress to a fifth and decode much faster than a photo.
    fine = Image.merge("RGB", [Image.effect_noise(size, 18) for _ in range(3)])
    coarse = Image.effect_noise((size[0] // 8, size[1] // 8), 40).resize(size, Image.Resampling.BICUBIC)
    img = ImageChops.add(base, ImageChops.subtract(fine, Image.new("RGB", size, (128, 128, 128))), 1.0, 0)
    img = ImageChops.blend(img, ImageChops.overlay(img, coarse.convert("RGB")), 0.35)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=quality, exif=exif)
    return out.getvalue()


def baseline(data: bytes) -> None:
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        img.save(io.BytesIO(), "JPEG", quality=90)


def check(data: bytes) -> photos.PhotoFacts:
    facts = photos.examine(data)
    display = Image.open(io.BytesIO(facts.display))
    assert max(display.size) <= photos.DISPLAY_SIZE and not display.getexif(), "display copy too big or has EXIF"
    assert facts.exif_lat is not None and facts.exif_time is not None, "EXIF not read"
    return facts


def _photos(n: int):
    rng = random.Random(3)
    sizes = [(480, 360), (1600, 1200), (4000, 3000), (3000, 4000), (1200, 1600), (2000, 300), (4032, 3024)]
    for i in range(n):
        data = photo(rng, datetime(2026, 3, 5, 10, tzinfo=LOCAL_TZ), (35.3, 103.7), size=sizes[i % len(sizes)])
        if i % 3 == 0:  # as busy as a photo
            img = Image.open(io.BytesIO(data))
            exif = img.getexif()
            noise = Image.merge("RGB", [Image.effect_noise(img.size, 14) for _ in range(3)])
            img = ImageChops.add(img.convert("RGB"), ImageChops.subtract(noise, Image.new("RGB", img.size, (128,) * 3)),
                                 1.0, 0)
            out = io.BytesIO()
            img.save(out, "JPEG", quality=90, exif=exif)
            data = out.getvalue()
        if i % 5 == 0:  # stored sideways with an Orientation tag, as phones do
            img = Image.open(io.BytesIO(data))
            exif = img.getexif()
            exif[0x0112] = 6
            out = io.BytesIO()
            img.rotate(90, expand=True).save(out, "JPEG", quality=88, exif=exif)
            data = out.getvalue()
        if i % 7 == 0:  # a grey photo
            out = io.BytesIO()
            Image.open(io.BytesIO(data)).convert("L").save(out, "JPEG", quality=85)
            data = out.getvalue()
        yield data


def version_1(data: bytes) -> tuple[int, int, tuple[tuple[int, int], ...]]:
    """The hashes as taken before hash version 2: a grey decode of their own at 1/8 scale."""
    with Image.open(io.BytesIO(data)) as img:
        return photohash.signature_of(photohash.open_grey(img))


def compare(n: int) -> dict[str, list[int]]:
    """How far ``examine``'s hashes lie from version 1's (what stored photos carry until rehashed)."""
    out: dict[str, list[int]] = {"phash": [], "dhash": [], "trim p+d": [], "colour": []}
    differs = 0
    for data in _photos(n):
        facts = photos.examine(data)
        current = photos.signature(data)
        differs += (facts.phash, facts.dhash, facts.trim_hashes) != (
            current[0], current[1], photohash.pack_trims(current[2]))
        p, d, trims = version_1(data)
        out["phash"].append(photohash.hamming(p, facts.phash))
        out["dhash"].append(photohash.hamming(d, facts.dhash))
        out["trim p+d"].append(max(photohash.hamming(a[0], b[0]) + photohash.hamming(a[1], b[1])
                                   for a, b in zip(trims, photohash.unpack_trims(facts.trim_hashes), strict=True)))
        out["colour"].append(max(abs(a - b) for a, b in zip(photohash.colour_grid(data), facts.colours, strict=True)))
    if differs:
        raise SystemExit(f"examine and photos.signature disagree on {differs} of {n} photos")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--compare", type=int, default=60, help="photos for the hash comparison (0: skip)")
    args = parser.parse_args()

    DATA.mkdir(exist_ok=True)
    cached = DATA / "photo_12mp_q90.jpg"
    if not cached.exists():
        cached.write_bytes(twelve_megapixels())
    data = cached.read_bytes()
    facts = check(data)  # also the warm-up
    baseline(data)

    intake, base, intake_cpu, base_cpu = [], [], [], []
    for _ in range(args.runs):
        for fn, wall, cpu in ((baseline, base, base_cpu), (photos.examine, intake, intake_cpu)):
            c0, t0 = time.process_time(), time.perf_counter()
            fn(data)
            wall.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
    ms = lambda values: 1000 * statistics.median(values)  # noqa: E731
    print(f"photo: {facts.width}x{facts.height} JPEG q90, {len(data) / 1e6:.1f} MB, EXIF time and GPS; "
          f"display copy {len(facts.display) / 1e3:.0f} KB; {args.runs} runs each, alternating")
    print(f"intake (examine): median {ms(intake):.0f} ms, min {1000 * min(intake):.0f} ms, cpu {ms(intake_cpu):.0f} ms")
    print(f"baseline (decode + re-encode q90): median {ms(base):.0f} ms, min {1000 * min(base):.0f} ms, "
          f"cpu {ms(base_cpu):.0f} ms")
    if args.compare:
        for name, values in compare(args.compare).items():
            unit = "levels of 255" if name == "colour" else "bits"
            against = "photohash.colour_grid" if name == "colour" else "hash version 1"
            print(f"{name} vs {against} on {args.compare} photos ({unit}; examine = signature on all): identical "
                  f"{sum(v == 0 for v in values)}, median {statistics.median(values):g}, max {max(values)}")
    ratio = statistics.median(intake) / statistics.median(base)
    cpu_ratio = statistics.median(intake_cpu) / statistics.median(base_cpu)
    print(f"photo intake: {ms(intake):.0f} ms/photo, baseline {ms(base):.0f} ms, ratio {ratio:.2f} "
          f"(CPU {ms(intake_cpu):.0f} / {ms(base_cpu):.0f} ms, ratio {cpu_ratio:.2f}; target ≤ {TARGET})")


if __name__ == "__main__":
    main()
