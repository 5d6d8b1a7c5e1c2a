"""The committee report as ONE self-contained HTML file (inline CSS, inline SVG charts; nothing to load).

Committee first, then the evidence: the headline and what to act on, the risk matrix (heat map and W×C ranking,
Table 6/7 style), the trend, what moved since the previous version, each criterion's leaves, the sensitivity
analysis, provenance and data quality, and an appendix with each leaf's first contributing records (every leaf
row links to its records; in-page anchors only).

Offline by construction: no ``src``/``href`` that leaves the page, no script, no web font; a
``Content-Security-Policy`` of ``default-src 'none'`` makes the browser refuse any load the page might still try.
The print stylesheet (WeasyPrint, ``report_pdf``) puts the headline and the heat map on page 1, each section of
evidence on a new page, and leaves the appendix's records out of the PDF (they stay in the HTML; the PDF says
where): 30 leaves x 20 records would add some 600 table rows, and seconds, to every publish. The part between
:data:`SCREEN_ONLY` and :data:`END_SCREEN_ONLY` is that appendix; ``report_pdf`` removes it before WeasyPrint
parses the document (it would style every hidden row), so what prints is exactly the print stylesheet's page.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import Any

from transforms.publishing import report_charts as charts
from transforms.publishing.report_data import LeafView, ReportData
from transforms.publishing.tables import GOAL_EN, GOAL_ZH
from transforms.scoring.levels import BANDS

# what the print stylesheet hides anyway (the appendix's records): report_pdf drops it before WeasyPrint parses it
SCREEN_ONLY, END_SCREEN_ONLY = "<!--screen-only-->", "<!--/screen-only-->"


def h(value: Any) -> str:
    """Escaped text of a value (None as an em dash)."""
    return "—" if value is None else html.escape(str(value), quote=True)


def f4(value: float | None) -> str:
    return "—" if value is None else f"{float(value):.4f}"


def num(value: float | None) -> str:
    """A leaf's figure: integers without decimals, others with up to 4 (trailing zeros dropped)."""
    if value is None:
        return "—"
    x = float(value)
    if x == int(x) and abs(x) < 1e15:
        return f"{int(x):,}"
    text = f"{x:,.4f}".rstrip("0").rstrip(".")
    return text if text not in ("-0", "") else "0"


def pct(p: float | None) -> str:
    if p is None:
        return "—"
    value = 100 * float(p)
    return "<1%" if 0 < value < 0.5 else (">99%" if 99.5 <= value < 100 else f"{value:.0f}%")


def _signed(value: float | None) -> str:
    return "—" if value is None else f"{float(value):+.4f}"


def _chip(band: str | None, text: str | None = None) -> str:
    if band is None:
        return "—"
    style = f"background:{charts.band_colour(band)};color:{charts.ink_on(band)}"
    return f'<span class="chip" style="{style}">{h(text or band)}</span>'


def _table(head: Sequence[str], rows: Iterable[Sequence[str]], cls: str = "", attrs: Sequence[str] = ()) -> str:
    """A table of already-escaped cells; ``attrs`` holds each row's extra <tr> attributes."""
    rows = list(rows)
    attrs = list(attrs) or [""] * len(rows)
    thead = "".join(f"<th>{c}</th>" for c in head)
    body = "".join(
        f"<tr{(' ' + a) if a else ''}>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>"
        for r, a in zip(rows, attrs, strict=True)
    )
    return f'<table class="{cls}"><thead><tr>{thead}</tr></thead><tbody>{body}</tbody></table>'


# ---- sections ----------------------------------------------------------------------------------------------------


