"""Sensitivity analysis speed (issue 15: 10,000 draws of the default profile in <= 10 s).

Leaf values are spread over each leaf's four thresholds (fixed seed) so that threshold perturbations move levels;
the default profile's nine judgment matrices, the method and the thresholds all vary. Prints the time of the
whole analysis (N draws in A and in B, N per input group in AB_i: N x (groups + 2) scorecards) and the ratio to the
target, for a few draw counts.

    python -m benchmarks.bench_sensitivity [--draws 1000 10000 20000]
"""

from __future__ import annotations

import argparse
import random
import time

TARGET_SECONDS = 10.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--draws", type=int, nargs="+", default=[1_000, 10_000, 20_000])
    args = parser.parse_args(argv)

    from transforms.core.settings import load_settings
    from transforms.indicators.catalogue import load_catalogue
    from transforms.scoring.profiles import load_profile
    from transforms.scoring.sensitivity import LeafInput, Perturbations, analyse, level_for

    settings = load_settings()
    catalogue = load_catalogue(settings)
    profile = load_profile("default", settings, catalogue=catalogue)
    rnd = random.Random(15)
    leaves = {}
    for ind in catalogue.indicators:
        t = ind.thresholds
        value = rnd.uniform(0, 1.3 * t[3]) if t[3] > 0 else float(rnd.randint(0, 3))
        leaves[ind.indicator_id] = LeafInput(ind.indicator_id, value, "ok", level_for(value, "ok", t))
    analyse(catalogue, profile, leaves, 200, 1, Perturbations())  # warm-up (imports, first allocations)
    for draws in args.draws:
        started = time.perf_counter()
        doc = analyse(catalogue, profile, leaves, draws, 20261201, Perturbations())
        seconds = time.perf_counter() - started
        evaluations = draws * (len(doc["indices"]) + 2)
        print(
            f"draws {draws:>6}: {seconds:6.2f} s ({evaluations:,} scorecards, {len(doc['indices'])} input groups, "
            f"{doc['rejected']:,} matrices redrawn), {seconds / TARGET_SECONDS:.2f} x the 10 s target"
            + ("" if draws != 10_000 else ("  OK" if seconds <= TARGET_SECONDS else "  OVER TARGET"))
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
