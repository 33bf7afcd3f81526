"""A small county with real data for the dashboard and ledger tests: contracts, records,
flags, spot checks, assessments, rectifications and payments, made through the services
where a service exists and as rows where only the figures matter."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from reliefsvc.common.formatting import LOCAL_TZ
from reliefsvc.security.models import Role
from tests.conftest import make_id


def local(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=LOCAL_TZ)


@pytest.fixture
def kept(app):
    """The pages' kept figures on (tests run without them unless they ask), empty before and after."""
    from reliefsvc.common import pagecache

    before = app.config.get("PAGE_FIGURES_SECONDS")
    app.config["PAGE_FIGURES_SECONDS"] = 60
    pagecache.of_app(app).clear()
    yield pagecache.of_app(app)
    pagecache.of_app(app).clear()
    app.config["PAGE_FIGURES_SECONDS"] = before


@pytest.fixture
def county(db, create_contract, create_case, create_user, villages):
    """``county(n_contracts=2, records_each=3)`` → dict of what was made."""
    from reliefsvc.assessments.models import Assessment, AssessmentStatus, Standard
    from reliefsvc.cases.models import Alert, AlertLevel
    from reliefsvc.evaluations.models import Evaluation
    from reliefsvc.evidence import service as records
    from reliefsvc.evidence.models import RecordSource
    from reliefsvc.hiring.models import HiringRiskResult, RiskLevel
    from reliefsvc.integrity.models import IntegrityFlag
    from reliefsvc.payments.models import EntryStatus, Instalment, PaymentEntry
    from reliefsvc.providers import service as providers
    from reliefsvc.rectifications import service as rectifications
    from reliefsvc.spotchecks.models import (
        CheckOutcome,
        DrawStatus,
        SpotCheckDraw,
        SpotCheckItem,
        Stratum,
    )

    counter = iter(range(1, 10_000))

    def make(n_contracts: int = 2, records_each: int = 3, today: date = date(2026, 11, 25), provider=None):
        officer = create_user(Role.OFFICER)
        standard = Standard(code=f"STD{next(counter)}", name="季度考核标准", created_at=local("2026-01-01 09:00"))
        db.session.add(standard)
        made = {"officer": officer, "contracts": [], "records": [], "cases": [], "managers": [], "workers": []}
        for i in range(n_contracts):
            contract = create_contract(provider=provider, obligations=(("home_visit", "month", 10, "records"),))
            manager = create_user(Role.PROVIDER_MANAGER, org=contract.provider.organisation)
            worker_user = create_user(Role.PROVIDER_WORKER, org=contract.provider.organisation)
            staff = providers.add_staff(contract.provider, id_number=make_id(700 + next(counter) + 17 * len(made["contracts"])),
                                        name=f"服务员{i}", role="social_worker")
            staff.user = worker_user
            case = create_case(villages[i % len(villages)], head_name=f"韩户主{i}")
            made["contracts"].append(contract)
            made["managers"].append(manager)
            made["workers"].append(worker_user)
            made["cases"].append(case)
            for r in range(records_each):
                start = local(f"2026-{10 + r % 2:02d}-{5 + r:02d} 09:00")
                rec = records.submit(records.RecordInput(
                    contract=contract, worker=staff, service_type_code="home_visit", started_at=start,
                    ended_at=start + timedelta(minutes=45), case=case, record_ref=f"TZ-{i}-{r:03d}"),
                    [], worker_user, RecordSource.LEDGER)
                made["records"].append(rec)
            # one open flag per record but the first, one dismissed flag
            for n, rec in enumerate(made["records"][-records_each:]):
                db.session.add(IntegrityFlag(record_id=rec.id, contract_id=contract.id, worker_id=staff.id,
                                             month=rec.month, code="FLASH_SHORT" if n % 2 else "LATE_ENTRY",
                                             severity="medium", detail="测试", found_at=local("2026-11-01 08:00"),
                                             dismissed_at=local("2026-11-02 08:00") if n == 0 else None,
                                             dismissed_by_id=officer.id if n == 0 else None,
                                             dismiss_reason="核实无误" if n == 0 else ""))
            # a drawn spot check: two checked (one not delivered), one open assigned to an evaluator
            draw = SpotCheckDraw(contract_id=contract.id, day_from=date(2026, 10, 1), day_to=date(2026, 10, 31),
                                 status=DrawStatus.DRAWN, frame_hash="0" * 64, seed="20261101")
            db.session.add(draw)
            db.session.flush()
            evaluator = create_user(Role.EVALUATOR)
            made.setdefault("evaluators", []).append(evaluator)
            for n, rec in enumerate(made["records"][-records_each:]):
                outcome = (CheckOutcome.NOT_DELIVERED, CheckOutcome.CONFIRMED, None)[n % 3]
                db.session.add(SpotCheckItem(draw_id=draw.id, record_id=rec.id, record_ref=rec.record_ref,
                                             ticket=f"t{n}", stratum=Stratum.RANDOM, outcome=outcome,
                                             evaluator_id=evaluator.id, assigned_at=local("2026-11-01 10:00"),
                                             checked_at=local("2026-11-03 10:00") if outcome else None))
            # a signed assessment of 2026Q3 graded "good" and a payment instalment due this week
            db.session.add(Assessment(contract_id=contract.id, standard_id=standard.id, period="quarter",
                                      period_key="2026Q3", day_from=date(2026, 7, 1), day_to=date(2026, 9, 30),
                                      status=AssessmentStatus.SIGNED, total=Decimal("85"), grade="good",
                                      coefficient=Decimal("1.00"), created_at=local("2026-10-05 09:00"),
                                      signed_at=local("2026-10-20 09:00")))
            db.session.add(Assessment(contract_id=contract.id, standard_id=standard.id, period="quarter",
                                      period_key="2026Q4", day_from=date(2026, 10, 1), day_to=date(2026, 12, 31),
                                      status=AssessmentStatus.COMMENTING, total=Decimal("72"), grade="pass",
                                      created_at=local("2026-11-01 09:00"), comment_until=today + timedelta(days=2)))
            db.session.add(HiringRiskResult(contract_id=contract.id, computed_at=local("2026-11-01 03:00"),
                                            score=70 + i, level=RiskLevel.HIGH, indicators=[], settings={},
                                            trigger="job"))
            notice = rectifications.raise_notice(contract, [("台账缺少照片", "合同第五条")], today - timedelta(days=1),
                                                 "officer", officer)
            made.setdefault("notices", []).append(notice)
            db.session.add(Evaluation(contract_id=contract.id, year_no=1, year=2026, day_from=date(2026, 1, 1),
                                      day_to=date(2026, 12, 31), due_on=today + timedelta(days=3),
                                      created_at=local("2026-11-01 09:00"), assessor_id=evaluator.id))
            db.session.add(Alert(case=case, level=AlertLevel.RED, issued_at=local("2026-11-24 09:00"),
                                 due_at=local("2026-11-25 09:00"), note="独居老人"))
            inst = Instalment(contract_id=contract.id, number=1, share=Decimal("0.5"), due_on=today,
                              period_from=date(2026, 1, 1), period_to=date(2026, 6, 30),
                              created_at=local("2026-01-02 09:00"))
            db.session.add(inst)
            db.session.flush()
            db.session.add(PaymentEntry(contract_id=contract.id, instalment_id=inst.id, status=EntryStatus.PROPOSED,
                                        planned=Decimal("60000"), computed=Decimal("58000"), amount=Decimal("58000.50"),
                                        proposed_by_id=officer.id, proposed_at=local("2026-11-20 09:00")))
        db.session.flush()
        return made

    return make
