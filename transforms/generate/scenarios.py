"""The three generator scenarios as data: one frozen parameter set each, nothing else.

`baseline` is a calm, well-run bank; `paper-2018` is the baseline with confirmed-fraud ("risk") transactions ramping
month over month in the proportions of the paper's Aug–Nov 2018 figures and the risk engine catching a shrinking
share; `stress` is the baseline with more and longer outages, vendor overruns and backup failures.
Rates are per day for the whole bank unless a name says otherwise; durations are in minutes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

# risk-evaluation-method.md, section 8: the personal online bank's risk figures, Aug..Nov 2018.
PAPER_2018_MONTHS = ((2018, 8), (2018, 9), (2018, 10), (2018, 11))
PAPER_2018_RISK_TRANSACTIONS = (10_475, 12_661, 18_358, 48_041)
PAPER_2018_RISK_AMOUNTS_CNY = (40_000_000.0, 80_000_000.0, 154_671_900.9, 397_351_361.0)
PAPER_2018_RISK_CUSTOMERS = (3_507, 4_631, 7_540, 19_099)


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    # ---- fraud (confirmed-fraud transactions) ----------------------------------------------------------------
    fraud_share: float = 2.0e-4  # fraud transactions per transaction (flat scenarios)
    fraud_mean_amount: float = 800.0  # CNY per fraud transaction (flat scenarios)
    fraud_txns_per_victim: float = 1.4
    fraud_caught_amount_share: float = 0.95  # share of the fraud amount the real-time risk engine flags
    paper_ramp: bool = False
    paper_first_month_share: float = 2.0e-4  # fraud transactions per transaction in the first (Aug) month
    paper_caught_amount_shares: tuple[float, float, float, float] = (0.88, 0.78, 0.64, 0.45)
    fraud_victim_complains: float = 0.9
    # ---- incidents (per-day rates of each kind) --------------------------------------------------------------
    planned_per_day: float = 2 / 7  # announced maintenance windows
    minor_per_day: float = 0.40  # unplanned technical incidents, severity minor
    major_per_day: float = 0.10  # unplanned technical incidents, severity major or critical
    vendor_per_day: float = 0.12  # unplanned incidents caused by or involving a third party
    security_per_day: float = 0.08  # intrusion / ddos / malware
    detect_median: float = 3.0  # minutes from start to detection, unplanned incidents
    repair_customer_facing_median: float = 6.0  # minutes from detection to restore, customer-facing
    repair_internal_median: float = 45.0  # minutes from detection to restore, internal only
    long_outage_share: float = 0.0  # unplanned customer-facing outages that last hours
    escalate_late_share: float = 0.015
    escalate_never_share: float = 0.005
    review_late_share: float = 0.03
    regulator_late_share: float = 0.05
    vendor_overrun_share: float = 0.03  # vendor incidents restored after the contracted restore time
    recurrence_share: float = 0.03
    # ---- backups ---------------------------------------------------------------------------------------------
    backup_status_probs: tuple[float, float, float, float] = (0.996, 0.0015, 0.0015, 0.001)  # success..skipped
    backup_failure_streak: float = 0.0  # chance a failing system fails again the next day
    offsite_miss_share: float = 0.01
    restore_test_share: float = 0.95  # weekly full backups that get a restore test
    restore_fail_share: float = 0.01
    # ---- complaints ------------------------------------------------------------------------------------------
    complaints_per_txn: float = 1.0e-4  # background complaints (not following fraud or an outage)
    outage_complaints_per_minute: float = 0.08
    late_15_day_share: float = 0.015  # complaints closed after their 15-day deadline
    late_30_day_share: float = 0.01  # disputes closed after their 30-day deadline (or never)
    litigation_share: float = 0.01
    external_channel_share: float = 0.012  # complaints through the regulator or the media
    response_median_hours: float = 0.7

    def replace(self, **changes) -> Scenario:
        return dataclasses.replace(self, **changes)


BASELINE = Scenario(
    name="baseline",
    description="a calm, well-run bank: rare fraud mostly caught, short outages, backups that run",
)

PAPER_2018 = BASELINE.replace(
    name="paper-2018",
    description="risk transactions ramp Aug->Nov 2018 as in the paper; the risk engine catches a shrinking share",
    paper_ramp=True,
)

STRESS = BASELINE.replace(
    name="stress",
    description="more and longer outages, vendor SLA overruns, failing backups",
    minor_per_day=1.0,
    major_per_day=0.30,
    vendor_per_day=0.35,
    security_per_day=0.15,
    detect_median=12.0,
    repair_customer_facing_median=35.0,
    repair_internal_median=120.0,
    long_outage_share=0.08,
    escalate_late_share=0.25,
    escalate_never_share=0.08,
    review_late_share=0.35,
    regulator_late_share=0.30,
    vendor_overrun_share=0.45,
    recurrence_share=0.12,
    backup_status_probs=(0.93, 0.02, 0.035, 0.015),
    backup_failure_streak=0.5,
    offsite_miss_share=0.15,
    restore_test_share=0.6,
    restore_fail_share=0.2,
    outage_complaints_per_minute=0.05,
)

SCENARIOS: dict[str, Scenario] = {s.name: s for s in (BASELINE, PAPER_2018, STRESS)}


def get_scenario(name: str) -> Scenario:
    try:
        return SCENARIOS[name]
    except KeyError:
        raise ValueError(f"unknown scenario {name!r}; choose one of {', '.join(SCENARIOS)}") from None
