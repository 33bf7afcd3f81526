"""The pages at province scale: p50/p95 and throughput against a trivial logged-in page.

    .venv/bin/python -m bench.pages [--records 1000000] [--db postgresql] [--clients 16] [--seconds 30]
                                    [--compare 10000] [--server-workers 4] [--threads 4]
    .venv/bin/python -m bench.pages --db sqlite --records 100000 --clients 8 --compare 0   # county default
    .venv/bin/python -m bench.pages --profile [--records ...] [--db ...]   # SQL per page, EXPLAIN ANALYZE
    .venv/bin/python -m bench.pages --profile --python dashboard          # and cProfile of those pages

On the generated province (bench/province.py: built once, cached), the production server
(gunicorn, bench/_http.py) on loopback; for each page ``--clients`` logged-in clients request
it back to back for ``--seconds`` (after a short warm-up):

* baseline — the notifications inbox of the officer (the lightest logged-in page);
* officer dashboard — ``/`` as the officer (whatever ``/`` is);
* contract page — ``/contracts/<id>`` of a contract with N/1000 records;
* record list — ``/records/?status=accepted&service_type=...&page=3`` as the officer;
* household timeline — ``/cases/<id>``;
* provider dashboard — ``/`` as the demo provider's manager.

Prints per page p50, p95, requests/s and the ratio of its throughput to the baseline's;
with ``--compare`` (default 10 000) the same at 10 000 records and p50(N)/p50(10 000): both
provinces are served at once and each page is timed at 10 000 then at N before the next
page, so that the two figures of a ratio are taken under the same load.
Targets (issue 16): p95 ≤ 150 ms (≤ 100 ms on SQLite at county scale), throughput ≥ 0.5 ×
baseline, p50(1 000 000) ≤ 1.5 × p50(10 000). Every answer must be 200.

``--profile`` instead runs each page once in-process and prints its SQL statements, the
slowest first, with EXPLAIN ANALYZE of the slowest on PostgreSQL.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import _http, province  # noqa: E402
from bench._http import Client, Server, Stats, percentile  # noqa: E402

TARGET_P95_MS = {"postgresql": 150, "sqlite": 100}


def pages(manifest: dict) -> list[tuple[str, str, str]]:
    """(name, who, path) — who is "officer" or "manager"."""
    return [
        ("baseline", "officer", "/notifications/"),
        ("officer dashboard", "officer", "/"),
        ("contract page", "officer", f"/contracts/{manifest['contract_id']}"),
        ("record list", "officer", f"/records/?status=accepted&service_type={manifest['service_type']}&page=3"),
        ("household timeline", "officer", f"/cases/{manifest['case_id']}"),
        ("provider dashboard", "manager", "/"),
    ]


def measure(db: str, sizes: list[int], args) -> dict[int, dict[str, dict]]:
    """{records: {page: figures}}: one server per size, all running; each page is timed at
    every size in turn before the next page, so that the pair a p50 ratio compares is taken
    a minute apart under the same load (the machine is shared: its load drifts over the
    ten minutes a size takes)."""
    from contextlib import ExitStack

    results: dict[int, dict[str, dict]] = {n: {} for n in sizes}
    with ExitStack() as stack:
        sessions: dict[tuple[int, str], list[Client]] = {}
        paths: dict[int, list[tuple[str, str, str]]] = {}
        login_stats = Stats()
        for n in sizes:
            url, folder, manifest = province.ensure(db, n, migrate=not args.no_migrate)
            extra = f"PAGE_FIGURES_SECONDS = {args.figures_seconds}\n" if args.figures_seconds is not None else ""
            server = stack.enter_context(Server(url, folder, workers=args.server_workers, threads=args.threads,
                                                extra_config=extra))
            paths[n] = [p for p in pages(manifest)
                        if p[0] == "baseline" or not args.pages or any(w in p[0] for w in args.pages)]
            for who in ("officer", "manager"):
                sessions[(n, who)] = []
                for _ in range(args.clients):
                    client = Client(server.base, login_stats, timeout=60)
                    client.login(manifest[who], manifest["password"])
                    sessions[(n, who)].append(client)
        for i, (name, who, _path) in enumerate(paths[sizes[0]]):
            for n in sizes:
                path = paths[n][i][2]
                stats = Stats()
                bad: list[int] = []

                def loop(client, stop_at, record=True, stats=stats, path=path, bad=bad, name=name):
                    while time.monotonic() < stop_at:
                        client.stats = stats if record else login_stats
                        answer = client.request(name, "GET", path)
                        if record and (answer is None or answer.status_code != 200):
                            bad.append(None if answer is None else answer.status_code)

                warm = time.monotonic() + args.warmup
                _http.run_threads([lambda s, c=c: loop(c, s, record=False) for c in sessions[(n, who)]], warm)
                stats.started = time.monotonic()
                _http.run_threads([lambda s, c=c: loop(c, s) for c in sessions[(n, who)]],
                                  stats.started + args.seconds)
                stats.stop()
                k = stats.kinds[name]
                r = results[n][name] = {"p50": percentile(k.times, 50) * 1000, "p95": percentile(k.times, 95) * 1000,
                                        "rps": k.count / stats.seconds, "n": k.count, "bad": len(bad),
                                        "bad_codes": sorted({b for b in bad if b is not None})}
                print(f"  {n:>8} {name:<20} p50 {r['p50']:7.1f} ms  p95 {r['p95']:7.1f} ms  {r['rps']:6.1f} req/s"
                      f"  ({k.count} requests, {len(bad)} not 200)  load {_load()}", flush=True)
    return results


def _load() -> str:
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"


def report(db: str, records: int, results: dict, small: dict | None, args) -> str:
    base = results["baseline"]["rps"]
    target = TARGET_P95_MS[db]
    lines = [f"\n{db}, {records} records, {args.clients} clients × {args.seconds:.0f} s per page, gunicorn "
             f"{args.server_workers}×{args.threads} (2 shared cores, other sessions running)",
             f"{'page':<20}{'p50 ms':>9}{'p95 ms':>9}{'req/s':>8}{'÷base':>7}"
             + (f"{'p50 ÷ 10k':>11}" if small else "") + "  verdict"]
    summary = []
    for name, r in results.items():
        ratio = r["rps"] / base if base else 0
        growth = r["p50"] / small[name]["p50"] if small and small[name]["p50"] else None
        ok = r["p95"] <= target and r["bad"] == 0 and (name == "baseline" or ratio >= 0.5) and (
            growth is None or growth <= 1.5)
        lines.append(f"{name:<20}{r['p50']:>9.1f}{r['p95']:>9.1f}{r['rps']:>8.1f}{ratio:>7.2f}"
                     + (f"{growth:>11.2f}" if growth is not None else "") + ("  ok" if ok else "  MISSED"))
        summary.append(f"{name} p50 {r['p50']:.0f}/p95 {r['p95']:.0f} ms {r['rps']:.1f}/s ×{ratio:.2f}"
                       + (f" p50÷10k {growth:.2f}" if growth is not None else ""))
    print("\n".join(lines))
    return f"{db} {records}: " + "; ".join(summary)


# --- profile ---------------------------------------------------------------------------------


def profile(db: str, records: int, python: str | None = None, figures_seconds: float = 0) -> None:
    import os

    import sqlalchemy as sa
    from sqlalchemy import event

    url, folder, manifest = province.ensure(db, records)
    os.environ["RELIEFSVC_INSTANCE_PATH"] = str(folder)
    os.environ["DATABASE_URL"] = url
    from reliefsvc import create_app
    from reliefsvc.extensions import db as database

    app = create_app()
    # The home pages' figures are kept a minute (common/pagecache.py): profiled without it
    # (the work of a miss); the cost of a hit is printed after each home page.
    app.config["PAGE_FIGURES_SECONDS"] = figures_seconds
    seen: list[tuple[float, str, object]] = []
    with app.app_context():
        engine = database.engine

        @event.listens_for(engine, "before_cursor_execute")
        def _before(conn, cursor, statement, parameters, context, executemany):
            conn.info["t"] = time.perf_counter()

        @event.listens_for(engine, "after_cursor_execute")
        def _after(conn, cursor, statement, parameters, context, executemany):
            seen.append((time.perf_counter() - conn.info["t"], statement, parameters))

    clients = {}
    for who in ("officer", "manager"):
        client = app.test_client()
        token = Client.csrf_of(client.get("/login").get_data(as_text=True))
        client.post("/login", data={"csrf_token": token, "username": manifest[who], "password": manifest["password"]})
        clients[who] = client
    for name, who, path in pages(manifest):
        clients[who].get(path)  # warm
        seen.clear()
        t = time.perf_counter()
        answer = clients[who].get(path)
        total = time.perf_counter() - t
        sql = sum(s[0] for s in seen)
        print(f"\n== {name} {path}: {answer.status_code}, {total * 1000:.0f} ms, {len(seen)} statements, "
              f"SQL {sql * 1000:.0f} ms")
        for seconds, statement, _params in sorted(seen, key=lambda s: -s[0])[:8]:
            text = re.sub(r"\s+", " ", statement)[:300]
            print(f"   {seconds * 1000:7.1f} ms  {text}")
        if path == "/" and not figures_seconds:
            app.config["PAGE_FIGURES_SECONDS"] = 60
            time.sleep(1.1)  # past the login's mark (an entry of the login's second counts as older)
            clients[who].get(path)  # fills
            seen.clear()
            t = time.perf_counter()
            clients[who].get(path)
            hit = time.perf_counter() - t
            app.config["PAGE_FIGURES_SECONDS"] = 0
            print(f"   figures kept (a hit): {hit * 1000:.0f} ms, {len(seen)} statements")
        if python and python in name:
            import cProfile
            import io
            import pstats

            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(3):
                clients[who].get(path)
            profiler.disable()
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(45)
            print("   cProfile, 3 requests, by cumulative time:\n" + out.getvalue())
        if db == "postgresql" and seen:
            seconds, statement, params = max(seen, key=lambda s: s[0])
            if seconds > 0.005:
                with app.app_context(), database.engine.connect() as conn:
                    plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, params).scalars().all()
                print("   EXPLAIN ANALYZE of the slowest:\n      " + "\n      ".join(plan[:25]))
    _ = sa


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--db", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--compare", type=int, default=10_000, help="also at this many records (0: no)")
    parser.add_argument("--server-workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--no-migrate", action="store_true",
                        help="serve the cached provinces as they are (no `reliefsvc init` on them first)")
    parser.add_argument("--figures-seconds", type=float, default=None,
                        help="PAGE_FIGURES_SECONDS of the servers (default: the application's, 60; 0: "
                             "the home pages' figures computed on every request); with --profile default 0")
    parser.add_argument("--python", metavar="PAGE", help="with --profile: cProfile of the pages whose name has PAGE")
    parser.add_argument("--pages", nargs="*", metavar="WORD",
                        help="only the pages whose name has one of these words (and the baseline)")
    args = parser.parse_args()
    province.DATA.mkdir(parents=True, exist_ok=True)
    if args.profile:
        profile(args.db, args.records, args.python, args.figures_seconds or 0)
        return
    compare = args.compare and args.compare != args.records
    measured = measure(args.db, [args.compare, args.records] if compare else [args.records], args)
    small = measured[args.compare] if compare else None
    line = report(args.db, args.records, measured[args.records], small, args)
    print("\n" + line)


if __name__ == "__main__":
    main()
