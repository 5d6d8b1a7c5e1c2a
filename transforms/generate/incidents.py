"""Incidents on the seven systems: planned maintenance, technical outages, vendor incidents and security events.

The whole run's incidents are simulated up front (they are few), each with its full life: start, detection and
escalation delays, restore, regulator report, root-cause review, recurrence of an earlier incident. Their log
records are snapshots after each milestone (see changelog.py), so incidents are resolved and reviewed as later
updates. Each kind of incident arrives by systematic sampling, so a rare kind still turns up in every window.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from transforms.core.contract import CONTRACT, SYSTEMS
from transforms.generate import enums
from transforms.generate.changelog import Reveal, Versions, milestone_array, versions_at_milestones
from transforms.generate.clock import INCIDENT_HOURS, MS_PER_DAY, MS_PER_HOUR, MS_PER_MINUTE, RunCalendar
from transforms.generate.randomness import choice, lognormal, systematic_counts
from transforms.generate.scenarios import BASELINE, Scenario
from transforms.generate.vendors import Vendors

CAUSES = CONTRACT["incidents"].column("cause").enum
SEVERITIES = enums.values("incidents", "severity")
SEV = enums.codes("incidents", "severity")
SYSTEM_WEIGHTS = enums.mix(
    "incidents",
    "system",
    {
        "online_banking": 0.20,
        "mobile_banking": 0.20,
        "payment_gateway": 0.15,
        "core_banking": 0.12,
        "auth_service": 0.10,
        "sms_gateway": 0.10,
        "data_center": 0.13,
    },
)
CUSTOMER_FACING = enums.mix(  # share of unplanned technical incidents that stop customers, by system
    "incidents",
    "system",
    {
        "online_banking": 0.60,
        "mobile_banking": 0.60,
        "payment_gateway": 0.50,
        "core_banking": 0.35,
        "auth_service": 0.50,
        "sms_gateway": 0.30,
        "data_center": 0.25,
    },
)
VENDOR_SEVERITY = enums.mix("incidents", "severity", {"minor": 0.85, "major": 0.13, "critical": 0.02})
SECURITY_SEVERITY = enums.mix("incidents", "severity", {"minor": 0.80, "major": 0.18, "critical": 0.02})
BREACH_SEVERITY = enums.mix("incidents", "severity", {"minor": 0.40, "major": 0.50, "critical": 0.10})
TECHNICAL_CAUSES = ("hardware", "software_defect", "change_failure", "operator_error", "network", "power")
TECHNICAL_CAUSE_WEIGHTS = (0.18, 0.30, 0.18, 0.08, 0.22, 0.04)
PLANNED_CAUSES = ("hardware", "network", "power", "vendor")
PLANNED_CAUSE_WEIGHTS = (0.40, 0.30, 0.15, 0.15)
SECURITY = {  # cause: (share, systems, customer-facing share, loss share, detect median, resolve median)
    "ddos": (0.60, ("online_banking", "mobile_banking", "payment_gateway"), 0.50, 0.02, 2.0, 18.0),
    "intrusion": (0.25, ("auth_service", "core_banking", "online_banking"), 0.10, 0.30, 25.0, 90.0),
    "malware": (0.15, ("data_center", "core_banking", "online_banking"), 0.05, 0.35, 45.0, 150.0),
}
MANAGED_SECURITY_VENDOR = "securewall"
SEVERITY_FACTOR = enums.mix("incidents", "severity", {"minor": 1.0, "major": 1.8, "critical": 3.0})  # slower fix
ESCALATION_LIMIT_MIN = 20.0
REVIEW_LIMIT_DAYS = 5.0
SYSTEM_INDEX = {s: i for i, s in enumerate(SYSTEMS)}
CAUSE_INDEX = {c: i for i, c in enumerate(CAUSES)}

INSTANTS = ("started_at", "detected_at", "escalated_at", "resolved_at", "regulator_reported_at", "review_completed_at")
REVEALS = tuple(Reveal(c, c) for c in ("escalated_at", "resolved_at", "regulator_reported_at", "review_completed_at"))


def plan_incidents(cal: RunCalendar, scenario: Scenario, vendors: Vendors, rng: np.random.Generator) -> pl.DataFrame:
    """Every incident of the run, one row each with its final values (instants as int64 ms, null = never)."""
    parts = [
        _planned(cal, scenario, vendors, rng),
        _technical(cal, scenario, rng, scenario.minor_per_day, major=False),
        _technical(cal, scenario, rng, scenario.major_per_day, major=True),
        _vendor(cal, scenario, vendors, rng),
        _security(cal, scenario, vendors, rng),
    ]
    raw = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    order = np.argsort(raw["started_at"], kind="stable")
    raw = {k: v[order] for k, v in raw.items()}
    _follow_up(raw, cal, scenario, vendors, rng)
    return _frame(raw)


def incident_versions(incidents: pl.DataFrame, rng: np.random.Generator) -> Versions:
    """Snapshots after detection (ticket opened), escalation, restore, regulator report and review."""
    columns = ["detected_at", "escalated_at", "resolved_at", "regulator_reported_at", "review_completed_at"]
    milestones = milestone_array(incidents, columns)
    n = incidents.height
    lags = (
        np.column_stack(
            [
                rng.uniform(1, 8, n) * MS_PER_MINUTE,
                rng.uniform(1, 3, n) * MS_PER_MINUTE,
                rng.uniform(2, 20, n) * MS_PER_MINUTE,
                rng.uniform(5, 60, n) * MS_PER_MINUTE,
                rng.uniform(1, 60, n) * MS_PER_MINUTE,
            ]
        ).astype(np.int64)
        // 1000
        * 1000
    )
    return versions_at_milestones(milestones, lags)


def outage_windows(incidents: pl.DataFrame) -> pl.DataFrame:
    """Unplanned customer-facing outages as (system, start, end) intervals; end is null while unresolved."""
    return incidents.filter(pl.col("customer_facing") & ~pl.col("planned")).select(
        "system", start="started_at", end="resolved_at"
    )


# ---- the kinds of incident ----------------------------------------------------------------------------------


def _days_with(cal: RunCalendar, rate: float, rng: np.random.Generator) -> np.ndarray:
    counts = systematic_counts(np.full(cal.days, rate), rng)
    return np.repeat(np.arange(cal.days), counts)


def _blank(n: int) -> dict[str, np.ndarray]:
    return {
        "system": np.zeros(n, dtype=np.int64),
        "customer_facing": np.zeros(n, dtype=bool),
        "planned": np.zeros(n, dtype=bool),
        "cause": np.zeros(n, dtype=np.int64),
        "vendor": np.full(n, -1, dtype=np.int64),
        "severity": np.full(n, SEV["minor"], dtype=np.int64),
        "started_at": np.zeros(n, dtype=np.int64),
        "detected_at": np.zeros(n, dtype=np.int64),
        "resolved_at": np.zeros(n, dtype=np.int64),
        "loss_event": np.zeros(n, dtype=bool),
        "security": np.zeros(n, dtype=bool),
    }


def _planned(cal: RunCalendar, s: Scenario, vendors: Vendors, rng) -> dict[str, np.ndarray]:
    day = _days_with(cal, s.planned_per_day, rng)
    n = day.size
    out = _blank(n)
    out["planned"][:] = True
    out["system"] = rng.integers(0, len(SYSTEMS), n)
    out["customer_facing"] = rng.random(n) < 0.4
    cause = np.array([CAUSE_INDEX[c] for c in PLANNED_CAUSES])[choice(rng, PLANNED_CAUSE_WEIGHTS, n)]
    out["cause"] = cause
    minutes = lognormal(rng, 60.0, 0.4, n).clip(15, 180)
    by_vendor = cause == CAUSE_INDEX["vendor"]
    vendor = _vendor_for_systems(out["system"], vendors, rng)
    out["vendor"] = np.where(by_vendor & (vendor >= 0), vendor, -1)
    limit = np.array(vendors.restore_hours)[out["vendor"].clip(0)] * 60 * 0.8
    minutes = np.where(out["vendor"] >= 0, np.minimum(minutes, limit), minutes)
    out["cause"] = np.where(by_vendor & (out["vendor"] < 0), CAUSE_INDEX["hardware"], cause)
    start = cal.bounds[day] + (rng.uniform(0.5, 3.0, n) * MS_PER_HOUR).astype(np.int64)  # the night window
    out["started_at"] = start
    out["detected_at"] = start
    out["resolved_at"] = start + (minutes * MS_PER_MINUTE).astype(np.int64)
    return out


def _unplanned_start(cal: RunCalendar, day: np.ndarray, s: Scenario, rng, n: int, out) -> None:
    out["started_at"] = cal.instants_in_days(day, rng, INCIDENT_HOURS)
    detect = lognormal(rng, s.detect_median, 0.8, n).clip(0.5, 600)
    out["detected_at"] = out["started_at"] + (detect * MS_PER_MINUTE).astype(np.int64)


def _repair_minutes(s: Scenario, rng, customer_facing: np.ndarray, severity: np.ndarray) -> np.ndarray:
    n = customer_facing.size
    factor = SEVERITY_FACTOR[severity]
    facing = lognormal(rng, s.repair_customer_facing_median * factor, 0.6, n)
    internal = lognormal(rng, s.repair_internal_median * factor, 0.8, n)
    minutes = np.where(customer_facing, facing, internal)
    long = customer_facing & (rng.random(n) < s.long_outage_share)
    return np.where(long, rng.uniform(3 * 60, 12 * 60, n), minutes).clip(1, 3 * 24 * 60)


def _technical(cal: RunCalendar, s: Scenario, rng, rate: float, major: bool) -> dict[str, np.ndarray]:
    day = _days_with(cal, rate, rng)
    n = day.size
    out = _blank(n)
    out["system"] = choice(rng, SYSTEM_WEIGHTS, n)
    facing_share = CUSTOMER_FACING[out["system"]] * (1.25 if major else 1.0)
    out["customer_facing"] = rng.random(n) < facing_share
    out["cause"] = np.array([CAUSE_INDEX[c] for c in TECHNICAL_CAUSES])[choice(rng, TECHNICAL_CAUSE_WEIGHTS, n)]
    if major:
        out["severity"] = np.where(rng.random(n) < 0.15, SEV["critical"], SEV["major"])
    _unplanned_start(cal, day, s, rng, n, out)
    minutes = _repair_minutes(s, rng, out["customer_facing"], out["severity"])
    out["resolved_at"] = out["detected_at"] + (minutes * MS_PER_MINUTE).astype(np.int64)
    out["loss_event"] = (out["severity"] == SEV["critical"]) & (rng.random(n) < 0.05)
    return out


def _vendor_for_systems(system: np.ndarray, vendors: Vendors, rng) -> np.ndarray:
    """A vendor serving each system (-1 when none does)."""
    serving = [
        [i for i, v in enumerate(vendors.names) if SYSTEMS[s] in vendors.systems_of(v)] for s in range(len(SYSTEMS))
    ]
    pick = rng.random(system.size)
    return np.array(
        [serving[s][int(u * len(serving[s]))] if serving[s] else -1 for s, u in zip(system, pick, strict=True)],
        dtype=np.int64,
    )


def _vendor(cal: RunCalendar, s: Scenario, vendors: Vendors, rng) -> dict[str, np.ndarray]:
    day = _days_with(cal, s.vendor_per_day, rng)
    n = day.size
    out = _blank(n)
    weights = np.ones(len(vendors.names))
    weights[-1] = 0.3  # the unlisted contractor turns up now and then
    vendor = choice(rng, weights, n)
    out["vendor"] = vendor
    out["system"] = np.array(
        [
            SYSTEM_INDEX[vendors.systems_of(vendors.names[v])[int(u * len(vendors.systems_of(vendors.names[v])))]]
            for v, u in zip(vendor, rng.random(n), strict=True)
        ],
        dtype=np.int64,
    )
    other = np.array([CAUSE_INDEX[c] for c in ("network", "hardware", "software_defect")])[rng.integers(0, 3, n)]
    out["cause"] = np.where(rng.random(n) < 0.7, CAUSE_INDEX["vendor"], other)
    out["customer_facing"] = rng.random(n) < CUSTOMER_FACING[out["system"]] * 0.7
    out["severity"] = choice(rng, VENDOR_SEVERITY, n)
    _unplanned_start(cal, day, s, rng, n, out)
    sla_min = np.array(vendors.restore_hours)[vendor] * 60
    within = np.where(
        out["customer_facing"],
        lognormal(rng, s.repair_customer_facing_median * 1.5, 0.6, n),
        lognormal(rng, 0.1 * sla_min, 0.6, n),
    )
    total = np.where(
        rng.random(n) < s.vendor_overrun_share, sla_min * rng.uniform(1.1, 2.5, n), np.minimum(within, 0.9 * sla_min)
    )
    detect_min = (out["detected_at"] - out["started_at"]) / MS_PER_MINUTE
    detect_min = np.minimum(detect_min, 0.5 * total)
    out["detected_at"] = out["started_at"] + (detect_min * MS_PER_MINUTE).astype(np.int64)
    out["resolved_at"] = out["started_at"] + (total * MS_PER_MINUTE).astype(np.int64)
    return out


def _security(cal: RunCalendar, s: Scenario, vendors: Vendors, rng) -> dict[str, np.ndarray]:
    day = _days_with(cal, s.security_per_day, rng)
    n = day.size
    out = _blank(n)
    out["security"][:] = True
    names = list(SECURITY)
    kind = choice(rng, [SECURITY[k][0] for k in names], n)
    out["cause"] = np.array([CAUSE_INDEX[k] for k in names])[kind]
    u = rng.random(n)
    out["system"] = np.array(
        [
            SYSTEM_INDEX[SECURITY[names[k]][1][int(x * len(SECURITY[names[k]][1]))]]
            for k, x in zip(kind, u, strict=True)
        ],
        dtype=np.int64,
    )
    params = np.array([SECURITY[k][2:] for k in names])[kind]  # facing, loss, detect, resolve
    out["customer_facing"] = rng.random(n) < params[:, 0]
    out["loss_event"] = rng.random(n) < params[:, 1]
    harsh = np.array([name != "ddos" for name in names])[kind]  # break-ins and malware hurt more than floods
    out["severity"] = np.where(harsh, choice(rng, BREACH_SEVERITY, n), choice(rng, SECURITY_SEVERITY, n))
    out["started_at"] = cal.instants_in_days(day, rng, INCIDENT_HOURS)
    slower = s.detect_median / BASELINE.detect_median
    detect = lognormal(rng, params[:, 2] * slower, 0.7, n).clip(0.5, 7 * 24 * 60)
    out["detected_at"] = out["started_at"] + (detect * MS_PER_MINUTE).astype(np.int64)
    longer = np.sqrt(s.repair_customer_facing_median / BASELINE.repair_customer_facing_median)
    resolve = lognormal(rng, params[:, 3] * longer, 0.7, n).clip(2, 7 * 24 * 60)
    out["resolved_at"] = out["detected_at"] + (resolve * MS_PER_MINUTE).astype(np.int64)
    managed = rng.random(n) < 0.3  # the managed security service was involved
    if MANAGED_SECURITY_VENDOR in vendors.names:
        out["vendor"] = np.where(managed, vendors.names.index(MANAGED_SECURITY_VENDOR), -1)
    return out


# ---- what follows from the incident: escalation, reports, reviews, recurrences ----------------------------------


def _follow_up(raw: dict[str, np.ndarray], cal: RunCalendar, s: Scenario, vendors: Vendors, rng) -> None:
    n = raw["started_at"].size
    planned = raw["planned"]
    unplanned = ~planned
    to_restore_min = (raw["resolved_at"] - raw["detected_at"]) / MS_PER_MINUTE
    severe = raw["severity"] != SEV["minor"]
    must_escalate = severe | (unplanned & raw["customer_facing"] & (to_restore_min > ESCALATION_LIMIT_MIN))
    u = rng.random(n)
    on_time = np.minimum(lognormal(rng, 7.0, 0.5, n), 19.5)
    late = rng.uniform(25, 240, n)
    voluntary = rng.uniform(5, 60, n)
    minutes = np.where(u < s.escalate_never_share + s.escalate_late_share, late, on_time)
    escalate = np.where(must_escalate, u >= s.escalate_never_share, unplanned & (u < 0.05))
    minutes = np.where(must_escalate, minutes, voluntary)
    raw["escalated_at"] = np.where(escalate, raw["detected_at"] + (minutes * MS_PER_MINUTE).astype(np.int64), -1)

    # regulator reports: loss-making security events (48 h) and long customer-facing suspensions (24 h)
    report = np.full(n, -1, dtype=np.int64)
    v = rng.random(n)
    late_or_never = v < s.regulator_late_share
    never = v < s.regulator_late_share * 0.3
    security_loss = raw["security"] & raw["loss_event"]
    hours = np.where(late_or_never, rng.uniform(50, 120, n), rng.uniform(4, 40, n))
    report = np.where(security_loss & ~never, raw["detected_at"] + (hours * MS_PER_HOUR).astype(np.int64), report)
    outage_hours = (raw["resolved_at"] - raw["started_at"]) / MS_PER_HOUR
    limit = np.where(cal.in_working_hours(raw["started_at"]), 4.0, 8.0)
    suspension = unplanned & raw["customer_facing"] & (outage_hours > limit)
    hours = np.where(late_or_never, rng.uniform(26, 72, n), rng.uniform(2, 20, n))
    report = np.where(
        suspension & ~never & (report < 0), raw["started_at"] + (hours * MS_PER_HOUR).astype(np.int64), report
    )
    raw["regulator_reported_at"] = report

    # post-incident reviews: every major/critical one (some late or never), a quarter of the minor ones
    w = rng.random(n)
    days = np.where(w < s.review_late_share, rng.uniform(REVIEW_LIMIT_DAYS + 1, 20, n), rng.uniform(0.5, 4.5, n))
    reviewed = np.where(severe, w >= s.review_late_share * 0.25, unplanned & (rng.random(n) < 0.25))
    raw["review_completed_at"] = np.where(reviewed, raw["resolved_at"] + (days * MS_PER_DAY).astype(np.int64), -1)

    # recurrences: an earlier incident on the same system, with the same cause when there is one
    recurrence = np.full(n, -1, dtype=np.int64)
    pick = rng.random(n)
    for i in np.flatnonzero(unplanned & (rng.random(n) < s.recurrence_share)):
        earlier = np.flatnonzero(
            (raw["system"][:i] == raw["system"][i])
            & ~planned[:i]
            & (raw["started_at"][:i] >= raw["started_at"][i] - 120 * MS_PER_DAY)
        )
        same_cause = earlier[raw["cause"][earlier] == raw["cause"][i]]
        pool = same_cause if same_cause.size else earlier
        if pool.size:
            recurrence[i] = pool[int(pick[i] * pool.size)]
    raw["recurrence_of"] = recurrence
    for key in INSTANTS:
        raw[key] = np.where(raw[key] >= 0, raw[key] // 1000 * 1000, -1)  # whole seconds
    raw["_vendor_names"] = np.array(vendors.names + ("",), dtype=object)[raw["vendor"]]


def _frame(raw: dict[str, np.ndarray]) -> pl.DataFrame:
    n = raw["started_at"].size
    ids = pl.Series([f"INC{i + 1:06d}" for i in range(n)], dtype=pl.String)

    def instant(key: str) -> pl.Series:
        return pl.Series(key, raw[key], dtype=pl.Int64)

    recurrence = pl.Series([f"INC{r + 1:06d}" if r >= 0 else None for r in raw["recurrence_of"]], dtype=pl.String)
    vendor = pl.Series([v or None for v in raw["_vendor_names"]], dtype=pl.String)
    return pl.DataFrame(
        {
            "incident_id": ids,
            "system": pl.Series(np.array(SYSTEMS, dtype=object)[raw["system"]], dtype=pl.String),
            "customer_facing": pl.Series(raw["customer_facing"], dtype=pl.Boolean),
            "planned": pl.Series(raw["planned"], dtype=pl.Boolean),
            "cause": pl.Series(np.array(CAUSES, dtype=object)[raw["cause"]], dtype=pl.String),
            "vendor": vendor,
            "severity": pl.Series(np.array(SEVERITIES, dtype=object)[raw["severity"]], dtype=pl.String),
            "started_at": instant("started_at"),
            "detected_at": instant("detected_at"),
            "escalated_at": instant("escalated_at"),
            "resolved_at": instant("resolved_at"),
            "regulator_reported_at": instant("regulator_reported_at"),
            "loss_event": pl.Series(raw["loss_event"], dtype=pl.Boolean),
            "review_completed_at": instant("review_completed_at"),
            "recurrence_of": recurrence,
        }
    ).with_columns(pl.when(pl.col(c) >= 0).then(pl.col(c)).alias(c) for c in INSTANTS)
