"""Many PDFs at once, on every core (issue 16: "100 reports in a batch using both cores").

The HTML of each report is made in the calling process, which holds the application and its
database session (Jinja and the queries: about 1 % of a report's time). The layout and the
PDF writing — WeasyPrint, the other 99 % — run in worker processes that need neither: they get
the HTML text and the static folder, and read fonts and stylesheets through the same
:class:`~reliefsvc.reports.pdf.StaticFileFetcher` as a single report. So no database
connection crosses a process boundary, and a report printed in a batch is byte for byte the
layout of the same report printed alone.

Workers are started with ``spawn`` (no inherited sockets or locks of the web process).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from flask import current_app


def _lay_out(job: tuple[str, str, str]) -> int:
    """Worker: one HTML text to one PDF file, written whole or not at all; its size in bytes."""
    from weasyprint import HTML

    from reliefsvc.reports import atomic_output
    from reliefsvc.reports.pdf import PDF_BASE_URL, StaticFileFetcher

    static_folder, html, target = job
    data = HTML(string=html, base_url=PDF_BASE_URL, url_fetcher=StaticFileFetcher(static_folder)).write_pdf()
    with atomic_output(target) as fh:
        fh.write(data)
    return len(data)


def worker_count(items: int, jobs: int | None = None) -> int:
    """How many processes lay out ``items`` PDFs: ``jobs`` (default one per core), never more
    than there are PDFs; 1 means in the calling process."""
    return max(1, min(jobs or os.cpu_count() or 1, items or 1))


def write_pdfs(pages: Iterable[tuple[str | os.PathLike[str], str]], *, jobs: int | None = None) -> list[int]:
    """Write each ``(target, html)`` as a PDF; ``jobs`` worker processes (default: one per core,
    1: in this process). Returns the sizes in the order given. Needs an application context."""
    static_folder = current_app.static_folder
    work = [(static_folder, html, str(Path(target))) for target, html in pages]
    jobs = worker_count(len(work), jobs)
    if jobs == 1:
        return [_lay_out(job) for job in work]
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        return list(pool.map(_lay_out, work, chunksize=max(1, len(work) // (4 * jobs))))