def _headline(d: ReportData) -> str:
    badges = "".join(
        f'<span class="badge badge-{h(b.lower().replace(" ", "-"))}" title="{h(why)}">{h(b)}</span>'
        for b, why in d.labels
    )
    where = f"{d.as_of.isoformat()}" if d.as_of else "—"
    version = f"version {d.version}" if d.version else "not published"
    published = f" · published {d.published_at:%Y-%m-%d %H:%M} UTC" if d.published_at else ""
    quality = d.quality
    q_tile = ""
    if quality is not None:
        q_tile = (
            f'<div class="tile quality quality-{h(quality.verdict.replace(" ", "-"))}">'
            f'<div class="k">data quality</div><div class="v">{h(quality.verdict)}</div>'
            f'<div class="s">{h(quality.summary)}</div></div>'
        )
    return f"""
<header class="headline" id="headline">
  <div class="goal"><span lang="zh">{h(GOAL_ZH)}</span> · {h(GOAL_EN)}</div>
  <h1>{h(d.title)}</h1>
  <div class="badges">{badges}</div>
  <div class="tiles">
    <div class="tile composite" style="border-color:{charts.band_colour(d.rating)}">
      <div class="k">composite Σ W×C</div><div class="v big" id="composite">{f4(d.composite)}</div>
      <div class="s">rating {_chip(d.rating, f"{d.rating_zh} {d.rating}".strip())}</div>
    </div>
    <div class="tile"><div class="k">as-of date</div><div class="v">{h(where)}</div>
      <div class="s">{h(version)}{h(published)}</div></div>
    <div class="tile wide"><div class="k">weight profile</div><div class="v small">{h(d.profile_label)}</div>
      <div class="s">method {h(d.method)}{" · override" if d.override else ""}</div></div>
    {q_tile}
  </div>
  {_act_on(d)}
  {"".join(f'<p class="note">{h(n)}</p>' for n in d.notes)}
</header>"""


def _act_on(d: ReportData) -> str:
    """The criteria grouped by the attention their band calls for (Table 7), most urgent first."""
    attentions: list[tuple[str, str, str]] = []
    for band in BANDS:
        if band.attention not in [a for a, _, _ in attentions]:
            attentions.append((band.attention, band.attention_zh, band.name))
    items = []
    for attention, attention_zh, band in attentions:
        group = [c for c in d.ranked if c.attention == attention]
        if not group:
            continue
        names = ", ".join(
            f'<b>{h(c.criterion_id)}</b> {h(c.name_en)} <span lang="zh">{h(c.name_zh)}</span> '
            f'<span class="muted">(rank {c.rank}, W×C {f4(c.score)})</span>'
            for c in group
        )
        items.append(
            f'<li><span class="att" style="border-color:{charts.band_colour(band)}">'
            f'<span lang="zh">{h(attention_zh)}</span> {h(attention)}</span> {names}</li>'
        )
    return f'<div class="act"><h2 class="act-title">What to act on</h2><ul>{"".join(items)}</ul></div>'


def _matrix(d: ReportData) -> str:
    rows, attrs = [], []
    for c in d.ranked:
        attrs.append(f'data-criterion="{h(c.criterion_id)}" data-rank="{c.rank}"')
        rows.append(
            (
                f'<span class="rank">{c.rank}</span>',
                f"<b>{h(c.criterion_id)}</b>",
                f'<span lang="zh">{h(c.name_zh)}</span><br><span class="muted">{h(c.name_en)}</span>',
                f'<span class="w">{f4(c.weight)}</span>',
                f'<span class="c">{f4(c.likelihood)}</span>',
                f'<span class="score">{f4(c.score)}</span>',
                _chip(c.band, f"{c.band_zh} {c.band}"),
                f'<span lang="zh">{h(c.attention_zh)}</span> {h(c.attention)}',
            )
        )
    table = _table(
        ("rank", "id", "criterion", "W", "C", "W×C", "band of C", "attention (Table 7)"),
        rows,
        "criteria-table",
        attrs,
    )
    return f"""
<section id="matrix" class="matrix">
  <h2>1. Risk matrix</h2>
  <p class="lead">Each criterion placed by its weight W (x) and likelihood C (y), coloured by the band of C; the dashed
  curves are equal W×C. The bars rank the criteria by W×C (Table 6); the attention follows the band (Table 7).</p>
  <figure class="heatmap">{charts.heat_map_svg(d.criteria)}</figure>
  <figure class="ranking">{charts.ranking_svg(d.criteria)}</figure>
  {table}
</section>"""


