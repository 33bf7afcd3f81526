"""Small SVG charts, written in plain Python: bar charts and line charts.

Why not a chart library: the county network is closed (no CDN, no JavaScript chart
bundle to fetch), and the same chart must appear on a dashboard page and inside a
WeasyPrint PDF, which runs no JavaScript and loads nothing from outside. An SVG string
does both: it is inlined into the HTML and WeasyPrint draws it as vector graphics with
the report's font. Matplotlib and friends would add a large dependency, and still need
font set-up, for a handful of rectangles and lines.

Every piece of text (title, labels, series names, unit) is XML-escaped here, and numbers
go through ``float``, so the result is safe to insert into a template: it is returned as
``markupsafe.Markup`` and needs no ``|safe``. Never build chart text into markup
anywhere else.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from xml.sax.saxutils import escape

from markupsafe import Markup

Number = int | float | Decimal

#: The report font first (TrueType outlines, fast in WeasyPrint), then fallbacks. Browsers
#: use whatever of these the reader's computer has.
FONT_FAMILY = ("'WenQuanYi Micro Hei', 'Noto Sans CJK SC', 'Source Han Sans SC', "
               "'Microsoft YaHei', 'PingFang SC', sans-serif")

#: Distinguishable in colour and in grey print.
PALETTE = ("#2f6db5", "#d9822b", "#3d9970", "#b53f3f", "#7a5ea8", "#6c757d")

FONT_SIZE = 12
_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
# Characters XML 1.0 forbids even when escaped: a chart may also be saved as a file.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value: object) -> str:
    return escape(_XML_ILLEGAL.sub("", str(value)))


def _attr(value: object) -> str:
    # Attributes here are always double-quoted, so a single quote may stay as it is.
    return escape(_XML_ILLEGAL.sub("", str(value)), {'"': "&quot;"})


def _colour(value: str) -> str:
    if not _COLOUR.fullmatch(value):
        raise ValueError(f"colours are #rrggbb: {value!r}")
    return value


def _number(value: Number | None) -> float | None:
    if value is None:
        return None
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"a chart value must be a finite number: {value!r}")
    return number


def text_width(text: str, font_size: float = FONT_SIZE) -> float:
    """Estimated width in pixels: a CJK character is one em wide, others about half."""
    return sum(font_size if unicodedata.east_asian_width(ch) in "WF" else font_size * 0.55
               for ch in text)


def _shorten(text: str, width: float, font_size: float = FONT_SIZE) -> str:
    if text_width(text, font_size) <= width:
        return text
    while text and text_width(text + "…", font_size) > width:
        text = text[:-1]
    return text + "…"


def _axis(low: float, high: float, ticks: int = 5, *, whole: bool = False) -> tuple[float, float, float]:
    """A range covering [low, high] and zero, cut at a round step (1, 2, 2.5 or 5 × 10ⁿ).

    ``whole``: the values are counts, so the step is a whole number (no "0.5 份" on the axis).
    """
    low, high = min(low, 0.0), max(high, 0.0)
    if high == low:
        high = low + 1.0
    raw = (high - low) / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if raw <= m * magnitude)
    if whole and not float(step).is_integer():
        step = 1.0 if step < 1 else 2.0  # 2.5 is the only fractional step above 1
    return math.floor(low / step) * step, math.ceil(high / step) * step, step


def _format(value: float, step: float) -> str:
    """An axis label: as many decimals as the step needs (0.25 → two), at most three."""
    decimals = next((d for d in range(3) if abs(round(step, d) - step) < 1e-9 * step), 3)
    return f"{value:,.{decimals}f}"


def _value_text(value: float) -> str:
    """A bar's own value: whole numbers without decimals, others (money) with two."""
    return f"{value:,.0f}" if value.is_integer() else f"{value:,.2f}"


