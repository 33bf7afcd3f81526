"""Recall and precision of every integrity flag on a generated county with planted problems.

    .venv/bin/python -m bench.integrity_planted [--seed 20261127] [--workers 24] [--days 30]

The data set is built clean by construction — services spaced at least half an hour
apart, households within a few kilometres of their worker's base, photos taken on site
during the service, notes each written for their household from the stock phrases
every worker uses plus a clause of their own, ledgers entered within a day — and then
every problem of the spec is planted on days of its own, each with a control just
inside the threshold. The truth (which records must carry which code) is written down
while planting, never read back from the detectors.

Photos are real JPEGs drawn with Pillow; a reused photo is an earlier photo as a phone
or a chat app passes it on: resized, re-encoded at a lower quality, cropped by up to
10 % of its area from any side, brighter or darker, with more or less contrast, with or
without its EXIF. Copied notes are an earlier note of the same provider for another
household with 0-3 characters changed (a name, a word), so the rule "give or take a few
characters" is what is measured; notes that share only stock phrases are not copies.

Prints one line per flag code: planted, found, true positives, recall, precision.
The test ``tests/integrity/test_integrity_quality.py`` runs this with its own seed and
holds the rule-based codes to exactly 1.0 and PHOTO_REUSED and NOTES_COPIED to at least
0.95 recall and 0.90 precision.
"""

from __future__ import annotations

import argparse
import io
import math
import random
import sys
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image, ImageDraw, ImageEnhance  # noqa: E402

from reliefsvc.integrity import catalogue, photohash, rules  # noqa: E402
from reliefsvc.integrity.rules import PhotoFacts, RecordFacts  # noqa: E402

PHRASES = [
    "老人身体状况良好", "生活物资充足", "已提醒冬季注意取暖安全", "家中卫生整洁", "了解家庭收入变化",
    "核实家庭成员就业情况", "宣传最新救助政策", "协助整理申请材料", "子女在外务工", "患慢性病需长期服药",
    "住房安全无隐患", "已联系村医上门", "低保金按时到账", "无其他困难诉求", "反映用水不便已登记",
    "老人情绪稳定", "陪同老人聊天解闷", "帮助打扫院落", "代购日常用品", "检查用电线路安全",
]
OWN = "今天老人说最近睡眠还行腿脚有些疼孙子放假回来了家里新买了电视冬天的煤已经备好想问医保报销怎么办羊圈漏雨"
SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何林罗高"
GIVEN = "秀英桂兰玉兰凤英建华国强志明春梅海燕丽华德福永安金花红梅"
FIELD_TYPES = ["home_visit", "alert_check", "care_service"]
DESK_TYPES = ["phone_followup", "application_assist", "case_records"]
MINUTES = {t.code: t.min_minutes or 30 for t in catalogue.CATALOGUE}
DAY0 = date(2026, 3, 2)
KM_PER_DEG_LAT = 111.2


@dataclass
class World:
    records: list[RecordFacts] = field(default_factory=list)
    truth: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    #: (record index, photo) of every photo, for reuse plants
    photos: list[tuple[int, PhotoFacts, Image.Image]] = field(default_factory=list)
    next_id: int = 1
    next_photo: int = 1


def _local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=rules.LOCAL_TZ).astimezone(UTC)


def _offset(lat: float, lon: float, km: float, bearing: float) -> tuple[float, float]:
    dlat = km * math.cos(bearing) / KM_PER_DEG_LAT
    dlon = km * math.sin(bearing) / (KM_PER_DEG_LAT * math.cos(math.radians(lat)))
    return lat + dlat, lon + dlon


