"""The contract page and the record list keep their read-only parts a minute per scope, as the
home page does (issue 16, reliefsvc.common.pagecache): another's change within the minute, the
reader's own at once, never another scope's entry, and the forms always live."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import time_machine

from reliefsvc.common.formatting import LOCAL_TZ
from reliefsvc.integrity.models import IntegrityFlag
from reliefsvc.regions.models import Level, Region

FLAGS = re.compile(r'data-testid="integrity-total">(\d+)<')


def flags_shown(client, contract) -> int:
    page = client.get(f"/contracts/{contract.id}")
    assert page.status_code == 200
    return int(FLAGS.search(page.get_data(as_text=True)).group(1))


def add_flag(db, record, code="TIME_OVERLAP") -> None:
    db.session.add(IntegrityFlag(record_id=record.id, contract_id=record.contract_id, worker_id=record.worker_id,
                                 month=record.month, code=code, severity="medium", detail="测试",
                                 found_at=datetime.now(UTC)))
    db.session.flush()


def test_the_contract_page_keeps_its_figures_a_minute(kept, client, login, county, db):
    made = county(n_contracts=1, records_each=3)
    contract, record = made["contracts"][0], made["records"][0]
    login(made["officer"])
    start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    with time_machine.travel(start, tick=False) as clock:
        before = flags_shown(client, contract)
        page = client.get(f"/contracts/{contract.id}").get_data(as_text=True)
        assert re.search(r'data-testid="figures-as-of"[^>]*>[^<]*' + f"{start.astimezone(LOCAL_TZ):%H:%M}", page)
        assert 'data-testid="status-form"' in page and 'name="csrf_token"' in page  # forms stay live

        add_flag(db, record)  # someone else's change: within the minute
        clock.shift(30)
        assert flags_shown(client, contract) == before
        clock.shift(31)
        assert flags_shown(client, contract) == before + 1

        add_flag(db, record, "OUT_OF_AREA")
        clock.shift(5)
        # the officer's own write (here a form sent back for a missing name) shows what is now at once
        assert client.post(f"/contracts/{contract.id}/targets", data={}).status_code == 302
        assert flags_shown(client, contract) == before + 2


def test_each_scope_has_its_own_contract_entry(kept, client, login, county):
    made = county(n_contracts=2, records_each=2)
    a, b = made["contracts"]
    login(made["managers"][0])
    own = client.get(f"/contracts/{a.id}").get_data(as_text=True)
    assert 'data-testid="figures-as-of"' in own and a.contract_no in own
    assert client.get(f"/contracts/{b.id}").status_code in (403, 404)  # another provider's: refused, nothing kept
    manager_entries = len(kept)
    login(made["officer"])
    page = client.get(f"/contracts/{a.id}").get_data(as_text=True)
    # the bureau's panels (hiring risk, spot checks) are not in the provider's entry, and the other way round
    assert 'data-panel="spotchecks"' in page and 'data-panel="spotchecks"' not in own
    assert len(kept) == 2 * manager_entries  # the figures and the kept panels, for each scope


def test_an_evaluator_is_not_kept(kept, client, login, county):
    made = county(n_contracts=1, records_each=2)
    login(made["evaluators"][0])
    page = client.get(f"/contracts/{made['contracts'][0].id}").get_data(as_text=True)
    assert 'data-testid="figures-as-of"' not in page and 'data-testid="integrity-total"' in page
    assert len(kept) == 0


def test_the_record_list_keeps_its_filter_lists_not_its_rows(kept, client, login, county, db, villages):
    made = county(n_contracts=1, records_each=2)
    login(made["officer"])
    start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    with time_machine.travel(start, tick=False) as clock:
        page = client.get("/records/").get_data(as_text=True)
        rows = page.count('class="list-group-item list-group-item-action"')
        assert rows == 2
        township = Region(code="622922109", name="新设镇", level=Level.TOWNSHIP, parent=villages[0].parent.parent)
        db.session.add(township)
        record = made["records"][0]
        from reliefsvc.evidence import service as records
        from reliefsvc.evidence.models import RecordSource

        records.submit(records.RecordInput(
            contract=record.contract, worker=record.worker, service_type_code="home_visit",
            started_at=record.started_at + timedelta(days=2), ended_at=record.ended_at + timedelta(days=2),
            case=record.case, record_ref="TZ-new"), [], made["workers"][0], RecordSource.LEDGER)
        db.session.flush()
        clock.shift(10)
        page = client.get("/records/").get_data(as_text=True)
        assert page.count('class="list-group-item list-group-item-action"') == 3  # rows are never kept
        assert township.name not in page  # the township list is, for the minute
        clock.shift(51)
        assert township.name in client.get("/records/").get_data(as_text=True)
