"""Every endpoint against every role: right user, wrong role, anonymous (and, where the URL
names an object of an organisation, another organisation's object).

The expected roles are written out here, not read from the decorators, so that a changed
decorator shows up as a failing test. A new endpoint fails ``test_every_endpoint_is_in_the_matrix``
until it is added below.
"""

from __future__ import annotations

import pytest

from reliefsvc.security.models import Role

ALL = frozenset(Role)
ADMIN = frozenset({Role.ADMIN})
OFFICER = frozenset({Role.OFFICER})
AUDIT_READERS = frozenset({Role.ADMIN, Role.INSPECTOR})
PROVIDER_EDITORS = frozenset({Role.OFFICER, Role.PROVIDER_MANAGER})
BUREAU = frozenset({Role.ADMIN, Role.OFFICER, Role.EVALUATOR, Role.INSPECTOR})
P = "/providers/{provider_id}"
C = "/contracts/{contract_id}"
R = "/records/{record_id}"
V = P + "/vettings/{vetting_id}"
H = "/cases/{case_id}"

#: endpoint -> (method, URL template, roles allowed)
MATRIX: dict[str, tuple[str, str, frozenset]] = {
    "security.home": ("GET", "/", ALL),
    "security.logout": ("POST", "/logout", ALL),
    "security.users": ("GET", "/users", ADMIN),
    "security.create_user": ("GET", "/users/new", ADMIN),
    "security.toggle_user": ("POST", "/users/{user_id}/enabled", ADMIN),
    "regions.tree": ("GET", "/regions/", ALL),
    "regions.show": ("GET", "/regions/{region_id}", ALL),
    "regions.import_file": ("GET", "/regions/import", ADMIN),
    "audit.log": ("GET", "/audit/", AUDIT_READERS),
    "audit.verify": ("POST", "/audit/verify", AUDIT_READERS),
    "notifications.inbox": ("GET", "/notifications/", ALL),
    "notifications.read": ("POST", "/notifications/{notification_id}/read", ALL),
    "notifications.read_all": ("POST", "/notifications/read-all", ALL),
    "jobs.overview": ("GET", "/admin/jobs/", ADMIN),
    "jobs.run_now": ("POST", "/admin/jobs/evidence.sweep/run", ADMIN),
    "providers.index": ("GET", "/providers/", ALL),
    "providers.new": ("GET", "/providers/new", OFFICER),
    "providers.import_file": ("GET", "/providers/import", frozenset({Role.OFFICER, Role.ADMIN})),
    "providers.checklist": ("GET", "/providers/checklist", frozenset({Role.OFFICER, Role.ADMIN})),
    "providers.checklist_save": ("POST", "/providers/checklist/{checklist_item_id}", ADMIN),
    "providers.show": ("GET", P, ALL),
    "providers.edit": ("GET", P + "/edit", OFFICER),
    "providers.staff_new": ("GET", P + "/staff/new", PROVIDER_EDITORS),
    "providers.import_staff": ("GET", P + "/staff/import", PROVIDER_EDITORS),
    "providers.staff_left": ("POST", P + "/staff/{staff_id}/left", PROVIDER_EDITORS),
    "providers.reveal": ("POST", P + "/staff/{staff_id}/reveal", OFFICER),
    "providers.document_upload": ("POST", P + "/documents", PROVIDER_EDITORS),
    "providers.document_download": ("GET", P + "/documents/{document_id}", ALL),
    "providers.relation_new": ("GET", P + "/relations/new", PROVIDER_EDITORS),
    "providers.relations_find": ("POST", P + "/relations/find", OFFICER),
    "providers.relation_review": ("POST", P + "/relations/{relation_id}/review", OFFICER),
    "providers.vetting_open": ("POST", P + "/vettings", OFFICER),
    "providers.vetting_show": ("GET", V, ALL),
    "providers.vetting_item": ("POST", V + "/items/{item_id}", OFFICER),
    "providers.vetting_decide": ("POST", V + "/decide", OFFICER),
    "providers.vetting_conditions_met": ("POST", V + "/conditions-met", OFFICER),
    "providers.vetting_pdf": ("GET", V + "/report.pdf", BUREAU | {Role.PROVIDER_MANAGER}),
    "contracts.index": ("GET", "/contracts/", ALL),
    "contracts.new": ("GET", "/contracts/new", OFFICER),
    "contracts.import_file": ("GET", "/contracts/import", frozenset({Role.OFFICER, Role.ADMIN})),
    "contracts.catalogue": ("GET", "/contracts/catalogue", BUREAU),
    "contracts.show": ("GET", C, ALL),
    "contracts.edit": ("GET", C + "/edit", OFFICER),
    "contracts.amend": ("GET", C + "/amend", OFFICER),
    "contracts.obligation_add": ("POST", C + "/obligations", OFFICER),
    "contracts.target_add": ("POST", C + "/targets", OFFICER),
    "contracts.target_value": ("POST", C + "/targets/{target_id}/values", frozenset({Role.OFFICER, Role.EVALUATOR})),
    "contracts.status": ("POST", C + "/status", OFFICER),
    "contracts.document_upload": ("POST", C + "/documents", OFFICER),
    "contracts.document_download": ("GET", C + "/documents/{contract_document_id}", ALL),
    "contracts.progress_export": ("GET", C + "/ledger.xlsx", ALL),
    "cases.index": ("GET", "/cases/", ALL),
    "cases.alerts": ("GET", "/cases/alerts", ALL),
    "cases.discoveries": ("GET", "/cases/discoveries", ALL),
    "cases.discover": ("GET", "/cases/discover", frozenset({Role.PROVIDER_MANAGER, Role.PROVIDER_WORKER})),
    "cases.import_file": ("GET", "/cases/import", frozenset({Role.OFFICER, Role.ADMIN})),
    "cases.show": ("GET", H, ALL),
    "cases.review": ("POST", H + "/review", OFFICER),
    "cases.reveal": ("POST", H + "/reveal", OFFICER),
    "cases.member_new": ("GET", H + "/members/new", OFFICER),
    "cases.member_reveal": ("POST", H + "/members/{member_id}/reveal", OFFICER),
    "cases.alert_clear": ("POST", H + "/alerts/{alert_id}/clear", OFFICER),
    "records.index": ("GET", "/records/", ALL),
    "records.new": ("GET", "/records/new", frozenset({Role.PROVIDER_MANAGER, Role.PROVIDER_WORKER})),
    "records.ledger_import": ("GET", "/records/ledger", frozenset({Role.OFFICER, Role.PROVIDER_MANAGER})),
    "records.ledger_export": ("GET", "/records/ledger/{contract_id}.xlsx", BUREAU | {Role.PROVIDER_MANAGER}),
    "records.show": ("GET", R, ALL),
    "records.review": ("POST", R + "/review", OFFICER),
    "records.correct": ("GET", R + "/correct", frozenset({Role.PROVIDER_MANAGER, Role.PROVIDER_WORKER})),
    "records.photo": ("GET", R + "/photos/{photo_id}", ALL),
    "records.worker": ("GET", "/records" + P + "/staff/{staff_id}", ALL),
    # --- integrity (issue 7) ---
    # --- hiring risk (issue 8) ---
    # --- assessments, inspections, rectifications (issue 9) ---
    # --- spot checks (issue 10) ---
}

