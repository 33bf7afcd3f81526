from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from reliefsvc.common import formatting


@pytest.mark.parametrize("value,text", [
    (Decimal("1234.5"), "1,234.50 元"),
    (Decimal("0.005"), "0.01 元"),
    (Decimal("0.004"), "0.00 元"),
    (1000000, "1,000,000.00 元"),
    (Decimal("-12.345"), "-12.35 元"),
])
def test_money_is_yuan_with_two_decimals_rounded_half_up(value, text):
    assert formatting.money_text(value, "zh_CN") == text


def test_money_in_english():
    assert formatting.money_text(Decimal("5"), "en") == "CNY 5.00"


def test_dates_as_a_county_office_writes_them():
    assert formatting.date_text(date(2026, 3, 5), "zh_CN") == "2026年3月5日"
    assert formatting.date_text(date(2026, 3, 5), "en") == "2026-03-05"
    # 16:30 UTC is half past midnight the next day in Asia/Shanghai
    moment = datetime(2026, 3, 5, 16, 30, tzinfo=UTC)
    assert formatting.datetime_text(moment, "zh_CN") == "2026年3月6日 00:30"
    assert formatting.datetime_text(moment, "en") == "2026-03-06 00:30"
    # a naive time is UTC, as the database keeps it
    assert formatting.datetime_text(datetime(2026, 12, 31, 16, 5), "zh_CN") == "2027年1月1日 00:05"
    assert formatting.date_text(datetime(2026, 12, 31, 16, 5, tzinfo=UTC), "zh_CN") == "2027年1月1日"


def test_our_dates_match_babels(app):
    """The digits-only patterns written by hand give what Babel's patterns gave."""
    from flask_babel import format_date, format_datetime

    with app.test_request_context():
        for moment in (datetime(2026, 3, 5, 16, 30, tzinfo=UTC), datetime(2026, 1, 9, 1, 2, tzinfo=UTC),
                       datetime(2026, 10, 31, 15, 59)):
            assert formatting.datetime_text(moment, "zh_CN") == format_datetime(moment, "yyyy年M月d日 HH:mm")
            assert formatting.datetime_text(moment, "en") == format_datetime(moment, "yyyy-MM-dd HH:mm")
            assert formatting.date_text(moment.date(), "en") == format_date(moment.date(), "yyyy-MM-dd")


@pytest.mark.parametrize("value,masked", [
    ("62292219800101123X", "6229**********123X"),
    ("", ""),
    ("1234", "****"),
])
def test_id_numbers_are_masked(value, masked):
    assert formatting.mask_id_number(value) == masked


def test_shares_are_percentages_and_decimals_plain():
    assert formatting.percent(Decimal("0.9029")) == "90.3%"
    assert formatting.plain_number(Decimal("1.2E+2")) == "120"
    assert formatting.plain_number(Decimal("0.9500")) == "0.95"


def test_a_float_is_written_as_typed_not_as_its_binary_expansion():
    # A record's risk score is a float column: 82.4, not 82.400000000000005684341886080801486968994140625.
    assert formatting.plain_number(82.4) == "82.4"
    assert formatting.plain_number(60.0) == "60"
    assert formatting.plain_number(0.1 + 0.2) == "0.30000000000000004"
