"""Clearing what crashed uploads left in the evidence store's temporary folder."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l

from reliefsvc.evidence import get_storage, service
from reliefsvc.jobs.registry import JobSpec


def sweep_temporaries(period: str, now: datetime) -> str:
    removed = get_storage().sweep_temporaries(older_than=timedelta(days=1))
    # And the complete files no row names (a request killed or rolled back after storing).
    orphans = service.sweep_orphan_files()
    return (f"清理临时文件 {removed} 个、孤立文件 {orphans.removed} 个 / {removed} temporary files and "
            f"{orphans.removed} orphan files removed")


JOBS = [
    JobSpec("evidence.sweep", sweep_temporaries, "daily", {"hour": 3, "minute": 15},
            _l("Remove the temporary files of interrupted evidence uploads")),
]