def _trend(d: ReportData) -> str:
    if not d.trend:
        return '<section id="trend" class="trend"><h2>2. Trend</h2><p class="note">Not a published version: no history.</p></section>'
    n = len(d.trend)
    caption = (
        f"The last {n} published date(s) up to {d.as_of.isoformat()}: the latest version of each earlier date, "
        f"and version {d.version} of {d.as_of.isoformat()}."
    )
    if n == 1:
        caption += " Only one date has been published so far."
    head = ("as-of date", "version", "composite", "rating", *(c.criterion_id for c in d.criteria))
    rows = [
        (
            h(p.as_of_date.isoformat()),
            str(p.version),
            f4(p.composite),
            _chip(p.rating),
            *(f4(p.scores.get(c.criterion_id)) for c in d.criteria),
        )  # fmt: skip
        for p in reversed(d.trend)
    ]
    return f"""
<section id="trend" class="trend">
  <h2>2. Trend</h2>
  <p class="lead">{h(caption)}</p>
  <figure class="trend">{charts.trend_svg(d.trend, d.criteria)}</figure>
  {_table(head, rows, "trend-table")}
</section>"""


def _changes(d: ReportData) -> str:
    c = d.changes
    if c is None:
        return f'<section id="changes" class="changes"><h2>3. What moved</h2><p class="note">{h(d.changes_note)}</p></section>'
    moved = c.composite_after - c.composite_before
    rating = f"rating {_chip(c.rating_before)} → {_chip(c.rating_after)}" + (
        " <b>(changed)</b>" if c.rating_before != c.rating_after else " (same)"
    )
    profile = ""
    if c.profile_before != c.profile_after:
        profile = f"<p><b>Profile changed</b>: {h(c.profile_before)} → {h(c.profile_after)}.</p>"
    crit_rows = [
        (
            f"<b>{h(x['criterion_id'])}</b> {h(x['name_en'])}",
            f"{f4(x['likelihood_before'])} → {f4(x['likelihood_after'])}",
            f"{f4(x['score_before'])} → {f4(x['score_after'])}",
            f"{h(x['rank_before'])} → {h(x['rank_after'])}",
            f"{_chip(x['band_before'])} → {_chip(x['band_after'])}",
        )  # fmt: skip
        for x in c.criteria
    ]
    crit = (
        _table(("criterion", "C before → after", "W×C", "rank", "band"), crit_rows, "changes-criteria")
        if crit_rows
        else '<p class="note">No criterion changed its likelihood, rank or band.</p>'
    )
    leaf_rows = [
        (
            f'<a href="#leaf-{h(x["indicator_id"])}"><b>{h(x["indicator_id"])}</b></a> {h(x["name_en"])}',
            f"{num(x['level_before'])} → <b>{num(x['level_after'])}</b>",
            f"{num(x['value_before'])} → {num(x['value_after'])} {h(x['unit'])}",
            f"{num(x['numerator_before'])} / {num(x['denominator_before'])}",
            f"{num(x['numerator_after'])} / {num(x['denominator_after'])}",
            f"{h(x['status_before'])} → {h(x['status_after'])}",
        )  # fmt: skip
        for x in c.leaves
    ]
    leaves = (
        _table(
            ("leaf", "level before → after", "value", "num / den before", "num / den after", "status"),
            leaf_rows,
            "changes-leaves",
        )  # fmt: skip
        if leaf_rows
        else '<p class="note">No leaf changed its level.</p>'
    )
    return f"""
<section id="changes" class="changes">
  <h2>3. What moved</h2>
  <p class="lead">Compared with {h(c.basis)}.</p>
  <p>composite {f4(c.composite_before)} → <b>{f4(c.composite_after)}</b> ({_signed(moved)}); {rating}</p>
  {profile}
  <h3>Criteria whose level, rank or band changed</h3>{crit}
  <h3>Leaves whose level changed</h3>{leaves}
</section>"""