class _Frame:
    """The plot area of a chart with a value axis, its grid and the outer <svg>."""

    def __init__(self, values: Sequence[float], *, width: int, height: int,
                 title: str | None, unit: str, legend_rows: int = 0):
        self.width, self.height = width, height
        whole = all(float(v).is_integer() for v in values)
        self.low, self.high, self.step = _axis(min(values, default=0.0), max(values, default=0.0), whole=whole)
        self.ticks = [self.low + i * self.step
                      for i in range(round((self.high - self.low) / self.step) + 1)]
        label_width = max(text_width(_format(t, self.step)) for t in self.ticks)
        self.left = 12 + label_width
        self.right = width - 12
        self.top = 14 + (24 if title else 0) + (18 if unit else 0) + 18 * legend_rows
        self.bottom = height - 30
        if self.right - self.left < 40 or self.bottom - self.top < 40:
            raise ValueError("the chart is too small for its labels")
        self.title, self.unit = title, unit

    def y(self, value: float) -> float:
        return self.bottom - (value - self.low) / (self.high - self.low) * (self.bottom - self.top)

    def open(self, font_family: str) -> list[str]:
        label = self.title or ""
        parts = [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{self.width}" height="{self.height}" '
            f'viewBox="0 0 {self.width} {self.height}" role="img" aria-label="{_attr(label)}" '
            f'font-family="{_attr(font_family)}" font-size="{FONT_SIZE}">',
        ]
        if self.title:
            parts.append(f"<title>{_text(self.title)}</title>")
            parts.append(f'<text x="{self.width / 2:.1f}" y="20" text-anchor="middle" '
                         f'font-size="{FONT_SIZE + 3}" font-weight="bold">{_text(self.title)}</text>')
        if self.unit:
            parts.append(f'<text x="{self.left:.1f}" y="{self.top - 8:.1f}" text-anchor="start" '
                         f'fill="#555">{_text(self.unit)}</text>')
        for tick in self.ticks:
            y = self.y(tick)
            stroke = "#888" if abs(tick) < self.step / 1000 else "#ddd"
            parts.append(f'<line x1="{self.left:.1f}" y1="{y:.1f}" x2="{self.right:.1f}" '
                         f'y2="{y:.1f}" stroke="{stroke}" stroke-width="1"/>')
            parts.append(f'<text x="{self.left - 6:.1f}" y="{y + 4:.1f}" text-anchor="end" '
                         f'fill="#555">{_format(tick, self.step)}</text>')
        return parts

    def category_label(self, x: float, label: str, slot: float) -> str:
        return (f'<text x="{x:.1f}" y="{self.bottom + 18:.1f}" text-anchor="middle">'
                f"{_text(_shorten(label, slot - 4))}</text>")


def bar_chart(items: Iterable[tuple[str, Number | None]], *, title: str | None = None,
              unit: str = "", width: int = 640, height: int = 320, colour: str = PALETTE[0],
              show_values: bool = True, font_family: str = FONT_FAMILY) -> Markup:
    """A vertical bar chart: one bar per ``(label, value)``; a ``None`` value leaves a gap.

    ``unit`` (e.g. ``"万元"``) is written above the value axis. Labels too wide for their
    bar are shortened with "…". Negative values hang below the zero line.
    """
    items = [(str(label), _number(value)) for label, value in items]
    present = [v for _, v in items if v is not None]
    frame = _Frame(present, width=width, height=height, title=title, unit=unit)
    parts = frame.open(font_family)
    slot = (frame.right - frame.left) / max(len(items), 1)
    bar = slot * 0.6
    zero = frame.y(0.0)
    fill = _colour(colour)
    for i, (label, value) in enumerate(items):
        centre = frame.left + slot * (i + 0.5)
        if value is not None:
            top, bottom = sorted((frame.y(value), zero))
            parts.append(f'<rect x="{centre - bar / 2:.1f}" y="{top:.1f}" width="{bar:.1f}" '
                         f'height="{max(bottom - top, 0.5):.1f}" fill="{fill}"/>')
            if show_values:
                y = top - 4 if value >= 0 else bottom + FONT_SIZE + 2
                parts.append(f'<text x="{centre:.1f}" y="{y:.1f}" text-anchor="middle" '
                             f'font-size="{FONT_SIZE - 1}">{_value_text(value)}</text>')
        parts.append(frame.category_label(centre, label, slot))
    parts.append("</svg>")
    # Safe by construction: every text went through _text/_attr, numbers through float.
    return Markup("".join(parts))  # noqa: S704


