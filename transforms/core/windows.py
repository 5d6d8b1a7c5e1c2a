"""The indicator window of an as-of date: the ``window_days`` local days ending with D, as half-open UTC instants.

dbt computes the same window in ``dbt_project/macros/local_time.sql`` (``window_start`` / ``window_end`` of every
fact row); ``tests/test_windows.py`` checks that the two agree on every date of a DST year.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Window:
    """The as-of date's window as local days and as UTC instants (half-open)."""

    as_of: dt.date
    first_day: dt.date
    start: dt.datetime  # 00:00 local of first_day, aware
    end: dt.datetime  # 00:00 local of as_of + 1, aware


def window_for(settings, as_of: dt.date) -> Window:
    tz = settings.tz
    first = as_of - dt.timedelta(days=settings.window_days - 1)
    start = dt.datetime.combine(first, dt.time(0), tzinfo=tz)
    end = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time(0), tzinfo=tz)
    return Window(as_of, first, start.astimezone(dt.UTC), end.astimezone(dt.UTC))


def window_days(window: Window) -> int:
    return (window.as_of - window.first_day).days + 1
