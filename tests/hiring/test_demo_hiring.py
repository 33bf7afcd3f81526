"""The demo county: the labour company's payroll contract comes out high, the sound one low."""

from __future__ import annotations

import sqlalchemy as sa

from reliefsvc.contracts.models import Contract
from reliefsvc.hiring import service
from reliefsvc.providers.models import Provider


def contract_of(db, provider_name):
    return db.session.scalar(sa.select(Contract).join(Provider).where(Provider.name == provider_name)
                             .order_by(Contract.starts_on.desc()).limit(1))


def test_the_payroll_contract_is_high_and_the_sound_one_low(run_cli, db):
    from reliefsvc.demo.accounts import PROVIDER as SOUND

    assert run_cli("demo", "load", "--small").exit_code == 0
    payroll, sound = contract_of(db, "临夏州鑫源劳务派遣有限公司"), contract_of(db, SOUND)

    high = service.latest(payroll)  # the demo assesses every contract once, as the monthly job would
    assert high.level.value == "high" and high.score == 100
    assert all(i["triggered"] for i in high.indicators)
    [exported] = service.export([high])
    explanations = {item["code"]: item["explanation"] for item in exported["indicators"]}
    assert "低于阈值" in explanations.pop("CASE_LINK_RATIO")
    assert "人头" in explanations.pop("PER_HEAD_PRICING") and "不挂钩" in explanations.pop("PAYMENT_NOT_LINKED")
    assert all("达到阈值" in text for text in explanations.values()), explanations
    offices = high.indicator("OFFICE_LOCATION_SHARE")["evidence"]["offices"]
    assert offices and offices[0]["name"].endswith(("乡", "镇"))
    people = high.indicator("STAFF_CARRYOVER")["evidence"]["people"]
    assert len(people) == 4 and {p["earlier_provider"] for p in people} == {"康乐县惠民社会服务中心"}
    assert any(p["earlier_name"] != p["name"] for p in people)  # matched by ID number, not by name

    low = service.latest(sound)
    assert low.level.value == "low" and low.score == 0
    assert not any(i["triggered"] for i in low.indicators)
