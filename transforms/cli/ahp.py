"""`riskcard ahp`: check judgment matrices and weight profiles; audit the published case study.

    riskcard ahp check FILE.csv [FILE.csv ...] [--method eigenvector|geometric] [--ri RI] [--format table|json]
    riskcard ahp check PROFILE                  (a name under seeds/ahp/profiles/ or a .toml path)
    riskcard ahp paper [--format table|json]

Several CSV files are several experts' matrices for one comparison (aggregated by AIJ). Exit status: 0 valid,
1 invalid (every defect printed), 2 when the file or profile does not exist.

A rejected matrix (not reciprocal, or CR >= 0.1) comes with suggested revisions, best first (JSON ``revisions``:
row, col, current, suggested, cr_after, ...; ``transforms.scoring.repair``); nothing is written to the files.
Judgments left empty (both cells of a pair) are allowed while the rest connect every item: the output lists them
with the value the others imply (JSON ``missing``).
"""

from __future__ import annotations

import sys
from pathlib import Path

from transforms.cli.arguments import add_format_option
from transforms.core.settings import AHP_METHODS

HELP = "AHP: check judgment matrices or weight profiles (weights, λmax, CI, CR); audit the paper's case study"
EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


def add_arguments(parser) -> None:
    sub = parser.add_subparsers(dest="ahp_command", metavar="ACTION", required=True)
    check = sub.add_parser(
        "check",
        help="validate a judgment matrix (CSV), several experts' matrices, or a weight profile",
        description="Print weights, λmax, CI, CR, the verdict and every defect; exit 1 when invalid.",
    )
    check.add_argument(
        "target",
        nargs="+",
        metavar="FILE_OR_PROFILE",
        help="matrix CSV file(s) (several = experts, aggregated by AIJ) or a profile name / .toml",
    )
    check.add_argument(
        "--method",
        choices=list(AHP_METHODS),
        help="weighting method (default: the profile's, else settings ahp_method)",
    )
    check.add_argument("--ri", type=float, help="random index to use (needed only for matrices larger than 15x15)")
    add_format_option(check)
    paper = sub.add_parser(
        "paper",
        help="audit the published case study: Table 3's defects, the weights, and Tables 6-7 reproduced",
        description="Recompute the paper's figures from its printed inputs and report where they do not follow.",
    )
    add_format_option(paper)


def run(args, settings) -> int:
    if args.ahp_command == "paper":
        return _paper(args, settings)
    targets = [str(t) for t in args.target]
    if any(_is_matrix_file(t) for t in targets):
        return _check_matrices(args, settings, targets)
    if len(targets) != 1:
        print("riskcard ahp check: give one profile, or one or more matrix .csv files", file=sys.stderr)
        return EXIT_USAGE
    return _check_profile(args, settings, targets[0])


def _is_matrix_file(target: str) -> bool:
    return target.lower().endswith(".csv") or (Path(target).is_file() and not target.lower().endswith(".toml"))


def _check_matrices(args, settings, targets: list[str]) -> int:
    from transforms.core.rendering import to_json
    from transforms.scoring.ahp import MatrixError, analyse_experts, read_matrix
    from transforms.scoring.repair import with_revisions

    missing = [t for t in targets if not Path(t).is_file()]
    if missing:
        print(f"riskcard ahp check: no such file: {', '.join(missing)}", file=sys.stderr)
        return EXIT_USAGE
    method = args.method or settings.ahp_method
    try:
        matrices = [read_matrix(Path(t), name=t) for t in targets]
    except MatrixError as exc:
        if args.format == "json":
            print(to_json({"valid": False, "verdict": f"REJECTED: {exc}", "defects": [{"message": str(exc)}]}))
        else:
            print(f"REJECTED: {exc}")
        return EXIT_INVALID
    result = with_revisions(analyse_experts(matrices, method, args.ri))
    if args.format == "json":
        print(to_json(result.to_dict()))
    else:
        print(render_result(result))
    return EXIT_OK if result.valid else EXIT_INVALID


