"""`riskcard scorecard` (placeholder until its issue lands)."""

from __future__ import annotations

HELP = "scorecard (not implemented yet)"


def add_arguments(parser) -> None:
    pass


def run(args, settings) -> int:
    print("riskcard scorecard: not implemented yet")
    return 1
