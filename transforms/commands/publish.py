"""`riskcard publish` (placeholder until its issue lands)."""

from __future__ import annotations

HELP = "publish (not implemented yet)"


def add_arguments(parser) -> None:
    pass


def run(args, settings) -> int:
    print("riskcard publish: not implemented yet")
    return 1
