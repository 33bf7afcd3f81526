"""The officer's home page at province scale (issue 16): the contracts needing attention most,
with a link to the page of every contract under way; the overdue evaluations read from columns."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from reliefsvc.dashboards import service, views
from reliefsvc.db import utcnow
from reliefsvc.integrity.models import IntegrityFlag

TODAY = date(2026, 11, 25)


def test_the_home_page_lists_the_contracts_needing_attention_and_links_to_all(county, client, login, db,
                                                                           monkeypatch):
    made = county(n_contracts=3, records_each=2)
    first, *others = sorted(made["contracts"], key=lambda c: c.contract_no)
    # the first contract's flags are dismissed: one sign of trouble fewer than the others
    db.session.execute(sa.update(IntegrityFlag).where(IntegrityFlag.contract_id == first.id).values(
        dismissed_at=utcnow(), dismissed_by_id=made["officer"].id, dismiss_reason="核实无误"))
    db.session.flush()
    rows = sorted(service.contract_rows(made["officer"], TODAY), key=service.needs_attention)
    assert [r.id for r in rows][-1] == first.id and rows[-1].open_flags == 0
    login(made["officer"])
    monkeypatch.setattr(service, "HOME_CONTRACTS", 3)
    home = client.get("/").get_data(as_text=True)
    assert all(f'data-contract="{c.contract_no}"' in home for c in made["contracts"])
    assert 'data-testid="all-contracts"' not in home  # every contract is on the home page
    monkeypatch.setattr(service, "HOME_CONTRACTS", 2)
    home = client.get("/").get_data(as_text=True)
    assert [f'data-contract="{c.contract_no}"' in home for c in (first, *others)] == [False, True, True]
    assert 'href="/dashboards/contracts" data-testid="all-contracts"' in home
    # the page of all of them, by contract number, a page at a time, with the same figures
    monkeypatch.setattr(views, "CONTRACTS_PER_PAGE", 2)
    page1 = client.get("/dashboards/contracts").get_data(as_text=True)
    page2 = client.get("/dashboards/contracts?page=2").get_data(as_text=True)
    assert [f'data-contract="{c.contract_no}"' in page1 for c in (first, *others)] == [True, True, False]
    assert [f'data-contract="{c.contract_no}"' in page2 for c in (first, *others)] == [False, False, True]
    assert f'href="/integrity/contracts/{first.id}" data-testid="open-flags">0</a>' in page1
    flags = {r.id: r.open_flags for r in rows}
    assert flags[others[0].id] == 1 and f'href="/integrity/contracts/{others[0].id}" data-testid="open-flags">1</a>' in page1
    assert 'href="/dashboards/contracts?page=2"' in page1


def test_the_overdue_evaluations_are_those_of_the_evaluations_room(county, db):
    from reliefsvc.evaluations import service as evaluations

    county(n_contracts=3, records_each=1)
    for day in (TODAY, TODAY + timedelta(days=400), TODAY + timedelta(days=800)):
        mine = service.overdue_evaluations(day)
        theirs = [(y.contract.contract_no, y.year.number, y.due_on) for y in evaluations.overdue(day)]
        assert [(y.contract_no, y.year_no, y.due_on) for y in mine] == theirs
    assert service.overdue_evaluations(TODAY + timedelta(days=800))  # the case is not empty
