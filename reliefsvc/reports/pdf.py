"""Chinese PDF reports: a Jinja template of the app, rendered by WeasyPrint.

The rules every PDF of the platform follows (see docs/pdf.md for the measurements):

- **Fonts.** ``static/pdf/report.css`` asks for WenQuanYi Micro Hei first. It has
  TrueType outlines, and WeasyPrint subsets and embeds those about seven times faster
  than the CFF outlines of Noto Sans CJK. Noto, Source Han and the system's CJK
  ``sans-serif`` are only fallbacks. The product installs ``fonts-wqy-microhei``
  (scripts/system-packages.sh), and no font is ever fetched over the network.
- **Language.** The documents are Chinese official papers (``<html lang="zh-CN">``)
  whatever the user's UI language, so CJK line breaking and glyph forms are right.
- **Resources.** WeasyPrint loads stylesheets, images and fonts only through
  :class:`StaticFileFetcher`. It serves files under the app's static folder and refuses
  everything else: ``file:``, ``http(s):`` to any real host, ``data:`` and other schemes.
  WeasyPrint needs no ``data:`` URL of its own (its user-agent stylesheets reference
  none), and charts are inline SVG, so nothing legitimate is lost.
- **Escaping.** Templates must be ``.html`` so Jinja autoescapes them. User text reaches
  the page as text and never as markup, so it cannot add an ``<img>`` or ``<link>`` that
  would make WeasyPrint fetch something. The fetcher is the second line of defence.
"""

from __future__ import annotations

import logging
import mimetypes
import os
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

from flask import Flask, current_app, has_request_context, render_template
from weasyprint import CSS, HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

from reliefsvc.common import formatting
from reliefsvc.reports import atomic_output

log = logging.getLogger(__name__)

#: The base URL of every PDF. ``.invalid`` is reserved (RFC 2606) and never resolves,
#: and the fetcher never opens a connection. It is just a hierarchical origin, so that
#: ``/static/pdf/report.css`` in a template resolves to a URL the fetcher maps to a file.
#: A custom scheme such as ``static:`` cannot play this part, because ``urljoin`` (which
#: WeasyPrint uses) resolves relative references only against schemes it knows.
#: The origin is also what relative ``<a href>`` links become in the PDF, so templates
#: write links to the platform with ``url_for(..., _external=True)``.
PDF_BASE_URL = "https://reliefsvc.invalid/"


class ResourceRefused(ValueError):
    """A URL the PDF renderer must not load (outside the static folder, or not ours).

    WeasyPrint catches it, logs a warning and renders on without the resource.
    """


class StaticFileFetcher(URLFetcher):
    """A WeasyPrint URL fetcher that serves the platform's own static files and nothing else.

    ``https://reliefsvc.invalid/static/<path>`` (a bare ``/static/<path>`` is read against
    that origin) is the file ``<static_folder>/<path>``, once the path is
    percent-decoded and resolved (symbolic links included) and found to stay inside the
    static folder. Any other URL raises :class:`ResourceRefused`. ``fetch`` is overridden
    as a whole, so the network handlers of WeasyPrint's default fetcher are never used.
    """

    def __init__(self, static_folder: str | os.PathLike[str], static_url_path: str = "/static",
                 *, base_url: str = PDF_BASE_URL):
        super().__init__(allow_redirects=False)
        self.root = Path(static_folder).resolve(strict=True)
        self.prefix = static_url_path.rstrip("/") + "/"
        self.base_url = base_url
        base = urlsplit(base_url)
        self._origin = (base.scheme.lower(), base.netloc.lower())

    @classmethod
    def for_app(cls, app: Flask) -> StaticFileFetcher:
        if not app.static_folder or app.static_url_path is None:
            raise RuntimeError("the application has no static folder to serve PDF resources from")
        return cls(app.static_folder, app.static_url_path)

    def resolve(self, url: str) -> Path:
        """The file under the static folder that ``url`` names; :class:`ResourceRefused` otherwise."""
        try:
            parts = urlsplit(url)
            if not parts.scheme:
                parts = urlsplit(urljoin(self.base_url, url))
        except ValueError as exc:  # malformed, e.g. an unclosed "[" in the host
            raise ResourceRefused(f"refused (malformed URL): {url!r}") from exc
        if (parts.scheme.lower(), parts.netloc.lower()) != self._origin:
            raise ResourceRefused(f"refused (not a static file of the platform): {url!r}")
        # Decode before checking: %2e%2e is ".." once the path meets the file system.
        path = unquote(parts.path)
        if not path.startswith(self.prefix) or "\x00" in path or "\\" in path:
            raise ResourceRefused(f"refused (outside {self.prefix}): {url!r}")
        candidate = (self.root / path[len(self.prefix):]).resolve()
        if not candidate.is_relative_to(self.root) or not candidate.is_file():
            raise ResourceRefused(f"refused (not a file inside the static folder): {url!r}")
        return candidate

    def fetch(self, url: str, headers: dict | None = None) -> URLFetcherResponse:
        try:
            path = self.resolve(url)
        except ResourceRefused:
            log.warning("PDF resource refused: %.200s", url)
            raise
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if content_type.startswith("text/") or content_type == "image/svg+xml":
            content_type += "; charset=utf-8"
        # The response keeps the pseudo URL (never the file path) so that a relative
        # reference inside a stylesheet comes back through this fetcher as well.
        return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": content_type})


