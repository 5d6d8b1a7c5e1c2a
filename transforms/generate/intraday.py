"""Small hand-shaped landing batches for one day: what `make demo`, the intraday benchmark and the monitoring tests
land after the nightly build to move one leaf across its thresholds.

- :func:`software_defects`: five major software-defect incidents (SP2 counts them: thresholds 0/1/2/4, so five more
  reach the top of the scale). Planned, internal, escalated within five minutes and resolved within the hour, so no
  other leaf of a breach moves; a later version with ``cause="hardware"`` takes them out of SP2 again.
- :func:`ordinary_transactions`: a few successful, strongly authenticated transactions (they move no level).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from zoneinfo import ZoneInfo


def _stamp(day: dt.date, tz: str, hh: int, mm: int) -> str:
    moment = dt.datetime.combine(day, dt.time(0), tzinfo=ZoneInfo(tz)) + dt.timedelta(hours=hh, minutes=mm)
    return moment.isoformat()


def software_defects(day: dt.date, tz: str, *, cause: str = "software_defect", at: tuple[int, int] = (9, 30),
                     n: int = 5) -> list[dict]:  # fmt: skip
    return [
        {
            "incident_id": f"INC-DEFECT-{day:%Y%m%d}-{k}",
            "updated_at": _stamp(day, tz, at[0], at[1] + k),
            "system": "core_banking",
            "customer_facing": False,
            "planned": True,
            "cause": cause,
            "vendor": None,
            "severity": "major",
            "started_at": _stamp(day, tz, 8, k),
            "detected_at": _stamp(day, tz, 8, 10 + k),
            "escalated_at": _stamp(day, tz, 8, 15 + k),
            "resolved_at": _stamp(day, tz, 9, k),
            "regulator_reported_at": None,
            "loss_event": False,
            "review_completed_at": None,
            "recurrence_of": None,
        }
        for k in range(n)
    ]


def ordinary_transactions(day: dt.date, tz: str, batch: int, at: tuple[int, int], n: int = 3) -> list[dict]:
    return [
        {
            "txn_id": f"TXN-INTRADAY-{day:%Y%m%d}-{batch}-{k}",
            "updated_at": _stamp(day, tz, at[0], at[1] + k),
            "event_at": _stamp(day, tz, at[0], at[1] + k),
            "customer_id": f"C{k:06d}",
            "channel": "mobile",
            "txn_type": "online_payment",
            "amount": 120.0 + k,
            "status": "success",
            "failure_reason": None,
            "auth_method": "sms_otp",
            "new_device": False,
            "risk_flag": False,
            "fraud_confirmed": False,
        }
        for k in range(n)
    ]


def write_batch(landing: Path, source: str, day: dt.date, name: str, records: list[dict]) -> Path:
    """One JSONL landing file for ``source`` and ``day``, written then renamed (the landing contract)."""
    path = Path(landing) / source / day.isoformat() / f"{source}_{day.isoformat()}_{name}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(json.dumps(r) + "\n" for r in records))
    tmp.rename(path)
    return path
