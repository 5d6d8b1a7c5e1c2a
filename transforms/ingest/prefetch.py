"""Running a batch producer one step ahead of its consumer, in a background thread.

While DuckDB appends batch n (its own threads, without the GIL), the next batch is read, hashed and checked:
on a two-core machine that overlap is what keeps ingestion close to DuckDB's own loading speed. The producer
never touches the database, so the per-file transaction stays in the consumer's thread.

The producer is a generator that only the single worker of a ``ThreadPoolExecutor`` advances, one ``next`` at a
time, one item ahead of the consumer: the futures come in order, and an exception in the producer is raised by its
future where the item would have come. When the consumer stops early (an error while inserting, or it closes the
iterator), the pending step is cancelled or, when already running, waited for; the producer is closed in the
worker, and the pool is shut down before the consumer goes on: no thread is left behind (the producer never
touches the database, so what the consumer rolls back is its own).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from typing import TypeVar

T = TypeVar("T")

_END = object()  # what ``next`` gives back after the producer's last item


def prefetched(items: Iterator[T], name: str = "ingest-prefetch") -> Iterator[T]:
    """``items`` in order, each produced in a background thread (``name``) while the one before is taken."""
    with ThreadPoolExecutor(max_workers=1, initializer=_name_thread, initargs=(name,)) as worker:
        pending = worker.submit(next, items, _END)
        try:
            while (item := pending.result()) is not _END:
                pending = worker.submit(next, items, _END)
                yield item
        finally:
            pending.cancel()
            wait([pending])  # a step already running finishes first: the producer is never closed while running
            close = getattr(items, "close", None)
            if close is not None:
                worker.submit(close).result()


def _name_thread(name: str) -> None:
    """The worker under the producer's name (not the pool's ``ThreadPoolExecutor-n_0``), as log records show it."""
    threading.current_thread().name = name
