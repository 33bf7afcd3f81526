"""Clearing what crashed uploads left in the evidence store's temporary folder; bringing
older photos' perceptual hashes to the current way of taking them."""

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


#: Photos rehashed a night (~50 ms each: about 20 minutes of one core), before the
#: integrity check at 01:30.
REHASH_PER_NIGHT = 20_000


def rehash_photos(period: str, now: datetime) -> str:
    result = service.rehash_photos(REHASH_PER_NIGHT)
    return (f"重算照片感知哈希 {result.rehashed} 张，无法读取 {result.unreadable} 张，尚余 {result.remaining} 张 / "
            f"{result.rehashed} photos rehashed, {result.unreadable} unreadable, {result.remaining} left")


JOBS = [
    JobSpec("evidence.rehash", rehash_photos, "daily", {"hour": 0, "minute": 45},
            _l("Recompute the perceptual hashes of photos stored under an older hash version")),
    JobSpec("evidence.sweep", sweep_temporaries, "daily", {"hour": 3, "minute": 15},
            _l("Remove the temporary files of interrupted evidence uploads")),
]
