"""Contract enum values as the simulators use them: by name, checked against transforms.core.contract.

Simulators draw enum values as small integer codes (fast in numpy) and turn them into the contract's strings at the
end. Codes, mixes and conditional tables are built here from names, so a value renamed or reordered in the contract
fails loudly at import instead of silently shifting a mix.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from transforms.core.contract import CONTRACT


def values(source: str, column: str) -> tuple[str, ...]:
    """The contract's values of an enum column, in contract order (code i = values[i])."""
    enum = CONTRACT[source].column(column).enum
    if not enum:
        raise ValueError(f"{source}.{column} is not an enum column")
    return enum


def codes(source: str, column: str) -> dict[str, int]:
    """Value -> code for an enum column."""
    return {v: i for i, v in enumerate(values(source, column))}


def named(source: str, column: str, *names: str) -> tuple[str, ...]:
    """``names`` after checking that each is a value of the column."""
    unknown = [n for n in names if n not in values(source, column)]
    if unknown:
        raise ValueError(f"{source}.{column} has no value {', '.join(unknown)}")
    return names


def mix(source: str, column: str, shares: dict[str, float]) -> np.ndarray:
    """Weights in code order (values not named get 0)."""
    named(source, column, *shares)
    return np.array([shares.get(v, 0.0) for v in values(source, column)])


def table(source: str, rows: str, columns: str, shares: dict[str, dict[str, float]]) -> np.ndarray:
    """A conditional mix: one row of weights over ``columns`` for each value of ``rows`` (all rows required)."""
    named(source, rows, *shares)
    missing = [v for v in values(source, rows) if v not in shares]
    if missing:
        raise ValueError(f"no {columns} mix for {rows} {', '.join(missing)}")
    return np.array([mix(source, columns, shares[v]) for v in values(source, rows)])


def labels(values_in_code_order: tuple[str, ...], codes_array: np.ndarray) -> pl.Series:
    """The strings of an array of codes (one gather, no Python loop)."""
    return pl.Series(values_in_code_order, dtype=pl.String).gather(pl.Series(codes_array.astype(np.int64)))
