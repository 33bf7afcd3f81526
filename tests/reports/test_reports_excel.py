"""Excel ledgers: read back with openpyxl as a clerk's Excel would see them."""

from __future__ import annotations

import gc
import io
import weakref
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import openpyxl
import pytest

from reliefsvc.reports.excel import LedgerColumn, LedgerValueError, display_width, write_ledger

COLUMNS = [
    LedgerColumn("provider", "承接主体", "text"),
    LedgerColumn("id_number", "身份证号", "text"),
    LedgerColumn("visits", "服务次数", "int"),
    LedgerColumn("amount", "金额（元）", "money"),
    LedgerColumn("served_on", "服务日期", "date"),
    LedgerColumn("checked_in", "签到时间", "datetime"),
    LedgerColumn("share", "完成率", "percent"),
    LedgerColumn("note", "备注", "text", width=30),
]

ROW = {
    "provider": "康乐县夕阳红居家养老服务中心",
    "id_number": "622922195001011234",
    "visits": 12,
    "amount": Decimal("1234.565"),
    "served_on": date(2026, 3, 1),
    # 01:30 UTC is 09:30 in Kangle (Asia/Shanghai)
    "checked_in": datetime(2026, 3, 1, 1, 30, tzinfo=UTC),
    "share": Decimal("0.875"),
    "note": "=HYPERLINK(\"http://example.com\",\"点击\")",
}
EMPTY = dict.fromkeys(ROW)


def read_back(data: bytes):
    return openpyxl.load_workbook(io.BytesIO(data)).active


def write(rows, **kwargs) -> bytes:
    buffer = io.BytesIO()
    write_ledger(buffer, COLUMNS, rows, **{"sheet_title": "服务台账", **kwargs})
    return buffer.getvalue()