#: Pages anyone may open.
PUBLIC = {"security.login": ("GET", "/login"), "security.set_locale": ("POST", "/locale")}


def test_every_endpoint_is_in_the_matrix(app):
    endpoints = {e for e in app.view_functions if e.rsplit(".", 1)[-1] != "static"}
    assert endpoints == set(MATRIX) | set(PUBLIC)


def test_the_app_refuses_to_start_with_an_unguarded_endpoint(app):
    from flask import Flask

    from reliefsvc.security.access import check_every_endpoint_guarded

    bare = Flask("bare")
    bare.add_url_rule("/open", "open", lambda: "x")
    with pytest.raises(RuntimeError, match="open"):
        check_every_endpoint_guarded(bare)


def make_notification(db, user):
    from reliefsvc.db import utcnow
    from reliefsvc.notifications.models import Notification

    note = Notification(user=user, kind="test", title="测试消息", created_at=utcnow())
    db.session.add(note)
    db.session.flush()
    return note


def provider_objects(db, create_org, officer, org_name: str) -> dict:
    """A provider of ``org_name`` with one of everything a provider URL can name."""
    from reliefsvc.demo.providers import minimal_pdf
    from reliefsvc.providers import rules, service
    from reliefsvc.providers.models import OrgType
    from reliefsvc.security.models import OrgKind

    create_org(org_name, OrgKind.PROVIDER)
    code = str(10000000 + len(org_name) * 7919 + sum(map(ord, org_name)) % 1000)[-8:]
    provider = service.create_provider(rules.make_uscc("52", "622922", code), org_name, OrgType.SOCIAL_ORG)
    staff = service.add_staff(provider, id_number=_id_number(code), name="测试人员", role="coordinator")
    relation = service.declare_relation(provider, staff, "bureau_staff", "某某", "民政局", "配偶")
    vetting = service.open_vetting(provider, officer)
    item = vetting.items[0]
    document = service.add_document(provider, minimal_pdf("doc"), "doc.pdf", officer, item)
    from datetime import date
    from decimal import Decimal

    from reliefsvc.contracts import service as contracts

    contracts.ensure_catalogue()
    contract = contracts.create_contract(contracts.ContractData(
        contract_no=f"矩阵-{code}", title="协理服务", provider=provider, purchaser="康乐县民政局",
        procurement_method="public_tender", amount=Decimal(1000), starts_on=date(2026, 1, 1),
        ends_on=date(2026, 12, 31), pricing_model="output"))
    contracts.add_obligation(contract, "home_visit", "month", 10, "records")
    target = contracts.add_target(contract, "satisfaction", "满意度", "0.9")
    contract_document = contracts.add_document(contract, "signed_contract", minimal_pdf("c"), "c.pdf", officer)
    record, photo = _service_record(db, contract, staff)
    return {"provider_id": provider.id, "staff_id": staff.id, "relation_id": relation.id,
            "vetting_id": vetting.id, "item_id": item.id, "document_id": document.id,
            "checklist_item_id": item.checklist_item_id, "contract_id": contract.id, "target_id": target.id,
            "contract_document_id": contract_document.id, "record_id": record.id, "photo_id": photo.id}


