"""Concurrent writers wait for each other instead of failing, and the audit chain stays one.

Four processes append audit entries at the same time, each in its own short transactions.
On SQLite, BEGIN IMMEDIATE and the busy timeout make them queue; on PostgreSQL an advisory
lock serialises appends. Either way: every entry lands and the chain verifies.
"""

import os
import subprocess
import sys

import pytest

WRITER = """
import sys
from reliefsvc import create_app, audit
from reliefsvc.extensions import db
from reliefsvc.regions.events import RegionsImported
app = create_app()
with app.app_context():
    for i in range(int(sys.argv[1])):
        audit.record(RegionsImported(filename=f"w{sys.argv[2]}-{i}", sha256="0", imported=0, updated=0, rejected=0))
        db.session.commit()
print("ok")
"""


@pytest.mark.no_db_rollback
@pytest.mark.slow
def test_four_writers_at_once_lose_nothing(scratch_database):
    url, instance = scratch_database
    env = {**os.environ, "DATABASE_URL": url, "RELIEFSVC_INSTANCE_PATH": str(instance)}
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, "25", str(n)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for n in range(4)]
    outputs = [w.communicate(timeout=180) for w in writers]
    for writer, (out, err) in zip(writers, outputs, strict=True):
        assert writer.returncode == 0, err
        assert out.strip() == "ok"
    result = subprocess.run([sys.executable, "-m", "reliefsvc", "audit", "verify"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "100 entries" in result.stdout
