"""Helpers for hiring-risk tests: staff and service records made directly."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import make_id


@pytest.fixture
def add_staff(db):
    """``add_staff(provider, nominated=False, attendance=False, id_number=None, **details)`` → Staff."""
    from reliefsvc.providers import service

    counter = itertools.count(700)

    def add(provider, nominated=False, attendance=False, id_number=None, name=None, **details):
        n = next(counter)
        return service.add_staff(provider, id_number=id_number or make_id(n, 1980 + n % 20), name=name or f"人员{n}",
                                 role="coordinator", nominated_by_purchaser=nominated,
                                 attendance_by_purchaser=attendance, **details)

    return add


@pytest.fixture
def add_record(db):
    """``add_record(contract, worker, minutes=60, case=None, type_code="home_visit", position=None)``."""
    from reliefsvc.evidence.models import RecordSource, RecordStatus, ServiceRecord

    counter = itertools.count(1)

    def add(contract, worker, minutes=60, case=None, type_code="home_visit", position=None, status="submitted"):
        n = next(counter)
        start = datetime(2026, 3, 2, 1, 0, tzinfo=UTC) + timedelta(hours=n)
        lat, lon = position if position else (None, None)
        record = ServiceRecord(contract=contract, record_ref=f"H-{contract.id}-{n}", worker=worker, case=case,
                               service_type_code=type_code, started_at=start, ended_at=start + timedelta(minutes=minutes),
                               month="2026-03", minutes=minutes, lat=lat, lon=lon, submitted_at=start,
                               source=RecordSource.LEDGER, status=RecordStatus(status),
                               review_reason="不符" if status == "rejected" else None)
        db.session.add(record)
        db.session.flush()
        return record

    return add
