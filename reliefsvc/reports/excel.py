"""Excel ledgers (台账) as a county clerk expects them, written as a stream.

``write_ledger`` uses openpyxl's write-only mode: rows go to a temporary file as they
come, so an export of a hundred thousand service records never sits in memory. What the
clerk gets:

- a Chinese header row, bold, frozen (the panes are frozen below it), with an auto filter
  and repeated on every printed page; optionally a title row above it;
- dates and times as real Excel dates (``yyyy-mm-dd`` / ``yyyy-mm-dd hh:mm``), so that
  they sort and filter as dates. Aware datetimes are shown in Asia/Shanghai local time;
  naive ones are taken to be local already (as in spec/interchange.md). Excel has no time
  zones;
- money as numbers with ``#,##0.00``, rounded half up to the fen, so sums work;
- text stored as text: an ID number keeps its 18 digits, a value beginning with "=" is
  never turned into a formula (user text in a formula is an injection) and "#N/A" is not
  an error value;
- column widths from the header and the first rows, CJK characters counting double.

The first ``WIDTH_SAMPLE_ROWS`` rows are held back to size the columns: in write-only
mode widths must be set before the first row is written. That is the only buffering.
"""

from __future__ import annotations

import itertools
import math
import os
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import BinaryIO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.workbook.child import INVALID_TITLE_REGEX

from reliefsvc.common.formatting import LOCAL_TZ
from reliefsvc.reports import atomic_output

FEN = Decimal("0.01")
WIDTH_SAMPLE_ROWS = 200
MAX_WIDTH = 60
#: Excel's limit on a sheet name.
MAX_SHEET_TITLE = 31
# Control characters that the XML inside an .xlsx cannot hold; openpyxl would raise.
_ILLEGAL = re.compile(r"[\000-\010\013\014\016-\037]")


class ColumnKind(StrEnum):
    TEXT = "text"
    INT = "int"
    MONEY = "money"
    DATE = "date"
    DATETIME = "datetime"
    PERCENT = "percent"  #: a fraction: 0.125 shows as 12.50%


#: Text and integers keep Excel's "General" format, which shows them as they are.
NUMBER_FORMATS = {
    ColumnKind.MONEY: "#,##0.00",
    ColumnKind.DATE: "yyyy-mm-dd",
    ColumnKind.DATETIME: "yyyy-mm-dd hh:mm",
    ColumnKind.PERCENT: "0.00%",
}

#: The narrowest a column of each kind may be, in Excel character widths.
MIN_WIDTHS = {
    ColumnKind.TEXT: 8,
    ColumnKind.INT: 6,
    ColumnKind.MONEY: 12,
    ColumnKind.DATE: 12,
    ColumnKind.DATETIME: 17,
    ColumnKind.PERCENT: 9,
}


@dataclass(frozen=True)
class LedgerColumn:
    """One column of a ledger: where its value comes from, its Chinese header, its kind.

    ``key`` is looked up in each row: ``row[key]`` for a mapping, ``getattr(row, key)``
    otherwise (models, dataclasses, SQLAlchemy result rows). ``width`` in Excel
    character widths overrides the computed one.
    """

    key: str
    header_zh: str
    kind: ColumnKind | str = ColumnKind.TEXT
    width: float | None = None

    def __post_init__(self):
        object.__setattr__(self, "kind", ColumnKind(self.kind))


class LedgerValueError(TypeError):
    """A value that does not fit its column's kind: a programming error in the caller."""


