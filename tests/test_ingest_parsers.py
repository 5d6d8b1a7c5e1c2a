"""The two routes of the ingestion checks agree: the fast route (a cheap shape test, then the kind's conversion) and
the general route (any accepted spelling made canonical, then the same conversion) give the same stored values, the
same quarantine rules and the same messages for the same text.

``check_batch(..., fast_path=False)`` takes the general route for every text value. The property test feeds the same
random batches (accepted values in a few layouts per producer, some replaced by a value at one of the contract's
boundaries, a near miss or anything) to both and compares everything that leaves the checks; the neighbourhood test
does the same, exhaustively, for every text one character away from a value in a common shape. The other tests pin
the values of both routes to hand-computed figures and show that the fast route alone reads the common shapes (so
that the comparison is not between two general routes).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from transforms.core import contract
from transforms.ingest import checks
from transforms.ingest.checks import check_batch
from transforms.ingest.readers import ROW_NUMBER

PLAUSIBLE = (dt.datetime(2000, 1, 1, tzinfo=dt.UTC), dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
ZONES = ("Asia/Shanghai", "Europe/London", "America/New_York")  # no DST; DST east and west of Greenwich

# ---- random text: accepted values, near misses and anything -------------------------------------------------------


def _two(low: int, high: int) -> st.SearchStrategy[str]:
    return st.integers(low, high).map(lambda v: f"{v:02d}")


def _odd(*values: str) -> st.SearchStrategy[str]:
    return st.sampled_from(values)


_blank = st.sampled_from(["", "", "", "", " ", "  ", "\t", "\n", "\u3000"])


@dataclass(frozen=True)
class Layout:
    """How one producer writes its timestamps; the offset (when it writes one) varies from value to value."""

    sep: str
    seconds: bool
    fraction: int  # digits after the point
    point: str
    blank: bool  # a blank before the offset
    offsets: tuple[str, ...]


layouts = st.builds(
    Layout,
    sep=st.sampled_from("TTTT t"),
    seconds=st.integers(0, 9).map(bool),
    fraction=st.sampled_from([0, 0, 3, 3, 1, 6, 9]),
    point=st.sampled_from("...,"),
    blank=st.integers(0, 9).map(lambda v: v == 0),
    offsets=st.sampled_from(
        [("",), ("Z",), ("z",), ("+08:00", "-05:00", "+05:30", "+00:00"), ("+0800", "-0500", "+0530"), ("+08", "-05")]
    ),
)


@st.composite
def _accepted_timestamp(draw, day: int, written: list[Layout]) -> str:
    """A plausible instant in one of the batch's layouts, on the ``day``-th of its row's timestamps (two days
    apart, so that the order rules hold whatever the offsets)."""
    layout = draw(st.sampled_from(written))
    local = dt.datetime(2024, 1, 1) + dt.timedelta(days=2 * day, seconds=draw(st.integers(0, 86_399)))
    text = local.strftime(f"%Y-%m-%d{layout.sep}%H:%M" + (":%S" if layout.seconds else ""))
    if layout.fraction:
        text += layout.point + draw(st.text("0123456789", min_size=layout.fraction, max_size=layout.fraction))
    offset = draw(st.sampled_from(layout.offsets))
    return text + (" " if offset and layout.blank else "") + offset


_accepted_decimal = st.tuples(
    st.sampled_from(["", "", "", "+", "00"]),
    st.integers(0, 10**16 - 1).map(str),
    st.sampled_from(["", "", ".", ".5", ".05", ".50", ".99"]),
).map("".join)
_accepted_integer = st.tuples(
    st.sampled_from(["", "", "", "+", "0"]),
    st.integers(0, 2**62).map(str),
    st.sampled_from(["", "", "", ".", ".0", ".00"]),
).map("".join)
_accepted_boolean = st.sampled_from(["true", "false", "true", "false", "1", "0", "TRUE", "False"])


def _accepted(column: contract.Column, day: int, written: list[Layout]) -> st.SearchStrategy[str | None]:
    """A value the checks take, in any spelling the contract accepts (now and then with blanks around it)."""
    core = {
        "timestamp": _accepted_timestamp(day, written),
        "decimal": _accepted_decimal,
        "int": _accepted_integer,
        "bool": _accepted_boolean,
        "enum": st.sampled_from(column.enum or ("-",)),
        "string": st.text("abcXYZ019-_ é", min_size=1, max_size=8).filter(str.strip),
    }[column.kind]
    padded = st.tuples(_blank, core, _blank).map("".join)
    if column.nullable:
        return st.one_of(core, core, core, padded, st.none(), _odd("", " "))
    return st.one_of(core, core, core, core, padded)


_EDIT_CHARS = "0123456789.,:+-TtZz e\u00a0"


@st.composite
def _near_miss(draw, accepted: st.SearchStrategy[str | None]) -> str:
    """An accepted value with one or two characters inserted, deleted or replaced: the boundary cases (a third
    decimal, a 60th second, a sign, a stray blank) come out of the accepted shapes themselves."""
    text = draw(accepted) or ""
    for _ in range(draw(st.integers(1, 2))):
        at = draw(st.integers(0, len(text)))
        edit, char = draw(st.sampled_from(["insert", "delete", "replace"])), draw(st.sampled_from(_EDIT_CHARS))
        text = text[:at] + ("" if edit == "delete" else char) + text[at + (edit != "insert") :]
    return text


# The contract's boundaries, each as an edit of an accepted value: (pattern, replacement) for re.sub, first match.
_BOUNDARIES = {
    "timestamp": [
        (r"([Tt ]\d\d:\d\d):\d\d", r"\1:60"),  # a leap second
        (r"([Tt ]\d\d:\d\d:\d\d[.,])\d", r"\1+"),  # a sign where the fraction's first digit was
        (r"([.,]\d+)", r"\g<1>7"),  # one more fraction digit (7 of them: finer than microseconds)
        (r"([Tt ])\d\d:", r"\g<1>24:"),  # hour 24
        (r"^(\s*\d{4})-\d\d", r"\1-13"),  # month 13
        (r"([+-])\d\d(:?\d\d)?(\s*)$", r"\g<1>24\2\3"),  # an offset of 24 hours
        (r"^(\s*)(\d{4})", r"\1+\2"),  # a signed year
    ],
    "decimal": [(r"\.(\d*)", r".\g<1>125"), (r"^(\s*)", r"\g<1>12345678901234567"), (r"^(\s*)", r"\1-")],
    "int": [(r"(\d)(\s*)$", r"\1.5\2"), (r"^(\s*)", r"\1-"), (r"^(\s*)\+?\d+", r"\g<1>9223372036854775808")],
    "bool": [(r"(\w+)", lambda m: m.group(1).upper()), (r"(\w+)", "yes")],
    "enum": [(r"(\w+)", lambda m: m.group(1).upper()), (r"(\w+)", r"\1 x")],
    "string": [(r"\S+", " ")],
}


@st.composite
def _boundary(draw, column: contract.Column, accepted: st.SearchStrategy[str | None]) -> str:
    pattern, replacement = draw(st.sampled_from(_BOUNDARIES[column.kind]))
    return re.sub(pattern, replacement, draw(accepted) or "", count=1)


_year = st.one_of(st.integers(1990, 2040).map(str), st.integers(0, 9999).map(lambda v: f"{v:04d}"), _odd("+024", "20245", "2o24", "٢٠٢٤"))  # fmt: skip
_month = st.one_of(_two(1, 12), _two(0, 13), _odd(" 1", "1", "+1"))
_day = st.one_of(_two(1, 28), _two(0, 32), _odd(" 1", "1", "+1"))
_hour = st.one_of(_two(0, 23), _two(0, 25), _odd(" 1", "1", "+1"))
_minute = st.one_of(_two(0, 59), _odd("60", " 1", "+1"))
_second = st.one_of(st.just(""), _two(0, 59).map(":".__add__), _odd(":60", ":61", ": 1", ":+1", ":1"))
_fraction = st.one_of(
    st.just(""),
    st.tuples(st.sampled_from(".,"), st.text("0123456789", min_size=1, max_size=10)).map("".join),
    _odd(".", ".+12", ". 12", ".-1", ".1 ", ".٣"),
)
_offset = st.one_of(
    st.just(""),
    st.sampled_from(["Z", "z", "+08:00", "+0800", "+08", "-05:00", "-04:30", "+00:00", "-00:00", "+14:00"]),
    _odd("+24:00", "+08:60", "+8:00", "+08:0", "+08:00:00", "GMT", "UTC", "+٠٨:٠٠", "+08 ", " +08:00"),
)


@st.composite
def _any_timestamp(draw) -> str:
    text = (
        f"{draw(_year)}-{draw(_month)}-{draw(_day)}{draw(st.sampled_from(['T', 'T', 't', ' ', '_']))}"
        f"{draw(_hour)}:{draw(_minute)}{draw(_second)}{draw(_fraction)}{draw(st.sampled_from(['', '', ' ']))}"
        f"{draw(_offset)}"
    )
    return draw(_blank) + text + draw(_blank)


_digits = st.text("0123456789", min_size=1, max_size=20)
_ANY = {
    "timestamp": _any_timestamp(),
    "decimal": st.one_of(
        st.tuples(st.text("0123456789", min_size=1, max_size=16), st.text("0123456789", max_size=3)).map(
            lambda p: p[0] + ("." + p[1] if p[1] else "")
        ),
        st.tuples(_odd("", "+", "-", "0", "00"), _digits, _odd("", ".", ".5", ".25", ".125")).map("".join),
        _odd(".5", "5.", "+.5", "-0", ".", "1e2", "1,5", "1 000", "١٢.٥", "NaN", "inf", "0x10", "--1"),
    ),
    "int": st.one_of(
        st.integers(-(2**63), 2**63 - 1).map(str),
        st.tuples(_odd("", "+", "-", "0"), _digits, _odd("", ".", ".0", ".00", ".5", "e3")).map("".join),
        _odd("9223372036854775808", "-9223372036854775809", "1_000", "٣", "５", "+-5"),
    ),
    "bool": _odd("true", "false", "1", "0", "TRUE", "False", "tRuE", "yes", "no", "t", "f", "2", "-1"),
    "string": st.text("abcXYZ019-_ é", min_size=1, max_size=8),
}


def _anything(column: contract.Column) -> st.SearchStrategy[str | None]:
    """A value of the column's kind as producers write it, broken in one of many ways or not."""
    if column.kind == "enum":
        members = st.sampled_from(column.enum)
        core = st.one_of(members, members.map(str.upper), members.map(lambda v: v + "x"))
    else:
        core = _ANY[column.kind]
    padded = st.tuples(_blank, core, _blank).map("".join)
    return st.one_of(core, core, core, padded, st.none(), _odd("", " ", "null"))


