"""Reports and exports: the shared output helpers every domain prints through.

- ``reports.pdf``    — Jinja template → PDF with WeasyPrint (Chinese fonts, page numbers,
                       a URL fetcher that only serves the platform's own static files)
- ``reports.excel``  — streaming Excel ledgers (台账) with real date and money cells
- ``reports.charts`` — small SVG charts for PDFs and pages alike

This module stays light on purpose: importing ``reports.excel`` must not pull in
WeasyPrint, so the one helper both writers share lives here.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO


@contextlib.contextmanager
def atomic_output(target: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """Write ``target`` so that readers see either the old file or the complete new one.

    A report written by a CLI command or a job may be picked up by someone else while it
    is being written (a shared folder, a download link). So the bytes go to a temporary
    file in the same folder (same file system, hence ``os.replace`` is atomic), which is
    flushed to disk and then renamed over the target. On any error the temporary file is
    removed and an existing target is left untouched.

    New files are readable by their owner only (0600): reports and ledgers may hold
    personal data. An existing target keeps its permissions.
    """
    path = Path(target)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        with contextlib.suppress(FileNotFoundError):
            os.chmod(tmp, path.stat().st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
