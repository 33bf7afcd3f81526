"""PDF reports: Chinese text survives, pages are numbered, nothing outside static/ is loaded."""

from __future__ import annotations

import io
import os
from decimal import Decimal
from pathlib import Path

import pytest
from jinja2 import TemplateNotFound
from pypdf import PdfReader
from pypdf.generic import StreamObject

from reliefsvc.reports import pdf
from reliefsvc.reports.pdf import PDF_BASE_URL, ResourceRefused, StaticFileFetcher

STYLESHEET_URL = PDF_BASE_URL + "static/pdf/report.css"


def pdf_reader(data: bytes) -> PdfReader:
    assert data.startswith(b"%PDF-")
    return PdfReader(io.BytesIO(data))


def page_texts(data: bytes) -> list[str]:
    return [page.extract_text() for page in pdf_reader(data).pages]


def all_pdf_bytes(data: bytes) -> bytes:
    """The file as written, plus every stream decompressed and every other object as text.

    PDF streams are compressed, so a path inside one would escape a search of the raw
    bytes alone.
    """
    reader = pdf_reader(data)
    chunks = [data]
    for number in range(1, int(reader.trailer["/Size"])):
        obj = reader.get_object(number)
        if obj is not None:
            chunks.append(obj.get_data() if isinstance(obj, StreamObject) else repr(obj).encode())
    return b"\n".join(chunks)


@pytest.fixture
def fetched(monkeypatch):
    """Every URL WeasyPrint asks the fetcher for, in order (served or refused)."""
    urls: list[str] = []
    original = StaticFileFetcher.fetch

    def recording(self, url, headers=None):
        urls.append(url)
        return original(self, url, headers)

    monkeypatch.setattr(StaticFileFetcher, "fetch", recording)
    return urls


def test_sample_report_carries_the_chinese_table_and_the_chart(app, sample_context, fetched):
    with app.app_context():
        data = pdf.render_pdf("reports/sample.html", **sample_context())

    (text,) = page_texts(data)
    for expected in ("康乐县民政局", "康乐县政府购买服务年度评估报告", "承接主体", "合同编号",
                     "居家养老上门服务", "KL-2026-001", "1,234.56 元", "合计"):
        assert expected in text
    # The chart is drawn as SVG text, not an image: its labels are real text in the PDF.
    for label in ("各乡镇服务金额", "景古镇", "八松乡", "莲麓镇"):
        assert label in text
    assert "第 1 页 / 共 1 页" in text
    # The stylesheet came through the fetcher, and nothing else was asked for.
    assert fetched == [STYLESHEET_URL]


def test_pdf_is_a4_in_chinese_with_wenquanyi_embedded(app, sample_context):
    with app.app_context():
        reader = pdf_reader(pdf.render_pdf("reports/sample.html", **sample_context()))

    page = reader.pages[0]
    # A4 is 210 × 297 mm, i.e. 595.28 × 841.89 PostScript points.
    assert round(float(page.mediabox.width), 1) == 595.3
    assert round(float(page.mediabox.height), 1) == 841.9
    assert reader.trailer["/Root"]["/Lang"] == "zh-CN"
    assert reader.metadata.title == "康乐县政府购买服务年度评估报告"
    assert reader.metadata.author == "康乐县民政局"
    fonts = {str(font.get_object()["/BaseFont"]) for font in page["/Resources"]["/Font"].values()}
    assert fonts and all("WenQuanYi-Micro-Hei" in name for name in fonts), fonts


def test_every_page_has_the_running_title_and_page_m_of_n(app, sample_context):
    rows = [{"provider": f"承接主体{i:03d}", "contract_no": f"KL-2026-{i:03d}",
             "service": "助餐、助洁、助浴服务", "amount": Decimal("1000.00") + i} for i in range(120)]
    with app.app_context():
        data = pdf.render_pdf("reports/sample.html",
                              **sample_context(rows=rows, total=sum(r["amount"] for r in rows)))

    texts = page_texts(data)
    assert len(texts) >= 3
    for number, text in enumerate(texts, 1):
        assert f"第 {number} 页 / 共 {len(texts)} 页" in text
        assert "康乐县政府购买服务年度评估报告" in text
        # thead repeats, so the column headings are on every page of the long table
        assert "承接主体" in text and "金额" in text
    assert "承接主体119" in texts[-1]
    # the grand total is printed once, after the last row, not at the foot of every page
    assert [n for n, text in enumerate(texts, 1) if "合计" in text] == [len(texts)]
    assert "127,140.00 元" in texts[-1]


def test_pdf_holds_no_local_path_or_file_url(app, sample_context):
    with app.app_context():
        data = pdf.render_pdf("reports/sample.html", **sample_context(draft=True))

    everything = all_pdf_bytes(data)
    forbidden = [b"file:", b"/work/", b"/usr/", b"/tmp/", b"/home/", b"/etc/",
                 os.fsencode(app.root_path), os.fsencode(app.static_folder),
                 os.fsencode(app.instance_path)]
    for needle in forbidden:
        assert needle not in everything, needle
    assert "草稿" in page_texts(data)[0]