_BY_KIND = {
    kind: [(s, c) for s in contract.CONTRACT.values() for c in s.columns if c.kind == kind]
    for kind in ("timestamp", "decimal", "int", "bool", "enum", "string")
}


@st.composite
def sources(draw) -> contract.Source:
    """One column of a kind (each kind as often), and up to three more of its source, with the order rules between
    them: in a narrow row, the value that decides the row's fate is more often the one that was broken."""
    source, focus = draw(st.sampled_from(_BY_KIND[draw(st.sampled_from(sorted(_BY_KIND)))]))
    picked = {focus.name, *draw(st.lists(st.sampled_from(source.column_names), max_size=3, unique=True))}
    for rule in source.order_rules:  # now and then both columns of an order rule
        if rule.later in picked and draw(st.booleans()):
            picked.add(rule.earlier)
    columns = tuple(c for c in source.columns if c.name in picked)
    rules = tuple(r for r in source.order_rules if r.later in picked and r.earlier in picked)
    return contract.Source(source.name, source.key, columns, rules)


@st.composite
def batches(draw) -> tuple[contract.Source, pl.DataFrame]:
    """Rows the checks take, each with none, one or two values replaced by a value at one of the contract's
    boundaries, a near miss or anything: the rows whose fate (loaded or quarantined, and why) hangs on one value
    are the ones that tell the routes apart."""
    source = draw(sources())
    written = {c.name: draw(st.lists(layouts, min_size=1, max_size=3)) for c in source.columns}  # per producer
    day = {c.name: sum(1 for d in source.columns[:i] if d.kind == "timestamp") for i, c in enumerate(source.columns)}
    accepted = {c.name: _accepted(c, day[c.name], written[c.name]) for c in source.columns}
    records = []
    for _ in range(draw(st.integers(4, 16))):
        row = {c.name: draw(accepted[c.name]) for c in source.columns}
        for c in draw(
            st.lists(st.sampled_from(source.columns), max_size=draw(st.sampled_from([0, 1, 1, 2])), unique=True)
        ):
            row[c.name] = draw(st.one_of(_boundary(c, accepted[c.name]), _near_miss(accepted[c.name]), _anything(c)))
        records.append(row)
    frame = pl.DataFrame(records, schema=dict.fromkeys(source.column_names, pl.String), orient="row")
    return source, frame.with_columns(pl.int_range(1, len(records) + 1, dtype=pl.Int64).alias(ROW_NUMBER))


