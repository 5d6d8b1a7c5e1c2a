"""`make bench`: run every benchmark module's main() in turn; each prints figures measured in its own run.

Run one alone with `python -m benchmarks.bench_<part> --help` (smaller sizes for a quick look).
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    only = set(argv if argv is not None else sys.argv[1:])
    names = sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]) if m.name.startswith("bench_"))
    failed = []
    for name in names:
        if only and name not in only and name.removeprefix("bench_") not in only:
            continue
        print(f"\n=== {name} ===", flush=True)
        started = time.monotonic()
        try:
            code = importlib.import_module(f"benchmarks.{name}").main([])
        except Exception as exc:  # report and go on with the others
            print(f"{name} failed: {exc!r}", flush=True)
            code = 1
        print(f"=== {name}: {time.monotonic() - started:.1f}s ===", flush=True)
        if code:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
