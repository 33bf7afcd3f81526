"""The integrity flags of spec/interchange.md as pure detectors.

Plain data in (``RecordFacts`` with their ``PhotoFacts``), plain data out (``Flag``).
The service layer feeds these from queries and stores what comes back; nothing here
touches Flask or the database, so the same code runs in a request, a nightly job, a
test and the benchmark.

Every detector is near-linear in the number of records: records are grouped (worker,
worker-day, provider, sha256) and sorted within a group, and the two checks that
compare records pairwise across a whole population (PHOTO_REUSED, NOTES_COPIED) go
through an index that only ever proposes pairs that can qualify. docs/integrity.md
gives the design, the complexity and the measured speed of each.

Each detector emits at most one flag per record (the export has one row per record and
code); when a record qualifies several times, the flag names the worst case, so the
detail is a single line a person can check by looking.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np

from reliefsvc.integrity import catalogue, photohash, textsim
from reliefsvc.integrity.geo import haversine_km

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
# China has kept UTC+8 without summer time since 1991, so the local calendar day of a
# record is integer arithmetic on its timestamp: grouping a million records by worker
# and day then costs no time-zone conversions.
_LOCAL_OFFSET_S = 8 * 3600
_DAY_S = 86_400

HIGH, MEDIUM, LOW = "high", "medium", "low"


# --- Input and output -------------------------------------------------------------------


# The input classes are read-only by convention rather than frozen: a frozen dataclass
# sets each field through object.__setattr__, which made building a million of them
# cost ~6 times as much (about 10 s at a million records and photos).
@dataclass(slots=True)
class PhotoFacts:
    photo_id: Hashable
    sha256: str
    #: 64-bit perceptual hashes (photohash.photo_hashes); None when the file could not be read
    phash: int | None
    dhash: int | None
    #: EXIF DateTimeOriginal made aware (it is local time in the file); None when absent
    exif_time: datetime | None
    exif_lat: float | None
    exif_lon: float | None
    #: (phash, dhash) of the photo's windows (photohash.TRIM_WINDOWS), so that a
    #: copy with trimmed borders is recognised; empty when not computed. Either the
    #: pairs or, as read from the database, the blob of ``photohash.pack_trims``.
    trim_hashes: tuple[tuple[int, int], ...] | bytes = ()
    #: how a person finds the photo on the record (its file name, or "第2张"); else photo_id
    label: str | None = None
    #: 8x8 mean colours (photohash.colour_grid), the second measure of PHOTO_REUSED
    colours: bytes | None = None


@dataclass(slots=True)
class RecordFacts:
    record_id: Hashable
    record_ref: str
    contract_id: Hashable
    provider_id: Hashable
    worker_id: Hashable
    case_id: Hashable | None
    service_type: str
    started_at: datetime
    ended_at: datetime
    submitted_at: datetime
    #: where the worker says the service took place
    lat: float | None
    lon: float | None
    #: the household's location, and the centre of its village
    case_lat: float | None
    case_lon: float | None
    village_lat: float | None
    village_lon: float | None
    #: active / suspended / closed / deceased
    case_status: str | None
    case_status_changed_on: date | None
    #: whether the case lives inside the contract's service area; None: unknown
    case_in_area: bool | None
    notes: str
    photos: tuple[PhotoFacts, ...] = ()
    #: ``started_at`` and ``ended_at`` as POSIX seconds, taken once when the facts are
    #: made: the time rules read them ~10 times a record, and ``datetime.timestamp`` is
    #: most of what they cost (~3 s of a full run at a million records).
    start_s: float = field(init=False, repr=False, compare=False)
    end_s: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.start_s = self.started_at.timestamp()
        self.end_s = self.ended_at.timestamp()


@dataclass(frozen=True, slots=True)
class Flag:
    record_id: Hashable
    code: str
    severity: str
    detail_zh: str
    related_record_id: Hashable | None = None
    #: the photo the flag is about, and the partner's photo (PHOTO_REUSED)
    photo_id: Hashable | None = None
    related_photo_id: Hashable | None = None


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Defaults of spec/interchange.md; an officer may change each per contract."""

    flash_burst_per_day: int = 12
    time_overlap_minutes: float = 5
    travel_max_kmh: float = 60
    travel_min_km: float = 1
    photo_time_minutes: float = 60
    photo_place_km: float = 3
    late_entry_days: float = 7
    #: characters after normalisation (punctuation and spaces removed)
    notes_min_length: int = 20
    #: "give or take a few characters": at most this many edits (a changed name and one
    #: more; dates and numbers are ignored altogether) ...
    notes_max_edits: int = 4
    #: ... and at most this share of the longer text (short notes get fewer edits)
    notes_max_edit_share: float = 0.15
    #: same picture: both hashes close, each within its limit and together within the sum
    photo_phash_max: int = 12
    photo_dhash_max: int = 12
    photo_hash_sum_max: int = 15

    def for_contract(self, contract_id: Hashable) -> Thresholds:
        return self

    def notes_edits_allowed(self, length_a: int, length_b: int) -> int:
        return min(self.notes_max_edits, int(self.notes_max_edit_share * max(length_a, length_b)))


