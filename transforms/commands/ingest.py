"""`riskcard ingest` (placeholder until its issue lands)."""

from __future__ import annotations

HELP = "ingest (not implemented yet)"


def add_arguments(parser) -> None:
    pass


def run(args, settings) -> int:
    print("riskcard ingest: not implemented yet")
    return 1
