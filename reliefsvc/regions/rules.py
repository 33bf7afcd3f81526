"""Rules of the region file: columns, code format, a consistent tree."""

from __future__ import annotations

import re

from reliefsvc.common.tabular import (
    Column,
    FieldError,
    Row,
    RowError,
    parse_choice,
    parse_float_range,
)

LEVEL_CHOICES = {"county": "县", "township": "乡镇", "village": "村"}
LEVEL_RANK = {"county": 0, "township": 1, "village": 2}
_CODE = re.compile(r"^\d{6,12}$")


def parse_code(text: str) -> str:
    if not _CODE.match(text):
        raise FieldError("应为 6 到 12 位数字", "must be 6 to 12 digits")
    return text


COLUMNS = [
    Column("code", "区划代码", required=True, parse=parse_code),
    Column("name", "名称", required=True),
    Column("level", "级别", required=True, parse=parse_choice(LEVEL_CHOICES)),
    Column("parent_code", "上级代码", parse=parse_code),
    Column("lat", "纬度", parse=parse_float_range(-90, 90, "纬度", "latitude")),
    Column("lon", "经度", parse=parse_float_range(-180, 180, "经度", "longitude")),
    Column("office_lat", "办公地纬度", parse=parse_float_range(-90, 90, "办公地纬度", "office latitude")),
    Column("office_lon", "办公地经度", parse=parse_float_range(-180, 180, "办公地经度", "office longitude")),
]


def check_tree(rows: list[Row], known_levels: dict[str, str]) -> tuple[list[Row], list[RowError]]:
    """Check codes and parents across the file and what is already stored.

    ``known_levels`` maps stored codes to their level. Returns the rows in an order in
    which every parent comes before its children, and the errors.
    """
    errors: list[RowError] = []
    first_seen: dict[str, int] = {}
    file_levels: dict[str, str] = {}
    for row in rows:
        code = row.values["code"]
        if code in first_seen:
            errors.append(RowError(row.number, "code", f"区划代码 {code} 与第 {first_seen[code]} 行重复",
                                   f"code {code} repeats row {first_seen[code]}"))
            continue
        first_seen[code] = row.number
        file_levels[code] = row.values["level"]

    good = []
    duplicates = {e.row for e in errors}
    for row in rows:
        if row.number in duplicates:
            continue
        v = row.values
        level, parent = v["level"], v["parent_code"]
        row_errors = []
        if level == "county":
            if parent:
                row_errors.append(RowError(row.number, "parent_code", "县级区划不应有上级代码",
                                           "a county has no parent"))
        elif not parent:
            row_errors.append(RowError(row.number, "parent_code", "上级代码不能为空（县级以外必填）",
                                       "parent_code is required below county level"))
        else:
            parent_level = file_levels.get(parent) or known_levels.get(parent)
            if parent_level is None:
                row_errors.append(RowError(row.number, "parent_code", f"上级代码 {parent} 不存在（文件和系统中都没有）",
                                           f"parent {parent} exists neither in the file nor in the platform"))
            elif LEVEL_RANK[parent_level] != LEVEL_RANK[level] - 1:
                row_errors.append(RowError(
                    row.number, "parent_code",
                    f"上级 {parent} 的级别是“{LEVEL_CHOICES[parent_level]}”，不能作为“{LEVEL_CHOICES[level]}”的上级",
                    f"parent {parent} is a {parent_level}, which cannot hold a {level}"))
        if (v["lat"] is None) != (v["lon"] is None):
            row_errors.append(RowError(row.number, "lat", "纬度和经度须同时填写", "lat and lon go together"))
        if (v["office_lat"] is None) != (v["office_lon"] is None):
            row_errors.append(RowError(row.number, "office_lat", "办公地纬度和经度须同时填写",
                                       "office_lat and office_lon go together"))
        errors.extend(row_errors)
        if not row_errors:
            good.append(row)
    good.sort(key=lambda r: (LEVEL_RANK[r.values["level"]], r.number))
    errors.sort(key=lambda e: (e.row, e.column or ""))
    return good, errors
