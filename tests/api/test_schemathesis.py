"""Property-based: schemathesis generates requests from the OpenAPI description and calls
the app in-process (WSGI); no answer may be a 500 or break the description."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from reliefsvc.security.models import Role

CHECKS = [schemathesis.checks.not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, response_headers_conformance, negative_data_rejection]
EXAMPLES = 30


@pytest.fixture
def tokens(make_token, create_user):
    """A bureau token and two provider tokens (the worker's; the manager's, which alone among
    the providers' reads evaluations, payments and fund use): each generated request is sent with all."""
    return [make_token(create_user(role)) for role in (Role.OFFICER, Role.PROVIDER_WORKER, Role.PROVIDER_MANAGER)]


def test_the_api_keeps_its_description(app, api_objects, tokens, db):
    # schemathesis' pytest plugin (``from_fixture``) does not run under pytest 9, so each
    # operation's hypothesis strategy is driven here, against the app in-process (WSGI).
    app.config["API_RATE_LIMIT_PER_MINUTE"] = 0
    calls = {"n": 0}
    try:
        schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) == 29

        for operation in operations:
            @given(case=operation.as_strategy())
            @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
                      database=None)
            def run(case):
                for token in tokens:
                    db.session.commit()  # as the committing test client does: the test's data is committed
                    try:
                        case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)
                    finally:
                        db.session.rollback()
                    calls["n"] += 1

            run()
    finally:
        app.config["API_RATE_LIMIT_PER_MINUTE"] = 120
    print(f"schemathesis: {len(operations)} operations, {calls['n']} calls")


def test_the_description_covers_every_api_endpoint(app, client):
    from tests.api.matrix import API_MATRIX, V

    described = {(m.upper(), p) for p, ops in client.get("/api/v1/openapi.json").json["paths"].items() for m in ops}
    expected = {(method, _template(url)) for method, url, _, _ in API_MATRIX.values()}
    assert described == expected, described ^ expected
    assert all(path.startswith(V) for _, path in described)


def _template(url: str) -> str:
    return url
