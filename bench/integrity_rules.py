"""How fast the integrity detectors run at province scale.

    .venv/bin/python bench/integrity_rules.py [--records 1000000] [--seed 1] [--no-memory]

Generates N synthetic service records (about 2 photos per 10 records, each with pHash,
dHash and three trim-window hashes; notes built from a pool of phrases the way real
ledgers are, so that notes share many fragments) with a sprinkling of every planted
problem, then times each detector of ``reliefsvc.integrity.rules`` and ``run_all`` on
them. The baseline, measured in the same run, is the least any detector must do:
iterate the records and sort them by worker and start. Prints seconds, records per
second and the ratio to the baseline for each detector, flags found, the peak resident
memory of the process and, unless --no-memory, the peak memory each detector allocates
(a second, untimed pass under tracemalloc, which would distort the timings).
"""

from __future__ import annotations

import argparse
import gc
import random
import resource
import sys
import time
import tracemalloc
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reliefsvc.integrity import catalogue, photohash, rules  # noqa: E402
from reliefsvc.integrity.rules import PhotoFacts, RecordFacts  # noqa: E402

SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何林罗高"
GIVEN = "秀英桂兰玉兰凤英建华国强志明春梅海燕丽华德福永安金花红梅"
PHRASES = [
    "老人身体状况良好", "生活物资充足", "已提醒冬季注意取暖安全", "家中卫生整洁", "了解家庭收入变化",
    "核实家庭成员就业情况", "宣传最新救助政策", "协助整理申请材料", "子女在外务工", "患慢性病需长期服药",
    "住房安全无隐患", "已联系村医上门", "低保金按时到账", "无其他困难诉求", "反映用水不便已登记",
    "老人情绪稳定", "陪同老人聊天解闷", "帮助打扫院落", "代购日常用品", "检查用电线路安全",
    "告知临时救助申请流程", "核查预警信息属实", "家庭收入较上月减少", "学生在校表现良好",
    "残疾人两项补贴已落实", "医疗费用负担较重", "建议纳入监测对象", "已向村委会反馈情况",
]
# Characters of the free-written part of a note.
OWN = "今天老人说最近睡眠还行腿脚有些疼孙子放假回来了家里新买了电视冬天的煤已经备好想问医保报销怎么办"
FIELD = sorted(catalogue.FIELD_WORK_CODES)
OTHER = ["phone_followup", "case_records", "application_assist", "training", "office_duty", "meeting"]
TYPE_MINUTES = {t.code: t.min_minutes or 30 for t in catalogue.CATALOGUE}


def _photo(rnd: random.Random, n: int, taken: datetime, lat: float, lon: float) -> PhotoFacts:
    roll = rnd.random()
    if roll < 0.01:
        taken -= timedelta(hours=5)  # planted: taken long before the service
    elif roll < 0.02:
        lat += 0.2  # planted: taken 22 km away
    exif_time = None if 0.02 <= roll < 0.04 else taken  # planted: no EXIF
    return PhotoFacts(
        photo_id=f"P{n}", sha256=f"{rnd.getrandbits(256):064x}",
        phash=rnd.getrandbits(64), dhash=rnd.getrandbits(64),
        exif_time=exif_time, exif_lat=lat + rnd.uniform(-0.005, 0.005), exif_lon=lon + rnd.uniform(-0.005, 0.005),
        trim_hashes=tuple((rnd.getrandbits(64), rnd.getrandbits(64)) for _ in range(len(photohash.TRIM_WINDOWS))),
    )


def _flip(rnd: random.Random, value: int, bits: int) -> int:
    for bit in rnd.sample(range(64), bits):
        value ^= 1 << bit
    return value


