"""The hiring-risk rules on plain facts: each indicator on both sides of its threshold."""

from __future__ import annotations

from datetime import date

import pytest

from reliefsvc.hiring import rules

SETTINGS = rules.merge_settings()
OFFICE = rules.Office(1, "附城镇", 35.37, 103.70)


def record(n, minutes=60, case=True, type_code="home_visit", position=None):
    lat, lon = position if position else (None, None)
    return rules.RecordFact(n, f"R{n}", minutes, case, type_code, lat, lon)


def north_of_office(metres: float) -> tuple[float, float]:
    return OFFICE.lat + metres / 111_195, OFFICE.lon


def staff(n, nominated=False, attendance=False, id_number=None):
    return rules.StaffFact(n, f"人员{n}", id_number or f"62292219850101{n:03d}X", nominated, attendance)


def facts(**values):
    base = dict(provider_id=1, purchaser="康乐县民政局", starts_on=date(2026, 1, 1), pricing_model="output",
                payment_linked=True)
    return rules.ContractFacts(**{**base, **values})


@pytest.mark.parametrize("linked,unlinked,triggered", [(60, 40, False), (59, 41, True), (100, 0, False),
                                                         (0, 100, True)])
def test_case_link_ratio_warns_below_its_threshold(linked, unlinked, triggered):
    records = [r for r in (record(1, linked, True), record(2, unlinked, False)) if r.minutes]
    indicator = rules.case_link_ratio(records, SETTINGS)
    assert indicator.value == pytest.approx(linked / 100)
    assert indicator.triggered is triggered
    assert indicator.evidence["records"] == ([[2, "R2"]] if unlinked else [])


@pytest.mark.parametrize("office_minutes,triggered", [(30, True), (29, False)])
def test_non_case_work_share_triggers_at_its_threshold(office_minutes, triggered):
    records = [record(1, 100 - office_minutes), record(2, office_minutes, False, "office_duty")]
    indicator = rules.non_case_work_share(records, SETTINGS)
    assert indicator.triggered is triggered
    assert indicator.evidence["hours_by_type"] == {"office_duty": round(office_minutes / 60, 1)}


def test_meetings_and_training_count_as_non_case_work():
    records = [record(1, 50, False, "meeting"), record(2, 50, False, "training"), record(3, 100)]
    assert rules.non_case_work_share(records, SETTINGS).value == 0.5


@pytest.mark.parametrize("elsewhere,triggered", [(4, True), (5, False)])
def test_office_location_share_triggers_at_its_threshold(elsewhere, triggered):
    at_office = [record(1, position=north_of_office(50))]
    far = [record(10 + i, position=north_of_office(5000)) for i in range(elsewhere)]
    unplaced = [record(99)]  # no position: not counted either way
    indicator = rules.office_location_share(at_office + far + unplaced, [OFFICE], SETTINGS)
    assert indicator.value == pytest.approx(1 / (1 + elsewhere))
    assert indicator.triggered is triggered
    assert indicator.evidence["offices"] == [{"region_id": 1, "name": "附城镇", "records": 1}]
    assert indicator.evidence["records"] == [[1, "R1"]]


@pytest.mark.parametrize("metres,at_office", [(290, True), (310, False)])
def test_the_office_radius_is_300_metres(metres, at_office):
    indicator = rules.office_location_share([record(1, position=north_of_office(metres))], [OFFICE], SETTINGS)
    assert indicator.triggered is at_office


def test_the_radius_is_a_setting():
    settings = rules.merge_settings({"OFFICE_RADIUS_M": 500})
    assert rules.office_location_share([record(1, position=north_of_office(450))], [OFFICE], settings).triggered


def test_distance_is_right_at_county_scale():
    # one degree of latitude is about 111.2 km
    assert rules.distance_m(35.0, 103.0, 36.0, 103.0) == pytest.approx(111_195, rel=0.001)


@pytest.mark.parametrize("model,triggered", [("per_head", True), ("output", False), ("lump_sum", False)])
def test_per_head_pricing(model, triggered):
    assert rules.per_head_pricing(model, SETTINGS).triggered is triggered


@pytest.mark.parametrize("linked,triggered", [(False, True), (True, False)])
def test_payment_not_linked(linked, triggered):
    assert rules.payment_not_linked(linked, SETTINGS).triggered is triggered


@pytest.mark.parametrize("others,triggered", [(4, True), (5, False)])
def test_purchaser_nominated_and_attendance_trigger_at_their_thresholds(others, triggered):
    people = [staff(1, nominated=True, attendance=True)] + [staff(10 + i) for i in range(others)]
    nominated = rules.purchaser_nominated_staff(people, SETTINGS)
    attendance = rules.purchaser_attendance(people, SETTINGS)
    assert nominated.triggered is attendance.triggered is triggered
    assert nominated.evidence["staff"] == attendance.evidence["staff"] == [[1, "人员1"]]


