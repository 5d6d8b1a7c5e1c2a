"""Running a batch producer one step ahead of its consumer, in a background thread.

While DuckDB appends batch n (its own threads, without the GIL), the next batch is read, hashed and checked:
on a two-core machine that overlap is what keeps ingestion close to DuckDB's own loading speed. The producer
never touches the database, so the per-file transaction stays in the consumer's thread. An exception in the
producer is raised in the consumer at the point where the batch would have come; when the consumer stops
early (an error while inserting), the producer is told to stop and is waited for before the file's transaction
is rolled back.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")

_POLL_SECONDS = 0.1  # how often a blocked producer looks whether the consumer has gone


class _Done:
    """End of the producer's items."""


class _Failed:
    def __init__(self, error: BaseException):
        self.error = error


def prefetched(items: Iterator[T], ahead: int = 1, name: str = "ingest-prefetch") -> Iterator[T]:
    """``items`` in order, produced in a background thread at most ``ahead`` items before they are taken."""
    handoff: queue.Queue = queue.Queue(maxsize=ahead)
    stop = threading.Event()

    def offer(item: object) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not offer(item):
                    return
            offer(_Done())
        except BaseException as exc:  # handed to the consumer, raised there
            offer(_Failed(exc))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=produce, name=name, daemon=True)
    worker.start()
    try:
        while True:
            item = handoff.get()
            if isinstance(item, _Done):
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item
    finally:
        stop.set()
        worker.join()
