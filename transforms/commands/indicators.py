"""`riskcard indicators` (placeholder until its issue lands)."""

from __future__ import annotations

HELP = "indicators (not implemented yet)"


def add_arguments(parser) -> None:
    pass


def run(args, settings) -> int:
    print("riskcard indicators: not implemented yet")
    return 1
