"""Disguised-hiring risk (变相"招聘合同工"): the indicators, the score and the level.

Pure: plain facts about one contract in, plain results out. The service gathers the
facts from the database; this module decides what they mean.

The score is the sum of the weights of the indicators that trigger (the weights add up
to 100), so a reader can check it by hand: nothing is hidden in a formula. A share
indicator triggers when its value reaches its threshold ("at or above"), except
CASE_LINK_RATIO, where a low value is the warning ("below"); a yes/no indicator triggers
when the answer is yes. An indicator without data (no records, no staff) does not
trigger and says so.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

#: Service types that are the purchaser's own daily work rather than a service to a household.
NON_CASE_TYPES = ("office_duty", "meeting", "training")
#: How many records, staff or people an indicator keeps as evidence (the counts are complete).
EVIDENCE_LIMIT = 200

ABOVE, BELOW, FLAG = "above", "below", "flag"


@dataclass(frozen=True)
class IndicatorSpec:
    code: str
    #: points added to the score when the indicator triggers
    weight: int
    #: "above": triggers at or above the threshold; "below": under it; "flag": when true
    direction: str
    default_threshold: float | bool


INDICATORS = (
    IndicatorSpec("CASE_LINK_RATIO", 15, BELOW, 0.6),
    IndicatorSpec("NON_CASE_WORK_SHARE", 15, ABOVE, 0.3),
    IndicatorSpec("OFFICE_LOCATION_SHARE", 15, ABOVE, 0.2),
    IndicatorSpec("PER_HEAD_PRICING", 15, FLAG, True),
    IndicatorSpec("PAYMENT_NOT_LINKED", 10, FLAG, True),
    IndicatorSpec("PURCHASER_NOMINATED_STAFF", 10, ABOVE, 0.2),
    IndicatorSpec("PURCHASER_ATTENDANCE", 10, ABOVE, 0.2),
    IndicatorSpec("STAFF_CARRYOVER", 10, ABOVE, 0.25),
)
SPECS = {spec.code: spec for spec in INDICATORS}
assert sum(spec.weight for spec in INDICATORS) == 100

LOW, MEDIUM, HIGH = "low", "medium", "high"

#: The settings and their defaults; app config HIRING_RISK and a contract's
#: ``thresholds["hiring"]`` override them key by key.
DEFAULT_SETTINGS: dict = {
    **{spec.code: spec.default_threshold for spec in INDICATORS},
    #: a record this close to a township or county office counts as placed at the office
    "OFFICE_RADIUS_M": 300,
    #: the score from which a contract is of medium, of high risk
    "LEVEL_MEDIUM": 25,
    "LEVEL_HIGH": 50,
}


def merge_settings(*layers: dict | None) -> dict:
    """Defaults, then each layer in turn; unknown keys and values of the wrong kind are ignored."""
    settings = dict(DEFAULT_SETTINGS)
    for layer in layers:
        for key, value in (layer or {}).items():
            if key not in settings:
                continue
            if isinstance(settings[key], bool):
                if isinstance(value, bool):
                    settings[key] = value
            elif isinstance(value, int | float) and not isinstance(value, bool):
                settings[key] = value
    return settings


# --- facts ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class RecordFact:
    id: int
    ref: str
    minutes: int
    has_case: bool
    service_type: str
    lat: float | None = None
    lon: float | None = None


@dataclass(frozen=True)
class Office:
    region_id: int
    name: str
    lat: float
    lon: float


@dataclass(frozen=True)
class StaffFact:
    id: int
    name: str
    id_number: str
    nominated: bool = False
    attendance: bool = False


@dataclass(frozen=True)
class EarlierStint:
    """A person's place on another provider's roster, and a contract that provider held."""

    staff_id: int
    id_number: str
    name: str
    provider_id: int
    provider_name: str
    hired_on: date | None
    left_on: date | None
    contract_id: int
    contract_no: str
    purchaser: str
    starts_on: date
    ends_on: date


@dataclass(frozen=True)
class ContractFacts:
    provider_id: int
    purchaser: str
    starts_on: date
    pricing_model: str
    payment_linked: bool
    records: list[RecordFact] = field(default_factory=list)
    offices: list[Office] = field(default_factory=list)
    staff: list[StaffFact] = field(default_factory=list)
    stints: list[EarlierStint] = field(default_factory=list)


# --- results -------------------------------------------------------------------------------

@dataclass
class Indicator:
    code: str
    value: float | bool | None
    threshold: float | bool
    triggered: bool
    weight: int
    #: the numbers the explanation is written from
    facts: dict = field(default_factory=dict)
    #: what a person checks: records, staff, offices, earlier contracts
    evidence: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"code": self.code, "value": self.value, "threshold": self.threshold, "triggered": self.triggered,
                "weight": self.weight, "facts": self.facts, "evidence": self.evidence}


@dataclass
class Assessment:
    score: int
    level: str
    indicators: list[Indicator]


def decide(spec: IndicatorSpec, value, threshold) -> bool:
    if value is None:
        return False
    if spec.direction == FLAG:
        return bool(value) and bool(threshold)
    if spec.direction == BELOW:
        return value < threshold
    return value >= threshold


def score_of(indicators: list[Indicator]) -> int:
    return sum(i.weight for i in indicators if i.triggered)


def level_of(score: int, settings: dict) -> str:
    if score >= settings["LEVEL_HIGH"]:
        return HIGH
    if score >= settings["LEVEL_MEDIUM"]:
        return MEDIUM
    return LOW


LEVEL_RANK = {LOW: 0, MEDIUM: 1, HIGH: 2}


def rose(previous: str | None, current: str) -> bool:
    """The level went up (a first assessment counts as rising from low)."""
    return LEVEL_RANK[current] > LEVEL_RANK[previous or LOW]


def _share(part: float, total: float) -> float | None:
    return part / total if total else None


def _records(records: list[RecordFact]) -> dict:
    shown = records[:EVIDENCE_LIMIT]
    return {"records": [[r.id, r.ref] for r in shown], "more": len(records) - len(shown)}


def _staff(staff: list[StaffFact]) -> list:
    return [[s.id, s.name] for s in staff[:EVIDENCE_LIMIT]]


def _indicator(code: str, value, settings: dict, facts=None, evidence=None) -> Indicator:
    spec = SPECS[code]
    threshold = settings[code]
    return Indicator(code, value, threshold, decide(spec, value, threshold), spec.weight, facts or {}, evidence or {})


# --- the indicators --------------------------------------------------------------------------

def case_link_ratio(records: list[RecordFact], settings: dict) -> Indicator:
    total = sum(r.minutes for r in records)
    linked = sum(r.minutes for r in records if r.has_case)
    unlinked = [r for r in records if not r.has_case]
    return _indicator("CASE_LINK_RATIO", _share(linked, total), settings,
                      {"hours": round(total / 60, 1), "part_hours": round(linked / 60, 1)}, _records(unlinked))


def non_case_work_share(records: list[RecordFact], settings: dict) -> Indicator:
    total = sum(r.minutes for r in records)
    office = [r for r in records if r.service_type in NON_CASE_TYPES]
    part = sum(r.minutes for r in office)
    by_type: dict[str, float] = defaultdict(float)
    for r in office:
        by_type[r.service_type] += r.minutes / 60
    return _indicator("NON_CASE_WORK_SHARE", _share(part, total), settings,
                      {"hours": round(total / 60, 1), "part_hours": round(part / 60, 1)},
                      {"hours_by_type": {k: round(v, 1) for k, v in sorted(by_type.items())}, **_records(office)})


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine on the mean earth radius)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    h = (math.sin((phi2 - phi1) / 2) ** 2
         + math.cos(phi1) * math.cos(phi2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * 6_371_008.8 * math.asin(min(1.0, math.sqrt(h)))


class OfficeIndex:
    """Offices in a grid of cells of about a kilometre, so a record is compared with a few only."""

    CELL = 0.01  # degrees; 300 m is well inside one cell and its neighbours

    def __init__(self, offices: list[Office]):
        self.cells: dict[tuple[int, int], list[Office]] = defaultdict(list)
        for office in offices:
            self.cells[self._cell(office.lat, office.lon)].append(office)

    def _cell(self, lat: float, lon: float) -> tuple[int, int]:
        return int(math.floor(lat / self.CELL)), int(math.floor(lon / self.CELL))

    def nearest_within(self, lat: float, lon: float, radius_m: float) -> tuple[Office, float] | None:
        reach = max(1, math.ceil(radius_m / 1000))
        ci, cj = self._cell(lat, lon)
        best = None
        for i in range(ci - reach, ci + reach + 1):
            for j in range(cj - reach, cj + reach + 1):
                for office in self.cells.get((i, j), ()):
                    d = distance_m(lat, lon, office.lat, office.lon)
                    if d <= radius_m and (best is None or d < best[1]):
                        best = (office, d)
        return best


def office_location_share(records: list[RecordFact], offices: list[Office], settings: dict) -> Indicator:
    radius = settings["OFFICE_RADIUS_M"]
    index = OfficeIndex(offices)
    placed = [r for r in records if r.lat is not None and r.lon is not None]
    at_office: list[RecordFact] = []
    per_office: dict[int, dict] = {}
    for r in placed:
        hit = index.nearest_within(r.lat, r.lon, radius)
        if hit is None:
            continue
        office, _d = hit
        at_office.append(r)
        entry = per_office.setdefault(office.region_id, {"region_id": office.region_id, "name": office.name,
                                                         "records": 0})
        entry["records"] += 1
    offices_hit = sorted(per_office.values(), key=lambda o: (-o["records"], o["name"]))
    return _indicator("OFFICE_LOCATION_SHARE", _share(len(at_office), len(placed)), settings,
                      {"records": len(placed), "part_records": len(at_office), "radius_m": radius,
                       "offices": [o["name"] for o in offices_hit]},
                      {"offices": offices_hit, **_records(at_office)})


def per_head_pricing(pricing_model: str, settings: dict) -> Indicator:
    return _indicator("PER_HEAD_PRICING", pricing_model == "per_head", settings, {"pricing_model": pricing_model})


def payment_not_linked(payment_linked: bool, settings: dict) -> Indicator:
    return _indicator("PAYMENT_NOT_LINKED", not payment_linked, settings)


def _staff_share(code: str, staff: list[StaffFact], chosen: list[StaffFact], settings: dict) -> Indicator:
    return _indicator(code, _share(len(chosen), len(staff)), settings,
                      {"staff": len(staff), "part_staff": len(chosen)}, {"staff": _staff(chosen)})


def purchaser_nominated_staff(staff: list[StaffFact], settings: dict) -> Indicator:
    return _staff_share("PURCHASER_NOMINATED_STAFF", staff, [s for s in staff if s.nominated], settings)


def purchaser_attendance(staff: list[StaffFact], settings: dict) -> Indicator:
    return _staff_share("PURCHASER_ATTENDANCE", staff, [s for s in staff if s.attendance], settings)


def normalise_id(id_number: str) -> str:
    return (id_number or "").strip().upper()


def normalise_purchaser(name: str) -> str:
    return "".join((name or "").split())


def carried_over(facts: ContractFacts) -> list[tuple[StaffFact, EarlierStint]]:
    """Staff who were on another provider's roster while it held an earlier contract of the same purchaser.

    The person is matched by ID number only, so a name written another way (马建国 / 马建囯)
    does not hide them. Of several such stints the latest contract is shown.
    """
    purchaser = normalise_purchaser(facts.purchaser)
    by_person: dict[str, list[EarlierStint]] = defaultdict(list)
    for stint in facts.stints:
        if (stint.provider_id != facts.provider_id and normalise_purchaser(stint.purchaser) == purchaser
                and stint.starts_on < facts.starts_on
                and (stint.hired_on is None or stint.hired_on <= stint.ends_on)
                and (stint.left_on is None or stint.left_on >= stint.starts_on)):
            by_person[normalise_id(stint.id_number)].append(stint)
    found = []
    for s in facts.staff:
        stints = by_person.get(normalise_id(s.id_number))
        if stints:
            found.append((s, max(stints, key=lambda st: (st.starts_on, st.contract_id))))
    return found


def staff_carryover(facts: ContractFacts, settings: dict) -> Indicator:
    found = carried_over(facts)
    people = [{"staff_id": s.id, "name": s.name, "earlier_staff_id": st.staff_id, "earlier_name": st.name,
               "earlier_provider": st.provider_name, "earlier_provider_id": st.provider_id,
               "earlier_contract_id": st.contract_id, "earlier_contract_no": st.contract_no}
              for s, st in found[:EVIDENCE_LIMIT]]
    return _indicator("STAFF_CARRYOVER", _share(len(found), len(facts.staff)), settings,
                      {"staff": len(facts.staff), "part_staff": len(found)}, {"people": people})


def assess(facts: ContractFacts, settings: dict | None = None) -> Assessment:
    settings = settings or dict(DEFAULT_SETTINGS)
    indicators = [
        case_link_ratio(facts.records, settings),
        non_case_work_share(facts.records, settings),
        office_location_share(facts.records, facts.offices, settings),
        per_head_pricing(facts.pricing_model, settings),
        payment_not_linked(facts.payment_linked, settings),
        purchaser_nominated_staff(facts.staff, settings),
        purchaser_attendance(facts.staff, settings),
        staff_carryover(facts, settings),
    ]
    score = score_of(indicators)
    return Assessment(score, level_of(score, settings), indicators)
