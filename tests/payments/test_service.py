"""Payments end to end in the service: computed from signed assessments, the two-person rule,
nothing decided changes (service, ORM and database), reversal, fund use, the summary."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from reliefsvc.assessments import service as assessments
from reliefsvc.assessments.models import Method
from reliefsvc.audit.models import AuditEntry
from reliefsvc.contracts.models import MonthCase, MonthCounter, PricingModel
from reliefsvc.payments import service
from reliefsvc.payments.models import EntryStatus, FrozenPaymentError, PaymentEntry
from reliefsvc.security.models import Role


@pytest.fixture
def setup(create_contract, create_user):
    """A result-paid contract (120 000 元, 2026), two officers, an evaluator, the manager, and the
    first quarter assessed and signed with every entered indicator at ``share`` of its maximum."""

    def make(share="1", linked=True, pricing_model="output"):
        contract = create_contract(payment_linked=linked)
        contract.pricing_model = PricingModel(pricing_model)
        people = {"officer": create_user(Role.OFFICER), "officer2": create_user(Role.OFFICER),
                  "evaluator": create_user(Role.EVALUATOR),
                  "manager": create_user(Role.PROVIDER_MANAGER, org=contract.provider.organisation)}
        a = assessments.create_assessment(contract, "2026-Q1", people["evaluator"], on=date(2026, 4, 5))
        for s in a.scores:
            if s.indicator.method is Method.ENTERED:
                assessments.enter_score(a, s.indicator_id, s.indicator.max_points * Decimal(share), "查阅台账",
                                        people["evaluator"])
        assessments.send_to_provider(a, people["evaluator"], on=date(2026, 4, 6))
        assessments.sign(a, people["officer"], on=date(2026, 4, 30))
        inst = service.add_instalment(contract, "25%", date(2026, 1, 1), date(2026, 3, 31), people["officer"],
                                      due_on=date(2026, 4, 30))
        return contract, inst, a, people

    return make


def test_instalment_is_computed_from_the_signed_assessment(setup):
    contract, inst, a, people = setup()
    comp = service.compute(inst, on=date(2026, 5, 1))
    assert comp.planned == Decimal("30000.00")
    result = next(line for line in comp.lines if line.kind == "result")
    assert a.period_key in result.text_zh and str(a.coefficient) in result.text_zh
    assert result.amount == service.rules.fen(Decimal("30000") * a.coefficient)
    # no records at all: the home-visit obligation (10 a month) was missed, a quarter off
    missed = next(line for line in comp.lines if line.kind == "missed")
    assert missed.amount == -service.rules.fen(result.amount * Decimal("0.25"))
    assert comp.amount == result.amount + missed.amount


def test_refuted_records_are_deducted(setup, db):
    contract, inst, _a, _people = setup()
    for month in ("2026-01", "2026-02", "2026-03"):
        db.session.add(MonthCounter(contract_id=contract.id, service_type_code="home_visit", month=month,
                                    delivered=20, accepted=18, rejected=0, refuted=2, minutes=600))
    db.session.flush()
    comp = service.compute(inst, on=date(2026, 5, 1))
    refuted = next(line for line in comp.lines if line.kind == "refuted")
    assert refuted.amount == -service.rules.fen(comp.gross * 6 / 60)
    assert not any(line.kind == "missed" for line in comp.lines)  # 20 a month delivered, 10 due


def test_two_person_rule(setup, db):
    _contract, inst, _a, people = setup()
    entry = service.propose(inst, people["officer"], on=date(2026, 5, 1))
    assert entry.status is EntryStatus.PROPOSED
    with pytest.raises(service.PaymentError, match="two-person"):
        service.approve(entry, people["officer"])
    with pytest.raises(service.PaymentError, match="only officers"):
        service.approve(entry, people["evaluator"])
    with pytest.raises(service.PaymentError, match="two-person"):
        service.refuse(entry, people["officer"], "不同意")
    service.approve(entry, people["officer2"], "同意")
    assert entry.status is EntryStatus.APPROVED and entry.approved_by_id == people["officer2"].id
    recorded = set(db.session.scalars(sa.select(AuditEntry.event_type)))
    assert {"payments.proposed", "payments.approved"} <= recorded


def test_the_database_refuses_one_person_approving(setup, db):
    _contract, inst, _a, people = setup()
    entry = service.propose(inst, people["officer"], on=date(2026, 5, 1))
    with pytest.raises(sa.exc.IntegrityError), db.session.begin_nested():
        db.session.execute(sa.text("UPDATE payment_entry SET status = 'approved', approved_by_id = proposed_by_id, "
                                   "decided_at = proposed_at WHERE id = :id"), {"id": entry.id})


def test_nothing_approved_changes_only_a_reversal(setup, db):
    contract, inst, _a, people = setup()
    entry = service.propose(inst, people["officer"], on=date(2026, 5, 1))
    service.approve(entry, people["officer2"])
    service.record_disbursement(entry, service.today(), "记-001", people["officer2"])
    with pytest.raises(service.PaymentError):
        service.approve(entry, people["officer2"])
    with pytest.raises(service.PaymentError):
        service.record_disbursement(entry, service.today(), "记-002", people["officer"])
    with pytest.raises(service.PaymentError):
        service.propose(inst, people["officer"], on=date(2026, 5, 1))
    # the ORM refuses ...
    with pytest.raises(FrozenPaymentError), db.session.begin_nested():
        entry.amount = Decimal("1.00")
        db.session.flush()
    db.session.expire_all()
    # ... and so does the database, whoever asks
    for statement in ("UPDATE payment_entry SET amount = 1 WHERE id = :id", "DELETE FROM payment_entry WHERE id = :id",
                      "UPDATE payment_disbursement SET voucher_no = 'x' WHERE entry_id = :id"):
        with pytest.raises(sa.exc.DatabaseError), db.session.begin_nested():
            db.session.execute(sa.text(statement), {"id": entry.id})
    db.session.expire_all()
    amount = db.session.get(PaymentEntry, entry.id).amount
    # a reversal, approved by two people in turn, takes it back
    rev = service.propose_reversal(db.session.get(PaymentEntry, entry.id), people["officer2"], "重复支付")
    with pytest.raises(service.PaymentError):
        service.approve(rev, people["officer2"])
    service.approve(rev, people["officer"])
    assert service.contract_totals(contract)["approved"] == 0
    assert rev.signed_amount == -amount
    # and the instalment may be proposed again
    assert service.propose(inst, people["officer"], on=date(2026, 5, 1)).status is EntryStatus.PROPOSED


def test_nothing_to_pay_before_the_assessment_is_signed(create_contract, create_user):
    contract = create_contract()
    officer = create_user(Role.OFFICER)
    inst = service.add_instalment(contract, "0.5", date(2026, 1, 1), date(2026, 6, 30), officer, due_on=date(2026, 7, 15))
    with pytest.raises(service.PaymentError, match="sign the period"):
        service.propose(inst, officer, on=date(2026, 7, 1))


def test_plan_shares_cannot_exceed_the_whole(create_contract, create_user):
    contract = create_contract()
    officer = create_user(Role.OFFICER)
    service.add_instalment(contract, "60%", date(2026, 1, 1), date(2026, 6, 30), officer, due_on=date(2026, 7, 15))
    with pytest.raises(service.PaymentError, match="100"):
        service.add_instalment(contract, "50%", date(2026, 7, 1), date(2026, 12, 31), officer, milestone="终期评估后")


def test_per_head_contract_shows_the_gap_to_results(setup):
    contract, inst, a, people = setup(share="0.2", linked=False, pricing_model="per_head")
    comp = service.compute(inst, on=date(2026, 5, 1))
    assert comp.amount == comp.planned == Decimal("30000.00")
    assert comp.computed < comp.planned
    entry = service.propose(inst, people["officer"], on=date(2026, 5, 1))
    service.approve(entry, people["officer2"])
    summary = service.payment_summary(contract, date(2026, 1, 1), date(2026, 12, 31))
    assert summary["gap_to_results"] == summary["approved"] - summary["computed"] > 0


def test_payment_summary_keys_and_types(setup):
    contract, inst, _a, people = setup()
    entry = service.propose(inst, people["officer"], on=date(2026, 5, 1))
    service.approve(entry, people["officer2"])
    service.record_disbursement(entry, service.today(), "记-9", people["officer"])
    s = service.payment_summary(contract, date(2026, 1, 1), date(2026, 12, 31))
    assert set(s) == {"planned", "computed", "approved", "disbursed", "deductions", "gap_to_results",
                      "fund_use_findings", "unit_cost"}
    assert s["planned"] == Decimal("30000.00") and s["approved"] == s["disbursed"] == entry.amount
    assert all(isinstance(s[k], Decimal) for k in ("planned", "computed", "approved", "disbursed", "deductions",
                                                     "gap_to_results"))
    assert s["fund_use_findings"] == 0 and s["unit_cost"] is None
    assert service.payment_summary(contract, date(2027, 1, 1), date(2027, 12, 31))["planned"] == 0


def test_forbidden_spending_is_flagged(setup, photo_bytes):
    contract, _inst, _a, people = setup()
    manager = people["manager"]
    report = service.create_report(contract, date(2026, 1, 1), date(2026, 1, 31), manager)
    staff = service.add_line(report, "staff", "协理员工资", "9000.00", manager)
    service.add_receipt(staff, photo_bytes(3), "工资表.jpg", manager)
    road = service.add_line(report, "other", "其他：村组道路硬化配套材料", "2000.00", manager)
    service.add_receipt(road, photo_bytes(4), "发票.jpg", manager)
    with pytest.raises(service.PaymentError, match="PDF"):
        service.add_receipt(road, b"not a receipt at all", "x.pdf", manager)
    check = service.submit_report(report, manager)
    assert [f.kind for f in check.findings] == ["forbidden"]
    assert "路面硬化" in check.findings[0].text_zh
    assert report.findings == 1
    s = service.payment_summary(contract, date(2026, 1, 1), date(2026, 12, 31))
    assert s["fund_use_findings"] == 1
    with pytest.raises(service.PaymentError):
        service.add_line(report, "staff", "补录", "1.00", manager)


def test_management_fee_above_the_contracts_cap(setup):
    contract, _inst, _a, people = setup()
    service.save_settings(contract, "0.05", {}, people["officer"])
    report = service.create_report(contract, date(2026, 2, 1), date(2026, 2, 28), people["manager"])
    service.add_line(report, "staff", "工资", "9000", people["manager"])
    service.add_line(report, "management_fee", "管理费", "900", people["manager"])
    kinds = {f.kind for f in service.check_report(report).findings}
    assert "fee_share" in kinds  # 9.1 % above a 5 % cap


def test_anomalies_compare_with_earlier_months(setup, db):
    contract, _inst, _a, _people = setup()
    for month, n in (("2026-01", 10), ("2026-02", 12), ("2026-03", 11), ("2026-04", 40)):
        db.session.add_all([MonthCase(contract_id=contract.id, service_type_code="home_visit", month=month,
                                      case_id=i, records=1) for i in range(1, n + 1)])
    db.session.flush()
    found = service.find_anomalies("2026-04")
    assert [(a.kind, a.value, a.baseline) for a in found] == [("households", Decimal(40), Decimal("11.00"))]
    assert service.find_anomalies("2026-04") == []  # listed once