def _picture(rnd: random.Random, size=(320, 240)) -> Image.Image:
    """Half the pictures are the demo's village scenes (sky, ground, a house, people: all
    alike in layout, the hard case for perceptual hashes), half random shapes."""
    if rnd.random() < 0.5:
        from reliefsvc.demo.records import photo as scene

        return Image.open(io.BytesIO(scene(rnd, None, None, size=size))).convert("RGB")
    img = Image.new("RGB", size, tuple(rnd.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(img)
    for _ in range(18):
        x, y = rnd.randrange(size[0]), rnd.randrange(size[1])
        box = [x, y, x + rnd.randrange(15, 120), y + rnd.randrange(15, 90)]
        colour = tuple(rnd.randrange(256) for _ in range(3))
        (draw.rectangle if rnd.random() < 0.5 else draw.ellipse)(box, fill=colour)
    return img


def _jpeg(img: Image.Image, quality: int = 85) -> bytes:
    out = io.BytesIO()
    img.save(out, "JPEG", quality=quality)
    return out.getvalue()


def passed_on(img: Image.Image, rnd: random.Random) -> Image.Image:
    """What phones and chat apps do to a photo: crop up to 10 % of the area, resize, light."""
    w, h = img.size
    lost = rnd.uniform(0, 0.10)
    share = rnd.random()
    cut_w, cut_h = lost * share, lost * (1 - share)
    a, b = rnd.random(), rnd.random()
    out = img.crop((round(w * cut_w * a), round(h * cut_h * b), round(w * (1 - cut_w * (1 - a))),
                    round(h * (1 - cut_h * (1 - b)))))
    scale = rnd.choice([1.0, 0.75, 0.5, 0.4])
    out = out.resize((max(16, int(out.size[0] * scale)), max(16, int(out.size[1] * scale))))
    out = ImageEnhance.Brightness(out).enhance(rnd.uniform(0.8, 1.2))
    return ImageEnhance.Contrast(out).enhance(rnd.uniform(0.75, 1.3))


class Builder:
    def __init__(self, seed: int, workers: int, days: int):
        self.rnd = random.Random(seed)
        self.w = World()
        self.workers = workers
        self.days = days
        # Three providers; each worker has a base and eight households within 3 km.
        self.base = {}
        self.households = {}
        case_no = 1
        for worker in range(workers):
            lat, lon = 35.0 + self.rnd.uniform(0, 1.5), 103.0 + self.rnd.uniform(0, 1.5)
            self.base[worker] = (lat, lon)
            homes = []
            for _ in range(8):
                homes.append((case_no, *_offset(lat, lon, self.rnd.uniform(0.2, 3), self.rnd.uniform(0, 6.28))))
                case_no += 1
            self.households[worker] = homes
        self.next_case = case_no
        self.used_days: set[tuple[int, int]] = set()

    # --- pieces ----------------------------------------------------------------------------

    def provider_of(self, worker: int) -> int:
        return worker % 3

    def note(self, name: str | None = None) -> str:
        rnd = self.rnd
        name = name or rnd.choice(SURNAMES) + rnd.choice(GIVEN[0::2]) + rnd.choice(GIVEN[1::2])
        phrases = rnd.sample(PHRASES, 3)
        own = "".join(rnd.choice(OWN) for _ in range(rnd.randint(8, 14)))
        return f"入户走访{name}家，{phrases[0]}，{phrases[1]}；{own}。{phrases[2]}。"

    def photo(self, taken: datetime | None, where: tuple[float, float] | None,
              img: Image.Image | None = None, quality: int = 85) -> tuple[PhotoFacts, Image.Image]:
        img = img if img is not None else _picture(self.rnd)
        data = _jpeg(img, quality)
        ph, dh, trims = photohash.photo_signature(data)
        n = self.w.next_photo
        self.w.next_photo += 1
        facts = PhotoFacts(f"P{n}", f"{self.rnd.getrandbits(256):064x}", ph, dh, taken,
                           where[0] if where else None, where[1] if where else None, trims,
                           colours=photohash.colour_grid(data))
        return facts, img

    def record(self, worker: int, kind: str, start: datetime, minutes: float, *, case: tuple | None = None,
               photos: tuple[PhotoFacts, ...] | None = None, notes: str | None = None, submitted: datetime | None = None,
               position: tuple[float, float] | None = None, status: str = "active", changed_on: date | None = None,
               in_area: bool = True, images: tuple = ()) -> int:
        w = self.w
        rid = w.next_id
        w.next_id += 1
        case = case or self.rnd.choice(self.households[worker])
        case_id, clat, clon = case
        end = start + timedelta(minutes=minutes)
        near = position or _offset(clat, clon, self.rnd.uniform(0, 0.05), self.rnd.uniform(0, 6.28))
        if photos is None:
            photos = ()
            if kind in catalogue.PHOTO_REQUIRED_CODES:
                shot = start + timedelta(minutes=minutes / 2)
                facts, img = self.photo(shot, _offset(clat, clon, self.rnd.uniform(0, 0.3), self.rnd.uniform(0, 6.28)))
                photos, images = (facts,), (img,)
        if notes is None:
            notes = self.note()
        r = RecordFacts(rid, f"R{rid:06d}", 100 + self.provider_of(worker), self.provider_of(worker), worker,
                        case_id, kind, start, end, submitted or end + timedelta(hours=self.rnd.uniform(0.5, 20)),
                        near[0], near[1], clat, clon, clat + 0.01, clon + 0.01, status, changed_on, in_area, notes,
                        photos)
        w.records.append(r)
        for p, img in zip(photos, images, strict=False):
            w.photos.append((len(w.records) - 1, p, img))
        return rid

    def free_day(self, worker: int) -> date:
        """A day of ``worker`` with nothing else on it (past the period when it is full)."""
        free = [d for d in range(self.days) if (worker, d) not in self.used_days]
        d = self.rnd.choice(free) if free else max(d for w, d in self.used_days if w == worker) + 2
        self.used_days.add((worker, d))
        return DAY0 + timedelta(days=d)

    def ordinary_day(self, worker: int, day: date) -> list[int]:
        """Four to six services 30+ minutes apart: nothing to flag."""
        ids = []
        t = _local(day, 8, self.rnd.randrange(0, 30))
        for _ in range(self.rnd.randint(4, 6)):
            kind = self.rnd.choice(FIELD_TYPES if self.rnd.random() < 0.5 else DESK_TYPES)
            minutes = MINUTES[kind] + self.rnd.randint(5, 40)
            ids.append(self.record(worker, kind, t, minutes))
            t += timedelta(minutes=minutes + self.rnd.randint(30, 60))
        return ids

    # --- the county --------------------------------------------------------------------------

    def build(self, plants_each: int = 6) -> World:
        rnd, truth = self.rnd, self.w.truth
        plans = []
        for _ in range(plants_each):
            plans += ["short", "burst", "overlap", "travel", "photo_time", "photo_place", "no_meta", "missing",
                      "late", "inactive", "outside"]
        for plan in plans:
            worker = rnd.randrange(self.workers)
            day = self.free_day(worker)
            getattr(self, f"plant_{plan}")(worker, day, truth)
        # Ordinary days fill the rest; copies (notes and photos) come last so they copy from them.
        for worker in range(self.workers):
            for d in range(self.days):
                if (worker, d) not in self.used_days and rnd.random() < 0.7:
                    self.used_days.add((worker, d))
                    self.ordinary_day(worker, DAY0 + timedelta(days=d))
        for _ in range(plants_each * 3):
            self.plant_notes_copy(truth)
        for _ in range(plants_each * 3):
            self.plant_photo_copy(truth)
        return self.w

    # --- one method per planted problem; each also plants a control just inside the rule ----

    def plant_short(self, worker, day, truth):
        kind = self.rnd.choice(FIELD_TYPES + DESK_TYPES[1:])
        truth["FLASH_SHORT"].add(self.record(worker, kind, _local(day, 9), MINUTES[kind] - self.rnd.randint(1, 4)))
        self.record(worker, kind, _local(day, 11), MINUTES[kind])  # control: exactly the minimum

    def plant_burst(self, worker, day, truth):
        n = 13 if self.rnd.random() < 0.75 else 12  # 12 is allowed
        t = _local(day, 7)
        ids = []
        for _ in range(n):
            ids.append(self.record(worker, "home_visit", t, 16))
            t += timedelta(minutes=40)
        if n > 12:
            truth["FLASH_BURST"].update(ids)

    def plant_overlap(self, worker, day, truth):
        a = self.record(worker, "phone_followup", _local(day, 9), 40)
        b = self.record(worker, "case_records", _local(day, 9, 40 - self.rnd.randint(6, 30)), 30)
        truth["TIME_OVERLAP"].update({a, b})
        self.record(worker, "phone_followup", _local(day, 14), 30)
        self.record(worker, "case_records", _local(day, 14, 25), 30)  # control: 5 minutes overlap

    def plant_travel(self, worker, day, truth):
        self.record(worker, "home_visit", _local(day, 9), 30)
        far_home = (self.next_case, *_offset(*self.base[worker], self.rnd.uniform(40, 80), 1.0))
        self.next_case += 1
        # 20 minutes after the first ends, 40+ km away, and the last of the day.
        truth["TRAVEL_IMPOSSIBLE"].add(self.record(worker, "home_visit", _local(day, 9, 50), 30, case=far_home))

    def plant_photo_time(self, worker, day, truth):
        start = _local(day, 10)
        case = self.rnd.choice(self.households[worker])
        off = self.rnd.randint(61, 300)
        facts, img = self.photo(start - timedelta(minutes=off), (case[1], case[2]))
        truth["PHOTO_TIME_MISMATCH"].add(self.record(worker, "home_visit", start, 30, case=case, photos=(facts,),
                                                     images=(img,)))
        start2 = _local(day, 14)
        facts, img = self.photo(start2 + timedelta(minutes=30 + 60), (case[1], case[2]))  # control: 60 min
        self.record(worker, "home_visit", start2, 30, case=case, photos=(facts,), images=(img,))

    def plant_photo_place(self, worker, day, truth):
        start = _local(day, 10)
        case = self.rnd.choice(self.households[worker])
        facts, img = self.photo(start + timedelta(minutes=5), _offset(case[1], case[2], self.rnd.uniform(3.5, 20), 2))
        truth["PHOTO_PLACE_MISMATCH"].add(self.record(worker, "home_visit", start, 30, case=case, photos=(facts,),
                                                      images=(img,)))
        facts, img = self.photo(_local(day, 14, 5), _offset(case[1], case[2], 2.9, 2))  # control: 2.9 km
        self.record(worker, "home_visit", _local(day, 14), 30, case=case, photos=(facts,), images=(img,))

    def plant_no_meta(self, worker, day, truth):
        start = _local(day, 10)
        case = self.rnd.choice(self.households[worker])
        no_time = self.rnd.random() < 0.5
        facts, img = self.photo(None if no_time else start, None if not no_time else (case[1], case[2]))
        truth["PHOTO_NO_METADATA"].add(self.record(worker, "care_service", start, 40, case=case, photos=(facts,),
                                                   images=(img,)))

    def plant_missing(self, worker, day, truth):
        truth["EVIDENCE_MISSING"].add(self.record(worker, self.rnd.choice(FIELD_TYPES), _local(day, 10), 40, photos=()))

    def plant_late(self, worker, day, truth):
        start = _local(day, 10)
        end = start + timedelta(minutes=30)
        truth["LATE_ENTRY"].add(self.record(worker, "phone_followup", start, 30,
                                            submitted=end + timedelta(days=7, hours=self.rnd.randint(1, 500))))
        self.record(worker, "phone_followup", _local(day, 14), 30,
                    submitted=_local(day, 14, 30) + timedelta(days=7))  # control: exactly 7 days

    def plant_inactive(self, worker, day, truth):
        case = (self.next_case, *self.rnd.choice(self.households[worker])[1:])
        self.next_case += 1
        status = self.rnd.choice(["closed", "deceased"])
        truth["CASE_INACTIVE"].add(self.record(worker, "phone_followup", _local(day, 10), 20, case=case,
                                               status=status, changed_on=day - timedelta(days=self.rnd.randint(1, 60))))
        self.record(worker, "phone_followup", _local(day, 14), 20, case=case, status=status,
                    changed_on=day)  # control: closed the same day

    def plant_outside(self, worker, day, truth):
        truth["OUT_OF_AREA"].add(self.record(worker, "phone_followup", _local(day, 10), 20, in_area=False))

    def plant_notes_copy(self, truth):
        """Another household's note of the same provider, 0-3 characters changed, on a new record."""
        rnd, records = self.rnd, self.w.records
        while True:
            source = rnd.choice(records)
            if source.case_id is not None and len(source.notes) >= 30 and source.record_id not in truth["NOTES_COPIED"]:
                break
        text = list(source.notes)
        for _ in range(rnd.randint(0, 3)):
            at = rnd.randrange(len(text))
            how = rnd.random()
            if how < 0.5:
                text[at] = rnd.choice(SURNAMES + GIVEN)
            elif how < 0.75:
                text.insert(at, rnd.choice(OWN))
            else:
                del text[at]
        worker = rnd.choice([w for w in range(self.workers) if self.provider_of(w) == source.provider_id])
        day = self.free_day(worker)
        case = rnd.choice([h for h in self.households[worker] if h[0] != source.case_id])
        copy = self.record(worker, "phone_followup", _local(day, 10), 20, case=case, notes="".join(text))
        truth["NOTES_COPIED"].update({source.record_id, copy})

    def plant_photo_copy(self, truth):
        """An earlier photo passed on through a phone or chat app, on another worker's record."""
        rnd = self.rnd
        index, original, img = rnd.choice(self.w.photos)
        source = self.w.records[index]
        worker = rnd.randrange(self.workers)
        day = self.free_day(worker)
        start = _local(day, 10)
        case = rnd.choice(self.households[worker])
        keep_exif = rnd.random() < 0.5
        facts, copy_img = self.photo(start + timedelta(minutes=10) if keep_exif else None,
                                     (case[1], case[2]) if keep_exif else None,
                                     img=passed_on(img, rnd), quality=rnd.choice([50, 60, 75]))
        if rnd.random() < 0.15:  # the very same file
            facts = replace(facts, sha256=original.sha256, phash=original.phash, dhash=original.dhash,
                            trim_hashes=original.trim_hashes, colours=original.colours, exif_time=start + timedelta(minutes=10),
                            exif_lat=case[1], exif_lon=case[2])
            keep_exif = True
        copy = self.record(worker, "home_visit", start, 30, case=case, photos=(facts,), images=(copy_img,))
        truth["PHOTO_REUSED"].update({source.record_id, copy})
        if not keep_exif:
            truth["PHOTO_NO_METADATA"].add(copy)


def measure(seed: int = 20261127, workers: int = 24, days: int = 30, plants_each: int = 6):
    world = Builder(seed, workers, days).build(plants_each)
    flags = rules.run_all(world.records)
    found: dict[str, set[int]] = defaultdict(set)
    for f in flags:
        found[f.code].add(f.record_id)
    table = []
    for code in rules.DETECTORS:
        planted, got = world.truth.get(code, set()), found.get(code, set())
        hits = len(planted & got)
        recall = hits / len(planted) if planted else 1.0
        precision = hits / len(got) if got else 1.0
        table.append((code, len(planted), len(got), hits, recall, precision))
    return world, table


def print_table(world, table) -> None:
    print(f"{len(world.records)} records, {len(world.photos)} photos")
    print(f"{'code':22} {'planted':>8} {'found':>6} {'right':>6} {'recall':>7} {'precision':>9}")
    for code, planted, got, hits, recall, precision in table:
        print(f"{code:22} {planted:8} {got:6} {hits:6} {recall:7.3f} {precision:9.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=20261127)
    parser.add_argument("--workers", type=int, default=24)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--plants", type=int, default=6, help="plants of each rule-based problem")
    args = parser.parse_args()
    print_table(*measure(args.seed, args.workers, args.days, args.plants))


if __name__ == "__main__":
    main()
