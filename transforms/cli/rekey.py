"""`riskcard rekey`: rewrite every customer hash of the warehouse from an old hashing key to the configured one.

The old key is read from the environment variable named by ``--old-key-env`` (never from the command line, where
it would show in the process list and the shell history); the new key is the configured one
(``RISKCARD_SECRET_KEY``). Every ingested landing file is read again to recompute the hashes (an HMAC cannot be
inverted): see ``transforms.ingest.key_identity``. All or nothing, in one transaction.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from transforms.cli.arguments import add_format_option

HELP = "re-key the warehouse: rewrite every customer-id hash from an old key to RISKCARD_SECRET_KEY"


def add_arguments(parser) -> None:
    parser.add_argument(
        "--old-key-env",
        required=True,
        metavar="VAR",
        help="name of the environment variable holding the old key (e.g. OLD_KEY); the new key is RISKCARD_SECRET_KEY",
    )
    parser.add_argument(
        "--landing", type=Path, help="landing root holding the ingested files (default: the landing setting)"
    )
    add_format_option(parser)


def run(args, settings) -> int:
    from transforms.core.rendering import table, to_json
    from transforms.core.warehouse import WarehouseBusy
    from transforms.ingest.key_identity import RekeyRefused, rekey, short

    old_key = os.environ.get(args.old_key_env, "")
    if not old_key:
        print(f"riskcard rekey: the environment variable {args.old_key_env} is not set or empty", file=sys.stderr)
        return 2
    try:
        report = rekey(settings, old_key, landing=args.landing)
    except (RekeyRefused, WarehouseBusy) as exc:
        print(f"riskcard rekey: {exc}", file=sys.stderr)
        return 1
    if args.format == "json":
        print(to_json(report.to_dict()))
        return 0
    if not report.changed:
        print(f"the warehouse already uses the configured key (fingerprint {short(report.new_fingerprint)})")
        return 0
    rows = [{"column": name, "rows_rewritten": n} for name, n in report.rows_rewritten.items()]
    title = (
        f"re-keyed from {short(report.old_fingerprint)} to {short(report.new_fingerprint)}: "
        f"{report.files_read} landing file(s) read, {report.distinct_values} distinct value(s)"
    )
    print(table(rows, ("column", "rows_rewritten"), title=title))
    return 0
