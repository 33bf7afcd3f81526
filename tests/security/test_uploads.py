"""Uploads: judged by content, size and pixel limits, bombs refused in Chinese, names never paths, quotas (issue 15)."""

from __future__ import annotations

import io
import os
import struct
import zipfile
import zlib
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image

from reliefsvc.common.tabular import MAX_XLSX_UNPACKED, TableError, read_table
from reliefsvc.demo.providers import minimal_pdf
from reliefsvc.evidence import content, photos, quota
from reliefsvc.evidence.models import Photo, ServiceRecord
from reliefsvc.providers import service as providers
from reliefsvc.providers.models import ProviderDocument
from reliefsvc.regions.rules import COLUMNS as REGION_COLUMNS
from tests.conftest import count, make_id


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims ``width`` x ``height`` pixels in a few dozen bytes (a decompression bomb's shape)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
            + chunk(b"IEND", b""))


@pytest.fixture
def field(create_contract, create_case, villages, create_user):
    contract = create_contract(obligations=(("home_visit", "month", 10, "records"),))
    worker_user = create_user("provider_worker", org=contract.provider.organisation)
    staff = providers.add_staff(contract.provider, id_number=make_id(31), name="马小军", role="coordinator")
    staff.user = worker_user
    case = create_case(villages[0], ref="HH-200", head_name="韩大山")
    return {"contract": contract, "worker": worker_user, "staff": staff, "case": case}


def post_record(client, field, files, key="k-1"):
    now = datetime.now().replace(second=0, microsecond=0)
    return client.post("/records/new", data={
        "contract_id": field["contract"].id, "case_id": field["case"].id, "service_type": "home_visit",
        "worker_id": field["staff"].id, "started_at": (now - timedelta(minutes=40)).strftime("%Y-%m-%dT%H:%M"),
        "ended_at": now.strftime("%Y-%m-%dT%H:%M"), "notes": "了解家庭近况", "lat": "35.39", "lon": "103.71",
        "submission_key": key, "photos": files}, content_type="multipart/form-data")


# --- pixels and bombs --------------------------------------------------------------------------

@pytest.mark.parametrize("size", [(9000, 9000), (30000, 30000), (65535, 65535)])
def test_pixel_bombs_are_refused_in_chinese_before_decoding(size):
    bomb = png_header_only(*size)
    assert len(bomb) < 200
    with pytest.raises(content.ContentError) as caught:
        photos.examine(bomb)
    assert "像素过多" in caught.value.zh
    with pytest.raises(content.ContentError) as caught:
        content.check_document(bomb)
    assert "像素过多" in caught.value.zh


def test_pillow_itself_refuses_bombs_anywhere_in_the_process():
    assert Image.MAX_IMAGE_PIXELS == content.MAX_PIXELS
    with pytest.raises(Image.DecompressionBombError):
        Image.open(io.BytesIO(png_header_only(30000, 30000)))


def test_a_bomb_sent_as_a_service_photo_is_a_chinese_error_not_a_500(client, login, field, db):
    login(field["worker"], locale="zh_CN")
    response = post_record(client, field, [(io.BytesIO(png_header_only(30000, 30000)), "bomb.png")])
    assert response.status_code == 200
    assert "像素过多" in response.get_data(as_text=True)
    assert count(ServiceRecord) == 0 and count(Photo) == 0


