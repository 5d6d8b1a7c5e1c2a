"""The run's calendar: local days in the bank's time zone as UTC instants (epoch milliseconds).

Every generated instant is an int64 count of milliseconds since the epoch (UTC). A local day d covers the half-open
interval [bounds[d], bounds[d + 1]); a day's file holds the records whose ``updated_at`` falls in it.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np

MS_PER_SECOND = 1_000
MS_PER_MINUTE = 60_000
MS_PER_HOUR = 3_600_000
MS_PER_DAY = 86_400_000

# Share of the day's transactions started in each local hour (sums to 1): quiet nights, a late-morning peak and an
# evening peak, as online and mobile banking traffic looks.
TRANSACTION_HOURS = np.array(
    [
        0.8,
        0.5,
        0.3,
        0.2,
        0.2,
        0.3,
        0.8,
        2.0,
        4.0,
        5.5,
        6.5,
        6.8,
        6.0,
        5.5,
        5.6,
        5.8,
        5.6,
        5.2,
        5.0,
        5.6,
        6.6,
        6.8,
        5.2,
        3.2,
    ]
)
TRANSACTION_HOURS = TRANSACTION_HOURS / TRANSACTION_HOURS.sum()
# Account-takeover fraud leans towards the night, when victims are asleep.
FRAUD_HOURS = np.array(
    [
        4.0,
        5.0,
        5.0,
        4.5,
        4.0,
        3.0,
        2.5,
        2.5,
        3.0,
        3.5,
        4.0,
        4.0,
        4.0,
        4.0,
        4.0,
        4.0,
        4.0,
        4.0,
        4.0,
        4.5,
        5.0,
        5.5,
        5.5,
        4.5,
    ]
)
FRAUD_HOURS = FRAUD_HOURS / FRAUD_HOURS.sum()
# Unplanned incidents follow load and change activity: more in working hours.
INCIDENT_HOURS = np.array(
    [
        2.0,
        1.5,
        1.5,
        1.5,
        1.5,
        1.5,
        2.0,
        3.0,
        5.0,
        6.5,
        7.0,
        6.5,
        5.5,
        6.0,
        6.5,
        6.5,
        6.0,
        5.5,
        4.5,
        4.0,
        4.0,
        3.5,
        3.0,
        2.5,
    ]
)
INCIDENT_HOURS = INCIDENT_HOURS / INCIDENT_HOURS.sum()
WORKING_HOURS = (9, 17)  # LG5: Monday-Friday 09:00 inclusive to 17:00 exclusive, local (the default setting)


class RunCalendar:
    """Local days ``start .. start + days - 1`` in ``timezone``."""

    def __init__(self, start: dt.date, days: int, timezone: str):
        if days < 1:
            raise ValueError("days must be >= 1")
        self.start, self.days, self.timezone = start, days, timezone
        self.tz = ZoneInfo(timezone)
        self.dates = [start + dt.timedelta(days=i) for i in range(days)]
        edges = self.dates + [start + dt.timedelta(days=days)]
        self.bounds = np.array(
            [int(dt.datetime.combine(d, dt.time(), tzinfo=self.tz).timestamp() * MS_PER_SECOND) for d in edges],
            dtype=np.int64,
        )
        self.lengths = np.diff(self.bounds)  # 23/25 h on daylight-saving days
        self.weekday = np.array([d.isoweekday() for d in self.dates], dtype=np.int8)  # Monday = 1

    @property
    def begin(self) -> int:
        return int(self.bounds[0])

    @property
    def end(self) -> int:
        return int(self.bounds[-1])

    def label(self, day: int) -> str:
        return self.dates[day].isoformat()

    def day_of(self, instants: np.ndarray) -> np.ndarray:
        """Local day index of each instant: -1 before the run, ``days`` after it."""
        return np.searchsorted(self.bounds, np.asarray(instants, dtype=np.int64), side="right") - 1

    def instants_in_days(self, day: np.ndarray, rng: np.random.Generator, hours: np.ndarray) -> np.ndarray:
        """One instant per entry of ``day``, placed in that local day by the hourly profile ``hours``."""
        day = np.asarray(day, dtype=np.int64)
        hour = np.searchsorted(np.cumsum(hours), rng.random(day.size), side="right").clip(0, 23)
        fraction = (hour + rng.random(day.size)) / 24.0
        return self.bounds[day] + (fraction * self.lengths[day]).astype(np.int64)

    def month_index(self, calendar_months: tuple[tuple[int, int], ...] | None = None) -> np.ndarray:
        """Per day, the index of its month: the position in ``calendar_months`` when the run starts inside them
        (clamped to the first/last), otherwise months counted from the start date's month."""
        ym = np.array([d.year * 12 + d.month - 1 for d in self.dates], dtype=np.int64)
        if calendar_months:
            first = calendar_months[0][0] * 12 + calendar_months[0][1] - 1
            last = calendar_months[-1][0] * 12 + calendar_months[-1][1] - 1
            if first <= ym[0] <= last:
                return (ym - first).clip(0, last - first)
        return ym - ym[0]

    def days_in_month(self, day: int) -> int:
        d = self.dates[day]
        following = dt.date(d.year + d.month // 12, d.month % 12 + 1, 1)
        return (following - dt.date(d.year, d.month, 1)).days

    def in_working_hours(self, instants: np.ndarray) -> np.ndarray:
        """Started Monday-Friday between 09:00 and 17:00 local (LG5's default working hours)."""
        day = self.day_of(instants).clip(0, self.days - 1)
        hour = (np.asarray(instants) - self.bounds[day]) / MS_PER_HOUR
        return (self.weekday[day] <= 5) & (hour >= WORKING_HOURS[0]) & (hour < WORKING_HOURS[1])
