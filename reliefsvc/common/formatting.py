"""How dates, money and ID numbers look on a county office's pages and papers."""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

FEN = Decimal("0.01")
LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def now_local() -> datetime:
    return datetime.now(LOCAL_TZ)


def today_local() -> date:
    """Today in the county (Asia/Shanghai), whatever the server's own zone."""
    return now_local().date()


def date_text(value: date | datetime | None, locale: str, format_date) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime) and value.tzinfo is not None:
        value = value.astimezone(LOCAL_TZ)  # the day as it was in the county
    if locale.startswith("zh"):
        return f"{value.year}年{value.month}月{value.day}日"
    return format_date(value, "yyyy-MM-dd")


def datetime_text(value: datetime | None, locale: str, format_datetime) -> str:
    """Local (Asia/Shanghai) time, as written in a ledger."""
    if value is None:
        return ""
    if locale.startswith("zh"):
        return format_datetime(value, "yyyy年M月d日 HH:mm")
    return format_datetime(value, "yyyy-MM-dd HH:mm")


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
