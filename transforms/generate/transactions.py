"""Transactions, one local day at a time (vectorised), with the updates that arrive on later days.

A day's records are: the day's new transactions (regular ones drawn from the customer pool plus the fraud planned
for the day), reversals of earlier transactions, fraud confirmations of earlier fraud (the same txn_id again with
``fraud_confirmed`` true), and first records that spilled over midnight. Customer-facing outages make transactions
on the affected channels fail with ``system_error`` while they last. Only one day is ever held in memory.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from transforms.core.contract import CONTRACT, SYSTEMS
from transforms.generate import enums
from transforms.generate.changelog import DayBuckets
from transforms.generate.clock import MS_PER_HOUR, TRANSACTION_HOURS, RunCalendar
from transforms.generate.customers import CHANNEL_MIX, CustomerPool
from transforms.generate.randomness import TRANSACTIONS, allocate, choice, choice_rows, lognormal, stream

CONTRACT_TX = CONTRACT["transactions"]
CHANNELS = enums.values("transactions", "channel")
TXN_TYPES = enums.values("transactions", "txn_type")
STATUSES = enums.values("transactions", "status")
AUTH_METHODS = enums.values("transactions", "auth_method")
FAILURE_REASONS = enums.values("transactions", "failure_reason")
STATUS = enums.codes("transactions", "status")
REASON = enums.codes("transactions", "failure_reason")
AUTH = enums.codes("transactions", "auth_method")
TYPE = enums.codes("transactions", "txn_type")
LARGE_AMOUNT_CENTS = 500_000  # SP1: 5,000 CNY

TYPE_BY_CHANNEL = enums.table(
    "transactions",
    "channel",
    "txn_type",
    {
        "web": {"online_payment": 0.35, "remittance": 0.35, "unionpay_debit": 0.15, "atm_pos": 0.05, "other": 0.10},
        "mobile": {"online_payment": 0.45, "remittance": 0.20, "unionpay_debit": 0.15, "atm_pos": 0.15, "other": 0.05},
        "wechat": {"online_payment": 0.60, "remittance": 0.15, "unionpay_debit": 0.10, "atm_pos": 0.12, "other": 0.03},
        "open_api": {"online_payment": 0.70, "remittance": 0.05, "unionpay_debit": 0.20, "other": 0.05},
    },
)
# amount in CNY by txn_type: lognormal median and sigma, plus a Pareto tail of large payments
AMOUNT_MEDIAN = enums.mix(
    "transactions",
    "txn_type",
    {"online_payment": 95.0, "remittance": 1_800.0, "unionpay_debit": 260.0, "atm_pos": 500.0, "other": 150.0},
)
AMOUNT_SIGMA = enums.mix(
    "transactions",
    "txn_type",
    {"online_payment": 1.1, "remittance": 1.3, "unionpay_debit": 1.0, "atm_pos": 0.9, "other": 1.2},
)
TAIL_SHARE, TAIL_FROM, TAIL_ALPHA, AMOUNT_CAP = 0.015, 5_000.0, 1.6, 5_000_000.0
# the strongest factor used, by channel (a USB key only on the web, biometrics only on phones)
AUTH_BY_CHANNEL = enums.table(
    "transactions",
    "channel",
    "auth_method",
    {
        "web": {"password": 0.03, "sms_otp": 0.62, "usb_key": 0.35},
        "mobile": {"password": 0.02, "sms_otp": 0.38, "biometric": 0.60},
        "wechat": {"password": 0.03, "sms_otp": 0.42, "biometric": 0.55},
        "open_api": {"password": 0.06, "sms_otp": 0.94},
    },
)
STEP_UP_LEAK = 0.003  # large or new-device payments that slip through on a password alone
NEW_DEVICE_SHARE = 0.025
FAILED_SHARE, REVERSED_SHARE = 0.032, 0.0025
FAILED_REASON_MIX = enums.mix(
    "transactions",
    "failure_reason",
    {"insufficient_funds": 0.50, "auth_failed": 0.30, "system_error": 0.07, "other": 0.13},
)
OPERATOR_ERROR_SHARE = 3e-6
REVERSED_LATER_SHARE = 0.002
SHARED_SYSTEMS = {"auth_service", "core_banking", "data_center"}
CHANNEL_SYSTEMS = {  # systems whose customer-facing outage stops a channel
    "web": {"online_banking"} | SHARED_SYSTEMS,
    "mobile": {"mobile_banking"} | SHARED_SYSTEMS,
    "wechat": {"mobile_banking"} | SHARED_SYSTEMS,
    "open_api": {"payment_gateway"} | SHARED_SYSTEMS,
}
OTP_SYSTEM = "sms_gateway"  # its outage stops one-time passwords instead
if set(CHANNEL_SYSTEMS) != set(CHANNELS) or not set().union(*CHANNEL_SYSTEMS.values(), {OTP_SYSTEM}) <= set(SYSTEMS):
    raise ValueError("CHANNEL_SYSTEMS must name the contract's channels and systems")
OUTAGE_FAILURE_SHARE = 0.85
WEEKDAY_VOLUME = np.array([1.0, 1.0, 1.0, 1.02, 1.08, 0.92, 0.85])  # Monday..Sunday


def daily_counts(cal: RunCalendar, total: int, rng: np.random.Generator) -> np.ndarray:
    """Transactions per day summing exactly to ``total``: weekly rhythm plus a little day-to-day noise."""
    weights = WEEKDAY_VOLUME[cal.weekday - 1] * rng.lognormal(0.0, 0.05, cal.days)
    return allocate(total, weights)


@dataclass(frozen=True)
class DayTransactions:
    records: pl.DataFrame  # contract columns + _first, sorted by updated_at: this day's file
    txn_id: pl.Series  # the day's new transactions by sequence number (for complaints that cite one)
    customer: np.ndarray
    amount: np.ndarray


class TransactionSimulator:
    def __init__(
        self,
        cal: RunCalendar,
        pool: CustomerPool,
        day_counts: np.ndarray,
        fraud: pl.DataFrame,
        outages: pl.DataFrame,
        seed: int,
    ):
        self.cal, self.pool, self.day_counts, self.fraud, self.seed = cal, pool, day_counts, fraud, seed
        self.fraud_days = fraud["day"].to_numpy()
        self.fraud_txn_id: list[str | None] = [None] * fraud.height
        confirm_day = cal.day_of(fraud["confirmed_at"].to_numpy()) if fraud.height else np.zeros(0, dtype=np.int64)
        self.confirm_on = {int(d): np.flatnonzero(confirm_day == d) for d in np.unique(confirm_day)}
        self.outages = outages.with_columns(pl.col("end").fill_null(cal.end + 1))
        self.width = max(7, len(str(int(day_counts.max(initial=0)))))
        self.pending = DayBuckets()

    def fraud_count(self, day: int) -> int:
        lo, hi = np.searchsorted(self.fraud_days, [day, day + 1])
        return int(hi - lo)

    def day(self, d: int) -> DayTransactions:
        rng = stream(self.seed, TRANSACTIONS, d)
        lo, hi = (int(x) for x in np.searchsorted(self.fraud_days, [d, d + 1]))
        regular = self._regular(d, int(self.day_counts[d]) - (hi - lo), rng)
        fraud = self._fraud_first(d, lo, hi)
        new = pl.concat([regular, fraud]).sort("event_at", maintain_order=True)
        label = self.cal.dates[d].strftime("%Y%m%d")
        seq = pl.int_range(1, new.height + 1, eager=True).cast(pl.String).str.zfill(self.width)
        new = new.with_columns(txn_id=(f"T{label}" + seq) if new.height else pl.lit(None, pl.String))
        fraud_rows = new.filter(pl.col("_fraud") >= 0)
        for i, txn in zip(fraud_rows["_fraud"].to_list(), fraud_rows["txn_id"].to_list(), strict=True):
            self.fraud_txn_id[i] = txn
        latency = lognormal(rng, 600.0, 0.8, new.height).clip(50, 30_000).astype(np.int64)
        # a record stamped just after midnight lands in the next day's file; never beyond the run, so that every
        # transaction asked for is written
        updated_at = pl.min_horizontal(pl.col("event_at") + pl.Series(latency), pl.lit(self.cal.end - 1))
        new = new.with_columns(updated_at=updated_at)
        later = self._reversals(new.filter(pl.col("_fraud") < 0), rng)
        first = new.with_columns(_first=pl.lit(True))
        day_of = self.cal.day_of(first["updated_at"].to_numpy())
        self.pending.add(first.filter(pl.Series(day_of > d)), day_of[day_of > d])
        self.pending.add(later, self.cal.day_of(later["updated_at"].to_numpy()))
        parts = [first.filter(pl.Series(day_of == d)), *self.pending.pop(d), self._confirmations(d)]
        records = pl.concat([p.select(first.columns) for p in parts]).sort("updated_at", maintain_order=True)
        return DayTransactions(
            records=records.select(*CONTRACT_TX.column_names, "_first"),
            txn_id=new["txn_id"],
            customer=new["_customer"].to_numpy(),
            amount=new["amount"].to_numpy(),
        )

    # ---- the day's new transactions ---------------------------------------------------------------------------

    def _regular(self, d: int, n: int, rng: np.random.Generator) -> pl.DataFrame:
        n = max(n, 0)
        pool = self.pool
        customer = pool.sample(rng, n)
        channel = np.where(rng.random(n) < 0.75, pool.primary_channel[customer], choice(rng, CHANNEL_MIX, n))
        txn_type = choice_rows(rng, TYPE_BY_CHANNEL, channel)
        amount = lognormal(rng, AMOUNT_MEDIAN[txn_type], AMOUNT_SIGMA[txn_type], n)
        tail = rng.random(n) < TAIL_SHARE
        amount = np.where(tail, TAIL_FROM * (1.0 + rng.pareto(TAIL_ALPHA, n)), amount).clip(0.01, AMOUNT_CAP)
        atm = (txn_type == TYPE["atm_pos"]) & (rng.random(n) < 0.5)  # cash withdrawals come in hundreds
        amount = np.where(atm, np.maximum(100.0, np.round(amount / 100.0) * 100.0), amount)
        cents = np.round(amount * 100).astype(np.int64)
        event_at = self.cal.instants_in_days(np.full(n, d), rng, TRANSACTION_HOURS)
        new_device = rng.random(n) < NEW_DEVICE_SHARE
        auth = choice_rows(rng, AUTH_BY_CHANNEL, channel)
        password, otp = AUTH["password"], AUTH["sms_otp"]
        auth = np.where(pool.password_only[customer], password, auth)
        must_step_up = (cents >= LARGE_AMOUNT_CENTS) | new_device  # policy: a second factor, bar a few slips
        auth = np.where((auth == password) & must_step_up & (rng.random(n) >= STEP_UP_LEAK), otp, auth)
        flag = rng.random(n) < 0.004 + 0.04 * new_device + 0.01 * (cents >= LARGE_AMOUNT_CENTS)
        u = rng.random(n)
        failed, reversed_ = STATUS["failed"], STATUS["reversed"]
        status = np.where(
            u < FAILED_SHARE, failed, np.where(u < FAILED_SHARE + REVERSED_SHARE, reversed_, STATUS["success"])
        )
        reversed_at_once = np.where(rng.random(n) < 0.6, REASON["system_error"], REASON["other"])
        reason = np.where(status == failed, choice(rng, FAILED_REASON_MIX, n), reversed_at_once)
        blocked = flag & (rng.random(n) < 0.25)
        status, reason = np.where(blocked, failed, status), np.where(blocked, REASON["risk_blocked"], reason)
        operator = rng.random(n) < OPERATOR_ERROR_SHARE
        status, reason = np.where(operator, failed, status), np.where(operator, REASON["operator_error"], reason)
        status, reason = self._outage_failures(d, event_at, channel, auth, status, reason, rng)
        return pl.DataFrame(
            {
                "event_at": pl.Series(event_at, dtype=pl.Int64),
                "_customer": pl.Series(customer, dtype=pl.Int64),
                "channel": enums.labels(CHANNELS, channel),
                "txn_type": enums.labels(TXN_TYPES, txn_type),
                "amount": pl.Series(cents, dtype=pl.Int64),
                "status": enums.labels(STATUSES, status),
                "failure_reason": enums.labels(FAILURE_REASONS, reason).set(
                    pl.Series(status == STATUS["success"]), None
                ),
                "auth_method": enums.labels(AUTH_METHODS, auth),
                "new_device": pl.Series(new_device, dtype=pl.Boolean),
                "risk_flag": pl.Series(flag, dtype=pl.Boolean),
                "_fraud": pl.Series(np.full(n, -1, dtype=np.int64)),
            }
        ).with_columns(
            customer_id=self.pool.ids.gather(pl.Series(customer)) if n else pl.lit(None, pl.String),
            fraud_confirmed=pl.lit(False),
        )

    def _outage_failures(self, d, event_at, channel, auth, status, reason, rng):
        start, end = self.cal.bounds[d], self.cal.bounds[d + 1]
        live = self.outages.filter((pl.col("start") < end) & (pl.col("end") > start))
        for system, s, e in live.iter_rows():
            during = (event_at >= s) & (event_at < e) & (rng.random(event_at.size) < OUTAGE_FAILURE_SHARE)
            if system == OTP_SYSTEM:  # no one-time passwords: OTP logins fail
                hit = during & (auth == AUTH["sms_otp"])
                status, reason = np.where(hit, STATUS["failed"], status), np.where(hit, REASON["auth_failed"], reason)
                continue
            affected = np.array([system in CHANNEL_SYSTEMS[c] for c in CHANNELS])[channel]
            hit = during & affected
            status, reason = np.where(hit, STATUS["failed"], status), np.where(hit, REASON["system_error"], reason)
        return status, reason

    def _fraud_first(self, d: int, lo: int, hi: int) -> pl.DataFrame:
        return self._fraud_rows(pl.Series(np.arange(lo, hi), dtype=pl.Int64), confirmed=False)

    def _fraud_rows(self, index: pl.Series, confirmed: bool, **extra: pl.Expr | pl.Series | str) -> pl.DataFrame:
        """The fraud transactions at ``index`` as records (first version, or the confirmation update)."""
        rows = self.fraud[index] if index.len() else self.fraud.clear()
        return rows.select(
            "event_at",
            _customer="customer",
            channel="channel",
            txn_type="txn_type",
            amount="amount",
            status="status",
            failure_reason="failure_reason",
            auth_method="auth_method",
            new_device="new_device",
            risk_flag="risk_flag",
            _fraud=index if index.len() else pl.lit(None, pl.Int64),
            customer_id=self.pool.ids.gather(rows["customer"]) if index.len() else pl.lit(None, pl.String),
            fraud_confirmed=pl.lit(confirmed),
            **extra,
        )

    # ---- updates of earlier transactions ---------------------------------------------------------------------

    def _reversals(self, new: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
        """Successful payments refunded or charged back hours to days later: status becomes ``reversed``."""
        success, reversed_ = enums.named("transactions", "status", "success", "reversed")
        refund, mistake = enums.named("transactions", "failure_reason", "other", "operator_error")
        chosen = (new["status"] == success).to_numpy() & (rng.random(new.height) < REVERSED_LATER_SHARE)
        rows = new.filter(pl.Series(chosen))
        delay = (lognormal(rng, 20.0, 1.0, rows.height).clip(1, 24 * 20) * MS_PER_HOUR).astype(np.int64)
        reason = np.where(rng.random(rows.height) < 0.002, mistake, refund)
        return rows.with_columns(
            updated_at=pl.col("event_at") + pl.Series(delay, dtype=pl.Int64),
            status=pl.lit(reversed_),
            failure_reason=pl.Series(reason.tolist(), dtype=pl.String),
            _first=pl.lit(False),
        )

    def _confirmations(self, d: int) -> pl.DataFrame:
        """Fraud confirmed today: the full record again with ``fraud_confirmed`` true and a later updated_at."""
        index = self.confirm_on.get(d, np.zeros(0, dtype=np.int64))
        return self._fraud_rows(
            pl.Series(index, dtype=pl.Int64),
            confirmed=True,
            txn_id=pl.Series([self.fraud_txn_id[i] for i in index], dtype=pl.String),
            updated_at="confirmed_at",
            _first=pl.lit(False),
        )
