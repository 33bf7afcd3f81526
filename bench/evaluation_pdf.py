"""The annual evaluation report (PDF): one report, and a batch of 100 on both cores.

    .venv/bin/python -m bench.evaluation_pdf [--runs 5] [--batch 100] [--jobs 2] [--rebuild]

The data is the demo county (``reliefsvc demo load --small``, built once into
``bench/.data/evaluation-demo/``); the report is ``evaluations.service.render_report`` of
its signed evaluations, the same call ``reliefsvc reports evaluation`` makes.

* one report: in a child process of its own (so that its memory is its own): the first
  render (fonts loaded, templates compiled), then ``--runs`` more; the median, and the
  child's peak RSS. Targets: at most 2 s and 300 MB.
* baseline: in the same child, WeasyPrint renders a trivial one-page Chinese HTML page
  with the same font (WenQuanYi Micro Hei) through the product's own path
  (``reports.pdf.render_pdf``, same stylesheet, fetcher and base URL), median of ``--runs``.
* batch: ``--batch`` reports on a pool of ``--jobs`` processes (each starts the app once),
  wall time against ``--batch`` x the single report's median. The batch lives here, not in
  the product: ``reports evaluation`` prints one report by its contract and year (spec,
  interchange.md), so a ``--jobs`` option has nothing to share out.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from pypdf import PdfReader

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = ROOT / "bench" / ".data"
INSTANCE = DATA / "evaluation-demo"
TARGET_S, TARGET_MB = 2.0, 300

TRIVIAL = """{% extends "reports/_pdf_base.html" %}{% block content %}<h1>{{ title }}</h1>
<p>康乐县民政局购买社会救助服务项目年度评估。本页只有一段文字，用于测量最小的报告。</p>{% endblock %}"""


def build(rebuild: bool) -> None:
    if INSTANCE.exists() and not rebuild:
        return
    partial = INSTANCE.with_name(INSTANCE.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    env = {**os.environ, "RELIEFSVC_INSTANCE_PATH": str(partial)}
    env.pop("DATABASE_URL", None)
    t0 = time.perf_counter()
    command = str(ROOT / ".venv" / "bin" / "reliefsvc")
    for step in (["db", "upgrade"], ["demo", "load", "--small"]):
        subprocess.run([command, *step], env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    shutil.rmtree(INSTANCE, ignore_errors=True)
    os.replace(partial, INSTANCE)
    print(f"built the demo county in {time.perf_counter() - t0:.0f} s")


_APP = None


def _app():
    global _APP
    if _APP is None:
        os.environ["RELIEFSVC_INSTANCE_PATH"] = str(INSTANCE)
        os.environ.pop("DATABASE_URL", None)
        from reliefsvc import create_app

        _APP = create_app()
    return _APP


def _evaluation_ids() -> list[int]:
    import sqlalchemy as sa

    from reliefsvc.db import sqlite_begin_mode
    from reliefsvc.evaluations.models import Evaluation, EvaluationStatus
    from reliefsvc.extensions import db

    sqlite_begin_mode.set("DEFERRED")
    with _app().app_context():
        ids = db.session.scalars(sa.select(Evaluation.id).where(Evaluation.status == EvaluationStatus.SIGNED)
                                 .order_by(Evaluation.id)).all()
        return ids or db.session.scalars(sa.select(Evaluation.id).order_by(Evaluation.id)).all()


def render(evaluation_id: int) -> int:
    from reliefsvc.db import sqlite_begin_mode
    from reliefsvc.evaluations import service
    from reliefsvc.evaluations.models import Evaluation
    from reliefsvc.extensions import db

    # A report only reads: a deferred transaction, as a GET request has, so that the pool's
    # processes do not queue for SQLite's write lock while they render.
    sqlite_begin_mode.set("DEFERRED")
    with _app().app_context():
        data = service.render_report(db.session.get(Evaluation, evaluation_id))
        db.session.rollback()
    return len(data)


def trivial() -> int:
    from jinja2 import ChoiceLoader, DictLoader

    from reliefsvc.reports.pdf import render_pdf

    app = _app()
    if not isinstance(app.jinja_env.loader, ChoiceLoader):
        app.jinja_env.loader = ChoiceLoader([DictLoader({"bench/trivial.html": TRIVIAL}), app.jinja_env.loader])
    with app.app_context():
        return len(render_pdf("bench/trivial.html", title="基准页"))


def child(runs: int) -> None:
    """One report in a fresh process: first render, ``runs`` more, the trivial page; JSON out."""
    ids = _evaluation_ids()
    t0 = time.perf_counter()
    size = render(ids[0])
    first = time.perf_counter() - t0
    times = []
    for n in range(runs):
        t0 = time.perf_counter()
        render(ids[n % len(ids)])
        times.append(time.perf_counter() - t0)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    trivial()
    base = []
    for _ in range(runs):
        t0 = time.perf_counter()
        trivial()
        base.append(time.perf_counter() - t0)
    with _app().app_context():
        from reliefsvc.evaluations import service
        from reliefsvc.evaluations.models import Evaluation
        from reliefsvc.extensions import db

        pdf = PdfReader(io.BytesIO(service.render_report(db.session.get(Evaluation, ids[0]))))
        pages = len(pdf.pages)
    print(json.dumps({"first": first, "median": statistics.median(times), "min": min(times), "peak_mb": peak,
                      "baseline": statistics.median(base), "size": size, "pages": pages, "evaluations": len(ids)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.runs)
        return
    build(args.rebuild)
    out = subprocess.run([sys.executable, "-m", "bench.evaluation_pdf", "--child", "--runs", str(args.runs)],
                         cwd=ROOT, check=True, capture_output=True, text=True).stdout
    one = json.loads(out.strip().splitlines()[-1])
    single = one["median"]
    print(f"report: {one['pages']} pages, {one['size'] / 1024:.0f} KB; {one['evaluations']} signed evaluations "
          f"in the demo county")
    print(f"one report (child process): first {one['first']:.2f} s, then median {single:.2f} s "
          f"(min {one['min']:.2f}); peak RSS {one['peak_mb']:.0f} MB")
    print(f"baseline: trivial one-page Chinese PDF, same font and path: median {one['baseline']:.3f} s", flush=True)
    ids = _evaluation_ids()
    batch_ids = [ids[n % len(ids)] for n in range(args.batch)]
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        sizes = list(pool.map(render, batch_ids, chunksize=max(1, args.batch // (4 * args.jobs))))
    batch = time.perf_counter() - t0
    assert all(s > 1000 for s in sizes)
    print(f"batch: {args.batch} reports on {args.jobs} processes: {batch:.1f} s wall = "
          f"{batch / (args.batch * single):.2f} x {args.batch} x single ({args.batch * single:.1f} s)")
    print(f"evaluation pdf: {single:.2f} s/report, {one['peak_mb']:.0f} MB peak, baseline {one['baseline']:.3f} s, "
          f"ratio {single / one['baseline']:.1f}; batch {args.batch} in {batch:.1f} s = "
          f"{batch / (args.batch * single):.2f} x serial (target ≤ {TARGET_S:g} s, ≤ {TARGET_MB} MB)")


if __name__ == "__main__":
    main()