def test_header_is_chinese_bold_frozen_and_filtered():
    sheet = read_back(write([ROW, EMPTY]))

    assert sheet.title == "服务台账"
    header = [cell.value for cell in sheet[1]]
    assert header == ["承接主体", "身份证号", "服务次数", "金额（元）", "服务日期", "签到时间", "完成率", "备注"]
    assert all(cell.font.bold for cell in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:H3"
    assert sheet.print_title_rows == "$1:$1"


def test_cells_are_typed_and_formatted():
    sheet = read_back(write([ROW, EMPTY]))
    provider, id_number, visits, amount, served_on, checked_in, share, note = sheet[2]

    assert provider.value == "康乐县夕阳红居家养老服务中心" and provider.data_type == "s"
    # an ID number stays text: all 18 digits, no 6.22922E+17
    assert id_number.value == "622922195001011234" and id_number.data_type == "s"
    assert visits.value == 12 and isinstance(visits.value, int)
    assert amount.value == pytest.approx(1234.57)  # rounded half up to the fen
    assert amount.data_type == "n" and amount.number_format == "#,##0.00"
    assert isinstance(served_on.value, datetime) and served_on.is_date
    assert served_on.value == datetime(2026, 3, 1) and served_on.number_format == "yyyy-mm-dd"
    assert checked_in.value == datetime(2026, 3, 1, 9, 30)
    assert checked_in.is_date and checked_in.number_format == "yyyy-mm-dd hh:mm"
    assert share.value == pytest.approx(0.875) and share.number_format == "0.00%"
    # user text beginning with "=" is stored as text, never as a formula
    assert note.data_type == "s" and note.value == ROW["note"]

    assert [cell.value for cell in sheet[3]] == [None] * 8


def test_error_codes_and_control_characters_stay_harmless_text():
    rows = [{**EMPTY, "provider": "#N/A", "note": "第一行\x0b第二行\x00"}]
    provider, *_, note = read_back(write(rows))[2]
    assert provider.value == "#N/A" and provider.data_type == "s"
    assert note.value == "第一行第二行"


def test_widths_count_chinese_double_and_honour_explicit_widths():
    sheet = read_back(write([ROW]))
    widths = {letter: dim.width for letter, dim in sheet.column_dimensions.items()}

    assert display_width("康乐县夕阳红居家养老服务中心") == 28
    assert widths["A"] == 28 + 2  # the widest value, CJK counted double, plus padding
    assert widths["B"] == 18 + 2
    assert widths["C"] >= display_width("服务次数") + 2 == 10
    assert widths["E"] >= 12 and widths["F"] >= 17  # a whole date and time show
    assert widths["H"] == 30


def test_title_row_sits_above_the_header_which_stays_frozen():
    sheet = read_back(write([ROW], title="康乐县 2026 年 3 月服务台账"))

    assert sheet["A1"].value == "康乐县 2026 年 3 月服务台账" and sheet["A1"].font.bold
    assert [str(r) for r in sheet.merged_cells.ranges] == ["A1:H1"]
    assert sheet["A2"].value == "承接主体"
    assert sheet.freeze_panes == "A3"
    assert sheet.auto_filter.ref == "A2:H3"
    assert sheet["D3"].number_format == "#,##0.00"


def test_rows_may_be_objects_and_the_count_is_returned():
    @dataclass
    class Visit:
        provider: str
        visits: int

    columns = [LedgerColumn("provider", "承接主体"), LedgerColumn("visits", "服务次数", "int")]
    buffer = io.BytesIO()
    count = write_ledger(buffer, columns, [Visit("甲", 1), Visit("乙", 2)], sheet_title="台账")
    assert count == 2
    sheet = read_back(buffer.getvalue())
    assert [[c.value for c in row] for row in sheet.iter_rows(min_row=2)] == [["甲", 1], ["乙", 2]]


def test_a_value_of_the_wrong_kind_names_its_row_and_column():
    rows = [ROW, {**ROW, "amount": "一千元"}]
    with pytest.raises(LedgerValueError, match=r"row 3: amount: str '一千元' is not a money value"):
        write(rows)


@pytest.mark.parametrize(("kind", "value"), [
    ("int", 1.5), ("int", True), ("money", float("nan")), ("date", "2026-03-01"),
    ("datetime", 1700000000), ("percent", "87%"),
])
def test_values_that_do_not_fit_are_refused(kind, value):
    with pytest.raises(LedgerValueError):
        write_ledger(io.BytesIO(), [LedgerColumn("v", "值", kind)], [{"v": value}], sheet_title="x")


def test_unknown_kinds_are_refused_when_the_column_is_declared():
    with pytest.raises(ValueError):
        LedgerColumn("v", "值", "currency")


def test_sheet_titles_are_made_acceptable_to_excel():
    data = io.BytesIO()
    write_ledger(data, COLUMNS, [], sheet_title="2026/03 服务台账:景古镇[第一批]*?" + "长" * 40)
    sheet = read_back(data.getvalue())
    assert sheet.title == ("2026_03 服务台账_景古镇_第一批___" + "长" * 40)[:31]
    assert len(sheet.title) == 31


def test_a_path_target_is_written_whole_and_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "台账.xlsx"
    target.write_bytes(b"old ledger")
    with pytest.raises(LedgerValueError):
        write_ledger(target, COLUMNS, [{**ROW, "visits": "十二"}], sheet_title="台账")
    assert target.read_bytes() == b"old ledger"

    assert write_ledger(target, COLUMNS, [ROW], sheet_title="台账") == 1
    assert read_back(target.read_bytes())["A2"].value == ROW["provider"]
    assert [p.name for p in tmp_path.iterdir()] == ["台账.xlsx"]


class _Row(dict):
    """A dict that can be weakly referenced, to see which rows are still alive."""


def test_rows_are_streamed_not_held():
    """At no point are more than a handful of the generated rows alive at once.

    20 000 rows stand for the 100 000 of a year's service records: the property is the
    same (only the width sample is buffered, and as converted values, not rows), and the
    suite stays quick.
    """
    total = 4_000  # enough rows to see that they are not held; the property does not grow with N
    columns = [LedgerColumn("provider", "承接主体"), LedgerColumn("visits", "服务次数", "int"),
               LedgerColumn("amount", "金额", "money")]
    alive: list[weakref.ref] = []
    most_alive = 0

    def rows():
        nonlocal most_alive
        for i in range(total):
            row = _Row(provider=f"承接主体{i}", visits=i, amount=Decimal(i) / 100)
            alive.append(weakref.ref(row))
            if i % 1000 == 0:
                gc.collect()
                most_alive = max(most_alive, sum(ref() is not None for ref in alive))
                alive[:] = [ref for ref in alive if ref() is not None]
            yield row

    buffer = io.BytesIO()
    assert write_ledger(buffer, columns, rows(), sheet_title="台账") == total
    assert most_alive <= 3, most_alive
    workbook = openpyxl.load_workbook(buffer, read_only=True)
    *_, last = workbook.active.iter_rows(values_only=True)
    workbook.close()
    assert last == (f"承接主体{total - 1}", total - 1, pytest.approx((total - 1) / 100))
