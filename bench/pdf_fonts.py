"""How long an eight-page Chinese report takes to render, by CJK font.

    .venv/bin/python bench/pdf_fonts.py [--runs 3]

Renders templates/reports/sample.html (paragraphs, a long table, a chart) through the
product's own path (reliefsvc.reports.pdf: the same stylesheet, fetcher and base URL),
once with WenQuanYi Micro Hei, the product's font and the baseline, and once with Noto
Sans CJK SC when that font is installed (the product does not install it).

Each font is measured with both of WeasyPrint's font subsetters: HarfBuzz-Subset, which
WeasyPrint uses when ``libharfbuzz-subset0`` (>= 4.1) is installed, and fontTools, its
pure-Python fallback when that library is missing. The subsetter, more than the font,
decides how slow CFF outlines (Noto) are. Each combination gets one warm-up render,
then ``--runs`` timed ones. Prints seconds per render, the ratio to the baseline
(WenQuanYi with HarfBuzz-Subset, the product's configuration) measured in this same run,
the output size and the fonts actually embedded, so that a silent fallback cannot pass
for a measurement.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import weasyprint.pdf.fonts as weasyprint_fonts  # noqa: E402
from pypdf import PdfReader  # noqa: E402

from reliefsvc import create_app  # noqa: E402
from reliefsvc.reports import charts, pdf  # noqa: E402

FONTS = {
    "WenQuanYi Micro Hei": "WenQuanYi-Micro-Hei",  # family → name embedded in the PDF
    "Noto Sans CJK SC": "Noto-Sans-CJK-SC",
}
BASELINE = ("WenQuanYi Micro Hei", "harfbuzz")
SUBSETTERS = ("harfbuzz", "fonttools")

PARAGRAPH = (
    "根据《康乐县政府购买社会救助服务实施办法》，县民政局委托第三方评估机构，"
    "对承接主体在合同期内提供的居家养老、助餐助洁、探访关爱等服务开展年度绩效评估。"
    "评估采取资料审核、实地抽查、电话回访与服务对象满意度调查相结合的方式，"
    "重点核查服务记录的真实性、服务时长与合同约定的一致性，以及资金使用的合规性。"
)
TOWNSHIPS = ["附城镇", "景古镇", "莲麓镇", "虎关乡", "苏集镇", "康丰乡", "胭脂镇", "八松乡",
             "鸣鹿乡", "五户乡", "八丹乡", "上湾乡", "草滩乡", "流川乡", "白王乡"]
SERVICES = ["居家养老上门服务", "助餐服务", "助洁服务", "探访关爱", "康复护理", "心理疏导"]


def installed(family: str) -> bool:
    out = subprocess.run(["fc-list", f":family={family}", "family"], capture_output=True,
                         text=True, check=False).stdout
    return bool(out.strip())


def context() -> dict:
    rows = [{"provider": f"康乐县{TOWNSHIPS[i % len(TOWNSHIPS)]}社会工作服务中心",
             "contract_no": f"KL-2026-{i:03d}", "service": SERVICES[i % len(SERVICES)],
             "amount": Decimal("12000.00") + Decimal(i * 137) / 4} for i in range(80)]
    return {
        "title": "康乐县政府购买社会救助服务年度绩效评估报告",
        "subtitle": "2026 年度（基准测试样本）",
        "sections": [{"heading": f"{n}、评估情况（{n}）", "paragraphs": [PARAGRAPH] * 6}
                     for n in "一二三四五六"],
        "rows": rows,
        "total": sum(row["amount"] for row in rows),
        "chart_caption": "图 1 各乡镇服务金额",
        "note": "本报告为基准测试样本，数据均为虚构。",
    }


def measure(family: str, html: str, runs: int) -> tuple[list[float], bytes]:
    # WeasyPrint's extra stylesheets are user stylesheets: only !important beats report.css.
    css = (f'@page {{ font-family: "{family}" !important }} '
           f'* {{ font-family: "{family}" !important }}')
    pdf.html_to_pdf(html, stylesheets=[css])  # warm-up: font loading, caches
    times, data = [], b""
    for _ in range(runs):
        start = time.perf_counter()
        data = pdf.html_to_pdf(html, stylesheets=[css])
        times.append(time.perf_counter() - start)
    return times, data


def embedded_fonts(data: bytes) -> set[str]:
    names = set()
    for page in PdfReader(io.BytesIO(data)).pages:
        for font in page["/Resources"].get("/Font", {}).values():
            names.add(str(font.get_object()["/BaseFont"]).split("+", 1)[-1])
    return names


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as instance:
        app = create_app({"INSTANCE_PATH": instance, "SQLALCHEMY_DATABASE_URI": "sqlite://",
                          "SECRET_KEY": "bench-" + "x" * 32, "SERVER_NAME": "localhost"})
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {args.runs} runs per font "
              "after one warm-up")
        results = {}
        harfbuzz_subset = weasyprint_fonts.harfbuzz_subset
        if harfbuzz_subset is None:
            print("HarfBuzz-Subset is not available here: WeasyPrint uses fontTools only")
        # fontTools mode makes WeasyPrint warn once per font and render; we know why.
        logging.getLogger("weasyprint").setLevel(logging.ERROR)
        with app.app_context():
            for family, embedded_name in FONTS.items():
                if not installed(family):
                    print(f"{family:22} not installed, skipped")
                    continue
                stack = f"'{family}', sans-serif"
                chart = charts.bar_chart(
                    [(name, 10000 + 1500 * i) for i, name in enumerate(TOWNSHIPS[:8])],
                    title="各乡镇服务金额", unit="元", font_family=stack)
                html = pdf.render_html("reports/sample.html", chart=chart, **context())
                for subsetter in SUBSETTERS:
                    if subsetter == "harfbuzz" and harfbuzz_subset is None:
                        continue
                    # WeasyPrint picks its subsetter by this module global.
                    weasyprint_fonts.harfbuzz_subset = (
                        harfbuzz_subset if subsetter == "harfbuzz" else None)
                    try:
                        times, data = measure(family, html, args.runs)
                    finally:
                        weasyprint_fonts.harfbuzz_subset = harfbuzz_subset
                    fonts = embedded_fonts(data)
                    if not fonts or not all(name.startswith(embedded_name) for name in fonts):
                        print(f"{family}: expected only {embedded_name}* embedded, "
                              f"got {sorted(fonts)}")
                        return 1
                    pages = len(PdfReader(io.BytesIO(data)).pages)
                    results[family, subsetter] = (statistics.median(times), min(times),
                                                  len(data), pages)

        base = results.get(BASELINE)
        print(f"{'font':22} {'subsetter':10} {'pages':>5} {'median s':>9} {'min s':>7} "
              f"{'ratio':>6} {'size KB':>8}")
        for (family, subsetter), (median, fastest, size, pages) in results.items():
            ratio = f"{median / base[0]:.1f}x" if base else "-"
            print(f"{family:22} {subsetter:10} {pages:5d} {median:9.2f} {fastest:7.2f} "
                  f"{ratio:>6} {size / 1024:8.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
