"""Builders of plain detector inputs: records and photos with sensible defaults."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import pytest

from reliefsvc.integrity.rules import LOCAL_TZ, PhotoFacts, RecordFacts

# A village in the hills of Kangle County; the household is in it.
VILLAGE = (35.370, 103.710)
HOME = (35.372, 103.712)


def local(text: str) -> datetime:
    """'2026-03-05 09:00' in Asia/Shanghai, as an aware datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=LOCAL_TZ)


@pytest.fixture
def make_photo():
    counter = itertools.count(1)

    def make(**overrides) -> PhotoFacts:
        n = next(counter)
        values = {
            "photo_id": f"P{n:03d}",
            "sha256": f"{n:064x}",
            "phash": None,
            "dhash": None,
            "exif_time": local("2026-03-05 09:10"),
            "exif_lat": HOME[0],
            "exif_lon": HOME[1],
        }
        values.update(overrides)
        return PhotoFacts(**values)

    return make


@pytest.fixture
def make_record(make_photo):
    """``make_record(start='2026-03-05 09:00', minutes=30, **fields)`` → RecordFacts.

    Defaults describe a clean home visit: long enough, one good photo, filed the same day.
    """
    counter = itertools.count(1)

    def make(start: str = "2026-03-05 09:00", minutes: float = 30, photos=None, **overrides) -> RecordFacts:
        n = next(counter)
        started = local(start)
        ended = started + timedelta(minutes=minutes)
        if photos is None:
            photos = (make_photo(exif_time=started + timedelta(minutes=minutes / 2)),)
        values = {
            "record_id": n,
            "record_ref": f"TZ-{n:04d}",
            "contract_id": 1,
            "provider_id": 1,
            "worker_id": 1,
            "case_id": 100 + n,
            "service_type": "home_visit",
            "started_at": started,
            "ended_at": ended,
            "submitted_at": ended + timedelta(hours=2),
            "lat": None,
            "lon": None,
            "case_lat": HOME[0],
            "case_lon": HOME[1],
            "village_lat": VILLAGE[0],
            "village_lon": VILLAGE[1],
            "case_status": "active",
            "case_status_changed_on": None,
            "case_in_area": True,
            "notes": "",
            "photos": tuple(photos),
        }
        values.update(overrides)
        return RecordFacts(**values)

    return make

