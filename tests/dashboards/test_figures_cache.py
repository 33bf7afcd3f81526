"""The home page's figures kept a minute per scope (issue 16): never another scope's, the
user's own change at once, anyone else's within the minute, and the time shown."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from reliefsvc.common import pagecache as cache
from reliefsvc.common.formatting import LOCAL_TZ
from reliefsvc.security.models import Role

#: the workbench's "records awaiting review" figure
AWAITING = re.compile(r'href="/records/\?status=submitted">\s*<div class="card-body"><div[^>]*>[^<]*</div>\s*'
                      r'<div class="display-6[^"]*">(\d+)<')


def awaiting(client) -> int:
    page = client.get("/")
    assert page.status_code == 200
    return int(AWAITING.search(page.get_data(as_text=True)).group(1))


def test_own_change_at_once_others_within_the_minute(kept, client, login, county, db):
    from reliefsvc.evidence import service as records
    from reliefsvc.evidence.models import RecordSource, RecordStatus

    made = county(n_contracts=1, records_each=3)
    officer, worker = made["officer"], made["workers"][0]
    login(officer)
    start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    with time_machine.travel(start, tick=False) as clock:
        before = awaiting(client)
        assert before == sum(r.status is RecordStatus.SUBMITTED for r in made["records"]) == 3
        page = client.get("/").get_data(as_text=True)
        assert re.search(r'data-testid="figures-as-of"[^>]*>[^<]*' + f"{start.astimezone(LOCAL_TZ):%H:%M}", page)

        # someone else's record: not yet on the officer's page, within the minute
        record = made["records"][0]
        extra = records.submit(records.RecordInput(
            contract=record.contract, worker=record.worker, service_type_code="home_visit",
            started_at=record.started_at + timedelta(days=1), ended_at=record.ended_at + timedelta(days=1),
            case=record.case, record_ref="TZ-extra"), [], worker, RecordSource.LEDGER)
        db.session.flush()
        clock.shift(30)
        assert awaiting(client) == before
        clock.shift(31)  # the minute is over
        assert awaiting(client) == before + 1

        # the officer's own review shows at once
        clock.shift(5)
        answer = client.post(f"/records/{extra.id}/review", data={"accept": "1"})
        assert answer.status_code == 302
        assert awaiting(client) == before


def test_providers_never_see_each_others_figures(kept, client, login, county):
    made = county(n_contracts=2, records_each=2)
    a, b = made["contracts"]
    assert a.provider.organisation_id != b.provider.organisation_id
    manager_a, manager_b = made["managers"]
    for manager, own, other in ((manager_a, a, b), (manager_b, b, a), (manager_a, a, b), (manager_b, b, a)):
        login(manager)
        page = client.get("/").get_data(as_text=True)
        assert 'data-testid="dashboard-manager"' in page and 'data-testid="figures-as-of"' in page
        assert own.contract_no in page and other.contract_no not in page
    # the officer's page is its own entry too
    login(made["officer"])
    page = client.get("/").get_data(as_text=True)
    assert 'data-testid="dashboard-officer"' in page and 'data-testid="dashboard-manager"' not in page
    assert len(kept) == 3  # one per provider organisation, one for the officers


def test_managers_of_one_organisation_share_one_entry(kept, client, login, county, create_user):
    made = county(n_contracts=1, records_each=2)
    colleague = create_user(Role.PROVIDER_MANAGER, org=made["contracts"][0].provider.organisation)
    login(made["managers"][0])
    client.get("/")
    login(colleague)
    client.get("/")
    assert len(kept) == 1


@pytest.mark.parametrize("role", ["worker", "evaluator"])
def test_personal_pages_are_not_kept(role, kept, client, login, county):
    made = county(n_contracts=1, records_each=2)
    login({"worker": made["workers"][0], "evaluator": made["evaluators"][0]}[role])
    assert 'data-testid="figures-as-of"' not in client.get("/").get_data(as_text=True)
    assert len(kept) == 0


def test_never_kept_longer_than_a_minute(app):
    with app.test_request_context():
        for setting, expected in ((3600, 60), (30, 30), (0, 0), (None, 0)):  # None: off in tests
            app.config["PAGE_FIGURES_SECONDS"] = setting
            assert cache.seconds() == expected
    app.config["PAGE_FIGURES_SECONDS"] = None


def test_the_record_lists_count_is_kept_per_filter_and_own_changes_count_at_once(kept, client, login, county, db):
    # issue 16: paging through a list no longer counts its matches on every page
    from reliefsvc.evidence import service as records
    from reliefsvc.evidence.models import RecordSource, RecordStatus

    made = county(n_contracts=1, records_each=3)
    login(made["officer"])

    def count(query: str) -> tuple[int, list[str]]:
        page = client.get(f"/records/{query}").get_data(as_text=True)
        return int(re.search(r"共 (\d+) 条", page).group(1)), re.findall(r'href="/records/(\d+)"', page)

    start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    with time_machine.travel(start, tick=False) as clock:
        everything, waiting = count("")[0], count("?status=submitted")[0]
        assert everything == 3 and waiting == sum(r.status is RecordStatus.SUBMITTED for r in made["records"])
        record = made["records"][0]
        extra = records.submit(records.RecordInput(
            contract=record.contract, worker=record.worker, service_type_code="home_visit",
            started_at=record.started_at + timedelta(days=1), ended_at=record.ended_at + timedelta(days=1),
            case=record.case, record_ref="TZ-extra"), [], made["workers"][0], RecordSource.LEDGER)
        db.session.flush()
        clock.shift(30)
        total, rows = count("")
        assert total == everything and str(extra.id) in rows  # the rows at once, the count within the minute
        assert count("?service_type=home_visit")[0] == 4  # another filter: its own count
        clock.shift(31)
        assert count("")[0] == everything + 1
        # the officer's own review shows at once in the count of the list it leaves
        before = count("?status=submitted")[0]
        clock.shift(5)
        assert client.post(f"/records/{extra.id}/review", data={"accept": "1"}).status_code == 302
        assert count("?status=submitted")[0] == before - 1


def test_locks_of_keys_no_longer_computed_are_let_go():
    store = cache.FigureCache(max_entries=2)
    held = store.computing(("held",))
    with held:
        for n in range(10):
            with store.computing(("filter", n)):
                store.put(("filter", n), cache.Entry(n, 0.0, 0.0))
        assert len(store._computing) <= 2 * store.max_entries + 1
        assert store.computing(("held",)) is held  # a lock being held is never let go
    assert len(store) == 2