def stint(id_number, **values):
    base = dict(staff_id=500, id_number=id_number, name="马 建国", provider_id=2, provider_name="惠民",
                hired_on=date(2024, 3, 1), left_on=date(2025, 10, 31), contract_id=7, contract_no="康民购〔2025〕2号",
                purchaser="康乐县民政局", starts_on=date(2025, 1, 1), ends_on=date(2025, 12, 31))
    return rules.EarlierStint(**{**base, **values})


@pytest.mark.parametrize("others,triggered", [(3, True), (4, False)])
def test_staff_carryover_triggers_at_its_threshold(others, triggered):
    moved = staff(1, id_number="62292219850101001x")  # the same person, a lower-case x and another spelling
    people = [moved] + [staff(10 + i) for i in range(others)]
    indicator = rules.staff_carryover(facts(staff=people, stints=[stint("62292219850101001X")]), SETTINGS)
    assert indicator.triggered is triggered
    [person] = indicator.evidence["people"]
    assert person["name"] == "人员1" and person["earlier_name"] == "马 建国" and person["earlier_contract_id"] == 7


@pytest.mark.parametrize("change", [
    {"provider_id": 1},  # the same provider's earlier contract: a provider keeping its people
    {"purchaser": "临夏州民政局"},  # another purchaser
    {"starts_on": date(2026, 1, 1), "ends_on": date(2026, 12, 31)},  # not earlier
    {"left_on": date(2024, 12, 31)},  # left before that contract began
    {"hired_on": date(2026, 1, 5)},  # joined after it ended
])
def test_what_is_not_carry_over(change):
    people = [staff(1, id_number="62292219850101001X")]
    assert rules.carried_over(facts(staff=people, stints=[stint("62292219850101001X", **change)])) == []


def test_purchaser_names_are_compared_without_spaces():
    people = [staff(1, id_number="62292219850101001X")]
    found = rules.carried_over(facts(staff=people, stints=[stint("62292219850101001X", purchaser=" 康乐县 民政局")]))
    assert len(found) == 1


def test_indicators_without_data_do_not_trigger():
    assessment = rules.assess(facts(), SETTINGS)
    assert assessment.score == 0 and assessment.level == rules.LOW
    shares = [i for i in assessment.indicators if rules.SPECS[i.code].direction != rules.FLAG]
    assert all(i.value is None and not i.triggered for i in shares)


def test_score_is_the_sum_of_weights_and_levels_follow_it():
    assert sum(s.weight for s in rules.INDICATORS) == 100
    only_pricing = rules.assess(facts(pricing_model="per_head"), SETTINGS)
    assert only_pricing.score == 15 and only_pricing.level == rules.LOW
    pricing_and_payment = rules.assess(facts(pricing_model="per_head", payment_linked=False), SETTINGS)
    assert pricing_and_payment.score == 25 and pricing_and_payment.level == rules.MEDIUM
    assert rules.level_of(49, SETTINGS) == rules.MEDIUM and rules.level_of(50, SETTINGS) == rules.HIGH


def test_settings_ignore_unknown_keys_and_wrong_kinds():
    settings = rules.merge_settings({"CASE_LINK_RATIO": 0.5, "NOPE": 1, "PER_HEAD_PRICING": "yes",
                                     "STAFF_CARRYOVER": True}, {"LEVEL_HIGH": 60})
    assert settings["CASE_LINK_RATIO"] == 0.5 and "NOPE" not in settings
    assert settings["PER_HEAD_PRICING"] is True and settings["STAFF_CARRYOVER"] == 0.25
    assert settings["LEVEL_HIGH"] == 60


def test_a_flag_threshold_of_false_switches_the_indicator_off():
    settings = rules.merge_settings({"PER_HEAD_PRICING": False})
    assert not rules.per_head_pricing("per_head", settings).triggered


def test_level_rises():
    assert rules.rose(None, rules.MEDIUM) and rules.rose(rules.LOW, rules.HIGH)
    assert not rules.rose(rules.HIGH, rules.HIGH) and not rules.rose(rules.HIGH, rules.MEDIUM)
    assert not rules.rose(None, rules.LOW)


def test_evidence_is_capped_but_counts_are_complete():
    records = [record(n, 10, False) for n in range(rules.EVIDENCE_LIMIT + 30)]
    indicator = rules.case_link_ratio(records, SETTINGS)
    assert len(indicator.evidence["records"]) == rules.EVIDENCE_LIMIT and indicator.evidence["more"] == 30
