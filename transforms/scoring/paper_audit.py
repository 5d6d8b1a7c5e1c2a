"""A faithful audit of the published case study: run the paper's own method on the paper's own inputs and show,
figure by figure, what follows from them and what does not (method document, sections 2-6).

The paper's printed inputs and results (Table 3, the Table 5 weights, the C levels, Tables 6 and 7, the quoted
random index) are data in ``seeds/ahp/``; every figure reported here is computed from them by the same code that
weighs the production scorecard (``transforms.scoring.ahp``, ``transforms.scoring.profiles``, ``transforms.scoring.synthesis``).
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from transforms.indicators.catalogue import Catalogue, load_catalogue
from transforms.scoring.ahp import (
    CR_LIMIT,
    METHODS,
    RANDOM_INDEX,
    RECIPROCITY,
    AhpResult,
    JudgmentMatrix,
    analyse,
    is_reciprocal,
    read_matrix,
)
from transforms.scoring.profiles import WeightProfile, load_profile
from transforms.scoring.synthesis import Scorecard, synthesize

CASE_STUDY = Path("ahp") / "paper" / "case_study.toml"
PUBLISHED_DECIMALS = 3  # Table 5 prints weights to 3 decimals: a method "reproduces" them within half a unit
SCORE_DECIMALS = 4  # Table 6 prints W×C to 4 decimals
COMPOSITE_DECIMALS = 3  # the paper quotes the composite to 3 decimals


@dataclass
class PaperAudit:
    printed: dict[str, AhpResult]  # method -> Table 3 as printed
    repaired: dict[str, AhpResult]  # method -> Table 3 repaired from the upper triangle
    repairs: list[dict[str, Any]]  # cells the repair changed
    default_matrix_is_repair: bool  # seeds/ahp/criterion_matrix.csv holds exactly the computed repair
    default_matrix: str
    published_label: str
    published: dict[str, float]
    weight_gaps: list[dict[str, Any]]
    ri_quote: dict[str, Any]
    glued: list[dict[str, Any]]
    reproduction: dict[str, Any]
    derived: list[dict[str, Any]] = field(default_factory=list)

    @property
    def reproduced(self) -> bool:
        return bool(self.reproduction["all_match"])

    def to_dict(self) -> dict[str, Any]:
        return {
            "printed_table3": {m: r.to_dict() for m, r in self.printed.items()},
            "repair": {
                "cells": self.repairs,
                "default_matrix": self.default_matrix,
                "default_matrix_is_repair": self.default_matrix_is_repair,
            },
            "repaired_table3": {m: r.to_dict() for m, r in self.repaired.items()},
            "published_weights": {
                "profile": self.published_label,
                "override": True,
                "weights": self.published,
                "gaps": self.weight_gaps,
            },
            "random_index_quote": self.ri_quote,
            "table6_glued_cells": self.glued,
            "reproduction": self.reproduction,
            "same_levels_with_derived_weights": self.derived,
            "reproduced": self.reproduced,
        }


def load_case_study(settings) -> tuple[Path, dict[str, Any]]:
    path = settings.seeds_dir / CASE_STUDY
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"{path}: cannot read the paper's case-study data ({exc})") from None
    for key in ("printed_matrix", "repaired_matrix", "published_profile", "consistency_quote", "table6", "composite"):
        if key not in data:
            raise ValueError(f"{path}: missing {key!r}")
    return path, data


def repair_from_upper(m: JudgmentMatrix) -> tuple[JudgmentMatrix, list[dict[str, Any]]]:
    """Set every non-reciprocal lower cell a(j,i), i < j, to 1/a(i,j): the upper triangle holds the judgments.
    Non-reciprocal is the validation's rule (``ahp.is_reciprocal``), so the repair changes exactly the cells the
    reciprocity check names, and leaves a rounded reciprocal such as 0.333 for 1/3 as written."""
    values = [list(row) for row in m.values]
    changes = []
    for i in range(m.n):
        for j in range(i + 1, m.n):
            if not is_reciprocal(values[i][j], values[j][i]):
                new = 1 / values[i][j]
                changes.append(
                    {
                        "cell": f"({m.labels[j]},{m.labels[i]})",
                        "row": m.labels[j],
                        "column": m.labels[i],
                        "printed": values[j][i],
                        "repaired": new,
                        "because": f"a({m.labels[i]},{m.labels[j]}) = {values[i][j]:g}",
                    }
                )
                values[j][i] = new
    repaired = JudgmentMatrix.from_values(m.labels, values, name="Table 3 repaired from the upper triangle")
    return repaired, changes


def audit_paper(settings, catalogue: Catalogue | None = None) -> PaperAudit:
    case_path, case = load_case_study(settings)
    catalogue = catalogue or load_catalogue(settings)
    base = case_path.parent

    printed_path = (base / case["printed_matrix"]).resolve()
    printed_m = read_matrix(printed_path, name=f"Table 3 as printed ({_rel(printed_path, settings)})")
    printed = {method: analyse(printed_m, method) for method in METHODS}
    repaired_m, repairs = repair_from_upper(printed_m)
    repaired = {method: analyse(repaired_m, method) for method in METHODS}
    default_path = (base / case["repaired_matrix"]).resolve()
    default_m = read_matrix(default_path).reordered(printed_m.labels)
    default_is_repair = all(
        math.isclose(a, b, rel_tol=1e-12)
        for ra, rb in zip(default_m.values, repaired_m.values, strict=True)
        for a, b in zip(ra, rb, strict=True)
    )

    profile = load_profile(case["published_profile"], settings, catalogue=catalogue)
    published = dict(profile.criterion_weights)
    gaps = []
    for variant, results in (("printed", printed), ("repaired", repaired)):
        for method, result in results.items():
            gaps.append(_weight_gap(variant, method, result, published))

    ri_quote = _ri_quote(case["consistency_quote"], printed, repaired, printed_m.n)
    reproduction, scorecard = _reproduce(case, profile, catalogue)
    glued = _glued_cells(case["table6"], scorecard)
    levels = _levels_from_c(case, catalogue)
    derived = []
    for variant, results in (("repaired", repaired),):
        for method, result in results.items():
            derived.append(_with_weights(f"Table 3 {variant}, {method}", method, result, levels, catalogue))

    return PaperAudit(
        printed=printed,
        repaired=repaired,
        repairs=repairs,
        default_matrix_is_repair=default_is_repair,
        default_matrix=_rel(default_path, settings),
        published_label=profile.label,
        published=published,
        weight_gaps=gaps,
        ri_quote=ri_quote,
        glued=glued,
        reproduction=reproduction,
        derived=derived,
    )


def _weight_gap(variant: str, method: str, result: AhpResult, published: dict[str, float]) -> dict[str, Any]:
    assert result.weights is not None
    diffs = {c: result.weights[c] - published[c] for c in published}
    worst = max(diffs, key=lambda c: (abs(diffs[c]), c))
    ratios = {c: max(result.weights[c] / published[c], published[c] / result.weights[c]) for c in published}
    worst_ratio = max(ratios, key=lambda c: (ratios[c], c))
    tolerance = 0.5 * 10**-PUBLISHED_DECIMALS + 1e-12
    return {
        "matrix": variant,
        "method": method,
        "weights": result.weights,
        "reproduces_published": all(abs(d) <= tolerance for d in diffs.values()),
        "criteria_off_by_more_than_rounding": [c for c, d in diffs.items() if abs(d) > tolerance],
        "largest_difference": {
            "criterion": worst,
            "published": published[worst],
            "computed": result.weights[worst],
            "difference": diffs[worst],
        },
        "largest_ratio": {
            "criterion": worst_ratio,
            "published": published[worst_ratio],
            "computed": result.weights[worst_ratio],
            "ratio": ratios[worst_ratio],
        },
    }


def _ri_quote(quote: dict[str, Any], printed, repaired, order: int) -> dict[str, Any]:
    n_quoted, ri_quoted = int(quote["n"]), float(quote["ri"])
    cr_with_quote = {
        f"{variant}/{method}": results[method].ci / ri_quoted
        for variant, results in (("printed", printed), ("repaired", repaired))
        for method in METHODS
    }
    return {
        "quoted_n": n_quoted,
        "quoted_ri": ri_quoted,
        "matrix_order": order,
        "ri_for_matrix_order": RANDOM_INDEX[order],
        "quote_is_table2_value_for_quoted_n": math.isclose(RANDOM_INDEX.get(n_quoted, math.nan), ri_quoted),
        "misquoted": n_quoted != order or not math.isclose(RANDOM_INDEX[order], ri_quoted),
        "cr_with_quoted_ri": cr_with_quote,
    }


def _levels_from_c(case: dict[str, Any], catalogue: Catalogue) -> dict[str, float]:
    """A leaf-level input giving the paper's C levels: every leaf of a criterion at that criterion's C."""
    c_of = {row["criterion_id"]: float(row["likelihood"]) for row in case["table6"]}
    return {ind.indicator_id: c_of[ind.criterion_id] for ind in catalogue.indicators}


def _reproduce(case: dict[str, Any], profile: WeightProfile, catalogue: Catalogue) -> tuple[dict[str, Any], Scorecard]:
    scorecard = synthesize(_levels_from_c(case, catalogue), profile, catalogue)
    rows = []
    for printed in case["table6"]:
        got = scorecard.criterion(printed["criterion_id"])
        row = {
            "criterion_id": got.criterion_id,
            "weight": got.weight,
            "weight_printed": float(printed["weight"]),
            "likelihood": got.likelihood,
            "likelihood_printed": float(printed["likelihood"]),
            "score": round(got.score, SCORE_DECIMALS),
            "score_printed": float(printed["score"]),
            "rank": got.rank,
            "rank_printed": int(printed["rank"]),
            "band_zh": got.band_zh,
            "attention": got.attention,
            "attention_zh": got.attention_zh,
            "attention_printed_zh": printed["attention_zh"],
        }
        row["weight_match"] = math.isclose(row["weight"], row["weight_printed"], abs_tol=1e-12)
        row["likelihood_match"] = math.isclose(got.likelihood, row["likelihood_printed"], abs_tol=1e-9)
        row["score_match"] = math.isclose(row["score"], row["score_printed"], abs_tol=1e-12)
        row["rank_match"] = row["rank"] == row["rank_printed"]
        row["attention_match"] = row["attention_zh"] == row["attention_printed_zh"]
        rows.append(row)
    composite_printed = float(case["composite"]["value"])
    composite = round(scorecard.composite, COMPOSITE_DECIMALS)
    result = {
        "profile": profile.label,
        "override": profile.override,
        "method": profile.method,
        "criteria": rows,
        "composite": scorecard.composite,
        "composite_rounded": composite,
        "composite_printed": composite_printed,
        "composite_match": math.isclose(composite, composite_printed, abs_tol=1e-12),
        "rating": scorecard.rating,
        "rating_zh": scorecard.rating_zh,
        "rating_printed_zh": case["composite"]["rating_zh"],
        "rating_match": scorecard.rating_zh == case["composite"]["rating_zh"],
    }
    checks = ("weight_match", "likelihood_match", "score_match", "rank_match", "attention_match")
    result["all_match"] = (
        len(rows) == len(catalogue.criteria)
        and all(r[c] for r in rows for c in checks)
        and result["composite_match"]
        and result["rating_match"]
    )
    return result, scorecard


def _significant_digits(text: str) -> str:
    return text.replace(".", "").replace("-", "").lstrip("0")


def _glued_cells(table6: list[dict[str, Any]], scorecard: Scorecard) -> list[dict[str, Any]]:
    """Cells printed differently from their value: is the text the computed W×C's digits + the computed rank?"""
    out = []
    for row in table6:
        text = row.get("printed_text")
        if not text:
            continue
        got = scorecard.criterion(row["criterion_id"])
        score_text = f"{got.score:.{SCORE_DECIMALS}f}"
        explained = _significant_digits(text) == _significant_digits(score_text) + str(got.rank)
        out.append(
            {
                "criterion_id": got.criterion_id,
                "printed_text": text,
                "computed_score": score_text,
                "computed_rank": got.rank,
                "explained_as_score_then_rank": explained,
            }
        )
    return out


