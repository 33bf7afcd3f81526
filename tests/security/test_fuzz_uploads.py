"""Every upload fuzzed with Hypothesis: photos, documents, photo archives (issue 15).

Bytes come from real images (JPEG and PNG in several modes and sizes, with EXIF times and
GPS values that are plausible, absurd or malformed), then damaged: cut short, bytes flipped,
junk appended, a header claiming billions of pixels; and from raw bytes behind the magic
numbers. The checks must answer with the photo or a ``ContentError`` (Chinese first) —
never another exception — and the pages must never answer 500 nor keep half a record.
"""

from __future__ import annotations

import io
import struct
import warnings
import zipfile
import zlib
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from PIL import Image

from reliefsvc.evidence import content, photos
from reliefsvc.evidence.models import Photo, ServiceRecord
from reliefsvc.extensions import db as _db
from reliefsvc.providers import service as providers
from reliefsvc.providers.models import ProviderDocument
from tests.conftest import make_id

FUZZ = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])
WEB = settings(FUZZ, max_examples=12)

_GPS_VALUES = st.one_of(
    st.tuples(st.floats(0, 400, allow_nan=False), st.floats(0, 100, allow_nan=False),
              st.floats(0, 100, allow_nan=False)),
    st.just((0.0, 0.0, 0.0)), st.just(()), st.just((1.0,)), st.text(max_size=5))


@st.composite
def exif_blocks(draw):
    exif = Image.Exif()
    if draw(st.booleans()):
        exif.get_ifd(0x8769)[0x9003] = draw(st.one_of(
            st.datetimes(datetime(1990, 1, 1), datetime(2040, 1, 1)).map(lambda d: d.strftime("%Y:%m:%d %H:%M:%S")),
            st.text(max_size=25), st.just("0000:00:00 00:00:00")))
    if draw(st.booleans()):
        gps = exif.get_ifd(0x8825)
        gps[1] = draw(st.sampled_from(["N", "S", "X", ""]))
        gps[2] = draw(_GPS_VALUES)
        gps[3] = draw(st.sampled_from(["E", "W", "?"]))
        gps[4] = draw(_GPS_VALUES)
    if draw(st.booleans()):
        exif[0x0112] = draw(st.integers(0, 9))  # orientation, 0 and 9 are invalid
    return exif


@st.composite
def images(draw):
    """A real JPEG or PNG, small, in some mode, with or without EXIF."""
    fmt = draw(st.sampled_from(["JPEG", "PNG"]))
    modes = ["RGB", "L", "CMYK", "1"] if fmt == "JPEG" else ["RGB", "RGBA", "L", "P", "1", "I;16", "LA"]
    mode = draw(st.sampled_from(modes))
    size = (draw(st.integers(1, 64)), draw(st.integers(1, 64)))
    img = Image.new(mode, size)
    pixels = draw(st.binary(min_size=0, max_size=64))
    if pixels and mode in ("RGB", "L", "RGBA", "CMYK"):
        img.putpixel((0, 0), tuple(pixels[:len(mode)]) if len(mode) > 1 and len(pixels) >= len(mode) else pixels[0])
    out = io.BytesIO()
    kwargs = {}
    if draw(st.booleans()):
        kwargs["exif"] = draw(exif_blocks())
    try:
        img.save(out, fmt, **kwargs)
    except (OSError, ValueError, TypeError, struct.error):
        out = io.BytesIO()
        img.convert("RGB").save(out, fmt)
    return out.getvalue()


def png_header(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + chunk(b"IEND", b""))


@st.composite
def damaged(draw, source):
    data = bytearray(draw(source))
    for _ in range(draw(st.integers(0, 3))):
        if not data:
            break
        at = int(draw(st.floats(0, 1, exclude_max=True)) * len(data))
        data[at] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        data = data[: int(draw(st.floats(0, 1)) * len(data))]
    if draw(st.integers(0, 4)) == 0:
        data += draw(st.binary(max_size=64))
    return bytes(data)


MAGICS = [b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"%PDF-", b"\x00\x00\x00\x18ftypheic", b"PK\x03\x04", b"GIF89a", b""]

upload_bytes = st.one_of(
    images(),
    damaged(images()),
    st.builds(png_header, st.integers(0, 2**31 - 1), st.integers(0, 2**31 - 1)),
    st.builds(lambda m, b: m + b, st.sampled_from(MAGICS), st.binary(max_size=300)),
    st.builds(lambda body, end: b"%PDF-1.4\n" + body + end, st.binary(max_size=200),
              st.sampled_from([b"\n%%EOF\n", b"", b"%%EO"])),
)


# --- the checks themselves -------------------------------------------------------------------------

@FUZZ
@given(data=upload_bytes)
def test_a_photo_is_a_photo_or_a_content_error(data):
    try:
        facts = photos.examine(data)
    except content.ContentError as exc:
        assert exc.zh and exc.en
        return
    with Image.open(io.BytesIO(facts.display)) as shown:
        assert shown.format == "JPEG" and not shown.getexif()
        assert max(shown.size) <= photos.DISPLAY_SIZE
    assert facts.width * facts.height <= photos.MAX_PIXELS
    assert facts.exif_lat is None or -90 <= facts.exif_lat <= 90
    assert facts.exif_lon is None or -180 <= facts.exif_lon <= 180


