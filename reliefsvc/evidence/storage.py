"""Evidence files stored by their SHA-256, behind one small interface.

Photos of delivered services are the proof that a service happened, so the store must
never hold a file that is only partly written under the name of its content: a
half-written photo under its final name would pass every existence check and fail only
when an officer or an evaluator opens it. Every write therefore goes to a temporary name
first and is renamed into place only once the whole content is on disk.

A stored file is named by the SHA-256 of its content and by nothing else. A name the user
chose never reaches a path, so no upload and no URL can point the store at another file.
The same content uploaded twice is stored once.

``EvidenceStorage`` is the interface the rest of the application uses;
``LocalEvidenceStorage`` keeps the files in the instance folder. An S3-compatible store
can stand behind the same interface later (see docs/evidence-storage.md).
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO, Protocol

from flask import Flask, current_app

#: How much of an upload is held in memory at once. Photos from phones are a few MB, a
#: county uploads many at the same time, so no upload is ever read whole.
CHUNK_SIZE = 1024 * 1024

#: Stored files are never changed once written: whatever changes an evidence file is an
#: attack or a fault. Group read lets a web server in the group serve them directly later.
FILE_MODE = 0o440
#: Evidence photos show households and people: other accounts on the machine stay out.
DIRECTORY_MODE = 0o750

#: The key in ``app.extensions`` that holds the storage of that application.
EXTENSION_KEY = "evidence_storage"

_DIGEST = re.compile(r"[0-9a-f]{64}")


class EvidenceStorageError(Exception):
    """Base of the errors of the evidence store."""


class InvalidDigest(EvidenceStorageError, ValueError):
    """The value given as a SHA-256 is not 64 lowercase hexadecimal digits."""


class EvidenceNotFound(EvidenceStorageError, LookupError):
    """No file is stored under this SHA-256."""


class EvidenceTooLarge(EvidenceStorageError):
    """The upload was longer than the limit; nothing of it was kept."""

    def __init__(self, max_bytes: int):
        super().__init__(f"evidence file larger than {max_bytes} bytes")
        self.max_bytes = max_bytes


@dataclass(frozen=True, slots=True)
class StoredFile:
    """What ``put`` stored: the name of the content and its length."""

    sha256: str
    size: int
    #: False when the same content was already stored and the upload was discarded.
    #: Two concurrent uploads of the same content may both report True.
    is_new: bool


def validate_digest(sha256: str) -> str:
    """Return ``sha256`` if it is 64 lowercase hex digits, else raise ``InvalidDigest``.

    This is the only gate between a request and a path: every method checks its digest
    here before building a path or a key from it.
    """
    # fullmatch, not match with "$": "$" also accepts a trailing newline.
    if not isinstance(sha256, str) or _DIGEST.fullmatch(sha256) is None:
        raise InvalidDigest(f"not a SHA-256 hex digest: {sha256!r:.80}")
    return sha256


class EvidenceStorage(Protocol):
    """Where evidence files live. Everything is addressed by the SHA-256 of the content.

    Implementations must guarantee that a file is visible under its digest only once its
    whole content is stored, and that a digest is validated with ``validate_digest``
    before it is used to build any path or key.
    """

    def put(self, stream: BinaryIO, *, max_bytes: int | None = None) -> StoredFile:
        """Store everything ``stream`` yields from its current position to its end.

        Reads in chunks of at most ``CHUNK_SIZE`` while hashing. When the content is
        already stored the upload is discarded and the stored file kept. Raises
        ``EvidenceTooLarge`` when the content exceeds ``max_bytes``; on that or any other
        error nothing of the upload remains.
        """
        ...

    def open(self, sha256: str) -> BinaryIO:
        """A binary file object to read the content from; the caller closes it.

        Raises ``EvidenceNotFound`` when nothing is stored under ``sha256``.
        """
        ...

    def exists(self, sha256: str) -> bool:
        """Whether complete content is stored under ``sha256``."""
        ...

    def delete_if_unreferenced(self, sha256: str, is_referenced: Callable[[str], bool]) -> bool:
        """Remove the content unless ``is_referenced(sha256)`` is true.

        The same content can back several service records, so only the caller, who can
        see every reference, decides. Returns whether a file was removed.
        """
        ...

    def sweep_temporaries(self, older_than: timedelta) -> int:
        """Remove what writes killed half-way left behind, if untouched for ``older_than``.

        Returns the number of leftovers removed.
        """
        ...

    def iter_stored(self) -> Iterator[tuple[str, float]]:
        """Every complete file as (SHA-256, time of its last ``put`` as a Unix time).

        For the orphan sweep (evidence.service.sweep_orphan_files): a file whose request
        was rolled back or killed after ``put`` has no row that names it.
        """
        ...


class LocalEvidenceStorage:
    """Evidence files in a directory, normally ``<instance>/evidence``.

    Layout: ``root/ab/cd/abcd…`` (the full digest, fanned out by its first two bytes so
    that no directory grows to millions of entries) and ``root/tmp/`` for writes in
    progress. ``tmp`` lies inside ``root`` so that the final rename never crosses a file
    system and stays atomic.
    """

    def __init__(self, root: Path | str):
        self.root = Path(root)
        self.tmp_dir = self.root / "tmp"
        self.tmp_dir.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"LocalEvidenceStorage({str(self.root)!r})"

    def _path_for(self, sha256: str) -> Path:
        sha256 = validate_digest(sha256)
        return self.root / sha256[0:2] / sha256[2:4] / sha256

    def put(self, stream: BinaryIO, *, max_bytes: int | None = None) -> StoredFile:
        if max_bytes is not None and max_bytes < 0:
            raise ValueError("max_bytes must not be negative")
        # mkstemp opens with O_EXCL under a random name: two uploads never share a file.
        fd, tmp_name = tempfile.mkstemp(prefix="put-", suffix=".part", dir=self.tmp_dir)
        tmp_path = Path(tmp_name)
        try:
            try:
                sha256, size = _copy_hashing(stream, fd, max_bytes)
                os.fchmod(fd, FILE_MODE)
                # The content must be on disk before the name says it is complete.
                if not _sync_deferred.get():
                    os.fsync(fd)
            finally:
                os.close(fd)
            final = self._path_for(sha256)
            if final.exists():
                # missing_ok: a sweep may have taken a stalled upload's file; the content
                # is stored all the same.
                tmp_path.unlink(missing_ok=True)
                # Fresh again: the orphan sweep spares files put within its grace period,
                # and this one is about to be named by the caller's transaction.
                with contextlib.suppress(FileNotFoundError):
                    os.utime(final)
                return StoredFile(sha256, size, is_new=False)
            self._make_fan_out_dirs(final.parent)
            os.replace(tmp_path, final)
            # The rename itself is only durable once the directory entry is on disk.
            _fsync_dir(final.parent)
        except BaseException:
            # BaseException too: a worker stopped with KeyboardInterrupt or SystemExit
            # should not leave its upload for the sweep.
            tmp_path.unlink(missing_ok=True)
            raise
        return StoredFile(sha256, size, is_new=True)

    def _make_fan_out_dirs(self, directory: Path) -> None:
        for level in (directory.parent, directory):
            try:
                level.mkdir(mode=DIRECTORY_MODE)
            except FileExistsError:
                continue
            _fsync_dir(level.parent)

    def open(self, sha256: str) -> BinaryIO:
        path = self._path_for(sha256)
        try:
            return path.open("rb")
        except FileNotFoundError:
            raise EvidenceNotFound(sha256) from None

    def exists(self, sha256: str) -> bool:
        return self._path_for(sha256).is_file()

    def delete_if_unreferenced(self, sha256: str, is_referenced: Callable[[str], bool]) -> bool:
        path = self._path_for(sha256)
        if is_referenced(sha256):
            return False
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        # Fan-out directories stay: removing an empty one could race with a put that has
        # just created it and is about to rename into it.
        _fsync_dir(path.parent)
        return True

    def sweep_temporaries(self, older_than: timedelta) -> int:
        if older_than < timedelta(0):
            raise ValueError("older_than must not be negative")
        # A live upload writes to its temporary file with every chunk, so its modification
        # time stays fresh; only abandoned files grow old.
        cutoff = time.time() - older_than.total_seconds()
        removed = 0
        with os.scandir(self.tmp_dir) as entries:
            for entry in entries:
                if not entry.is_file(follow_symlinks=False):
                    continue
                try:
                    if entry.stat(follow_symlinks=False).st_mtime > cutoff:
                        continue
                    os.unlink(entry.path)
                except FileNotFoundError:
                    # Renamed into place or removed by its own put in the meantime.
                    continue
                removed += 1
        return removed


    def iter_stored(self) -> Iterator[tuple[str, float]]:
        for first in sorted(self.root.iterdir()):
            if first.name == "tmp" or not first.is_dir():
                continue
            for second in sorted(first.iterdir()):
                if not second.is_dir():
                    continue
                with os.scandir(second) as entries:
                    for entry in entries:
                        if _DIGEST.fullmatch(entry.name) and entry.is_file(follow_symlinks=False):
                            try:
                                yield entry.name, entry.stat(follow_symlinks=False).st_mtime
                            except FileNotFoundError:
                                continue


def _copy_hashing(stream: BinaryIO, fd: int, max_bytes: int | None) -> tuple[str, int]:
    """Copy ``stream`` to ``fd`` chunk by chunk; return the SHA-256 hex digest and size."""
    digest = hashlib.sha256()
    size = 0
    while True:
        chunk = stream.read(CHUNK_SIZE)
        if chunk is None:
            # A non-blocking stream with no data yet: treating it as the end would store
            # a truncated photo under a valid name.
            raise ValueError("evidence stream returned no data (non-blocking stream?)")
        if not chunk:
            break
        size += len(chunk)
        if max_bytes is not None and size > max_bytes:
            raise EvidenceTooLarge(max_bytes)
        digest.update(chunk)
        _write_all(fd, chunk)
    return digest.hexdigest(), size


def _write_all(fd: int, data: bytes) -> None:
    # Straight to the file descriptor, no user-space buffer: once put() asks the stream
    # for more, everything read so far is in the kernel's hands.
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


#: Set inside ``deferred_sync()``: files and directories are not synced one by one.
_sync_deferred: contextvars.ContextVar[bool] = contextvars.ContextVar("evidence_sync_deferred", default=False)


@contextlib.contextmanager
def deferred_sync() -> Iterator[None]:
    """Store many files with one ``os.sync()`` at the end instead of two fsyncs each.

    For a bulk load whose database transaction commits only after the block (the demo
    county: 5 000 files, about a third of its loading time went to fsync): a crash in the
    middle loses the whole load, files included — never part of it — and the files are
    on disk before the transaction that names them commits, as outside the block.
    """
    token = _sync_deferred.set(True)
    try:
        yield
    finally:
        _sync_deferred.reset(token)
        os.sync()


def _fsync_dir(directory: Path) -> None:
    if _sync_deferred.get():
        return
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def get_storage(app: Flask | None = None) -> EvidenceStorage:
    """The evidence storage of ``app`` (default: the current app), created on first use.

    Whatever is already in ``app.extensions["evidence_storage"]`` wins, which is how
    another implementation (an S3-compatible store, a test double) is put in place.
    """
    if app is None:
        app = current_app._get_current_object()  # type: ignore[attr-defined]
    storage = app.extensions.get(EXTENSION_KEY)
    if storage is None:
        # setdefault: two threads racing here keep the same instance.
        storage = app.extensions.setdefault(
            EXTENSION_KEY, LocalEvidenceStorage(app.config["EVIDENCE_PATH"])
        )
    return storage
