"""Every JSON API endpoint × every role, by token; no token → 401; another provider's
objects → 404. The roles are written out in ``matrix.py``, not read from the decorators."""

from __future__ import annotations

import pytest

from reliefsvc.security.models import Role
from tests.api.matrix import API_ENDPOINTS, API_MATRIX, API_PUBLIC

CASES = [(endpoint, role) for endpoint in API_MATRIX for role in Role]
WRITES = {"api.case_put": {"json": {}}, "api.record_create": {"data": {}}}


def test_the_matrix_covers_every_api_endpoint(app):
    assert {e for e in app.view_functions if e.startswith("api.") and "/api/v1/" in _rule(app, e)} == API_ENDPOINTS


def _rule(app, endpoint):
    return next(r.rule for r in app.url_map.iter_rules() if r.endpoint == endpoint)


@pytest.mark.parametrize("endpoint,role", CASES, ids=[f"{e}-{r.value}" for e, r in CASES])
def test_api_matrix(endpoint, role, api, create_user, api_objects):
    method, template, allowed, _ = API_MATRIX[endpoint]
    own, _other = api_objects
    call = api(create_user(role))
    response = call(method, template.format(**own), **WRITES.get(endpoint, {}))
    if role in allowed:
        if endpoint in WRITES:  # an empty body: refused as input, not for the role
            assert response.status_code in (400, 415, 422), response.status_code
        else:
            assert response.status_code == 200, (response.status_code, response.get_data(as_text=True)[:300])
    else:
        assert response.status_code == 403
        assert response.mimetype == "application/problem+json"


@pytest.mark.parametrize("endpoint", list(API_MATRIX))
def test_no_token_is_401(endpoint, client, api_objects):
    method, template, _, _ = API_MATRIX[endpoint]
    response = client.open(template.format(**api_objects[0]), method=method)
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.json["title_zh"] and response.json["title"]


#: an organisation's objects × the provider roles allowed to read them (a role refused is 403 above)
OTHERS = [(e, role) for e, spec in API_MATRIX.items() if spec[3]
          for role in (Role.PROVIDER_MANAGER, Role.PROVIDER_WORKER) if role in spec[2]]


@pytest.mark.parametrize("endpoint,role", OTHERS, ids=[f"{e}-{r.value}" for e, r in OTHERS])
def test_another_providers_objects_are_404(endpoint, role, api, create_user, api_objects):
    method, template, _, _ = API_MATRIX[endpoint]
    own, other = api_objects
    call = api(create_user(role))
    assert call(method, template.format(**own)).status_code == 200
    response = call(method, template.format(**other))
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


@pytest.mark.parametrize("endpoint", list(API_PUBLIC))
def test_the_description_is_public(endpoint, client):
    method, url = API_PUBLIC[endpoint]
    assert client.open(url, method=method).status_code == 200


def test_a_session_cookie_is_not_enough(client, login, create_user, api_objects):
    login(create_user(Role.OFFICER))
    assert client.get("/api/v1/regions").status_code == 401
    assert client.put("/api/v1/cases/X1", json={}).status_code == 401
