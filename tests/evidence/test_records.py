"""Service records from the phone form, review and correction, photos and their privacy."""

import io
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from PIL import Image

from reliefsvc.audit.models import AuditEntry
from reliefsvc.evidence.models import RecordStatus, ServiceRecord
from reliefsvc.notifications.models import Notification
from reliefsvc.providers import service as providers
from tests.conftest import make_id


@pytest.fixture
def field(create_contract, create_case, villages, create_user):
    contract = create_contract(obligations=(("home_visit", "month", 10, "records"),))
    worker_user = create_user("provider_worker", org=contract.provider.organisation)
    staff = providers.add_staff(contract.provider, id_number=make_id(21), name="马小军", role="coordinator")
    staff.user = worker_user
    case = create_case(villages[0], ref="HH-100", head_name="韩大山")
    return {"contract": contract, "worker": worker_user, "staff": staff, "case": case}


def post_record(client, field, photo, **extra):
    now = datetime.now().replace(second=0, microsecond=0)
    data = {"contract_id": field["contract"].id, "case_id": field["case"].id, "service_type": "home_visit",
            "worker_id": field["staff"].id, "started_at": (now - timedelta(minutes=40)).strftime("%Y-%m-%dT%H:%M"),
            "ended_at": now.strftime("%Y-%m-%dT%H:%M"), "notes": "了解家庭近况", "lat": "35.39", "lon": "103.71",
            "submission_key": "k-1", "photos": [(io.BytesIO(photo), "现场.jpg")], **extra}
    return client.post("/records/new", data=data, content_type="multipart/form-data")


def test_a_worker_records_a_home_visit_with_a_photo(client, login, field, photo_bytes, db):
    login(field["worker"])
    form = client.get(f"/records/new?case_id={field['case'].id}").get_data(as_text=True)
    assert "韩大山" in form and 'capture="environment"' in form
    photo = photo_bytes(5, when=datetime(2026, 11, 27, 9, 0), gps=(35.39, 103.71))
    response = post_record(client, field, photo)
    assert response.status_code == 302
    record = db.session.scalar(sa.select(ServiceRecord))
    assert record.record_ref.startswith("APP-") and len(record.record_ref) == 19
    assert record.status is RecordStatus.SUBMITTED and len(record.photos) == 1
    # the same form sent again (a retry after a dropped answer) saves nothing new
    again = post_record(client, field, photo)
    assert again.status_code == 302 and again.headers["Location"].endswith(f"/records/{record.id}")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ServiceRecord)) == 1
    assert "入户走访" in client.get("/records/").get_data(as_text=True)


def test_a_photo_is_required_for_a_home_visit_and_must_be_a_photo(client, login, field, db):
    login(field["worker"])
    response = post_record(client, field, b"not a photo", submission_key="k-2")
    assert response.status_code == 200 and "不是 JPEG、PNG 或 HEIC" in response.get_data(as_text=True)
    response = post_record(client, field, b"", submission_key="k-3", photos=[])
    assert "须附现场照片" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ServiceRecord)) == 0


def test_review_reject_correct_accept(client, login, field, photo_bytes, create_user, db):
    login(field["worker"])
    post_record(client, field, photo_bytes(6))
    record = db.session.scalar(sa.select(ServiceRecord))
    officer = create_user("officer")
    login(officer)
    assert client.post(f"/records/{record.id}/review", data={"reject": "1", "reason": ""}).status_code == 302
    assert record.status is RecordStatus.SUBMITTED  # a rejection needs a reason
    client.post(f"/records/{record.id}/review", data={"reject": "1", "reason": "照片与服务对象不符"})
    db.session.refresh(record)
    assert record.status is RecordStatus.REJECTED
    note = db.session.scalar(sa.select(Notification).where(Notification.user_id == field["worker"].id))
    assert "被退回" in note.title and note.body == "照片与服务对象不符"
    login(field["worker"])
    page = client.get(f"/records/{record.id}").get_data(as_text=True)
    assert "照片与服务对象不符" in page
    now = datetime.now().replace(second=0, microsecond=0)
    client.post(f"/records/{record.id}/correct", data={
        "contract_id": field["contract"].id, "case_id": field["case"].id, "service_type": "home_visit",
        "worker_id": field["staff"].id, "started_at": (now - timedelta(minutes=50)).strftime("%Y-%m-%dT%H:%M"),
        "ended_at": now.strftime("%Y-%m-%dT%H:%M"), "notes": "补拍照片", "keep_photo": [],
        "photos": [(io.BytesIO(photo_bytes(7)), "补拍.jpg")]}, content_type="multipart/form-data")
    db.session.refresh(record)
    assert record.status is RecordStatus.SUBMITTED and record.version == 2 and record.notes == "补拍照片"
    assert [h.action for h in record.history] == ["submitted", "rejected", "corrected"]
    login(officer)
    client.post(f"/records/{record.id}/review", data={"accept": "1"})
    db.session.refresh(record)
    assert record.status is RecordStatus.ACCEPTED


