"""Change-log mechanics shared by the simulators: versions of an entity, snapshots, and routing rows to days.

An entity (a complaint, an incident, a backup) is simulated once with all its milestones (responded, closed,
resolved, reviewed, ...). Its log records are full snapshots taken at chosen instants: each snapshot shows the fields
whose milestone has happened by its ``updated_at`` and hides the rest (null, ``open``, ``false``), exactly as the
producing system would have emitted them over time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

MISSING = -1  # "no instant" in the int64 millisecond arrays


@dataclass(frozen=True)
class Reveal:
    """``column`` shows its value once the instant in ``milestone`` is <= updated_at, ``hidden`` before."""

    column: str
    milestone: str
    hidden: Any = None


@dataclass(frozen=True)
class Versions:
    entity: np.ndarray  # int64 row index into the entity table
    updated_at: np.ndarray  # int64 ms
    first: np.ndarray  # bool: the entity's first record

    def __len__(self) -> int:
        return self.entity.size

    def sorted(self) -> Versions:
        order = np.lexsort((self.entity, self.updated_at))
        return Versions(self.entity[order], self.updated_at[order], self.first[order])

    @staticmethod
    def concat(parts: list[Versions]) -> Versions:
        return Versions(
            np.concatenate([p.entity for p in parts]),
            np.concatenate([p.updated_at for p in parts]),
            np.concatenate([p.first for p in parts]),
        )


def milestone_array(entities: pl.DataFrame, columns: list[str]) -> np.ndarray:
    """Entities × milestones matrix of instants, MISSING where a milestone never happens."""
    return np.column_stack([entities[c].fill_null(MISSING).to_numpy().astype(np.int64) for c in columns])


def versions_at_milestones(milestones: np.ndarray, lags: np.ndarray) -> Versions:
    """One snapshot shortly (``lags``) after each milestone, dropping snapshots that would reveal nothing new."""
    n, k = milestones.shape
    valid = milestones != MISSING
    entity = np.repeat(np.arange(n, dtype=np.int64), k)[valid.ravel()]
    when = (milestones + lags)[valid]
    order = np.lexsort((when, entity))
    entity, when = entity[order], when[order]
    rows = milestones[entity]
    known = ((rows != MISSING) & (rows <= when[:, None])).sum(axis=1)
    same_entity = np.concatenate(([False], entity[1:] == entity[:-1]))
    previous_known = np.concatenate(([0], known[:-1]))
    keep = ~same_entity | (known > previous_known)
    entity, when = entity[keep], when[keep]
    first = np.concatenate(([True], entity[1:] != entity[:-1])) if entity.size else np.zeros(0, dtype=bool)
    return Versions(entity, when, first)


def snapshot(entities: pl.DataFrame, versions: Versions, reveals: tuple[Reveal, ...]) -> pl.DataFrame:
    """The records of ``versions``: entity rows with ``updated_at`` set and unrevealed fields hidden."""
    rows = entities[pl.Series(versions.entity)] if len(versions) else entities.clear()
    rows = rows.with_columns(
        updated_at=pl.Series(versions.updated_at, dtype=pl.Int64), _first=pl.Series(versions.first, dtype=pl.Boolean)
    )
    shown = []
    for r in reveals:
        known = pl.col(r.milestone).is_not_null() & (pl.col(r.milestone) <= pl.col("updated_at"))
        hidden = pl.lit(r.hidden, dtype=rows.schema[r.column])
        shown.append(pl.when(known).then(pl.col(r.column)).otherwise(hidden).alias(r.column))
    return rows.with_columns(shown)


def records_between(
    entities: pl.DataFrame,
    versions: Versions,
    reveals: tuple[Reveal, ...],
    start: int,
    end: int,
    columns: tuple[str, ...],
) -> pl.DataFrame:
    """The records whose updated_at falls in [start, end) (``versions`` sorted by updated_at), as ``columns``
    plus the ``_first`` marker."""
    lo, hi = np.searchsorted(versions.updated_at, [start, end])
    chosen = Versions(versions.entity[lo:hi], versions.updated_at[lo:hi], versions.first[lo:hi])
    return snapshot(entities, chosen, reveals).select(*columns, "_first")


class DayBuckets:
    """Rows waiting for the day their ``updated_at`` falls on (a later day than the one that produced them)."""

    def __init__(self):
        self._pending: dict[int, list[pl.DataFrame]] = {}

    def add(self, frame: pl.DataFrame, day: np.ndarray) -> None:
        if frame.height == 0:
            return
        for d in np.unique(day):
            self._pending.setdefault(int(d), []).append(frame.filter(pl.Series(day == d)))

    def pop(self, day: int) -> list[pl.DataFrame]:
        return self._pending.pop(day, [])

    def drop_before(self, day: int) -> None:
        for d in [d for d in self._pending if d < day]:
            del self._pending[d]