def _service_record(db, contract, staff):
    """A record with a photo, made directly: the matrix needs one whatever the contract's state."""
    import io
    from datetime import UTC, datetime

    from PIL import Image

    from reliefsvc.evidence import service as records
    from reliefsvc.evidence.models import RecordPhoto, RecordSource, RecordStatus, ServiceRecord

    out = io.BytesIO()
    Image.new("RGB", (64, 48), (contract.id % 255, 80, 120)).save(out, "JPEG")
    photo = records.store_photo(records.Upload(out.getvalue(), "p.jpg"))
    start = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    record = ServiceRecord(contract=contract, record_ref=f"M-{contract.id}", worker=staff,
                           service_type_code="phone_followup", started_at=start, ended_at=start, month="2026-03",
                           minutes=0, submitted_at=start, source=RecordSource.LEDGER, status=RecordStatus.SUBMITTED,
                           photos=[RecordPhoto(photo=photo)])
    db.session.add(record)
    db.session.flush()
    return record, photo


def case_objects(db, county, reporter) -> dict:
    """A household that ``reporter``'s provider found, with a member and an open alert."""
    from datetime import timedelta

    from reliefsvc.cases import service as cases
    from reliefsvc.db import utcnow
    from reliefsvc.regions.models import Level, Region

    town = Region(code="622922100", name="附城镇", level=Level.TOWNSHIP, parent=county)
    village = Region(code="622922100201", name="马家集村", level=Level.VILLAGE, parent=town)
    db.session.add_all([town, village])
    db.session.flush()
    case = cases.discover_case(cases.Discovery(head_name="马玉兰", village_id=village.id, household_size=2,
                                               need="独居老人，取暖困难"), reporter)
    member = cases.add_member(case, "马小军", "grandchild", None, 2012)
    alert = cases.issue_alert(case, "red", utcnow() - timedelta(hours=2))
    return {"case_id": case.id, "member_id": member.id, "alert_id": alert.id}


def _id_number(seed: str) -> str:
    from reliefsvc.common.idnumber import check_character

    body = f"622922199001{int(seed) % 28 + 1:02d}{int(seed) % 1000:03d}"
    return body + check_character(body)


@pytest.fixture
def objects(create_user, create_org, db):
    """The objects named in URLs; ``objects(user)`` adds those that belong to ``user``."""
    from reliefsvc.regions.models import Level, Region

    county = Region(code="622922", name="康乐县", level=Level.COUNTY)
    db.session.add(county)
    db.session.flush()
    target = create_user(Role.OFFICER, username="target-user")
    shared = {"user_id": target.id, "region_id": county.id,
              "notification_id": make_notification(db, target).id,
              **provider_objects(db, create_org, target, "测试承接主体甲")}
    shared.update(case_objects(db, county, create_user(Role.PROVIDER_WORKER, username="case-reporter")))
    # Later domains add the objects their URLs name (one line each, a function above):
    # --- integrity objects ---
    # --- hiring objects ---
    # --- assessment and rectification objects ---
    # --- spot-check objects ---

    def for_user(user=None):
        own = {"notification_id": make_notification(db, user).id} if user is not None else {}
        return {**shared, **own}

    return for_user


def _call(client, method, url):
    response = client.get(url) if method == "GET" else client.post(url)
    response.close()  # file responses hold the file open until closed
    return response


CASES = [(endpoint, role) for endpoint in MATRIX for role in Role]


@pytest.mark.parametrize("endpoint,role", CASES, ids=[f"{e}-{r.value}" for e, r in CASES])
def test_role_matrix(endpoint, role, client, login, create_user, objects):
    method, template, allowed = MATRIX[endpoint]
    user = create_user(role)
    url = template.format(**objects(user))
    login(user)
    response = _call(client, method, url)
    if role in allowed:
        assert response.status_code in (200, 302), response.status_code
        if response.status_code == 302 and endpoint != "security.logout":
            assert "/login" not in response.headers["Location"]
    else:
        assert response.status_code == 403


