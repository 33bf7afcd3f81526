"""A spot-check draw over a population of 1 000 000 service records, as ``spotcheck draw`` makes it.

    .venv/bin/python -m bench.spotcheck_draw [--records 1000000] [--size 400] [--risk-size 100]
                                            [--database sqlite|postgresql] [--rebuild]

Builds once (kept in ``bench/.data/``, rebuilt with ``--rebuild``) a database with the
platform's schema and one contract whose period holds ``--records`` service records
(2 % rejected at review, so outside the population; 8 % with a risk score), eight
evaluators and households for the records to serve. ``--database postgresql`` builds it
in the database ``bench_spotcheck`` on 127.0.0.1 instead (created if missing).

Then, on a copy of that database:

1. the plain read (baseline): the population's ``record_ref`` and ``risk_score`` columns
   fetched and iterated, nothing else;
2. the draw: ``spotchecks.service.cli_draw`` — population, frame hash, the frozen frame
   stored, the SHA-256 ticket of every record, the random and risk strata, the items,
   the evaluators assigned, the audit entries, committed — exactly the command's work;
3. the verification: ``verify_published`` of the CSV the draw gives (``spotcheck verify``).

The draw must take at most 3 seconds. Prints each time and the draw's ratio to the plain read.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = ROOT / "bench" / ".data"
TARGET_S = 3.0
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_URL = "postgresql://postgres@127.0.0.1:5432/{name}"
CONTRACT_NO = "BENCH-SPOTCHECK-1"
DAY_FROM, DAY_TO = date(2026, 1, 1), date(2026, 12, 31)


def _app(url: str, instance: Path):
    os.environ["RELIEFSVC_INSTANCE_PATH"] = str(instance)
    os.environ.pop("DATABASE_URL", None)
    from reliefsvc import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": str(instance)})


def _build(url: str, n: int) -> None:
    import sqlalchemy as sa
    from flask_migrate import upgrade

    from reliefsvc.cases.models import Case
    from reliefsvc.contracts import service as contracts
    from reliefsvc.evidence.models import ServiceRecord
    from reliefsvc.extensions import db
    from reliefsvc.providers import rules as provider_rules
    from reliefsvc.providers import service as providers
    from reliefsvc.providers.models import Vetting, VettingStatus
    from reliefsvc.regions.models import Level, Region
    from reliefsvc.security import service as security
    from reliefsvc.security.models import Role
    from tests.conftest import make_id

    instance = Path(tempfile.mkdtemp(prefix="bench-spotcheck-"))
    app = _app(url, instance)
    rnd = random.Random(16)
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        contracts.ensure_catalogue()
        county = Region(code="622922", name="康乐县", level=Level.COUNTY, lat=35.37, lon=103.71)
        town = Region(code="622922100", name="附城镇", level=Level.TOWNSHIP, parent=county, lat=35.37, lon=103.71)
        village = Region(code="622922100201", name="一村", level=Level.VILLAGE, parent=town, lat=35.38, lon=103.72)
        db.session.add_all([county, town, village])
        provider = providers.create_provider(provider_rules.make_uscc("52", "622922", "MJ000016"), "抽查基准中心",
                                             "social_org")
        workers = [providers.add_staff(provider, id_number=make_id(i + 1), name=f"服务员{i}", role="social_worker")
                   for i in range(40)]
        db.session.add(Vetting(provider=provider, status=VettingStatus.APPROVED, decided_on=date(2025, 12, 1),
                               valid_until=date(2027, 12, 31), external=True, external_vetted_by="bench"))
        contract = contracts.create_contract(contracts.ContractData(
            contract_no=CONTRACT_NO, title="抽查基准", provider=provider, purchaser="康乐县民政局",
            procurement_method="public_tender", amount=1, starts_on=DAY_FROM, ends_on=DAY_TO,
            pricing_model="output", villages=[village]))
        contracts.change_status(contract, "active", "", None, on=DAY_FROM)
        cases = [Case(case_ref=f"HH{i:05d}", head_name=f"户主{i}", head_id_number=make_id(i + 100, 1950),
                      village=village, household_size=2) for i in range(2000)]
        db.session.add_all(cases)
        for i in range(8):
            security.create_user(f"eval{i}", "Bench-Passw0rd-16!", Role.EVALUATOR, display_name=f"评估员{i}",
                                 org_name="第三方评估机构")
        db.session.flush()
        worker_ids, case_ids = [w.id for w in workers], [c.id for c in cases]
        officer = security.create_user("officer16", "Bench-Passw0rd-16!", Role.OFFICER, display_name="科员")
        db.session.commit()
        table = ServiceRecord.__table__
        start = datetime(2025, 12, 31, 17, 0, tzinfo=UTC)  # 2026-01-01 01:00 local
        step = (365 * 24 * 3600 - 7200) / n
        rows = []
        for i in range(n):
            begun = start + timedelta(seconds=int(i * step))
            status = "rejected" if rnd.random() < 0.02 else ("accepted" if rnd.random() < 0.8 else "submitted")
            rows.append({
                "contract_id": contract.id, "record_ref": f"SR{i:07d}", "worker_id": worker_ids[i % 40],
                "case_id": case_ids[rnd.randrange(2000)], "service_type_code": "home_visit",
                "started_at": begun, "ended_at": begun + timedelta(minutes=40),
                "month": (begun + timedelta(hours=8)).strftime("%Y-%m"), "minutes": 40, "lat": None, "lon": None,
                "notes": "入户走访", "submitted_at": begun + timedelta(hours=2), "source": "ledger",
                "status": status, "version": 1, "refuted": False,
                "reviewed_by_id": officer.id if status != "submitted" else None,
                "review_reason": "照片不符" if status == "rejected" else None,
                "risk_score": round(rnd.random() * 10, 2) if rnd.random() < 0.08 else 0.0, "checked_version": 0})
            if len(rows) == 50_000:
                db.session.execute(table.insert(), rows)
                rows.clear()
        if rows:
            db.session.execute(table.insert(), rows)
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(table)) == n
        db.session.remove()
        if db.engine.dialect.name == "sqlite":
            # Everything into the main file before it is renamed: the -wal file keeps its old name.
            # Outside any transaction (the platform's "begin" hook would open one, and a
            # checkpoint inside it fails with "database table is locked").
            raw = db.engine.raw_connection()
            try:
                raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                raw.close()
        db.engine.dispose()
    shutil.rmtree(instance, ignore_errors=True)


def _pg(sql: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(sql))
    engine.dispose()


def prepare(database: str, n: int, rebuild: bool) -> tuple[str, callable]:
    """The URL of a fresh working copy of the built population, and how to drop it."""
    DATA.mkdir(exist_ok=True)
    if database == "sqlite":
        built = DATA / f"spotcheck_{n}.sqlite"
        if rebuild or not built.exists():
            partial = built.with_suffix(".partial")
            partial.unlink(missing_ok=True)
            t0 = time.perf_counter()
            _build(f"sqlite:///{partial}", n)
            os.replace(partial, built)
            for leftover in (Path(f"{partial}-wal"), Path(f"{partial}-shm")):
                leftover.unlink(missing_ok=True)
            print(f"built {built.name} in {time.perf_counter() - t0:.0f} s")
        work = Path(tempfile.mkdtemp(prefix="bench-spotcheck-work-")) / "work.sqlite"
        shutil.copyfile(built, work)
        return f"sqlite:///{work}", lambda: shutil.rmtree(work.parent, ignore_errors=True)
    name = f"bench_spotcheck_{n}"
    import sqlalchemy as sa

    engine = sa.create_engine(PG_ADMIN)
    with engine.connect() as conn:
        exists = conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
    engine.dispose()
    if rebuild or not exists:
        _pg(f'DROP DATABASE IF EXISTS "{name}"')
        _pg(f'CREATE DATABASE "{name}"')
        t0 = time.perf_counter()
        _build(PG_URL.format(name=name), n)
        print(f"built {name} in {time.perf_counter() - t0:.0f} s")
    work = f"{name}_work"
    _pg(f'DROP DATABASE IF EXISTS "{work}"')
    _pg(f'CREATE DATABASE "{work}" TEMPLATE "{name}"')
    return PG_URL.format(name=work), lambda: _pg(f'DROP DATABASE IF EXISTS "{work}"')


def measure(url: str, size: int, risk_size: int, profile: bool = False) -> dict[str, float]:
    import sqlalchemy as sa

    from reliefsvc.evidence.models import RecordStatus, ServiceRecord
    from reliefsvc.extensions import db
    from reliefsvc.notifications import service as notifications
    from reliefsvc.spotchecks import service

    instance = Path(tempfile.mkdtemp(prefix="bench-spotcheck-run-"))
    app = _app(url, instance)
    out = {}
    with app.app_context():
        contract = service.find_contract(CONTRACT_NO)
        start, end = service._local_bounds(DAY_FROM, DAY_TO)
        db.session.commit()

        c0, t0 = time.process_time(), time.perf_counter()
        count = 0
        for _ref, _score in db.session.execute(sa.select(ServiceRecord.record_ref, ServiceRecord.risk_score).where(
                ServiceRecord.contract_id == contract.id, ServiceRecord.started_at >= start,
                ServiceRecord.started_at < end, ServiceRecord.status != RecordStatus.REJECTED)):
            count += 1
        out["plain"], out["plain_cpu"] = time.perf_counter() - t0, time.process_time() - c0
        out["population"] = count
        db.session.commit()

        profiler = None
        if profile:
            import cProfile

            profiler = cProfile.Profile(time.process_time)  # CPU time: the machine is shared
            profiler.enable()
        c0, t0 = time.process_time(), time.perf_counter()
        draw, result, created = service.cli_draw(contract, DAY_FROM, DAY_TO, "20261128-16", size, risk_size)
        result.to_csv()
        notifications.commit()  # as the command does: commit, then deliver the evaluators' notices
        out["draw"], out["draw_cpu"] = time.perf_counter() - t0, time.process_time() - c0
        if profiler is not None:
            import pstats

            profiler.disable()
            profiler.dump_stats(DATA / "spotcheck_draw.prof")
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
        assert created and len(result.rows) == size + risk_size, (created, len(result.rows))
        out["frame_hash"] = result.frame_hash

        t0 = time.perf_counter()
        verdict, _stored = service.verify_published(result.to_csv(), contract, DAY_FROM, DAY_TO, "20261128-16")
        db.session.rollback()
        out["verify"] = time.perf_counter() - t0
        assert verdict.ok, verdict
        db.session.remove()
        db.engine.dispose()  # PostgreSQL: no connection left on the work database it drops next
    shutil.rmtree(instance, ignore_errors=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--size", type=int, default=400)
    parser.add_argument("--risk-size", type=int, default=100)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--profile", action="store_true", help="cProfile (CPU time) of the draw")
    args = parser.parse_args()
    url, drop = prepare(args.database, args.records, args.rebuild)
    try:
        out = measure(url, args.size, args.risk_size, args.profile)
    finally:
        drop()
    print(f"database: {args.database}; contract with {args.records} records, population {out['population']} "
          f"(rejected ones left out); sample {args.size} random + {args.risk_size} risk")
    print(f"plain read of the population's columns: {out['plain']:.2f} s (CPU {out['plain_cpu']:.2f} s)")
    print(f"draw: {out['draw']:.2f} s (CPU {out['draw_cpu']:.2f} s, ratio {out['draw_cpu'] / out['plain_cpu']:.1f} "
          "by CPU time)")
    print(f"verify (spotcheck verify of the published CSV): {out['verify']:.2f} s")
    print(f"frame hash {out['frame_hash']}")
    print(f"spotcheck draw: {out['draw']:.2f} s over {args.records} records, baseline (plain read) "
          f"{out['plain']:.2f} s, ratio {out['draw'] / out['plain']:.1f} (target ≤ {TARGET_S:g} s)")


if __name__ == "__main__":
    main()
