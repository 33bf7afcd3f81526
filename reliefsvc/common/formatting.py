"""How dates, money and ID numbers look on a county office's pages and papers."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

FEN = Decimal("0.01")
LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def now_local() -> datetime:
    return datetime.now(LOCAL_TZ)


def today_local() -> date:
    """Today in the county (Asia/Shanghai), whatever the server's own zone."""
    return now_local().date()


def _local(value: datetime) -> datetime:
    """The moment in the county's zone; a naive time is UTC (as the database keeps it and as
    flask-babel reads it)."""
    return (value if value.tzinfo is not None else value.replace(tzinfo=UTC)).astimezone(LOCAL_TZ)


# Dates and times are written with digits only (2026年3月5日 08:30, 2026-03-05 08:30), which
# no locale changes, so they are formatted here rather than through Babel's pattern
# machinery: a list of 50 records formats 100 of them, and Babel took ~40 µs each (issue 16).
def date_text(value: date | datetime | None, locale: str) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime) and value.tzinfo is not None:
        value = value.astimezone(LOCAL_TZ)  # the day as it was in the county
    if locale.startswith("zh"):
        return f"{value.year}年{value.month}月{value.day}日"
    return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"


def datetime_text(value: datetime | None, locale: str) -> str:
    """Local (Asia/Shanghai) time, as written in a ledger."""
    if value is None:
        return ""
    local = _local(value)
    if locale.startswith("zh"):
        return f"{local.year}年{local.month}月{local.day}日 {local.hour:02d}:{local.minute:02d}"
    return f"{local.year:04d}-{local.month:02d}-{local.day:02d} {local.hour:02d}:{local.minute:02d}"


def money_text(value, locale: str = "zh_CN") -> str:
    """Yuan with two decimals, rounded half up to the fen: ``12,345.60 元``."""
    if value is None:
        return ""
    amount = Decimal(value).quantize(FEN, rounding=ROUND_HALF_UP)
    text = f"{amount:,.2f}"
    return f"{text} 元" if locale.startswith("zh") else f"CNY {text}"


def plain_number(value) -> str:
    """A Decimal as people write it: 120 not 1.2E+2, 0.95 not 0.9500."""
    if value is None:
        return ""
    if isinstance(value, float):  # a float's shortest text (82.4), not its binary expansion
        value = repr(value)
    text = format(Decimal(value).normalize(), "f")
    return text


def percent(value, places: int = 1) -> str:
    """A share as a percentage: 0.9029 → 90.3%."""
    if value is None:
        return ""
    return f"{Decimal(value) * 100:.{places}f}%"


def mask_id_number(value: str | None) -> str:
    """ID numbers show the first four and the last four characters only: 6229**********123X."""
    if not value:
        return ""
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]