# ---- the two routes agree ----------------------------------------------------------------------------------------


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(batches(), st.sampled_from(ZONES))
def test_the_fast_and_the_general_route_give_the_same_values_rules_and_messages(batch, zone):
    source, frame = batch
    fast = check_batch(frame, source, zone, "landing/f.csv", PLAUSIBLE)
    general = check_batch(frame, source, zone, "landing/f.csv", PLAUSIBLE, fast_path=False)
    assert_frame_equal(fast.good, general.good)
    assert_frame_equal(fast.bad, general.bad)
    assert fast.good.height + fast.bad.height == frame.height


# Values in the common shapes, each the first of its batch (so the fast route reads the batch in its layout): every
# text one character away from them, and each of the contract's boundaries, must read alike on both routes.
NEIGHBOURHOODS = {
    "event_at": [
        "2024-03-10T10:00:50",
        "2024-03-10T10:00:50.123",
        "2024-03-10T10:00:50.123456+08:00",
        "2024-03-10 10:00:50Z",
        "2024-03-10t10:00:50,5-0500",
        "2024-03-10T10:00:50+05",
        "2024-11-03T01:30:50",  # New York: the hour that comes twice
        "2024-03-10T02:30:50",  # New York: the hour that is skipped
    ],
    "amount": ["12.34", "0", "9999999999999999.99", "100.5"],
    "size_bytes": ["5", "0", "9223372036854775807"],
    "new_device": ["true", "false"],
    "channel": ["mobile"],
}


