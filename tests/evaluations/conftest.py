from __future__ import annotations

from datetime import date

import pytest

from reliefsvc.security.models import Role


@pytest.fixture
def ended_contract(create_contract):
    """A contract of 2025–2026 whose first execution year (2025) has ended."""
    return create_contract(starts_on=date(2025, 1, 1), ends_on=date(2026, 12, 31))


@pytest.fixture
def people(create_user):
    def make(contract):
        return {"officer": create_user(Role.OFFICER), "reviewer": create_user(Role.OFFICER),
                "evaluator": create_user(Role.EVALUATOR),
                "manager": create_user(Role.PROVIDER_MANAGER, org=contract.provider.organisation)}

    return make


@pytest.fixture
def ready(people):
    """``ready(contract)`` → (evaluation of year 1 scored, concluded and sent to the provider, people)."""
    from reliefsvc.evaluations import service

    def make(contract, on=date(2026, 2, 10)):
        who = people(contract)
        ev = service.create_evaluation(contract, 1, None, origin="job", on=date(2026, 1, 1))
        for code in ("management", "outcomes", "funds"):
            service.score_dimension(ev, code, "85", f"{code} 的评价意见", who["evaluator"])
        service.conclude(ev, "good", True, "总体良好，建议继续购买。", who["evaluator"])
        service.send_to_provider(ev, who["evaluator"], on=on)
        return ev, who

    return make
