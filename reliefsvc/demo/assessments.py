"""Assessments in the demo county: the default standard bound to every contract, and an
assessment in each state a county sees — signed, with the provider for comment, appealed
(an appeal on one indicator waiting for the officer's decision), and a draft being scored —
a field inspection with its open rectification notice, and an earlier notice put right and
closed."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from reliefsvc.assessments import rules, service
from reliefsvc.assessments.models import Method
from reliefsvc.common.formatting import today_local
from reliefsvc.extensions import db
from reliefsvc.rectifications import service as rectifications
from reliefsvc.security.models import Role, User

#: Entered scores of the sound provider: (share of the maximum, justification)
SCORES = {"制度建设与服务台账管理": ("0.9", "制度齐全，台账个别月份缺少负责人签字"),
          "人员配备与业务培训": ("1", "协理员按合同配齐，本月开展政策培训一次"),
          "服务对象满意度测评": ("0.9", "电话回访 40 户，满意 37 户"),
          "资金使用规范性": ("1", "专款专用，凭证齐全")}


def _user(role, org=None):
    query = db.select(User).where(User.role == role)
    if org is not None:
        query = query.where(User.organisation_id == org)
    return db.session.scalar(query.order_by(User.id).limit(1))


def _score(a, evaluator):
    for s in a.scores:
        if s.indicator.method is Method.ENTERED:
            share, why = SCORES.get(s.indicator.name, ("0.9", "按评分细则评分"))
            service.enter_score(a, s.indicator_id, s.indicator.max_points * Decimal(share), why, evaluator)


def step(ctx):
    today = today_local()
    officer, evaluator = _user(Role.OFFICER), _user(Role.EVALUATOR)
    standard = service.default_standard(officer)
    providers = ctx.made["providers"]
    contracts = ctx.made["contracts"]
    sound, sloppy = contracts[providers["sound"].id], contracts[providers["sloppy"].id]
    for contract in contracts.values():
        service.bind(contract, standard, "month" if contract is sound else "quarter", service.DEFAULT_COMMENT_DAYS,
                     {}, officer)
    manager = _user(Role.PROVIDER_MANAGER, sound.provider.organisation_id)

    # The first month of the term: scored, commented, signed.
    first = rules.period_key("month", sound.starts_on)
    first_end = rules.period_bounds("month", first)[1]
    a = service.create_assessment(sound, first, evaluator, on=first_end + timedelta(days=5))
    _score(a, evaluator)
    service.send_to_provider(a, evaluator, on=first_end + timedelta(days=6))
    if manager is not None:
        service.comment(a, "对本期考核结果无异议，台账签字问题已整改。", manager, on=first_end + timedelta(days=8))
    # the window ran its full 14 days before the officer signed
    service.sign(a, officer, on=first_end + timedelta(days=21))

    # The third month: scored, sent, and the provider appealed one indicator with evidence;
    # the window has closed and the appeal waits for the officer's decision before signing.
    third = rules.period_key("month", first_end + timedelta(days=40))
    third_end = rules.period_bounds("month", third)[1]
    if manager is not None and third_end + timedelta(days=21) < today:
        c = service.create_assessment(sound, third, evaluator, on=third_end + timedelta(days=5))
        _score(c, evaluator)
        appealed = next(s for s in c.scores if s.indicator.name == "服务对象满意度测评")
        service.enter_score(c, appealed.indicator_id, appealed.indicator.max_points * Decimal("0.6"),
                            "电话回访 40 户，满意 24 户，其中 6 户未接通按不满意计", evaluator)
        service.send_to_provider(c, evaluator, on=third_end + timedelta(days=6))
        service.comment(c, "回访中 6 户未接通即按不满意计分，不符合评分细则“未接通应另行补访”的规定；"
                           "附补访记录，申请复核该项得分。", manager, kind="appeal", indicator_id=appealed.indicator_id,
                        file=(_scan(7), "补访记录.jpg"), on=third_end + timedelta(days=9))

    # Last month: with the provider for comment, its window open.
    last = rules.period_key("month", today.replace(day=1) - timedelta(days=1))
    if last != first:
        b = service.create_assessment(sound, last, evaluator, on=today)
        _score(b, evaluator)
        service.send_to_provider(b, evaluator, on=today)

    # A field inspection of the sloppy provider that found problems to put right.
    village = sloppy.villages[0]
    service.record_inspection(service.InspectionInput(
        contract=sloppy, region_id=village.id, visited_on=today - timedelta(days=3),
        place=f"{village.name}社会救助服务站", people_met=f"{village.name}村委会主任；服务站协理员两名；走访户三户",
        checklist=[(item, "problem" if i in (1, 3) else "ok") for i, item in enumerate(service.DEFAULT_CHECKLIST)],
        findings=[("服务站无人值守，开放时间未公示", "合同第四条：服务站工作日开放并公示开放时间", True, True),
                  ("三户中两户表示近两个月无人上门照料", "合同第三条：分散供养特困人员每月照料服务", True, True)],
        summary="站点管理松散，照料服务记录与走访户反映不符，已要求限期整改。",
        rectify_due=today + timedelta(days=15)), evaluator)

    # The payroll-in-disguise contract's last quarter: being scored, a draft.
    payroll = contracts[providers["payroll"].id]
    quarter = rules.period_key("quarter", today - timedelta(days=95))
    if rules.period_bounds("quarter", quarter)[0] >= payroll.starts_on:
        draft = service.create_assessment(payroll, quarter, evaluator, on=today - timedelta(days=2))
        entered = [s for s in draft.scores if s.indicator.method is Method.ENTERED]
        for s in entered[:1]:
            service.enter_score(draft, s.indicator_id, s.indicator.max_points * Decimal("0.8"),
                                "制度文本齐全，但服务台账以考勤表代替，未见入户服务内容", evaluator)

    # An earlier notice to the sound provider, answered with evidence and accepted: closed.
    if manager is not None:
        notice = rectifications.raise_notice(
            sound, [("服务台账部分月份缺少负责人签字", "合同第五条：服务台账每月经项目负责人签字确认")],
            first_end + timedelta(days=35), "assessment", officer)
        for item in notice.items:
            rectifications.answer_item(item, "已补齐各月台账负责人签字，并建立月末台账核对制度。",
                                       rectifications.Evidence(_scan(3), "台账签字页.jpg"), manager)
            rectifications.decide_item(item, True, "已核对补签的台账，整改到位。", officer,
                                       on=first_end + timedelta(days=30))
    db.session.flush()


def _scan(seed: int) -> bytes:
    from reliefsvc.demo.payments import receipt_jpeg

    return receipt_jpeg(seed)
