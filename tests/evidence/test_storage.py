"""The evidence store: content addressing, refused digests, limits and interrupted writes."""

from __future__ import annotations

import hashlib
import io
import os
import select
import signal
import stat
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from reliefsvc.evidence.storage import (
    CHUNK_SIZE,
    EvidenceNotFound,
    EvidenceTooLarge,
    InvalidDigest,
    LocalEvidenceStorage,
    get_storage,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture
def storage(tmp_path):
    return LocalEvidenceStorage(tmp_path / "evidence")


def content_of(size: int, seed: bytes = b"photo") -> bytes:
    """Reproducible bytes that do not repeat, so a misplaced chunk changes the digest."""
    return hashlib.shake_256(seed).digest(size)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def final_path(root: Path, digest: str) -> Path:
    """The documented layout, written out independently of the code under test."""
    return root / digest[:2] / digest[2:4] / digest


def stored_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.parent != root / "tmp")


def temporaries(root: Path) -> list[Path]:
    return sorted((root / "tmp").iterdir())


@pytest.mark.parametrize("size", [0, 1, CHUNK_SIZE, 2 * CHUNK_SIZE + 1])
def test_round_trip_keeps_the_content_under_its_sha256(storage, size):
    data = content_of(size)

    stored = storage.put(io.BytesIO(data))

    assert stored.sha256 == sha256(data)
    assert stored.size == size
    assert stored.is_new
    assert storage.exists(stored.sha256)
    with storage.open(stored.sha256) as fh:
        assert fh.read() == data
    assert stored_files(storage.root) == [final_path(storage.root, stored.sha256)]
    assert temporaries(storage.root) == []


def test_stored_files_are_read_only(storage):
    stored = storage.put(io.BytesIO(b"receipt"))

    mode = stat.S_IMODE(final_path(storage.root, stored.sha256).stat().st_mode)
    assert mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) == 0
    assert mode & stat.S_IRUSR


def test_put_reads_from_the_current_position(storage):
    stream = io.BytesIO(b"header:photo")
    stream.seek(len(b"header:"))

    stored = storage.put(stream)

    assert stored.sha256 == sha256(b"photo")


def test_same_content_twice_is_stored_once(storage):
    data = content_of(3000)

    first = storage.put(io.BytesIO(data))
    inode = final_path(storage.root, first.sha256).stat().st_ino
    second = storage.put(io.BytesIO(data))

    assert second.sha256 == first.sha256
    assert not second.is_new
    assert stored_files(storage.root) == [final_path(storage.root, first.sha256)]
    # The stored file was kept, not replaced by the second upload.
    assert final_path(storage.root, first.sha256).stat().st_ino == inode
    assert temporaries(storage.root) == []


def test_different_content_is_stored_apart(storage):
    one = storage.put(io.BytesIO(b"front door"))
    two = storage.put(io.BytesIO(b"kitchen"))

    assert one.sha256 != two.sha256
    assert len(stored_files(storage.root)) == 2


class RecordingStream(io.BytesIO):
    def __init__(self, data: bytes):
        super().__init__(data)
        self.sizes: list[int | None] = []

    def read(self, size: int | None = -1) -> bytes:
        self.sizes.append(size)
        return super().read(size)


def test_put_never_reads_the_whole_upload_at_once(storage):
    stream = RecordingStream(content_of(3 * CHUNK_SIZE))

    storage.put(stream)

    assert len(stream.sizes) > 3
    assert all(size is not None and 0 < size <= CHUNK_SIZE for size in stream.sizes)


def test_open_and_exists_for_content_never_stored(storage):
    missing = sha256(b"never uploaded")

    assert not storage.exists(missing)
    with pytest.raises(EvidenceNotFound):
        storage.open(missing)


REFUSED_DIGESTS = [
    "../../etc/passwd",
    "../" + "a" * 61,
    "/" + "a" * 63,
    sha256(b"x").upper(),
    "A" + sha256(b"x")[1:],
    "a" * 63,
    "a" * 65,
    "g" * 64,
    sha256(b"x") + "\n",
    " " + sha256(b"x")[1:],
    "",
    sha256(b"x").encode(),
    None,
]