def generate(n: int, seed: int) -> list[RecordFacts]:
    rnd = random.Random(seed)
    tz = rules.LOCAL_TZ
    providers = max(4, n // 25_000)
    workers = max(8, n // 800)  # ~800 records a worker a year: 3-4 per working day
    # Townships scattered over a province the size of Gansu's south, ten villages each
    # within a few kilometres of the township seat.
    townships = [(rnd.uniform(32.6, 36.0), rnd.uniform(103.0, 108.5)) for _ in range(max(2, n // 600))]
    villages = [(tlat + rnd.uniform(-0.04, 0.04), tlon + rnd.uniform(-0.04, 0.04))
                for tlat, tlon in townships for _ in range(10)]
    cases = []
    cases_of_township: list[list[int]] = [[] for _ in townships]
    for c in range(max(50, n // 20)):
        village = rnd.randrange(len(villages))
        cases_of_township[village // 10].append(c)
        vlat, vlon = villages[village]
        status = "active" if rnd.random() > 0.01 else rnd.choice(["closed", "deceased", "suspended"])
        cases.append((c, village, vlat + rnd.uniform(-0.01, 0.01), vlon + rnd.uniform(-0.01, 0.01), status,
                      date(2026, rnd.randint(1, 12), rnd.randint(1, 28)) if status != "active" else None,
                      rnd.random() > 0.005, rnd.choice(SURNAMES) + rnd.choice(GIVEN) + rnd.choice(GIVEN)))
    records: list[RecordFacts] = []
    photos_made = 0
    per_worker = n // workers
    for w in range(workers):
        provider = w % providers
        contract = provider * 3 + w % 3
        # A worker serves some sixty households of one township.
        patch = cases_of_township[w % len(townships)][:60] or [0]
        count = per_worker + (1 if w < n - per_worker * workers else 0)
        day = datetime(2026, 1, 5, 8, 0, tzinfo=tz)
        clock = day
        previous_end = clock
        burst = 0
        for _ in range(count):
            if burst == 0 and (clock.hour >= 17 or rnd.random() < 0.28):
                day += timedelta(days=1 if day.weekday() < 4 else 3)
                clock = day + timedelta(minutes=rnd.randint(0, 60))
                if rnd.random() < 0.004:
                    burst = 14  # planted: fourteen quick visits in one day
            case_id, village, clat, clon, status, changed, in_area, name = cases[rnd.choice(patch)]
            field = burst > 0 or rnd.random() < 0.3
            kind = "home_visit" if burst else rnd.choice(FIELD) if field else rnd.choice(OTHER)
            minutes = TYPE_MINUTES[kind] * rnd.uniform(1.0, 2.5)
            if rnd.random() < 0.01 or burst:
                minutes = TYPE_MINUTES[kind] * 0.5  # planted: flash service
            start = clock
            if rnd.random() < 0.005:
                start = previous_end - timedelta(minutes=20)  # planted: overlaps the previous record
            end = start + timedelta(minutes=minutes)
            previous_end = end
            clock = end + timedelta(minutes=rnd.randint(3, 8) if burst else rnd.randint(20, 90))
            burst = max(0, burst - 1)
            lat, lon = (clat, clon) if rnd.random() < 0.7 else (None, None)
            if rnd.random() < 0.003:
                lat, lon = clat + 0.5, clon  # planted: 55 km away
            case_linked = catalogue.BY_CODE[kind].case_linked
            if case_linked:
                # Template words, phrases in any order, and a clause of the worker's own:
                # as templated as real ledgers get without every note being a copy.
                own = "".join(rnd.choice(OWN) for _ in range(rnd.randint(4, 9)))
                notes = (f"{start:%m月%d日}入户走访{name}家，" + "，".join(rnd.sample(PHRASES, rnd.randint(2, 4)))
                         + f"，{own}。")
            else:
                notes = "开展" + catalogue.BY_CODE[kind].name_zh + "，" + rnd.choice(PHRASES)
            if records and rnd.random() < 0.01:
                notes = records[rnd.randrange(max(0, len(records) - 5000), len(records))].notes  # planted copy
            photos: tuple[PhotoFacts, ...] = ()
            if catalogue.BY_CODE[kind].photo_required and rnd.random() < 0.67:
                photo = _photo(rnd, photos_made, start + timedelta(minutes=5), clat, clon)
                photos_made += 1
                if records and rnd.random() < 0.01:  # planted: a re-encoded copy of an earlier photo
                    earlier = next((r.photos[0] for r in reversed(records[-200:]) if r.photos), None)
                    if earlier is not None:
                        photo = PhotoFacts(photo.photo_id, photo.sha256, _flip(rnd, earlier.phash, 3),
                                           _flip(rnd, earlier.dhash, 4), photo.exif_time, photo.exif_lat,
                                           photo.exif_lon, earlier.trim_hashes)
                photos = (photo,)
            submitted = end + timedelta(hours=rnd.randint(1, 48) if rnd.random() > 0.01 else 24 * 10)
            records.append(RecordFacts(
                record_id=len(records), record_ref=f"TZ{len(records):08d}", contract_id=contract,
                provider_id=provider, worker_id=w, case_id=case_id if case_linked else None,
                service_type=kind, started_at=start.astimezone(UTC), ended_at=end.astimezone(UTC),
                submitted_at=submitted.astimezone(UTC), lat=lat, lon=lon,
                case_lat=clat if case_linked else None, case_lon=clon if case_linked else None,
                village_lat=villages[village][0], village_lon=villages[village][1],
                case_status=status if case_linked else None, case_status_changed_on=changed if case_linked else None,
                case_in_area=in_area if case_linked else None, notes=notes, photos=photos))
    return records


def baseline(records: list[RecordFacts]) -> None:
    ordered = sorted(records, key=lambda r: (r.worker_id, r.started_at))
    sum(1 for _ in ordered)


def timed(fn, *args) -> tuple[float, object]:
    gc.collect()
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-memory", action="store_true", help="skip the tracemalloc pass")
    args = parser.parse_args()

    start = time.perf_counter()
    records = generate(args.records, args.seed)
    photos = sum(len(r.photos) for r in records)
    print(f"generated {len(records):,} records, {photos:,} photos in {time.perf_counter() - start:.1f} s; "
          f"peak RSS {peak_rss_mib():,.0f} MiB")
    base, _ = timed(baseline, records)
    print(f"baseline (iterate + sort by worker, start): {base:.2f} s\n")
    print(f"{'detector':22s} {'seconds':>8s} {'records/s':>12s} {'× baseline':>11s} {'flags':>9s}")
    thresholds = rules.DEFAULT_THRESHOLDS
    total = 0.0
    for code, detector in rules.DETECTORS.items():
        seconds, flags = timed(detector, records, thresholds)
        total += seconds
        print(f"{code:22s} {seconds:8.2f} {len(records) / seconds:12,.0f} {seconds / base:11.1f} {len(flags):9,}")
    seconds, flags = timed(rules.run_all, records, thresholds)
    print(f"{'run_all':22s} {seconds:8.2f} {len(records) / seconds:12,.0f} {seconds / base:11.1f} {len(flags):9,}")
    scores = rules.risk_scores(flags)
    print(f"\nsum of detectors {total:.1f} s; flagged records {len(scores):,} "
          f"({100 * len(scores) / len(records):.1f} %); flags by code: "
          + ", ".join(f"{c} {k:,}" for c, k in sorted(Counter(f.code for f in flags).items())))
    print(f"peak RSS of the process {peak_rss_mib():,.0f} MiB")
    if not args.no_memory:
        del flags
        print("\npeak memory allocated by each detector (tracemalloc, untimed):")
        for code, detector in [*rules.DETECTORS.items(), ("run_all", rules.run_all)]:
            gc.collect()
            tracemalloc.start()
            detector(records, thresholds)
            _current, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            print(f"  {code:22s} {peak / 2**20:9,.1f} MiB")


if __name__ == "__main__":
    main()
