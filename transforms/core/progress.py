"""Progress lines for long-running commands, on stderr so that stdout stays machine-readable."""

from __future__ import annotations

import sys
import time


class Progress:
    """``with Progress("ingest", total=n) as p: ... p.step("file.csv")`` prints ``[k/n] label: item (t s)``."""

    def __init__(self, label: str, total: int | None = None, stream=None, enabled: bool = True):
        self.label, self.total, self.done = label, total, 0
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.started = time.monotonic()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        if self.enabled:
            elapsed = time.monotonic() - self.started
            print(f"{self.label}: finished {self.done} step(s) in {elapsed:.1f}s", file=self.stream, flush=True)

    def step(self, item: str = "") -> None:
        self.done += 1
        if self.enabled:
            of = f"/{self.total}" if self.total else ""
            elapsed = time.monotonic() - self.started
            print(f"[{self.done}{of}] {self.label}: {item} ({elapsed:.1f}s)", file=self.stream, flush=True)
