"""Backups: every system's nightly backup (a weekly full, incrementals in between), log backups of the two
transactional databases every six hours, occasional failures and skips (in streaks under `stress`), offsite copies
of full backups a few hours later and weekly restore tests a day or two later, both as updates.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from transforms.core.contract import SYSTEMS
from transforms.generate import enums
from transforms.generate.changelog import Reveal, Versions, milestone_array, versions_at_milestones
from transforms.generate.clock import MS_PER_DAY, MS_PER_HOUR, MS_PER_MINUTE, RunCalendar
from transforms.generate.randomness import choice, lognormal
from transforms.generate.scenarios import Scenario

TYPES = enums.values("backups", "backup_type")
STATUSES = enums.values("backups", "status")
KIND = enums.codes("backups", "backup_type")
STATUS = enums.codes("backups", "status")
SCENARIO_STATUS_ORDER = enums.named("backups", "status", "success", "partial", "failed", "skipped")
LOG_SYSTEMS = ("core_banking", "payment_gateway")
LOG_HOURS = (6.5, 12.5, 18.5)
FULL_GB = enums.mix(  # size of a full backup by system
    "backups",
    "system",
    {
        "online_banking": 120.0,
        "mobile_banking": 90.0,
        "payment_gateway": 260.0,
        "core_banking": 900.0,
        "auth_service": 40.0,
        "sms_gateway": 25.0,
        "data_center": 1_800.0,
    },
)
DURATION_MIN = enums.mix("backups", "backup_type", {"full": 60.0, "incremental": 12.0, "log": 2.0})  # median
SIZE_SHARE = enums.mix("backups", "backup_type", {"full": 1.0, "incremental": 0.05, "log": 0.004})  # of a full
REVEALS = (
    Reveal("offsite_copy", "_offsite_at", False),
    Reveal("restore_tested", "_restore_at", False),
    Reveal("restore_ok", "_restore_at", None),
)


def plan_backups(cal: RunCalendar, s: Scenario, rng: np.random.Generator) -> pl.DataFrame:
    days, systems = cal.days, len(SYSTEMS)
    # nightly backups: one per system per day, full on the system's weekly slot
    day = np.repeat(np.arange(days), systems)
    system = np.tile(np.arange(systems), days)
    kind = np.where(cal.weekday[day] - 1 == system % 7, KIND["full"], KIND["incremental"])
    scheduled = cal.bounds[day] + ((1.0 + system * 0.25) * MS_PER_HOUR).astype(np.int64)
    status = _nightly_status(s, rng, days, systems).ravel()
    # log backups of the transactional databases
    log_sys = np.array([SYSTEMS.index(x) for x in LOG_SYSTEMS])
    l_day = np.repeat(np.arange(days), log_sys.size * len(LOG_HOURS))
    l_sys = np.tile(np.repeat(log_sys, len(LOG_HOURS)), days)
    l_hour = np.tile(np.tile(LOG_HOURS, log_sys.size), days)
    l_sched = cal.bounds[l_day] + (l_hour * MS_PER_HOUR).astype(np.int64)
    l_status = choice(rng, _status_mix(s), l_day.size)

    system = np.concatenate([system, l_sys])
    kind = np.concatenate([kind, np.full(l_day.size, KIND["log"])])
    scheduled = np.concatenate([scheduled, l_sched])
    status = np.concatenate([status, l_status])
    order = np.lexsort((system, scheduled))
    system, kind, scheduled, status = system[order], kind[order], scheduled[order], status[order]
    n = scheduled.size

    skipped = status == STATUS["skipped"]
    started = scheduled + (rng.uniform(0, 5, n) * MS_PER_MINUTE).astype(np.int64)
    minutes = lognormal(rng, DURATION_MIN[kind], 0.3, n)
    minutes = np.where(status == STATUS["failed"], minutes * rng.uniform(0.05, 0.8, n), minutes)  # failed part-way
    finished = started + (minutes * MS_PER_MINUTE).astype(np.int64)
    growth = 1.0 + 0.0008 * np.searchsorted(cal.bounds, scheduled, side="right")
    size = FULL_GB[system] * SIZE_SHARE[kind] * growth * rng.uniform(0.9, 1.1, n) * 1024**3
    partial = status == STATUS["partial"]
    size = np.where(partial, size * rng.uniform(0.3, 0.9, n), size).astype(np.int64)

    ok = status == STATUS["success"]
    full_ok = ok & (kind == KIND["full"])
    offsite_at = np.where(
        full_ok & (rng.random(n) >= s.offsite_miss_share),
        finished + (rng.uniform(2, 6, n) * MS_PER_HOUR).astype(np.int64),
        -1,
    )
    replicated = ok & (kind == KIND["incremental"]) & (rng.random(n) < 0.5)  # replicated as they are taken
    offsite_at = np.where(replicated, finished, offsite_at)
    tested = (kind == KIND["full"]) & (ok | partial) & (rng.random(n) < s.restore_test_share)
    restore_at = np.where(tested, finished + (rng.uniform(1, 3, n) * MS_PER_DAY).astype(np.int64), -1)
    restore_ok = ok & (rng.random(n) >= s.restore_fail_share)  # a partial backup never restores cleanly

    def instant(values: np.ndarray) -> pl.Series:
        return pl.Series(np.where(values >= 0, values // 1000 * 1000, -1), dtype=pl.Int64)

    return (
        pl.DataFrame(
            {
                "backup_id": pl.Series([f"BKP{i + 1:08d}" for i in range(n)], dtype=pl.String),
                "system": enums.labels(SYSTEMS, system),
                "backup_type": enums.labels(TYPES, kind),
                "scheduled_at": instant(scheduled),
                "started_at": instant(np.where(skipped, -1, started)),
                "finished_at": instant(np.where(skipped, -1, finished)),
                "status": enums.labels(STATUSES, status),
                "size_bytes": pl.Series(np.where(ok | partial, size, -1), dtype=pl.Int64),
                "offsite_copy": pl.Series(offsite_at >= 0, dtype=pl.Boolean),
                "restore_tested": pl.Series(restore_at >= 0, dtype=pl.Boolean),
                "restore_ok": pl.Series(restore_ok, dtype=pl.Boolean),
                "_done_at": instant(np.where(skipped, scheduled + 10 * MS_PER_MINUTE, finished)),
                "_offsite_at": instant(offsite_at),
                "_restore_at": instant(restore_at),
            }
        )
        .with_columns(
            pl.when(pl.col(c) >= 0).then(pl.col(c)).alias(c)
            for c in ("started_at", "finished_at", "size_bytes", "_offsite_at", "_restore_at")
        )
        .with_columns(restore_ok=pl.when(pl.col("restore_tested")).then(pl.col("restore_ok")))
    )


def backup_versions(backups: pl.DataFrame, rng: np.random.Generator) -> Versions:
    """A record when the job ends (or is skipped), then after the offsite copy and after the restore test."""
    milestones = milestone_array(backups, ["_done_at", "_offsite_at", "_restore_at"])
    n = backups.height
    lags = (
        (
            np.column_stack([rng.uniform(5, 60, n), rng.uniform(1, 10, n) * 60, rng.uniform(5, 60, n) * 60]) * 1000
        ).astype(np.int64)
        // 1000
        * 1000
    )
    return versions_at_milestones(milestones, lags)


def _nightly_status(s: Scenario, rng: np.random.Generator, days: int, systems: int) -> np.ndarray:
    """Day × system statuses; under `stress` a failing system tends to fail again the next night."""
    status = np.full((days, systems), STATUS["success"], dtype=np.int64)
    probs = _status_mix(s)
    bad = probs.copy()
    bad[STATUS["success"]] = 0.0
    failing = np.zeros(systems, dtype=bool)
    for d in range(days):
        fresh = choice(rng, probs, systems)
        again = failing & (rng.random(systems) < s.backup_failure_streak)
        status[d] = np.where(again, choice(rng, bad, systems), fresh)
        failing = status[d] != STATUS["success"]
    return status


def _status_mix(s: Scenario) -> np.ndarray:
    return enums.mix("backups", "status", dict(zip(SCENARIO_STATUS_ORDER, s.backup_status_probs, strict=True)))
