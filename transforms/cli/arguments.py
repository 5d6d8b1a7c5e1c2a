"""Argument types and options shared by the subcommands."""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Sequence

from transforms.core.rendering import FORMATS


def iso_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def add_format_option(parser, choices: Sequence[str] = FORMATS) -> None:
    parser.add_argument("--format", choices=list(choices), default="table", help="output format (default: table)")
