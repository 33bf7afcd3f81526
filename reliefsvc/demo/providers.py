"""Three providers of Kangle County and their vettings.

- 同心 (sound): a social-work organisation with qualified staff, approved for a year.
- 惠民 (sloppy): approved on conditions (tax and social-insurance records missing).
- 鑫源 (a payroll in disguise): a labour-services company whose staff the bureau named
  and whose attendance it keeps; its approval runs out within a month.
Dates are counted from the day the demo is loaded.
"""

from __future__ import annotations

from datetime import timedelta

from reliefsvc.common.formatting import now_local
from reliefsvc.common.idnumber import check_character
from reliefsvc.demo.accounts import PROVIDER as SOUND_NAME
from reliefsvc.extensions import db
from reliefsvc.providers import rules, service
from reliefsvc.providers.models import OrgType, StaffRole, Verdict, VettingStatus
from reliefsvc.security.models import Role, User

SURNAMES = "马王李张杨韩苏何祁石白赵陈周刘丁沙鲁郭金安"
GIVEN = ["建国", "秀兰", "明", "红梅", "小军", "德胜", "文", "海燕", "志强", "玉梅", "国华", "淑芳", "伟", "丽",
         "永福", "春花", "金花", "成林", "玉兰", "学军", "桂英", "晓东", "卫东", "海龙"]


def minimal_pdf(text: str) -> bytes:
    """A tiny valid one-page PDF standing for a scanned certificate."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def id_number(rng, birth_year: int) -> str:
    region = "622922"
    body = f"{region}{birth_year}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
    return body + check_character(body)


def person(rng, used: set[str]) -> str:
    while True:
        name = rng.choice(SURNAMES) + rng.choice(GIVEN)
        if name not in used:
            used.add(name)
            return name


def _vet(provider, officer, rng, *, decision, today, valid_days, fail=(), conditions=None, deadline_days=None,
         decided_days_ago=20, reasons=None):
    vetting = service.open_vetting(provider, officer)
    for item in vetting.items:
        code = next(c for c, t, *_ in service.DEFAULT_CHECKLIST if t == item.title)
        if code in fail:
            service.set_verdict(item, Verdict.FAIL, "未提供材料或材料不符合要求", officer)
            continue
        service.add_document(provider, minimal_pdf(f"{provider.uscc} {code}"), f"{code}.pdf", officer, item)
        service.set_verdict(item, Verdict.PASS, "材料齐全，经核对无误", officer)
    decided_on = today - timedelta(days=decided_days_ago)
    service.decide(vetting, service.Decision(
        decision, valid_until=today + timedelta(days=valid_days),
        conditions=conditions, condition_deadline=(today + timedelta(days=deadline_days)) if deadline_days else None,
        reasons=reasons), officer, on=decided_on)
    return vetting


def step(ctx):
    rng = ctx.rng
    today = now_local().date()
    officer = db.session.scalar(db.select(User).where(User.role == Role.OFFICER))
    used: set[str] = set()

    sound = service.create_provider(
        rules.make_uscc("52", "622922", "MJ000001"), SOUND_NAME, OrgType.SOCIAL_ORG,
        registered_on=today.replace(year=today.year - 6), registration_authority="康乐县民政局",
        legal_rep="张红梅", address="康乐县附城镇滨河路 18 号", phone="0930-4421188",
        contact_person="张红梅", contact_phone="13909301234", bank_name="甘肃康乐农村商业银行",
        bank_account="62290101200012345")
    sloppy = service.create_provider(
        rules.make_uscc("52", "622922", "MJ000002"), "康乐县惠民社会服务中心", OrgType.SOCIAL_ORG,
        registered_on=today.replace(year=today.year - 2), registration_authority="康乐县民政局",
        legal_rep="何志强", address="康乐县苏集镇街道 6 号", phone="0930-4433120",
        bank_name="中国农业银行康乐县支行", bank_account="27390001040012345")
    payroll = service.create_provider(
        rules.make_uscc("91", "622901", "MA7X2B3C"), "临夏州鑫源劳务派遣有限公司", OrgType.ENTERPRISE,
        registered_on=today.replace(year=today.year - 4), registration_authority="临夏州市场监督管理局",
        legal_rep="马成林", address="临夏市红园路 99 号", phone="0930-6210000",
        bank_name="中国工商银行临夏分行", bank_account="2706030109000012345")

    # Staff. The sound provider's demo accounts are on its roster.
    worker_user = db.session.scalar(db.select(User).where(User.username == "worker"))
    rosters = {sound: 9, sloppy: 6, payroll: 12}
    carried_over = []
    for provider, size in rosters.items():
        for i in range(size):
            if provider is sound and i == 0:
                name, role, qual = worker_user.display_name, StaffRole.COORDINATOR, "助理社会工作师"
            elif provider is sound:
                name = person(rng, used)
                role = StaffRole.SOCIAL_WORKER if i < 4 else StaffRole.COORDINATOR
                qual = rng.choice(["社会工作师", "助理社会工作师", "助理社会工作师", ""])
            elif provider is sloppy:
                name, role, qual = person(rng, used), StaffRole.COORDINATOR, rng.choice(["", "", "助理社会工作师"])
            else:
                name, role, qual = person(rng, used), StaffRole.COORDINATOR, ""
            staff = service.add_staff(
                provider, id_number=id_number(rng, rng.randint(1972, 2000)), name=name, role=role,
                qualification=qual or None, phone=f"139{rng.randint(10000000, 99999999)}",
                hired_on=today - timedelta(days=rng.randint(200, 1500)),
                nominated_by_purchaser=provider is payroll and i < 10,
                attendance_by_purchaser=provider is payroll and i < 9)
            if provider is sound and i == 0:
                staff.user = worker_user
            if provider is payroll and i < 4:
                carried_over.append(staff)
    # Four of the labour company's people worked for the sloppy provider the year before.
    # The old roster spelled the first one's name with a space: the check matches ID numbers, not names.
    for k, staff in enumerate(carried_over):
        service.add_staff(sloppy, id_number=staff.id_number, name=f"{staff.name[0]} {staff.name[1:]}" if k == 0
                          else staff.name, role=StaffRole.COORDINATOR,
                          hired_on=today - timedelta(days=800), left_on=today - timedelta(days=401))

    # A relation the sound provider declared, and one the platform will find.
    mother = next(s for s in sound.staff if s.role is StaffRole.SOCIAL_WORKER)
    service.declare_relation(sound, mother, "village_committee", "马玉兰", "苏集镇韩家山村村委会", "母亲")

    _vet(sound, officer, rng, decision=VettingStatus.APPROVED, today=today, valid_days=300)
    _vet(sloppy, officer, rng, decision=VettingStatus.CONDITIONAL, today=today, valid_days=200,
         fail=("tax_insurance",), conditions="30 日内补交近一年纳税证明和社会保险缴费记录", deadline_days=25)
    _vet(payroll, officer, rng, decision=VettingStatus.APPROVED, today=today, valid_days=21, decided_days_ago=344)
    ctx.made.update(providers={"sound": sound, "sloppy": sloppy, "payroll": payroll})
