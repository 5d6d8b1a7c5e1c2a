"""Confirmed-fraud ("risk") transactions, planned for the whole run before any day is written.

Fraud is rare and concentrated: victims (mostly password-only or otherwise vulnerable customers) lose a burst of
transactions within an hour or two, typically from a new device with a password only, mostly online payments and
remittances. Monthly totals are exact: a flat share of the volume in `baseline`/`stress`, and in `paper-2018` the
paper's Aug–Nov 2018 counts, amounts and risk-customer numbers scaled by one factor to the generated volume, so the
monthly proportions (CO3) are the paper's. The risk engine flags a chosen share of each month's fraud *amount*
(BC2), shrinking month over month in `paper-2018`. Victims complain; fraud is confirmed days later (an update).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from transforms.generate import enums
from transforms.generate.clock import FRAUD_HOURS, MS_PER_DAY, MS_PER_HOUR, MS_PER_MINUTE, RunCalendar
from transforms.generate.customers import CustomerPool
from transforms.generate.randomness import choice, choice_rows, lognormal, systematic_counts
from transforms.generate.scenarios import (
    PAPER_2018_MONTHS,
    PAPER_2018_RISK_AMOUNTS_CNY,
    PAPER_2018_RISK_CUSTOMERS,
    PAPER_2018_RISK_TRANSACTIONS,
    Scenario,
)

CHANNELS = enums.values("transactions", "channel")
TXN_TYPES = enums.values("transactions", "txn_type")
AUTH_METHODS = enums.values("transactions", "auth_method")
# "mostly online payment and remittance" (the paper's 2019 risk cases by business module)
TXN_TYPE_MIX = enums.mix(
    "transactions",
    "txn_type",
    {"online_payment": 0.45, "remittance": 0.30, "unionpay_debit": 0.12, "atm_pos": 0.10, "other": 0.03},
)
# the channel a fraudster uses for each kind of transaction
CHANNEL_BY_TYPE = enums.table(
    "transactions",
    "txn_type",
    "channel",
    {
        "online_payment": {"web": 0.35, "mobile": 0.20, "wechat": 0.10, "open_api": 0.35},
        "remittance": {"web": 0.45, "mobile": 0.35, "wechat": 0.20},
        "unionpay_debit": {"web": 0.40, "mobile": 0.20, "open_api": 0.40},
        "atm_pos": {"web": 0.30, "mobile": 0.60, "wechat": 0.10},
        "other": {"web": 0.30, "mobile": 0.30, "wechat": 0.20, "open_api": 0.20},
    },
)
# stolen passwords mostly; SIM swaps and phished one-time passwords
AUTH_MIX = enums.mix(
    "transactions", "auth_method", {"password": 0.60, "sms_otp": 0.30, "usb_key": 0.07, "biometric": 0.03}
)
SUCCESS, FAILED = enums.named("transactions", "status", "success", "failed")
RISK_BLOCKED, INSUFFICIENT_FUNDS = enums.named("transactions", "failure_reason", "risk_blocked", "insufficient_funds")
UNAUTHORIZED, SCAM = enums.named("complaints", "category", "unauthorized_txn", "fraud_scam")
VULNERABLE_TARGET_SHARE = 0.7
BLOCKED_WHEN_FLAGGED = 0.25
PLAN_COLUMNS = (
    "day",
    "event_at",
    "customer",
    "channel",
    "txn_type",
    "amount",
    "auth_method",
    "new_device",
    "risk_flag",
    "status",
    "failure_reason",
    "confirmed_at",
    "complaint_at",
    "complaint_category",
)


def month_targets(cal: RunCalendar, day_counts: np.ndarray, s: Scenario) -> list[dict]:
    """Per calendar month of the run: its days and the fraud count, amount (CNY), victims and caught share."""
    ym = np.array([d.year * 12 + d.month for d in cal.dates])
    figure = cal.month_index(PAPER_2018_MONTHS).clip(0, 3)
    scale = s.paper_first_month_share * (day_counts.mean() * 31) / PAPER_2018_RISK_TRANSACTIONS[0]
    targets = []
    for month in np.unique(ym):
        days = np.flatnonzero(ym == month)
        if s.paper_ramp:
            k = int(figure[days[0]])
            part = days.size / cal.days_in_month(int(days[0]))
            count = scale * PAPER_2018_RISK_TRANSACTIONS[k] * part
            amount = scale * PAPER_2018_RISK_AMOUNTS_CNY[k] * part
            victims = scale * PAPER_2018_RISK_CUSTOMERS[k] * part
            caught = s.paper_caught_amount_shares[k]
        else:
            count = s.fraud_share * day_counts[days].sum()
            amount = count * s.fraud_mean_amount
            victims = count / s.fraud_txns_per_victim
            caught = s.fraud_caught_amount_share
        targets.append({"days": days, "count": count, "amount": amount, "victims": victims, "caught": caught})
    return targets


def plan_fraud(
    cal: RunCalendar, day_counts: np.ndarray, s: Scenario, pool: CustomerPool, rng: np.random.Generator
) -> pl.DataFrame:
    targets = month_targets(cal, day_counts, s)
    counts = systematic_counts(np.array([t["count"] for t in targets]), rng)
    parts = [_month(cal, day_counts, s, pool, t, int(c), rng) for t, c in zip(targets, counts, strict=True)]
    parts = [p for p in parts if p is not None]
    if not parts:
        return _empty()
    plan = pl.concat(parts).sort("event_at", maintain_order=True)
    plan = plan.with_columns(day=pl.Series(cal.day_of(plan["event_at"].to_numpy()), dtype=pl.Int64))
    plan = plan.filter((pl.col("day") >= 0) & (pl.col("day") < cal.days))
    # never more fraud on a day than the day's transactions (matters only for toy volumes)
    capacity = (
        pl.Series(day_counts.astype(np.int64)).gather(plan["day"]) if plan.height else pl.Series([], dtype=pl.Int64)
    )
    plan = plan.with_columns(capacity=capacity, nth=pl.int_range(pl.len()).over("day")).filter(
        pl.col("nth") < pl.col("capacity")
    )
    return plan.select(PLAN_COLUMNS)


def _month(cal, day_counts, s: Scenario, pool: CustomerPool, target: dict, count: int, rng) -> pl.DataFrame | None:
    if count <= 0:
        return None
    days = target["days"]
    victims = int(np.clip(round(target["victims"]), 1, count))
    weights = day_counts[days] / max(day_counts[days].sum(), 1)
    burst_days = np.repeat(days, systematic_counts(victims * weights, rng))
    victims = burst_days.size
    if victims == 0:
        burst_days, victims = days[rng.integers(0, days.size, 1)], 1
    sizes = (
        1 + rng.multinomial(count - victims, np.full(victims, 1 / victims))
        if count > victims
        else np.ones(victims, dtype=np.int64)
    )
    burst = np.repeat(np.arange(victims), sizes)
    n = burst.size
    first_in_burst = np.concatenate(([True], burst[1:] != burst[:-1]))
    gaps = np.where(first_in_burst, 0.0, rng.exponential(25.0, n))
    offset = np.zeros(n)
    for b_start in np.flatnonzero(first_in_burst):  # cumulative gaps within each burst
        b_end = b_start + sizes[burst[b_start]]
        offset[b_start:b_end] = np.cumsum(gaps[b_start:b_end])
    start = cal.instants_in_days(burst_days, rng, FRAUD_HOURS)
    event_at = start[burst] + (offset * MS_PER_MINUTE).astype(np.int64)

    raw = lognormal(rng, 1.0, 0.9, n)
    cents = np.floor(raw / raw.sum() * target["amount"] * 100).astype(np.int64).clip(100)
    cents[np.argmax(cents)] += int(round(target["amount"] * 100)) - int(cents.sum())

    flagged = ~_missed(cents, 1 - target["caught"], np.argsort(event_at, kind="stable"))

    victim = pool.sample_uniform(rng, victims, VULNERABLE_TARGET_SHARE)
    txn_type = choice(rng, TXN_TYPE_MIX, n)
    channel = choice_rows(rng, CHANNEL_BY_TYPE, txn_type)
    auth = choice(rng, AUTH_MIX, victims)[burst]
    new_device = rng.random(n) < np.where(first_in_burst, 0.8, 0.3)
    blocked = flagged & (rng.random(n) < BLOCKED_WHEN_FLAGGED)
    short = ~flagged & (rng.random(n) < 0.05)
    status = np.where(blocked | short, FAILED, SUCCESS)
    reason = np.where(blocked, RISK_BLOCKED, np.where(short, INSUFFICIENT_FUNDS, None))

    complains = (rng.random(victims) < s.fraud_victim_complains)[burst] & (status == SUCCESS)
    complaint_at = event_at + (lognormal(rng, 18.0, 0.8, n).clip(0.2, 24 * 20) * MS_PER_HOUR).astype(np.int64)
    category = np.where(rng.random(victims) < 0.85, UNAUTHORIZED, SCAM)[burst]
    # confirmed a day or so after the victim's complaint, or after the bank's own review of the account; the
    # delay does not depend on the flag, so a window's confirmed fraud is not biased towards the flagged share
    investigated = np.where(
        complains,
        complaint_at + (lognormal(rng, 1.0, 0.5, n) * MS_PER_DAY).astype(np.int64),
        event_at + (lognormal(rng, 1.5, 0.5, n) * MS_PER_DAY).astype(np.int64),
    )
    return pl.DataFrame(
        {
            "day": pl.Series(np.zeros(n, dtype=np.int64)),
            "event_at": pl.Series(event_at, dtype=pl.Int64),
            "customer": pl.Series(victim[burst], dtype=pl.Int64),
            "channel": _strings(np.array(CHANNELS, dtype=object)[channel]),
            "txn_type": _strings(np.array(TXN_TYPES, dtype=object)[txn_type]),
            "amount": pl.Series(cents, dtype=pl.Int64),
            "auth_method": _strings(np.array(AUTH_METHODS, dtype=object)[auth]),
            "new_device": pl.Series(new_device, dtype=pl.Boolean),
            "risk_flag": pl.Series(flagged, dtype=pl.Boolean),
            "status": _strings(status),
            "failure_reason": _strings(reason),
            "confirmed_at": pl.Series(investigated, dtype=pl.Int64),
            "complaint_at": pl.Series(np.where(complains, complaint_at, -1), dtype=pl.Int64),
            "complaint_category": _strings(np.where(complains, category, None)),
        }
    ).with_columns(complaint_at=pl.when(pl.col("complaint_at") >= 0).then(pl.col("complaint_at")))


def _missed(cents: np.ndarray, share: float, order: np.ndarray) -> np.ndarray:
    """Transactions the risk engine misses, chosen in time order so that the missed share of the amount so far
    stays as close as it can to ``share``: any stretch of the month (and a window whose last days are not yet
    confirmed) shows about the month's share, even with a handful of frauds."""
    missed_amount, total = 0, 0
    missed = np.zeros(cents.size, dtype=bool)
    for i in order:
        total += cents[i]
        if abs(missed_amount + cents[i] - share * total) < abs(missed_amount - share * total):
            missed[i] = True
            missed_amount += cents[i]
    return missed


def _strings(values: np.ndarray) -> pl.Series:
    return pl.Series(values.tolist(), dtype=pl.String)


def _empty() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "day": pl.Int64,
            "event_at": pl.Int64,
            "customer": pl.Int64,
            "channel": pl.String,
            "txn_type": pl.String,
            "amount": pl.Int64,
            "auth_method": pl.String,
            "new_device": pl.Boolean,
            "risk_flag": pl.Boolean,
            "status": pl.String,
            "failure_reason": pl.String,
            "confirmed_at": pl.Int64,
            "complaint_at": pl.Int64,
            "complaint_category": pl.String,
        }
    )
