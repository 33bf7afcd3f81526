"""The home page asks the database a fixed number of times, whatever the amount of data.

The province-scale benchmark (bench/) holds the dashboards to their speed; this test holds
them to their shape: no query per contract, per record or per row.
"""

from __future__ import annotations

import contextlib

import pytest
import sqlalchemy as sa

from reliefsvc.extensions import db as _db


@contextlib.contextmanager
def counting():
    statements: list[str] = []

    def listener(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    engine = _db.engine
    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)


def home_queries(client, login, user) -> list[str]:
    login(user)
    client.get("/")  # the first request warms caches (settings, translations) that later ones reuse
    with counting() as statements:
        assert client.get("/").status_code == 200
    return statements


@pytest.mark.parametrize("role", ["officer", "manager", "worker", "evaluator"])
def test_the_home_page_costs_the_same_with_one_contract_and_with_many(role, client, login, county, create_user):
    first = county(n_contracts=1, records_each=1)
    provider = first["contracts"][0].provider
    user = {"officer": first["officer"], "manager": first["managers"][0], "worker": first["workers"][0],
            "evaluator": first["evaluators"][0]}[role]
    few = home_queries(client, login, user)
    # more of everything: other providers' contracts, and more contracts and records of the same provider
    county(n_contracts=3, records_each=4)
    county(n_contracts=2, records_each=5, provider=provider)
    many = home_queries(client, login, user)
    print(f"\n{role}: {len(few)} statements")  # shown with -s
    assert len(few) > 10, "the dashboard was not rendered"
    assert len(many) == len(few), "\n\n".join(q[:200] for q in many)
