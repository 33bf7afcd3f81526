"""Backups of the database and the evidence files, and bringing them back.

A backup folder holds one snapshot per run and a shared evidence mirror::

    backups/
      evidence/ab/cd/abcd…          content-addressed copies; a run adds only new files
      20261127-213000/
        database.sqlite | database.dump
        manifest.json               what was written, with the database file's SHA-256

The database is copied first and consistently while the platform runs — SQLite through
its online backup API, PostgreSQL with ``pg_dump --format=custom`` — then the evidence
files. Evidence is written before the transaction that names it commits, so every file
a snapshot refers to already exists when the files are copied; files added later are
harmless extras. Evidence files never change (their name is their SHA-256), so "changed
since the last backup" is "not yet in the mirror".

Not in a backup, on purpose: ``instance/audit_hmac_key`` (keep it apart from the data:
whoever holds both can rewrite the audit log undetected), ``instance/totp_key`` (with it, a
copy of the database would give away every second factor) and ``instance/secret_key``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from reliefsvc.common.errors import BilingualError
from reliefsvc.common.formatting import now_local
from reliefsvc.extensions import db

MIRROR = "evidence"
MANIFEST = "manifest.json"


class BackupError(BilingualError):
    pass


@dataclass
class BackupResult:
    folder: Path
    database_file: Path
    evidence_files: int
    new_evidence_files: int

    def summary(self) -> str:
        return (f"备份完成：{self.folder}，数据库 {self.database_file.name}，证据文件 {self.evidence_files} 个"
                f"（本次新增 {self.new_evidence_files} 个） / backup written to {self.folder}: "
                f"{self.evidence_files} evidence files ({self.new_evidence_files} new)")


def _sqlite_path(uri: str) -> Path | None:
    url = sa.engine.make_url(uri)
    return Path(url.database) if url.get_backend_name() == "sqlite" and url.database else None


def _libpq_url(uri: str) -> str:
    url = sa.engine.make_url(uri)
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _tool(name: str) -> str:
    """The full path of a PostgreSQL client program, or a clear error when it is missing."""
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"找不到 {name}：请安装 PostgreSQL 客户端（Debian：postgresql-client）",
                          f"{name} not found: install the PostgreSQL client (Debian: postgresql-client)")
    return found


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _evidence_files(root: Path):
    """(relative path, absolute path) of every stored evidence file (not writes in progress)."""
    if not root.exists():
        return
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path.is_file() and rel.parts[0] != "tmp" and len(rel.parts) == 3:
            yield rel, path


def backup(target: Path | str) -> BackupResult:
    """Write a snapshot of the database and add new evidence files to ``target``."""
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    folder = target / now_local().strftime("%Y%m%d-%H%M%S")
    if folder.exists():
        raise BackupError(f"备份目录 {folder} 已存在，请稍后再试", f"backup folder {folder} exists already")
    folder.mkdir()
    uri = current_app.config["SQLALCHEMY_DATABASE_URI"]
    sqlite_path = _sqlite_path(uri)
    db.session.commit()  # nothing of ours open while the snapshot is taken
    if sqlite_path is not None:
        database_file = folder / "database.sqlite"
        source = sqlite3.connect(sqlite_path)
        try:
            copy = sqlite3.connect(database_file)
            with copy:
                source.backup(copy)
            copy.close()
        finally:
            source.close()
        kind = "sqlite"
    else:
        database_file = folder / "database.dump"
        # The arguments are ours (the configured database and our own folder), never a user's.
        done = subprocess.run([_tool("pg_dump"), "--format=custom", "--no-owner", f"--file={database_file}",  # noqa: S603
                               _libpq_url(uri)], capture_output=True, text=True)
        if done.returncode != 0:
            shutil.rmtree(folder, ignore_errors=True)
            raise BackupError(f"pg_dump 失败：{done.stderr.strip()}", f"pg_dump failed: {done.stderr.strip()}")
        kind = "postgresql"
    mirror = target / MIRROR
    total = new = 0
    for rel, path in _evidence_files(Path(current_app.config["EVIDENCE_PATH"])):
        total += 1
        kept = mirror / rel
        if kept.exists() and kept.stat().st_size == path.stat().st_size:
            continue
        kept.parent.mkdir(parents=True, exist_ok=True)
        tmp = kept.with_name(kept.name + ".part")
        shutil.copyfile(path, tmp)
        os.replace(tmp, kept)
        new += 1
    with db.engine.connect() as conn:
        revision = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    (folder / MANIFEST).write_text(json.dumps({
        "created_at": datetime.now().astimezone().isoformat(timespec="seconds"), "database": kind,
        "database_file": database_file.name, "database_sha256": _sha256(database_file),
        "schema_revision": revision, "evidence_files": total, "new_evidence_files": new,
    }, ensure_ascii=False, indent=2), encoding="utf-8")
    return BackupResult(folder, database_file, total, new)


def snapshots(target: Path | str) -> list[Path]:
    """The snapshot folders of ``target``, oldest first."""
    target = Path(target)
    return sorted(p for p in target.iterdir() if (p / MANIFEST).exists()) if target.exists() else []


def _database_is_empty() -> bool:
    inspector = sa.inspect(db.engine)
    tables = [t for t in inspector.get_table_names() if t != "alembic_version"]
    if not tables:
        return True
    with db.engine.connect() as conn:
        return all(conn.execute(sa.select(sa.func.count()).select_from(sa.table(t))).scalar() == 0
                   for t in ("user_account", "region") if t in tables)


def restore(target: Path | str, snapshot: str | None = None, force: bool = False) -> dict:
    """Bring back a snapshot (default: the newest) and the evidence files into this instance.

    Refuses a database that holds data unless ``force``. Returns what was restored.
    """
    found = snapshots(target)
    if not found:
        raise BackupError(f"{target} 中没有备份", f"no backup in {target}")
    folder = next((p for p in found if p.name == snapshot), None) if snapshot else found[-1]
    if folder is None:
        raise BackupError(f"没有名为 {snapshot} 的备份", f"no snapshot named {snapshot}")
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    database_file = folder / manifest["database_file"]
    if _sha256(database_file) != manifest["database_sha256"]:
        raise BackupError("备份的数据库文件已损坏（校验值不符）", "the backup's database file is damaged (checksum)")
    if not force and not _database_is_empty():
        raise BackupError("当前数据库已有数据；如确需覆盖请加 --force", "the database holds data; use --force to overwrite")
    uri = current_app.config["SQLALCHEMY_DATABASE_URI"]
    sqlite_path = _sqlite_path(uri)
    db.session.remove()
    db.engine.dispose()
    if manifest["database"] == "sqlite":
        if sqlite_path is None:
            raise BackupError("该备份来自 SQLite，当前数据库是 PostgreSQL", "an SQLite backup cannot go into PostgreSQL")
        sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=sqlite_path.parent, suffix=".restore")
        os.close(fd)
        shutil.copyfile(database_file, tmp)
        for suffix in ("-wal", "-shm"):
            Path(str(sqlite_path) + suffix).unlink(missing_ok=True)
        os.replace(tmp, sqlite_path)
    else:
        if sqlite_path is not None:
            raise BackupError("该备份来自 PostgreSQL，当前数据库是 SQLite", "a PostgreSQL backup cannot go into SQLite")
        done = subprocess.run([_tool("pg_restore"), "--clean", "--if-exists", "--no-owner",  # noqa: S603
                               "--single-transaction", f"--dbname={_libpq_url(uri)}", str(database_file)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise BackupError(f"pg_restore 失败：{done.stderr.strip()}", f"pg_restore failed: {done.stderr.strip()}")
    evidence_root = Path(current_app.config["EVIDENCE_PATH"])
    copied = 0
    for rel, path in _evidence_files(Path(target) / MIRROR):
        dest = evidence_root / rel
        if dest.exists():
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dest)
        copied += 1
    return {"snapshot": folder.name, "database": manifest["database"], "evidence_files": copied,
            "schema_revision": manifest["schema_revision"]}