@pytest.mark.parametrize("url", [
    "file:///etc/passwd",
    "FILE:///etc/passwd",
    "http://example.com/x.png",
    "https://example.com/static/pdf/report.css",
    "https://reliefsvc.invalid.example.com/static/pdf/report.css",
    "https://user@reliefsvc.invalid/static/pdf/report.css",
    "http://reliefsvc.invalid/static/pdf/report.css",
    "ftp://example.com/x.png",
    "data:text/css,body{color:red}",
    "data:image/png;base64,iVBORw0KGgo=",
    "static:pdf/report.css",
    "/static/../../etc/passwd",
    PDF_BASE_URL + "static/../../etc/passwd",
    PDF_BASE_URL + "static/%2e%2e/%2e%2e/etc/passwd",
    PDF_BASE_URL + "static/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
    # deep enough to reach / from wherever the checkout lies
    PDF_BASE_URL + "static/" + "%2e%2e/" * 30 + "etc/passwd",
    PDF_BASE_URL + "static/" + "../" * 30 + "etc/passwd",
    PDF_BASE_URL + "static//etc/passwd",
    PDF_BASE_URL + "static/..%5c..%5cetc%5cpasswd",
    PDF_BASE_URL + "static/pdf/report.css%00.png",
    PDF_BASE_URL + "static/pdf/",
    PDF_BASE_URL + "static/pdf/no-such-file.css",
    PDF_BASE_URL + "instance/config.py",
    PDF_BASE_URL + "etc/passwd",
    "https://[reliefsvc.invalid/static/x",
])
def test_fetcher_refuses_everything_but_static_files(app, url):
    fetcher = StaticFileFetcher.for_app(app)
    with pytest.raises(ResourceRefused):
        fetcher.fetch(url)


@pytest.mark.parametrize("url", [STYLESHEET_URL, "/static/pdf/report.css",
                                 PDF_BASE_URL + "static/pdf/report.css?v=2"])
def test_fetcher_serves_the_platforms_static_files(app, url):
    response = StaticFileFetcher.for_app(app).fetch(url)
    try:
        body = response.read()
    finally:
        response.close()
    assert body == (Path(app.static_folder) / "pdf" / "report.css").read_bytes()
    assert response.content_type == "text/css"
    # The response names the pseudo URL, never the file: relative URLs inside a
    # stylesheet resolve against it and come back through the fetcher.
    assert response.url == url
    assert "/work/" not in response.url


def test_fetcher_does_not_follow_symlinks_out_of_the_static_folder(tmp_path):
    static = tmp_path / "static"
    static.mkdir()
    (tmp_path / "secret.txt").write_text("ID numbers", encoding="utf-8")
    (static / "inside.css").write_text("p { color: red }", encoding="utf-8")
    (static / "leak.txt").symlink_to(tmp_path / "secret.txt")
    (static / "alias.css").symlink_to(static / "inside.css")
    fetcher = StaticFileFetcher(static)

    with pytest.raises(ResourceRefused):
        fetcher.fetch(PDF_BASE_URL + "static/leak.txt")
    response = fetcher.fetch(PDF_BASE_URL + "static/alias.css")
    assert response.read() == b"p { color: red }"
    response.close()


def test_user_text_is_printed_as_text_and_fetches_nothing(app, sample_context, fetched):
    hostile = '<script>alert("x")</script><img src=file:///etc/passwd>'
    context = sample_context(
        title="<b>康乐县</b>报告",
        note=hostile,
        rows=[{"provider": '<link rel="attachment" href="file:///etc/passwd">承接主体甲',
               "contract_no": "</td></tr></table><img src=http://example.com/x.png>",
               "service": "服务", "amount": Decimal("1.00")}],
    )
    with app.app_context():
        html = pdf.render_html("reports/sample.html", **context)
        data = pdf.render_pdf("reports/sample.html", **context)

    assert "<img src=file" not in html and "<script>" not in html
    assert "&lt;img src=file:///etc/passwd&gt;" in html
    text = page_texts(data)[0]
    assert "<img src=file:///etc/passwd>" in text
    assert "<script>" in text
    assert "<b>康乐县</b>报告" in text  # in the heading and in the running header
    assert fetched == [STYLESHEET_URL]
    reader = pdf_reader(data)
    assert not list(reader.pages[0].images)
    assert "/Names" not in reader.trailer["/Root"]  # no embedded files


def test_markup_that_slips_through_still_cannot_load_anything(app, fetched):
    """The fetcher is the second line of defence when trusted HTML itself names a file."""
    html = """<!doctype html><html lang="zh-CN"><head>
      <link rel="stylesheet" href="file:///etc/passwd">
      <link rel="attachment" href="/static/../instance/config.py"></head>
      <body><p>康乐县</p><img src="file:///etc/passwd"><img src="http://example.com/x.png">
      <img src="data:image/png;base64,iVBORw0KGgo="></body></html>"""
    with app.app_context():
        data = pdf.html_to_pdf(html)

    assert "康乐县" in page_texts(data)[0]
    assert set(fetched) == {"file:///etc/passwd", PDF_BASE_URL + "instance/config.py",
                            "http://example.com/x.png", "data:image/png;base64,iVBORw0KGgo="}
    reader = pdf_reader(data)
    assert not list(reader.pages[0].images)
    assert "/Names" not in reader.trailer["/Root"]


def test_only_autoescaped_templates_are_accepted(app):
    with app.app_context(), pytest.raises(ValueError, match="autoescaped"):
        pdf.render_pdf("reports/sample.txt", title="x")


def test_write_pdf_replaces_the_target_whole_or_not_at_all(app, sample_context, tmp_path):
    target = tmp_path / "评估报告.pdf"
    target.write_bytes(b"old report")
    with app.app_context():
        with pytest.raises(TemplateNotFound):
            pdf.write_pdf(target, "reports/no-such-template.html", title="x")
        assert target.read_bytes() == b"old report"

        assert pdf.write_pdf(target, "reports/sample.html", **sample_context()) == target

    assert "康乐县民政局" in page_texts(target.read_bytes())[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["评估报告.pdf"]


def test_render_works_inside_a_request_too(app, sample_context):
    with app.test_request_context("/"):
        text = page_texts(pdf.render_pdf("reports/sample.html", **sample_context()))[0]
    assert "康乐县民政局" in text