def _check_profile(args, settings, target: str) -> int:
    from transforms.core.rendering import table, to_json
    from transforms.indicators.catalogue import CatalogueError
    from transforms.scoring.profiles import available_profiles, check_profile, profile_path

    path = profile_path(target, settings)
    if not path.is_file():
        known = ", ".join(available_profiles(settings)) or "none"
        print(f"riskcard ahp check: no weight profile {target!r} ({path}); known profiles: {known}", file=sys.stderr)
        return EXIT_USAGE
    try:
        check = check_profile(target, settings, method=args.method)
    except CatalogueError as exc:
        print(f"riskcard ahp check: {exc}", file=sys.stderr)
        return EXIT_INVALID
    profile = check.profile
    if args.format == "json":
        print(
            to_json(
                {
                    "profile": check.name,
                    "path": str(check.path),
                    "method": check.method,
                    "override": check.override,
                    "valid": check.valid,
                    "verdict": "valid" if check.valid else "INVALID",
                    "problems": check.problems,
                    "checks": [r.to_dict() for r in check.results],
                    "weights": profile.to_dict() if profile else None,
                }
            )
        )
        return EXIT_OK if check.valid else EXIT_INVALID

    name = profile.label if profile else check.name + (" [OVERRIDE: explicit weights]" if check.override else "")
    lines = [f"weight profile {name}", f"file: {check.path}", f"method: {check.method}"]
    if profile:
        lines.append(f"content hash: {profile.content_hash}")
    rows = [
        {
            "matrix": r.name,
            "n": r.n,
            "method": r.method,
            "λmax": None if r.lambda_max is None else round(r.lambda_max, 4),
            "CI": None if r.ci is None else round(r.ci, 4),
            "RI": r.ri,
            "CR": None if r.cr is None else round(r.cr, 4),
            "experts": len(r.experts) or None,
            "verdict": "accepted" if r.valid else "REJECTED",
        }
        for r in check.results
    ]
    if rows:
        lines += ["", table(rows, title="judgment matrices")]
    for r in check.results:
        for e in r.experts:
            lines.append(f"  expert {e.name}: CR {_num(e.cr)} — {e.verdict}")
        for w in r.warnings:
            lines.append(f"  warning: {w.message}")
    for r in check.results:
        for part in (r, *r.experts):
            lines += _missing_lines(part, f" of {part.name}")
            lines += _revision_lines(part, f" of {part.name}")
    if profile:
        crit = [{"criterion": c, "weight": round(w, 6)} for c, w in profile.criterion_weights.items()]
        lines += ["", table(crit, title="criterion weights")]
        leaves = [
            {
                "indicator": i,
                "criterion": c,
                "local weight": round(lw, 6),
                "global weight": round(profile.criterion_weights[c] * lw, 6),
            }
            for c, locs in profile.local_weights.items()
            for i, lw in locs.items()
        ]
        lines += ["", table(leaves, title="leaf weights (global = criterion weight x local weight; sum 1)")]
    lines.append("")
    if check.valid:
        lines.append(f"verdict: VALID{' (OVERRIDE: explicit weights, not derived by AHP)' if check.override else ''}")
    else:
        lines.append("verdict: INVALID — nothing may be published with this profile:")
        lines += [f"  - {p}" for p in check.problems]
    print("\n".join(lines))
    return EXIT_OK if check.valid else EXIT_INVALID


