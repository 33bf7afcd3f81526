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
* batch: the product's batch path (``reports.batch.write_pdfs``, what ``reliefsvc reports
  evaluations --year YYYY -o FOLDER --jobs N`` runs): the HTML of ``--batch`` reports made in
  this process, then laid out on ``--jobs`` worker processes, against the same batch laid out
  in one process (``--jobs 1``) in the same run. Wall time of each, and the CPU seconds of
  the work (this process's plus its finished children's, ``getrusage``): with both cores
  free the batch takes about half the serial wall time for the same CPU seconds; on a
  shared machine the wall ratio shows how much of the second core was to be had.
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


def batch_run(evaluation_ids: list[int], jobs: int) -> tuple[float, float]:
    """The product's batch: HTML here, layout on ``jobs`` processes; (wall, CPU seconds)."""
    import tempfile

    import sqlalchemy as sa

    from reliefsvc.db import sqlite_begin_mode
    from reliefsvc.evaluations import service
    from reliefsvc.evaluations.models import Evaluation
    from reliefsvc.extensions import db
    from reliefsvc.reports.batch import write_pdfs

    def cpu() -> float:
        own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime

    sqlite_begin_mode.set("DEFERRED")
    with _app().app_context(), tempfile.TemporaryDirectory() as folder:
        loaded = {e.id: e for e in db.session.scalars(sa.select(Evaluation).where(Evaluation.id.in_(evaluation_ids)))}
        c0, t0 = cpu(), time.perf_counter()
        sizes = write_pdfs(((Path(folder) / f"{n}.pdf", service.report_html(loaded[i]))
                            for n, i in enumerate(evaluation_ids)), jobs=jobs)
        wall, used = time.perf_counter() - t0, cpu() - c0
        db.session.rollback()
    assert len(sizes) == len(evaluation_ids) and all(size > 1000 for size in sizes)
    return wall, used


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
    serial, serial_cpu = batch_run(batch_ids, 1)
    batch, batch_cpu = batch_run(batch_ids, args.jobs)
    print(f"batch: {args.batch} reports (reports.batch.write_pdfs): 1 process {serial:.1f} s wall, "
          f"{serial_cpu:.1f} s CPU; {args.jobs} processes {batch:.1f} s wall, {batch_cpu:.1f} s CPU; "
          f"wall ratio {batch / serial:.2f} (ideal {1 / args.jobs:.2f}); load average "
          f"{os.getloadavg()[0]:.1f}")
    print(f"evaluation pdf: {single:.2f} s/report, {one['peak_mb']:.0f} MB peak, baseline {one['baseline']:.3f} s, "
          f"ratio {single / one['baseline']:.1f}; batch {args.batch} on {args.jobs} processes {batch:.1f} s "
          f"= {batch / serial:.2f} x on 1 (target ≤ {TARGET_S:g} s, ≤ {TARGET_MB} MB, both cores used)")


if __name__ == "__main__":
    main()