@dataclass(frozen=True, slots=True)
class PerContract:
    """Thresholds of contracts whose officer changed them, and the default for the rest."""

    default: Thresholds = field(default_factory=Thresholds)
    overrides: Mapping[Hashable, Thresholds] = field(default_factory=dict)

    def for_contract(self, contract_id: Hashable) -> Thresholds:
        return self.overrides.get(contract_id, self.default)

    def all(self) -> list[Thresholds]:
        return [self.default, *self.overrides.values()]


DEFAULT_THRESHOLDS = Thresholds()
ThresholdPolicy = Thresholds | PerContract


def _all_thresholds(policy: ThresholdPolicy) -> list[Thresholds]:
    return policy.all() if isinstance(policy, PerContract) else [policy]


# --- Small helpers ----------------------------------------------------------------------


def _ts(moment: datetime) -> float:
    return moment.timestamp()


def _local_day_number(timestamp: float) -> int:
    return int((timestamp + _LOCAL_OFFSET_S) // _DAY_S)


def _local(moment: datetime) -> datetime:
    return moment.astimezone(LOCAL_TZ)


def _hm(moment: datetime) -> str:
    return _local(moment).strftime("%H:%M")


def _dt(moment: datetime) -> str:
    return _local(moment).strftime("%Y-%m-%d %H:%M")


def _num(value: float) -> str:
    """Minutes and kilometres as a person writes them: 14, 14.5, never 14.000001."""
    rounded = round(value, 1)
    return str(int(rounded)) if rounded == int(rounded) else f"{rounded:.1f}"


def _photo_name(photo: PhotoFacts) -> str:
    return photo.label if photo.label is not None else str(photo.photo_id)


def _position(r: RecordFacts) -> tuple[float, float] | None:
    if r.lat is not None and r.lon is not None:
        return r.lat, r.lon
    if r.case_lat is not None and r.case_lon is not None:
        return r.case_lat, r.case_lon
    if r.village_lat is not None and r.village_lon is not None:
        return r.village_lat, r.village_lon
    return None


def _is_field_work(r: RecordFacts) -> bool:
    return r.service_type in catalogue.FIELD_WORK_CODES


def _sorted(flags: Iterable[Flag]) -> list[Flag]:
    return sorted(flags, key=lambda f: (str(f.record_id), f.code))


# --- One detector per flag code -----------------------------------------------------------


def detect_flash_short(records: Sequence[RecordFacts], thresholds: ThresholdPolicy = DEFAULT_THRESHOLDS) -> list[Flag]:
    """FLASH_SHORT: the duration is under the catalogue minimum for the type (秒杀式)."""
    out = []
    for r in records:
        kind = catalogue.BY_CODE.get(r.service_type)
        if kind is None or kind.min_minutes is None:
            continue
        minutes = (r.end_s - r.start_s) / 60
        if minutes < kind.min_minutes:
            out.append(Flag(r.record_id, "FLASH_SHORT", MEDIUM,
                            f"{kind.name_zh}服务时长 {_num(minutes)} 分钟，"
                            f"少于该类服务最短 {kind.min_minutes} 分钟"))
    return out


def detect_flash_burst(records: Sequence[RecordFacts], thresholds: ThresholdPolicy = DEFAULT_THRESHOLDS) -> list[Flag]:
    """FLASH_BURST: the worker has more than N field-work records that local calendar day.

    All of that day's field records are flagged: which of them were real cannot be told.
    """
    days: dict[tuple[Hashable, int], list[RecordFacts]] = defaultdict(list)
    for r in records:
        if _is_field_work(r):
            days[(r.worker_id, _local_day_number(r.start_s))].append(r)
    out = []
    for group in days.values():
        count = len(group)
        for r in group:
            limit = thresholds.for_contract(r.contract_id).flash_burst_per_day
            if count > limit:
                day = _local(r.started_at).strftime("%Y-%m-%d")
                out.append(Flag(r.record_id, "FLASH_BURST", MEDIUM,
                                f"服务人员 {day} 共有 {count} 条外勤服务记录，"
                                f"超过每日 {limit} 条"))
    return out


def _by_worker(records: Iterable[RecordFacts], keep: Callable[[RecordFacts], bool] | None = None,
               ) -> dict[Hashable, list[tuple[float, float, RecordFacts]]]:
    workers: dict[Hashable, list[tuple[float, float, RecordFacts]]] = defaultdict(list)
    for r in records:
        if keep is None or keep(r):
            workers[r.worker_id].append((r.start_s, r.end_s, r))
    for timeline in workers.values():
        timeline.sort(key=lambda item: (item[0], item[1], str(item[2].record_id)))
    return workers


def detect_time_overlap(records: Sequence[RecordFacts], thresholds: ThresholdPolicy = DEFAULT_THRESHOLDS) -> list[Flag]:
    """TIME_OVERLAP: the record overlaps another of the same worker by more than N minutes.

    Sweep over the worker's records in order of start, keeping only those still
    running: each record is compared with the few it can overlap, never with all.
    Both records of a pair are flagged; each names its largest overlap.
    """
    # The smallest threshold of any contract decides what can be forgotten.
    slack = min(t.time_overlap_minutes for t in _all_thresholds(thresholds)) * 60
    worst: dict[Hashable, tuple[float, RecordFacts, RecordFacts]] = {}

    def note(r: RecordFacts, other: RecordFacts, seconds: float) -> None:
        if seconds > thresholds.for_contract(r.contract_id).time_overlap_minutes * 60:
            best = worst.get(r.record_id)
            if best is None or seconds > best[0]:
                worst[r.record_id] = (seconds, r, other)

    for timeline in _by_worker(records).values():
        running: list[tuple[float, int, float, RecordFacts]] = []  # heap by end
        for n, (start, end, r) in enumerate(timeline):
            # Whatever ends before start + slack cannot overlap this record, nor any
            # later one (they start later still), by more than the smallest threshold.
            while running and running[0][0] <= start + slack:
                heapq.heappop(running)
            if end - start > slack:
                for other_end, _n, other_start, other in running:
                    overlap = min(other_end, end) - max(other_start, start)
                    note(r, other, overlap)
                    note(other, r, overlap)
            heapq.heappush(running, (end, n, start, r))
    out = []
    for seconds, r, other in worst.values():
        out.append(Flag(r.record_id, "TIME_OVERLAP", HIGH,
                        f"与同一服务人员的台账 {other.record_ref}"
                        f"（{_hm(other.started_at)}–{_hm(other.ended_at)}）"
                        f"时间重叠 {_num(seconds / 60)} 分钟", other.record_id))
    return out


def detect_travel_impossible(records: Sequence[RecordFacts], thresholds: ThresholdPolicy = DEFAULT_THRESHOLDS) -> list[Flag]:
    """TRAVEL_IMPOSSIBLE: reaching this field record from the worker's previous one is too fast.

    Speed is the straight-line distance over the time from the previous record's end to
    this one's start; a gap of zero or less over more than the minimum distance is
    impossible outright. The later record is flagged.
    """
    out = []
    for timeline in _by_worker(records, _is_field_work).values():
        previous: tuple[float, tuple[float, float], RecordFacts] | None = None
        for start, end, r in timeline:
            here = _position(r)
            if here is None:
                continue  # nowhere to measure from: keep the last known place as "previous"
            if previous is not None:
                prev_end, there, prev = previous
                t = thresholds.for_contract(r.contract_id)
                km = haversine_km(there[0], there[1], here[0], here[1])
                if km > t.travel_min_km:
                    gap_s = start - prev_end
                    if gap_s <= 0:
                        out.append(Flag(r.record_id, "TRAVEL_IMPOSSIBLE", HIGH,
                                        f"与上一条外勤台账 {prev.record_ref} 相距 {km:.1f} 公里，"
                                        f"却在其结束（{_hm(prev.ended_at)}）前就已开始"
                                        f"（{_hm(r.started_at)}）", prev.record_id))
                    else:
                        kmh = km / (gap_s / 3600)
                        if kmh > t.travel_max_kmh:
                            out.append(Flag(r.record_id, "TRAVEL_IMPOSSIBLE", HIGH,
                                            f"与上一条外勤台账 {prev.record_ref} 的地点"
                                            f"相距 {km:.1f} 公里、间隔 {_num(gap_s / 60)} 分钟，"
                                            f"需时速 {kmh:.0f} 公里/小时，超过 "
                                            f"{_num(t.travel_max_kmh)} 公里/小时", prev.record_id))
            previous = (end, here, r)
    return out


def _photo_reuse_partners(
    records: Sequence[RecordFacts], thresholds: ThresholdPolicy,
) -> dict[int, tuple[int, PhotoFacts, PhotoFacts, tuple[int, int] | None]]:
    """Record index → (partner record index, own photo, partner's photo, (p, d) or None
    for the same file)."""
    flat = [(n, photo) for n, r in enumerate(records) for photo in r.photos]
    count = len(flat)
    files: dict[str, int] = {}
    owner = np.fromiter((n for n, _photo in flat), dtype=np.int64, count=count)
    same_file = np.fromiter((files.setdefault(photo.sha256, len(files)) for _n, photo in flat), dtype=np.int64,
                            count=count)
    hashed = np.fromiter((photo.phash is not None and photo.dhash is not None for _n, photo in flat), dtype=bool,
                         count=count)
    ph = np.fromiter((photo.phash or 0 for _n, photo in flat), dtype=np.uint64, count=count)
    dh = np.fromiter((photo.dhash or 0 for _n, photo in flat), dtype=np.uint64, count=count)
    contracts = [r.contract_id for r in records]
    pairs = photo_reuse_pairs(
        owner, same_file, hashed, ph, dh,
        windows=lambda ks: photohash.trims_array([flat[k][1].trim_hashes for k in ks.tolist()]),
        colours=lambda ks: [flat[k][1].colours for k in ks.tolist()],
        contract_of=contracts.__getitem__, thresholds=thresholds)
    return {rec: (other, flat[k][1], flat[m][1], how) for rec, (other, k, m, how) in pairs.items()}


def photo_reuse_pairs(
    owner: np.ndarray, same_file: np.ndarray, hashed: np.ndarray, ph: np.ndarray, dh: np.ndarray, *,
    windows: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
    colours: Callable[[np.ndarray], Sequence[bytes | None]],
    contract_of: Callable[[int], Hashable], thresholds: ThresholdPolicy,
) -> dict[int, tuple[int, int, int, tuple[int, int] | None]]:
    """PHOTO_REUSED over columns: one entry per photo of the population, records in the
    order they are read, each record's photos in order (the "flat" order).

    ``owner[k]``: the record (an index) photo k belongs to; ``same_file[k]``: equal for
    the same file (the photo id, or a number per sha256); ``hashed[k]``: both perceptual
    hashes known, ``ph[k]``, ``dh[k]``. ``windows(ks)`` gives the trim windows of photos
    ``ks`` (``photohash.trims_array``), ``colours(ks)`` their colour grids; both are asked
    only for what the index needs (the colours of the photos it pairs). Returns record
    index → (partner record index, own photo k, partner's photo k, (p, d) or None for the
    same file).
    """
    partners: dict[int, tuple[int, int, int, tuple[int, int] | None]] = {}

    def settle(x: int, x_photo: int, y: int, y_photo: int, how: tuple[int, int] | None) -> None:
        if x not in partners:
            partners[x] = (y, x_photo, y_photo, how)

    def settle_group(members: list[tuple[int, int]], how: tuple[int, int] | None) -> None:
        # Each record of the group needs one other record of the group as its partner.
        first = members[0]
        second = next((m for m in members if m[0] != first[0]), None)
        if second is None:
            return
        for rec, photo in members:
            other = second if rec == first[0] else first
            settle(rec, photo, other[0], other[1], how)

    count = len(owner)
    if not count:
        return partners
    # 1. The same file, whatever the hashes say; groups in order of first appearance.
    _keys, inverse, sizes = np.unique(same_file, return_inverse=True, return_counts=True)
    repeated = np.flatnonzero(sizes[inverse.reshape(-1)] > 1)
    if len(repeated):
        by_file: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for k, key in zip(repeated.tolist(), same_file[repeated].tolist(), strict=True):
            by_file[key].append((int(owner[k]), k))
        for members in by_file.values():
            settle_group(members, None)

    # 2. Same perceptual hashes: one node per distinct (phash, dhash), numbered in order
    # of first appearance; a node's windows and colours are those of its first photo
    # that has them.
    hashed_k = np.flatnonzero(hashed)
    if not len(hashed_k):
        return partners
    n_hashed = len(hashed_k)
    hp, hd = ph[hashed_k], dh[hashed_k]
    by_key = np.lexsort((hd, hp))  # stable: within a node, photos in order of appearance
    new_key = np.concatenate(([True], (hp[by_key][1:] != hp[by_key][:-1]) | (hd[by_key][1:] != hd[by_key][:-1])))
    run_start = np.flatnonzero(new_key)
    run_end = np.append(run_start[1:], n_hashed)
    first_photo = by_key[run_start]
    node_order = np.argsort(first_photo, kind="stable")  # node number -> run
    starts, ends = run_start[node_order].tolist(), run_end[node_order].tolist()
    members_k = hashed_k[by_key].tolist()
    owners = owner.tolist()

    def node_members(i: int) -> list[tuple[int, int]]:
        return [(owners[k], k) for k in members_k[starts[i]:ends[i]]]

    firsts = hashed_k[first_photo[node_order]]
    trims, trim_counts = windows(firsts)
    shared = np.flatnonzero(run_end[node_order] - run_start[node_order] > 1).tolist()
    if shared:
        # A node of several photos: the windows of its first photo that has them.
        candidates = {i: [k for _rec, k in node_members(i)] for i in shared}
        flat_ks = np.array([k for ks in candidates.values() for k in ks], dtype=np.int64)
        some, some_counts = windows(flat_ks)
        at, copied = 0, False
        for i, ks in candidates.items():
            settle_group(node_members(i), (0, 0))
            pick = next((at + n for n in range(len(ks)) if some_counts[at + n] > 0), None)
            if pick is not None and trim_counts[i] == 0:
                if not copied:  # the caller's arrays are not written to
                    trims, trim_counts, copied = trims.copy(), trim_counts.copy(), True
                width = min(trims.shape[1], some.shape[1])
                if width < some_counts[pick]:
                    grown = np.zeros((trims.shape[0], some.shape[1], 2), dtype=trims.dtype)
                    grown[:, :trims.shape[1]] = trims
                    trims, width = grown, some.shape[1]
                trims[i, :width] = some[pick, :width]
                trim_counts[i] = some_counts[pick]
            at += len(ks)
    node_colours: dict[int, bytes | None] = {}

    def prepare(nodes: np.ndarray) -> None:
        wanted_nodes = nodes.tolist()
        ks = [[k for _rec, k in node_members(i)] for i in wanted_nodes]
        grids = iter(colours(np.array([k for group in ks for k in group], dtype=np.int64)))
        for i, group in zip(wanted_nodes, ks, strict=True):
            found = [next(grids) for _k in group]
            node_colours[i] = next((g for g in found if g), None)

    policy = _all_thresholds(thresholds)
    loosest = {
        "phash_max": max(t.photo_phash_max for t in policy),
        "dhash_max": max(t.photo_dhash_max for t in policy),
        "sum_max": max(t.photo_hash_sum_max for t in policy),
    }

    def node_settled(i: int) -> bool:
        return all(rec in partners for rec, _photo in node_members(i))

    def wanted(i: int, j: int) -> bool:
        return not (node_settled(i) and node_settled(j))

    def confirm(a: int, window: int, b: int) -> bool:
        return photohash.same_colours(node_colours[a], window, node_colours[b])

    for i, j, p, d in photohash.near_duplicates_arrays(hp[first_photo[node_order]], hd[first_photo[node_order]],
                                                       trims, trim_counts, wanted=wanted, confirm=confirm,
                                                       prepare=prepare, **loosest):
        for mine, theirs in ((node_members(i), node_members(j)), (node_members(j), node_members(i))):
            for rec, photo in mine:
                if rec in partners:
                    continue
                t = thresholds.for_contract(contract_of(rec))
                if p > t.photo_phash_max or d > t.photo_dhash_max or p + d > t.photo_hash_sum_max:
                    continue
                other = next((m for m in theirs if m[0] != rec), None)
                if other is not None:
                    settle(rec, photo, other[0], other[1], (p, d))
    return partners


def detect_photo_reused(records: Sequence[RecordFacts], thresholds: ThresholdPolicy = DEFAULT_THRESHOLDS) -> list[Flag]:
    """PHOTO_REUSED: a photo shows the same picture as a photo of another record (摆拍式).

    The same file (sha256), or both perceptual hashes close, full frame against full
    frame or against a trimmed centre window; found through the banded Hamming index of
    ``photohash.near_duplicates``. Both records are flagged, each naming the other.
    """
    out = []
    for n, (m, own_photo, other_photo, how) in sorted(_photo_reuse_partners(records, thresholds).items()):
        r, other = records[n], records[m]
        out.append(photo_reused_flag(r.record_id, _photo_name(own_photo), own_photo.photo_id, other.record_id,
                                     other.record_ref, _photo_name(other_photo), other_photo.photo_id, how))
    return out


def photo_reused_flag(record_id: Hashable, own_name: str, own_photo_id: Hashable, other_id: Hashable,
                      other_ref: str, other_name: str, other_photo_id: Hashable, how: tuple[int, int] | None) -> Flag:
    """The PHOTO_REUSED flag of one record (``how``: the two hashes' distances, None for the same file)."""
    if how is None:
        what = "为同一文件"
    else:
        what = f"为同一画面（两种感知哈希分别相差 {how[0]} 位、{how[1]} 位）"
    return Flag(record_id, "PHOTO_REUSED", HIGH, f"照片 {own_name} 与台账 {other_ref} 的照片 {other_name}{what}",
                other_id, own_photo_id, other_photo_id)


def detect_photo_time_mismatch(records: Sequence[RecordFacts], thresholds: ThresholdPolicy = DEFAULT_THRESHOLDS) -> list[Flag]:
    """PHOTO_TIME_MISMATCH: a photo was taken more than N minutes outside the service."""
    out = []
    for r in records:
        if not r.photos:
            continue
        limit = thresholds.for_contract(r.contract_id).photo_time_minutes * 60
        start, end = r.start_s, r.end_s
        worst: tuple[float, PhotoFacts, str] | None = None
        count = 0
        for photo in r.photos:
            if photo.exif_time is None:
                continue
            taken = _ts(photo.exif_time)
            if taken < start - limit:
                off, side = start - taken, "早于服务开始"
            elif taken > end + limit:
                off, side = taken - end, "晚于服务结束"
            else:
                continue
            count += 1
            if worst is None or off > worst[0]:
                worst = (off, photo, side)
        if worst is not None:
            off, photo, side = worst
            more = f"（共 {count} 张照片时间不符）" if count > 1 else ""
            out.append(Flag(r.record_id, "PHOTO_TIME_MISMATCH", MEDIUM,
                            f"照片 {_photo_name(photo)} 拍摄于 {_dt(photo.exif_time)}，"
                            f"{side} {_num(off / 60)} 分钟{more}", photo_id=photo.photo_id))
    return out


def detect_photo_place_mismatch(records: Sequence[RecordFacts], thresholds: ThresholdPolicy = DEFAULT_THRESHOLDS) -> list[Flag]:
    """PHOTO_PLACE_MISMATCH: a photo was taken more than N km from the household.

    Measured from the household, else from the village centre; not from the position
    the worker typed in, which is what is being checked.
    """
    out = []
    for r in records:
        if not r.photos:
            continue
        if r.case_lat is not None and r.case_lon is not None:
            home, what = (r.case_lat, r.case_lon), "服务对象住址"
        elif r.village_lat is not None and r.village_lon is not None:
            home, what = (r.village_lat, r.village_lon), "所在村中心"
        else:
            continue
        limit = thresholds.for_contract(r.contract_id).photo_place_km
        worst: tuple[float, PhotoFacts] | None = None
        count = 0
        for photo in r.photos:
            if photo.exif_lat is None or photo.exif_lon is None:
                continue
            km = haversine_km(home[0], home[1], photo.exif_lat, photo.exif_lon)
            if km > limit:
                count += 1
                if worst is None or km > worst[0]:
                    worst = (km, photo)
        if worst is not None:
            km, photo = worst
            more = f"（共 {count} 张照片地点不符）" if count > 1 else ""
            out.append(Flag(r.record_id, "PHOTO_PLACE_MISMATCH", MEDIUM,
                            f"照片 {_photo_name(photo)} 拍摄地点距{what} {km:.1f} 公里，"
                            f"超过 {_num(limit)} 公里{more}", photo_id=photo.photo_id))
    return out


def detect_photo_no_metadata(records: Sequence[RecordFacts], thresholds: ThresholdPolicy = DEFAULT_THRESHOLDS) -> list[Flag]:
    """PHOTO_NO_METADATA: a photo has no EXIF time or no EXIF position."""
    out = []
    for r in records:
        missing = []
        for photo in r.photos:
            lacks = []
            if photo.exif_time is None:
                lacks.append("拍摄时间")
            if photo.exif_lat is None or photo.exif_lon is None:
                lacks.append("拍摄位置")
            if lacks:
                missing.append(f"照片 {_photo_name(photo)} 缺少{'和'.join(lacks)}")
        if missing:
            shown = "；".join(missing[:3]) + (f"；等共 {len(missing)} 张" if len(missing) > 3 else "")
            out.append(Flag(r.record_id, "PHOTO_NO_METADATA", LOW, shown))
    return out


def detect_evidence_missing(records: Sequence[RecordFacts], thresholds: ThresholdPolicy = DEFAULT_THRESHOLDS) -> list[Flag]:
    """EVIDENCE_MISSING: the type requires a photo and the record has none."""
    out = []
    for r in records:
        if not r.photos and r.service_type in catalogue.PHOTO_REQUIRED_CODES:
            out.append(Flag(r.record_id, "EVIDENCE_MISSING", MEDIUM,
                            f"{catalogue.BY_CODE[r.service_type].name_zh}须附现场照片，本记录没有照片"))
    return out


def detect_notes_copied(records: Sequence[RecordFacts], thresholds: ThresholdPolicy = DEFAULT_THRESHOLDS) -> list[Flag]:
    """NOTES_COPIED: the notes are the same text, give or take a few characters, as the
    notes of a record for another case of the same provider (走过场). Both records.

    Per provider: identical normalised texts are grouped first (a copy is usually exact);
    the distinct texts then go through the PassJoin index of ``textsim.similar_pairs``
    with the loosest thresholds of the provider's contracts; each record is confirmed
    with its own contract's. A text whose records all have a partner is not verified
    again, so a provider that pastes one text into ten thousand records costs about
    ten thousand steps, not fifty million.
    """
    policy = _all_thresholds(thresholds)
    global_min = min(t.notes_min_length for t in policy)
    cap = max(t.notes_max_edits for t in policy)
    by_provider: dict[Hashable, dict[str, list[RecordFacts]]] = defaultdict(lambda: defaultdict(list))
    candidates = [r for r in records if r.case_id is not None and len(r.notes) >= global_min]
    for r, text in zip(candidates, textsim.normalise_many([r.notes for r in candidates]), strict=True):
        if len(text) >= global_min and len(text) > cap:
            by_provider[r.provider_id][text].append(r)

    found: dict[Hashable, tuple[RecordFacts, RecordFacts, int]] = {}
    for groups in by_provider.values():
        _notes_copied_in_provider(groups, thresholds, cap, found)
    out = []
    for r, partner, distance in found.values():
        how = "相同" if distance == 0 else f"几乎相同（仅差 {distance} 个字）"
        out.append(Flag(r.record_id, "NOTES_COPIED", MEDIUM,
                        f"服务内容与另一户的台账 {partner.record_ref} {how}", partner.record_id))
    return out


def _notes_copied_in_provider(
    groups: dict[str, list[RecordFacts]],
    thresholds: ThresholdPolicy,
    cap: int,
    found: dict[Hashable, tuple[RecordFacts, RecordFacts, int]],
) -> None:
    """NOTES_COPIED within one provider: ``groups`` maps normalised text → its records."""
    policy = _all_thresholds(thresholds)
    texts = list(groups)
    # Up to two records of different cases per text: enough to give any record of the
    # text, or of a similar text, a partner that belongs to another case.
    reps: list[list[RecordFacts]] = []
    for text in texts:
        group = groups[text]
        first = group[0]
        second = next((x for x in group if x.case_id != first.case_id), None)
        reps.append([first] if second is None else [first, second])
    unsettled = [list(groups[text]) for text in texts]

    def settle(text_no: int, other_no: int, distance: int) -> None:
        keep = []
        la, lb = len(texts[text_no]), len(texts[other_no])
        for r in unsettled[text_no]:
            t = thresholds.for_contract(r.contract_id)
            partner = next((x for x in reps[other_no] if x.case_id != r.case_id), None)
            if (partner is not None and min(la, lb) >= t.notes_min_length
                    and distance <= t.notes_edits_allowed(la, lb)):
                found[r.record_id] = (r, partner, distance)
            else:
                keep.append(r)
        unsettled[text_no] = keep

    for n in range(len(texts)):
        if len(reps[n]) > 1:
            settle(n, n, 0)

    def loosest_edits(length_a: int, length_b: int) -> int:
        return max(t.notes_edits_allowed(length_a, length_b) for t in policy)

    def wanted(i: int, j: int) -> bool:
        # Nothing to learn from a pair whose records all have a partner already.
        return bool(unsettled[i] or unsettled[j])

    for i, j, distance in textsim.similar_pairs(texts, loosest_edits, cap, wanted):
        settle(i, j, distance)
        settle(j, i, distance)


def detect_late_entry(records: Sequence[RecordFacts], thresholds: ThresholdPolicy = DEFAULT_THRESHOLDS) -> list[Flag]:
    """LATE_ENTRY: submitted more than N days after the service ended."""
    out = []
    for r in records:
        days = (_ts(r.submitted_at) - r.end_s) / _DAY_S
        limit = thresholds.for_contract(r.contract_id).late_entry_days
        if days > limit:
            out.append(Flag(r.record_id, "LATE_ENTRY", LOW,
                            f"服务于 {_dt(r.ended_at)} 结束，{_dt(r.submitted_at)} 才填报，"
                            f"相隔 {_num(days)} 天，超过 {_num(limit)} 天"))
    return out


_INACTIVE = {"closed": "停保", "deceased": "死亡"}


def detect_case_inactive(records: Sequence[RecordFacts], thresholds: ThresholdPolicy = DEFAULT_THRESHOLDS) -> list[Flag]:
    """CASE_INACTIVE: the case was closed or deceased before the service started.

    The status change is a date, so a service on that same day is given the benefit of
    the doubt: only days after it count.
    """
    out = []
    for r in records:
        word = _INACTIVE.get(r.case_status or "")
        if word is None or r.case_status_changed_on is None:
            continue
        started_on = _local(r.started_at).date()
        if r.case_status_changed_on < started_on:
            out.append(Flag(r.record_id, "CASE_INACTIVE", HIGH,
                            f"服务对象已于 {r.case_status_changed_on.isoformat()} {word}，"
                            f"服务却于 {started_on.isoformat()} 开始"))
    return out


def detect_out_of_area(records: Sequence[RecordFacts], thresholds: ThresholdPolicy = DEFAULT_THRESHOLDS) -> list[Flag]:
    """OUT_OF_AREA: the case lives outside the contract's service area."""
    return [Flag(r.record_id, "OUT_OF_AREA", MEDIUM, "服务对象户籍所在村不在本合同的服务区域内")
            for r in records if r.case_in_area is False]


DETECTORS: dict[str, Callable[[Sequence[RecordFacts], ThresholdPolicy], list[Flag]]] = {
    "FLASH_SHORT": detect_flash_short,
    "FLASH_BURST": detect_flash_burst,
    "TIME_OVERLAP": detect_time_overlap,
    "TRAVEL_IMPOSSIBLE": detect_travel_impossible,
    "PHOTO_REUSED": detect_photo_reused,
    "PHOTO_TIME_MISMATCH": detect_photo_time_mismatch,
    "PHOTO_PLACE_MISMATCH": detect_photo_place_mismatch,
    "PHOTO_NO_METADATA": detect_photo_no_metadata,
    "EVIDENCE_MISSING": detect_evidence_missing,
    "NOTES_COPIED": detect_notes_copied,
    "LATE_ENTRY": detect_late_entry,
    "CASE_INACTIVE": detect_case_inactive,
    "OUT_OF_AREA": detect_out_of_area,
}


#: The detectors whose flags depend only on one provider's records (and its workers'):
#: every code but PHOTO_REUSED, which looks across the whole photo population.
LOCAL_CODES = tuple(code for code in DETECTORS if code != "PHOTO_REUSED")


def run_all(records: Sequence[RecordFacts], thresholds: ThresholdPolicy = DEFAULT_THRESHOLDS,
            codes: Iterable[str] | None = None) -> list[Flag]:
    """Every detector (or those of ``codes``) over ``records``; flags ordered by record and code.

    Pass every record that a pairwise check should see (a worker's other contracts,
    the provider's other records, the photos of the region): a flag needs its partner
    to be in the input.
    """
    flags: list[Flag] = []
    for code in DETECTORS if codes is None else codes:
        flags.extend(DETECTORS[code](records, thresholds))
    return _sorted(flags)


def sort_flags(flags: Iterable[Flag]) -> list[Flag]:
    """Flags in ``run_all``'s order (by record, then code)."""
    return _sorted(flags)


# --- Risk per record ------------------------------------------------------------------------

#: How much one flag of a severity says the service may not have been delivered.
SEVERITY_WEIGHT = {HIGH: 0.6, MEDIUM: 0.3, LOW: 0.1}


def risk_score(flags: Iterable[Flag]) -> float:
    """0-100 from the severities of one record's flags.

    ``100 * (1 - prod(1 - w))`` over the flags, with w = 0.6 / 0.3 / 0.1 for high /
    medium / low: each flag is independent evidence (a "noisy or"), so one high flag
    gives 60, a high and a medium 72, two lows 19; more flags always raise the score,
    never past 100, and no flag gives 0.
    """
    keep = 1.0
    for f in flags:
        keep *= 1 - SEVERITY_WEIGHT[f.severity]
    return round(100 * (1 - keep), 1)


def risk_scores(flags: Iterable[Flag]) -> dict[Hashable, float]:
    """``risk_score`` of every record that has flags."""
    per_record: dict[Hashable, list[Flag]] = defaultdict(list)
    for f in flags:
        per_record[f.record_id].append(f)
    return {record_id: risk_score(fs) for record_id, fs in per_record.items()}
