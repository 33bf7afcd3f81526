"""The service-type catalogue of spec/interchange.md, as data.

Kept here rather than in a table because the detectors need it without a database and
because changing a minimum duration changes what counts as a flash service: that is a
code change with a review, not an edit in a form.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ServiceType:
    code: str
    name_zh: str
    #: the record must name a case (a household); None where the question does not apply
    case_linked: bool | None
    #: done out in the villages, so position, travel and daily load matter
    field_work: bool | None
    #: shorter than this is a flash service (秒杀式); None: no minimum
    min_minutes: int | None
    photo_required: bool
    #: False for decision powers, which stay with the government and may not be bought
    purchasable: bool = True


CATALOGUE: tuple[ServiceType, ...] = (
    ServiceType("home_visit", "入户走访", True, True, 15, True),
    ServiceType("alert_check", "预警信息核查", True, True, 20, True),
    ServiceType("survey_assist", "家庭经济状况调查协助", True, True, 30, True),
    ServiceType("care_service", "分散供养特困人员照料", True, True, 30, True),
    ServiceType("application_assist", "协助申请救助", True, False, 15, False),
    ServiceType("phone_followup", "电话/微信回访", True, False, 2, False),
    ServiceType("case_records", "个案资料整理录入", True, False, 5, False),
    ServiceType("publicity", "政策宣传活动", False, True, 30, True),
    ServiceType("training", "业务培训", False, False, 30, False),
    ServiceType("office_duty", "窗口值班/机关事务", False, False, None, False),
    ServiceType("meeting", "会议/材料报送", False, False, None, False),
    ServiceType("approval_decision", "审核确认/审批决定", None, None, None, False, purchasable=False),
)

BY_CODE: dict[str, ServiceType] = {t.code: t for t in CATALOGUE}
PURCHASABLE_CODES: frozenset[str] = frozenset(t.code for t in CATALOGUE if t.purchasable)
FIELD_WORK_CODES: frozenset[str] = frozenset(t.code for t in CATALOGUE if t.field_work)
PHOTO_REQUIRED_CODES: frozenset[str] = frozenset(t.code for t in CATALOGUE if t.photo_required)
CASE_LINKED_CODES: frozenset[str] = frozenset(t.code for t in CATALOGUE if t.case_linked)


def get(code: str) -> ServiceType | None:
    return BY_CODE.get(code)