def _with_weights(label: str, method: str, result: AhpResult, levels: dict[str, float], catalogue: Catalogue):
    """The paper's C levels scored with weights its own (repaired) judgments give, for comparison."""
    assert result.weights is not None
    profile = WeightProfile(
        name=label,
        method=method,
        override=False,
        criterion_weights=dict(result.weights),
        local_weights={
            c.criterion_id: {
                i.indicator_id: 1 / len(catalogue.leaves_of(c.criterion_id))
                for i in catalogue.leaves_of(c.criterion_id)
            }
            for c in catalogue.criteria
        },
        content_hash="",
        checks=[result],
    )
    sc = synthesize(levels, profile, catalogue)
    return {
        "weights_from": label,
        "composite": sc.composite,
        "rating": sc.rating,
        "rating_zh": sc.rating_zh,
        "ranking": [c.criterion_id for c in sorted(sc.criteria, key=lambda c: c.rank)],
        "criteria": [
            {
                "criterion_id": c.criterion_id,
                "weight": c.weight,
                "score": c.score,
                "rank": c.rank,
                "attention": c.attention,
            }
            for c in sc.criteria
        ],
    }


def _rel(path: Path, settings) -> str:
    try:
        return str(path.relative_to(Path(settings.project_dir).resolve()))
    except ValueError:
        return str(path)