def test_providers_get_photos_without_exif_and_originals_are_audited(client, login, field, photo_bytes,
                                                                     create_user, db):
    login(field["worker"])
    post_record(client, field, photo_bytes(8, when=datetime(2026, 11, 27, 9, 0), gps=(35.39, 103.71)))
    record = db.session.scalar(sa.select(ServiceRecord))
    photo_id = record.photos[0].photo_id
    shown = client.get(f"/records/{record.id}/photos/{photo_id}")
    image = Image.open(io.BytesIO(shown.data))
    assert not image.getexif().get_ifd(0x8825) and not image.getexif()
    shown.close()
    assert client.get(f"/records/{record.id}/photos/{photo_id}?original=1").status_code == 403
    login(create_user("evaluator"))
    original = client.get(f"/records/{record.id}/photos/{photo_id}?original=1")
    assert Image.open(io.BytesIO(original.data)).getexif().get_ifd(0x8825)
    original.close()
    assert db.session.scalar(sa.select(AuditEntry).where(AuditEntry.event_type == "records.original_photo_opened"))


def test_another_provider_cannot_open_the_record_or_its_photo(client, login, field, photo_bytes, create_user,
                                                              create_provider):
    login(field["worker"])
    post_record(client, field, photo_bytes(9))
    from reliefsvc.extensions import db

    record = db.session.scalar(sa.select(ServiceRecord))
    other = create_provider(name="别家机构")
    login(create_user("provider_manager", org=other.organisation))
    assert client.get(f"/records/{record.id}").status_code == 404
    assert client.get(f"/records/{record.id}/photos/{record.photos[0].photo_id}").status_code == 404
    assert record.record_ref not in client.get("/records/").get_data(as_text=True)
    assert client.get(f"/cases/{field['case'].id}").status_code == 404


def test_an_alert_check_clears_the_alert_and_late_ones_show_on_the_contract(client, login, field, create_user, db):
    from datetime import UTC

    from reliefsvc.cases import service as cases
    from reliefsvc.evidence import service as records
    from reliefsvc.evidence.models import RecordSource

    issued = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
    on_time = cases.issue_alert(field["case"], "red", issued)
    records.submit(records.RecordInput(contract=field["contract"], worker=field["staff"],
                                       service_type_code="alert_check", started_at=issued + timedelta(hours=3),
                                       ended_at=issued + timedelta(hours=4), case=field["case"],
                                       record_ref="AC-1"), [], None, RecordSource.LEDGER)
    assert on_time.cleared_at == issued + timedelta(hours=4) and on_time.cleared_by_record_id is not None
    late = cases.issue_alert(field["case"], "red", issued + timedelta(days=2))
    login(create_user("officer"))
    page = client.get(f"/contracts/{field['contract'].id}").get_data(as_text=True)
    assert 'data-testid="missed-alerts">1<' in page and late.case.head_name in page


def test_the_household_page_shows_its_services_and_the_worker_page_the_days(client, login, field, photo_bytes,
                                                                         create_user, db):
    login(field["worker"])
    post_record(client, field, photo_bytes(12))
    case_page = client.get(f"/cases/{field['case'].id}").get_data(as_text=True)
    assert 'data-testid="case-timeline"' in case_page and "入户走访" in case_page and "马小军" in case_page
    login(create_user("officer"))
    provider = field["contract"].provider
    days = client.get(f"/records/providers/{provider.id}/staff/{field['staff'].id}").get_data(as_text=True)
    assert 'data-testid="worker-day"' in days and "入户走访" in days


def test_heic_photos_from_phones_are_taken_and_shown_as_jpeg(field, db):
    import pillow_heif  # noqa: F401 — registered by reliefsvc.evidence.photos

    from reliefsvc.evidence import service as records

    img = Image.new("RGB", (320, 240), (30, 120, 200))
    out = io.BytesIO()
    img.save(out, "HEIF")
    photo = records.store_photo(records.Upload(out.getvalue(), "IMG_0001.HEIC"))
    assert photo.content_type == "image/heic" and (photo.width, photo.height) == (320, 240)
    from reliefsvc.evidence import get_storage

    with get_storage().open(photo.display_sha256) as fh:
        assert fh.read(3) == b"\xff\xd8\xff"


def test_finding_a_household_keeps_what_was_typed(client, login, field):
    login(field["worker"])
    page = client.get("/records/new", query_string={"search": "1", "q": "韩", "notes": "已经写好的服务内容",
                                                     "service_type": "care_service"}).get_data(as_text=True)
    assert "已经写好的服务内容" in page and "韩大山" in page
    assert '<option selected value="care_service">' in page or 'value="care_service" selected' in page


def test_the_review_list_filters_by_worker_and_village(client, login, field, photo_bytes, create_user, villages):
    login(field["worker"])
    post_record(client, field, photo_bytes(13))
    login(create_user("officer"))
    by_worker = client.get(f"/records/?worker_id={field['staff'].id}").get_data(as_text=True)
    assert "共 1 条" in by_worker
    elsewhere = client.get(f"/records/?village_id={villages[1].id}").get_data(as_text=True)
    assert "共 0 条" in elsewhere
    here = client.get(f"/records/?village_id={villages[0].id}").get_data(as_text=True)
    assert "共 1 条" in here
