"""Load and faults: 50 provider workers submit service records with photos while an officer browses.

    .venv/bin/python -m bench.load [--db sqlite|postgresql] [--workers 50] [--seconds 60]
                                   [--server-workers 4] [--threads 4] [--runs steady,kill,restart]

The production server (``gunicorn 'reliefsvc:create_app()'``, gthread workers, bench/_http.py)
serves a fresh copy of the small demo county (``reliefsvc init`` + ``demo load --small``,
built once and cached: a folder in bench/.data for SQLite, the database
``bench_load_template`` on the bench's own PostgreSQL cluster on port 5433 — created with
``pg_createcluster 15 bench -p 5433`` if missing, trust auth, so the shared server on 5432 is
never restarted) plus ``--workers`` provider-worker accounts, each on the roster.

Each simulated worker logs in through the login form (CSRF), then loops: open the phone
form ``/records/new`` (it carries the one-time ``submission_key``), fill it, attach one or two
freshly drawn JPEGs (unique content) and post it as multipart. A 302 to ``/records/<id>`` is
the acknowledgement; the client keeps the key, the record id and the SHA-256 of every photo
it sent. A request that fails (connection reset, timeout, 5xx) is sent again with the same
key and photos, as the phone does, until acknowledged. Meanwhile one officer browses the
home page, record lists, record pages, contracts and households.

Runs (``--runs``):

* ``steady`` — nothing breaks;
* ``kill`` — half-way, one gunicorn worker gets SIGKILL (the master starts a new one);
* ``restart`` — half-way, the database restarts: on PostgreSQL ``pg_ctlcluster 15 bench
  restart -m fast`` (every connection cut); SQLite is no server but a library inside each
  web process, so its "restart" is the crash of every process holding the file: the whole
  gunicorn process group gets SIGKILL and a new server starts on the same port (the WAL is
  recovered by the first connection).

After each run, reconciliation (in a child process with the app): every acknowledged
submission is in the database exactly once (by reference and by the key written in its
notes), with exactly the photos sent, their files (original and display copy) on disk; no
record, history entry or audit entry the clients did not get acknowledged; the contract's
month counters equal a direct count; no orphan evidence file — else the orphan sweep
(``reliefsvc services sweep``) must find and remove them, and does.

The last line gives the figures of every run.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import _http  # noqa: E402
from bench._http import Client, Server, Stats  # noqa: E402

DATA = ROOT / "bench" / ".data"
PG_PORT = 5433
PG_TEMPLATE = "bench_load_template"
LOCAL = ZoneInfo("Asia/Shanghai")
PASSWORD = "Bench@2026load-w"  # noqa: S105 — bench accounts on a throw-away instance
_KEY = re.compile(r'name="submission_key"[^>]*value="([^"]*)"|value="([^"]*)"[^>]*name="submission_key"')
_RECORD = re.compile(r"/records/(\d+)$")


# --- the instance --------------------------------------------------------------------------


def ensure_cluster() -> None:
    """The bench's own PostgreSQL cluster on 5433 (never the shared one on 5432)."""
    listing = subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True, check=True).stdout
    mine = [line.split() for line in listing.splitlines() if len(line.split()) > 3 and line.split()[1] == "bench"]
    if not mine:
        subprocess.run(["pg_createcluster", "15", "bench", "-p", str(PG_PORT), "--", "--auth=trust"],
                       check=True, capture_output=True)
        mine = [["15", "bench", str(PG_PORT), "down"]]
    if mine[0][3] != "online":
        subprocess.run(["pg_ctlcluster", "15", "bench", "start"], check=True, capture_output=True)
    for _ in range(50):
        if subprocess.run(["pg_isready", "-h", "127.0.0.1", "-p", str(PG_PORT)], capture_output=True).returncode == 0:
            return
        time.sleep(0.2)
    raise RuntimeError("the bench PostgreSQL cluster on 5433 does not answer")


