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
AUDIT_READERS = frozenset({Role.ADMIN, Role.INSPECTOR})

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


@pytest.fixture
def objects(create_user, db):
    """The objects named in URLs; ``objects(user)`` adds those that belong to ``user``."""
    from reliefsvc.regions.models import Level, Region

    county = Region(code="622922", name="康乐县", level=Level.COUNTY)
    db.session.add(county)
    db.session.flush()
    target = create_user(Role.OFFICER, username="target-user")
    shared = {"user_id": target.id, "region_id": county.id,
              "notification_id": make_notification(db, target).id}

    def for_user(user=None):
        own = {"notification_id": make_notification(db, user).id} if user is not None else {}
        return {**shared, **own}

    return for_user


def _call(client, method, url):
    return client.get(url) if method == "GET" else client.post(url)


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
