"""ID numbers and positions never in logs or audit payloads; exports of personal data need a reason (issue 15)."""

from __future__ import annotations

import io
import logging
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from reliefsvc import audit
from reliefsvc.audit.models import AuditEntry
from reliefsvc.common.sensitive import mask_ids, mask_text
from reliefsvc.providers import service as providers
from tests.conftest import make_id

ID = make_id(77)
MASKED = ID[:4] + "*" * 10 + ID[-4:]


def test_mask_text_hides_id_numbers_and_coordinates_and_nothing_else():
    text = f"worker {ID} at 35.3912,103.7105 lat=-33.86785 paid 1234.50 元 in 0.25 s; order 20261127123456789012"
    masked = mask_text(text)
    assert ID not in masked and MASKED in masked
    assert "35.3912" not in masked and "103.7105" not in masked and "-33.86785" not in masked
    # money, short decimals and longer digit runs (order numbers) are not personal data
    assert "1234.50" in masked and "0.25" in masked and "20261127123456789012" in masked
    assert mask_text(ID.lower()) != ID.lower()
    assert mask_ids({"a": [ID, {"b": f"号 {ID}"}], "n": 3}) == {"a": [MASKED, {"b": f"号 {MASKED}"}], "n": 3}


def _leaks(records) -> list[str]:
    found = []
    for record in records:
        text = record.getMessage() + (record.exc_text or "")
        for secret in (ID, make_id(78), make_id(79), "35.3912", "103.7105", "35.41234", "103.65432"):
            if secret in text:
                found.append(f"{record.name}: {secret}")
    return found