def _leaf_row(leaf: LeafView, with_records: bool) -> tuple[str, ...]:
    thresholds = " · ".join(num(t) for t in leaf.thresholds) if leaf.thresholds else "—"
    link = f'<a href="#rec-{h(leaf.indicator_id)}">records</a>' if with_records else ""
    return (
        f'<b id="leaf-{h(leaf.indicator_id)}">{h(leaf.indicator_id)}</b>',
        f'<span lang="zh">{h(leaf.name_zh)}</span><br><span class="muted">{h(leaf.name_en)}</span>'
        + (f'<br><span class="kri">KRI: {h(leaf.kri_en)}</span>' if leaf.kri_en else ""),
        f'<span class="value">{num(leaf.value)}</span> <span class="muted">{h(leaf.unit)}</span>'
        + (
            f'<br><span class="muted">{num(leaf.numerator)} / {num(leaf.denominator)}</span>'
            if leaf.denominator is not None
            else ""
        ),  # fmt: skip
        f'<span class="thr">{thresholds}</span>',
        _chip(leaf.band, num(leaf.level)) if leaf.band else num(leaf.level),
        h(leaf.status),
        f4(leaf.local_weight),
        f4(leaf.global_weight),
        link,
    )


LEAF_HEAD = ("leaf", "indicator", "value", "thresholds t1 · t2 · t3 · t4", "level", "status", "local W", "global W", "")


def _criteria(d: ReportData) -> str:
    with_records = bool(d.drilldown and d.drilldown.available)
    parts = []
    for c in d.criteria:
        leaves = d.leaves_of(c.criterion_id)
        rows = [_leaf_row(leaf, with_records) for leaf in leaves]
        attrs = [f'data-leaf="{h(leaf.indicator_id)}"' for leaf in leaves]
        parts.append(
            f"""
  <div class="criterion" id="crit-{h(c.criterion_id)}">
    <h3><span class="dot" style="background:{charts.band_colour(c.band)}"></span>{h(c.criterion_id)}
      <span lang="zh">{h(c.name_zh)}</span> {h(c.name_en)}
      <span class="muted">W {f4(c.weight)} · C {f4(c.likelihood)} · W×C {f4(c.score)} · rank {c.rank} ·
      {h(c.band)} · {h(c.attention)}</span></h3>
    {_table(LEAF_HEAD, rows, "leaf-table", attrs)}
  </div>"""
        )
    return f"""
<section id="criteria" class="criteria">
  <h2>4. Criteria and their leaves</h2>
  <p class="lead">Each leaf's value against its four thresholds (the catalogue's; at or below t<i>k</i> scores the
  <i>k</i>-th level, above t4 the top level), its level, status and weights: C = Σ local W × level over the
  criterion's leaves; the global weight is W × local W.</p>
  {"".join(parts)}
</section>"""


def _probabilities(probs: dict[str, float] | None) -> str:
    if not probs:
        return "—"
    items = sorted(((k, float(v)) for k, v in probs.items() if v), key=lambda kv: -kv[1])
    return " · ".join(f"{h(k)} {pct(v)}" for k, v in items) or "—"


