"""The JSON API's behaviour: idempotent creates, ETags, problems, tokens, pagination, limits, sync."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from reliefsvc.db import utcnow
from reliefsvc.security.models import Role
from tests.conftest import count, make_id


@pytest.fixture
def provider_setup(db, create_contract, create_user):
    from reliefsvc.providers import service as providers

    contract = create_contract()
    staff = providers.add_staff(contract.provider, id_number=make_id(41), name="马小军", role="coordinator")
    worker = create_user(Role.PROVIDER_WORKER, org=contract.provider.organisation)
    return contract, staff, worker


def _record_form(contract, staff, photo: bytes | None = None, **extra):
    started = (utcnow() - timedelta(hours=3)).replace(microsecond=0)
    data = {"contract_id": str(contract.id), "worker_id": str(staff.id), "service_type": "training",
            "started_at": started.isoformat(), "ended_at": (started + timedelta(minutes=45)).isoformat(),
            "notes": "村级协理员业务培训", **extra}
    if photo is not None:
        data["photos"] = [(io.BytesIO(photo), "p1.jpg")]
    return data


def test_a_retried_create_with_the_same_key_makes_one_record(api, provider_setup, photo_bytes):
    from reliefsvc.audit.models import AuditEntry
    from reliefsvc.evidence.models import ServiceRecord

    contract, staff, worker = provider_setup
    call = api(worker)
    before, audits = count(ServiceRecord), count(AuditEntry)
    photo = photo_bytes(7)
    first = call("POST", "/api/v1/records", headers={"Idempotency-Key": "retry-key-0001"},
                 data=_record_form(contract, staff, photo), content_type="multipart/form-data")
    assert first.status_code == 201, first.get_data(as_text=True)
    form = _record_form(contract, staff, photo)
    form["started_at"], form["ended_at"] = first.json["started_at"], first.json["ended_at"]
    again = call("POST", "/api/v1/records", headers={"Idempotency-Key": "retry-key-0001"}, data=form,
                 content_type="multipart/form-data")
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json == first.json
    assert again.headers["Location"] == first.headers["Location"]
    assert count(ServiceRecord) == before + 1
    assert count(AuditEntry) > audits  # submitted through the service: audited like the page
    record = ServiceRecord.query.filter_by(id=first.json["id"]).one()
    assert record.submitted_by_id == worker.id and len(record.photos) == 1
    # The same key with another body is a mistake, not a retry.
    other = call("POST", "/api/v1/records", headers={"Idempotency-Key": "retry-key-0001"},
                 data=_record_form(contract, staff, notes="别的内容"), content_type="multipart/form-data")
    assert other.status_code == 409
    assert count(ServiceRecord) == before + 1


def test_a_create_without_a_key_is_refused(api, provider_setup):
    contract, staff, worker = provider_setup
    response = api(worker)("POST", "/api/v1/records", data=_record_form(contract, staff),
                           content_type="multipart/form-data")
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"


def test_photos_are_checked_by_content_as_on_the_page(api, provider_setup):
    contract, staff, worker = provider_setup
    form = _record_form(contract, staff)
    form["photos"] = [(io.BytesIO(b"not a picture at all"), "fake.jpg")]
    response = api(worker)("POST", "/api/v1/records", headers={"Idempotency-Key": "bad-photo-001"}, data=form,
                           content_type="multipart/form-data")
    assert response.status_code == 422
    assert response.json["errors"][0]["field"] == "photos"
    assert response.json["detail_zh"] != response.json["detail"]


def _case_body(villages, **changes):
    return {"head_name": "马玉兰", "id_number": make_id(77, 1950), "village_code": villages[0].code,
            "categories": ["dibao"], "household_size": 3, **changes}


def test_a_stale_if_match_is_refused_with_412(api, create_user, villages):
    call = api(create_user(Role.OFFICER))
    created = call("PUT", "/api/v1/cases/HH900001", json=_case_body(villages))
    assert created.status_code == 201, created.get_data(as_text=True)
    etag = created.headers["ETag"]
    assert call("GET", "/api/v1/cases/HH900001").headers["ETag"] == etag
    changed = call("PUT", "/api/v1/cases/HH900001", json=_case_body(villages, household_size=4),
                   headers={"If-Match": etag})
    assert changed.status_code == 200 and changed.json["household_size"] == 4
    stale = call("PUT", "/api/v1/cases/HH900001", json=_case_body(villages, household_size=5),
                 headers={"If-Match": etag})
    assert stale.status_code == 412
    assert stale.mimetype == "application/problem+json"
    assert call("GET", "/api/v1/cases/HH900001").json["household_size"] == 4
    blind = call("PUT", "/api/v1/cases/HH900001", json=_case_body(villages, household_size=5))
    assert blind.status_code == 428


def test_cases_show_masked_id_numbers_and_positions_only_to_the_bureau(api, create_user, villages, create_case):
    case = create_case(villages[0], lat=35.4, lon=103.7)
    officer = api(create_user(Role.OFFICER))("GET", f"/api/v1/cases/{case.case_ref}").json
    assert officer["id_number_masked"] == case.head_id_number[:4] + "*" * 10 + case.head_id_number[-4:]
    assert case.head_id_number not in str(officer)
    assert officer["lat"] == 35.4


def test_case_input_is_checked_like_the_import(api, create_user, villages):
    call = api(create_user(Role.OFFICER))
    wrong = call("PUT", "/api/v1/cases/HH900002", json=_case_body(villages, id_number="622922195001011234"))
    assert wrong.status_code == 422
    assert any(e["field"] == "id_number" for e in wrong.json["errors"])


def test_tokens_are_hashed_revocable_and_expire(api, create_user, db):
    from reliefsvc.api import service
    from reliefsvc.api.models import ApiToken

    user = create_user(Role.INSPECTOR)
    call = api(user)
    row = db.session.scalar(sa.select(ApiToken).where(ApiToken.user_id == user.id))
    assert call.token not in (row.token_hash, row.prefix) and row.token_hash == service.hash_token(call.token)
    assert call("GET", "/api/v1/regions").status_code == 200
    row.expires_at = utcnow() - timedelta(seconds=1)
    row.created_at = row.expires_at - timedelta(days=1)
    assert call("GET", "/api/v1/regions").status_code == 401
    row.expires_at = utcnow() + timedelta(days=1)
    service.revoke_token(row, user)
    assert call("GET", "/api/v1/regions").status_code == 401


def test_a_token_stops_when_its_user_changes_post_or_is_disabled(api, create_user):
    user = create_user(Role.OFFICER)
    call = api(user)
    user.role = Role.EVALUATOR
    assert call("GET", "/api/v1/regions").status_code == 401
    user.role = Role.OFFICER
    user.is_enabled = False
    assert call("GET", "/api/v1/regions").status_code == 401


def test_the_token_page_shows_a_new_token_once_and_revokes(client, login, create_user, db):
    from reliefsvc.api import service
    from reliefsvc.api.models import ApiToken

    user = create_user(Role.PROVIDER_MANAGER)
    login(user)
    page = client.post("/api/tokens", data={"name": "手机", "days": "30"})
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    text = page.get_data(as_text=True)
    token = text.split('data-testid="new-token"')[1].split("<code")[1].split(">")[1].split("<")[0]
    assert service.authenticate(token) is not None
    assert token not in client.get("/api/tokens").get_data(as_text=True)
    row = db.session.scalar(sa.select(ApiToken).where(ApiToken.user_id == user.id))
    assert client.post("/api/tokens/revoke", data={"token_id": row.id}).status_code == 302
    assert service.authenticate(token) is None
    other = create_user(Role.OFFICER)
    mine = service.create_token(other, "x", 30)[0]
    client.post("/api/tokens/revoke", data={"token_id": mine.id})  # not the user's own: refused
    assert mine.revoked_at is None


def test_pagination_by_cursor_walks_every_row_once(api, create_user, villages):
    call = api(create_user(Role.OFFICER))
    seen, cursor = [], None
    while True:
        page = call("GET", "/api/v1/regions?limit=2" + (f"&cursor={cursor}" if cursor else "")).json
        seen.extend(r["code"] for r in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted({"622922", "622922100", *(v.code for v in villages)})
    assert call("GET", "/api/v1/regions?cursor=%%%").status_code == 400


def test_changes_since_a_cursor(api, provider_setup, create_user):
    contract, staff, worker = provider_setup
    officer = api(create_user(Role.OFFICER))
    start = officer("GET", "/api/v1/records/changes").json["next_cursor"]
    made = api(worker)("POST", "/api/v1/records", headers={"Idempotency-Key": "changes-0001"},
                       data=_record_form(contract, staff), content_type="multipart/form-data")
    assert made.status_code == 201
    changes = officer("GET", f"/api/v1/records/changes?cursor={start}").json
    assert [(c["action"], c["record"]["id"]) for c in changes["items"]] == [("submitted", made.json["id"])]
    assert officer("GET", f"/api/v1/records/changes?cursor={changes['next_cursor']}").json["items"] == []


def test_rate_limit_per_token(app, api, create_user):
    app.config["API_RATE_LIMIT_PER_MINUTE"] = 3
    try:
        call = api(create_user(Role.OFFICER))
        codes = [call("GET", "/api/v1/regions").status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        assert api(create_user(Role.OFFICER))("GET", "/api/v1/regions").status_code == 200  # per token
    finally:
        app.config["API_RATE_LIMIT_PER_MINUTE"] = 120


def test_unknown_api_urls_answer_problem_json(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404 and response.mimetype == "application/problem+json"
    assert response.json["title_zh"] == "未找到"


def test_the_docs_page_renders_the_description(client):
    page = client.get("/api/v1/docs").get_data(as_text=True)
    assert "/api/v1/records" in page and "Idempotency-Key" in page


def _export(rows):
    head = "case_ref,head_name,id_number,village_code,categories,household_size,status\n"
    return (head + "".join(",".join(map(str, r)) + "\n" for r in rows)).encode()


def test_cases_sync_adds_changes_and_closes(run_cli, villages, create_case, tmp_path, db):
    from reliefsvc.cases.models import Case

    kept = [create_case(villages[0], ref=f"HH8{i:05d}") for i in range(10)]
    gone = kept.pop()
    rows = [(c.case_ref, c.head_name, c.head_id_number, villages[0].code, "dibao", c.household_size, "active")
            for c in kept]
    for c in kept:
        c.category_rows = []
    db.session.flush()
    rows[0] = (*rows[0][:5], 5, "active")
    rows.append(("HH899999", "新户主", make_id(99, 1960), villages[1].code, "tekun", 1, "active"))
    gone_row = db.session.get(Case, gone.id)
    from reliefsvc.cases import service as cases

    cases.set_categories(gone_row, ["dibao"])
    path = tmp_path / "export.csv"
    path.write_bytes(_export(rows))
    result = run_cli("cases", "sync", str(path))
    assert result.exit_code == 0, result.output
    assert "added 1, changed 9, closed 1, rejected 0" in result.output
    assert db.session.get(Case, gone.id).status.value == "closed"
    again = run_cli("cases", "sync", str(path))
    assert "added 0, changed 0, closed 0" in again.output


def test_cases_sync_closes_nothing_from_a_truncated_export(run_cli, villages, create_case, tmp_path, db):
    from reliefsvc.cases import service as cases

    made = [create_case(villages[0], ref=f"HH7{i:05d}") for i in range(5)]
    for c in made:
        cases.set_categories(c, ["dibao"])
    path = tmp_path / "export.csv"
    c = made[0]
    path.write_bytes(_export([(c.case_ref, c.head_name, c.head_id_number, villages[0].code, "dibao",
                               c.household_size, "active")]))
    result = run_cli("cases", "sync", str(path))
    assert result.exit_code == 0
    assert "closed 0" in result.output
    assert all(x.status.value == "active" for x in made)




def test_a_provider_token_sees_only_its_own_payments_and_fund_use(api, create_user, api_objects):
    own, other = api_objects
    manager = api(create_user(Role.PROVIDER_MANAGER))
    page = manager("GET", "/api/v1/payments")
    assert page.status_code == 200
    assert [p["id"] for p in page.json["items"]] == [own["payment_entry_id"]]
    entry = page.json["items"][0]
    # money as text with two decimals, and no officer named
    assert (entry["planned"], entry["computed"], entry["amount"], entry["signed_amount"]) == (
        "100.00", "90.00", "90.00", "90.00")
    assert not {"proposed_by", "approved_by", "proposed_by_id"} & set(entry)
    reports = manager("GET", "/api/v1/fund-use-reports").json["items"]
    assert [r["id"] for r in reports] == [own["fund_report_id"]]
    assert reports[0]["total"] == "10.00" and reports[0]["lines"][0]["receipts"] == 1
    plan = manager("GET", f"/api/v1/contracts/{own['contract_id']}/instalments").json["items"]
    assert [i["entry_ids"] for i in plan] == [[own["payment_entry_id"]]]
    assert manager("GET", f"/api/v1/payments/{other['payment_entry_id']}").status_code == 404
    assert manager("GET", f"/api/v1/payments?contract_id={other['contract_id']}").json["items"] == []
    # the bureau sees both providers'; a provider worker sees payments on no page, nor here
    officer = api(create_user(Role.OFFICER))
    assert {p["id"] for p in officer("GET", "/api/v1/payments").json["items"]} == {
        own["payment_entry_id"], other["payment_entry_id"]}
    assert api(create_user(Role.PROVIDER_WORKER))("GET", "/api/v1/payments").status_code == 403


def test_a_fund_use_draft_stays_with_its_provider_and_findings_come_through(api, create_user, api_objects, db):
    from decimal import Decimal

    from reliefsvc.db import utcnow
    from reliefsvc.payments.models import FundUseLine, FundUseReport, ReportStatus

    own, _other = api_objects
    draft = FundUseReport(contract_id=own["contract_id"], period_from=date(2026, 2, 1),
                          period_to=date(2026, 2, 28), status=ReportStatus.DRAFT, created_by_id=own["user_id"],
                          created_at=utcnow(), lines=[FundUseLine(category="other", purpose="村组道路硬化配套材料",
                                                                  amount=Decimal("1234.5"))])
    db.session.add(draft)
    db.session.commit()
    manager = api(create_user(Role.PROVIDER_MANAGER))
    body = manager("GET", f"/api/v1/fund-use-reports/{draft.id}").json
    assert body["status"] == "draft" and body["lines"][0]["amount"] == "1234.50"
    kinds = {(f["kind"], f["line_id"]) for f in body["findings"]}
    assert ("forbidden", draft.lines[0].id) in kinds and ("no_receipt", draft.lines[0].id) in kinds
    # the bureau does not see a provider's draft (as on the page)
    officer = api(create_user(Role.OFFICER))
    assert officer("GET", f"/api/v1/fund-use-reports/{draft.id}").status_code == 404
    assert draft.id not in {r["id"] for r in officer("GET", "/api/v1/fund-use-reports").json["items"]}


def test_an_evaluations_figures_come_through_and_drafts_stay_with_the_bureau(api, create_user, api_objects, db):
    from reliefsvc.evaluations.models import Evaluation, EvaluationStatus

    own, _other = api_objects
    ev = db.session.get(Evaluation, own["evaluation_id"])
    ev.indicators = [{"dimension": "funds", "key": "contract_amount", "name": "合同金额与服务量",
                      "figure": "合同金额 100,000.00 元", "source": "合同与服务记录", "value": "12.5", "basis": {}}]
    db.session.commit()
    manager = api(create_user(Role.PROVIDER_MANAGER))
    response = manager("GET", f"/api/v1/evaluations/{ev.id}")
    assert response.status_code == 200 and response.headers["ETag"]
    body = response.json
    assert (body["status"], body["rating"], body["rebuy"], body["mean"]) == ("commenting", "good", True, "80.00")
    funds = next(d for d in body["dimensions"] if d["code"] == "funds")
    assert funds["score"] == "80.00" and funds["name"] == "经费使用"
    assert funds["indicators"] == [{"key": "contract_amount", "name": "合同金额与服务量",
                                    "figure": "合同金额 100,000.00 元", "source": "合同与服务记录", "value": "12.5"}]
    # a draft (still being scored) is the bureau's: the provider's page does not show it either
    draft = Evaluation(contract_id=own["contract_id"], year_no=2, year=2027, day_from=ev.day_from,
                       day_to=ev.day_to, due_on=ev.due_on, status=EvaluationStatus.DRAFT, origin="officer",
                       created_at=ev.created_at, indicators=[])
    db.session.add(draft)
    db.session.commit()
    assert manager("GET", f"/api/v1/evaluations/{draft.id}").status_code == 404
    assert {e["id"] for e in manager("GET", "/api/v1/evaluations").json["items"]} == {ev.id}
    officer = api(create_user(Role.OFFICER))
    assert {e["id"] for e in officer("GET", "/api/v1/evaluations?status=draft").json["items"]} == {draft.id}
    assert api(create_user(Role.PROVIDER_WORKER))("GET", "/api/v1/evaluations").status_code == 403