def display_width(text: str) -> int:
    """Width of ``text`` in Excel character units: CJK (wide and full-width) counts two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _local_naive(value: datetime) -> datetime:
    if value.tzinfo is not None:
        value = value.astimezone(LOCAL_TZ)
    return value.replace(tzinfo=None)


def _convert(column: LedgerColumn, value):
    """The Python value openpyxl should write for ``value`` in ``column`` (None: empty)."""
    if value is None:
        return None
    kind = column.kind
    if kind is ColumnKind.TEXT:
        return _ILLEGAL.sub("", value if isinstance(value, str) else str(value))
    if isinstance(value, bool):
        raise LedgerValueError(f"{column.key}: a yes/no value in a {kind} column; write it as text")
    if (isinstance(value, Decimal) and not value.is_finite()) or (
            isinstance(value, float) and not math.isfinite(value)):
        raise LedgerValueError(f"{column.key}: {value!r} is not a number Excel can hold")
    if kind is ColumnKind.INT:
        if isinstance(value, int):
            return value
        if isinstance(value, float | Decimal) and value == int(value):
            return int(value)
    elif kind is ColumnKind.MONEY:
        if isinstance(value, Decimal | int):
            return Decimal(value).quantize(FEN, rounding=ROUND_HALF_UP)
        if isinstance(value, float):
            # repr is the shortest text that round-trips: 0.1 stays 0.1, not 0.1000000000000000055
            return Decimal(repr(value)).quantize(FEN, rounding=ROUND_HALF_UP)
    elif kind is ColumnKind.PERCENT:
        if isinstance(value, int | float | Decimal):
            return value
    elif kind is ColumnKind.DATE:
        if isinstance(value, datetime):
            return _local_naive(value).date()
        if isinstance(value, date):
            return value
    elif kind is ColumnKind.DATETIME:
        if isinstance(value, datetime):
            return _local_naive(value)
        if isinstance(value, date):
            return datetime.combine(value, time())
    raise LedgerValueError(f"{column.key}: {type(value).__name__} {value!r} is not a {kind} value")


def _sample_width(column: LedgerColumn, value) -> int:
    if value is None:
        return 0
    if column.kind is ColumnKind.MONEY:
        return len(f"{value:,.2f}")
    if column.kind is ColumnKind.INT:
        return len(str(value))
    if column.kind is ColumnKind.TEXT:
        # A multi-line cell is as wide as its widest line.
        return max(display_width(line) for line in value.splitlines() or [""])
    return 0  # dates, times and percents are fixed-width: MIN_WIDTHS covers them


def _getter(row):
    return row.get if isinstance(row, Mapping) else lambda key: getattr(row, key)


def _sheet_title(title: str) -> str:
    return INVALID_TITLE_REGEX.sub("_", title)[:MAX_SHEET_TITLE] or "Sheet1"


def _text_cell(sheet, value: str) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"
    return cell


def row_cells(sheet, values: Sequence, formats: Sequence[str | None], text=None) -> list:
    """One write-only row: plain values where openpyxl's own typing is right (numbers,
    ordinary text) — a styled cell costs about twice as much to write, and ledgers can be
    long — number formats where a column has one, and text that openpyxl would store as a
    formula ("=...") or an error ("#N/A") forced to text: ledger text is neither, and user
    text in a formula is an injection. ``text(value)`` makes those text cells."""
    out = []
    for value, number_format in zip(values, formats, strict=True):
        if value is None:
            out.append(None)
        elif number_format is not None:
            cell = WriteOnlyCell(sheet, value=value)
            cell.number_format = number_format
            out.append(cell)
        elif isinstance(value, str) and (value.startswith("=") or value in ERROR_CODES):
            out.append(text(value) if text is not None else _text_cell(sheet, value))
        else:
            out.append(value)
    return out


def write_ledger(target: str | os.PathLike[str] | BinaryIO, columns: Sequence[LedgerColumn],
                 rows: Iterable, *, sheet_title: str, title: str | None = None) -> int:
    """Write ``rows`` as an .xlsx ledger to ``target`` and return how many rows were written.

    ``target`` is a path (written atomically: the file appears complete or not at all) or
    a binary stream (a ``BytesIO``, an open file). ``rows`` may be any iterable, a
    generator included; it is consumed once. ``title``, when given, is a bold first row
    above the header. ``sheet_title`` is cut to Excel's 31 characters, and the characters
    Excel forbids in sheet names (``[]:*?/\\``) become "_".

    Raises :class:`LedgerValueError` when a value does not fit its column (a string in a
    money column, say), naming the column and the Excel row.
    """
    if not columns:
        raise ValueError("a ledger needs at least one column")
    columns = list(columns)
    workbook = Workbook(write_only=True)
    workbook.properties.creator = "reliefsvc"
    workbook.properties.title = title or sheet_title
    sheet = workbook.create_sheet(_sheet_title(sheet_title))

    header_row = 2 if title else 1
    first_data_row = header_row + 1

    def converted(index: int, row) -> list:
        get = _getter(row)
        values = []
        for column in columns:
            try:
                values.append(_convert(column, get(column.key)))
            except LedgerValueError as exc:
                raise LedgerValueError(f"row {first_data_row + index}: {exc}") from None
        return values

    rows = iter(rows)
    sample = [converted(i, row) for i, row in enumerate(itertools.islice(rows, WIDTH_SAMPLE_ROWS))]

    for position, column in enumerate(columns, 1):
        if column.width is not None:
            width = column.width
        else:
            seen = max((_sample_width(column, values[position - 1]) for values in sample), default=0)
            width = min(max(display_width(column.header_zh), seen, MIN_WIDTHS[column.kind]) + 2,
                        MAX_WIDTH)
        sheet.column_dimensions[get_column_letter(position)].width = width

    last_letter = get_column_letter(len(columns))
    sheet.freeze_panes = f"A{first_data_row}"
    sheet.print_title_rows = f"{header_row}:{header_row}"

    if title:
        cell = WriteOnlyCell(sheet, value=_ILLEGAL.sub("", title))
        cell.font = Font(bold=True, size=14)
        cell.alignment = Alignment(horizontal="center", vertical="center")
        cell.data_type = "s"
        sheet.append([cell])
        sheet.merged_cells.add(f"A1:{last_letter}1")

    header_font = Font(bold=True)
    header_fill = PatternFill("solid", fgColor="ECEFF3")
    header_border = Border(bottom=Side(style="thin", color="777777"))
    header_alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    header = []
    for column in columns:
        cell = WriteOnlyCell(sheet, value=column.header_zh)
        cell.font, cell.fill = header_font, header_fill
        cell.border, cell.alignment = header_border, header_alignment
        cell.data_type = "s"
        header.append(cell)
    sheet.append(header)

    formats = [NUMBER_FORMATS.get(column.kind) for column in columns]

    def cells(values: list) -> list:
        return row_cells(sheet, values, formats)

    count = 0
    for values in sample:
        sheet.append(cells(values))
        count += 1
    sample.clear()
    for index, row in enumerate(rows, start=count):
        sheet.append(cells(converted(index, row)))
        count += 1

    sheet.auto_filter.ref = f"A{header_row}:{last_letter}{header_row + count}"

    if isinstance(target, str | os.PathLike):
        with atomic_output(target) as fh:
            workbook.save(fh)
    else:
        workbook.save(target)
    return count
