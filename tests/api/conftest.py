import pytest


@pytest.fixture
def make_token(db):
    """``make_token(user, days=90)`` → the token text, made through the service as the page does."""
    from reliefsvc.api import service

    def make(user, days: int = 90, name: str = "测试令牌") -> str:
        return service.create_token(user, name, days)[1]

    return make


@pytest.fixture
def api(client, make_token):
    """``api(user)`` → a function ``call(method, url, **kw)`` that sends ``user``'s token."""

    def for_user(user):
        token = make_token(user)

        def call(method: str, url: str, headers=None, **kwargs):
            response = client.open(url, method=method, headers={"Authorization": f"Bearer {token}", **(headers or {})},
                                   **kwargs)
            response.close()
            return response

        call.token = token
        return call

    return for_user


@pytest.fixture
def api_objects(db, create_user, create_org):
    """One of everything the API's URLs name, for provider 甲 (``own``) and provider 乙 (``other``)."""
    from reliefsvc.cases import service as cases
    from reliefsvc.cases.models import Case
    from reliefsvc.regions.models import Level, Region
    from reliefsvc.security.models import Role
    from tests.security.test_role_matrix import (
        assessment_objects,
        case_objects,
        evaluation_objects,
        integrity_objects,
        payment_objects,
        provider_objects,
        spotcheck_objects,
    )

    county = Region(code="622922", name="康乐县", level=Level.COUNTY)
    db.session.add(county)
    db.session.flush()
    officer = create_user(Role.OFFICER, username="api-officer")
    own = {"region_id": county.id, "user_id": officer.id,
           **provider_objects(db, create_org, officer, "测试承接主体甲")}
    own.update(case_objects(db, county, create_user(Role.PROVIDER_WORKER, username="api-reporter")))
    own["case_ref"] = db.session.get(Case, own["case_id"]).case_ref
    own.update(integrity_objects(db, own["record_id"]))
    own.update(assessment_objects(db, own))
    own.update(spotcheck_objects(db, own))
    own.update(payment_objects(db, own))
    own.update(evaluation_objects(db, own))

    other_org = create_org("测试承接主体乙", "provider")
    other = {"region_id": county.id, "user_id": officer.id,
             **provider_objects(db, create_org, officer, "测试承接主体乙")}
    reporter = create_user(Role.PROVIDER_WORKER, org=other_org, username="api-other-reporter")
    village_id = db.session.get(Case, own["case_id"]).village_id
    case = cases.discover_case(cases.Discovery(head_name="李桂花", village_id=village_id, household_size=1,
                                               need="独居，生活困难"), reporter)
    other.update(case_id=case.id, case_ref=case.case_ref)
    other.update(integrity_objects(db, other["record_id"]))
    other.update(assessment_objects(db, other))
    other.update(spotcheck_objects(db, other))
    other.update(payment_objects(db, other))
    other.update(evaluation_objects(db, other))
    return own, other
