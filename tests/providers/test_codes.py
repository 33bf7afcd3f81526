"""Check characters of the unified social credit code (GB 32100) and ID numbers (GB 11643)."""

import pytest

from reliefsvc.common import idnumber
from reliefsvc.providers import rules


@pytest.mark.parametrize("code", [
    "91350100M000100Y43",  # a published example
    "52622922MJ0000018M",
    "Y1622922000000019E",  # begins with a letter: valid, though python-stdnum refuses it
])
def test_valid_codes(code):
    assert rules.validate_uscc(code) == code
    assert rules.validate_uscc(code.lower() + " ") == code


@pytest.mark.parametrize("code,zh", [
    ("91350100M000100Y44", "统一社会信用代码校验位错误"),
    ("91350100M000101Y43", "组织机构代码校验位错误"),
    ("91350100M00010", "应为 18 位"),
    ("91350100MO00100Y43", "不允许的字符"),
    ("9135AB00M000100Y43", "行政区划代码"),
])
def test_invalid_codes_say_why_in_chinese(code, zh):
    with pytest.raises(rules.UsccError) as info:
        rules.validate_uscc(code)
    assert zh in info.value.zh


def test_every_single_character_change_is_caught():
    code = "52622922MJ0000018M"
    for position in range(18):
        for symbol in rules.USCC_ALPHABET:
            changed = code[:position] + symbol + code[position + 1:]
            if changed == code:
                continue
            with pytest.raises(rules.UsccError):
                rules.validate_uscc(changed)


@pytest.mark.parametrize("number", ["11010519491231002X", "622922198501011233"])
def test_valid_id_numbers(number):
    body = number[:17]
    fixed = body + idnumber.check_character(body)
    assert idnumber.validate(fixed.lower()) == fixed


@pytest.mark.parametrize("number,zh", [
    ("110105194912310021", "校验位错误"),
    ("11010519491331002X", "出生日期无效"),
    ("1101051949123100", "18 位"),
])
def test_invalid_id_numbers(number, zh):
    with pytest.raises(idnumber.IdNumberError) as info:
        idnumber.validate(number)
    assert zh in info.value.zh


def test_approval_state_rules():
    from datetime import date

    on = date(2026, 11, 27)
    assert rules.approval_state(None, None, None, False, on).status == "none"
    assert not rules.approval_state("rejected", None, None, False, on).valid
    assert rules.approval_state("approved", date(2026, 11, 27), None, False, on).valid  # last day counts
    assert rules.approval_state("approved", date(2026, 11, 26), None, False, on).status == "expired"
    # a conditional approval lapses at its deadline unless the conditions were met
    assert not rules.approval_state("conditional", date(2027, 6, 1), date(2026, 11, 20), False, on).valid
    assert rules.approval_state("conditional", date(2027, 6, 1), date(2026, 11, 20), True, on).valid
    assert rules.default_validity(date(2026, 3, 1)) == date(2027, 2, 28)