@pytest.fixture
def sql_echo(db, caplog):
    """SQLAlchemy's statement log on (an operator debugging): it prints every parameter."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")
    connection = db.session.connection()
    connection._echo = True  # the test's connection was opened before the level changed
    yield caplog
    connection._echo = False


def test_form_posts_and_imports_with_id_numbers_and_positions_leave_neither_in_the_logs(
        sql_echo, client, login, create_user, create_provider, db):
    provider = create_provider()
    login(create_user("officer"))
    base = f"/providers/{provider.id}/staff"
    # a form with an error (phone too short), then the same person saved
    bad = client.post(f"{base}/new", data={"name": "马小军", "id_number": ID, "phone": "139", "role": "coordinator"})
    assert bad.status_code == 200
    good = client.post(f"{base}/new", data={"name": "马小军", "id_number": ID, "phone": "13900000000",
                                          "role": "coordinator"})
    assert good.status_code == 302
    # an import with bad rows, refused as a whole
    rows = ("name,id_number,phone,role\n"
            f"李四,{make_id(78)},13900000001,coordinator\n"
            f"王五,{make_id(79)}X,13900000002,coordinator\n")
    refused = client.post(f"{base}/import", data={"file": (io.BytesIO(rows.encode()), "staff.csv"),
                                                  "encoding": "utf-8"}, content_type="multipart/form-data")
    assert refused.status_code == 200
    # regions with positions, one row wrong
    login(create_user("admin"))
    regions = ("code,name,level,parent_code,lat,lon\n"
               "622922,康乐县,county,,35.3912,103.7105\n"
               "622922100,附城镇,township,622922,35.41234,999\n")
    client.post("/regions/import", data={"file": (io.BytesIO(regions.encode()), "regions.csv"),
                                         "encoding": "utf-8"}, content_type="multipart/form-data")
    # a request line as werkzeug and gunicorn write it, and an error with a traceback
    logging.getLogger("werkzeug").info('%s - - [%s] "%s" %s %s', "10.0.0.5", "27/Nov/2026 09:00:00",
                                       f"GET /cases/?q={ID}&near=35.3912,103.7105 HTTP/1.1", 200, "-")
    try:
        raise ValueError(f"duplicate id_number {ID} at 35.3912")
    except ValueError:
        logging.getLogger("reliefsvc.providers").exception("staff import failed")

    records = sql_echo.records
    assert any(MASKED in r.getMessage() for r in records if r.name.startswith("sqlalchemy")), \
        "the statements with the ID number were logged (masked)"
    assert any("**.****" in r.getMessage() for r in records)
    assert _leaks(records) == []
    assert any(MASKED in (r.exc_text or "") for r in records)


def test_a_handler_added_later_sees_masked_records_only(tmp_path):
    # e.g. ``logging.basicConfig`` in ``jobs run`` or an operator's file handler
    path = tmp_path / "app.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    logger = logging.getLogger("reliefsvc.test_later_handler")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        logger.info("case %s at %s,%s", ID, 35.3912, 103.7105)
    finally:
        logger.removeHandler(handler)
        handler.close()
    written = path.read_text(encoding="utf-8")
    assert ID not in written and "35.3912" not in written and MASKED in written


def test_audit_payloads_hold_masked_id_numbers(client, db):
    from reliefsvc.security.events import LoginFailed

    # someone types an ID number into the user name field
    client.post("/login", data={"username": ID, "password": "whatever-it-is"})
    audit.record(LoginFailed(username=f"身份证 {ID}"))
    db.session.flush()
    payloads = db.session.scalars(sa.select(AuditEntry.payload)).all()
    assert payloads and all(ID not in p for p in payloads)
    assert any(MASKED in p for p in payloads)


def test_staff_import_audit_entries_hold_no_full_id_number(client, login, create_user, create_provider, db):
    provider = create_provider()
    login(create_user("officer"))
    rows = "name,id_number,phone,role\n" + f"李四,{make_id(78)},13900000001,coordinator\n"
    response = client.post(f"/providers/{provider.id}/staff/import",
                           data={"file": (io.BytesIO(rows.encode()), "staff.csv"), "encoding": "utf-8"},
                           content_type="multipart/form-data")
    assert response.status_code == 200
    assert db.session.scalar(sa.select(AuditEntry).where(AuditEntry.event_type.like("providers.%"))) is not None
    assert all(make_id(78) not in p for p in db.session.scalars(sa.select(AuditEntry.payload)))


# --- reveals and originals are audited -------------------------------------------------------

@pytest.fixture
def field(create_contract, create_case, villages, create_user):
    contract = create_contract(obligations=(("home_visit", "month", 10, "records"),))
    worker_user = create_user("provider_worker", org=contract.provider.organisation)
    staff = providers.add_staff(contract.provider, id_number=ID, name="马小军", role="coordinator")
    staff.user = worker_user
    case = create_case(villages[0], ref="HH-100", head_name="韩大山")
    return {"contract": contract, "worker": worker_user, "staff": staff, "case": case}


def _submit_record(client, field, photo):
    now = datetime.now().replace(second=0, microsecond=0)
    return client.post("/records/new", data={
        "contract_id": field["contract"].id, "case_id": field["case"].id, "service_type": "home_visit",
        "worker_id": field["staff"].id, "started_at": (now - timedelta(minutes=40)).strftime("%Y-%m-%dT%H:%M"),
        "ended_at": now.strftime("%Y-%m-%dT%H:%M"), "notes": "了解家庭近况", "lat": "35.3912", "lon": "103.7105",
        "submission_key": "k-1", "photos": [(io.BytesIO(photo), "现场.jpg")]}, content_type="multipart/form-data")


def test_revealing_an_id_number_and_opening_an_original_are_audited_and_logs_stay_clean(
        sql_echo, client, login, field, create_user, photo_bytes, db):
    from reliefsvc.evidence.models import ServiceRecord

    login(field["worker"])
    assert _submit_record(client, field, photo_bytes(3, gps=(35.3912, 103.7105))).status_code == 302
    record = db.session.scalar(sa.select(ServiceRecord))
    photo = record.photos[0]
    officer = create_user("officer")
    login(officer)
    shown = client.post(f"/providers/{field['contract'].provider.id}/staff/{field['staff'].id}/reveal",
                        data={"reason": "核对劳务合同"})
    assert ID in shown.get_data(as_text=True)
    display = client.get(f"/records/{record.id}/photos/{photo.photo_id}")
    assert display.status_code == 200 and display.data != photo_bytes(3, gps=(35.3912, 103.7105))
    display.close()
    original = client.get(f"/records/{record.id}/photos/{photo.photo_id}?original=1")
    assert original.status_code == 200
    original.close()
    kinds = db.session.scalars(sa.select(AuditEntry.event_type).where(AuditEntry.actor_id == officer.id)).all()
    assert "providers.id_revealed" in kinds and "records.original_photo_opened" in kinds
    assert all(ID not in p for p in db.session.scalars(sa.select(AuditEntry.payload)))
    assert _leaks(sql_echo.records) == []


# --- exports of personal data need a reason, which is audited ---------------------------------

def _exports(db):
    import json

    return [json.loads(p) for p in db.session.scalars(
        sa.select(AuditEntry.payload).where(AuditEntry.event_type == "personal_data.exported")
        .order_by(AuditEntry.seq))]


def test_the_service_ledger_download_asks_why_and_records_the_reason(client, login, field, create_user, db):
    login(create_user("officer"), locale="zh_CN")
    url = f"/records/ledger/{field['contract'].id}.xlsx"
    asked = client.get(url)
    assert asked.status_code == 200 and asked.mimetype == "text/html"
    assert "导出个人信息的理由" in asked.get_data(as_text=True)
    refused = client.post(url, data={"reason": ""})
    assert refused.mimetype == "text/html" and "请说明导出个人信息的理由" in refused.get_data(as_text=True)
    assert _exports(db) == []
    sent = client.post(url, data={"reason": "向审计局报送2026年台账"})
    assert sent.status_code == 200 and sent.mimetype.endswith("spreadsheetml.sheet")
    assert sent.data[:2] == b"PK"
    [entry] = _exports(db)
    assert entry["what"] == "records.ledger" and entry["reason"] == "向审计局报送2026年台账"
    assert entry["filters"] == {"contract": field["contract"].contract_no}


def test_the_payment_ledger_downloads_ask_why(client, login, field, create_user, db):
    login(create_user("officer"), locale="zh_CN")
    for url in ("/payments/ledger.xlsx", f"/payments/contracts/{field['contract'].id}/ledger.xlsx"):
        assert client.get(url).mimetype == "text/html"
        sent = client.post(url, data={"reason": "年度资金核查"})
        assert sent.mimetype.endswith("spreadsheetml.sheet")
    assert [e["what"] for e in _exports(db)] == ["payments.ledger", "payments.ledger"]


def test_cli_exports_are_audited_with_the_os_user(run_cli, field, tmp_path, db):
    import getpass

    result = run_cli("services", "export", "--contract", field["contract"].contract_no, "-o", str(tmp_path / "l.csv"))
    assert result.exit_code == 0, result.output
    result = run_cli("integrity", "export", "--format", "csv", "-o", str(tmp_path / "f.csv"))
    assert result.exit_code == 0, result.output
    refused = run_cli("payments", "export", str(tmp_path / "p.xlsx"))
    assert refused.exit_code == 2 and "须说明理由" in refused.output
    assert run_cli("payments", "export", str(tmp_path / "p.xlsx"), "--reason", "审计抽查").exit_code == 0
    assert run_cli("payments", "export", str(tmp_path / "u.xlsx"), "--fund-use").exit_code == 0
    exports = _exports(db)
    assert [(e["what"], e["reason"]) for e in exports] == [
        ("records.ledger", "CLI"), ("integrity.flags", "CLI"), ("payments.ledger", "审计抽查")]
    assert all(e["filters"]["os_user"] == getpass.getuser() for e in exports)
    actors = db.session.scalars(sa.select(AuditEntry.actor_name)
                                .where(AuditEntry.event_type == "personal_data.exported")).all()
    assert all(a.startswith("cli:") for a in actors)