@pytest.mark.parametrize("endpoint", list(MATRIX))
def test_anonymous_is_sent_to_login(endpoint, client, objects):
    method, template, _ = MATRIX[endpoint]
    response = _call(client, method, template.format(**objects()))
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


@pytest.mark.parametrize("endpoint", list(PUBLIC))
def test_public_pages_need_no_login(endpoint, client):
    method, url = PUBLIC[endpoint]
    response = _call(client, method, url)
    assert response.status_code in (200, 302)
    if response.status_code == 302:
        assert "/login" not in response.headers["Location"] or endpoint == "security.set_locale"


def test_unknown_objects_are_404(client, login, create_user):
    login(create_user(Role.ADMIN))
    assert client.get("/regions/999999").status_code == 404
    assert client.post("/users/999999/enabled").status_code == 404
    assert client.post("/notifications/999999/read").status_code == 404
    assert client.post("/admin/jobs/no.such.job/run").status_code == 404


@pytest.mark.parametrize("role", list(Role))
def test_another_users_messages_are_404(role, client, login, create_user, objects):
    """Messages belong to one person: everyone else gets a 404, admins included."""
    user = create_user(role)
    login(user)
    someone_else = objects()["notification_id"]
    assert client.post(f"/notifications/{someone_else}/read").status_code == 404


PROVIDER_SCOPED = [e for e, (_m, url, _r) in MATRIX.items()
                   if url.startswith((P, C, R)) or "{contract_id}" in url or "{provider_id}" in url]
OTHER_CASES = [(e, r) for e in PROVIDER_SCOPED for r in (Role.PROVIDER_MANAGER, Role.PROVIDER_WORKER)]


@pytest.mark.parametrize("endpoint,role", OTHER_CASES, ids=[f"{e}-{r.value}" for e, r in OTHER_CASES])
def test_another_providers_pages_and_files_are_hidden(endpoint, role, client, login, create_user, create_org,
                                                       objects, db):
    """A manager or worker of provider B gets 404 (or 403 by role) for everything of provider A."""
    from reliefsvc.security.models import OrgKind

    other_org = create_org("测试承接主体乙", OrgKind.PROVIDER)
    login(create_user(role, org=other_org))
    method, template, allowed = MATRIX[endpoint]
    response = _call(client, method, template.format(**objects()))
    assert response.status_code == (404 if role in allowed else 403)


def test_objects_of_another_organisation_are_hidden(app, create_user, create_org):
    """The access decorator asks the object itself; an object that says no is a 404.

    No page routes an organisation-owned object yet (providers come next), so the test
    binds a URL parameter to organisations for its own duration.
    """
    from werkzeug.exceptions import NotFound

    from reliefsvc.security.access import URL_OBJECTS, load_url_objects, url_object
    from reliefsvc.security.models import Organisation, OrgKind

    Organisation.visible_to = lambda self, user: user.organisation_id == self.id
    url_object("probe_org_id", Organisation, as_="org")
    try:
        own = create_org("承接主体甲", OrgKind.PROVIDER)
        other = create_org("承接主体乙", OrgKind.PROVIDER)
        manager = create_user(Role.PROVIDER_MANAGER, org=own)
        assert load_url_objects({"probe_org_id": own.id}, manager) == {"org": own}
        with pytest.raises(NotFound):
            load_url_objects({"probe_org_id": other.id}, manager)
    finally:
        del Organisation.visible_to
        URL_OBJECTS.pop("probe_org_id", None)


def test_child_objects_are_looked_up_inside_their_parent(create_user, db):
    from werkzeug.exceptions import NotFound

    from reliefsvc.regions.models import Level, Region
    from reliefsvc.security.access import URL_OBJECTS, load_url_objects, url_object

    county = Region(code="622922", name="康乐县", level=Level.COUNTY)
    other = Region(code="622923", name="永靖县", level=Level.COUNTY)
    town = Region(code="622922100", name="附城镇", level=Level.TOWNSHIP, parent=county)
    db.session.add_all([county, other, town])
    db.session.flush()
    url_object("probe_parent_id", Region, as_="parent_region")
    url_object("probe_child_id", Region, as_="child_region", parent=("probe_parent_id", "parent_id"))
    try:
        user = create_user(Role.OFFICER)
        got = load_url_objects({"probe_parent_id": county.id, "probe_child_id": town.id}, user)
        assert got == {"parent_region": county, "child_region": town}
        with pytest.raises(NotFound):
            load_url_objects({"probe_parent_id": other.id, "probe_child_id": town.id}, user)
    finally:
        URL_OBJECTS.pop("probe_parent_id", None)
        URL_OBJECTS.pop("probe_child_id", None)
