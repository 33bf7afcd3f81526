from __future__ import annotations

from datetime import date

import pytest

from reliefsvc.security.models import Role


@pytest.fixture
def people(create_user):
    def make(contract):
        return {"officer": create_user(Role.OFFICER), "evaluator": create_user(Role.EVALUATOR),
                "manager": create_user(Role.PROVIDER_MANAGER, org=contract.provider.organisation)}

    return make


@pytest.fixture
def scored(people):
    """``scored(contract, points=None)`` → (assessment of 2026-Q1 with every entered indicator
    scored at ``points`` share of its maximum, people)."""
    from decimal import Decimal

    from reliefsvc.assessments import service
    from reliefsvc.assessments.models import Method

    def make(contract, share="1"):
        who = people(contract)
        a = service.create_assessment(contract, "2026-Q1", who["evaluator"], on=date(2026, 4, 10))
        for s in a.scores:
            if s.indicator.method is Method.ENTERED:
                service.enter_score(a, s.indicator_id, s.indicator.max_points * Decimal(share), "查阅台账", who["evaluator"])
        return a, who

    return make
