"""Seeded random streams and the few sampling helpers every simulator uses.

Each purpose (and each day of transactions) draws from its own stream derived from (seed, purpose, ...), so the
output is a pure function of the seed and the arguments, and changing one simulator never shifts another's draws.
"""

from __future__ import annotations

import numpy as np

# purpose numbers for stream(); never renumber (that would change every seed's output)
CUSTOMERS, FRAUD, INCIDENTS, COMPLAINTS, BACKUPS, VOLUME, TRANSACTIONS, TEXT_STYLE, BAD_ROWS, BAD_FILES = range(10)


def stream(seed: int, purpose: int, *keys: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(seed), purpose, *map(int, keys)]))


def systematic_counts(expected: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Integer counts per slot whose running total never strays more than 1 from the expected running total.

    Systematic sampling with one random phase: events are spread evenly instead of clumping by chance, so a rare
    kind of event with a rate of one per ten days turns up in every 30-day window, as indicator samples need.
    """
    expected = np.asarray(expected, dtype=np.float64)
    if expected.size == 0:
        return np.zeros(0, dtype=np.int64)
    phase = rng.random()
    cumulative = np.floor(np.concatenate(([0.0], np.cumsum(expected))) + phase)
    return np.diff(cumulative).astype(np.int64)


def lognormal(rng: np.random.Generator, median: float | np.ndarray, sigma: float | np.ndarray, size: int):
    """Lognormal draws parameterised by their median (easier to reason about than mu)."""
    return np.asarray(median) * np.exp(np.asarray(sigma) * rng.standard_normal(size))


def choice(rng: np.random.Generator, weights, size: int) -> np.ndarray:
    """Indices drawn with the given (unnormalised) weights."""
    cdf = np.cumsum(np.asarray(weights, dtype=np.float64))
    return np.searchsorted(cdf / cdf[-1], rng.random(size), side="right").clip(0, len(cdf) - 1)


def choice_rows(rng: np.random.Generator, weight_rows: np.ndarray, row: np.ndarray) -> np.ndarray:
    """For each entry, an index drawn with the weights in ``weight_rows[row]`` (one conditional table lookup)."""
    cdf = np.cumsum(weight_rows, axis=1)
    cdf = cdf / cdf[:, -1:]
    u = rng.random(row.size)
    return (u[:, None] >= cdf[row]).sum(axis=1).clip(0, weight_rows.shape[1] - 1)


def allocate(total: int, weights: np.ndarray) -> np.ndarray:
    """Split ``total`` into integers proportional to ``weights`` that sum exactly to it (largest remainder)."""
    weights = np.asarray(weights, dtype=np.float64)
    share = weights / weights.sum() * total
    counts = np.floor(share).astype(np.int64)
    short = int(total - counts.sum())
    if short:
        order = np.argsort(-(share - counts), kind="stable")
        counts[order[:short]] += 1
    return counts
