"""The orphan sweep: evidence files no row names (an upload killed or rolled back after it
stored its photos) are removed once their grace period is over; named or young files stay."""

import io
import os
import time
from datetime import timedelta

from reliefsvc.evidence import get_storage
from reliefsvc.evidence import service as records
from reliefsvc.evidence.models import Photo
from reliefsvc.extensions import db


def _age(digest: str, hours: float) -> None:
    path = get_storage()._path_for(digest)
    then = time.time() - hours * 3600
    os.utime(path, (then, then))


def _put(data: bytes) -> str:
    return get_storage().put(io.BytesIO(data)).sha256


def test_an_old_file_without_a_row_is_removed_and_named_or_young_files_stay(photo_bytes):
    storage = get_storage()
    orphan = _put(b"orphan of a killed upload " + os.urandom(16))
    young = _put(b"upload still in flight " + os.urandom(16))
    photo = records.store_photo(records.Upload(photo_bytes(seed=4242), "IMG_1.jpg"))
    _age(orphan, 30)
    _age(photo.sha256, 30)
    _age(photo.display_sha256, 30)

    result = records.sweep_orphan_files(grace=timedelta(hours=24))

    assert not storage.exists(orphan)
    assert storage.exists(young)
    assert storage.exists(photo.sha256) and storage.exists(photo.display_sha256)
    assert result.removed >= 1 and result.orphans >= result.removed


def test_dry_run_counts_and_keeps():
    storage = get_storage()
    orphan = _put(b"left behind " + os.urandom(16))
    _age(orphan, 48)

    result = records.sweep_orphan_files(grace=timedelta(hours=24), dry_run=True)

    assert result.orphans >= 1 and result.removed == 0
    assert storage.exists(orphan)


def test_a_file_stored_again_is_fresh_and_kept(photo_bytes):
    """The same content put again (a retried upload) renews the file: the sweep spares it
    while the new request's transaction is still running."""
    data = b"reused content " + os.urandom(16)
    digest = _put(data)
    _age(digest, 48)
    assert _put(data) == digest

    records.sweep_orphan_files(grace=timedelta(hours=24))

    assert get_storage().exists(digest)


def test_files_named_by_any_room_count_as_referenced():
    columns = {f"{c.table.name}.{c.name}" for c in records._digest_columns()}
    assert {"photo.sha256", "photo.display_sha256", "contract_document.sha256"} <= columns


def test_sweep_command_reports(run_cli):
    orphan = _put(b"for the command " + os.urandom(16))
    _age(orphan, 48)
    db.session.commit()

    result = run_cli("services", "sweep", "--dry-run")

    assert result.exit_code == 0, result.output
    assert "orphans" in result.output and "孤立文件" in result.output
    assert get_storage().exists(orphan)
    assert Photo.__table__.c.sha256 in records._digest_columns()