def render_result(result) -> str:
    from transforms.core.rendering import table

    lines = [
        f"matrix: {result.name}",
        f"method: {result.method}" + (f"  ({result.aggregation})" if result.aggregation else ""),
    ]
    for e in result.experts:
        lines.append(f"  expert {e.name}: λmax {_num(e.lambda_max)}, CI {_num(e.ci)}, CR {_num(e.cr)} — {e.verdict}")
    if result.weights is not None:
        lines += [
            "",
            table(
                [{"label": k, "weight": round(v, 6)} for k, v in result.weights.items()],
                title=f"weights ({result.method})",
            ),
        ]
        eig = f" (principal eigenvalue {result.principal_eigenvalue:.6f})" if result.principal_eigenvalue else ""
        lines += [
            "",
            f"λmax = {result.lambda_max:.6f}{eig}   [mean of (A·w)_i / w_i]",
            f"CI = {_num(result.ci, 6)}   RI({result.n}) = {_num(result.ri, 2)}   CR = {_num(result.cr, 6)}",
        ]
    errors = list(result.errors) + [d for e in result.experts for d in e.errors]
    if result.valid:
        lines += ["", f"verdict: {result.verdict}"]
    else:
        lines += ["", f"verdict: REJECTED ({result.method}), {len(errors)} defect(s)"]
    if errors:
        lines.append("defects:")
        lines += [f"  - [{d.rule}] {d.message}" for d in errors]
    warnings = list(result.warnings) + [d for e in result.experts for d in e.warnings]
    if warnings:
        lines.append("warnings:")
        lines += [f"  - [{d.rule}] {d.message}" for d in warnings]
    for part in (*result.experts, result):
        whose = f" of expert {part.name}" if part is not result else (" of the AIJ aggregate" if result.experts else "")
        lines += _missing_lines(part, whose)
        lines += _revision_lines(part, whose)
    return "\n".join(lines)


def _missing_lines(result, whose: str = "") -> list[str]:
    """The judgments left out of a matrix, each with the value the others imply (w_row/w_col, nearest Saaty)."""
    from transforms.core.rendering import table

    if not result.missing:
        return []
    rows = [
        {
            "row": d["row"],
            "col": d["col"],
            "implied": None if d["implied"] is None else round(d["implied"], 4),
            "nearest Saaty": d["suggested_text"],
        }
        for d in result.missing_dicts()
    ]
    title = (
        f"judgments left out{whose}: {len(rows)} (Harker's method; implied a(row,col) = w_row/w_col "
        "of the matrix's weights)"
    )
    return ["", table(rows, title=title)]


def _revision_lines(result, whose: str = "") -> list[str]:
    """The suggested revisions of a rejected matrix as a table, best first (the JSON ``revisions``)."""
    from transforms.core.rendering import table
    from transforms.scoring.ahp import format_judgment

    if not result.revisions:
        return []
    rows = [
        {
            "#": k,
            "row": r.row,
            "col": r.col,
            "current": format_judgment(r.current),
            "suggested": format_judgment(r.suggested),
            "implied": None if r.implied is None else round(r.implied, 4),
            "CR after": None if r.cr_after is None else round(r.cr_after, 4),
            "reason": r.reason,
        }
        for k, r in enumerate(result.revisions, start=1)
    ]
    notes = [
        "  set a(row,col) = suggested and its mirror a(col,row) = 1/suggested; CR after = the CR with that one change",
        "  (a consistency revision: on top of the reciprocity revisions, which come first). Suggestions only: no file "
        "is changed.",
    ]
    if any(r.reason == "reciprocity" for r in result.revisions):
        notes.append(
            "  reciprocity: the pair's two cells disagree; the upper triangle holds the judgment, so the lower cell "
            "is revised to its reciprocal"
        )
    title = f"suggested revisions{whose}, best first (implied = what the other judgments imply)"
    return ["", table(rows, title=title), *notes]


def _num(value, digits: int = 4) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _paper(args, settings) -> int:
    from transforms.core.rendering import to_json
    from transforms.scoring.paper_audit import audit_paper, render

    audit = audit_paper(settings)
    print(to_json(audit.to_dict()) if args.format == "json" else render(audit))
    return EXIT_OK if audit.reproduced else EXIT_INVALID
