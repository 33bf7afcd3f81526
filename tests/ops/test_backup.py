"""A backup of a loaded county restores into an empty instance: same rows, same evidence
files, an intact audit chain; a second backup copies no evidence file again; a damaged
snapshot and a database that holds data are refused."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys

import pytest
import sqlalchemy as sa

pytestmark = pytest.mark.no_db_rollback


def cli(url, instance, *args, check=True):
    env = {**os.environ, "DATABASE_URL": url, "RELIEFSVC_INSTANCE_PATH": str(instance)}
    done = subprocess.run([sys.executable, "-m", "reliefsvc", *args], env=env, capture_output=True, text=True,
                          timeout=600)
    if check:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


def second_database(url: str, tmp_path) -> str:
    """An empty database beside the scratch one."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return f"sqlite:///{tmp_path / 'restored.sqlite'}"
    target = parsed.set(database=f"{parsed.database}2")
    admin = sa.create_engine(parsed.set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{target.database}"')
    admin.dispose()
    return target.render_as_string(hide_password=False)


def table_digest(url: str) -> dict[str, tuple[int, str]]:
    """Rows and a digest of every table's content (rows sorted, whatever order the database returns)."""
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    out = {}
    with engine.connect() as conn:
        for table in sorted(sa.inspect(conn).get_table_names()):
            rows = sorted(tuple(map(str, r)) for r in conn.execute(sa.select(sa.text("*")).select_from(sa.table(table))))
            out[table] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
    engine.dispose()
    return out


def evidence(instance) -> set[str]:
    root = instance / "evidence"
    return {p.name for p in root.rglob("*") if p.is_file() and "tmp" not in p.relative_to(root).parts}


def test_a_backup_restores_into_an_empty_instance(scratch_database, tmp_path):
    url, instance = scratch_database
    cli(url, instance, "demo", "load", "--small")
    backups = tmp_path / "backups"
    first = cli(url, instance, "backup", "-o", str(backups))
    assert "备份完成" in first.stdout
    snapshot = json.loads(next(backups.glob("*/manifest.json")).read_text(encoding="utf-8"))
    assert snapshot["evidence_files"] > 50 and snapshot["new_evidence_files"] == snapshot["evidence_files"]

    # The restore goes into a new instance that holds only the audit key, kept apart.
    target_instance = tmp_path / "target"
    target_instance.mkdir()
    shutil.copyfile(instance / "audit_hmac_key", target_instance / "audit_hmac_key")
    target_url = second_database(url, tmp_path)
    before = table_digest(url)
    restored = cli(target_url, target_instance, "restore", str(backups))
    assert "已恢复备份" in restored.stdout
    after = table_digest(target_url)
    # Everything as it was. The audit log lacks the backup's own entry (written after its
    # snapshot) and holds the restore's instead.
    assert {t: v for t, v in after.items() if t != "audit_entry"} == {
        t: v for t, v in before.items() if t != "audit_entry"}
    assert after["audit_entry"][0] == before["audit_entry"][0]
    assert evidence(target_instance) == evidence(instance)
    assert cli(target_url, target_instance, "audit", "verify").returncode == 0

    # Into a database that holds data only with --force; nothing new to copy the second time.
    refused = cli(target_url, target_instance, "restore", str(backups), check=False)
    assert refused.returncode == 1 and "已有数据" in refused.stderr
    import time

    time.sleep(1.1)  # snapshots are named by the second
    second = cli(url, instance, "backup", "-o", str(backups))
    assert "本次新增 0 个" in second.stdout


def test_a_damaged_snapshot_is_refused(scratch_database, tmp_path):
    url, instance = scratch_database
    backups = tmp_path / "backups"
    cli(url, instance, "backup", "-o", str(backups))
    folder = next(p for p in backups.iterdir() if (p / "manifest.json").exists())
    database_file = next(p for p in folder.iterdir() if p.name.startswith("database."))
    with database_file.open("ab") as f:
        f.write(b"tampered")
    target_instance = tmp_path / "target"
    target_instance.mkdir()
    done = cli(second_database(url, tmp_path), target_instance, "restore", str(backups), check=False)
    assert done.returncode == 1 and "已损坏" in done.stderr