def render_html(template_name: str, /, **context) -> str:
    """The HTML of a PDF template, with the helpers PDF templates may use.

    Needs an application context. Without a request (a CLI command, a job) a bare test
    request context is pushed: the app's context processors read ``current_user``
    and the session, and there is no user, so the report is rendered as anonymous.
    """
    if not template_name.endswith(".html"):
        # Flask autoescapes .html templates only; a PDF template must never lose that.
        raise ValueError(f"PDF templates must be .html (autoescaped): {template_name!r}")
    context.setdefault("generated_at", formatting.now_local())
    # PDFs are Chinese papers whatever the reader's UI language, so they format money
    # and dates the Chinese way instead of through the locale-dependent filters.
    context.setdefault("yuan", lambda value: formatting.money_text(value, "zh_CN"))
    context.setdefault("zh_date", lambda value: formatting.date_text(value, "zh_CN"))
    context.setdefault(
        "zh_datetime", lambda value: formatting.datetime_text(value, "zh_CN"))
    if has_request_context():
        return render_template(template_name, **context)
    with current_app.test_request_context():
        return render_template(template_name, **context)


def html_to_pdf(html: str, *, stylesheets: Sequence[str] = ()) -> bytes:
    """Render trusted HTML (from :func:`render_html`) to PDF bytes.

    ``stylesheets`` are extra CSS texts written by developers (the font benchmark uses
    one); they resolve URLs through the same fetcher as the document. WeasyPrint treats
    them as *user* stylesheets, so they override the template's own rules only with
    ``!important``.
    """
    fetcher = StaticFileFetcher.for_app(current_app)
    extra = [CSS(string=css, base_url=PDF_BASE_URL, url_fetcher=fetcher) for css in stylesheets]
    document = HTML(string=html, base_url=PDF_BASE_URL, url_fetcher=fetcher)
    return document.write_pdf(stylesheets=extra or None)


def render_pdf(template_name: str, /, **context) -> bytes:
    """Render the Jinja template ``template_name`` (under ``templates/``) to PDF bytes.

    Templates extend ``reports/_pdf_base.html`` and pass ``title`` (the running header
    and the PDF's title) and optionally ``issuer`` (default: the bureau) and
    ``draft=True`` (a 草稿 mark on every page). Needs an application context.
    """
    return html_to_pdf(render_html(template_name, **context))


def write_pdf(target: str | os.PathLike[str], template_name: str, /, **context) -> Path:
    """Render like :func:`render_pdf` and write the PDF to ``target`` atomically.

    The file appears complete or not at all (see :func:`reliefsvc.reports.atomic_output`).
    """
    data = render_pdf(template_name, **context)
    with atomic_output(target) as fh:
        fh.write(data)
    return Path(target)
