"""`riskcard sensitivity`: how much a published scorecard moves under reasonable doubt (reads the serving copy).

    riskcard sensitivity [--as-of D] [--version N] [--draws N] [--seed N] [--no-judgments] [--no-method]
                         [--no-thresholds] [--no-leave-one-out] [--step-probability P] [--threshold-range R]
                         [--format table|json]

Without options that differ from the analysis stored with the version, it prints that stored analysis. Otherwise
it computes the analysis again from the version's published leaves and its weight profile (which must still be
the one the version was published with: same content hash) and prints it; nothing is written. The same seed and
options give the same bytes (``--format json``). The method: transforms/scoring/sensitivity.py.
"""

from __future__ import annotations

import sys

from transforms.cli.arguments import add_format_option, iso_date
from transforms.core.rendering import table

HELP = "rank stability, band and rating probabilities and sensitivity indices of a published scorecard"


def add_arguments(parser) -> None:
    parser.add_argument("--as-of", type=iso_date, metavar="D", help="as-of date (default: newest published)")
    parser.add_argument("--version", type=int, metavar="N", help="version of the as-of date (default: latest)")
    parser.add_argument("--draws", type=int, metavar="N", help="Monte Carlo draws (default: setting sensitivity_draws)")
    parser.add_argument("--seed", type=int, metavar="N", help="generator seed (default: setting sensitivity_seed)")
    for name, what in (
        ("judgments", "keep every judgment as given"),
        ("method", "keep the profile's weighting method"),
        ("thresholds", "keep the catalogue's thresholds"),
        ("leave-one-out", "skip the leave-one-leaf-out figures"),
    ):
        parser.add_argument(f"--no-{name}", dest=f"no_{name.replace('-', '_')}", action="store_true", help=what)
    parser.add_argument("--step-probability", type=float, metavar="P", help="chance a judgment moves one Saaty step")
    parser.add_argument("--threshold-range", type=float, metavar="R", help="thresholds scaled in [1-R, 1+R]")
    add_format_option(parser)


def requested(args, settings):
    """(draws, seed, Perturbations) asked for: the settings, with the options applied."""
    from dataclasses import replace

    from transforms.scoring.sensitivity import Perturbations

    perturb = Perturbations.from_settings(settings)
    changes = {
        name: False for name in ("judgments", "method", "thresholds", "leave_one_out") if getattr(args, f"no_{name}")
    }
    if args.step_probability is not None:
        changes["step_probability"] = args.step_probability
    if args.threshold_range is not None:
        changes["threshold_range"] = args.threshold_range
    draws = settings.sensitivity_draws if args.draws is None else args.draws
    seed = settings.sensitivity_seed if args.seed is None else args.seed
    return draws, seed, replace(perturb, **changes)


def run(args, settings) -> int:
    import duckdb

    from transforms.core.warehouse import connect_serving
    from transforms.publishing.queries import NotPublished, load_version, resolve_version
    from transforms.publishing.sensitivity import stored_document, to_json, with_version
    from transforms.scoring.profiles import ProfileInvalid
    from transforms.scoring.sensitivity import SensitivityError

    draws, seed, perturb = requested(args, settings)
    if draws < 2:
        print(f"riskcard sensitivity: --draws must be at least 2, got {draws}", file=sys.stderr)
        return 2
    if not 0 <= perturb.step_probability <= 1 or not 0 <= perturb.threshold_range < 1:
        print("riskcard sensitivity: --step-probability lies in [0, 1], --threshold-range in [0, 1)", file=sys.stderr)
        return 2
    try:
        con = connect_serving(settings)
    except (FileNotFoundError, duckdb.Error) as exc:
        print(f"riskcard sensitivity: {exc}", file=sys.stderr)
        return 1
    try:
        as_of, version = resolve_version(con, args.as_of, args.version)
        stored = stored_document(con, as_of, version)
        if stored is not None and _same(stored, draws, seed, perturb.to_dict()):
            document, source = stored, f"stored with version {version} when it was published"
        else:
            card = load_version(con, as_of, version)
            document, seconds = _recompute(settings, card, draws, seed, perturb)
            document = with_version(document, as_of, version)
            source = f"computed now in {seconds:.1f} s (nothing stored)"
    except (NotPublished, ProfileInvalid, SensitivityError, ValueError) as exc:
        print(f"riskcard sensitivity: {exc}", file=sys.stderr)
        return 1
    finally:
        con.close()
    print(to_json(document) if args.format == "json" else render(document, source))
    return 0


