"""Resident identity numbers (GB 11643-1999): 18 characters, the last a check character."""

from __future__ import annotations

import re
from datetime import date

from reliefsvc.common.errors import BilingualError

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_SHAPE = re.compile(r"^\d{17}[\dX]$")


class IdNumberError(BilingualError):
    """An ID number that fails GB 11643."""


def check_character(first17: str) -> str:
    return _CHECK[sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def normalise(text: str) -> str:
    """Upper-case the X and drop surrounding spaces; full-width digits become ASCII."""
    return text.strip().translate(str.maketrans("０１２３４５６７８９ｘＸ", "0123456789XX")).upper()


def validate(text: str) -> str:
    """Return the normalised number or raise ``IdNumberError`` saying what is wrong."""
    value = normalise(text)
    if not _SHAPE.match(value):
        raise IdNumberError("身份证号应为 18 位（前 17 位为数字，末位为数字或 X）",
                            "an ID number has 18 characters: 17 digits and a digit or X")
    try:
        date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise IdNumberError("身份证号中的出生日期无效", "the birth date in the ID number is invalid") from None
    if check_character(value[:17]) != value[17]:
        raise IdNumberError("身份证号校验位错误", "check digit wrong")
    return value


def birth_date(value: str) -> date:
    return date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