def line_chart(categories: Sequence[str], series: Mapping[str, Sequence[Number | None]], *,
               title: str | None = None, unit: str = "", width: int = 640, height: int = 320,
               colours: Sequence[str] = PALETTE, font_family: str = FONT_FAMILY) -> Markup:
    """One line per series over shared categories (months, townships ...).

    Each series has one value per category; ``None`` breaks the line there. Series names
    form the legend above the plot.
    """
    categories = [str(c) for c in categories]
    lines = {str(name): [_number(v) for v in values] for name, values in series.items()}
    for name, values in lines.items():
        if len(values) != len(categories):
            raise ValueError(f"series {name!r} has {len(values)} values for "
                             f"{len(categories)} categories")
    present = [v for values in lines.values() for v in values if v is not None]
    legend_rows = math.ceil(len(lines) / 4)
    frame = _Frame(present, width=width, height=height, title=title, unit=unit,
                   legend_rows=legend_rows)
    parts = frame.open(font_family)
    slot = (frame.right - frame.left) / max(len(categories), 1)
    for i, label in enumerate(categories):
        parts.append(frame.category_label(frame.left + slot * (i + 0.5), label, slot))
    legend_top = frame.top - 18 * legend_rows - (18 if unit else 0)
    for n, (name, values) in enumerate(lines.items()):
        colour = _colour(colours[n % len(colours)])
        # A None splits the series into separate polylines rather than drawing to zero.
        runs: list[list[str]] = [[]]
        for i, value in enumerate(values):
            if value is None:
                runs.append([])
                continue
            x, y = frame.left + slot * (i + 0.5), frame.y(value)
            runs[-1].append(f"{x:.1f},{y:.1f}")
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{colour}"/>')
        for run in runs:
            if len(run) > 1:
                parts.append(f'<polyline points="{" ".join(run)}" fill="none" '
                             f'stroke="{colour}" stroke-width="2"/>')
        lx = frame.left + (n % 4) * (frame.right - frame.left) / 4
        ly = legend_top + 18 * (n // 4) + 4
        parts.append(f'<rect x="{lx:.1f}" y="{ly - 9:.1f}" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{lx + 14:.1f}" y="{ly:.1f}">'
                     f"{_text(_shorten(name, (frame.right - frame.left) / 4 - 18))}</text>")
    parts.append("</svg>")
    # Safe by construction: every text went through _text/_attr, numbers through float.
    return Markup("".join(parts))  # noqa: S704


#: Fill patterns that tell series apart in grey print and for readers who do not see colour:
#: solid, diagonal hatch, dots, cross-hatch, horizontal lines, vertical lines.
PATTERNS = ("solid", "diagonal", "dots", "cross", "horizontal", "vertical")


def _pattern_defs(prefix: str, colours: Sequence[str]) -> str:
    """SVG <pattern> definitions, one per series: ``url(#{prefix}-{n})``."""
    defs = []
    for n, colour in enumerate(colours):
        colour = _colour(colour)
        kind = PATTERNS[n % len(PATTERNS)]
        pid = f"{prefix}-{n}"
        if kind == "solid":
            body = f'<rect width="8" height="8" fill="{colour}"/>'
        elif kind == "diagonal":
            body = (f'<rect width="8" height="8" fill="#fff"/><path d="M-2,2 l4,-4 M0,8 l8,-8 M6,10 l4,-4" '
                    f'stroke="{colour}" stroke-width="2"/>')
        elif kind == "dots":
            body = f'<rect width="8" height="8" fill="#fff"/><circle cx="4" cy="4" r="2" fill="{colour}"/>'
        elif kind == "cross":
            body = (f'<rect width="8" height="8" fill="#fff"/><path d="M0,0 L8,8 M8,0 L0,8" '
                    f'stroke="{colour}" stroke-width="1.5"/>')
        elif kind == "horizontal":
            body = f'<rect width="8" height="8" fill="#fff"/><path d="M0,4 H8" stroke="{colour}" stroke-width="2.5"/>'
        else:
            body = f'<rect width="8" height="8" fill="#fff"/><path d="M4,0 V8" stroke="{colour}" stroke-width="2.5"/>'
        defs.append(f'<pattern id="{pid}" width="8" height="8" patternUnits="userSpaceOnUse">{body}</pattern>')
    return "<defs>" + "".join(defs) + "</defs>"


def _chart_id(title: str | None, kind: str) -> str:
    """An id prefix for the chart's patterns, unique enough for a page showing several charts."""
    import hashlib

    return f"c{kind}{hashlib.sha1((title or '').encode()).hexdigest()[:8]}"  # noqa: S324 — a name, not a secret


def hbar_chart(items: Iterable[tuple[str, Number]], *, title: str | None = None, unit: str = "",
               width: int = 640, bar_height: int = 22, label_width: int | None = None,
               colour: str = PALETTE[0], font_family: str = FONT_FAMILY) -> Markup:
    """Horizontal bars, one per ``(label, value)``, each with its value written at its end.

    Long category names (flag names, township names) read better along a horizontal bar
    than under a narrow vertical one; the value label means the chart is read without
    relying on colour or on the scale.
    """
    items = [(str(label), _number(value) or 0.0) for label, value in items]
    if label_width is None:
        label_width = min(max((text_width(label) for label, _ in items), default=40) + 8, width * 0.4)
    top = 12 + (24 if title else 0) + (18 if unit else 0)
    height = int(top + bar_height * max(len(items), 1) + 12)
    high = max((v for _, v in items), default=0.0) or 1.0
    left, right = 8 + label_width, width - 12 - text_width(_value_text(high)) - 8
    if right - left < 40:
        raise ValueError("the chart is too small for its labels")
    fill = _colour(colour)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{_attr(title or "")}" '
             f'font-family="{_attr(font_family)}" font-size="{FONT_SIZE}">']
    if title:
        parts.append(f"<title>{_text(title)}</title>")
        parts.append(f'<text x="{width / 2:.1f}" y="20" text-anchor="middle" font-size="{FONT_SIZE + 3}" '
                     f'font-weight="bold">{_text(title)}</text>')
    if unit:
        parts.append(f'<text x="{left:.1f}" y="{top - 6:.1f}" fill="#555">{_text(unit)}</text>')
    parts.append(f'<line x1="{left:.1f}" y1="{top:.1f}" x2="{left:.1f}" y2="{top + bar_height * len(items):.1f}" '
                 f'stroke="#888" stroke-width="1"/>')
    for i, (label, value) in enumerate(items):
        y = top + bar_height * i
        length = max(value, 0.0) / high * (right - left)
        parts.append(f'<text x="{left - 6:.1f}" y="{y + bar_height / 2 + 4:.1f}" text-anchor="end">'
                     f"{_text(_shorten(label, label_width - 8))}</text>")
        parts.append(f'<rect x="{left:.1f}" y="{y + 3:.1f}" width="{max(length, 0.5):.1f}" '
                     f'height="{bar_height - 6:.1f}" fill="{fill}"/>')
        parts.append(f'<text x="{left + length + 4:.1f}" y="{y + bar_height / 2 + 4:.1f}" '
                     f'font-size="{FONT_SIZE - 1}">{_value_text(value)}</text>')
    parts.append("</svg>")
    # Safe by construction: every text went through _text/_attr, numbers through float.
    return Markup("".join(parts))  # noqa: S704


