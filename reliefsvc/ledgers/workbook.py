"""A ledger workbook (台账) with several sheets, as a county office files it.

``reports.excel.write_ledger`` writes one table; a filed ledger is a workbook with one
sheet per table, and each sheet starts with its title and the filters it was made with
(合同、期间、导出时间), has its header below them, and ends with a totals row (合计) where
a clerk adds up. Cells use the same conversions as ``reports.excel`` (real dates, money
rounded half up to the fen, text kept as text, never a formula); dates show as the county
writes them (2026年3月5日), money with two decimals.

The workbook is written in openpyxl's write-only mode, a row at a time: only the first
rows of each sheet are held back to size its columns.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import BinaryIO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from reliefsvc.reports import atomic_output
from reliefsvc.reports.excel import (
    _ILLEGAL,
    MAX_WIDTH,
    MIN_WIDTHS,
    NUMBER_FORMATS,
    WIDTH_SAMPLE_ROWS,
    ColumnKind,
    LedgerColumn,
    _convert,
    _getter,
    _sample_width,
    _sheet_title,
    display_width,
    row_cells,
)

#: Dates as the county writes them; times likewise.
COUNTY_FORMATS = {**NUMBER_FORMATS, ColumnKind.DATE: 'yyyy"年"m"月"d"日"',
                  ColumnKind.DATETIME: 'yyyy"年"m"月"d"日" hh:mm'}
TOTAL_LABEL = "合计"


@dataclass
class Sheet:
    """One table of a ledger workbook.

    ``filters`` are (名称, 值) pairs written under the title; ``sums`` the keys of the
    columns the totals row adds up (money and counts). With ``sums`` empty and
    ``count_total`` false the sheet has no totals row.
    """

    name: str
    title: str
    columns: Sequence[LedgerColumn]
    rows: Iterable
    filters: Sequence[tuple[str, str]] = ()
    sums: Sequence[str] = ()
    #: write "合计（N 条）" in the first column of the totals row
    count_total: bool = True
    #: extra totals computed from the sums: key → function(sums dict) (a rate, an average)
    derived: dict[str, Callable[[dict], object]] = field(default_factory=dict)
    #: filled in by write_workbook: how many data rows were written
    written: int = 0


def filters_text(filters: Sequence[tuple[str, str]]) -> str:
    return "筛选条件：" + ("；".join(f"{k}：{v}" for k, v in filters) if filters else "全部")


def _width(column: LedgerColumn, seen: int) -> float:
    if column.width is not None:
        return column.width
    minimum = MIN_WIDTHS[column.kind] + (4 if column.kind in (ColumnKind.DATE, ColumnKind.DATETIME) else 0)
    return min(max(display_width(column.header_zh), seen, minimum) + 2, MAX_WIDTH)


def _write_sheet(workbook: Workbook, spec: Sheet) -> None:
    columns = list(spec.columns)
    sheet = workbook.create_sheet(_sheet_title(spec.name))
    last = get_column_letter(len(columns))

    def converted(row) -> list:
        get = _getter(row)
        return [_convert(column, get(column.key)) for column in columns]

    rows = iter(spec.rows)
    sample = [converted(row) for row in itertools.islice(rows, WIDTH_SAMPLE_ROWS)]
    for position, column in enumerate(columns, 1):
        seen = max((_sample_width(column, values[position - 1]) for values in sample), default=0)
        sheet.column_dimensions[get_column_letter(position)].width = _width(column, seen)
    sheet.freeze_panes = "A4"
    sheet.print_title_rows = "3:3"

    def text_cell(value: str, **style) -> WriteOnlyCell:
        cell = WriteOnlyCell(sheet, value=_ILLEGAL.sub("", value))
        cell.data_type = "s"
        for name, v in style.items():
            setattr(cell, name, v)
        return cell

    sheet.append([text_cell(spec.title, font=Font(bold=True, size=14),
                            alignment=Alignment(horizontal="center", vertical="center"))])
    sheet.merged_cells.add(f"A1:{last}1")
    sheet.append([text_cell(filters_text(spec.filters), font=Font(italic=True, color="555555"),
                            alignment=Alignment(wrap_text=False))])
    sheet.merged_cells.add(f"A2:{last}2")
    header_style = {"font": Font(bold=True), "fill": PatternFill("solid", fgColor="ECEFF3"),
                    "border": Border(bottom=Side(style="thin", color="777777")),
                    "alignment": Alignment(horizontal="center", vertical="center", wrap_text=True)}
    sheet.append([text_cell(c.header_zh, **header_style) for c in columns])

    formats = [COUNTY_FORMATS.get(c.kind) for c in columns]
    sums: dict[str, Decimal] = {key: Decimal(0) for key in spec.sums}
    sum_index = {c.key: i for i, c in enumerate(columns) if c.key in sums}

    def cells(values: list) -> list:
        out = row_cells(sheet, values, formats, text_cell)
        for key, i in sum_index.items():
            if values[i] is not None:
                sums[key] += Decimal(values[i])
        return out

    count = 0
    for values in itertools.chain(sample, (converted(row) for row in rows)):
        sheet.append(cells(values))
        count += 1
    spec.written = count
    sheet.auto_filter.ref = f"A3:{last}{3 + count}"
    if spec.sums or spec.count_total:
        bold = Font(bold=True)
        top = Border(top=Side(style="thin", color="777777"))
        derived = {key: fn(dict(sums, rows=count)) for key, fn in spec.derived.items()}
        total_row = []
        for i, column in enumerate(columns):
            if i == 0:
                total_row.append(text_cell(f"{TOTAL_LABEL}（{count} 条）" if spec.count_total else TOTAL_LABEL,
                                           font=bold, border=top))
                continue
            value = sums.get(column.key, derived.get(column.key))
            if value is None:
                cell = WriteOnlyCell(sheet, value=None)
            else:
                cell = WriteOnlyCell(sheet, value=_convert(column, value))
                if formats[i]:
                    cell.number_format = formats[i]
            cell.font, cell.border = bold, top
            total_row.append(cell)
        sheet.append(total_row)


def write_workbook(target: str | os.PathLike[str] | BinaryIO, sheets: Sequence[Sheet], *, title: str) -> int:
    """Write ``sheets`` into one .xlsx; returns the number of data rows over all sheets."""
    if not sheets:
        raise ValueError("a ledger workbook needs at least one sheet")
    workbook = Workbook(write_only=True)
    workbook.properties.creator = "reliefsvc"
    workbook.properties.title = title
    for spec in sheets:
        _write_sheet(workbook, spec)
    if isinstance(target, str | os.PathLike):
        with atomic_output(target) as fh:
            workbook.save(fh)
    else:
        workbook.save(target)
    return sum(s.written for s in sheets)