def template(db: str, n_workers: int) -> tuple[str, Path]:
    """(database URL, instance folder) of the cached demo county with ``n_workers`` accounts."""
    folder = DATA / f"load-template-{db}-{n_workers}"
    url = (f"sqlite:///{folder / 'reliefsvc.sqlite'}" if db == "sqlite"
           else _http.pg_url(f"{PG_TEMPLATE}_{n_workers}", PG_PORT))
    if db == "postgresql":
        ensure_cluster()
        exists = _http.psql(f"SELECT 1 FROM pg_database WHERE datname = '{PG_TEMPLATE}_{n_workers}'", PG_PORT)
        if exists and (folder / "manifest.json").exists():
            return url, folder
        _http.psql(f"DROP DATABASE IF EXISTS {PG_TEMPLATE}_{n_workers}", PG_PORT)
        _http.psql(f"CREATE DATABASE {PG_TEMPLATE}_{n_workers}", PG_PORT)
    elif (folder / "manifest.json").exists():
        return url, folder
    shutil.rmtree(folder, ignore_errors=True)
    _http.prepare_instance(folder)
    t = time.perf_counter()
    _http.cli(url, folder, "init")
    _http.cli(url, folder, "demo", "load", "--small")
    subprocess.run([sys.executable, "-m", "bench.load", "--make-accounts", str(n_workers)],
                   env=_http.server_env(url, folder), check=True, cwd=ROOT)
    print(f"built the demo county with {n_workers} worker accounts ({db}) in {time.perf_counter() - t:.0f} s")
    return url, folder


