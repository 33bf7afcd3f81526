"""The chart kinds added for the dashboards: readable without colour, safe to inline."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from reliefsvc.reports import charts

SVG = "{http://www.w3.org/2000/svg}"


def texts(svg) -> list[str]:
    return [t.text for t in ET.fromstring(str(svg)).iter(f"{SVG}text")]  # noqa: S314 — our own output


def test_horizontal_bars_write_each_value_and_escape_labels():
    svg = charts.hbar_chart([("照片重复 <script>", 3), ("服务时长过短", 12.5)], title="标记 & 类别", unit="条")
    root = ET.fromstring(str(svg))  # noqa: S314 — well-formed XML: the labels were escaped
    assert root.get("aria-label") == "标记 & 类别"
    words = texts(svg)
    assert "3" in words and "12.50" in words and "照片重复 <script>" in words
    bars = list(root.iter(f"{SVG}rect"))
    assert len(bars) == 2 and float(bars[1].get("width")) > float(bars[0].get("width"))


def test_stacked_bars_tell_series_apart_by_pattern_and_write_totals():
    svg = charts.stacked_bar_chart(["2026Q1", "2026Q2"], {"优秀": [1, 2], "良好": [3, 0], "合格": [0, 4]},
                                   title="等次", height=360)
    root = ET.fromstring(str(svg))  # noqa: S314 — our own output
    patterns = list(root.iter(f"{SVG}pattern"))
    assert len(patterns) == 3 and len({p.get("id") for p in patterns}) == 3
    # the solid, hatched and dotted fills differ in shape, not only in colour
    assert [len(list(p)) for p in patterns] == [1, 2, 2]
    fills = {r.get("fill") for r in root.iter(f"{SVG}rect") if (r.get("fill") or "").startswith("url(")}
    assert fills == {f"url(#{p.get('id')})" for p in patterns}
    words = texts(svg)
    assert "4" in words and "6" in words  # the totals of both bars
    assert {"优秀", "良好", "合格"} <= set(words)  # the legend


def test_stacked_bars_refuse_mismatched_or_negative_series():
    with pytest.raises(ValueError):
        charts.stacked_bar_chart(["a", "b"], {"x": [1]})
    with pytest.raises(ValueError):
        charts.stacked_bar_chart(["a"], {"x": [-1]})
