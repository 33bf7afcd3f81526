"""A generated province for the page benchmarks, on PostgreSQL or SQLite, built once and cached.

    .venv/bin/python -m bench.province --records 1000000 [--db postgresql|sqlite] [--rebuild]

Starts from the small demo county (``reliefsvc init`` + ``demo load --small``: the accounts,
the catalogue, an assessment standard, a few contracts with everything on them) and adds,
in bulk (executemany in batches of 20 000, one transaction), for N records:

* N/1000 contracts (1 000 at 1 000 000) of N/3000 providers — the demo provider, whose
  manager the page bench logs in as, holds its share like every other provider — each with
  6 workers and 16 villages (16 000 villages, 16 a township: 1 000 townships) and 50 households per
  contract (50 000 households);
* N service records spread over the last year (85 % accepted, 10 % awaiting review,
  5 % sent back), one photo on every fifth record, an integrity flag on every twentieth;
* per contract, copies of the demo contract's assessments, spot-check draws (their items
  pointing at the contract's own records), payment instalments and approved payments;
* the contracts' month counters, computed from the records (as ``count_record`` keeps them).

Cached: on PostgreSQL in the database ``bench_province_<label>`` (``1m``, ``10k``, ...) on
the shared server (127.0.0.1:5432), on SQLite in bench/.data; the instance folder (secret
key, manifest of the pages to request) in bench/.data/province-<db>-<label>/. Pass
``--rebuild`` to build again.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import _http  # noqa: E402

DATA = ROOT / "bench" / ".data"
BATCH = 20_000
STAFF_PER_CONTRACT = 6
VILLAGES_PER_CONTRACT = 16
HOUSEHOLDS_PER_CONTRACT = 50


def label(n: int) -> str:
    return f"{n // 1_000_000}m" if n % 1_000_000 == 0 else f"{n // 1000}k" if n % 1000 == 0 else str(n)


def location(db: str, n: int) -> tuple[str, Path]:
    """(database URL, instance folder) of the province with ``n`` records."""
    folder = DATA / f"province-{db}-{label(n)}"
    if db == "sqlite":
        return f"sqlite:///{folder / 'reliefsvc.sqlite'}", folder
    return _http.pg_url(f"bench_province_{label(n)}"), folder


def ensure(db: str, n: int, rebuild: bool = False, migrate: bool = True) -> tuple[str, Path, dict]:
    """Build the province unless a complete one is cached; return (url, instance, manifest).
    ``migrate=False``: use a cached province as it is (when a later migration cannot run on it)."""
    url, folder = location(db, n)
    manifest = folder / "manifest.json"
    present = manifest.exists()
    if db == "postgresql":
        present = present and bool(_http.psql(
            f"SELECT 1 FROM pg_database WHERE datname = 'bench_province_{label(n)}'"))
    if rebuild or not present:
        shutil.rmtree(folder, ignore_errors=True)
        _http.prepare_instance(folder)
        if db == "postgresql":
            _http.psql(f"DROP DATABASE IF EXISTS bench_province_{label(n)}")
            _http.psql(f"CREATE DATABASE bench_province_{label(n)}")
        t = time.perf_counter()
        _http.cli(url, folder, "init")
        _http.cli(url, folder, "demo", "load", "--small")
        t_demo = time.perf_counter() - t
        subprocess.run([sys.executable, "-m", "bench.province", "--fill", str(n)],
                       env=_http.server_env(url, folder), check=True, cwd=ROOT)
        print(f"built the province of {n} records ({db}) in {time.perf_counter() - t:.0f} s "
              f"(demo county {t_demo:.0f} s, bulk {time.perf_counter() - t - t_demo:.0f} s)")
    _http.prepare_instance(folder)  # the bench settings, also in a province cached before them
    if present and not rebuild and migrate:
        _http.cli(url, folder, "init")  # migrations added since the build (e.g. indexes) apply to the cache
    return url, folder, json.loads(manifest.read_text(encoding="utf-8"))


# --- the bulk fill (child process, in the app) ----------------------------------------------


def _rows(conn, table) -> list[dict]:
    import sqlalchemy as sa

    return [dict(r) for r in conn.execute(sa.select(table).order_by(*table.primary_key.columns)).mappings()]


def _insert(conn, table, rows: list[dict]) -> None:
    for i in range(0, len(rows), BATCH):
        conn.execute(table.insert(), rows[i:i + BATCH])


def _next_id(conn, table) -> int:
    import sqlalchemy as sa

    return (conn.execute(sa.select(sa.func.max(table.c.id))).scalar() or 0) + 1


def fill(n: int) -> None:
    import sqlalchemy as sa

    from reliefsvc import create_app
    from reliefsvc.demo.accounts import PROVIDER
    from reliefsvc.extensions import db
    from reliefsvc.integrity.models import CODE_LABELS
    from reliefsvc.providers.rules import make_uscc

    app = create_app()
    with app.app_context():
        t0 = time.perf_counter()
        meta = db.metadata
        T = meta.tables  # noqa: N806
        conn = db.session.connection()
        now = datetime.now(UTC).replace(microsecond=0)
        users = dict(conn.execute(sa.select(T["user_account"].c.username, T["user_account"].c.id)).all())
        demo_org = conn.execute(sa.select(T["organisation"].c.id).where(T["organisation"].c.name == PROVIDER)).scalar()
        demo_provider = conn.execute(sa.select(T["provider"].c.id)
                                     .where(T["provider"].c.organisation_id == demo_org)).scalar()
        county = conn.execute(sa.select(T["region"]).where(T["region"].c.level == "county")).mappings().first()
        types = [r.code for r in conn.execute(sa.select(T["service_type"].c.code, T["service_type"].c.case_linked)
                                              .where(T["service_type"].c.purchasable)).all()
                 if r.code != "office_duty"]

        n_contracts = max(10, n // 1000)
        n_providers = max(3, n_contracts // 3)
        n_villages = n_contracts * VILLAGES_PER_CONTRACT
        n_towns = max(1, n_villages // 16)
        n_cases = n_contracts * HOUSEHOLDS_PER_CONTRACT

        # Regions: townships and villages under the demo county.
        region_id = _next_id(conn, T["region"])
        towns = [{"id": region_id + t, "code": f"9{t:05d}", "name": f"基准乡{t}", "level": "township",
                  "parent_id": county["id"]} for t in range(n_towns)]
        village_base = region_id + n_towns
        villages = [{"id": village_base + v, "code": f"9{v // 16:05d}{v % 16 + 300:03d}", "name": f"基准村{v}",
                     "level": "village", "parent_id": towns[v // 16 % n_towns]["id"],
                     "lat": 35.0 + (v % 400) / 1000, "lon": 103.5 + (v // 400 % 400) / 1000}
                    for v in range(n_villages)]
        _fill_defaults(T["region"], towns + villages, now)
        _insert(conn, T["region"], towns)
        _insert(conn, T["region"], villages)

        # Providers (each with its organisation); contract c belongs to provider c % P,
        # provider 0 being the demo provider.
        org_id, prov_id = _next_id(conn, T["organisation"]), _next_id(conn, T["provider"])
        orgs = [{"id": org_id + p, "name": f"基准承接主体{p}", "kind": "provider"} for p in range(1, n_providers)]
        provs = [{"id": prov_id + p, "organisation_id": org_id + p, "name": f"基准承接主体{p}",
                  "uscc": make_uscc("52", "622922", f"Q{p:07d}"), "org_type": "social_org"}
                 for p in range(1, n_providers)]
        _fill_defaults(T["organisation"], orgs, now)
        _fill_defaults(T["provider"], provs, now)
        _insert(conn, T["organisation"], orgs)
        _insert(conn, T["provider"], provs)
        provider_of = [demo_provider if c % n_providers == 0 else prov_id + c % n_providers
                       for c in range(n_contracts)]

        template = conn.execute(sa.select(T["contract"]).where(T["contract"].c.provider_id == demo_provider,
                                                               T["contract"].c.status == "active")
                                ).mappings().first()
        contract_base = _next_id(conn, T["contract"])
        contracts = []
        for c in range(n_contracts):
            row = dict(template)
            row.update(id=contract_base + c, contract_no=f"基准〔2026〕{c + 1}号", title=f"基准服务合同{c + 1}",
                       provider_id=provider_of[c], created_at=now, updated_at=now)
            contracts.append(row)
        _insert(conn, T["contract"], contracts)
        _insert(conn, T["contract_village"], [{"contract_id": contract_base + v % n_contracts,
                                               "region_id": village_base + v} for v in range(n_villages)])

        staff_base = _next_id(conn, T["staff"])
        staff = [{"id": staff_base + w, "provider_id": provider_of[w // STAFF_PER_CONTRACT], "name": f"基准人员{w}",
                  "id_number": f"B{w:017d}", "role": "social_worker", "nominated_by_purchaser": False,
                  "attendance_by_purchaser": False} for w in range(n_contracts * STAFF_PER_CONTRACT)]
        _fill_defaults(T["staff"], staff, now)
        _insert(conn, T["staff"], staff)

        case_base = _next_id(conn, T["assistance_case"])
        # Household h lives in village h % V, which contract (h % V) % C serves: h % C.
        cases = [{"id": case_base + h, "case_ref": f"P{h:09d}", "head_name": f"户主{h}",
                  "village_id": village_base + h % n_villages, "household_size": 1 + h % 5, "status": "active",
                  "origin": "imported", "lat": villages[h % n_villages]["lat"] + 0.001,
                  "lon": villages[h % n_villages]["lon"] + 0.001} for h in range(n_cases)]
        _fill_defaults(T["assistance_case"], cases, now)
        _insert(conn, T["assistance_case"], cases)
        print(f"skeleton: {n_contracts} contracts, {n_providers} providers, {n_villages} villages, "
              f"{n_cases} households ({time.perf_counter() - t0:.0f} s)", flush=True)

        # Service records, photos, flags.
        from zoneinfo import ZoneInfo

        local = ZoneInfo("Asia/Shanghai")
        record_base = _next_id(conn, T["service_record"])
        photo_base = _next_id(conn, T["photo"])
        flag_base = _next_id(conn, T["integrity_flag"])
        officer = users["officer"]
        codes = sorted(CODE_LABELS)
        per_contract_cases = n_cases // n_contracts
        day0 = now - timedelta(days=365)
        records, photos, links, flags = [], [], [], []
        for i in range(n):
            c = i % n_contracts
            k = i // n_contracts
            start = day0 + timedelta(days=(k * 7 + c) % 364, minutes=(i * 13) % 600)
            minutes = 20 + (i * 7) % 70
            status = "rejected" if i % 20 == 7 else "submitted" if i % 10 == 3 else "accepted"
            case = case_base + c + n_contracts * ((k * 7919) % per_contract_cases)
            rid = record_base + i
            records.append({
                "id": rid, "contract_id": contract_base + c, "record_ref": f"P-{i:08d}",
                "worker_id": staff_base + c * STAFF_PER_CONTRACT + (k * 31) % STAFF_PER_CONTRACT, "case_id": case,
                "service_type_code": types[(i * 17) % len(types)], "started_at": start,
                "ended_at": start + timedelta(minutes=minutes),
                "month": start.astimezone(local).strftime("%Y-%m"), "minutes": minutes,
                "lat": cases[case - case_base]["lat"], "lon": cases[case - case_base]["lon"], "notes": "",
                "submitted_at": start + timedelta(hours=2), "submitted_by_id": None, "source": "ledger",
                "status": status, "reviewed_by_id": None if status == "submitted" else officer,
                "reviewed_at": None if status == "submitted" else start + timedelta(days=2),
                "review_reason": "记录不完整" if status == "rejected" else None, "version": 1,
                "refuted": False, "risk_score": (i * 97 % 1000) / 10, "checked_version": 1})
            if i % 5 == 0:
                pid = photo_base + i // 5
                photos.append({"id": pid, "sha256": f"{pid:064x}", "display_sha256": f"{pid:063x}d",
                               "content_type": "image/jpeg", "width": 1600, "height": 1200, "size": 400_000,
                               "exif_time": start, "exif_lat": None, "exif_lon": None,
                               "phash": (i * 0x9E3779B97F4A7C15) % (1 << 63), "dhash": (i * 31337) % (1 << 63),
                               "trim_hashes": None, "colours": None, "uploaded_at": start + timedelta(hours=2)})
                links.append({"record_id": rid, "photo_id": pid, "position": 0, "filename": f"IMG_{i}.jpg"})
            if i % 20 == 0:
                flags.append({"id": flag_base + i // 20, "record_id": rid, "contract_id": contract_base + c,
                              "worker_id": records[-1]["worker_id"], "month": records[-1]["month"],
                              "code": codes[(i // 20) % len(codes)], "severity": ("high", "medium", "low")[i % 3],
                              "detail": "基准", "related_record_id": None, "photo_id": None,
                              "related_photo_id": None, "found_at": now, "dismissed_at": None,
                              "dismissed_by_id": None, "dismiss_reason": ""})
            if len(records) >= BATCH:
                _flush(conn, T, records, photos, links, flags)
        _flush(conn, T, records, photos, links, flags)
        print(f"records: {n} ({time.perf_counter() - t0:.0f} s)", flush=True)

        # The month counters, as count_record keeps them, for the generated contracts.
        sr = T["service_record"]
        not_rejected = sr.c.status != "rejected"
        conn.execute(T["progress_month"].insert().from_select(
            ["contract_id", "service_type_code", "month", "delivered", "accepted", "rejected", "refuted", "minutes"],
            sa.select(sr.c.contract_id, sr.c.service_type_code, sr.c.month,
                      sa.func.sum(sa.case((not_rejected, 1), else_=0)),
                      sa.func.sum(sa.case((sr.c.status == "accepted", 1), else_=0)),
                      sa.func.sum(sa.case((sr.c.status == "rejected", 1), else_=0)), sa.literal(0),
                      sa.func.sum(sa.case((not_rejected, sr.c.minutes), else_=0)))
            .where(sr.c.contract_id >= contract_base).group_by(sr.c.contract_id, sr.c.service_type_code, sr.c.month)))
        conn.execute(T["progress_month_case"].insert().from_select(
            ["contract_id", "service_type_code", "month", "case_id", "records"],
            sa.select(sr.c.contract_id, sr.c.service_type_code, sr.c.month, sr.c.case_id, sa.func.count())
            .where(sr.c.contract_id >= contract_base, not_rejected, sr.c.case_id.is_not(None))
            .group_by(sr.c.contract_id, sr.c.service_type_code, sr.c.month, sr.c.case_id)))
        _clone_per_contract(conn, T, template["id"], contract_base, n_contracts, record_base, n_contracts)
        db.session.commit()
        print(f"counters, assessments, spot checks, payments ({time.perf_counter() - t0:.0f} s)", flush=True)

        some = contract_base + n_contracts // 2
        busiest_case = case_base + n_contracts // 2
        demo_contract = next(contract_base + c for c in range(n_contracts) if provider_of[c] == demo_provider)
        manifest = {"records": n, "contracts": n_contracts, "contract_id": some, "case_id": busiest_case,
                    "demo_provider_contract": demo_contract, "officer": "officer", "manager": "manager",
                    "password": _demo_password(), "service_type": types[0]}
        Path(app.instance_path, "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c2:
                c2.exec_driver_sql("VACUUM ANALYZE")
        else:
            with db.engine.connect() as c2:
                c2.exec_driver_sql("ANALYZE")


def _demo_password() -> str:
    from reliefsvc.demo import DEMO_PASSWORD

    return DEMO_PASSWORD


def _fill_defaults(table, rows: list[dict], now: datetime) -> None:
    """created_at/updated_at and every other nullable column the rows leave out (executemany
    needs the same keys in every row)."""
    names = {c.name for c in table.columns}
    for row in rows:
        if "created_at" in names:
            row.setdefault("created_at", now)
        if "updated_at" in names:
            row.setdefault("updated_at", now)


def _flush(conn, T, records, photos, links, flags) -> None:  # noqa: N803
    for name, rows in (("service_record", records), ("photo", photos), ("record_photo", links),
                       ("integrity_flag", flags)):
        if not rows:
            continue
        if conn.dialect.name == "postgresql":
            # COPY: several times faster than executemany; same connection, same transaction.
            columns = list(rows[0])
            raw = conn.connection.driver_connection
            with raw.cursor() as cur, cur.copy(f"COPY {name} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row([row[c] for c in columns])
        else:
            conn.execute(T[name].insert(), rows)
        rows.clear()


def _clone_per_contract(conn, T, template_id, contract_base, n_contracts, record_base, stride) -> None:  # noqa: N803
    """Every generated contract gets copies of the template contract's assessments, spot-check
    draws (items re-pointed at its own records) and payments."""
    import sqlalchemy as sa

    def of_template(name):
        table = T[name]
        return [dict(r) for r in conn.execute(sa.select(table).where(table.c.contract_id == template_id)
                                              .order_by(table.c.id)).mappings()]

    assessments, draws = of_template("assessment"), of_template("spotcheck_draw")
    instalments = of_template("payment_instalment")
    entries = [e for e in of_template("payment_entry") if e["kind"] == "payment"]
    items_by_draw: dict[int, list[dict]] = {}
    if draws:
        for r in conn.execute(sa.select(T["spotcheck_item"]).where(
                T["spotcheck_item"].c.draw_id.in_([d["id"] for d in draws]))).mappings():
            items_by_draw.setdefault(r["draw_id"], []).append(dict(r))
    next_ids = {name: _next_id(conn, T[name]) for name in
                ("assessment", "spotcheck_draw", "spotcheck_item", "payment_instalment", "payment_entry")}
    out: dict[str, list[dict]] = {name: [] for name in next_ids}

    def take(name, row):
        row["id"] = next_ids[name]
        next_ids[name] += 1
        out[name].append(row)
        return row["id"]

    for c in range(n_contracts):
        cid = contract_base + c
        for a in assessments:
            take("assessment", {**a, "contract_id": cid})
        for d in draws:
            new_draw = take("spotcheck_draw", {**d, "contract_id": cid})
            for j, item in enumerate(items_by_draw.get(d["id"], [])):
                rid = record_base + c + stride * (j * 3 + d["id"])
                take("spotcheck_item", {**item, "draw_id": new_draw, "record_id": rid, "record_ref": f"P-{rid - record_base:08d}",
                                        "photo_id": None, "notice_id": None})
        instalment_of = {}
        for inst in instalments:
            instalment_of[inst["id"]] = take("payment_instalment", {**inst, "contract_id": cid})
        for e in entries:
            take("payment_entry", {**e, "contract_id": cid, "instalment_id": instalment_of[e["instalment_id"]],
                                   "reverses_id": None})
    for name in ("assessment", "spotcheck_draw", "spotcheck_item", "payment_instalment", "payment_entry"):
        _insert(conn, T[name], out[name])
    # Assessment scores and the like hang off the template's rows; the pages read the totals.
    _ = Decimal


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--db", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--fill", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fill:
        fill(args.fill)
        return
    DATA.mkdir(parents=True, exist_ok=True)
    url, folder, manifest = ensure(args.db, args.records, args.rebuild)
    print(f"{url}  ({folder})\n{json.dumps(manifest, ensure_ascii=False)}")


if __name__ == "__main__":
    main()
