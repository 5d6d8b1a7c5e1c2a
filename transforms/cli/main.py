"""`riskcard` command line: one subcommand per module in ``transforms.cli``.

Each command module defines ``HELP`` (one line), ``add_arguments(parser)`` and ``run(args, settings) -> int``.
Modules keep their heavy imports inside ``run`` so that ``riskcard --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from pathlib import Path

from transforms.core.settings import SettingsError, load_settings

# name -> module under transforms.cli (order = order in --help)
COMMANDS: dict[str, str] = {
    "config": "config",
    "generate": "generate",
    "ingest": "ingest",
    "rekey": "rekey",
    "build": "build",
    "indicators": "indicators",
    "explain": "explain",
    "validate": "validate",
    "publish": "publish",
    "scorecard": "scorecard",
    "report": "report",
    "sensitivity": "sensitivity",
    "monitor": "monitor",
    "ahp": "ahp",
}

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


def common_options() -> argparse.ArgumentParser:
    """Options every subcommand accepts; they override riskcard.toml and RISKCARD_* variables."""
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("settings")
    group.add_argument("--config", type=Path, help="settings file (default: ./riskcard.toml if present)")
    group.add_argument("--warehouse", type=Path, help="DuckDB warehouse file (default: warehouse/riskcard.duckdb)")
    group.add_argument("-v", "--verbose", action="store_true", help="log debug output")
    return common


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="riskcard",
        description="Online-banking risk scorecard: landing logs -> DuckDB -> dbt indicators -> GX -> AHP W×C.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    common = common_options()
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(f"transforms.cli.{module_name}")
        cmd = sub.add_parser(name, help=module.HELP, description=module.HELP, parents=[common])
        module.add_arguments(cmd)
        cmd.set_defaults(_module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    overrides = {"warehouse": args.warehouse}
    if getattr(args, "landing", None) is not None:
        overrides["landing"] = args.landing
    try:
        settings = load_settings(config_file=args.config, **overrides)
        return int(args._module.run(args, settings) or 0)
    except SettingsError as exc:
        print(f"riskcard: configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("riskcard: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