@FUZZ
@given(data=upload_bytes)
def test_a_document_is_accepted_or_refused_by_content(app, data):
    with app.app_context():
        try:
            kind = content.check_document(data)
        except content.ContentError as exc:
            assert exc.zh and exc.en
            return
    assert kind in (content.PDF, content.JPEG, content.PNG)
    assert data.startswith((b"%PDF-", b"\xff\xd8\xff", b"\x89PNG"))


# --- through the pages ---------------------------------------------------------------------------

@pytest.fixture
def field(create_contract, create_case, villages, create_user):
    contract = create_contract(obligations=(("home_visit", "month", 10, "records"),))
    worker = create_user("provider_worker", org=contract.provider.organisation)
    staff = providers.add_staff(contract.provider, id_number=make_id(11), name="马小军", role="coordinator")
    staff.user = worker
    case = create_case(villages[0], ref="HH-100")
    return {"contract": contract, "worker": worker, "staff": staff, "case": case,
            "manager": create_user("provider_manager", org=contract.provider.organisation),
            "officer": create_user("officer")}


def _count(model) -> int:
    return _db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_service_photos_from_the_phone_form(client, login, field, db):
    login(field["worker"], locale="zh_CN")
    keys = iter(range(10**6))

    @WEB
    @given(files=st.lists(st.tuples(upload_bytes, st.sampled_from(["a.jpg", "../../b.png", "", "照片.HEIC"])),
                          min_size=1, max_size=3))
    def check(files):
        before = (_count(ServiceRecord), _count(Photo))
        now = datetime.now().replace(second=0, microsecond=0)
        response = client.post("/records/new", data={
            "contract_id": field["contract"].id, "case_id": field["case"].id, "service_type": "home_visit",
            "worker_id": field["staff"].id, "started_at": (now - timedelta(minutes=40)).strftime("%Y-%m-%dT%H:%M"),
            "ended_at": now.strftime("%Y-%m-%dT%H:%M"), "notes": "了解家庭近况", "lat": "35.39", "lon": "103.71",
            "submission_key": f"fuzz-{next(keys)}", "photos": [(io.BytesIO(d), n) for d, n in files]},
            content_type="multipart/form-data")
        assert response.status_code in (200, 302)
        after = (_count(ServiceRecord), _count(Photo))
        if response.status_code == 200:  # refused: the form again, with the reason
            assert after == before
        else:
            assert after[0] == before[0] + 1

    check()


def test_provider_documents(client, login, field, db):
    provider = field["contract"].provider
    login(field["manager"], locale="zh_CN")

    @WEB
    @given(data=upload_bytes, name=st.sampled_from(["x.pdf", "../../../etc/passwd", "a\\b.png", "证书.jpg"]))
    def check(data, name):
        before = _count(ProviderDocument)
        response = client.post(f"/providers/{provider.id}/documents", data={"file": (io.BytesIO(data), name)},
                               content_type="multipart/form-data")
        assert response.status_code == 302
        try:
            content.check_document(data)
            acceptable = True
        except content.ContentError:
            acceptable = False
        assert _count(ProviderDocument) == before + (1 if acceptable and data else 0)

    check()


@st.composite
def photo_archives(draw):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for _ in range(draw(st.integers(0, 3))):
            name = draw(st.sampled_from(["a.jpg", "b.png", "../a.jpg", "/abs.jpg", "dir/c.jpg", "C:/x.jpg", "a.jpg"]))
            with warnings.catch_warnings():  # a duplicate name is exactly what a hostile archive holds
                warnings.simplefilter("ignore", UserWarning)
                archive.writestr(name, draw(upload_bytes))
    data = out.getvalue()
    return draw(st.one_of(st.just(data), damaged(st.just(data))))


def test_ledger_imports_with_photo_archives(client, login, field, db):
    login(field["officer"], locale="zh_CN")
    start = datetime(2026, 11, 20, 9, 0)

    @WEB
    @given(archive=photo_archives(), names=st.sampled_from(["a.jpg", "a.jpg;b.png", "../a.jpg", "dir/c.jpg", ""]))
    def check(archive, names):
        before = (_count(ServiceRecord), _count(Photo))
        ledger = ("record_ref,worker_id_number,case_ref,service_type,started_at,ended_at,photos\n"
                  f"F-1,{make_id(11)},HH-100,home_visit,{start:%Y-%m-%d %H:%M},"
                  f"{start + timedelta(hours=1):%Y-%m-%d %H:%M},{names}\n")
        response = client.post("/records/ledger", data={
            "contract_id": str(field["contract"].id), "encoding": "utf-8",
            "file": (io.BytesIO(ledger.encode()), "ledger.csv"), "photos": (io.BytesIO(archive), "photos.zip")},
            content_type="multipart/form-data")
        assert response.status_code == 200
        if "导入完成" not in response.get_data(as_text=True):
            assert (_count(ServiceRecord), _count(Photo)) == before

    check()