def make_accounts(n: int) -> None:
    """In the app: ``n`` provider-worker accounts on the demo provider's roster, and a manifest."""
    import sqlalchemy as sa

    from reliefsvc import create_app
    from reliefsvc.cases.models import Case, CaseStatus
    from reliefsvc.contracts.models import Contract, ContractStatus, ServiceType
    from reliefsvc.demo.accounts import PROVIDER
    from reliefsvc.extensions import db
    from reliefsvc.providers.models import Provider, Staff, StaffRole
    from reliefsvc.security import service as accounts
    from reliefsvc.security.models import Organisation, User

    app = create_app()
    with app.app_context():
        org = db.session.scalar(sa.select(Organisation).where(Organisation.name == PROVIDER))
        provider = db.session.scalar(sa.select(Provider).where(Provider.organisation_id == org.id))
        contract = db.session.scalar(sa.select(Contract).where(Contract.provider_id == provider.id,
                                                               Contract.status == ContractStatus.ACTIVE))
        workers = []
        for i in range(1, n + 1):
            user = accounts.create_user(f"bench-w{i:02d}", PASSWORD, "provider_worker", display_name=f"压测{i}",
                                        organisation=org)
            staff = Staff(provider=provider, name=f"压测人员{i}", id_number=f"62292219900101{i:04d}",
                          role=StaffRole.SOCIAL_WORKER, user=user)
            db.session.add(staff)
            db.session.flush()
            workers.append({"username": user.username, "staff_id": staff.id, "user_id": user.id})
        probe = db.session.scalar(sa.select(User).where(User.username == workers[0]["username"]))
        cases = db.session.scalars(sa.select(Case.id).where(Case.visible_filter(probe),
                                                            Case.status == CaseStatus.ACTIVE)
                                   .order_by(Case.id)).all()
        types = [t.code for t in db.session.scalars(sa.select(ServiceType).where(ServiceType.purchasable))
                 if t.code != "office_duty"]
        db.session.commit()
        other_contracts = db.session.scalars(sa.select(Contract.id).order_by(Contract.id)).all()
        some_cases = db.session.scalars(sa.select(Case.id).order_by(Case.id).limit(40)).all()
        manifest = {"contract_id": contract.id, "workers": workers, "cases": cases, "service_types": types,
                    "officer": "officer", "officer_password": _demo_password(),
                    "browse_contracts": other_contracts, "browse_cases": some_cases}
        Path(app.instance_path, "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def _demo_password() -> str:
    from reliefsvc.demo import DEMO_PASSWORD

    return DEMO_PASSWORD


def fresh_copy(db: str, url: str, folder: Path, name: str) -> tuple[str, Path]:
    """A throw-away copy of the template for one run."""
    instance = Path(tempfile.mkdtemp(prefix=f"bench-load-{name}-"))
    shutil.rmtree(instance)
    _http.copy_instance(folder, instance)
    if db == "sqlite":
        return f"sqlite:///{instance / 'reliefsvc.sqlite'}", instance
    database = f"bench_load_{name}"
    _http.psql(f"DROP DATABASE IF EXISTS {database}", PG_PORT)
    _http.psql(f"CREATE DATABASE {database} TEMPLATE {url.rsplit('/', 1)[1]}", PG_PORT)
    return _http.pg_url(database, PG_PORT), instance


# --- the clients -----------------------------------------------------------------------------


def ref_of(key: str, started: datetime) -> str:
    """The reference the phone form derives from its key (evidence/views.py)."""
    digest = hashlib.sha256(key.encode()).digest()
    return f"APP-{started:%Y%m%d}-{base64.b32encode(digest).decode()[:6]}"


def jpeg(rnd: random.Random) -> bytes:
    """A 800×600 JPEG no other submission has (random blocks and a random stripe)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (800, 600), tuple(rnd.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x, y = rnd.randrange(700), rnd.randrange(500)
        draw.rectangle((x, y, x + rnd.randrange(20, 200), y + rnd.randrange(20, 200)),
                       fill=tuple(rnd.randrange(256) for _ in range(3)))
    draw.text((10, 10), f"{rnd.getrandbits(64):016x}", fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


class Load:
    def __init__(self, base: str, manifest: dict, args, stats: Stats):
        self.base, self.manifest, self.args, self.stats = base, manifest, args, stats
        self.acked: list[dict] = []
        self.unresolved: list[dict] = []
        self.rejected: list[dict] = []
        self.lock = threading.Lock()
        self.submitted_ids: list[int] = []

    def worker(self, index: int):
        account = self.manifest["workers"][index]

        def run(stop_at: float) -> None:
            rnd = random.Random(f"{self.args.seed}-{index}")
            client = Client(self.base, self.stats, timeout=self.args.timeout)
            client.login(account["username"], PASSWORD)
            while time.monotonic() < stop_at:
                self.submit_one(client, account, rnd, stop_at)
        return run

    def submit_one(self, client: Client, account: dict, rnd: random.Random, stop_at: float) -> None:
        page = client.request("form", "GET", "/records/new")
        if page is None or page.status_code != 200:
            time.sleep(0.5)
            return
        match = _KEY.search(page.text)
        key = (match.group(1) or match.group(2)) if match else ""
        token = client.csrf_of(page.text)
        now = datetime.now(LOCAL).replace(second=0, microsecond=0, tzinfo=None)
        started = now - timedelta(days=rnd.randrange(0, 20), minutes=rnd.randrange(60, 600))
        ended = started + timedelta(minutes=rnd.randrange(20, 90))
        photos = [jpeg(rnd) for _ in range(rnd.choice((1, 2)))]
        case = rnd.choice(self.manifest["cases"]) if self.manifest["cases"] else 0
        data = {"csrf_token": token, "submission_key": key, "contract_id": self.manifest["contract_id"],
                "case_id": case, "service_type": rnd.choice(self.manifest["service_types"]),
                "worker_id": account["staff_id"], "started_at": started.strftime("%Y-%m-%dT%H:%M"),
                "ended_at": ended.strftime("%Y-%m-%dT%H:%M"), "notes": f"bench {key}",
                "lat": f"{35.3 + rnd.random() / 10:.6f}", "lon": f"{103.7 + rnd.random() / 10:.6f}"}
        sent = {"key": key, "ref": ref_of(key, started), "user_id": account["user_id"],
                "photos": sorted(hashlib.sha256(p).hexdigest() for p in photos), "attempts": 0}
        give_up = stop_at + self.args.retry_for
        while True:
            sent["attempts"] += 1
            files = [("photos", (f"IMG_{i}.jpg", p, "image/jpeg")) for i, p in enumerate(photos)]
            answer = client.request("submit", "POST", "/records/new", data=data, files=files)
            if answer is not None and answer.status_code == 302:
                found = _RECORD.search(answer.headers.get("Location", ""))
                if found:
                    sent["record_id"] = int(found.group(1))
                    with self.lock:
                        self.acked.append(sent)
                        self.submitted_ids.append(sent["record_id"])
                    return
            if answer is not None and answer.status_code < 500 and answer.status_code != 302:
                # The form came back with an error (or CSRF refused): not saved, say why.
                sent["answer"] = answer.status_code
                sent["why"] = re.findall(r'class="invalid-feedback[^"]*"[^>]*>([^<]+)<', answer.text)[:3] or \
                    re.findall(r'alert-danger[^>]*>\s*([^<]+)<', answer.text)[:3]
                with self.lock:
                    self.rejected.append(sent)
                return
            if time.monotonic() > give_up:
                with self.lock:
                    self.unresolved.append(sent)
                return
            time.sleep(min(5.0, 0.3 * sent["attempts"]))  # as the phone does: wait, send again

    def officer(self, stop_at: float) -> None:
        rnd = random.Random(f"{self.args.seed}-officer")
        client = Client(self.base, self.stats, timeout=self.args.timeout)
        client.login(self.manifest["officer"], self.manifest["officer_password"])
        pages = [("officer:home", lambda: "/"), ("officer:records", lambda: "/records/?status=submitted"),
                 ("officer:records", lambda: f"/records/?page={rnd.randrange(1, 4)}"),
                 ("officer:record", self._a_record),
                 ("officer:contract", lambda: f"/contracts/{rnd.choice(self.manifest['browse_contracts'])}"),
                 ("officer:case", lambda: f"/cases/{rnd.choice(self.manifest['browse_cases'])}")]
        while time.monotonic() < stop_at:
            kind, path = rnd.choice(pages)
            target = path()
            if target is None:
                continue
            answer = client.request(kind, "GET", target)
            if answer is None:
                time.sleep(0.5)
            time.sleep(rnd.uniform(0.2, 1.0))  # a person reads

    def _a_record(self) -> str | None:
        with self.lock:
            return f"/records/{random.choice(self.submitted_ids)}" if self.submitted_ids else None


# --- one run ---------------------------------------------------------------------------------


def run_once(db: str, name: str, url: str, folder: Path, args) -> dict:
    url, instance = fresh_copy(db, url, folder, name)
    manifest = json.loads((instance / "manifest.json").read_text(encoding="utf-8"))
    server = Server(url, instance, workers=args.server_workers, threads=args.threads, timeout=args.timeout)
    server.start()
    stats = Stats()
    load = Load(server.base, manifest, args, stats)
    stop_at = time.monotonic() + args.seconds
    fault_note = threading.Event()
    faults: list[str] = []

    def fault(_stop_at: float) -> None:
        time.sleep(args.seconds / 2)
        if name == "kill":
            pid = server.kill_one_worker()
            faults.append(f"SIGKILL to gunicorn worker {pid} at {args.seconds / 2:.0f} s")
        elif name == "restart":
            t = time.perf_counter()
            if db == "postgresql":
                subprocess.run(["pg_ctlcluster", "15", "bench", "restart", "-m", "fast"], check=True,
                               capture_output=True)
                faults.append(f"PostgreSQL cluster 15/bench restarted (fast) at {args.seconds / 2:.0f} s, "
                              f"down {time.perf_counter() - t:.1f} s")
            else:
                os.killpg(server.process.pid, signal.SIGKILL)  # master and every worker
                server.process.wait()
                server.start()
                faults.append(f"SIGKILL to the whole server (every process holding the SQLite file) at "
                              f"{args.seconds / 2:.0f} s; new server up after {time.perf_counter() - t:.1f} s")
        fault_note.set()

    targets = [load.worker(i) for i in range(args.workers)] + [load.officer]
    if name != "steady":
        targets.append(fault)
    t = time.perf_counter()
    _http.run_threads(targets, stop_at)
    stats.stop()
    wall = time.perf_counter() - t
    server.stop()
    check = reconcile(url, instance, load)
    result = {"run": name, "db": db, "seconds": round(stats.seconds, 1), "wall": round(wall, 1),
              "requests": stats.total(), "rps": round(stats.total() / stats.seconds, 1),
              "acked": len(load.acked), "rejected": len(load.rejected), "unresolved": len(load.unresolved),
              "4xx": stats.total(4), "5xx": stats.total(5), "conn_errors": stats.transport_errors(),
              "retried": sum(1 for s in load.acked if s["attempts"] > 1), "faults": faults, **check}
    print(f"\n== {db} / {name}: {args.workers} workers + 1 officer, {stats.seconds:.0f} s "
          f"({args.server_workers} gunicorn workers × {args.threads} threads)")
    for line in faults:
        print(f"   fault: {line}")
    print(stats.table())
    print(f"   submissions acknowledged {len(load.acked)} ({result['retried']} after a retry), "
          f"refused by the form {len(load.rejected)}, never acknowledged {len(load.unresolved)}")
    for r in load.rejected[:3]:
        print(f"   refused: {r['answer']} {r.get('why')}")
    print(f"   reconcile: {json.dumps(check, ensure_ascii=False)}")
    if db == "postgresql":
        _http.psql(f"DROP DATABASE IF EXISTS bench_load_{name}", PG_PORT, check=False)
    if not args.keep:
        shutil.rmtree(instance, ignore_errors=True)
    return result


def reconcile(url: str, instance: Path, load: Load) -> dict:
    sent = {"acked": load.acked, "other": load.rejected + load.unresolved}
    path = instance / "sent.json"
    path.write_text(json.dumps(sent), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "bench.load", "--reconcile", str(path)],
                          env=_http.server_env(url, instance), capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"reconcile failed:\n{done.stdout}\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def reconcile_in_app(path: Path) -> None:
    """In the app (child process): compare the database and the evidence store with what was sent."""
    import sqlalchemy as sa

    from reliefsvc import create_app
    from reliefsvc.audit.models import AuditEntry
    from reliefsvc.contracts.models import MonthCounter
    from reliefsvc.evidence import get_storage
    from reliefsvc.evidence import service as records
    from reliefsvc.evidence.models import Photo, RecordHistory, RecordPhoto, ServiceRecord
    from reliefsvc.extensions import db

    sent = json.loads(path.read_text(encoding="utf-8"))
    acked = sent["acked"]
    app = create_app()
    with app.app_context():
        bench_users = {s["user_id"] for s in acked + sent["other"]}
        rows = db.session.execute(sa.select(ServiceRecord.id, ServiceRecord.record_ref, ServiceRecord.notes,
                                            ServiceRecord.contract_id)
                                  .where(ServiceRecord.notes.like("bench %"))).all()
        by_key: dict[str, list] = {}
        for row in rows:
            by_key.setdefault(row.notes.removeprefix("bench "), []).append(row)
        photos_of: dict[int, list[tuple[str, str]]] = {}
        for rid, sha, display in db.session.execute(
                sa.select(RecordPhoto.record_id, Photo.sha256, Photo.display_sha256).join(Photo)
                .where(RecordPhoto.record_id.in_([r.id for r in rows] or [0]))):
            photos_of.setdefault(rid, []).append((sha, display))
        storage = get_storage()
        missing, duplicated, wrong_photos, missing_files = [], [], [], []
        for s in acked:
            found = by_key.get(s["key"], [])
            if not found:
                missing.append(s["key"])
                continue
            if len(found) > 1:
                duplicated.append(s["key"])
            row = found[0]
            if row.id != s["record_id"] or row.record_ref != s["ref"]:
                wrong_photos.append(f"{s['key']}: id/ref {row.id}/{row.record_ref} ≠ {s['record_id']}/{s['ref']}")
            have = photos_of.get(row.id, [])
            if sorted(p[0] for p in have) != s["photos"]:
                wrong_photos.append(s["key"])
            missing_files += [sha for pair in have for sha in pair if not storage.exists(sha)]
        acked_keys = {s["key"] for s in acked}
        unacked = [k for k in by_key if k not in acked_keys]
        ids = [r.id for r in rows]
        history = dict(db.session.execute(sa.select(RecordHistory.record_id, sa.func.count())
                                          .where(RecordHistory.record_id.in_(ids or [0]))
                                          .group_by(RecordHistory.record_id)).all())
        audit = db.session.execute(sa.select(AuditEntry.object_id, sa.func.count())
                                   .where(AuditEntry.event_type == "records.submitted")
                                   .group_by(AuditEntry.object_id)).all()
        audit_by_id = {str(k): n for k, n in audit}
        half = [i for i in ids if history.get(i) != 1 or audit_by_id.get(str(i), 0) != 1]
        # The month counters must equal a direct count (a half-written request would leave them off).
        counted = dict(db.session.execute(
            sa.select(ServiceRecord.contract_id, sa.func.count()).where(ServiceRecord.status != "rejected")
            .group_by(ServiceRecord.contract_id)).all())
        counters = dict(db.session.execute(sa.select(MonthCounter.contract_id, sa.func.sum(MonthCounter.delivered))
                                           .group_by(MonthCounter.contract_id)).all())
        counter_drift = {c: (counters.get(c), n) for c, n in counted.items() if (counters.get(c) or 0) != n}
        orphans_before = records.sweep_orphan_files(grace=timedelta(0), dry_run=True)
        swept = records.sweep_orphan_files(grace=timedelta(0))
        orphans_after = records.sweep_orphan_files(grace=timedelta(0), dry_run=True)
        tmp_left = get_storage().sweep_temporaries(older_than=timedelta(0))
        out = {"in_db": len(rows), "missing": len(missing), "duplicated": len(duplicated),
               "wrong_photos": len(wrong_photos), "missing_files": len(missing_files),
               "unacknowledged_rows": len(unacked), "half_written": len(half), "counter_drift": len(counter_drift),
               "orphan_files": orphans_before.orphans, "swept": swept.removed,
               "orphans_after_sweep": orphans_after.orphans, "tmp_files_removed": tmp_left,
               "bench_users": len(bench_users)}
        if missing or duplicated or wrong_photos or unacked or half or counter_drift:
            print("details:", json.dumps({"missing": missing[:5], "duplicated": duplicated[:5],
                                          "wrong": wrong_photos[:5], "unacked": unacked[:5], "half": half[:5],
                                          "drift": {str(k): v for k, v in counter_drift.items()}},
                                         ensure_ascii=False), file=sys.stderr)
        print(json.dumps(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--workers", type=int, default=50, help="simulated provider workers")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--server-workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--runs", default="steady,kill,restart")
    parser.add_argument("--timeout", type=float, default=30, help="client timeout per request, s")
    parser.add_argument("--retry-for", type=float, default=60, help="s after the end to keep retrying")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the instance folders")
    parser.add_argument("--make-accounts", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--reconcile", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.make_accounts:
        make_accounts(args.make_accounts)
        return
    if args.reconcile:
        reconcile_in_app(Path(args.reconcile))
        return
    DATA.mkdir(parents=True, exist_ok=True)
    url, folder = template(args.db, args.workers)
    results = [run_once(args.db, name, url, folder, args) for name in args.runs.split(",")]
    bad = sum(r["missing"] + r["duplicated"] + r["wrong_photos"] + r["missing_files"] + r["unacknowledged_rows"]
              + r["half_written"] + r["counter_drift"] + r["orphans_after_sweep"] for r in results)
    print("\n" + "; ".join(
        f"{r['db']}/{r['run']}: {r['rps']} req/s, {r['acked']} acked, lost {r['missing']}, dup {r['duplicated']}, "
        f"unacked rows {r['unacknowledged_rows']}, 5xx {r['5xx']}, conn err {r['conn_errors']}, "
        f"orphans {r['orphan_files']}→{r['orphans_after_sweep']}" for r in results)
        + f"; inconsistencies {bad}")


if __name__ == "__main__":
    main()