@pytest.mark.parametrize("digest", REFUSED_DIGESTS, ids=repr)
@pytest.mark.parametrize("method", ["open", "exists", "delete_if_unreferenced"])
def test_anything_but_a_lowercase_sha256_is_refused(storage, method, digest):
    asked = []

    def is_referenced(value):
        asked.append(value)
        return False

    args = (digest, is_referenced) if method == "delete_if_unreferenced" else (digest,)
    with pytest.raises(InvalidDigest) as raised:
        getattr(storage, method)(*args)

    assert isinstance(raised.value, ValueError)
    assert asked == []


def test_delete_keeps_referenced_content(storage):
    stored = storage.put(io.BytesIO(b"visit photo"))
    asked = []

    def still_used(digest):
        asked.append(digest)
        return True

    assert storage.delete_if_unreferenced(stored.sha256, still_used) is False
    assert asked == [stored.sha256]
    assert storage.exists(stored.sha256)


def test_delete_removes_unreferenced_content(storage):
    stored = storage.put(io.BytesIO(b"rejected upload"))

    assert storage.delete_if_unreferenced(stored.sha256, lambda _digest: False) is True
    assert not storage.exists(stored.sha256)
    assert stored_files(storage.root) == []
    # Nothing left to remove the second time.
    assert storage.delete_if_unreferenced(stored.sha256, lambda _digest: False) is False


@pytest.mark.parametrize("size", [11, CHUNK_SIZE + 1, 3 * CHUNK_SIZE])
def test_too_large_upload_leaves_nothing_behind(storage, size):
    with pytest.raises(EvidenceTooLarge) as raised:
        storage.put(io.BytesIO(content_of(size)), max_bytes=size - 1)

    assert raised.value.max_bytes == size - 1
    assert stored_files(storage.root) == []
    assert temporaries(storage.root) == []


def test_upload_of_exactly_the_limit_is_accepted(storage):
    stored = storage.put(io.BytesIO(content_of(CHUNK_SIZE)), max_bytes=CHUNK_SIZE)

    assert stored.size == CHUNK_SIZE
    assert storage.exists(stored.sha256)


class BrokenUpload(io.RawIOBase):
    """A client that disconnects after the first chunk."""

    def __init__(self):
        self.calls = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        self.calls += 1
        if self.calls == 1:
            return b"x" * 1000
        raise ConnectionResetError("client went away")


def test_failing_stream_leaves_nothing_behind(storage):
    with BrokenUpload() as stream, pytest.raises(ConnectionResetError):
        storage.put(stream)

    assert stored_files(storage.root) == []
    assert temporaries(storage.root) == []


class NonBlockingUpload(io.RawIOBase):
    """A non-blocking raw stream answers None when no data has arrived yet."""

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> None:
        return None


def test_stream_without_data_yet_is_not_taken_for_the_end(storage):
    with NonBlockingUpload() as stream, pytest.raises(ValueError, match="non-blocking"):
        storage.put(stream)

    assert stored_files(storage.root) == []
    assert temporaries(storage.root) == []


def test_sweep_removes_old_temporaries_only(storage):
    two_hours_ago = time.time() - 2 * 3600
    abandoned = storage.tmp_dir / "put-abandoned.part"
    abandoned.write_bytes(b"half a photo")
    os.utime(abandoned, (two_hours_ago, two_hours_ago))
    in_progress = storage.tmp_dir / "put-in-progress.part"
    in_progress.write_bytes(b"a photo being uploaded")
    stored = storage.put(io.BytesIO(b"an old stored photo"))
    os.utime(final_path(storage.root, stored.sha256), (two_hours_ago, two_hours_ago))

    assert storage.sweep_temporaries(older_than=timedelta(hours=1)) == 1

    assert temporaries(storage.root) == [in_progress]
    assert storage.exists(stored.sha256)


def test_sweep_refuses_a_negative_age(storage):
    with pytest.raises(ValueError):
        storage.sweep_temporaries(older_than=timedelta(seconds=-1))


def test_get_storage_is_one_local_store_per_app_in_the_evidence_path(app):
    storage = get_storage(app)

    assert isinstance(storage, LocalEvidenceStorage)
    assert storage.root == Path(app.config["EVIDENCE_PATH"])
    assert get_storage(app) is storage
    with app.app_context():
        assert get_storage() is storage


# --- An upload killed half-way -------------------------------------------------------

