"""Active discovery (section 十一) and who sees which household."""

import pytest
import sqlalchemy as sa
import time_machine

from reliefsvc.audit.models import AuditEntry
from reliefsvc.cases import service
from reliefsvc.cases.models import CASE_SCOPE_HOOK, Case, DiscoveryStatus, Origin
from reliefsvc.extensions import db as _db
from tests.cases.conftest import NOW, make_id


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def audit_entries(event_type):
    return _db.session.scalars(sa.select(AuditEntry).where(AuditEntry.event_type == event_type)).all()


def test_a_worker_reports_a_household_that_waits_for_the_officer(create_provider_user, create_user, discovery, db):
    officer = create_user("officer")
    provider, worker = create_provider_user()
    case = service.discover_case(discovery(), worker)
    assert case.case_ref == "FX202611200001"
    assert (case.origin, case.discovery_status) == (Origin.DISCOVERED, DiscoveryStatus.PENDING)
    assert case.discovered_by_provider == provider and case.discovered_by_user_id == worker.id
    assert case.discovered_by_staff.user_id == worker.id
    assert case.discovered_at == NOW and [c.value for c in case.categories] == ["tekun"]
    assert service.discover_case(discovery(id_number=None, head_name="白春花"), worker).case_ref == "FX202611200002"
    [entry, _second] = audit_entries("cases.discovered")
    assert entry.object_id == str(case.id) and f'"provider_id":{provider.id}' in entry.payload
    pending = db.session.info.get("notifications_pending", [])
    assert any(m.user_id == officer.id and m.kind == "case.discovered" and "马家集村 马玉兰" in m.title for m in pending)
    assert service.discovery_counts([provider.id]) == {provider.id: {"pending": 2, "confirmed": 0, "dismissed": 0}}


@pytest.mark.parametrize("fields,message", [
    ({"need": "困难"}, "请写明该户的困难情况"),
    ({"head_name": "  "}, "请填写户主姓名"),
    ({"id_number": "622922194801010000"}, "身份证号校验位错误"),
    ({"household_size": 0}, "家庭人口至少为 1"),
    ({"lat": 35.4, "lon": None}, "纬度和经度须同时填写"),
])
def test_what_a_discovery_needs(fields, message, create_provider_user, discovery):
    _provider, worker = create_provider_user()
    with pytest.raises(service.CaseError) as info:
        service.discover_case(discovery(**fields), worker)
    assert message in info.value.zh


def test_a_village_is_needed_and_only_providers_report(create_provider_user, create_user, discovery, place):
    _provider, worker = create_provider_user()
    with pytest.raises(service.CaseError, match="village"):
        service.discover_case(discovery(village_id=place.township.id), worker)
    with pytest.raises(service.CaseError, match="provider"):
        service.discover_case(discovery(), create_user("officer"))


def test_a_household_already_known_is_not_reported_twice(create_provider_user, create_case, discovery,
                                                         no_contract_scope):
    _provider, worker = create_provider_user()
    create_case("H777", head_id_number=make_id(901, 1948))
    with pytest.raises(service.CaseError) as info:
        service.discover_case(discovery(), worker)
    # the worker may not see that household: its number is not given away
    assert "已在救助对象名册中" in info.value.zh and "H777" not in info.value.zh


def test_the_officer_confirms_or_dismisses_on_the_case_page(client, login, create_user, create_provider_user,
                                                            discovery, db):
    _provider, worker = create_provider_user()
    officer = create_user("officer")
    first = service.discover_case(discovery(), worker)
    second = service.discover_case(discovery(id_number=None, head_name="白春花"), worker)
    login(officer)
    page = client.get(f"/cases/{first.id}").get_data(as_text=True)
    assert 'data-testid="review-form"' in page
    client.post(f"/cases/{first.id}/review", data={"confirm": "1", "reason": ""})
    client.post(f"/cases/{second.id}/review", data={"dismiss": "1", "reason": ""})  # a dismissal needs a reason
    first, second = db.session.get(Case, first.id), db.session.get(Case, second.id)
    assert first.discovery_status is DiscoveryStatus.CONFIRMED and first.reviewed_by == officer
    assert second.discovery_status is DiscoveryStatus.PENDING
    client.post(f"/cases/{second.id}/review", data={"dismiss": "1", "reason": "经核实已在外县享受低保"})
    second = db.session.get(Case, second.id)
    assert second.discovery_status is DiscoveryStatus.DISMISSED and second.review_reason == "经核实已在外县享受低保"
    assert [e.payload.count('"decision":"confirmed"') for e in audit_entries("cases.discovery_reviewed")] == [1, 0]
    with pytest.raises(service.CaseError):
        service.review_discovery(second, True, "", officer)
    assert 'data-testid="review-form"' not in client.get(f"/cases/{first.id}").get_data(as_text=True)
    counts = service.discovery_counts()[first.discovered_by_provider_id]
    assert counts == {"pending": 0, "confirmed": 1, "dismissed": 1}


