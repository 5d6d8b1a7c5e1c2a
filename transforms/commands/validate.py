"""`riskcard validate` (placeholder until its issue lands)."""

from __future__ import annotations

HELP = "validate (not implemented yet)"


def add_arguments(parser) -> None:
    pass


def run(args, settings) -> int:
    print("riskcard validate: not implemented yet")
    return 1