def _same(stored: dict, draws: int, seed: int, wanted: dict) -> bool:
    inputs = {k: v for k, v in stored["inputs"].items() if k != "groups"}
    return stored["draws"] == draws and stored["seed"] == seed and inputs == wanted


def _recompute(settings, card, draws: int, seed: int, perturb):
    """The analysis of a published version from its rows and its profile, which must be unchanged."""
    from transforms.indicators.catalogue import load_catalogue
    from transforms.publishing.sensitivity import compute
    from transforms.scoring.profiles import EXPLICIT, load_profile
    from transforms.scoring.sensitivity import SensitivityError

    info = card["info"]
    catalogue = load_catalogue(settings)
    method = None if info["ahp_method"] == EXPLICIT else info["ahp_method"]
    profile = load_profile(info["profile_name"], settings, method=method, catalogue=catalogue)
    if profile.content_hash != info["profile_hash"]:
        raise SensitivityError(
            f"weight profile {info['profile_name']!r} changed since version {info['version']} of "
            f"{info['as_of_date']} was published (content {profile.content_hash[:12]}, the version's "
            f"{info['profile_hash'][:12]}): its judgments cannot be redrawn; the analysis stored with the version is "
            "shown without options"
        )
    if perturb.thresholds and catalogue.content_hash != info["catalogue_hash"]:
        raise SensitivityError(
            f"the indicator catalogue changed since version {info['version']} of {info['as_of_date']} was "
            "published: its thresholds are not the version's; use --no-thresholds"
        )
    rows = [{**leaf, "row_type": "leaf"} for leaf in card["leaves"]]
    return compute(catalogue, profile, rows, draws, seed, perturb)


def render(doc: dict, source: str) -> str:
    from transforms.scoring.levels import BANDS

    bands = [b.name for b in BANDS]
    comp = doc["composite"]
    lines = [
        f"sensitivity of version {doc['version']} of {doc['as_of_date']} (profile {doc['profile']}, {doc['method']}): "
        f"{doc['draws']} draws, seed {doc['seed']}, {doc['rejected']} perturbed matrices redrawn (CR >= 0.1)",
        f"  {source}",
        "  inputs: " + ", ".join(f"{k} = {v}" for k, v in doc["inputs"].items() if k != "groups"),
        "",
        f"composite {comp['nominal']:.4f} ({comp['nominal_rating']}); 5th / 50th / 95th percentile "
        f"{comp['p05']:.4f} / {comp['p50']:.4f} / {comp['p95']:.4f}",
        "  rating probability: " + ", ".join(f"{b} {comp['rating_probability'][b]:.1%}" for b in bands),
        "",
    ]
    rows = [
        {
            "criterion": c["criterion_id"],
            "rank": c["nominal_rank"],
            "rank p05": c["rank_p05"],
            "p50": c["rank_p50"],
            "p95": c["rank_p95"],
            "band": c["nominal_band"],
            **{f"P({b})": f"{c['band_probability'][b]:.1%}" for b in bands},
        }
        for c in sorted(doc["criteria"], key=lambda c: c["nominal_rank"])
    ]
    lines.append(table(rows, title="criteria, by published rank"))
    if doc["indices"]:
        lines.append("")
        lines.append(
            table(
                [
                    {"input group": i["label"], "first-order": i["first_order"], "total": i["total"]}
                    for i in doc["indices"]
                ],
                title="sensitivity indices of the composite (share of its variance)",
            )
        )
    if doc["leave_one_out"]:
        lines.append("")
        worst = sorted((x for x in doc["leave_one_out"] if x["change"] is not None), key=lambda x: -abs(x["change"]))
        lines.append(
            table(
                [
                    {
                        "leaf left out": x["indicator_id"],
                        "criterion": x["criterion_id"],
                        "composite": x["composite"],
                        "change": x["change"],
                        "ranking changed": "yes" if x["ranking_changed"] else "",
                    }
                    for x in worst
                ],
                title="leave one leaf out (largest change first)",
            )
        )
    return "\n".join(lines)
