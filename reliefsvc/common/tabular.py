"""Reading the interchange files (CSV and XLSX) of ``spec/interchange.md``.

Pure: bytes in, rows and errors out. Each domain describes its columns with ``Column``;
headers may be the English name or the Chinese alias, in any order. Errors carry the
row number as a county clerk counts it in Excel (the header is row 1) and the reason in
Chinese and English.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from reliefsvc.common.errors import BilingualError

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


class FieldError(BilingualError):
    """A value that cannot be accepted; ``zh`` and ``en`` say why."""


@dataclass(frozen=True)
class RowError:
    row: int
    column: str | None
    zh: str
    en: str

    def __str__(self) -> str:
        where = f"row {self.row}" + (f", {self.column}" if self.column else "")
        return f"{where}: {self.en} / {self.zh}"

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column or "", "error_zh": self.zh, "error_en": self.en}


@dataclass(frozen=True)
class Column:
    name: str
    zh: str
    required: bool = False
    parse: Callable[[str], object] | None = None


@dataclass
class ImportReport:
    imported: int = 0
    updated: int = 0
    rejected: int = 0
    errors: list[RowError] = field(default_factory=list)
    written: bool = False

    def summary(self) -> str:
        return f"imported {self.imported}, updated {self.updated}, rejected {self.rejected}"


class TableError(Exception):
    """The file as a whole cannot be read (wrong type, no header, unknown encoding)."""

    def __init__(self, errors: list[RowError]):
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = errors


@dataclass
class Row:
    number: int
    values: dict[str, object]
    raw: dict[str, str]


XLSX_MAGIC = b"PK\x03\x04"


def read_table(data: bytes, columns: Iterable[Column], *, encoding: str = "utf-8",
               filename: str = "") -> tuple[list[Row], list[RowError]]:
    """Parse a whole file; return the rows that parsed and every error found."""
    columns = list(columns)
    if len(data) > MAX_TABLE_BYTES:
        raise TableError([RowError(1, None, f"文件超过 {MAX_TABLE_BYTES // (1024 * 1024)} MB，请分批导入",
                                   f"the file is larger than {MAX_TABLE_BYTES // (1024 * 1024)} MB")])
    if data[:4] == XLSX_MAGIC:
        header, records = _xlsx_records(data)
    elif filename.lower().endswith(".xlsx"):
        raise TableError([RowError(1, None, "文件扩展名为 .xlsx，但内容不是 Excel 工作簿",
                                   "the file is named .xlsx but is not an Excel workbook")])
    else:
        header, records, decode_errors = _csv_records(data, encoding)
        if decode_errors:
            raise TableError(decode_errors)
    mapping, errors = _map_header(header, columns)
    if errors:
        raise TableError(errors)
    rows: list[Row] = []
    for number, cells in records:
        raw = {name: (cells[i] if i < len(cells) else "") for name, i in mapping.items()}
        raw = {k: ("" if v is None else str(v)).strip() for k, v in raw.items()}
        if not any(raw.values()):
            continue  # blank lines are not rows
        values: dict[str, object] = {}
        row_errors = []
        for col in columns:
            text = raw.get(col.name, "")
            if text == "":
                if col.required:
                    row_errors.append(RowError(number, col.name, f"{col.zh}不能为空",
                                               f"{col.name} is required"))
                values[col.name] = None
                continue
            try:
                values[col.name] = col.parse(text) if col.parse else text
            except FieldError as exc:
                row_errors.append(RowError(number, col.name, f"{col.zh}：{exc.zh}", exc.en))
        errors.extend(row_errors)
        if not row_errors:
            rows.append(Row(number, values, raw))
    return rows, errors


def _csv_records(data: bytes, encoding: str):
    encoding = encoding.lower().replace("_", "-")
    if encoding in ("utf-8", "utf8") and data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    # Decode line by line so that a file in the wrong encoding is reported with the
    # rows where it goes wrong, not as one unreadable blob.
    lines = data.split(b"\n")
    decoded, errors = [], []
    for number, line in enumerate(lines, start=1):
        try:
            decoded.append(line.decode(encoding))
        except UnicodeDecodeError:
            errors.append(RowError(
                number, None,
                f"第 {number} 行不是 {encoding.upper()} 编码的文字；如果文件是 GBK/GB18030 编码，请选择 GB18030 编码后重新导入",
                f"line {number} is not valid {encoding.upper()} text; if the file is GBK/GB18030, import it with --encoding gb18030",
            ))
            decoded.append("")
        except LookupError as exc:
            raise TableError([RowError(1, None, f"不认识的编码：{encoding}",
                                       f"unknown encoding: {encoding}")]) from exc
    if errors:
        return [], [], errors
    reader = csv.reader(io.StringIO("\n".join(decoded)))
    records = []
    header: list[str] = []
    try:
        for cells in reader:
            number = reader.line_num
            if not header:
                header = cells
                continue
            records.append((number, cells))
    except csv.Error as exc:
        # e.g. a lone carriage return inside an unquoted field (found by fuzzing, issue 15)
        line = reader.line_num + 1
        return [], [], [RowError(line, None, f"第 {line} 行不是有效的 CSV（引号或换行不成对）",
                                 f"line {line} is not valid CSV: {exc}")]
    return header, records, []


#: issue 15: an XLSX is a zip; what it unpacks to is checked before openpyxl reads it.
MAX_TABLE_BYTES = 32 * 1024 * 1024
MAX_XLSX_UNPACKED = 200 * 1024 * 1024
MAX_XLSX_MEMBERS = 2000


def check_xlsx_container(data: bytes) -> None:
    """Refuse a workbook that would unpack to too much (a zip bomb) before anything is inflated.

    The sizes in the zip's directory are what a bomb lies about least cheaply: openpyxl and
    zipfile stop reading a member at its declared size, so the declared total bounds the work.
    """
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise TableError([RowError(1, None, "无法读取 Excel 文件（文件损坏或格式不对）",
                                   "cannot read the Excel file (damaged or not a workbook)")]) from exc
    unpacked = sum(m.file_size for m in members)
    if len(members) > MAX_XLSX_MEMBERS or unpacked > MAX_XLSX_UNPACKED:
        raise TableError([RowError(1, None, f"Excel 文件解压后过大（{unpacked // (1024 * 1024)} MB，上限 "
                                            f"{MAX_XLSX_UNPACKED // (1024 * 1024)} MB），疑似压缩炸弹，已拒绝",
                                   f"the workbook unpacks to {unpacked} bytes, more than "
                                   f"{MAX_XLSX_UNPACKED}; refused as a possible zip bomb")])


def _xlsx_records(data: bytes):
    from openpyxl import load_workbook

    check_xlsx_container(data)
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise TableError([RowError(1, None, "无法读取 Excel 文件（文件损坏或格式不对）",
                                   f"cannot read the Excel file: {exc}")]) from exc
    try:
        sheet = wb.worksheets[0]
        header: list[str] = []
        records = []
        for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
            cells = [_cell_text(c) for c in cells]
            if not header:
                header = cells
                continue
            records.append((number, cells))
        return header, records
    finally:
        wb.close()


def _cell_text(value) -> str:
    if type(value) is str:  # issue 16: most cells; the same text as str(value)
        return value
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S") if (value.hour or value.minute or value.second) \
            else value.strftime("%Y-%m-%d")
    if isinstance(value, date):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _map_header(header: list[str], columns: list[Column]):
    by_alias = {}
    for col in columns:
        by_alias[col.name.lower()] = col.name
        by_alias[col.zh] = col.name
    mapping: dict[str, int] = {}
    errors = []
    if not any((h or "").strip() for h in header):
        return {}, [RowError(1, None, "文件没有表头行", "the file has no header row")]
    for index, title in enumerate(header):
        title = (title or "").strip().lstrip("\ufeff")
        if not title:
            continue
        name = by_alias.get(title) or by_alias.get(title.lower())
        if name is None:
            continue  # extra columns are ignored, as a clerk's sheet often has notes
        if name in mapping:
            errors.append(RowError(1, name, f"表头“{title}”重复", f"column {name} appears twice"))
        mapping[name] = index
    for col in columns:
        if col.required and col.name not in mapping:
            errors.append(RowError(1, col.name, f"缺少必填列“{col.zh}”（{col.name}）",
                                   f"required column {col.name} ({col.zh}) is missing"))
    return mapping, errors


# --- field parsers --------------------------------------------------------------------

_DATE_PATTERNS = (
    re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"),
    re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$"),
)


def parse_date(text: str) -> date:
    for pattern in _DATE_PATTERNS:
        m = pattern.match(text)
        if m:
            try:
                return date(int(m[1]), int(m[2]), int(m[3]))
            except ValueError:
                break
    raise FieldError(f"日期“{text}”无效，应为 YYYY-MM-DD", f"invalid date {text!r}, expected YYYY-MM-DD")


def parse_time(text: str) -> datetime:
    """A local (Asia/Shanghai) or ISO 8601 time, returned timezone-aware."""
    candidate = text.replace("/", "-")
    try:
        value = datetime.fromisoformat(candidate)
    except ValueError:
        raise FieldError(f"时间“{text}”无效，应为 YYYY-MM-DD HH:MM[:SS]",
                         f"invalid time {text!r}, expected YYYY-MM-DD HH:MM[:SS]") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=LOCAL_TZ)
    return value


def parse_decimal(text: str, places: int = 2) -> Decimal:
    try:
        value = Decimal(text.replace(",", ""))
    except InvalidOperation:
        raise FieldError(f"“{text}”不是数字", f"{text!r} is not a number") from None
    if not value.is_finite():
        raise FieldError(f"“{text}”不是数字", f"{text!r} is not a number")
    if places is not None and value.as_tuple().exponent < -places:
        raise FieldError(f"最多保留 {places} 位小数", f"at most {places} decimal places")
    return value


def parse_float_range(low: float, high: float, zh_name: str, en_name: str):
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise FieldError(f"“{text}”不是数字", f"{text!r} is not a number") from None
        if not (low <= value <= high):
            raise FieldError(f"{zh_name}应在 {low} 到 {high} 之间",
                             f"{en_name} must lie between {low} and {high}")
        return value
    return parse


def parse_int(minimum: int | None = None):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise FieldError(f"“{text}”不是整数", f"{text!r} is not an integer") from None
        if minimum is not None and value < minimum:
            raise FieldError(f"不能小于 {minimum}", f"must be at least {minimum}")
        return value
    return parse


def parse_choice(choices: dict[str, str]):
    """``choices`` maps each English code to its Chinese word; either is accepted."""
    lookup = {code: code for code in choices}
    lookup.update({zh: code for code, zh in choices.items()})

    def parse(text: str) -> str:
        code = lookup.get(text) or lookup.get(text.lower())
        if code is None:
            allowed = "、".join(f"{c}（{z}）" for c, z in choices.items())
            raise FieldError(f"“{text}”不是有效值，可选：{allowed}",
                             f"{text!r} is not one of {', '.join(choices)}")
        return code
    return parse


def parse_flag(text: str) -> bool:
    return parse_choice({"1": "是", "0": "否"})(text) == "1"
