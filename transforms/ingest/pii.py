"""Pseudonymisation of personal columns: HMAC-SHA256 of the raw value with the configured secret.

The raw ``customer_id`` never reaches DuckDB: it is replaced in the Polars frame before any check, message or
quarantine record is built. Each distinct id is hashed once per batch (a customer appears on many rows) and
remembered across the batches of one call in a bounded cache.
"""

from __future__ import annotations

import hashlib

import polars as pl

_BLOCK = 64  # SHA-256 block size in bytes (RFC 2104)
_MOSTLY_DISTINCT = 0.5  # above this share of distinct values a batch is hashed row by row


class Pseudonymizer:
    """Keyed hash of personal values: ``hash_text(v) == hmac.new(key, v.encode(), sha256).hexdigest()``.

    The two HMAC pads are hashed once here and copied per value: about twice as fast as ``hmac.new`` per value,
    with identical digests (tests compare them).
    """

    def __init__(self, key: bytes, cache_limit: int = 2_000_000):
        if len(key) > _BLOCK:
            key = hashlib.sha256(key).digest()
        key = key.ljust(_BLOCK, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))
        # raw value -> hash of the values seen in this call (raw ids stay in this process's memory only)
        self._known = pl.DataFrame(schema={"raw": pl.String, "hash": pl.String})
        self._cache_limit = cache_limit

    def hash_text(self, value: str) -> str:
        return self._hash_all(pl.Series([value], dtype=pl.String)).item()

    def _hash_all(self, values: pl.Series) -> pl.Series:
        """HMAC hex of each value (null stays null): this loop is the per-customer cost of a load.

        The values go in as UTF-8 bytes and come out as raw digests that Polars turns into hex: the Python work per
        value is the four hash calls and nothing else.
        """
        inner_copy, outer_copy = self._inner.copy, self._outer.copy

        def digest(value: bytes | None) -> bytes | None:
            if value is None:
                return None
            inner = inner_copy()
            inner.update(value)
            outer = outer_copy()
            outer.update(inner.digest())
            return outer.digest()

        raw = values.cast(pl.Binary).to_list()
        return pl.Series(values.name, list(map(digest, raw)), dtype=pl.Binary).bin.encode("hex")

    def hash_series(self, values: pl.Series) -> pl.Series:
        """Every value replaced by its HMAC hex (after stripping blanks); empty and null stay null.

        Each distinct value is hashed once per call (and remembered across batches) when values repeat; when
        nearly every value in the batch is distinct, finding the distinct ones would cost more than it saves, so
        the values are hashed as they come.
        """
        name = values.name
        # readers hand over scalars (nested values as JSON text), so every value has a text form
        text = values.cast(pl.String).str.strip_chars().replace("", None)
        present = text.len() - text.null_count()
        if present == 0:
            return text.alias(name)
        if text.approx_n_unique() > _MOSTLY_DISTINCT * present:
            return self._hash_all(text).alias(name)
        distinct = text.drop_nulls().unique().to_frame("raw").join(self._known, on="raw", how="left")
        missing = distinct.filter(pl.col("hash").is_null())
        if missing.height:
            fresh = missing.with_columns(self._hash_all(missing["raw"]).alias("hash"))
            if self._known.height + fresh.height > self._cache_limit:  # start over with this batch's values
                self._known = pl.concat([distinct.filter(pl.col("hash").is_not_null()), fresh])
            else:
                self._known = pl.concat([self._known, fresh], rechunk=False)
        return (
            text.to_frame("raw")
            .join(self._known, on="raw", how="left", maintain_order="left")
            .get_column("hash")
            .alias(name)
        )
