"""`riskcard build` (placeholder until its issue lands)."""

from __future__ import annotations

HELP = "build (not implemented yet)"


def add_arguments(parser) -> None:
    pass


def run(args, settings) -> int:
    print("riskcard build: not implemented yet")
    return 1
