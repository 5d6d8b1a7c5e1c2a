"""The indicator window of an as-of date: the ``window_days`` local days ending with D, as half-open UTC instants.

The window's owner is dbt: ``window_start`` / ``window_end`` in ``dbt_project/macros/local_time.sql`` bound every
leaf's data in the database and stamp every fact row. This is the Python copy for what has no fact row to read it
from (the ingestion-health dataset, publishing's ``window_*`` and input digest), derived from the same settings
(``timezone``, ``window_days``: dbt gets them as vars from ``dbt_runner.dbt_vars``). ``tests/test_windows.py``
builds dbt on an empty warehouse for every date of a DST year (Europe/Berlin, and Asia/Shanghai) and fails if the
fact rows' window differs from :func:`window_for` on any date.
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
    start = local_midnight(first, tz)
    end = local_midnight(as_of + dt.timedelta(days=1), tz)
    return Window(as_of, first, start.astimezone(dt.UTC), end.astimezone(dt.UTC))


def local_midnight(day: dt.date, tz) -> dt.datetime:
    """00:00 local of ``day`` as dbt reads it (``local_day_start``: DuckDB's ``timezone(zone, timestamp)``, ICU).

    Where the clocks go back over midnight (America/Havana in November), 00:00 happens twice: ICU takes the later
    one, Python's default (``fold=0``) the earlier, so the later is chosen here. Where they skip it (Havana in
    March), both read it with the offset before the change (``fold=0``)."""
    naive = dt.datetime.combine(day, dt.time(0))
    earlier, later = naive.replace(tzinfo=tz), naive.replace(tzinfo=tz, fold=1)
    repeated = (
        earlier.utcoffset() != later.utcoffset()
        and later.astimezone(dt.UTC).astimezone(tz).replace(tzinfo=None) == naive
    )
    return later if repeated else earlier


def window_days(window: Window) -> int:
    return (window.as_of - window.first_day).days + 1