def _neighbours(text: str) -> list[str]:
    edits = {text[:at] + char + text[at:] for at in range(len(text) + 1) for char in _EDIT_CHARS}
    edits |= {text[:at] + text[at + 1 :] for at in range(len(text))}
    edits |= {text[:at] + char + text[at + 1 :] for at in range(len(text)) for char in _EDIT_CHARS}
    edits |= {re.sub(p, r, text, count=1) for kind in _BOUNDARIES.values() for p, r in kind}
    return sorted(edits - {text})


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "America/New_York"])
@pytest.mark.parametrize("name,first", [(name, v) for name, values in NEIGHBOURHOODS.items() for v in values])
def test_every_text_next_to_a_common_shape_reads_alike_on_both_routes(name, first, zone):
    source = next(s for s in contract.CONTRACT.values() if name in s.column_names)
    one = contract.Source(source.name, source.key, (source.column(name),))
    texts = [first, *_neighbours(first)]
    frame = pl.DataFrame({name: texts, ROW_NUMBER: range(1, len(texts) + 1)})
    fast = check_batch(frame, one, zone, "landing/f.csv", PLAUSIBLE)
    general = check_batch(frame, one, zone, "landing/f.csv", PLAUSIBLE, fast_path=False)
    assert_frame_equal(fast.good, general.good)
    assert_frame_equal(fast.bad, general.bad)
    assert 0 < fast.good.height < frame.height  # some neighbours are values too, most are not


# ---- each route's values, against figures worked out by hand ------------------------------------------------------

# text -> the stored value; the fast route reads the first group alone (as it is written, in one layout each)
CANONICAL = {
    "timestamp": [
        ("2024-03-10T10:00:00", dt.datetime(2024, 3, 10, 2, 0, tzinfo=dt.UTC)),  # Asia/Shanghai is UTC+8
        ("2024-03-10T10:00:00.250+08:00", dt.datetime(2024, 3, 10, 2, 0, 0, 250_000, tzinfo=dt.UTC)),
        ("2024-03-10T02:00:00Z", dt.datetime(2024, 3, 10, 2, 0, tzinfo=dt.UTC)),
        ("2024-03-09T21:15:00-05:00", dt.datetime(2024, 3, 10, 2, 15, tzinfo=dt.UTC)),
        ("2024-03-10t10:00:00,5+0800", dt.datetime(2024, 3, 10, 2, 0, 0, 500_000, tzinfo=dt.UTC)),
    ],
    "decimal": [
        ("12.30", Decimal("12.30")),
        ("0", Decimal("0.00")),
        ("007.1", Decimal("7.10")),
        ("9999999999999999.99", Decimal("9999999999999999.99")),
    ],  # fmt: skip
    "int": [("5", 5), ("+7", 7), ("0", 0), ("0012", 12)],
    "bool": [("true", True), ("false", False)],
}
# spellings only the general route reads
GENERAL_ONLY = {
    "timestamp": [
        (" 2024-03-10T10:00:00 ", dt.datetime(2024, 3, 10, 2, 0, tzinfo=dt.UTC)),
        ("2024-03-10 10:00", dt.datetime(2024, 3, 10, 2, 0, tzinfo=dt.UTC)),
        ("2024-03-10 10:00+0800", dt.datetime(2024, 3, 10, 2, 0, tzinfo=dt.UTC)),
        ("2024-03-10T10:00:00.1234567+08", dt.datetime(2024, 3, 10, 2, 0, 0, 123_456, tzinfo=dt.UTC)),
        ("2024-03-10T02:00:00 Z", dt.datetime(2024, 3, 10, 2, 0, tzinfo=dt.UTC)),
    ],
    "decimal": [
        ("+.5", Decimal("0.50")),
        ("5.", Decimal("5.00")),
        ("+000012.5", Decimal("12.50")),
        (" 3 ", Decimal("3.00")),
    ],
    "int": [("5.", 5), ("5.00", 5), (" 6 ", 6)],
    "bool": [("TRUE", True), ("1", True), ("False", False), ("0", False)],
}
COLUMN = {"timestamp": "event_at", "decimal": "amount", "bool": "new_device", "int": "size_bytes"}