def _sensitivity(d: ReportData) -> str:
    s = d.sensitivity
    if s is None:
        return f'<section id="sensitivity" class="sensitivity"><h2>5. Sensitivity</h2><p class="note">{h(d.sensitivity_note)}</p></section>'
    inputs = s.get("inputs") or {}
    switched = ", ".join(f"{h(k)} = {h(v)}" for k, v in inputs.items() if k != "groups") or "—"
    comp = s.get("composite") or {}
    head = (
        f'<p class="lead">{h(s.get("draws"))} Monte Carlo draws (seed {h(s.get("seed"))}; {h(s.get("rejected"))} '
        f"perturbed matrices redrawn for failing the consistency test). Inputs: {switched}.</p>"
    )
    composite = _table(
        ("composite", "published", "5th pct", "median", "95th pct", "rating probability"),
        [
            (
                "Σ W×C",
                f4(comp.get("nominal")),
                f4(comp.get("p05")),
                f4(comp.get("p50")),
                f4(comp.get("p95")),
                _probabilities(comp.get("rating_probability")),
            )
        ],  # fmt: skip
        "sens-composite",
    )
    names = {c.criterion_id: c for c in d.criteria}
    crit_rows = []
    for r in sorted(s.get("criteria", []), key=lambda r: r.get("nominal_rank") or 0):
        c = names.get(r["criterion_id"])
        crit_rows.append(
            (
                f"<b>{h(r['criterion_id'])}</b> {h(c.name_en if c else '')}",
                h(r.get("nominal_rank")),
                f"{num(r.get('rank_p05'))} – {num(r.get('rank_p95'))}",
                num(r.get("rank_p50")),
                _probabilities(r.get("band_probability")),
                _probabilities(r.get("attention_probability")),
            )  # fmt: skip
        )
    chart = charts.rank_interval_svg(s, d.criteria)
    indices = s.get("indices") or []
    index_rows = [(h(i.get("label") or i.get("group")), f4(i.get("first_order")), f4(i.get("total"))) for i in indices]
    loo = sorted(s.get("leave_one_out") or [], key=lambda r: -abs(r.get("change") or 0.0))
    loo_rows = [
        (
            f'<a href="#leaf-{h(r["indicator_id"])}">{h(r["indicator_id"])}</a>',
            h(r.get("criterion_id")),
            f4(r.get("composite")),
            _signed(r.get("change")),
            "yes" if r.get("ranking_changed") else ("—" if r.get("ranking_changed") is None else "no"),
            h(r.get("note") or ""),
        )  # fmt: skip
        for r in loo
    ]
    return f"""
<section id="sensitivity" class="sensitivity">
  <h2>5. Sensitivity</h2>
  {head}
  {composite}
  {f'<figure class="ranks">{chart}</figure>' if chart else ''}
  {_table(("criterion", "published rank", "rank 5th–95th pct", "median rank", "band probability",
           "attention probability"), crit_rows, "sens-criteria")}
  <h3>What drives the composite (first-order and total indices)</h3>
  {_table(("input group", "first order", "total"), index_rows, "sens-indices") if index_rows
   else '<p class="note">No indices (the composite does not vary).</p>'}
  <h3>Leave one leaf out</h3>
  {_table(("leaf left out", "criterion", "composite without it", "change", "ranking changed", "note"), loo_rows,
          "sens-loo") if loo_rows else '<p class="note">Not computed.</p>'}
</section>"""  # fmt: skip


def _provenance(d: ReportData) -> str:
    rows = "".join(f"<tr><th>{h(k)}</th><td><code>{h(v)}</code></td></tr>" for k, v in d.provenance)
    quality = ""
    q = d.quality
    if q is not None:
        runs = _table(
            ("run", "suites", "evaluated", "passed", "critical failed", "warnings", "finished"),
            [(f"<code>{h(r['run_id'])}</code>", h(r["suites"]), h(r["evaluated"]), h(r["passed"]),
              h(r["failed_critical"]), h(r["failed_warning"]), h(r["finished_at"]))  # fmt: skip
             for r in q.runs],
            "dq-runs",
        ) if q.runs else ""  # fmt: skip
        failures = _table(
            ("severity", "suite", "expectation", "observed", "expected"),
            [(h(f["severity"]), h(f["suite"]), h(f["expectation"]), h(f["observed_value"]), h(f["expected"]))
             for f in q.failures],
            "dq-failures",
        ) if q.failures else '<p class="note">No expectation failed.</p>'  # fmt: skip
        cleared = ""
        if q.cleared_files:
            cleared = (
                "<p>Failed files of the window that did not block (acknowledged or superseded):</p><ul>"
                + "".join(
                    f"<li><code>{h(f.get('path'))}</code> ({h(f.get('failure'))}): {h(_cleared_how(f))}</li>"
                    for f in q.cleared_files
                )
                + "</ul>"
            )
        quality = f"""
  <h3>Data quality: {h(q.verdict)}</h3>
  <p>{h(q.summary)}.</p>
  {runs}{failures}{cleared}"""
    return f"""
<section id="provenance" class="provenance">
  <h2>6. Provenance</h2>
  <table class="kv">{rows}</table>
  {quality}
</section>"""