def test_the_discoverer_is_told_of_the_decision(create_provider_user, create_user, discovery, db):
    _provider, worker = create_provider_user()
    case = service.discover_case(discovery(), worker)
    db.session.info.pop("notifications_pending", None)
    service.review_discovery(case, False, "重复上报", create_user("officer"))
    [message] = db.session.info["notifications_pending"]
    assert message.user_id == worker.id and "未予确认" in message.title and message.body == "重复上报"


def test_a_dismissed_discovery_does_not_block_the_real_household(create_provider_user, create_user, discovery):
    _provider, worker = create_provider_user()
    case = service.discover_case(discovery(), worker)
    service.review_discovery(case, False, "信息有误", create_user("officer"))
    again = service.discover_case(discovery(), worker)
    assert again.head_id_number == case.head_id_number and again.case_ref == "FX202611200002"


def test_the_phone_form(client, login, create_provider_user, place, db):
    _provider, worker = create_provider_user()
    login(worker)
    form = client.get("/cases/discover").get_data(as_text=True)
    assert '<optgroup label="附城镇">' in form and "马家集村" in form and 'name="lat"' in form
    response = client.post("/cases/discover", data={
        "head_name": "马玉兰", "id_number": make_id(901, 1948).lower(), "village_id": place.village.id,
        "household_size": 1, "categories": ["tekun", "linshi"], "need": "独居老人，冬季取暖困难",
        "lat": "35.3811", "lon": "103.7212", "address": "3组12号"})
    assert response.status_code == 302
    case = db.session.scalar(sa.select(Case).where(Case.origin == Origin.DISCOVERED))
    assert response.headers["Location"].endswith(f"/cases/{case.id}")
    assert case.head_id_number == make_id(901, 1948) and case.address == "3组12号" and case.lat == 35.3811
    bad = client.post("/cases/discover", data={"head_name": "李四", "id_number": "123", "village_id": place.village.id,
                                               "household_size": 1, "need": "无人照顾"})
    assert bad.status_code == 200 and "身份证号应为 18 位" in bad.get_data(as_text=True)
    assert '<option value="">' in form  # no village is chosen for the worker
    unchosen = client.post("/cases/discover", data={"head_name": "李四", "village_id": "", "household_size": 1,
                                                    "need": "无人照顾"}).get_data(as_text=True)
    assert "请选择村" in unchosen and "Not a valid choice" not in unchosen


def test_a_provider_cannot_open_another_providers_discovered_case(client, login, create_provider_user, discovery,
                                                                  no_contract_scope):
    _a, worker_a = create_provider_user("甲社工服务中心")
    _b, worker_b = create_provider_user("乙社工服务中心")
    case = service.discover_case(discovery(), worker_a)
    login(worker_b)
    assert client.get(f"/cases/{case.id}").status_code == 404
    assert case.case_ref not in client.get("/cases/?discovery=pending").get_data(as_text=True)
    assert case.case_ref not in client.get("/cases/discoveries").get_data(as_text=True)
    login(worker_a)
    assert client.get(f"/cases/{case.id}").status_code == 200
    assert case.case_ref in client.get("/cases/discoveries").get_data(as_text=True)


def test_providers_see_their_own_discoveries_until_contracts_give_them_an_area(
        app, monkeypatch, create_provider_user, create_case, create_user, discovery, place, no_contract_scope):
    provider, worker = create_provider_user()
    inside = create_case(village=place.village)
    outside = create_case(village=place.far_village)
    own = service.discover_case(discovery(village_id=place.far_village.id), worker)
    officer = create_user("officer")

    def visible(user):
        return {c.case_ref for c in _db.session.scalars(service.case_query(user, service.CaseFilter()))}

    assert visible(worker) == {own.case_ref}
    assert visible(officer) == {inside.case_ref, outside.case_ref, own.case_ref}
    assert own.visible_to(worker) and not inside.visible_to(worker)

    # The contracts domain plugs in with one line; a set of village ids will do …
    monkeypatch.setitem(app.extensions, CASE_SCOPE_HOOK,
                        lambda subject: {place.village.id} if subject.organisation_id == provider.organisation_id else None)
    assert visible(worker) == {inside.case_ref, own.case_ref}
    assert inside.visible_to(worker) and not outside.visible_to(worker)
    assert service.provider_villages(provider) == {place.village.id}
    # … and so will an SQL condition on Case.
    monkeypatch.setitem(app.extensions, CASE_SCOPE_HOOK, lambda subject: Case.village_id == place.far_village.id)
    assert visible(worker) == {outside.case_ref, own.case_ref}
    # Another provider's dismissed discovery in the area is not a household of the area.
    _other, other_worker = create_provider_user("另一家社工服务中心")
    stray = service.discover_case(discovery(village_id=place.far_village.id, id_number=None, head_name="某"),
                                  other_worker)
    assert stray.case_ref in visible(worker)
    service.review_discovery(stray, False, "重复", officer)
    assert stray.case_ref not in visible(worker)
