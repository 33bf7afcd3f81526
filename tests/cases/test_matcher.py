"""The relations matcher: staff who are, or may be related to, households served (section 九)."""

import sqlalchemy as sa

from reliefsvc.cases import service
from reliefsvc.cases.models import CASE_SCOPE_HOOK
from reliefsvc.providers import service as providers
from reliefsvc.providers.models import Relation, RelationKind, RelationStatus
from tests.cases.conftest import make_id


def found(db):
    return db.session.scalars(sa.select(Relation).where(Relation.status == RelationStatus.FOUND)
                              .order_by(Relation.match_key)).all()


def test_the_matcher_is_registered():
    assert service._case_household_matches in providers.MATCHERS
    assert providers.MATCHERS.count(service._case_household_matches) == 1


def test_same_id_number_as_a_head_or_a_member(create_provider_user, create_case, db):
    provider, _user = create_provider_user()
    head = providers.add_staff(provider, id_number=make_id(41, 1980), name="马成林", role="coordinator")
    member = providers.add_staff(provider, id_number=make_id(42, 1985), name="李红", role="coordinator")
    gone = providers.add_staff(provider, id_number=make_id(43, 1985), name="王伟", role="coordinator")
    case = create_case(head_name="马成林", head_id_number=make_id(41, 1980))
    service.add_member(case, "李红", "spouse", make_id(42, 1985))
    service.add_member(case, "王伟", "child", make_id(43, 1985))
    providers.mark_left(gone, service.today())

    assert providers.find_relations(provider) == 2
    relations = found(db)
    assert {(r.staff_id, r.kind, r.match_key) for r in relations} == {
        (head.id, RelationKind.CASE_HOUSEHOLD, f"case:{head.id}:head:{case.id}"),
        (member.id, RelationKind.CASE_HOUSEHOLD, f"case:{member.id}:member:{case.members[0].id}")}
    assert {r.relationship_text for r in relations} == {"本人即救助对象户主（身份证号相同）", "本人是救助对象家庭成员（身份证号相同）"}
    assert providers.find_relations(provider) == 0  # stable keys: a rerun lists nothing twice


def test_same_name_as_a_head_in_a_village_the_provider_serves(app, monkeypatch, create_provider_user, create_case,
                                                              place, db):
    provider, _user = create_provider_user()
    staff = providers.add_staff(provider, id_number=make_id(44, 1980), name="马德胜", role="coordinator")
    served = create_case(head_name="马德胜", village=place.village)
    create_case(head_name="马德胜", village=place.far_village)  # a namesake elsewhere is no news
    monkeypatch.setitem(app.extensions, CASE_SCOPE_HOOK, lambda subject: {place.village.id}
                        if subject.organisation_id == provider.organisation_id else None)
    assert providers.find_relations(provider) == 1
    [relation] = found(db)
    assert relation.match_key == f"case:{staff.id}:name:{served.id}"
    assert relation.related_name == "马德胜" and served.case_ref in relation.related_detail
    assert providers.find_relations(provider) == 0


def test_without_contracts_the_villages_of_its_own_discoveries_count(create_provider_user, create_case, discovery,
                                                                     place, no_contract_scope, db):
    provider, worker = create_provider_user()
    providers.add_staff(provider, id_number=make_id(45, 1980), name="马德胜", role="coordinator")
    create_case(head_name="马德胜", village=place.far_village)
    assert providers.find_relations(provider) == 0
    service.discover_case(discovery(village_id=place.far_village.id), worker)
    assert providers.find_relations(provider) == 1
