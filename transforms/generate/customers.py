"""The customer pool: who transacts, how often, on which channel, and who is exposed to fraud.

Activity is heavy-tailed (a few customers transact daily, most a few times a month), so customers recur across
days as in a real bank. A small "password-only" segment never enrolled a second factor (CO2's population);
fraudsters aim at that segment and at other vulnerable customers more than at anyone else.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl

from transforms.generate import enums
from transforms.generate.randomness import choice

CHANNEL_MIX = enums.mix("transactions", "channel", {"web": 0.18, "mobile": 0.55, "wechat": 0.20, "open_api": 0.07})
PASSWORD_ONLY_SHARE = 0.03
VULNERABLE_SHARE = 0.08  # elderly / low digital literacy, on top of the password-only segment
TRANSACTIONS_PER_CUSTOMER_MONTH = 3.0


@dataclass(frozen=True)
class CustomerPool:
    ids: pl.Series  # raw customer ids (personal data: ingestion hashes them)
    cdf: np.ndarray  # cumulative activity share, for sampling who makes a transaction
    primary_channel: np.ndarray  # uint8 channel code (enums.codes("transactions", "channel"))
    password_only: np.ndarray  # bool
    vulnerable: np.ndarray  # bool: password-only or otherwise exposed

    @property
    def size(self) -> int:
        return len(self.cdf)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Customers making ``n`` transactions, by activity (in index order: the draws are sorted first, which
        makes the lookup cache-friendly; callers shuffle by time anyway)."""
        return np.searchsorted(self.cdf, np.sort(rng.random(n)), side="right").clip(0, self.size - 1)

    def sample_uniform(self, rng: np.random.Generator, n: int, vulnerable_share: float = 0.0) -> np.ndarray:
        """Customers picked without regard to activity; ``vulnerable_share`` of them from the vulnerable set."""
        picked = rng.integers(0, self.size, n)
        exposed = np.flatnonzero(self.vulnerable)
        if exposed.size:
            take = rng.random(n) < vulnerable_share
            picked[take] = exposed[rng.integers(0, exposed.size, int(take.sum()))]
        return picked


def pool_size(transactions: int, days: int) -> int:
    """About three transactions per customer per month, as a retail online bank sees."""
    per_month = transactions / max(days, 1) * 30.0
    return max(50, math.ceil(per_month / TRANSACTIONS_PER_CUSTOMER_MONTH))


def build_pool(size: int, rng: np.random.Generator) -> CustomerPool:
    activity = rng.lognormal(0.0, 1.0, size)
    cdf = np.cumsum(activity)
    cdf /= cdf[-1]
    numbers = pl.DataFrame({"n": np.arange(size, dtype=np.int64) + 100_000_001})
    ids = numbers.select(pl.format("C{}", "n").alias("customer_id")).to_series()
    password_only = rng.random(size) < PASSWORD_ONLY_SHARE
    vulnerable = password_only | (rng.random(size) < VULNERABLE_SHARE)
    return CustomerPool(
        ids=ids,
        cdf=cdf,
        primary_channel=choice(rng, CHANNEL_MIX, size).astype(np.uint8),
        password_only=password_only,
        vulnerable=vulnerable,
    )