# ---- text rendering ------------------------------------------------------------------------------------------


def render(audit: PaperAudit) -> str:
    from transforms.core.rendering import table

    out: list[str] = []
    p_eig = audit.printed["eigenvector"]
    out.append("AUDIT OF THE PUBLISHED CASE STUDY (paper chapter 4; figures recomputed from its printed inputs)")
    out.append("")
    out.append(f"1. Table 3 as printed: {'REJECTED' if not p_eig.valid else 'accepted'}")
    for d in p_eig.errors:
        if d.rule == RECIPROCITY:
            out.append(
                f"   - not reciprocal at ({d.row},{d.column})/({d.column},{d.row}): "
                f"a({d.row},{d.column}) = {d.value:g} but a({d.column},{d.row}) = {d.mirror_value:g}"
            )
    crs = ", ".join(f"{m} CR = {r.cr:.3f}" for m, r in audit.printed.items())
    failed = all(r.cr >= CR_LIMIT for r in audit.printed.values())
    out.append(
        f"   - consistency with RI({p_eig.n}) = {p_eig.ri:.2f}: {crs}" + (f" (>= {CR_LIMIT}: fails)" if failed else "")
    )
    out.append(_consistency_table(audit.printed, "   Table 3 as printed"))
    out.append("")
    out.append("2. Table 3 repaired from the upper triangle:")
    for r in audit.repairs:
        out.append(f"   - a{r['cell']}: {r['printed']:g} -> {_frac(r['repaired'])} (reciprocal of {r['because']})")
    verdict = "passes" if audit.repaired["eigenvector"].valid else "FAILS"
    out.append(
        f"   The repaired matrix {verdict} the CR < {CR_LIMIT} test. "
        f"Default profile matrix {audit.default_matrix} "
        f"{'is exactly this repair' if audit.default_matrix_is_repair else 'DIFFERS from this repair (edited)'}."
    )
    out.append(_consistency_table(audit.repaired, "   Table 3 repaired"))
    out.append("")
    out.append(f"3. Published criterion weights (Table 5) vs what the method gives — profile {audit.published_label}")
    rows = []
    for c, w in audit.published.items():
        row: dict[str, Any] = {"criterion": c, "published": w}
        for g in audit.weight_gaps:
            row[f"{g['matrix']}/{g['method']}"] = round(g["weights"][c], 3)
        rows.append(row)
    out.append(_indent(table(rows)))
    for g in audit.weight_gaps:
        big, ratio = g["largest_difference"], g["largest_ratio"]
        out.append(
            f"   - {g['matrix']}/{g['method']}: {'reproduces' if g['reproduces_published'] else 'does NOT reproduce'} "
            f"the published weights; largest difference {big['criterion']} {big['computed']:.3f} vs {big['published']:.3f} "
            f"({big['difference']:+.3f}); largest ratio {ratio['criterion']} {ratio['computed']:.3f} vs "
            f"{ratio['published']:.3f} (x{ratio['ratio']:.1f})"
        )
    out.append("")
    q = audit.ri_quote
    out.append(
        f"4. Random index: the paper's consistency step quotes n = {q['quoted_n']}, RI = {q['quoted_ri']:.2f} "
        f"for the {q['matrix_order']}x{q['matrix_order']} criterion matrix; RI({q['matrix_order']}) = {q['ri_for_matrix_order']:.2f}"
        + (
            f" (the quoted value is Table 2's RI for n = {q['quoted_n']})"
            if q["quote_is_table2_value_for_quoted_n"]
            else ""
        )
        + (". MISQUOTED." if q["misquoted"] else ".")
    )
    out.append("   CR with the quoted RI: " + ", ".join(f"{k} {v:.3f}" for k, v in q["cr_with_quoted_ri"].items()))
    out.append("")
    out.append("5. Table 6 cells with the rank digit glued on:")
    for gcell in audit.glued:
        out.append(
            f'   - {gcell["criterion_id"]}: printed "{gcell["printed_text"]}" = W×C {gcell["computed_score"]} followed by '
            f"rank {gcell['computed_rank']}"
            if gcell["explained_as_score_then_rank"]
            else f'   - {gcell["criterion_id"]}: printed "{gcell["printed_text"]}" is not W×C {gcell["computed_score"]} '
            f"and is not explained by the rank digit"
        )
    out.append("")
    rep = audit.reproduction
    out.append(
        f"6. Tables 6 and 7 recomputed with profile {rep['profile']} and the paper's C levels "
        "(every leaf of a criterion at its C):"
    )
    rows = [
        {
            "criterion": r["criterion_id"],
            "W": r["weight"],
            "C": round(r["likelihood"], 9),
            "W×C": f"{r['score']:.4f}",
            "printed": f"{r['score_printed']:.4f}",
            "rank": r["rank"],
            "printed rank": r["rank_printed"],
            "attention (Table 7)": f"{r['attention_zh']} {r['attention']}",
            "printed attention": r["attention_printed_zh"],
            "match": "yes"
            if all(r[k] for k in ("weight_match", "likelihood_match", "score_match", "rank_match", "attention_match"))
            else "NO",
        }
        for r in rep["criteria"]
    ]
    out.append(_indent(table(rows)))
    out.append(
        f"   composite Σ W×C = {rep['composite_rounded']:.3f} (printed {rep['composite_printed']:.3f}), "
        f"rating {rep['rating_zh']} {rep['rating']} (printed {rep['rating_printed_zh']}) — "
        + ("Tables 6 and 7 REPRODUCED (override weights)" if rep["all_match"] else "NOT reproduced")
    )
    out.append("")
    out.append("7. The same C levels with weights the paper's own (repaired) judgments give:")
    for d in audit.derived:
        out.append(
            f"   - {d['weights_from']}: composite {d['composite']:.3f} ({d['rating_zh']} {d['rating']}); "
            f"ranking {' > '.join(d['ranking'])}"
        )
    return "\n".join(out)


def _consistency_table(results: dict[str, AhpResult], title: str) -> str:
    from transforms.core.rendering import table

    rows = []
    for method, r in results.items():
        row: dict[str, Any] = {"method": method}
        row.update({k: round(v, 3) for k, v in (r.weights or {}).items()})
        row.update(
            {
                "λmax": round(r.lambda_max, 4),
                "CI": round(r.ci, 4),
                "RI": r.ri,
                "CR": round(r.cr, 4),
                "verdict": "accepted" if r.valid else "REJECTED",
            }
        )
        rows.append(row)
    return _indent(table(rows, title=title.strip()))


def _indent(text: str, prefix: str = "   ") -> str:
    return "\n".join(prefix + line for line in text.splitlines())


def _frac(v: float) -> str:
    inv = 1 / v
    if abs(v - round(v)) < 1e-9:
        return str(int(round(v)))
    if abs(inv - round(inv)) < 1e-9:
        return f"1/{int(round(inv))}"
    return f"{v:.4g}"


__all__ = ["PaperAudit", "audit_paper", "load_case_study", "render", "repair_from_upper"]