def stacked_bar_chart(categories: Sequence[str], series: Mapping[str, Sequence[Number]], *,
                      title: str | None = None, unit: str = "", width: int = 640, height: int = 320,
                      colours: Sequence[str] = PALETTE, font_family: str = FONT_FAMILY) -> Markup:
    """Bars stacked from several series (grades per quarter ...), each series with its own
    colour *and* fill pattern, the same in the legend; each segment tall enough carries its
    value, and each bar its total on top, so the chart reads in grey print too."""
    categories = [str(c) for c in categories]
    stacks = {str(name): [_number(v) or 0.0 for v in values] for name, values in series.items()}
    for name, values in stacks.items():
        if len(values) != len(categories):
            raise ValueError(f"series {name!r} has {len(values)} values for {len(categories)} categories")
        if any(v < 0 for v in values):
            raise ValueError("a stacked bar chart takes values of zero or more")
    totals = [sum(values[i] for values in stacks.values()) for i in range(len(categories))]
    legend_rows = math.ceil(len(stacks) / 4)
    frame = _Frame(totals, width=width, height=height, title=title, unit=unit, legend_rows=legend_rows)
    prefix = _chart_id(title, "s")
    parts = frame.open(font_family)
    parts.append(_pattern_defs(prefix, [colours[n % len(colours)] for n in range(len(stacks))]))
    slot = (frame.right - frame.left) / max(len(categories), 1)
    bar = slot * 0.6
    for i, label in enumerate(categories):
        centre = frame.left + slot * (i + 0.5)
        base = 0.0
        for n, values in enumerate(stacks.values()):
            value = values[i]
            if value <= 0:
                continue
            top, bottom = frame.y(base + value), frame.y(base)
            parts.append(f'<rect x="{centre - bar / 2:.1f}" y="{top:.1f}" width="{bar:.1f}" '
                         f'height="{max(bottom - top, 0.5):.1f}" fill="url(#{prefix}-{n})" '
                         f'stroke="#333" stroke-width="0.5"/>')
            if bottom - top >= FONT_SIZE + 2:
                parts.append(f'<text x="{centre:.1f}" y="{(top + bottom) / 2 + 4:.1f}" text-anchor="middle" '
                             f'font-size="{FONT_SIZE - 1}" paint-order="stroke" stroke="#fff" stroke-width="3">'
                             f"{_value_text(value)}</text>")
            base += value
        if totals[i]:
            parts.append(f'<text x="{centre:.1f}" y="{frame.y(totals[i]) - 4:.1f}" text-anchor="middle" '
                         f'font-size="{FONT_SIZE - 1}" font-weight="bold">{_value_text(totals[i])}</text>')
        parts.append(frame.category_label(centre, label, slot))
    legend_top = frame.top - 18 * legend_rows - (18 if unit else 0)
    for n, name in enumerate(stacks):
        lx = frame.left + (n % 4) * (frame.right - frame.left) / 4
        ly = legend_top + 18 * (n // 4) + 4
        parts.append(f'<rect x="{lx:.1f}" y="{ly - 10:.1f}" width="12" height="12" fill="url(#{prefix}-{n})" '
                     f'stroke="#333" stroke-width="0.5"/>')
        parts.append(f'<text x="{lx + 16:.1f}" y="{ly:.1f}">'
                     f"{_text(_shorten(name, (frame.right - frame.left) / 4 - 20))}</text>")
    parts.append("</svg>")
    # Safe by construction: every text went through _text/_attr, numbers through float.
    return Markup("".join(parts))  # noqa: S704
