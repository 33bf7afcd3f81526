"""``services import`` / ``services export``: every rule of the ledger format."""

import io
import struct
import zipfile
import zlib
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from reliefsvc.evidence.models import Photo, ServiceRecord
from reliefsvc.providers import service as providers
from tests.conftest import count, make_id

HEADER = "record_ref,worker_id_number,case_ref,service_type,started_at,ended_at,lat,lon,notes,photos\n"


def huge_png(width=20000, height=20000) -> bytes:
    """A PNG whose header says 20000x20000: refused before a pixel is decoded."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


@pytest.fixture
def setup(create_contract, create_case, villages, photo_bytes, tmp_path):
    contract = create_contract(obligations=(("home_visit", "month", 10, "records"),))
    worker = providers.add_staff(contract.provider, id_number=make_id(11), name="马小军", role="coordinator")
    case = create_case(villages[0], ref="HH-001")
    photos = tmp_path / "photos"
    photos.mkdir()
    when = datetime(2026, 3, 2, 10, 5)
    (photos / "a.jpg").write_bytes(photo_bytes(1, when=when, gps=(35.38, 103.71)))
    (photos / "b.jpg").write_bytes(photo_bytes(2, when=when))
    (photos / "fake.jpg").write_text("这不是照片，只是改了扩展名的文本文件")
    (photos / "huge.png").write_bytes(huge_png())
    return {"contract": contract, "worker": worker, "case": case, "photos": photos, "tmp": tmp_path}


def row(ref, worker, case="HH-001", stype="home_visit", start="2026-03-02 10:00", end="2026-03-02 10:30",
        photos="a.jpg", notes="入户走访，了解家庭收入和就医情况"):
    return f"{ref},{worker},{case},{stype},{start},{end},35.38,103.71,{notes},{photos}\n"


def write(setup, text, name="ledger.csv"):
    path = setup["tmp"] / name
    path.write_text(HEADER + text, encoding="utf-8")
    return str(path)


def run(run_cli, setup, text, *extra, photos=None):
    return run_cli("services", "import", "--contract", setup["contract"].contract_no,
                   "--photos", str(photos or setup["photos"]), write(setup, text), *extra)


def test_good_ledger_imports_and_reimport_changes_nothing(run_cli, setup, db):
    w = setup["worker"].id_number
    text = row("L-001", w, photos="a.jpg;b.jpg") + row("L-002", w, start="2026-03-03 09:00", end="2026-03-03 09:40",
                                                       photos="b.jpg")
    result = run(run_cli, setup, text)
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == "imported 2, updated 0, rejected 0"
    first = db.session.scalar(sa.select(ServiceRecord).where(ServiceRecord.record_ref == "L-001"))
    assert len(first.photos) == 2 and first.minutes == 30 and first.month == "2026-03"
    assert count(Photo) == 2  # b.jpg twice, stored once
    photo = first.photos[0].photo
    assert photo.exif_lat == pytest.approx(35.38, abs=1e-4) and photo.exif_time.astimezone(UTC).hour == 2
    again = run(run_cli, setup, text)
    assert again.output.strip().splitlines()[-1] == "imported 0, updated 0, rejected 0"
    assert count(ServiceRecord) == 2


CASES = {
    "unknown household": (dict(case="HH-999"), "case_ref", "户编号 HH-999 不存在"),
    "worker not on the roster": (dict(worker=make_id(99)), "worker_id_number", "不在承接主体的人员名册上"),
    "non-purchasable type": (dict(stype="approval_decision"), "service_type", "不能作为购买服务填报"),
    "end before start": (dict(end="2026-03-02 09:00"), "ended_at", "结束时间不能早于开始时间"),
    "missing photo file": (dict(photos="nowhere.jpg"), "photos", "找不到照片文件“nowhere.jpg”"),
    "text file renamed .jpg": (dict(photos="fake.jpg"), "photos", "不是 JPEG、PNG 或 HEIC"),
    "20000 x 20000 pixels": (dict(photos="huge.png"), "photos", "照片像素过多"),
    "bad ID check digit": (dict(worker=make_id(11)[:-1] + ("0" if make_id(11)[-1] != "0" else "1")),
                           "worker_id_number", "身份证号校验位错误"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_rule_gives_a_row_numbered_chinese_error_and_writes_nothing(case, run_cli, setup):
    changes, column, chinese = CASES[case]
    w = setup["worker"].id_number
    bad = {"worker": w, **changes}
    text = row("L-001", w) + row("L-002", **bad)
    result = run(run_cli, setup, text)
    assert result.exit_code == 1
    assert f"row 3, {column}" in result.output
    assert chinese in result.output
    assert count(ServiceRecord) == 0


def test_partial_writes_only_the_good_rows(run_cli, setup):
    w = setup["worker"].id_number
    text = row("L-001", w) + row("L-002", w, case="HH-999") + row("L-003", w, start="2026-03-04 10:00",
                                                                   end="2026-03-04 10:20")
    result = run(run_cli, setup, text, "--partial")
    assert result.exit_code == 0
    assert result.output.strip().splitlines()[-1] == "imported 2, updated 0, rejected 1"
    assert count(ServiceRecord) == 2


def test_a_zip_entry_climbing_out_is_refused(run_cli, setup, photo_bytes):
    archive = setup["tmp"] / "photos.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("a.jpg", photo_bytes(1))
        zf.writestr("../../x.jpg", photo_bytes(3))
    w = setup["worker"].id_number
    text = row("L-001", w, photos="a.jpg") + row("L-002", w, photos="../../x.jpg")
    result = run(run_cli, setup, text, photos=archive)
    assert result.exit_code == 1
    assert "row 3, photos" in result.output and "含有路径" in result.output
    assert count(ServiceRecord) == 0
    ok = run(run_cli, setup, row("L-001", w, photos="a.jpg"), photos=archive)
    assert ok.exit_code == 0, ok.output


def test_export_gives_the_same_columns_back(run_cli, setup, tmp_path):
    import csv

    w = setup["worker"].id_number
    assert run(run_cli, setup, row("L-001", w)).exit_code == 0
    out = tmp_path / "out.csv"
    result = run_cli("services", "export", "--contract", setup["contract"].contract_no, "-o", str(out))
    assert result.exit_code == 0 and "exported 1" in result.output
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert rows[0]["record_ref"] == "L-001" and rows[0]["started_at"] == "2026-03-02 10:00:00"
    assert rows[0]["worker_id_number"] == w and rows[0]["photos"] == "a.jpg"
    xlsx = tmp_path / "out.xlsx"
    assert run_cli("services", "export", "--contract", setup["contract"].contract_no, "-o", str(xlsx)).exit_code == 0
    from openpyxl import load_workbook

    wb = load_workbook(xlsx, read_only=True)
    header = next(wb.worksheets[0].iter_rows(values_only=True))
    wb.close()
    assert header[0] == "record_ref"