def _cleared_how(f: dict) -> str:
    if f.get("reason") is not None:
        return f"acknowledged by {f.get('acked_by') or '—'} at {f.get('acked_at') or '—'}: {f['reason']}"
    return f"superseded by {f.get('superseded_by') or '—'} ({f.get('how') or f.get('cleared_by') or '—'})"


def _records(d: ReportData) -> str:
    dd = d.drilldown
    if dd is None or not dd.available:
        note = dd.note if dd is not None else "No drill-down."
        return f'<section id="records" class="records"><h2>Appendix: contributing records</h2><p class="note">{h(note)}</p></section>'
    parts = []
    for leaf in d.leaves:
        ex = dd.explanations.get(leaf.indicator_id)
        if ex is None:
            why = dd.errors.get(leaf.indicator_id, "no explanation")
            parts.append(
                f'<div class="rec" id="rec-{h(leaf.indicator_id)}"><h3>{h(leaf.indicator_id)} {h(leaf.name_en)}</h3>'
                f'<p class="note">Unavailable: {h(why)}</p></div>'
            )
            continue
        columns = list(ex.get("columns") or [])
        records = list(ex.get("records") or [])
        total = ex.get("total_records")
        table = (
            _table([h(c) for c in columns], [[h(_cell(r.get(c))) for c in columns] for r in records], "rec-table")
            if records
            else '<p class="note">No contributing records.</p>'
        )
        kind = h(ex.get("kind") or "")
        figure = f"value {num(ex.get('value'))} {h(ex.get('unit'))}"
        if ex.get("denominator") is not None:
            figure += f" = {num(ex.get('numerator'))} / {num(ex.get('denominator'))}"
        elif ex.get("sample_size") is not None:
            figure += f" (sample of {num(ex.get('sample_size'))})"
        window = ""
        if ex.get("window_start") or ex.get("window_end"):
            window = f" · window {h(ex.get('window_start'))} – {h(ex.get('window_end'))}"
        parts.append(
            f"""
  <div class="rec" id="rec-{h(leaf.indicator_id)}">
    <h3><a href="#leaf-{h(leaf.indicator_id)}">{h(leaf.indicator_id)}</a> <span lang="zh">{h(leaf.name_zh)}</span>
      {h(leaf.name_en)}</h3>
    <p class="formula">KRI: {h(ex.get("formula"))}{f" · {kind}" if kind else ""}</p>
    <p>{figure} · level {num(ex.get("level"))} · {h(ex.get("status"))}{window} · showing {len(records)} of
      {h(total)} record(s){f". {h(ex.get('records_are'))}" if ex.get("records_are") else ""}</p>
    <div class="rec-rows">{table}</div>
  </div>"""
        )
    return f"""
<section id="records" class="records">
  <h2>Appendix: contributing records</h2>
  <p class="lead">{h(dd.note)}</p>
  <p class="print-only note">Not printed: the {dd.records} newest contributing records of each of the
  {len(d.leaves)} leaves are in the HTML report (report.html next to this PDF), in this appendix, one table per
  leaf linked from its row in section 4.</p>
  <div class="screen-only">{SCREEN_ONLY}{"".join(parts)}{END_SCREEN_ONLY}</div>
</section>"""


def _cell(value: Any) -> Any:
    if isinstance(value, float):
        return num(value)
    return value


# ---- the page -----------------------------------------------------------------------------------------------------

