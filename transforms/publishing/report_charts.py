"""The committee report's charts: matplotlib figures rendered to inline SVG strings.

matplotlib's object API (``Figure``, no pyplot: no global state, no GUI backend) draws each chart; the SVG keeps its
text as ``<text>`` (``svg.fonttype = 'none'``): small, searchable in the browser and in the PDF (pdftotext reads the
heat map's labels), and rendered in the reader's sans-serif font. Chart text is English only (ids and English
names); the Chinese names stay in the HTML around the charts, where the page's CJK font stack renders them. Each
chart gets its own ``svg.hashsalt`` so the ids inside several inline SVGs never collide, and the same data gives
the same bytes. The colours follow the bands of ``transforms.scoring.levels.BANDS`` (highest first).
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence

from transforms.scoring.levels import BANDS, LEVELS

# one colour per band of levels.BANDS, highest first: deep red .. green
_PALETTE = ("#a50026", "#e34a33", "#fdae61", "#fee08b", "#a6d96a")
BAND_COLOURS = {band.name: colour for band, colour in zip(BANDS, _PALETTE, strict=True)}
INK, MUTED, GRID = "#1f2933", "#52606d", "#d9e2ec"
_SERIES = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#1f78b4")


def band_colour(band: str) -> str:
    return BAND_COLOURS.get(band, "#bcccdc")


def ink_on(band: str) -> str:
    """Text colour readable on the band's colour (white on the dark reds)."""
    colour = band_colour(band).lstrip("#")
    r, g, b = (int(colour[i : i + 2], 16) for i in (0, 2, 4))
    return "#ffffff" if 0.299 * r + 0.587 * g + 0.114 * b < 140 else "#111111"


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=72)
    return fig


def _svg(fig, name: str, label: str) -> str:
    """The figure as an inline <svg> element (no XML prolog, no metadata), scaled by its container."""
    import matplotlib

    buffer = io.StringIO()
    rc = {"svg.fonttype": "none", "svg.hashsalt": f"riskcard-{name}", "svg.image_inline": True}
    with matplotlib.rc_context(rc):
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
    text = re.sub(r"\s*<!--.*?-->", "", text, flags=re.S)
    # matplotlib names every element (figure_1, axes_1, text_1 ...), the same in every chart: keep only the ids
    # something refers to (clip paths, markers: hashed with this chart's salt, so unique in the page)
    referenced = set(re.findall(r"""(?:url\(#|href=["']#)([^)"']+)""", text))
    text = re.sub(r'\s+id="([^"]+)"', lambda m: m.group(0) if m.group(1) in referenced else "", text)
    text = _unwrap_plain_groups(text)
    return text.replace("<svg ", f'<svg class="chart chart-{name}" role="img" aria-label="{_attr(label)}" ', 1).strip()


def _unwrap_plain_groups(svg: str) -> str:
    """Drop the ``<g>`` wrappers left without attributes (they change nothing): some 400 fewer elements for the
    browser and for WeasyPrint, which styles every element (a fifth of the PDF's rendering time)."""
    out: list[str] = []
    kept: list[bool] = []  # per open <g>: was it written out?
    pos = 0
    for match in re.finditer(r"<g>|<g\s[^>]*>|</g>", svg):
        out.append(svg[pos : match.start()])
        pos = match.end()
        token = match.group(0)
        if token.endswith("/>"):  # an empty group: nothing to match
            out.append(token)
        elif token == "</g>":
            if kept.pop():
                out.append(token)
        else:
            plain = token == "<g>"
            kept.append(not plain)
            if not plain:
                out.append(token)
    out.append(svg[pos:])
    return "".join(out)


