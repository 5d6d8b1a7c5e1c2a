"""`riskcard generate` (placeholder until its issue lands)."""

from __future__ import annotations

HELP = "generate (not implemented yet)"


def add_arguments(parser) -> None:
    pass


def run(args, settings) -> int:
    print("riskcard generate: not implemented yet")
    return 1