_CSS = """
:root { --ink:#1f2933; --muted:#52606d; --line:#d9e2ec; --bg:#f5f7fa; --card:#fff; --accent:#243b53; }
* { box-sizing: border-box; }
html { font-size: 14px; }
body { margin: 0; background: var(--bg); color: var(--ink);
  font-family: "DejaVu Sans", "Helvetica Neue", Arial, "WenQuanYi Zen Hei", "Noto Sans CJK SC", "PingFang SC",
  "Microsoft YaHei", sans-serif; line-height: 1.4; }
main { max-width: 1120px; margin: 0 auto; padding: 16px 20px 40px; }
nav.toc { position: sticky; top: 0; z-index: 2; background: var(--accent); color: #fff; padding: 6px 20px;
  font-size: 12.5px; }
nav.toc a { color: #fff; text-decoration: none; margin-right: 14px; }
nav.toc a:hover { text-decoration: underline; }
header.headline, section { background: var(--card); border: 1px solid var(--line); border-radius: 8px;
  padding: 14px 18px; margin: 14px 0; }
h1 { font-size: 1.55rem; margin: 2px 0 6px; }
h2 { font-size: 1.2rem; margin: 0 0 8px; color: var(--accent); }
h3 { font-size: 1rem; margin: 14px 0 6px; }
.goal { color: var(--muted); font-size: .9rem; }
.badges { margin: 4px 0 10px; }
.badge { display: inline-block; font-size: .72rem; font-weight: bold; letter-spacing: .04em; padding: 2px 8px;
  border-radius: 10px; margin-right: 6px; background: #d9e2ec; color: var(--ink); }
.badge-override { background: #b44d12; color: #fff; }
.badge-provisional, .badge-in-memory { background: #8d2b0b; color: #fff; }
.badge-forced { background: #6b4d00; color: #fff; }
.badge-final { background: #2f8132; color: #fff; }
.tiles { display: flex; flex-wrap: wrap; gap: 10px; }
.tile { flex: 1 1 170px; border: 1px solid var(--line); border-left: 6px solid var(--line); border-radius: 6px;
  padding: 8px 12px; }
.tile.wide { flex: 2 1 260px; }
.tile .k { font-size: .75rem; text-transform: uppercase; color: var(--muted); letter-spacing: .05em; }
.tile .v { font-size: 1.25rem; font-weight: bold; }
.tile .v.big { font-size: 2.3rem; line-height: 1.1; }
.tile .v.small { font-size: .95rem; }
.tile .s { font-size: .82rem; color: var(--muted); margin-top: 2px; }
.quality-passed { border-left-color: #2f8132; }
.quality-passed-with-warnings { border-left-color: #e0a800; }
.quality-failed, .quality-not-recorded { border-left-color: #a50026; }
.chip { display: inline-block; padding: 0 7px; border-radius: 9px; font-size: .85em; color: #111;
  border: 1px solid rgba(0,0,0,.15); white-space: nowrap; }
.act { margin-top: 10px; }
.act-title { font-size: 1rem; margin: 4px 0; }
.act ul { margin: 0; padding-left: 0; list-style: none; }
.act li { margin: 4px 0; }
.att { display: inline-block; min-width: 250px; border-left: 6px solid; padding-left: 6px; font-weight: bold; }
.muted { color: var(--muted); }
.note { color: var(--muted); font-style: italic; }
.lead { color: var(--muted); margin-top: 0; }
figure { margin: 6px 0; }
svg.chart { width: 100%; height: auto; display: block; }
figure.heatmap svg.chart { max-width: 860px; margin: 0 auto; }
figure.ranking svg.chart, figure.ranks svg.chart { max-width: 760px; margin: 0 auto; }
figure.trend svg.chart { max-width: 900px; margin: 0 auto; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 10px; font-size: .86rem; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 6px; text-align: left; vertical-align: top; }
thead th { background: #eef2f7; font-size: .78rem; text-transform: uppercase; letter-spacing: .03em;
  color: var(--muted); }
td .rank { font-weight: bold; }
table.kv th { width: 26%; color: var(--muted); font-weight: normal; }
code { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: .82rem; word-break: break-all; }
.kri { font-size: .78rem; color: var(--muted); }
.dot { display: inline-block; width: 11px; height: 11px; border-radius: 50%; margin-right: 6px;
  border: 1px solid var(--ink); }
.criterion h3 .muted { font-weight: normal; font-size: .82rem; }
.rec-rows { overflow-x: auto; }
table.rec-table { font-size: .76rem; }
table.rec-table td { white-space: nowrap; }
.print-only { display: none; }
/* fixed table layout: the same columns in every leaf table, and WeasyPrint lays each cell out once instead of
   measuring every cell's content first (half the PDF's layout time) */
table { table-layout: fixed; }
thead th:first-child { width: 24%; }
table.criteria-table th:nth-child(1) { width: 6%; } table.criteria-table th:nth-child(2) { width: 5%; }
table.criteria-table th:nth-child(3) { width: 25%; } table.criteria-table th:nth-child(7) { width: 15%; }
table.criteria-table th:nth-child(8) { width: 22%; }
table.leaf-table th:nth-child(1) { width: 6%; } table.leaf-table th:nth-child(2) { width: 32%; }
table.leaf-table th:nth-child(3) { width: 12%; } table.leaf-table th:nth-child(4) { width: 14%; }
table.leaf-table th:nth-child(9) { width: 7%; }
table.trend-table th:nth-child(1) { width: 12%; } table.trend-table th:nth-child(4) { width: 11%; }
table.sens-loo th:nth-child(1) { width: 14%; } table.sens-loo th:nth-child(6) { width: 26%; }
table.dq-runs th:nth-child(1) { width: 26%; } table.dq-runs th:nth-child(7) { width: 22%; }
table.rec-table { table-layout: auto; }
table.rec-table thead th:first-child { width: auto; }
[lang="zh"] { font-family: "WenQuanYi Zen Hei", "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif; }
footer { color: var(--muted); font-size: .78rem; text-align: center; margin-top: 10px; }
@media print {
  @page { size: A4; margin: 11mm 10mm 12mm;
    @bottom-right { content: "page " counter(page) " of " counter(pages); font: 8pt "DejaVu Sans", sans-serif;
      color: #52606d; }
    @bottom-left { content: string(report-title); font: 8pt "DejaVu Sans", sans-serif; color: #52606d; } }
  html { font-size: 9.2pt; }
  body { background: #fff; }
  main { max-width: none; padding: 0; }
  nav.toc { display: none; }
  h1 { string-set: report-title content(); font-size: 15pt; }
  header.headline, section { border: none; border-radius: 0; padding: 0; margin: 0 0 5mm; }
  header.headline { border-bottom: 1px solid var(--line); padding-bottom: 2mm; margin-bottom: 3mm; }
  .tile .v.big { font-size: 20pt; }
  .act li { margin: 1px 0; }
  figure.heatmap svg.chart { width: 180mm; max-width: 100%; }
  section.matrix figure.ranking { break-before: page; }
  section.trend, section.criteria, section.sensitivity, section.provenance, section.records { break-before: page; }
  h2, h3 { break-after: avoid; }
  tr, figure { break-inside: avoid; }
  thead { display: table-header-group; }
  table.leaf-table th:nth-child(9), table.leaf-table td:nth-child(9) { display: none; }
  .screen-only { display: none; }
  .print-only { display: block; }
  a { color: inherit; text-decoration: none; }
}
"""


def render_html(d: ReportData) -> str:
    """The report of ``d`` as one self-contained HTML document."""
    toc = "".join(
        f'<a href="#{anchor}">{label}</a>'
        for anchor, label in (
            ("headline", "Headline"),
            ("matrix", "1 Risk matrix"),
            ("trend", "2 Trend"),
            ("changes", "3 What moved"),
            ("criteria", "4 Criteria"),
            ("sensitivity", "5 Sensitivity"),
            ("provenance", "6 Provenance"),
            ("records", "Records"),
        )  # fmt: skip
    )
    body = "".join(
        (_headline(d), _matrix(d), _trend(d), _changes(d), _criteria(d), _sensitivity(d), _provenance(d), _records(d))
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="riskcard">
<title>{h(d.title)}</title>
<style>{_CSS}</style>
</head>
<body>
<nav class="toc">{toc}</nav>
<main>
{body}
<footer>riskcard committee report · {h(d.title)} · one self-contained file: nothing is loaded from anywhere</footer>
</main>
</body>
</html>
"""


__all__ = ["render_html"]