def _attr(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def _style(ax) -> None:
    ax.tick_params(colors=MUTED, labelsize=8)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color(GRID)


def _short(name: str, limit: int = 26) -> str:
    name = name.removesuffix(" risk")
    return name if len(name) <= limit else name[: limit - 1] + "…"


_HEAT_SIZE = (7.6, 4.6)  # inches
_HEAT_AXES = (0.08, 0.11, 0.62, 0.82)  # left, bottom, width, height (figure fractions)
_LABEL_PT = 7.5  # label font size; a character is about 0.58 em wide, a line 1.25 em high


def heat_map_svg(criteria: Sequence) -> str:
    """The risk matrix: each criterion at (weight W, likelihood C) over the bands of C, coloured by its band, with
    iso-lines of W×C; the attention of each band (Table 7) on the right."""
    import numpy as np

    fig = _figure(*_HEAT_SIZE)
    ax = fig.add_axes(_HEAT_AXES)
    x_max = round(max(0.25, max(c.weight for c in criteria) * 1.18) + 0.025, 2)
    y_low, y_high = 0.15, 1.04
    tops = [y_high] + [b.floor for b in BANDS[:-1]]
    for band, top in zip(BANDS, tops, strict=True):
        bottom = 0.995 if band.floor >= 1.0 else band.floor  # "very high" is C = 1.0 exactly: a strip at the top
        ax.axhspan(bottom, top, color=band_colour(band.name), alpha=0.28, lw=0)
    for floor in sorted({b.floor for b in BANDS if 0 < b.floor < 1}):
        ax.axhline(floor, color="white", lw=1.2)
    xs = np.linspace(0.004, x_max, 120)
    for level in (0.05, 0.1, 0.15, 0.2):
        keep = level / xs <= y_high
        ax.plot(xs[keep], level / xs[keep], color=MUTED, lw=0.6, ls=(0, (3, 3)), alpha=0.7)
        if level / x_max > y_low:
            ax.text(x_max * 0.995, level / x_max, f"W×C = {level:g}", fontsize=6.5, color=MUTED, ha="right",
                    va="bottom")  # fmt: skip
    width_pt = _HEAT_SIZE[0] * 72 * _HEAT_AXES[2]
    height_pt = _HEAT_SIZE[1] * 72 * _HEAT_AXES[3]

    def to_pt(c) -> tuple[float, float]:
        return c.weight / x_max * width_pt, (c.likelihood - y_low) / (y_high - y_low) * height_pt

    dots = {c.criterion_id: to_pt(c) for c in criteria}
    boxes: list[tuple[float, float, float, float]] = []
    for group in _clusters(criteria, to_pt):
        for c in group:
            ax.scatter([c.weight], [c.likelihood], s=150, color=band_colour(c.band), edgecolor=INK, lw=0.9, zorder=3)
        first = group[0]
        if len(group) == 1:
            ax.text(first.weight, first.likelihood, str(first.rank), fontsize=7, ha="center", va="center", color=INK,
                    zorder=4, fontweight="bold")  # fmt: skip
        lines = [f"{c.rank}  {c.criterion_id} {_short(c.name_en, 24)}" for c in group]
        others = [p for cid, p in dots.items() if cid not in {c.criterion_id for c in group}]
        side, dy = _place_label(to_pt(first), lines, boxes, others, width_pt, height_pt)
        ax.annotate(
            "\n".join(lines),
            (first.weight, first.likelihood),
            xytext=(side * 14, dy),
            textcoords="offset points",
            fontsize=_LABEL_PT,
            color=INK,
            ha="left" if side > 0 else "right",
            va="center",
            multialignment="left",
            linespacing=1.25,
            bbox={"boxstyle": "round,pad=0.25", "fc": "white", "ec": GRID, "lw": 0.5, "alpha": 0.92},
            arrowprops={"arrowstyle": "-", "color": MUTED, "lw": 0.6, "shrinkA": 0, "shrinkB": 6},
            zorder=5,
        )
    ax.set_xlim(0, x_max)
    ax.set_ylim(y_low, y_high)
    ax.set_xlabel("weight W (AHP)", fontsize=8.5, color=INK)
    ax.set_ylabel("likelihood C", fontsize=8.5, color=INK)
    ax.set_yticks(list(LEVELS))  # the likelihood scale (transforms.scoring.levels)
    _style(ax)
    # the band legend with its attention (Table 7)
    legend = fig.add_axes((0.73, 0.11, 0.26, 0.82))
    legend.set_axis_off()
    legend.set_xlim(0, 1)
    legend.set_ylim(0, 1)
    legend.text(0.0, 0.97, "band of C → attention", fontsize=8, color=INK, fontweight="bold", va="top")
    for k, band in enumerate(BANDS):
        y = 0.84 - k * 0.15
        legend.add_patch(_rect((0.0, y - 0.045), 0.1, 0.09, band_colour(band.name)))
        legend.text(0.14, y + 0.018, band.name, fontsize=8, color=INK, va="center")
        legend.text(0.14, y - 0.035, band.attention, fontsize=7, color=MUTED, va="center")
    legend.text(0.0, 0.04, "labels: W×C rank, criterion", fontsize=6.5, color=MUTED)
    return _svg(fig, "heatmap", "risk matrix: criteria by weight and likelihood, coloured by band")


def _rect(xy, w, h, colour):
    from matplotlib.patches import Rectangle

    return Rectangle(xy, w, h, facecolor=colour, edgecolor=INK, lw=0.4)


def _clusters(criteria: Sequence, to_pt) -> list[list]:
    """Criteria whose dots overlap (centres closer than a dot, in points), by rank: one label lists a cluster."""
    groups: list[list] = []
    for c in sorted(criteria, key=lambda c: c.rank):
        x, y = to_pt(c)
        for group in groups:
            gx, gy = to_pt(group[0])
            if abs(x - gx) < 12 and abs(y - gy) < 12:
                group.append(c)
                break
        else:
            groups.append([c])
    return groups


def _place_label(anchor, lines, boxes, dots, width_pt, height_pt) -> tuple[int, float]:
    """(side +1 right / -1 left, vertical offset in points) for a label box next to ``anchor`` that overlaps no
    label placed so far and no dot, inside the axes if it can; records its box in ``boxes``."""
    x, y = anchor
    w = max(len(t) for t in lines) * _LABEL_PT * 0.58 + 6
    h = len(lines) * _LABEL_PT * 1.25 + 5
    preferred = 1 if x + 14 + w <= width_pt else -1
    best = None
    for dy in (0, 12, -12, 24, -24, 36, -36, 48, -48, 60, -60, 72, -72, 90, -90):
        for side in (preferred, -preferred):
            x0 = x + 14 if side > 0 else x - 14 - w
            box = (x0, y + dy - h / 2, x0 + w, y + dy + h / 2)
            inside = box[0] >= -4 and box[2] <= width_pt + 4 and box[1] >= 0 and box[3] <= height_pt
            clash = any(_overlap(box, other) for other in boxes) or any(
                box[0] - 6 < dx < box[2] + 6 and box[1] - 6 < dy_ < box[3] + 6 for dx, dy_ in dots
            )
            if inside and not clash:
                boxes.append(box)
                return side, dy
            if best is None and not clash:
                best = (side, dy, box)
    side, dy, box = best or (preferred, 0, (x, y, x, y))
    boxes.append(box)
    return side, dy


def _overlap(a, b) -> bool:
    return a[0] < b[2] + 2 and b[0] < a[2] + 2 and a[1] < b[3] + 2 and b[1] < a[3] + 2


def ranking_svg(criteria: Sequence) -> str:
    """The W×C ranking as horizontal bars, highest first, coloured by band, the value at the end of each bar."""
    ranked = sorted(criteria, key=lambda c: c.rank)
    fig = _figure(7.6, 0.34 * len(ranked) + 0.7)
    ax = fig.add_axes((0.30, 0.16, 0.62, 0.8))
    ys = list(range(len(ranked)))[::-1]
    top = max(c.score for c in ranked) or 1.0
    ax.barh(ys, [c.score for c in ranked], color=[band_colour(c.band) for c in ranked], edgecolor=INK, lw=0.4,
            height=0.66)  # fmt: skip
    for y, c in zip(ys, ranked, strict=True):
        ax.text(c.score + top * 0.01, y, f"{c.score:.4f}", va="center", fontsize=7.5, color=INK)
    ax.set_yticks(ys)
    ax.set_yticklabels([f"{c.rank}. {c.criterion_id} {_short(c.name_en, 30)}" for c in ranked], fontsize=7.5)
    ax.set_xlim(0, top * 1.16)
    ax.set_xlabel("score W×C", fontsize=8, color=INK)
    _style(ax)
    ax.tick_params(axis="y", length=0)
    return _svg(fig, "ranking", "criteria ranked by W times C")


def trend_svg(points: Sequence, criteria: Sequence) -> str:
    """The composite (left) and each criterion's W×C (right) over the published dates, with the composite's
    bands shaded."""
    fig = _figure(7.6, 3.1)
    dates = [p.as_of_date.isoformat()[5:] if len(points) > 6 else p.as_of_date.isoformat() for p in points]
    xs = list(range(len(points)))
    left = fig.add_axes((0.07, 0.2, 0.36, 0.68))
    values = [p.composite for p in points]
    low = max(0.0, min(values) - 0.1)
    high = min(1.04, max(values) + 0.1)
    tops = [1.04] + [b.floor for b in BANDS[:-1]]
    for band, top in zip(BANDS, tops, strict=True):
        if top > low and band.floor < high:
            left.axhspan(max(band.floor, low), min(top, high), color=band_colour(band.name), alpha=0.22, lw=0)
    left.plot(xs, values, color=INK, lw=1.8, marker="o", ms=4)
    for x, v in zip(xs, values, strict=True):
        if x == xs[-1]:
            left.annotate(f"{v:.4f}", (x, v), xytext=(0, 7), textcoords="offset points", ha="center", fontsize=7.5,
                          color=INK)  # fmt: skip
    left.set_ylim(low, high)
    left.set_title("composite Σ W×C", fontsize=8.5, color=INK, loc="left")
    right = fig.add_axes((0.52, 0.2, 0.3, 0.68))
    for k, c in enumerate(criteria):
        series = [p.scores.get(c.criterion_id) for p in points]
        right.plot(xs, series, color=_SERIES[k % len(_SERIES)], lw=1.2, marker="o", ms=3, label=c.criterion_id)
    right.set_title("criterion W×C", fontsize=8.5, color=INK, loc="left")
    right.legend(fontsize=6.5, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.02), ncol=1)
    for ax in (left, right):
        ax.set_xticks(xs)
        ax.set_xticklabels(dates, rotation=45 if len(points) > 3 else 0, ha="right" if len(points) > 3 else "center",
                           fontsize=6.5)  # fmt: skip
        ax.set_xlim(-0.5, len(points) - 0.5)
        ax.grid(axis="y", color=GRID, lw=0.5)
        _style(ax)
    return _svg(fig, "trend", "trend of the composite and the criterion scores over the published dates")


