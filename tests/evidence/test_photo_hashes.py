"""A photo's perceptual hashes come from the one reduced decode that makes its display copy
(hash version 2), and photos stored under version 1 are brought up to date by
``services rehash-photos`` and the nightly job, oldest first, without losing any."""

import io
import json

import pytest
import sqlalchemy as sa
from PIL import Image

from reliefsvc.audit.models import AuditEntry
from reliefsvc.evidence import get_storage, photos
from reliefsvc.evidence import service as records
from reliefsvc.evidence.jobs import rehash_photos as rehash_job
from reliefsvc.evidence.models import Photo, to_signed64
from reliefsvc.extensions import db
from reliefsvc.integrity import photohash


def _sideways(photo_bytes) -> bytes:
    img = Image.open(io.BytesIO(photo_bytes(seed=9177, size=(1800, 1200))))
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to show
    out = io.BytesIO()
    img.save(out, "JPEG", quality=88, exif=exif)
    return out.getvalue()


def _png(photo_bytes) -> bytes:
    out = io.BytesIO()
    Image.open(io.BytesIO(photo_bytes(seed=9178))).save(out, "PNG")
    return out.getvalue()


@pytest.mark.parametrize("kind", ["12mp", "small", "sideways", "grey", "png"])
def test_intake_stores_exactly_the_hashes_signature_takes(photo_bytes, kind):
    data = {
        "12mp": lambda: photo_bytes(seed=9105, size=(4000, 3000)),
        "small": lambda: photo_bytes(seed=9106, size=(640, 480)),
        "sideways": lambda: _sideways(photo_bytes),
        "grey": lambda: _grey_jpeg(photo_bytes),
        "png": lambda: _png(photo_bytes),
    }[kind]()

    facts = photos.examine(data)
    phash, dhash, trims = photos.signature(data)

    assert (facts.phash, facts.dhash, facts.trim_hashes) == (phash, dhash, photohash.pack_trims(trims))
    assert photohash.photo_signature(data) == (phash, dhash, trims)  # what the integrity tests use


def _grey_jpeg(photo_bytes) -> bytes:
    out = io.BytesIO()
    Image.open(io.BytesIO(photo_bytes(seed=9179, size=(2400, 1800)))).convert("L").save(out, "JPEG", quality=85)
    return out.getvalue()


def test_the_new_hashes_are_within_a_few_bits_of_the_old_decode(photo_bytes):
    """Version 1 (a grey decode of its own at 1/8) and 2 differ only by rounding: photos
    not yet rehashed still meet their copies well inside the integrity limits."""
    data = photo_bytes(seed=9111, size=(4000, 3000))
    with Image.open(io.BytesIO(data)) as img:
        old = photohash.signature_of(photohash.open_grey(img))
    new = photos.signature(data)

    assert photohash.hamming(old[0], new[0]) <= 4 and photohash.hamming(old[1], new[1]) <= 6
    assert max(photohash.hamming(a[0], b[0]) + photohash.hamming(a[1], b[1])
               for a, b in zip(old[2], new[2], strict=True)) < photohash.WINDOW_SUM_MAX


def test_the_model_stamps_new_photos_with_the_current_version(photo_bytes):
    photo = records.store_photo(records.Upload(photo_bytes(seed=9121), "IMG_21.jpg"))
    db.session.flush()

    assert photo.hash_version == photos.HASH_VERSION
    assert Photo.__table__.c.hash_version.server_default.arg == str(photos.HASH_VERSION)


def _stale(photo: Photo) -> None:
    """As a photo stored before version 2 looks after the upgrade (migration a7e1c0de1803)."""
    photo.hash_version = 1
    photo.phash, photo.dhash, photo.trim_hashes = 1, 2, b"\x00" * 8
    db.session.flush()


def test_rehash_brings_old_photos_to_the_current_hashes_oldest_first(photo_bytes):
    stored = [records.store_photo(records.Upload(photo_bytes(seed=9130 + i), f"IMG_{i}.jpg")) for i in range(3)]
    db.session.flush()
    for photo in stored:
        _stale(photo)

    first = records.rehash_photos(limit=2)
    assert (first.rehashed, first.unreadable, first.remaining) == (2, 0, 1)
    assert [p.hash_version for p in stored] == [2, 2, 1]

    second = records.rehash_photos()
    assert (second.rehashed, second.remaining) == (1, 0)
    for i, photo in enumerate(stored):
        phash, dhash, trims = photos.signature(photo_bytes(seed=9130 + i))
        assert (photo.phash, photo.dhash) == (to_signed64(phash), to_signed64(dhash))
        assert photo.trim_hashes == photohash.pack_trims(trims)

    entries = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.event_type == "photos.rehashed")
                                 .order_by(AuditEntry.seq)).all()
    assert [json.loads(e.payload)["rehashed"] for e in entries][-2:] == [2, 1]
    assert records.rehash_photos() == records.RehashResult(0, 0, 0)


def test_a_photo_whose_file_is_gone_keeps_its_hashes_and_is_tried_again(photo_bytes):
    gone, kept = (records.store_photo(records.Upload(photo_bytes(seed=9140 + i), f"IMG_{i}.jpg")) for i in range(2))
    db.session.flush()
    _stale(gone)
    _stale(kept)
    get_storage()._path_for(gone.sha256).unlink()

    result = records.rehash_photos()

    assert (result.rehashed, result.unreadable, result.remaining) == (1, 1, 1)
    assert (gone.hash_version, gone.phash, gone.dhash) == (1, 1, 2)
    assert kept.hash_version == photos.HASH_VERSION


def test_the_command_and_the_nightly_job_rehash(run_cli, photo_bytes):
    stored = [records.store_photo(records.Upload(photo_bytes(seed=9150 + i), f"IMG_{i}.jpg")) for i in range(2)]
    db.session.flush()
    for photo in stored:
        _stale(photo)
    db.session.commit()

    result = run_cli("services", "rehash-photos", "--limit", "1")
    assert result.exit_code == 0, result.output
    assert "rehashed 1 photos" in result.output and "尚余 1 张" in result.output

    message = rehash_job("2026-11-28", None)
    assert "重算照片感知哈希 1 张" in message and "尚余 0 张" in message
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Photo).where(Photo.hash_version < 2)) == 0

    result = run_cli("services", "rehash-photos", "--limit", "0")
    assert result.exit_code != 0  # at least one


@pytest.mark.no_db_rollback  # init migrates on a connection of its own
def test_init_says_how_many_photos_wait_for_their_new_hashes(app, run_cli, photo_bytes):
    with app.app_context():
        photo = records.store_photo(records.Upload(photo_bytes(seed=9160), "IMG_60.jpg"))
        db.session.flush()
        _stale(photo)
        db.session.commit()
        photo_id = photo.id
    try:
        waiting = run_cli("init")
        assert waiting.exit_code == 0, waiting.output
        assert "rehash-photos" in waiting.output and "张照片的感知哈希须按新算法重算" in waiting.output

        assert run_cli("services", "rehash-photos").exit_code == 0
        assert "rehash-photos" not in run_cli("init").output
    finally:
        with app.app_context():  # committed data: leave the database as the other tests expect it
            db.session.execute(sa.delete(Photo).where(Photo.id == photo_id))
            db.session.commit()