def _one_column(kind: str, texts: list[str]) -> tuple[contract.Source, pl.DataFrame]:
    source = contract.TRANSACTIONS if kind != "int" else contract.BACKUPS
    column = source.column(COLUMN[kind])
    frame = pl.DataFrame({column.name: texts, ROW_NUMBER: range(1, len(texts) + 1)})
    return contract.Source(source.name, source.key, (column,)), frame


@pytest.mark.parametrize("kind", sorted(COLUMN))
def test_the_fast_route_alone_reads_the_canonical_spellings(kind, monkeypatch):
    """With the general route switched off (every value it would read comes out null), the canonical spellings are
    still read, one layout per batch: so in the property test above these values do take the fast route."""
    monkeypatch.setattr(checks, "_general_value", lambda column, timezone: checks._nothing(checks._STORED[column.kind]))
    for text, expected in CANONICAL[kind]:
        source, frame = _one_column(kind, [text, text])
        checked = check_batch(frame, source, "Asia/Shanghai", "f.csv")
        assert checked.bad.is_empty(), (text, checked.bad.to_dicts())
        assert checked.good.get_column(COLUMN[kind]).to_list() == [expected, expected]
    for text, _ in GENERAL_ONLY[kind]:  # ... and nothing else
        source, frame = _one_column(kind, [text])
        assert check_batch(frame, source, "Asia/Shanghai", "f.csv").good.is_empty(), text


@pytest.mark.parametrize("fast_path", [True, False])
@pytest.mark.parametrize("kind", sorted(COLUMN))
def test_both_routes_read_every_accepted_spelling_to_the_hand_computed_value(kind, fast_path):
    cases = CANONICAL[kind] + GENERAL_ONLY[kind]
    source, frame = _one_column(kind, [text for text, _ in cases])
    checked = check_batch(frame, source, "Asia/Shanghai", "f.csv", fast_path=fast_path)
    assert checked.bad.is_empty(), checked.bad.to_dicts()
    assert checked.good.get_column(COLUMN[kind]).to_list() == [expected for _, expected in cases]


def test_a_value_the_fast_route_takes_and_one_it_leaves_are_explained_alike():
    """The same broken row, once after a sample the fast route reads and once after one it cannot: same message."""
    source = contract.Source("t", "event_at", (contract.TRANSACTIONS.column("event_at"),))

    def bad_message(first: str) -> str:
        frame = pl.DataFrame({"event_at": [first, "1999-12-31T23:59:59Z"], ROW_NUMBER: [1, 2]})
        checked = check_batch(frame, source, "Asia/Shanghai", "f.csv", PLAUSIBLE)
        (row,) = checked.bad.filter(pl.col("row_number") == 2).to_dicts()
        return row["message"]

    expected = (
        "f.csv row 2: column event_at = '1999-12-31T23:59:59Z' breaks implausible_timestamp (event_at must be "
        "between 2000-01-01T00:00:00Z (setting timestamp_min) and 2030-01-01T00:00:00Z (one day after ingestion))"
    )
    assert bad_message("2024-01-01T00:00:00Z") == expected  # row 2 in the sample's layout: fast route
    assert bad_message("2024-01-01 00:00") == expected  # no layout the fast route reads: general route
