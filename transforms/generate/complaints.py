"""Complaints: after fraud (the victim disputes the transaction), after outages (service unavailable), and a
background of fee disputes, operation errors and the like; each answered and closed later as updates.

Complaints are planned for the whole run (they are few). Those that cite a transaction learn its txn_id, customer
and amount when that transaction's day is generated (``resolve_day``), before any of their records is written.
Closure takes days; a few complaints miss the 15-day deadline (RP3), a few disputes the 30-day one (LG1), some go to
litigation (LG3), some arrive through the regulator or the media (RP2). On a day with no complaint activity at all
an open complaint gets a follow-up note (or, if none is open, a new complaint arrives), so the log is never stale.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from transforms.core.contract import CONTRACT
from transforms.generate import enums
from transforms.generate.changelog import Reveal, Versions, snapshot, versions_at_milestones
from transforms.generate.clock import MS_PER_DAY, MS_PER_HOUR, MS_PER_MINUTE, TRANSACTION_HOURS, RunCalendar
from transforms.generate.customers import CustomerPool
from transforms.generate.randomness import choice, lognormal, systematic_counts
from transforms.generate.scenarios import Scenario

CATEGORIES = enums.values("complaints", "category")
CHANNELS = enums.values("complaints", "channel")
RESOLUTIONS = enums.values("complaints", "resolution")
CAT = enums.codes("complaints", "category")
RES = enums.codes("complaints", "resolution")
DISPUTES = (CAT["unauthorized_txn"], CAT["fee_dispute"])
BACKGROUND_MIX = {
    "fee_dispute": 0.35,
    "operation_error": 0.20,
    "other": 0.20,
    "unauthorized_txn": 0.12,
    "fraud_scam": 0.05,
    "privacy_leak": 0.03,
    "service_unavailable": 0.05,
}
CHANNEL = enums.codes("complaints", "channel")
DIRECT_CHANNEL_MIX = enums.mix("complaints", "channel", {"branch": 0.25, "phone": 0.45, "online": 0.30})
EXTERNAL = (CHANNEL["regulator"], CHANNEL["media"])
BREACH_CAUSES = enums.named("incidents", "cause", "intrusion", "malware")  # they leak data: privacy complaints
NO_REF, REF_FRAUD, REF_TXN = 0, 1, 2
REVEALS = (
    Reveal("first_response_at", "first_response_at"),
    Reveal("closed_at", "closed_at"),
    Reveal("resolution", "closed_at", enums.named("complaints", "resolution", "open")[0]),
    Reveal("compensated_amount", "closed_at", None),
)


@dataclass
class _Draft:
    """Column arrays of complaints being planned (numpy, appended to as kinds are added)."""

    opened_at: list
    customer: list
    category: list
    channel: list
    resolution: list
    claimed: list  # cents, -1 = null
    compensated: list  # cents, -1 = null; -2 = the claimed amount (known once the cited transaction is)
    ref_kind: list
    ref_a: list  # fraud plan row, or day of the cited transaction
    ref_b: list  # sequence number of the cited transaction within its day
    confirmed_at: list  # when the cited fraud is confirmed (fraud complaints), -1 otherwise

    @classmethod
    def empty(cls) -> _Draft:
        return cls(*([] for _ in range(11)))

    def add(self, **columns: np.ndarray) -> None:
        n = len(columns["opened_at"])
        for name in self.__dataclass_fields__:
            value = columns.get(name, np.full(n, -1 if name not in ("ref_kind",) else NO_REF, dtype=np.int64))
            getattr(self, name).append(np.asarray(value, dtype=np.int64))

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            name: np.concatenate(getattr(self, name)) if getattr(self, name) else np.zeros(0, dtype=np.int64)
            for name in self.__dataclass_fields__
        }


class ComplaintBook:
    """All complaints of the run and their versions; cited transactions filled in day by day."""

    def __init__(
        self,
        cal: RunCalendar,
        scenario: Scenario,
        day_counts: np.ndarray,
        fraud: pl.DataFrame,
        incidents: pl.DataFrame,
        pool: CustomerPool,
        rng: np.random.Generator,
    ):
        self.cal, self.s, self.pool = cal, scenario, pool
        draft = _Draft.empty()
        _fraud_complaints(draft, fraud, scenario, rng)
        _outage_complaints(draft, incidents, scenario, pool, rng)
        _background_complaints(draft, cal, scenario, day_counts, pool, rng)
        c = draft.arrays()
        order = np.argsort(c["opened_at"], kind="stable")
        self.c = {k: v[order] for k, v in c.items()}
        self._lifecycle(rng)
        self.versions = self._versions(rng)
        self._keep_fresh(rng)
        self.txn_id: list[str | None] = [None] * self.size
        self._by_fraud = {
            int(a): i
            for i, (k, a) in enumerate(zip(self.c["ref_kind"], self.c["ref_a"], strict=True))
            if k == REF_FRAUD
        }
        cited = np.flatnonzero(self.c["ref_kind"] == REF_TXN)
        self._by_day = {int(d): cited[self.c["ref_a"][cited] == d] for d in np.unique(self.c["ref_a"][cited])}

    @property
    def size(self) -> int:
        return self.c["opened_at"].size

    # ---- filling in the cited transactions ------------------------------------------------------------------

    def resolve_fraud(self, fraud_row: int, txn_id: str) -> None:
        i = self._by_fraud.get(fraud_row)
        if i is not None:
            self.txn_id[i] = txn_id

    def resolve_day(self, day: int, txn_id: pl.Series, customer: np.ndarray, amount: np.ndarray) -> None:
        """Complaints citing a transaction of ``day`` (by sequence number) learn its id, customer and amount."""
        for i in self._by_day.get(day, ()):
            if not len(txn_id):
                continue
            seq = int(self.c["ref_b"][i]) % len(txn_id)
            self.txn_id[i] = txn_id[seq]
            self.c["customer"][i] = customer[seq]
            if self.c["claimed"][i] == -2:  # the claim is the transaction's amount
                self.c["claimed"][i] = amount[seq]
            if self.c["compensated"][i] == -2:
                self.c["compensated"][i] = self.c["claimed"][i]

    # ---- records --------------------------------------------------------------------------------------------

    def records(self, day: int) -> pl.DataFrame:
        """The complaint records whose updated_at falls on ``day``."""
        lo, hi = np.searchsorted(self.versions.updated_at, self.cal.bounds[[day, day + 1]])
        v = Versions(self.versions.entity[lo:hi], self.versions.updated_at[lo:hi], self.versions.first[lo:hi])
        rows = self._entities(np.unique(v.entity))
        local = np.searchsorted(rows["_row"].to_numpy(), v.entity)
        out = snapshot(rows, Versions(local, v.updated_at, v.first), REVEALS)
        return out.select(*CONTRACT["complaints"].column_names, "_first")

    def _entities(self, index: np.ndarray) -> pl.DataFrame:
        c = self.c

        def money(key: str) -> pl.Series:
            return pl.Series(key, c[key][index], dtype=pl.Int64)  # negative = null, see below

        frame = pl.DataFrame(
            {
                "_row": pl.Series(index, dtype=pl.Int64),
                "complaint_id": pl.Series([f"CMP{i + 1:07d}" for i in index], dtype=pl.String),
                "opened_at": pl.Series(c["opened_at"][index], dtype=pl.Int64),
                "customer_id": self.pool.ids.gather(pl.Series(c["customer"][index].clip(0), dtype=pl.Int64)),
                "category": enums.labels(CATEGORIES, c["category"][index]),
                "channel": enums.labels(CHANNELS, c["channel"][index]),
                "txn_id": pl.Series([self.txn_id[i] for i in index], dtype=pl.String),
                "first_response_at": pl.Series(c["first_response_at"][index], dtype=pl.Int64),
                "closed_at": pl.Series(c["closed_at"][index], dtype=pl.Int64),
                "resolution": enums.labels(RESOLUTIONS, c["resolution"][index]),
                "claimed_amount": money("claimed"),
                "compensated_amount": money("compensated"),
            }
        )
        return frame.with_columns(
            pl.when(pl.col(k) >= 0).then(pl.col(k)).alias(k)
            for k in ("first_response_at", "closed_at", "claimed_amount", "compensated_amount")
        )

    # ---- planning -------------------------------------------------------------------------------------------

    def _lifecycle(self, rng: np.random.Generator) -> None:
        """First response, closure and the final resolution of every complaint."""
        c, s, n = self.c, self.s, self.size
        external = np.isin(c["channel"], EXTERNAL)
        hours = np.where(external, lognormal(rng, 0.3, 0.5, n), lognormal(rng, s.response_median_hours, 1.0, n))
        c["first_response_at"] = c["opened_at"] + (hours.clip(0.05, 72) * MS_PER_HOUR).astype(np.int64)
        dispute = np.isin(c["category"], DISPUTES)
        u = rng.random(n)
        days = lognormal(rng, 4.0, 0.55, n).clip(0.3, 14.5)
        days = np.where(u < s.late_15_day_share, rng.uniform(15.2, 29.5, n), days)
        late_30 = dispute & (u >= s.late_15_day_share) & (u < s.late_15_day_share + s.late_30_day_share)
        days = np.where(late_30, rng.uniform(30.5, 75.0, n), days)
        litigation = c["resolution"] == RES["litigation"]
        days = np.where(litigation, rng.uniform(10.0, 28.0, n), days)
        closed = c["opened_at"] + (days * MS_PER_DAY).astype(np.int64)
        c["closed_at"] = np.maximum(closed, c["first_response_at"] + MS_PER_HOUR)
        confirmed = c["confirmed_at"]  # fraud complaints close after the fraud is confirmed
        after = confirmed + rng.integers(2, 48, n) * MS_PER_HOUR
        c["closed_at"] = np.where(confirmed >= 0, np.maximum(c["closed_at"], after), c["closed_at"])
        for key in ("opened_at", "first_response_at", "closed_at"):
            c[key] = c[key] // 1000 * 1000

    def _versions(self, rng: np.random.Generator) -> Versions:
        c, n = self.c, self.size
        milestones = np.column_stack([c["opened_at"], c["first_response_at"], c["closed_at"]])
        lags = np.column_stack([np.zeros(n), rng.uniform(0, 120, n), rng.uniform(0, 300, n)]).astype(np.int64) * 1000
        return versions_at_milestones(milestones, lags)

    def _keep_fresh(self, rng: np.random.Generator) -> None:
        """Make sure every day has complaint activity (validation's freshness rule): a follow-up note on an open
        complaint, or failing that a new complaint."""
        cal = self.cal
        parts = [self.versions]
        busy = np.bincount(cal.day_of(self.versions.updated_at).clip(-1, cal.days) + 1, minlength=cal.days + 2)[1:-1]
        for d in np.flatnonzero(busy == 0):
            start, end = cal.bounds[d], cal.bounds[d + 1]
            open_ = np.flatnonzero((self.c["opened_at"] < start) & (self.c["closed_at"] >= end))
            when = start + int(rng.uniform(9, 18) * MS_PER_HOUR) // 1000 * 1000
            if open_.size:
                i = int(open_[rng.integers(0, open_.size)])
                parts.append(Versions(np.array([i]), np.array([when]), np.array([False])))
                continue
            i = self._append_walk_in(when, rng)
            closed = int(self.c["closed_at"][i])
            first_response = int(self.c["first_response_at"][i])
            parts.append(
                Versions(
                    np.array([i, i, i]),
                    np.array([when, first_response + 60_000, closed + 60_000]),
                    np.array([True, False, False]),
                )
            )
        self.versions = Versions.concat(parts).sorted()

    def _append_walk_in(self, when: int, rng: np.random.Generator) -> int:
        """A new complaint about an operation error, opened at ``when`` and dealt with quickly."""
        i = self.size
        values = {
            "opened_at": when,
            "customer": int(self.pool.sample(rng, 1)[0]),
            "category": CAT["operation_error"],
            "channel": int(choice(rng, DIRECT_CHANNEL_MIX, 1)[0]),
            "resolution": RES["resolved"],
            "claimed": -1,
            "compensated": -1,
            "ref_kind": NO_REF,
            "ref_a": -1,
            "ref_b": -1,
            "confirmed_at": -1,
            "first_response_at": when + int(rng.uniform(0.2, 3) * MS_PER_HOUR) // 1000 * 1000,
            "closed_at": when + int(rng.uniform(1, 6) * MS_PER_DAY) // 1000 * 1000,
        }
        for key, value in values.items():
            self.c[key] = np.append(self.c[key], np.int64(value))
        return i


# ---- where complaints come from -----------------------------------------------------------------------------


def _channel(rng, n: int, external_share) -> np.ndarray:
    direct = choice(rng, DIRECT_CHANNEL_MIX, n)
    external = np.where(rng.random(n) < 0.6, *EXTERNAL)
    return np.where(rng.random(n) < external_share, external, direct)


def _fraud_complaints(draft: _Draft, fraud: pl.DataFrame, s: Scenario, rng) -> None:
    rows = fraud.with_row_index("_row").filter(pl.col("complaint_at").is_not_null())
    n = rows.height
    if n == 0:
        return
    category = np.array([CAT[c] for c in rows["complaint_category"].to_list()], dtype=np.int64)
    claimed = rows["amount"].to_numpy()
    u = rng.random(n)
    unauthorized = category == CAT["unauthorized_txn"]
    # unauthorized transactions are mostly refunded in full; scams the customer authorised far less often
    compensate = np.where(unauthorized, 0.92, 0.40)
    reject = np.where(unauthorized, 0.05, 0.40)
    resolution = np.where(
        u < compensate, RES["compensated"], np.where(u < compensate + reject, RES["rejected"], RES["resolved"])
    )
    resolution = np.where(rng.random(n) < s.litigation_share, RES["litigation"], resolution)
    partial = rng.random(n) < 0.10
    compensated = np.where(partial, (claimed * rng.uniform(0.6, 0.95, n)).astype(np.int64), claimed)
    compensated = np.where(resolution == RES["compensated"], compensated, -1)
    draft.add(
        opened_at=rows["complaint_at"].to_numpy(),
        customer=rows["customer"].to_numpy(),
        category=category,
        channel=_channel(rng, n, s.external_channel_share),
        resolution=resolution,
        claimed=claimed,
        compensated=compensated,
        ref_kind=np.full(n, REF_FRAUD),
        ref_a=rows["_row"].to_numpy(),
        confirmed_at=rows["confirmed_at"].to_numpy(),
    )


def _outage_complaints(draft: _Draft, incidents: pl.DataFrame, s: Scenario, pool: CustomerPool, rng) -> None:
    """Customers who could not transact complain; a loss-making breach brings privacy complaints."""
    outages = incidents.filter(pl.col("customer_facing") & ~pl.col("planned") & pl.col("resolved_at").is_not_null())
    start = outages["started_at"].to_numpy()
    minutes = (outages["resolved_at"].to_numpy() - start) / MS_PER_MINUTE
    per_outage = rng.poisson(s.outage_complaints_per_minute * minutes**0.85)
    which = np.repeat(np.arange(outages.height), per_outage)
    n = which.size
    if n:
        opened = (
            start[which]
            + (rng.random(n) * minutes[which] * MS_PER_MINUTE).astype(np.int64)
            + (rng.exponential(3.0, n) * MS_PER_HOUR).astype(np.int64)
        )
        big = minutes[which] > 120
        claimed = np.where(rng.random(n) < 0.15, rng.integers(1_000, 20_000, n), -1)
        u = rng.random(n)
        resolution = np.where(u < 0.85, RES["resolved"], np.where(u < 0.95, RES["compensated"], RES["rejected"]))
        compensated = np.where(resolution == RES["compensated"], np.where(claimed >= 0, claimed, 2_000), -1)
        draft.add(
            opened_at=opened,
            customer=pool.sample(rng, n),
            category=np.full(n, CAT["service_unavailable"]),
            channel=_channel(rng, n, np.where(big, 0.10, s.external_channel_share)),
            resolution=resolution,
            claimed=claimed,
            compensated=compensated,
        )
    breaches = incidents.filter(pl.col("loss_event") & pl.col("cause").is_in(BREACH_CAUSES))
    per_breach = rng.poisson(2.0, breaches.height)
    which = np.repeat(np.arange(breaches.height), per_breach)
    n = which.size
    if n:
        opened = breaches["detected_at"].to_numpy()[which] + (rng.uniform(6, 96, n) * MS_PER_HOUR).astype(np.int64)
        draft.add(
            opened_at=opened,
            customer=pool.sample(rng, n),
            category=np.full(n, CAT["privacy_leak"]),
            channel=_channel(rng, n, 0.2),
            resolution=np.full(n, RES["resolved"]),
        )


def _background_complaints(
    draft: _Draft, cal: RunCalendar, s: Scenario, day_counts: np.ndarray, pool: CustomerPool, rng
) -> None:
    per_day = systematic_counts(s.complaints_per_txn * day_counts, rng)
    day = np.repeat(np.arange(cal.days), per_day)
    n = day.size
    if n == 0:
        return
    opened = cal.instants_in_days(day, rng, TRANSACTION_HOURS)
    names = list(BACKGROUND_MIX)
    category = np.array([CAT[c] for c in names])[choice(rng, list(BACKGROUND_MIX.values()), n)]
    cites = np.isin(category, DISPUTES) | ((category == CAT["operation_error"]) & (rng.random(n) < 0.5))
    ref_day = day - rng.geometric(0.3, n)  # a transaction from the days before
    cites &= ref_day >= 0
    ref_seq = rng.integers(0, 2**31 - 1, n)  # taken modulo the cited day's count when it is generated
    fee = rng.integers(500, 30_000, n)
    claim_is_amount = cites & ((category == CAT["unauthorized_txn"]) | (category == CAT["operation_error"]))
    claimed = np.where(category == CAT["fee_dispute"], fee, np.where(claim_is_amount, -2, -1))
    u = rng.random(n)
    fee_res = np.where(u < 0.5, RES["compensated"], np.where(u < 0.75, RES["resolved"], RES["rejected"]))
    unauth_res = np.where(u < 0.75, RES["rejected"], RES["resolved"])
    other_res = np.where(u < 0.85, RES["resolved"], np.where(u < 0.95, RES["rejected"], RES["compensated"]))
    resolution = np.where(
        category == CAT["fee_dispute"], fee_res, np.where(category == CAT["unauthorized_txn"], unauth_res, other_res)
    )
    resolution = np.where(
        np.isin(category, DISPUTES) & (rng.random(n) < s.litigation_share), RES["litigation"], resolution
    )
    gesture = np.where(claimed >= 0, claimed, np.where(claimed == -2, -2, 1_000))
    compensated = np.where(resolution == RES["compensated"], gesture, -1)
    draft.add(
        opened_at=opened,
        customer=np.where(cites, -1, pool.sample(rng, n)),
        category=category,
        channel=_channel(rng, n, s.external_channel_share),
        resolution=resolution,
        claimed=claimed,
        compensated=compensated,
        ref_kind=np.where(cites, REF_TXN, NO_REF),
        ref_a=np.where(cites, ref_day, -1),
        ref_b=np.where(cites, ref_seq, -1),
    )
