"""The photo columns: the hashes and trim windows of every photo held, as arrays.

Every integrity run needs them (PHOTO_REUSED looks across every photo held). Read from
the database they cost seconds at a million photos, most of an incremental run, so a run
keeps them in a file of the instance folder (``kept``) and the next run reads from the
database only the photos added since.

    columns = ids, phash, dhash, windows, window counts

``ids`` (int64, ascending), ``phash``/``dhash`` (uint64), ``windows`` (``(photos, width,
2)`` uint64: each trim window's pHash and dHash, zeros past a photo's count) and
``window counts`` (int64), as ``photohash.trims_array`` makes them.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import sqlalchemy as sa
from flask import current_app

from reliefsvc.db import driver_cursor
from reliefsvc.evidence.models import Photo
from reliefsvc.extensions import db
from reliefsvc.integrity import photohash

_HASHED = sa.and_(Photo.phash.is_not(None), Photo.dhash.is_not(None))


def read_all():
    """The columns of every hashed photo, in id order, read from the database; None when
    there is none (a run goes through ``kept``)."""
    got = read()
    return None if got is None else got[0]


def read(after: int = 0):
    """The columns of ``read_all`` of the hashed photos with an id above ``after``,
    with their fingerprint (``fingerprint``; None when the photos had to be read
    again a row at a time), or None when there is none. The numbers come as one row of
    plain integers per photo, a batch at a time; on SQLite and PostgreSQL the windows come
    as a few blobs of ``_WINDOW_PIECE`` photos each, concatenated by the database
    (``group_concat`` / ``string_agg``) and each checked against the first read (count,
    sum of ids, sum of lengths), else a row at a time."""
    connection = db.session.connection()
    length = sa.func.coalesce(sa.func.length(Photo.trim_hashes), 0)
    cursor = driver_cursor(connection, sa.select(Photo.id, Photo.phash, Photo.dhash, length, Photo.hash_version)
                           .where(_HASHED, Photo.id > after).order_by(Photo.id))
    parts = []
    try:
        while rows := cursor.fetchmany(100_000):
            parts.append(np.array(rows, dtype=np.int64).reshape(-1, 5))
    finally:
        cursor.close()
    if not parts:
        return None
    numbers = np.concatenate(parts)
    del parts, rows
    ids, lengths = numbers[:, 0].copy(), numbers[:, 3].copy()
    ph, dh = numbers[:, 1].copy().view(np.uint64), numbers[:, 2].copy().view(np.uint64)
    print_ = (len(ids), int(ids.sum()), int(numbers[:, 4].sum()), int(np.fmod(numbers[:, 1], _FINGERPRINT_MOD).sum()),
              int(np.fmod(numbers[:, 2], _FINGERPRINT_MOD).sum()), int(lengths.sum()))
    del numbers
    pieces = _windows_in_pieces(ids, lengths)
    if pieces is not None:
        return (ids, ph, dh, *pieces), print_
    cursor = driver_cursor(connection,
                           sa.select(Photo.trim_hashes).where(_HASHED, Photo.id > after).order_by(Photo.id))
    try:
        blobs = [None if blob is None else bytes(blob) for (blob,) in cursor.fetchall()]
    finally:
        cursor.close()
    if len(blobs) != len(ids):  # photos came or went between the two reads: read them together
        cursor = driver_cursor(connection, sa.select(Photo.id, Photo.phash, Photo.dhash, Photo.trim_hashes)
                               .where(_HASHED, Photo.id > after).order_by(Photo.id))
        try:
            rows = cursor.fetchall()
        finally:
            cursor.close()
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        ph = np.array([r[1] for r in rows], dtype=np.int64).view(np.uint64)
        dh = np.array([r[2] for r in rows], dtype=np.int64).view(np.uint64)
        blobs = [None if r[3] is None else bytes(r[3]) for r in rows]
        print_ = None
        if not len(ids):
            return None
    trims, counts = photohash.trims_array(blobs)
    return (ids, ph, dh, trims, counts), print_


# --- The columns kept between runs -------------------------------------------------------------
#
# Photos are content-addressed and never change, but for the rehash job (which sets
# ``hash_version``), so the next run reads from the database only the photos added since
# the file's highest id, after checking that the photos the file holds are still those in
# the database: their fingerprint (how many, the sums of their ids, of their
# ``hash_version``, of their pHash and dHash modulo a prime and of the lengths of their
# windows) is compared with one aggregate query. A photo deleted, hashed again or written
# over (even in a transaction rolled back, whose ids SQLite gives out again) changes it,
# and the whole file is read again from the database.
#
# The file holds each column with room to spare (``_spare``): new photos are written into
# that room and then the header, in place, so that a night's run writes its new photos'
# 272 bytes each rather than the whole file (rewriting 270 MB took 0.6 s of the 4.5 s run
# at a million photos, joining old and new columns in memory 0.4 s more). Only when the
# room runs out, or the windows grow wider, is a new file written; it takes the old one's
# place with ``os.replace``, so a run still reading the old one keeps it. Runs take a lock
# (``flock``) around reading and updating the file. The file is an optimisation only: any
# fault reading or writing it falls back to the database.

#: The first words of the file: what it is and its layout.
_KEPT_MAGIC, _KEPT_FORMAT = 0x5245_4C49_4546_5048, 2
#: The prime of the fingerprint's sums of hashes (the sums stay far within 64 bits).
_FINGERPRINT_MOD = 1_000_003
#: Words of the file's header: magic, format, photos, room (photos), windows per photo,
#: highest id, fingerprint (6).
_KEPT_HEADER = 12
_FINGERPRINT_AT = 6


def _spare(photos: int) -> int:
    """Room for the photos a new file is written with and those of later runs: an eighth
    more, and at least 65 536 (about a week of a province's photos)."""
    return photos + max(photos // 8, 65_536)


def kept_path() -> Path:
    """The file of this database's kept photo columns, in the instance folder."""
    import hashlib

    url = db.session.connection().engine.url.render_as_string(hide_password=True)
    key = hashlib.sha256(url.encode()).hexdigest()[:16]
    return Path(current_app.instance_path) / "integrity" / f"photo-columns-{key}.bin"


def fingerprint(hi: int) -> tuple[int, ...]:
    """The fingerprint of the hashed photos with an id up to ``hi``, as the database has them."""
    p = _FINGERPRINT_MOD
    total = sa.func.coalesce
    row = db.session.execute(sa.select(
        sa.func.count(), total(sa.func.sum(Photo.id), 0), total(sa.func.sum(Photo.hash_version), 0),
        total(sa.func.sum(Photo.phash % p), 0), total(sa.func.sum(Photo.dhash % p), 0),
        total(sa.func.sum(total(sa.func.length(Photo.trim_hashes), 0)), 0)).where(_HASHED, Photo.id <= hi)).one()
    return tuple(int(v) for v in row)


def _offsets(room: int, width: int) -> tuple[int, ...]:
    """Where each column's room starts (ids, pHash, dHash, counts, windows) and the file's size."""
    at = [8 * _KEPT_HEADER]
    for words in (room, room, room, room, 2 * room * width):
        at.append(at[-1] + 8 * words)
    return tuple(at)


def read_kept(path: Path):
    """``(header, columns)`` from the file (mapped, not read): the header as a dict
    (``photos``, ``room``, ``width``, ``hi``, ``fingerprint``), or None."""
    try:
        if not path.exists():
            return None
        data = np.memmap(path, dtype=np.uint8, mode="r")
        words = data[:8 * _KEPT_HEADER].view(np.int64)
        magic, version, n, room, width, hi = (int(v) for v in words[:_FINGERPRINT_AT])
        if magic != _KEPT_MAGIC or version != _KEPT_FORMAT or not 0 < n <= room:
            return None
        at = _offsets(room, width)
        if len(data) != at[-1]:
            return None
    except (OSError, ValueError):
        return None
    ids, ph, dh, counts = (data[start:start + 8 * n].view(dtype) for start, dtype in
                           zip(at, (np.int64, np.uint64, np.uint64, np.int64), strict=False))
    trims = data[at[4]:at[4] + 16 * n * width].view(np.uint64).reshape(n, width, 2)
    header = {"photos": n, "room": room, "width": width, "hi": hi,
              "fingerprint": tuple(int(v) for v in words[_FINGERPRINT_AT:])}
    return header, (ids, ph, dh, trims, counts)


def _header(n: int, room: int, width: int, hi: int, print_: tuple[int, ...]) -> bytes:
    return np.array([_KEPT_MAGIC, _KEPT_FORMAT, n, room, width, hi, *print_], dtype=np.int64).tobytes()


def _column_bytes(columns):
    ids, ph, dh, trims, counts = columns
    for array, dtype in ((ids, np.int64), (ph, np.uint64), (dh, np.uint64), (counts, np.int64), (trims, np.uint64)):
        yield memoryview(np.ascontiguousarray(array, dtype=dtype)).cast("B")


def _write_kept(path: Path, columns, print_: tuple[int, ...]) -> None:
    """Write the columns, with room to spare, to a new file that then takes the old one's place."""
    n, width = len(columns[0]), columns[3].shape[1]
    room = _spare(n)
    at = _offsets(room, width)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=".photo-columns-", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(_header(n, room, width, int(columns[0][-1]), print_))
                for start, part in zip(at, _column_bytes(columns), strict=False):
                    out.seek(start)
                    out.write(part)
                out.truncate(at[-1])  # the room: a hole in the file, no disk taken
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise
    except OSError as error:
        current_app.logger.warning("integrity: the photo columns could not be kept (%s)", error)


def _append_kept(path: Path, header: dict, new, print_: tuple[int, ...]) -> bool:
    """Write ``new`` (no wider than the file's windows) into the file's room after its
    photos, then its header; False when there is no room or the file cannot be written."""
    n, room, width = header["photos"], header["room"], header["width"]
    count = len(new[0])
    if n + count > room or new[3].shape[1] > width:
        return False
    new = (*new[:3], _widened(new[3], width), new[4])
    at = _offsets(room, width)
    try:
        with open(path, "r+b") as out:
            for start, size, part in zip(at, (8, 8, 8, 8, 16 * width), _column_bytes(new), strict=False):
                out.seek(start + size * n)
                out.write(part)
            out.flush()
            os.fdatasync(out.fileno())  # the photos on disk before the header that counts them
            out.seek(0)
            out.write(_header(n + count, room, width, int(new[0][-1]), print_))
    except OSError as error:
        current_app.logger.warning("integrity: the photo columns could not be kept (%s)", error)
        return False
    return True


def _widened(trims, width: int):
    """``trims`` with ``width`` windows a photo, the missing ones zeros."""
    if trims.shape[1] == width:
        return trims
    out = np.zeros((len(trims), width, 2), dtype=np.uint64)
    out[:, :trims.shape[1]] = trims
    return out


def _joined(old, new):
    """Two sets of photo columns (``new`` after ``old`` in id order) as one."""
    width = max(old[3].shape[1], new[3].shape[1])
    return (np.concatenate((old[0], new[0])), np.concatenate((old[1], new[1])), np.concatenate((old[2], new[2])),
            np.concatenate((_widened(old[3], width), _widened(new[3], width))), np.concatenate((old[4], new[4])))


class _Lock:
    """An exclusive ``flock`` on the file's lock file while a run reads and updates it
    (none where the system has no ``flock`` or the folder cannot be written)."""

    def __init__(self, path: Path):
        self.path, self.fd = path.with_suffix(".lock"), None

    def __enter__(self):
        try:
            import fcntl

            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        except (ImportError, OSError):
            self.fd = None
        return self

    def __exit__(self, *exc):
        if self.fd is not None:
            os.close(self.fd)  # closing the descriptor releases the lock


def kept():
    """``read_all()``, through the file a run keeps: the photos it holds, if the database
    still has them as they were, and the photos added since from the database; the file
    then brought up to date."""
    path = kept_path()
    with _Lock(path):
        held = read_kept(path)
        if held is not None:
            header, old = held
            if fingerprint(header["hi"]) == header["fingerprint"]:
                got = read(after=header["hi"])
                if got is None:
                    return old
                new, added = got
                if added is not None:
                    print_ = tuple(a + b for a, b in zip(header["fingerprint"], added, strict=True))
                    if _append_kept(path, header, new, print_):
                        held = read_kept(path)
                        if held is not None:
                            return held[1]
                    columns = _joined(old, new)
                    _write_kept(path, columns, print_)
                    return columns
                return _joined(old, new)
        got = read()
        if got is None:
            return None
        columns, print_ = got
        if print_ is not None:
            _write_kept(path, columns, print_)
        return columns


#: Photos whose windows come in one blob (``_windows_in_pieces``): ~15 MB a piece.
_WINDOW_PIECE = 65_536


def _windows_in_pieces(ids, lengths):
    """``photohash.trims_array`` of the photos ``ids`` (ascending; ``lengths``: of their
    stored windows) read as blobs the database joins, a piece of ids at a time, into one
    array; None when the database cannot join blobs or a piece does not match."""
    if (lengths % 16).any():
        return None
    sizes = lengths // 16
    width = int(sizes.max()) if len(sizes) else 0
    out = np.zeros((len(ids), width, 2), dtype=np.uint64)
    if not width:
        return out, sizes
    for r0 in range(0, len(ids), _WINDOW_PIECE):
        r1 = min(r0 + _WINDOW_PIECE, len(ids))
        joined = _joined_windows(int(ids[r0]), int(ids[r1 - 1]))
        if joined is None:
            return None
        blob, count, id_sum, length_sum = joined
        if (count != r1 - r0 or id_sum != int(ids[r0:r1].sum()) or length_sum != int(lengths[r0:r1].sum())
                or len(blob) != length_sum):
            return None  # photos came or went between the reads
        piece = np.frombuffer(blob, dtype=">u8").reshape(-1, 2)
        part = sizes[r0:r1]
        if (part == width).all():
            out[r0:r1] = piece.reshape(r1 - r0, width, 2)
        else:
            out[r0:r1][np.arange(width)[None, :] < part[:, None]] = piece
        del blob, piece
    return out, sizes


def _joined_windows(lo: int | None = None, hi: int | None = None) -> tuple[bytes, int, int, int] | None:
    """The windows of every hashed photo (with an id from ``lo`` to ``hi``) in id order as
    one blob, with the count, the sum of the ids and of the blobs' lengths, or None on a
    database that cannot join blobs."""
    connection = db.session.connection()
    assert Photo.__table__.name == "photo"
    if connection.dialect.name == "sqlite":
        # The subquery's order is kept by the aggregate over it (the rows come in id = rowid order).
        sql = ("SELECT CAST(group_concat(trim_hashes, '') AS BLOB), count(*), sum(id), "
               "sum(coalesce(length(trim_hashes), 0)) FROM (SELECT id, trim_hashes FROM photo "
               "WHERE phash IS NOT NULL AND dhash IS NOT NULL AND id BETWEEN :lo AND :hi ORDER BY id)")
    elif connection.dialect.name == "postgresql":
        sql = ("SELECT string_agg(trim_hashes, ''::bytea ORDER BY id), count(*), sum(id), "
               "sum(coalesce(length(trim_hashes), 0)) FROM photo "
               "WHERE phash IS NOT NULL AND dhash IS NOT NULL AND id BETWEEN :lo AND :hi")
    else:  # pragma: no cover - the platform runs on these two
        return None
    bounds = {"lo": -(1 << 63) if lo is None else lo, "hi": (1 << 63) - 1 if hi is None else hi}
    row = connection.execute(sa.text(sql), bounds).one()
    return bytes(row[0] or b""), int(row[1]), int(row[2] or 0), int(row[3] or 0)
