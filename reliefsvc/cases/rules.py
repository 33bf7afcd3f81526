"""Rules of the case file and of monitoring alerts. Pure: plain data in, plain data out.

What an import row says about alerts (``alert_level``, ``alert_issued_at``):

- empty: the file says nothing about alerts; the household's alerts stay as they are;
- ``none`` (无): the monitoring system has lifted the alert; an open alert is closed
  (its deadline and whether a check came in time stay on record);
- a level: the alert the monitoring system has issued. An alert is known by its level and
  issue time, so the same line imported again changes nothing, also after the alert was
  checked and cleared. A new alert is recorded when the household had none open, or when
  the level is raised, or when the same level was issued anew (a later time); it
  supersedes the open one. A lower level, or an issue time no later than the newest
  alert already recorded, is kept out: the door-to-door check of the higher alert is
  still owed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from reliefsvc.common import idnumber
from reliefsvc.common.tabular import (
    Column,
    FieldError,
    Row,
    RowError,
    parse_choice,
    parse_date,
    parse_float_range,
    parse_int,
    parse_time,
)

CATEGORY_CHOICES = {"dibao": "低保", "tekun": "特困", "linshi": "临时救助", "bianyuan": "低保边缘", "jiance": "监测对象"}
STATUS_CHOICES = {"active": "正常", "suspended": "暂停", "closed": "停保", "deceased": "死亡"}
ALERT_CHOICES = {"none": "无", "yellow": "黄", "orange": "橙", "red": "红"}
ALERT_RANK = {"yellow": 1, "orange": 2, "red": 3}
ALERT_WORDS = {"yellow": "黄色", "orange": "橙色", "red": "红色"}
#: Hours to the door-to-door check after an alert; the setting ALERT_DEADLINE_HOURS overrides.
DEFAULT_DEADLINE_HOURS = {"red": 24, "orange": 72, "yellow": 168}
#: A clerk's clock may run a little ahead of the server's.
FUTURE_TOLERANCE = timedelta(minutes=10)

KEEP, LIFT, ISSUE = "keep", "lift", "issue"

_REF = re.compile(r"^[0-9A-Za-z][0-9A-Za-z_-]{0,39}$")
_VILLAGE_CODE = re.compile(r"^\d{6,12}$")
_SEPARATORS = re.compile(r"[;；、,，]")
_CATEGORY = parse_choice(CATEGORY_CHOICES)
_ALERT = parse_choice(ALERT_CHOICES)


def parse_case_ref(text: str) -> str:
    if not _REF.match(text):
        raise FieldError("户编号只能由字母、数字、“-”和“_”组成，最长 40 位",
                         "a case_ref has up to 40 letters, digits, '-' or '_'")
    return text


def parse_head_name(text: str) -> str:
    if len(text) > 50:
        raise FieldError("姓名最长 50 个字", "a name has at most 50 characters")
    return text


def parse_id_number(text: str) -> str:
    try:
        return idnumber.validate(text)
    except idnumber.IdNumberError as exc:
        raise FieldError(exc.zh, exc.en) from None


def parse_village_code(text: str) -> str:
    if not _VILLAGE_CODE.match(text):
        raise FieldError("应为 6 到 12 位数字", "must be 6 to 12 digits")
    return text


def parse_categories(text: str) -> tuple[str, ...]:
    """``dibao;tekun`` or ``低保；特困`` (also 、 and commas, as clerks write them), in catalogue order."""
    parts = [p.strip() for p in _SEPARATORS.split(text) if p.strip()]
    if not parts:
        raise FieldError("至少填写一个救助类别", "at least one category is required")
    codes = {_CATEGORY(p) for p in parts}
    return tuple(code for code in CATEGORY_CHOICES if code in codes)


def parse_alert_level(text: str) -> str:
    """``red`` or 红; 红色 and 红色预警 are read as 红 too."""
    word = text.strip()
    word = word.removesuffix("预警")
    if len(word) == 2 and word.endswith("色"):
        word = word[0]
    return _ALERT(word or text)


COLUMNS = [
    Column("case_ref", "户编号", required=True, parse=parse_case_ref),
    Column("head_name", "户主姓名", required=True, parse=parse_head_name),
    Column("id_number", "身份证号", required=True, parse=parse_id_number),
    Column("village_code", "村代码", required=True, parse=parse_village_code),
    Column("categories", "救助类别", required=True, parse=parse_categories),
    Column("household_size", "家庭人口", required=True, parse=parse_int(1)),
    Column("status", "状态", parse=parse_choice(STATUS_CHOICES)),
    Column("status_changed_on", "状态变更日期", parse=parse_date),
    Column("alert_level", "预警等级", parse=parse_alert_level),
    Column("alert_issued_at", "预警时间", parse=parse_time),
    Column("lat", "纬度", parse=parse_float_range(-90, 90, "纬度", "latitude")),
    Column("lon", "经度", parse=parse_float_range(-180, 180, "经度", "longitude")),
]


@dataclass(frozen=True)
class IdOwner:
    """The household whose head holds an ID number already."""

    case_ref: str
    #: A discovered household under its provisional number: the file may name it by its official one.
    discovered: bool


@dataclass
class Checked:
    good: list[Row]
    errors: list[RowError]
    #: row number -> provisional case_ref of the discovered household the row names by its official number
    adopt: dict[int, str] = field(default_factory=dict)


def check_rows(rows: Iterable[Row], *, village_levels: Mapping[str, str], id_owners: Mapping[str, IdOwner],
               known_refs: Iterable[str], today: date, now: datetime) -> Checked:
    """Check each parsed row against the others and against what the platform holds.

    ``village_levels`` maps region codes to their level, ``id_owners`` head ID numbers to
    the household that has them, ``known_refs`` the stored case_refs among the file's.
    """
    rows = list(rows)
    known_refs = set(known_refs)
    file_refs = {r.values["case_ref"] for r in rows}
    seen_refs: dict[str, int] = {}
    seen_numbers: dict[str, int] = {}
    checked = Checked([], [])
    for row in rows:
        v, number = row.values, row.number
        errors: list[RowError] = []

        def error(column: str, zh: str, en: str, _errors=errors, _row=number) -> None:
            _errors.append(RowError(_row, column, zh, en))

        ref, id_number, code = v["case_ref"], v["id_number"], v["village_code"]
        if ref in seen_refs:
            error("case_ref", f"户编号 {ref} 与第 {seen_refs[ref]} 行重复", f"case_ref {ref} repeats row {seen_refs[ref]}")
        seen_refs.setdefault(ref, number)
        if id_number in seen_numbers:
            error("id_number", f"身份证号与第 {seen_numbers[id_number]} 行重复",
                  f"id_number repeats row {seen_numbers[id_number]}")
        seen_numbers.setdefault(id_number, number)

        level = village_levels.get(code)
        if level is None:
            error("village_code", f"村代码 {code} 不存在", f"village {code} does not exist")
        elif level != "village":
            error("village_code", f"区划 {code} 不是村级区划", f"region {code} is not a village")

        status = v["status"] or "active"
        changed_on = v["status_changed_on"]
        if status != "active" and changed_on is None:
            error("status_changed_on", "状态不是“正常”时须填写状态变更日期",
                  "status_changed_on is required unless the status is active")
        if changed_on is not None and changed_on > today:
            error("status_changed_on", "状态变更日期不能晚于今天", "status_changed_on lies in the future")

        alert, issued_at = v["alert_level"], v["alert_issued_at"]
        if alert in ALERT_RANK and issued_at is None:
            error("alert_issued_at", "填写了预警等级时须填写预警时间", "alert_issued_at is required when an alert level is set")
        if issued_at is not None and issued_at > now + FUTURE_TOLERANCE:
            error("alert_issued_at", "预警时间不能晚于现在", "alert_issued_at lies in the future")

        if (v["lat"] is None) != (v["lon"] is None):
            error("lat", "纬度和经度须同时填写", "lat and lon go together")

        owner = id_owners.get(id_number)
        if owner is not None and owner.case_ref != ref:
            if owner.discovered and ref not in known_refs and owner.case_ref not in file_refs:
                checked.adopt[number] = owner.case_ref
            else:
                error("id_number", f"该身份证号已是户编号 {owner.case_ref} 的户主",
                      f"this ID number is the head of case {owner.case_ref}")

        checked.errors.extend(errors)
        if not errors:
            checked.good.append(row)
    for number in {e.row for e in checked.errors}:
        checked.adopt.pop(number, None)
    checked.errors.sort(key=lambda e: (e.row, e.column or ""))
    return checked


# --- alerts -------------------------------------------------------------------------------

def deadline_hours(settings: Mapping[str, float] | None) -> dict[str, float]:
    """The deadline of each level, the settings over the defaults; each must be positive."""
    hours = {**DEFAULT_DEADLINE_HOURS, **(settings or {})}
    for level, value in hours.items():
        if not float(value) > 0:
            raise ValueError(f"ALERT_DEADLINE_HOURS[{level!r}] must be a positive number of hours")
    return hours


def due_at(level: str, issued_at: datetime, hours: Mapping[str, float]) -> datetime:
    """When the door-to-door check of an alert issued at ``issued_at`` is due."""
    return issued_at + timedelta(hours=float(hours[level]))


def alert_action(level: str | None, issued_at: datetime | None, *, known: set[tuple[str, datetime]],
                 latest_issued_at: datetime | None, open_level: str | None) -> str:
    """What an import row does to a household's alerts: KEEP, LIFT or ISSUE (see the module note)."""
    if level is None:
        return KEEP
    if level == "none":
        return LIFT if open_level is not None else KEEP
    if (level, issued_at) in known:
        return KEEP
    if latest_issued_at is not None and issued_at <= latest_issued_at:
        return KEEP
    if open_level is not None and ALERT_RANK[level] < ALERT_RANK[open_level]:
        return KEEP
    return ISSUE


def provisional_ref(day: date, sequence: int) -> str:
    """The number of a discovered household until the assistance system gives it one: FX202611270001."""
    return f"FX{day:%Y%m%d}{sequence:04d}"


def hours_left(due: datetime, now: datetime) -> float:
    """Hours until ``due``; negative when overdue."""
    return (due - now).total_seconds() / 3600