def rank_interval_svg(sensitivity: dict, criteria: Sequence) -> str | None:
    """Each criterion's rank under the sensitivity draws: 5th-95th percentile bar, median tick, nominal dot."""
    rows = {r["criterion_id"]: r for r in sensitivity.get("criteria", [])}
    ordered = [c for c in sorted(criteria, key=lambda c: c.rank) if c.criterion_id in rows]
    if not ordered:
        return None
    n = len(criteria)
    fig = _figure(7.6, 0.3 * len(ordered) + 0.8)
    ax = fig.add_axes((0.30, 0.2, 0.62, 0.74))
    ys = list(range(len(ordered)))[::-1]
    for y, c in zip(ys, ordered, strict=True):
        r = rows[c.criterion_id]
        lo, mid, hi = (float(r.get(k) or r["nominal_rank"]) for k in ("rank_p05", "rank_p50", "rank_p95"))
        ax.plot([lo, hi], [y, y], color=band_colour(c.band), lw=6, solid_capstyle="butt", alpha=0.9)
        ax.plot([mid, mid], [y - 0.3, y + 0.3], color=INK, lw=1.2)
        ax.scatter([r["nominal_rank"]], [y], s=26, color="white", edgecolor=INK, lw=1.0, zorder=3)
    ax.set_yticks(ys)
    ax.set_yticklabels([f"{c.criterion_id} {_short(c.name_en, 30)}" for c in ordered], fontsize=7.5)
    ax.set_xlim(0.5, n + 0.5)
    ax.set_xticks(range(1, n + 1))
    ax.invert_xaxis()
    ax.set_xlabel("rank (5th–95th percentile bar, median tick, published rank dot)", fontsize=7.5, color=INK)
    ax.grid(axis="x", color=GRID, lw=0.5)
    _style(ax)
    ax.tick_params(axis="y", length=0)
    return _svg(fig, "ranks", "rank intervals under the sensitivity analysis")


__all__ = ["BAND_COLOURS", "band_colour", "heat_map_svg", "rank_interval_svg", "ranking_svg", "trend_svg"]