def _xlsx_bomb(unpacked: int) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        info = zipfile.ZipInfo("xl/worksheets/sheet1.xml")
        info.compress_type = zipfile.ZIP_DEFLATED
        with archive.open(info, "w", force_zip64=True) as member:
            block = b"\x00" * (1024 * 1024)
            for _ in range(unpacked // len(block) + 1):
                member.write(block)
    return out.getvalue()


def test_an_xlsx_zip_bomb_is_refused_before_openpyxl_inflates_it(client, login, create_user, db, monkeypatch):
    from reliefsvc.common import tabular

    assert MAX_XLSX_UNPACKED == 200 * 1024 * 1024
    # the same check at a tenth of the scale, to keep the test quick: 8 MB from a few KB
    monkeypatch.setattr(tabular, "MAX_XLSX_UNPACKED", 8 * 1024 * 1024)
    bomb = _xlsx_bomb(8 * 1024 * 1024)
    assert len(bomb) < 64 * 1024
    with pytest.raises(TableError) as caught:
        read_table(bomb, REGION_COLUMNS)
    assert "压缩炸弹" in caught.value.errors[0].zh
    login(create_user("admin"), locale="zh_CN")
    response = client.post("/regions/import", data={"file": (io.BytesIO(bomb), "regions.xlsx"), "encoding": "utf-8"},
                           content_type="multipart/form-data")
    assert response.status_code == 200 and "压缩炸弹" in response.get_data(as_text=True)


def test_a_file_named_xlsx_that_is_a_broken_zip_is_a_row_error():
    with pytest.raises(TableError) as caught:
        read_table(b"PK\x03\x04" + os.urandom(300), REGION_COLUMNS, filename="r.xlsx")
    assert "无法读取 Excel 文件" in caught.value.errors[0].zh


# --- sizes and content, not names --------------------------------------------------------------

def test_size_limits_per_kind(photo_bytes):
    big = photo_bytes(1)
    with pytest.raises(content.ContentError) as caught:
        photos.examine(big + b"\x00" * (photos.MAX_PHOTO_BYTES + 1 - len(big)))
    assert "超过 15 MB" in caught.value.zh
    pdf = minimal_pdf("x")
    with pytest.raises(content.ContentError) as caught:
        content.check_document(b"%PDF-" + b"0" * content.MAX_DOCUMENT_BYTES + pdf[5:])
    assert "超过 20 MB" in caught.value.zh
    with pytest.raises(TableError) as caught:
        read_table(b"code,name,level\n" + b"1,a,county\n" * (3 * 1024 * 1024), REGION_COLUMNS)
    assert "请分批导入" in caught.value.errors[0].zh


@pytest.mark.parametrize("data", [b"", b"GIF89a....", b"%PDF-1.4 no end", b"\xff\xd8\xff\xe0broken jpeg",
                                  b"<svg onload=alert(1)>", b"MZ\x90\x00"])
def test_documents_are_judged_by_content(data):
    with pytest.raises(content.ContentError):
        content.check_document(data)


def test_a_user_chosen_name_never_reaches_the_file_system(client, login, field, create_user, photo_bytes, app, db):
    evidence_root = Path(app.config["EVIDENCE_PATH"])
    before = set(evidence_root.rglob("*"))
    login(field["worker"])
    evil = "../../../../tmp/evil.jpg"
    assert post_record(client, field, [(io.BytesIO(photo_bytes(41)), evil)]).status_code == 302
    officer = create_user("officer")
    login(officer)
    provider = field["contract"].provider
    response = client.post(f"/providers/{provider.id}/documents",
                           data={"file": (io.BytesIO(minimal_pdf("certificate")), "..\\..\\instance\\config.py")},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    created = set(evidence_root.rglob("*")) - before
    files = [p for p in created if p.is_file()]
    assert len(files) == 3  # the photo, its display copy and the document, each under its SHA-256
    for path in files:
        assert len(path.name) == 64 and all(c in "0123456789abcdef" for c in path.name)
        assert path.resolve().is_relative_to(evidence_root.resolve())
    assert not Path("/tmp/evil.jpg").exists()
    doc = db.session.scalar(sa.select(ProviderDocument))
    assert "/" not in doc.filename and "\\" not in doc.filename
    # The name is only shown; the download still answers with the stored content.
    download = client.get(f"/providers/{provider.id}/documents/{doc.id}")
    assert download.data.startswith(b"%PDF-")
    download.close()


def test_the_display_copy_is_re_encoded_without_exif(photo_bytes):
    original = photo_bytes(7, when=datetime(2026, 11, 27, 9, 0), gps=(35.39, 103.71))
    facts = photos.examine(original)
    assert facts.exif_lat is not None
    with Image.open(io.BytesIO(facts.display)) as shown:
        assert shown.format == "JPEG" and not shown.getexif()
        assert "exif" not in shown.info


# --- quotas per organisation -------------------------------------------------------------------

@pytest.fixture
def small_quota(app):
    saved = app.config["UPLOAD_QUOTA_BYTES_PER_ORG"], app.config.get("UPLOAD_QUOTA_CACHE_SECONDS")
    app.config["UPLOAD_QUOTA_CACHE_SECONDS"] = 0
    yield app.config
    app.config["UPLOAD_QUOTA_BYTES_PER_ORG"] = saved[0]
    app.config["UPLOAD_QUOTA_CACHE_SECONDS"] = saved[1]
    quota._cache.clear()


def test_usage_is_counted_from_the_stored_sizes(client, login, field, photo_bytes, small_quota, create_user, db):
    org = field["contract"].provider.organisation_id
    bureau = create_user("officer").organisation_id
    bureau_before = quota.usage(bureau)  # the vetting documents its officers uploaded
    assert quota.usage(org) == 0 and bureau_before > 0
    login(field["worker"])
    first = photo_bytes(51)
    assert post_record(client, field, [(io.BytesIO(first), "a.jpg")]).status_code == 302
    assert quota.usage(org) == len(first)
    manager = create_user("provider_manager", org=field["contract"].provider.organisation)
    providers.add_document(field["contract"].provider, minimal_pdf("charter"), "章程.pdf", manager)
    db.session.flush()
    assert quota.usage(org) == len(first) + len(minimal_pdf("charter"))
    # another organisation's usage is its own
    assert quota.usage(bureau) == bureau_before


def test_an_organisation_over_its_quota_is_refused_in_chinese(client, login, field, photo_bytes, small_quota, db):
    org = field["contract"].provider.organisation_id
    login(field["worker"], locale="zh_CN")
    first = photo_bytes(61)
    assert post_record(client, field, [(io.BytesIO(first), "a.jpg")]).status_code == 302
    small_quota["UPLOAD_QUOTA_BYTES_PER_ORG"] = quota.usage(org) + 1000
    response = post_record(client, field, [(io.BytesIO(photo_bytes(62)), "b.jpg")], key="k-2")
    assert response.status_code == 200
    assert "本单位的上传空间已满" in response.get_data(as_text=True)
    assert count(ServiceRecord) == 1
    # documents count against the same quota
    with client.application.test_request_context():
        from flask_login import login_user

        login_user(field["worker"])
        with pytest.raises(quota.QuotaExceeded):
            content.check_document(minimal_pdf("x" * 2000))
    # and a ledger import with photos is refused as a whole
    from reliefsvc.evidence import ledger

    folder = Path(client.application.instance_path) / "quota-photos"
    folder.mkdir(exist_ok=True)
    (folder / "p.jpg").write_bytes(photo_bytes(63))
    start = datetime(2026, 11, 20, 9, 0)
    text = ("record_ref,worker_id_number,case_ref,service_type,started_at,ended_at,photos\n"
            f"Q-1,{make_id(31)},HH-200,home_visit,{start:%Y-%m-%d %H:%M},{start + timedelta(hours=1):%Y-%m-%d %H:%M},p.jpg\n")
    report = ledger.import_ledger(field["contract"], text.encode(), photos_at=str(folder))
    assert not report.written and any("上传空间已满" in e.zh for e in report.errors)
    assert count(ServiceRecord) == 1


def test_image_documents_are_shown_without_exif_but_stored_as_sent(client, login, create_provider, create_user,
                                                                   photo_bytes, app, db):
    from reliefsvc.evidence import get_storage

    provider = create_provider()
    login(create_user("officer"))
    scan = photo_bytes(71, when=datetime(2026, 11, 27, 9, 0), gps=(35.39, 103.71))
    with Image.open(io.BytesIO(scan)) as img:
        assert img.getexif().get_ifd(0x8825)
    response = client.post(f"/providers/{provider.id}/documents", data={"file": (io.BytesIO(scan), "receipt.jpg")},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    doc = db.session.scalar(sa.select(ProviderDocument))
    with get_storage().open(doc.sha256) as stored:
        assert stored.read() == scan  # the evidence, byte for byte
    shown = client.get(f"/providers/{provider.id}/documents/{doc.id}")
    assert shown.mimetype == "image/jpeg"
    with Image.open(io.BytesIO(shown.data)) as img:
        assert not img.getexif() and img.size == (320, 240)
    shown.close()
