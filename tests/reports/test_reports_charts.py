"""SVG charts: well-formed, every label escaped, the numbers where they belong."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
from markupsafe import Markup

from reliefsvc.reports import charts

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    """Parsing as XML fails on any label that was not escaped."""
    return ET.fromstring(svg)  # noqa: S314 — our own output, and malformed is what we look for


def texts(root: ET.Element) -> list[str]:
    return [el.text or "" for el in root.iter(f"{SVG}text")]


def test_bar_chart_escapes_chinese_labels_and_draws_one_bar_per_value():
    svg = charts.bar_chart(
        [("景古镇", Decimal("1234.56")), ('<b>八松乡</b> & "康乐"', 800), ("莲麓镇", None)],
        title="各乡镇服务金额 <2026>", unit="元")

    assert isinstance(svg, Markup)
    assert "<b>" not in svg and "&lt;b&gt;八松乡&lt;/b&gt; &amp; " in svg
    root = parse(svg)
    labels = texts(root)
    assert "景古镇" in labels
    assert any(label.startswith("<b>八松乡") for label in labels)  # shortened with … if too long
    assert "各乡镇服务金额 <2026>" in labels
    assert root.find(f"{SVG}title").text == "各乡镇服务金额 <2026>"
    assert "元" in labels and "1,234.56" in labels and "800" in labels
    bars = list(root.iter(f"{SVG}rect"))
    assert len(bars) == 2  # None leaves a gap
    heights = [float(bar.get("height")) for bar in bars]
    assert heights[0] > heights[1] > 0
    assert heights[0] / heights[1] == pytest.approx(1234.56 / 800, rel=0.01)


def test_bar_chart_axis_runs_to_a_round_number_above_the_largest_value():
    root = parse(charts.bar_chart([("甲", 1234.56), ("乙", 90)]))
    labels = texts(root)
    assert "1,250" in labels and "0" in labels
    assert "1,500" not in labels


def test_negative_values_hang_below_the_zero_line():
    root = parse(charts.bar_chart([("收入", 300), ("支出", -200)], show_values=False))
    positive, negative = root.iter(f"{SVG}rect")
    # the top edge of the negative bar is the bottom edge of the positive one: zero
    assert float(negative.get("y")) == pytest.approx(
        float(positive.get("y")) + float(positive.get("height")), abs=0.2)
    assert "-200" in texts(root)


def test_line_chart_breaks_at_missing_values_and_escapes_series_names():
    svg = charts.line_chart(["1月", "2月", "3月", "4月"],
                            {"服务人次<甲>": [10, 12, None, 15], "投诉": [1, 0, 2, 1]},
                            title="月度服务")
    root = parse(svg)
    lines = list(root.iter(f"{SVG}polyline"))
    # 甲 splits into [1月, 2月] and a lone 4月 point (no line); 投诉 is one line of four
    assert sorted(len(line.get("points").split()) for line in lines) == [2, 4]
    assert len(list(root.iter(f"{SVG}circle"))) == 7
    assert "服务人次<甲>" in texts(root) and "1月" in texts(root)


def test_line_chart_refuses_series_of_the_wrong_length():
    with pytest.raises(ValueError, match="3 values for 2 categories"):
        charts.line_chart(["1月", "2月"], {"甲": [1, 2, 3]})


@pytest.mark.parametrize("bad", ['red" onload="alert(1)', "url(#x)", "#12345"])
def test_colours_cannot_carry_markup(bad):
    with pytest.raises(ValueError):
        charts.bar_chart([("甲", 1)], colour=bad)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), Decimal("NaN")])
def test_values_must_be_finite_numbers(bad):
    with pytest.raises(ValueError):
        charts.bar_chart([("甲", bad)])


def test_control_characters_do_not_break_the_xml():
    root = parse(charts.bar_chart([("康乐\x00\x08县", 1)], title="标题\x0b"))
    assert "康乐县" in texts(root)


def test_cjk_counts_as_wide_when_shortening_labels():
    assert charts.text_width("康乐县", 12) == 36
    assert charts.text_width("KL-1", 12) == pytest.approx(4 * 12 * 0.55)
    root = parse(charts.bar_chart([(f"很长的承接主体名称{i}" * 3, i) for i in range(1, 13)]))
    category_labels = [t for t in texts(root) if t.startswith("很长")]
    assert len(category_labels) == 12 and all(t.endswith("…") for t in category_labels)


def test_counts_get_whole_steps_on_the_axis():
    """Two assessments in a period cannot be 0.5 of one: small counts step by 1, not 0.25."""
    root = parse(charts.stacked_bar_chart(["2026年第1季度", "2026年第2季度"], {"优秀": [1, 0], "合格": [1, 2]}))
    labels = texts(root)
    assert "1" in labels and "2" in labels
    assert not any("." in label for label in labels if label.replace(".", "").isdigit())
    money = texts(parse(charts.bar_chart([("甲", 0.8), ("乙", 0.3)])))
    assert "0.2" in money  # amounts keep their fractional steps
