"""The indicator window has one definition, dbt's (``window_start`` / ``window_end``, dbt_project/macros/local_time.sql),
and one Python copy, ``transforms.core.windows.window_for`` (health, publishing): they must agree on every date.

dbt is built on an empty warehouse for every as-of date of 2024 (a leap year with both DST changes) in Europe/Berlin,
Asia/Shanghai (no DST, and a 7-day window) and America/Havana (whose clocks skip midnight in March and repeat it in
November), and every fact row's window is compared with ``window_for``. A few windows are also checked against
instants worked out by hand from the zones' rules.
"""

from __future__ import annotations

import datetime as dt

import pytest

from tests.warehouse_reads import rows as _query
from tests.warehouse_reads import settings_in
from transforms.core.windows import local_midnight, window_days, window_for
from transforms.indicators.build import build

FIRST, LAST = dt.date(2024, 1, 1), dt.date(2024, 12, 31)
UTC = dt.UTC


def _utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def _settings(folder, zone: str, days: int):
    return settings_in(folder, "test-secret-key-windows").replace(timezone=zone, window_days=days)


# (zone, as-of date, window_days) -> (start, end) in UTC, from the zones' rules (not from the code under test)
HAND_WORKED = {
    # Berlin: CET (+1) until 2024-03-31 02:00, CEST (+2) until 2024-10-27 03:00
    ("Europe/Berlin", dt.date(2024, 3, 31), 30): (_utc(2024, 3, 1, 23), _utc(2024, 3, 31, 22)),
    ("Europe/Berlin", dt.date(2024, 10, 27), 30): (_utc(2024, 9, 27, 22), _utc(2024, 10, 27, 23)),
    ("Europe/Berlin", dt.date(2024, 1, 15), 30): (_utc(2023, 12, 16, 23), _utc(2024, 1, 15, 23)),
    # Shanghai: +8 all year
    ("Asia/Shanghai", dt.date(2024, 3, 31), 7): (_utc(2024, 3, 24, 16), _utc(2024, 3, 31, 16)),
    ("Asia/Shanghai", dt.date(2024, 3, 31), 30): (_utc(2024, 3, 1, 16), _utc(2024, 3, 31, 16)),
    # Havana: 00:00 CST (-5) on 2024-03-10 becomes 01:00 CDT (-4), so that midnight never happens (read with the
    # offset before: 05:00 UTC); 01:00 CDT on 2024-11-03 becomes 00:00 CST, so that midnight happens twice (the
    # later one counts: 05:00 UTC)
    ("America/Havana", dt.date(2024, 3, 9), 30): (_utc(2024, 2, 9, 5), _utc(2024, 3, 10, 5)),
    ("America/Havana", dt.date(2024, 11, 2), 30): (_utc(2024, 10, 4, 4), _utc(2024, 11, 3, 5)),
    ("America/Havana", dt.date(2024, 12, 2), 30): (_utc(2024, 11, 3, 5), _utc(2024, 12, 3, 5)),
}


@pytest.mark.parametrize(("key", "expected"), list(HAND_WORKED.items()), ids=lambda v: str(v))
def test_window_for_matches_hand_worked_instants(tmp_path, key, expected):
    zone, as_of, days = key
    window = window_for(_settings(tmp_path, zone, days), as_of)
    assert (window.start, window.end) == expected
    assert window.first_day == as_of - dt.timedelta(days=days - 1) and window_days(window) == days


def test_local_midnight_takes_the_later_of_a_repeated_midnight(tmp_path):
    tz = _settings(tmp_path, "America/Havana", 30).tz
    assert local_midnight(dt.date(2024, 11, 3), tz).astimezone(UTC) == _utc(2024, 11, 3, 5)
    assert local_midnight(dt.date(2024, 3, 10), tz).astimezone(UTC) == _utc(2024, 3, 10, 5)
    assert local_midnight(dt.date(2024, 6, 1), tz).astimezone(UTC) == _utc(2024, 6, 1, 4)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("zone", "days"), [("Europe/Berlin", 30), ("Asia/Shanghai", 7), ("America/Havana", 30)], ids=str
)
def test_dbt_windows_equal_window_for_on_every_date_of_a_dst_year(tmp_path, zone, days):
    settings = _settings(tmp_path, zone, days)
    result = build(settings, date_from=FIRST, date_to=LAST)  # an empty warehouse: every leaf no_data
    assert result.dates == 366 and result.status_counts == {"no_data": 366 * 30}

    windows = _query(
        settings,
        "SELECT as_of_date, min(window_start), max(window_start), min(window_end), max(window_end), count(*) "
        "FROM marts.fct_leaf_indicators GROUP BY as_of_date ORDER BY as_of_date",
    )
    assert [w[0] for w in windows] == [FIRST + dt.timedelta(days=n) for n in range(366)]
    differing = []
    for as_of, start, start_max, end, end_max, leaves in windows:
        assert start == start_max and end == end_max and leaves == 30, as_of  # one window per date
        python = window_for(settings, as_of)
        if (python.start, python.end) != (start, end):
            differing.append((as_of, (start, end), (python.start, python.end)))
    assert not differing, f"{len(differing)} dates differ (date, dbt, window_for), e.g. {differing[:3]}"

    # the comparison covers what it should: windows one hour short or long around the DST changes
    lengths = {end - start for _, start, _, end, _, _ in windows}
    if zone == "Asia/Shanghai":
        assert lengths == {dt.timedelta(days=days)}
    else:
        assert lengths == {dt.timedelta(days=days) + dt.timedelta(hours=h) for h in (-1, 0, 1)}
    for (hand_zone, as_of, hand_days), expected in HAND_WORKED.items():
        if (hand_zone, hand_days) == (zone, days):
            assert next((w[1], w[3]) for w in windows if w[0] == as_of) == expected
