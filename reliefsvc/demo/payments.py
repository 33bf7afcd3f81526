"""Payments and fund use in the demo county.

A second officer (``officer2``) so that payments can be approved by two people; monthly
payment plans; the sound provider's first month computed from its signed assessment,
proposed by one officer, approved by the other and disbursed; its second month assessed
and signed, left for an officer to compute (the browser test does); the payroll-in-disguise
contract's first instalment proposed at the planned amount, far from its results; fund-use
reports, one of them with spending the notice forbids (road hardening) and a management fee
above the cap.
"""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa
from PIL import Image, ImageDraw

from reliefsvc.assessments import rules as assessment_rules
from reliefsvc.assessments import service as assessments
from reliefsvc.contracts import rules as contract_rules
from reliefsvc.extensions import db
from reliefsvc.payments import service
from reliefsvc.security.models import Role, User

SECOND_OFFICER = ("officer2", "陈志刚")


def _user(role, org=None):
    query = db.select(User).where(User.role == role)
    if org is not None:
        query = query.where(User.organisation_id == org)
    return db.session.scalar(query.order_by(User.id).limit(1))


def receipt_jpeg(seed: int) -> bytes:
    """A small scanned-receipt-like JPEG."""
    img = Image.new("RGB", (240, 320), (250, 250, 245))
    draw = ImageDraw.Draw(img)
    for i in range(12):
        draw.line([(20, 30 + i * 22), (220 - (seed * 7 + i * 13) % 80, 30 + i * 22)], fill=(60, 60, 60), width=2)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=80)
    return out.getvalue()


def monthly_plan(contract, officer):
    months = contract_rules.periods_in_term("month", contract.starts_on, contract.ends_on)
    share = (Decimal(1) / len(months)).quantize(Decimal("0.0001"))
    made = []
    for i, key in enumerate(months):
        start, end = assessment_rules.period_bounds("month", key)
        start, end = max(start, contract.starts_on), min(end, contract.ends_on)
        this = share if i < len(months) - 1 else Decimal(1) - share * (len(months) - 1)
        made.append(service.add_instalment(contract, this, start, end, officer, due_on=end + timedelta(days=15)))
    return made


def step(ctx):
    officer2 = db.session.scalar(sa.select(User).where(User.username == SECOND_OFFICER[0]))
    officer, evaluator = _user(Role.OFFICER), _user(Role.EVALUATOR)
    providers, contracts = ctx.made["providers"], ctx.made["contracts"]
    sound, sloppy, payroll = (contracts[providers[k].id] for k in ("sound", "sloppy", "payroll"))
    today = service.today()

    # The sound provider: its second month assessed and signed too (the window ran out).
    second = assessment_rules.period_key("month", sound.starts_on.replace(day=28) + timedelta(days=5))
    second_end = assessment_rules.period_bounds("month", second)[1]
    if second_end + timedelta(days=21) < today:
        from reliefsvc.demo.assessments import _score

        a = assessments.create_assessment(sound, second, evaluator, on=second_end + timedelta(days=5))
        _score(a, evaluator)
        assessments.send_to_provider(a, evaluator, on=second_end + timedelta(days=6))
        assessments.sign(a, officer, on=second_end + timedelta(days=21))

    plans = {c.id: monthly_plan(c, officer) for c in (sound, sloppy, payroll)}
    service.save_settings(sound, Decimal("0.10"), {"staff": "380000", "travel": "40000", "materials": "20000",
                                                   "training": "10000", "management_fee": "36000"}, officer)

    # First month of the sound contract: computed from the signed assessment, two officers, paid.
    first = plans[sound.id][0]
    entry = service.propose(first, officer, "按第一个月考核结果计算", on=today)
    service.approve(entry, officer2, "核对考核结果与扣减，同意支付")
    service.record_disbursement(entry, today, "记-2026-0158", officer2)

    # The payroll-in-disguise contract pays the planned amount whatever the results: proposed.
    service.propose(plans[payroll.id][0], officer, "按合同约定按月定额支付", on=today)

    # Fund-use reports of the sound provider: the first month in order; the second with an
    # item the notice forbids (road hardening, section 七), no receipt for it, and a management
    # fee above the 10 % cap.
    manager = _user(Role.PROVIDER_MANAGER, sound.provider.organisation_id)
    for inst, lines in (
            (plans[sound.id][0], [("staff", "协理员工资及社保", "32000.00"), ("travel", "入户走访交通补贴", "2600.00"),
                                  ("materials", "服务台账及宣传资料印制", "900.00"),
                                  ("management_fee", "项目管理费", "3000.00")]),
            (plans[sound.id][1], [("staff", "协理员工资及社保", "21000.00"),
                                  ("other", "其他：村组道路硬化配套材料", "6000.00"),
                                  ("management_fee", "机构管理费", "4200.00")])):
        report = service.create_report(sound, inst.period_from, inst.period_to, manager,
                                       f"{inst.period_from.month}月资金使用情况")
        for i, (category, purpose, amount) in enumerate(lines):
            line = service.add_line(report, category, purpose, amount, manager)
            if category != "other":
                service.add_receipt(line, receipt_jpeg(inst.number * 10 + i), f"票据{i + 1}.jpg", manager)
        service.submit_report(report, manager)
    db.session.flush()
