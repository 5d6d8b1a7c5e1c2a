"""`riskcard config`: print the effective settings, secrets masked."""

from __future__ import annotations

from transforms.cli.arguments import add_format_option
from transforms.core.rendering import table, to_json

HELP = "print the effective settings (defaults < riskcard.toml < RISKCARD_* env), secrets masked"


def add_arguments(parser) -> None:
    add_format_option(parser)


def run(args, settings) -> int:
    values = settings.masked()
    if args.format == "json":
        print(to_json(values))
    else:
        print(table([{"setting": k, "value": v} for k, v in values.items()], ["setting", "value"]))
    return 0