#: The child stores whatever the parent hands it, piece by piece. Before it takes the
#: next piece it prints how many bytes put() has consumed: put() only asks for more once
#: it has written everything it was given, so the parent knows that much is in the
#: temporary file. Each piece is "<length>\n<bytes>"; length 0 ends the upload.
CHILD = r"""
import sys
from reliefsvc.evidence.storage import LocalEvidenceStorage

class SlowUpload:
    def __init__(self):
        self.pending = b""
        self.consumed = 0
        self.ended = False

    def read(self, size=-1):
        if not self.pending and not self.ended:
            print(self.consumed, flush=True)
            length = int(sys.stdin.buffer.readline())
            self.pending = sys.stdin.buffer.read(length)
            self.ended = length == 0
        if size is None or size < 0:
            size = len(self.pending)
        piece, self.pending = self.pending[:size], self.pending[size:]
        self.consumed += len(piece)
        return piece

stored = LocalEvidenceStorage(sys.argv[1]).put(SlowUpload())
print("stored", stored.sha256, flush=True)
"""

PIECE = 512 * 1024
PIECES = 8
#: Not a timing assertion: only keeps a broken child from hanging the suite forever.
HANG_GUARD_SECONDS = 120


def start_upload(root: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(root)],
        cwd=PROJECT_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def next_line(child: subprocess.Popen) -> str:
    ready, _, _ = select.select([child.stdout], [], [], HANG_GUARD_SECONDS)
    if not ready:
        child.kill()
        pytest.fail(f"the uploading child said nothing for {HANG_GUARD_SECONDS} s")
    line = child.stdout.readline()
    if not line:
        child.wait()
        pytest.fail(f"the uploading child died: {child.stderr.read().decode(errors='replace')}")
    return line.decode().strip()


def hand_over(child: subprocess.Popen, piece: bytes) -> None:
    child.stdin.write(b"%d\n" % len(piece) + piece)
    child.stdin.flush()


@pytest.mark.slow
def test_upload_killed_half_way_leaves_no_file_under_its_final_name(storage):
    data = content_of(PIECE * PIECES, seed=b"a long video of a home visit")
    digest = sha256(data)
    written = 3 * PIECE

    with start_upload(storage.root) as child:
        assert next_line(child) == "0"
        for start in range(0, written, PIECE):
            hand_over(child, data[start:start + PIECE])
            assert next_line(child) == str(start + PIECE)
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL

    assert not final_path(storage.root, digest).exists()
    assert not storage.exists(digest)
    assert stored_files(storage.root) == []
    # What the child had written sits in tmp/ only, and the sweep removes it.
    [leftover] = temporaries(storage.root)
    assert leftover.read_bytes() == data[:written]
    assert storage.sweep_temporaries(older_than=timedelta(0)) == 1
    assert temporaries(storage.root) == []
    # The same upload, made again in full, is stored as usual.
    assert storage.put(io.BytesIO(data)).is_new
    assert storage.exists(digest)


@pytest.mark.slow
def test_upload_through_the_same_child_completes_when_not_killed(storage):
    """The control of the test above: the child does store what it is handed."""
    data = content_of(PIECE * PIECES, seed=b"a long video of a home visit")

    with start_upload(storage.root) as child:
        assert next_line(child) == "0"
        for start in range(0, len(data), PIECE):
            hand_over(child, data[start:start + PIECE])
            assert next_line(child) == str(start + PIECE)
        hand_over(child, b"")
        assert next_line(child) == f"stored {sha256(data)}"
        child.wait()
    assert child.returncode == 0

    assert stored_files(storage.root) == [final_path(storage.root, sha256(data))]
    assert final_path(storage.root, sha256(data)).read_bytes() == data
    assert temporaries(storage.root) == []


def test_a_deferred_sync_stores_many_files_with_one_sync_at_the_end(storage, monkeypatch):
    from reliefsvc.evidence import storage as module

    calls = []
    real_fsync = os.fsync
    monkeypatch.setattr(module.os, "fsync", lambda fd: (calls.append("fsync"), real_fsync(fd)))
    monkeypatch.setattr(module.os, "sync", lambda: calls.append("sync"))
    with module.deferred_sync():
        stored = [storage.put(io.BytesIO(f"file {i}".encode())) for i in range(5)]
        assert calls == []
    assert calls == ["sync"]
    for i, s in enumerate(stored):
        with storage.open(s.sha256) as fh:
            assert fh.read() == f"file {i}".encode()
    storage.put(io.BytesIO(b"outside the block"))
    assert calls.count("fsync") >= 2  # the file and its directory, as always
