"""Rules about providers: the unified social credit code and the vetting decision."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from reliefsvc.common.errors import BilingualError

# GB 32100-2015: 18 characters from 31 symbols (no I, O, Z, S, V).
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# GB 11714: the organisation code embedded at positions 9–17 has a check of its own.
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_USCC_SHAPE = re.compile(rf"^[{USCC_ALPHABET}]{{18}}$")


class UsccError(BilingualError):
    """A unified social credit code that fails GB 32100-2015."""


def uscc_check_character(first17: str) -> str:
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def _org_value(c: str) -> int:
    return int(c) if c.isdigit() else ord(c) - ord("A") + 10


def org_code_check_character(body8: str) -> str:
    remainder = 11 - sum(_org_value(c) * w for c, w in zip(body8, _ORG_WEIGHTS, strict=True)) % 11
    return {10: "X", 11: "0"}.get(remainder, str(remainder))


def validate_uscc(text: str) -> str:
    """Return the normalised code or raise ``UsccError``.

    Codes beginning with a letter (e.g. ``Y`` for other registration authorities) are
    valid; python-stdnum refuses them, which is why this is written out here.
    """
    value = text.strip().upper()
    if len(value) != 18:
        raise UsccError("统一社会信用代码应为 18 位", "a unified social credit code has 18 characters")
    if not _USCC_SHAPE.match(value):
        raise UsccError("统一社会信用代码含有不允许的字符（不使用 I、O、Z、S、V）",
                        "the code contains a character outside GB 32100 (no I, O, Z, S, V)")
    if not value[2:8].isdigit():
        raise UsccError("统一社会信用代码第 3–8 位应为行政区划代码", "positions 3–8 must be a division code")
    if org_code_check_character(value[8:16]) != value[16]:
        raise UsccError("统一社会信用代码中的组织机构代码校验位错误", "organisation code check character wrong")
    if uscc_check_character(value[:17]) != value[17]:
        raise UsccError("统一社会信用代码校验位错误", "check character wrong")
    return value


def make_uscc(prefix2: str, division: str, org_body8: str) -> str:
    """Build a valid code (used by the demo and tests)."""
    first16 = prefix2 + division + org_body8
    first17 = first16 + org_code_check_character(org_body8)
    return first17 + uscc_check_character(first17)


@dataclass(frozen=True)
class ApprovalState:
    """Where a provider stands for contracting on a given day."""

    valid: bool
    #: approved | conditional | expired | rejected | none
    status: str
    valid_until: date | None
    days_left: int | None


def approval_state(decision: str | None, valid_until: date | None, condition_deadline: date | None,
                   conditions_met: bool, on: date) -> ApprovalState:
    """A contract may go only to a provider whose latest decision holds on ``on``.

    A conditional approval holds until its deadline unless its conditions were met (then
    until its validity date); an approval holds through its validity date inclusive.
    """
    if decision is None:
        return ApprovalState(False, "none", None, None)
    if decision == "rejected":
        return ApprovalState(False, "rejected", None, None)
    end = valid_until
    if decision == "conditional" and not conditions_met and condition_deadline is not None:
        end = min(condition_deadline, valid_until) if valid_until else condition_deadline
    if end is None or on > end:
        return ApprovalState(False, "expired", end, None)
    return ApprovalState(True, decision, end, (end - on).days)


def default_validity(vetted_on: date) -> date:
    """One year after the vetting, the day before the anniversary."""
    try:
        return vetted_on.replace(year=vetted_on.year + 1) - timedelta(days=1)
    except ValueError:  # 29 February
        return vetted_on.replace(year=vetted_on.year + 1, day=28)
