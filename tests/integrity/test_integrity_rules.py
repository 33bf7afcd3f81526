"""Each flag of spec/interchange.md: a record that gets it and a near miss that does not."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest

from reliefsvc.integrity import catalogue, rules
from reliefsvc.integrity.geo import haversine_km
from reliefsvc.integrity.rules import Flag, PerContract, Thresholds

TZ = rules.LOCAL_TZ


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def codes(flags, code):
    return {f.record_id: f for f in flags if f.code == code}


# --- catalogue -------------------------------------------------------------------------------


def test_catalogue_matches_the_spec():
    home = catalogue.BY_CODE["home_visit"]
    assert (home.name_zh, home.case_linked, home.field_work, home.min_minutes, home.photo_required) == (
        "入户走访", True, True, 15, True)
    assert catalogue.BY_CODE["office_duty"].min_minutes is None
    assert catalogue.BY_CODE["publicity"].case_linked is False
    assert catalogue.BY_CODE["publicity"].field_work is True
    assert not catalogue.BY_CODE["approval_decision"].purchasable
    assert "approval_decision" not in catalogue.PURCHASABLE_CODES
    assert len(catalogue.PURCHASABLE_CODES) == 11
    assert {"home_visit", "alert_check", "survey_assist", "care_service", "publicity"} == catalogue.FIELD_WORK_CODES


# --- FLASH_SHORT ------------------------------------------------------------------------------


def test_flash_short_under_the_minimum(make_record):
    short = make_record(minutes=14)
    enough = make_record(minutes=15)
    phone = make_record(service_type="phone_followup", minutes=1.5)
    duty = make_record(service_type="office_duty", minutes=1)
    flags = codes(rules.detect_flash_short([short, enough, phone, duty]), "FLASH_SHORT")
    assert set(flags) == {short.record_id, phone.record_id}
    assert "14 分钟" in flags[short.record_id].detail_zh
    assert "15 分钟" in flags[short.record_id].detail_zh
    assert "1.5 分钟" in flags[phone.record_id].detail_zh


# --- FLASH_BURST ----------------------------------------------------------------------------


def _day_of(make_record, count, worker, day="2026-03-05", service_type="home_visit"):
    start = local(f"{day} 07:00")
    return [make_record(start=(start + timedelta(minutes=40 * i)).strftime("%Y-%m-%d %H:%M"),
                        minutes=30, worker_id=worker, service_type=service_type)
            for i in range(count)]


def test_flash_burst_thirteen_field_records_in_a_day(make_record):
    busy = _day_of(make_record, 13, worker=1)
    fine = _day_of(make_record, 12, worker=2)
    office = _day_of(make_record, 5, worker=2, service_type="case_records")
    flags = codes(rules.detect_flash_burst(busy + fine + office), "FLASH_BURST")
    assert set(flags) == {r.record_id for r in busy}
    assert "13 条" in flags[busy[0].record_id].detail_zh
    assert "2026-03-05" in flags[busy[0].record_id].detail_zh


def test_flash_burst_counts_the_local_calendar_day(make_record):
    # 7 records late on the 5th and 7 early on the 6th (local): 14 within 24 hours, but
    # at most 7 on one Shanghai calendar day. In UTC they would all fall on the 5th.
    late = [make_record(start=f"2026-03-05 {16 + i // 2}:{(i % 2) * 30:02d}", minutes=20) for i in range(7)]
    early = [make_record(start=f"2026-03-06 0{i // 2}:{(i % 2) * 30:02d}", minutes=20) for i in range(7)]
    assert late[-1].started_at.astimezone(TZ).date() == date(2026, 3, 5)
    assert not rules.detect_flash_burst(late + early)


# --- TIME_OVERLAP -----------------------------------------------------------------------------


def test_time_overlap_of_six_minutes_flags_both(make_record):
    first = make_record(start="2026-03-05 09:00", minutes=30)
    second = make_record(start="2026-03-05 09:24", minutes=30)  # 6 minutes inside the first
    flags = codes(rules.detect_time_overlap([first, second]), "TIME_OVERLAP")
    assert set(flags) == {first.record_id, second.record_id}
    assert flags[first.record_id].related_record_id == second.record_id
    assert second.record_ref in flags[first.record_id].detail_zh
    assert first.record_ref in flags[second.record_id].detail_zh
    assert "6 分钟" in flags[second.record_id].detail_zh


def test_time_overlap_of_five_minutes_or_another_worker_is_fine(make_record):
    first = make_record(start="2026-03-05 09:00", minutes=30)
    second = make_record(start="2026-03-05 09:25", minutes=30)  # exactly 5 minutes
    other_worker = make_record(start="2026-03-05 09:05", minutes=30, worker_id=2)
    assert not rules.detect_time_overlap([first, second, other_worker])


def test_time_overlap_finds_a_long_record_spanning_many(make_record):
    # A record of the whole morning overlaps every short one inside it, even those that
    # start after an intermediate record has ended.
    day = make_record(start="2026-03-05 08:00", minutes=240, service_type="office_duty")
    short = [make_record(start=f"2026-03-05 {9 + i:02d}:00", minutes=20) for i in range(3)]
    flags = codes(rules.detect_time_overlap([day, *short]), "TIME_OVERLAP")
    assert set(flags) == {day.record_id} | {r.record_id for r in short}
    assert "20 分钟" in flags[day.record_id].detail_zh


def test_time_overlap_threshold_per_contract(make_record):
    first = make_record(start="2026-03-05 09:00", minutes=30, contract_id=7)
    second = make_record(start="2026-03-05 09:20", minutes=30, contract_id=7)  # 10 minutes
    strict = rules.detect_time_overlap([first, second])
    lenient = rules.detect_time_overlap(
        [first, second], PerContract(overrides={7: Thresholds(time_overlap_minutes=15)}))
    assert len(strict) == 2
    assert lenient == []


# --- TRAVEL_IMPOSSIBLE ---------------------------------------------------------------------


A = (35.370, 103.710)
B = (35.460, 103.710)  # about 10 km due north


def _pair(make_record, gap_seconds, b=B, **second):
    first = make_record(start="2026-03-05 09:00", minutes=30, lat=A[0], lon=A[1])
    start = first.ended_at + timedelta(seconds=gap_seconds)
    later = make_record(start=start.astimezone(TZ).strftime("%Y-%m-%d %H:%M:%S"), minutes=30,
                        lat=b[0], lon=b[1], **second)
    return first, later


def test_travel_just_over_sixty_km_per_hour(make_record):
    km = haversine_km(*A, *B)
    first, later = _pair(make_record, km * 60 - 30)  # 60 km/h would need km minutes
    flags = codes(rules.detect_travel_impossible([later, first]), "TRAVEL_IMPOSSIBLE")
    assert set(flags) == {later.record_id}
    detail = flags[later.record_id].detail_zh
    assert first.record_ref in detail
    assert f"{km:.1f} 公里" in detail
    speed = km / ((later.started_at - first.ended_at).total_seconds() / 3600)
    assert 60 < speed < 64
    assert f"需时速 {speed:.0f} 公里/小时" in detail
    assert flags[later.record_id].related_record_id == first.record_id


def test_travel_just_under_sixty_km_per_hour(make_record):
    km = haversine_km(*A, *B)
    assert not rules.detect_travel_impossible(_pair(make_record, km * 60 + 30))


def test_travel_with_no_gap_is_impossible_but_not_within_one_km(make_record):
    far = _pair(make_record, 0)
    close_by = (A[0] + 0.008, A[1])
    assert haversine_km(*A, *close_by) < 1
    near = [replace(r, worker_id=2) for r in _pair(make_record, -600, b=close_by)]  # overlapping
    flags = codes(rules.detect_travel_impossible([*far, *near]), "TRAVEL_IMPOSSIBLE")
    assert set(flags) == {far[1].record_id}
    assert "前就已开始" in flags[far[1].record_id].detail_zh
    assert far[0].record_ref in flags[far[1].record_id].detail_zh


def test_travel_position_falls_back_to_household_then_village(make_record):
    first = make_record(start="2026-03-05 09:00", minutes=30, lat=None, lon=None,
                        case_lat=A[0], case_lon=A[1])
    later = make_record(start="2026-03-05 09:35", minutes=30, lat=None, lon=None,
                        case_lat=None, case_lon=None, village_lat=B[0], village_lon=B[1])
    phone = make_record(start="2026-03-05 09:31", minutes=2, service_type="phone_followup",
                        lat=B[0], lon=B[1])  # not field work: not a stop on the route
    flags = codes(rules.detect_travel_impossible([first, later, phone]), "TRAVEL_IMPOSSIBLE")
    assert set(flags) == {later.record_id}
    assert "120 公里/小时" in flags[later.record_id].detail_zh


# --- photos: time, place, metadata, evidence -------------------------------------------------


def test_photo_time_more_than_sixty_minutes_outside(make_record, make_photo):
    start = local("2026-03-05 09:00")
    early = make_record(photos=[make_photo(photo_id="早", exif_time=start - timedelta(minutes=61))])
    late = make_record(photos=[make_photo(photo_id="晚", exif_time=start + timedelta(minutes=30 + 75))])
    edge = make_record(photos=[make_photo(exif_time=start - timedelta(minutes=60)),
                               make_photo(exif_time=start + timedelta(minutes=90))])
    flags = codes(rules.detect_photo_time_mismatch([early, late, edge]), "PHOTO_TIME_MISMATCH")
    assert set(flags) == {early.record_id, late.record_id}
    assert "照片 早" in flags[early.record_id].detail_zh
    assert "早于服务开始 61 分钟" in flags[early.record_id].detail_zh
    assert "晚于服务结束 75 分钟" in flags[late.record_id].detail_zh


def test_photo_place_more_than_three_km_from_home(make_record, make_photo):
    home = (35.372, 103.712)
    far = make_record(photos=[make_photo(photo_id="远", exif_lat=home[0] + 0.029, exif_lon=home[1])])
    near = make_record(photos=[make_photo(exif_lat=home[0] + 0.025, exif_lon=home[1])])
    no_home = make_record(case_lat=None, case_lon=None, village_lat=home[0] - 0.03, village_lon=home[1],
                          photos=[make_photo(photo_id="村", exif_lat=home[0], exif_lon=home[1])])
    assert haversine_km(*home, home[0] + 0.029, home[1]) > 3 > haversine_km(*home, home[0] + 0.025, home[1])
    flags = codes(rules.detect_photo_place_mismatch([far, near, no_home]), "PHOTO_PLACE_MISMATCH")
    assert set(flags) == {far.record_id, no_home.record_id}
    assert "照片 远" in flags[far.record_id].detail_zh
    assert "服务对象住址 3.2 公里" in flags[far.record_id].detail_zh
    assert "村中心 3.3 公里" in flags[no_home.record_id].detail_zh


def test_photo_without_time_or_position(make_record, make_photo):
    no_time = make_record(photos=[make_photo(photo_id="甲", exif_time=None)])
    no_place = make_record(photos=[make_photo(photo_id="乙", exif_lat=None, exif_lon=None)])
    complete = make_record()
    no_photo = make_record(service_type="phone_followup", photos=())
    flags = codes(rules.detect_photo_no_metadata([no_time, no_place, complete, no_photo]), "PHOTO_NO_METADATA")
    assert set(flags) == {no_time.record_id, no_place.record_id}
    assert flags[no_time.record_id].detail_zh == "照片 甲 缺少拍摄时间"
    assert flags[no_place.record_id].detail_zh == "照片 乙 缺少拍摄位置"


def test_evidence_missing_only_where_a_photo_is_required(make_record):
    visit = make_record(photos=())
    phone = make_record(service_type="phone_followup", photos=())
    with_photo = make_record()
    flags = codes(rules.detect_evidence_missing([visit, phone, with_photo]), "EVIDENCE_MISSING")
    assert set(flags) == {visit.record_id}
    assert "入户走访" in flags[visit.record_id].detail_zh


# --- NOTES_COPIED --------------------------------------------------------------------------

NOTE = "今日入户走访王秀英家，老人身体状况良好，生活物资充足，已提醒冬季注意取暖安全。"


def test_notes_copied_give_or_take_a_few_characters(make_record):
    original = make_record(notes=NOTE, case_id=1)
    copy = make_record(notes=NOTE.replace("王秀英", "李桂兰"), case_id=2)  # 3 characters
    flags = codes(rules.detect_notes_copied([original, copy]), "NOTES_COPIED")
    assert set(flags) == {original.record_id, copy.record_id}
    assert copy.record_ref in flags[original.record_id].detail_zh
    assert "3 个字" in flags[original.record_id].detail_zh
    assert flags[copy.record_id].related_record_id == original.record_id


def test_notes_copied_ignores_punctuation_and_spaces(make_record):
    original = make_record(notes=NOTE, case_id=1)
    copy = make_record(notes=NOTE.replace("，", " ").replace("。", "!"), case_id=2)
    flags = codes(rules.detect_notes_copied([original, copy]), "NOTES_COPIED")
    assert "相同" in flags[copy.record_id].detail_zh


def test_notes_near_misses(make_record):
    base = make_record(notes=NOTE, case_id=1)
    same_case = make_record(notes=NOTE, case_id=1)
    other_provider = make_record(notes=NOTE, case_id=3, provider_id=2)
    no_case = make_record(notes=NOTE, case_id=None, service_type="publicity")
    rewritten = make_record(notes=NOTE.replace("老人身体状况良好", "老人腿脚不便需轮椅"), case_id=4)
    assert not rules.detect_notes_copied([base, same_case, other_provider, no_case, rewritten])


def test_notes_of_nineteen_characters_are_too_short(make_record):
    short = "入户走访了解情况老人身体良好无其他诉求"  # 19
    assert len(short) == 19
    assert not rules.detect_notes_copied([make_record(notes=short, case_id=1),
                                          make_record(notes=short, case_id=2)])
    twenty = short + "好"
    assert len(rules.detect_notes_copied([make_record(notes=twenty, case_id=1),
                                          make_record(notes=twenty, case_id=2)])) == 2


def test_short_notes_allow_fewer_edits(make_record):
    text = "入户走访了解家庭情况老人身体良好无其他诉求"  # 21 characters: 15 % is 3 edits
    four_off = "入户走访了解家中近况老人身体健康无其他诉求"
    three_off = "入户走访了解家中近况老人身体良好无其他诉求"
    assert not rules.detect_notes_copied([make_record(notes=text, case_id=1),
                                          make_record(notes=four_off, case_id=2)])
    assert rules.detect_notes_copied([make_record(notes=text, case_id=1),
                                      make_record(notes=three_off, case_id=2)])


def test_notes_pasted_into_many_records_all_flagged(make_record):
    records = [make_record(notes=NOTE, case_id=i % 40) for i in range(200)]
    records.append(make_record(notes=NOTE[:-3] + "请放心", case_id=99))
    assert len(rules.detect_notes_copied(records)) == 201


# --- LATE_ENTRY, CASE_INACTIVE, OUT_OF_AREA ----------------------------------------------------


def test_late_entry_more_than_seven_days(make_record):
    late = make_record()
    late = replace(late, submitted_at=late.ended_at + timedelta(days=7, minutes=1))
    on_time = make_record()
    on_time = replace(on_time, submitted_at=on_time.ended_at + timedelta(days=7))
    flags = codes(rules.detect_late_entry([late, on_time]), "LATE_ENTRY")
    assert set(flags) == {late.record_id}
    assert "相隔 7 天" in flags[late.record_id].detail_zh
    assert "2026-03-12" in flags[late.record_id].detail_zh


def test_case_closed_or_deceased_before_the_service(make_record):
    deceased = make_record(case_status="deceased", case_status_changed_on=date(2026, 3, 4))
    same_day = make_record(case_status="closed", case_status_changed_on=date(2026, 3, 5))
    suspended = make_record(case_status="suspended", case_status_changed_on=date(2026, 1, 1))
    flags = codes(rules.detect_case_inactive([deceased, same_day, suspended]), "CASE_INACTIVE")
    assert set(flags) == {deceased.record_id}
    assert flags[deceased.record_id].detail_zh == "服务对象已于 2026-03-04 死亡，服务却于 2026-03-05 开始"


def test_out_of_area_only_when_known(make_record):
    outside = make_record(case_in_area=False)
    unknown = make_record(case_in_area=None, case_id=None, service_type="publicity")
    inside = make_record()
    assert [f.record_id for f in rules.detect_out_of_area([outside, unknown, inside])] == [outside.record_id]


# --- run_all and risk -----------------------------------------------------------------------


def test_run_all_one_flag_per_record_and_code(make_record):
    a = make_record(start="2026-03-05 09:00", minutes=10, photos=(), case_in_area=False)
    b = make_record(start="2026-03-05 09:00", minutes=30)
    c = make_record(start="2026-03-05 09:00", minutes=30)
    flags = rules.run_all([a, b, c])
    per_record = {}
    for f in flags:
        assert (f.record_id, f.code) not in per_record
        per_record[(f.record_id, f.code)] = f
    assert {code for rid, code in per_record if rid == a.record_id} == {
        "FLASH_SHORT", "EVIDENCE_MISSING", "OUT_OF_AREA", "TIME_OVERLAP"}
    assert flags == sorted(flags, key=lambda f: (str(f.record_id), f.code))
    assert set(rules.DETECTORS) == {
        "FLASH_SHORT", "FLASH_BURST", "TIME_OVERLAP", "TRAVEL_IMPOSSIBLE", "PHOTO_REUSED",
        "PHOTO_TIME_MISMATCH", "PHOTO_PLACE_MISMATCH", "PHOTO_NO_METADATA", "EVIDENCE_MISSING",
        "NOTES_COPIED", "LATE_ENTRY", "CASE_INACTIVE", "OUT_OF_AREA"}


def test_a_clean_record_has_no_flag(make_record):
    assert rules.run_all([make_record(notes=NOTE)]) == []


@pytest.mark.parametrize(("severities", "score"), [
    ((), 0.0),
    (("high",), 60.0),
    (("high", "medium"), 72.0),
    (("low", "low"), 19.0),
    (("high",) * 10, 100.0),
])
def test_risk_score(severities, score):
    flags = [Flag(1, f"C{i}", s, "") for i, s in enumerate(severities)]
    assert rules.risk_score(flags) == score
    assert 0 <= rules.risk_score(flags) <= 100


def test_risk_scores_per_record():
    flags = [Flag(1, "A", "high", ""), Flag(1, "B", "medium", ""), Flag(2, "A", "low", "")]
    assert rules.risk_scores(flags) == {1: 72.0, 2: 10.0}
