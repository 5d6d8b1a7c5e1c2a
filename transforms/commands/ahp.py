"""`riskcard ahp` (placeholder until its issue lands)."""

from __future__ import annotations

HELP = "ahp (not implemented yet)"


def add_arguments(parser) -> None:
    pass


def run(args, settings) -> int:
    print("riskcard ahp: not implemented yet")
    return 1
