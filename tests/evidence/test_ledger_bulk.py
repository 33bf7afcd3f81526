"""The bulk path of a ledger import (issue 16): records without photos written together,
their audit entries by ``audit.record_many``, ids matched by ref, the cyclic GC paused."""

import gc
import json

import sqlalchemy as sa

from reliefsvc import audit
from reliefsvc.audit.models import AuditEntry
from reliefsvc.evidence import ledger
from reliefsvc.evidence.models import ServiceRecord
from tests.conftest import make_id
from tests.evidence.test_ledger import HEADER, row, setup  # noqa: F401 (fixture)


def _ledger(setup, n, worker=None):  # noqa: F811
    w = worker or setup["worker"].id_number
    # Refs out of order, so that matching ids by ref (not by position) is what is tested.
    refs = [f"B-{(i * 7) % n:03d}" for i in range(n)]
    return (HEADER + "".join(row(ref, w, photos="", start=f"2026-03-{1 + i % 27:02d} 10:00",
                                 end=f"2026-03-{1 + i % 27:02d} 10:45") for i, ref in enumerate(refs))).encode()


def test_bulk_records_get_their_own_ids_and_one_chained_audit_entry_each(setup, db):  # noqa: F811
    before = db.session.scalar(sa.select(sa.func.max(AuditEntry.seq))) or 0
    report = ledger.import_ledger(setup["contract"], _ledger(setup, 23), filename="bulk.csv")
    assert report.imported == 23 and not report.errors
    db.session.flush()
    ids = dict(db.session.execute(sa.select(ServiceRecord.record_ref, ServiceRecord.id)).all())
    entries = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.seq > before)
                                 .order_by(AuditEntry.seq)).all()
    submitted = [e for e in entries if e.event_type == "records.submitted"]
    assert len(submitted) == 23 and [e.seq for e in entries] == list(range(before + 1, before + len(entries) + 1))
    for e in submitted:
        payload = json.loads(e.payload)
        assert e.object_type == "service_record" and e.object_id == str(ids[payload["record_ref"]])
        assert payload == {"record_id": ids[payload["record_ref"]], "contract_id": setup["contract"].id,
                           "record_ref": payload["record_ref"], "service_type": "home_visit", "photos": 0,
                           "source": "ledger"}
    # File order: the entries follow the rows.
    assert [json.loads(e.payload)["record_ref"] for e in submitted] == [f"B-{(i * 7) % 23:03d}" for i in range(23)]
    assert entries[-1].event_type == "records.ledger_imported"
    assert audit.verify_log()[1] is None


def test_the_cyclic_gc_is_paused_only_during_the_import(setup, db):  # noqa: F811
    assert gc.isenabled()
    seen = []
    original = ledger._prepare

    def spy(*args, **kwargs):
        seen.append(gc.isenabled())
        return original(*args, **kwargs)

    ledger._prepare = spy
    try:
        ledger.import_ledger(setup["contract"], _ledger(setup, 3), filename="a.csv")
        assert seen == [False] and gc.isenabled()
        gc.disable()
        try:
            ledger.import_ledger(setup["contract"], _ledger(setup, 3), filename="a.csv")
            assert not gc.isenabled()  # left as the caller had it
        finally:
            gc.enable()
    finally:
        ledger._prepare = original


def test_a_wrong_id_number_is_reported_on_every_row_it_appears(setup, db):  # noqa: F811
    bad = make_id(11)[:-1] + ("0" if make_id(11)[-1] != "0" else "1")
    report = ledger.import_ledger(setup["contract"], _ledger(setup, 4, worker=bad), filename="bad.csv")
    assert report.rejected == 4 and not report.written
    assert [e.row for e in report.errors if e.column == "worker_id_number"] == [2, 3, 4, 5]
