"""The landing-log generator against the contract, and against what its scenarios promise.

Files are read back here with independent code (json/csv/gzip/pyarrow and Polars), never with the generator's own
helpers, and checked against transforms.core.contract (the spec as data): columns, types, enums, the row rules, the
bad-row report, determinism, change-log updates, freshness, indicator inputs and the scenarios' directions.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import gzip
import io
import json
import re
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from transforms.cli.main import main as cli_main
from transforms.core.contract import (
    CONTRACT,
    FILE_MISSING_COLUMN,
    FILE_RULES,
    FILE_UNKNOWN_EXTENSION,
    FILE_UNREADABLE,
    ROW_RULES,
    RULE_BOOL,
    RULE_DECIMAL,
    RULE_DECIMAL_SCALE,
    RULE_ENUM,
    RULE_INTEGER,
    RULE_NON_NEGATIVE,
    RULE_REQUIRED,
    RULE_TIME_ORDER,
    RULE_TIMESTAMP,
    SOURCES,
    format_of,
)
from transforms.generate import generate

TZ = "Asia/Shanghai"
LOCAL = ZoneInfo(TZ)
START = dt.date(2024, 1, 1)
DEMO_DAYS, DEMO_TRANSACTIONS = 90, 200_000
PAPER_COUNTS = (10_475, 12_661, 18_358, 48_041)
PAPER_AMOUNTS = (40_000_000.0, 80_000_000.0, 154_671_900.9, 397_351_361.0)
MONEY_TEXT = re.compile(r"^\d+\.\d{2}$")
DECIMAL_TEXT = re.compile(r"^-?\d+(\.\d+)?$")
INTEGER_TEXT = re.compile(r"^-?\d+$")
OFFSET_END = re.compile(r"[+-]\d\d:\d\d$")


def _run(root: Path, name: str, **kwargs) -> Path:
    out = root / name
    args = {"start": START, "days": 12, "transactions": 12_000, "seed": 5, "timezone": TZ} | kwargs
    generate(out, **args)
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("generated")
    demo = {"days": DEMO_DAYS, "transactions": DEMO_TRANSACTIONS, "seed": 11}
    return {
        "baseline": _run(root, "baseline", **demo),
        "stress": _run(root, "stress", scenario="stress", **demo),
        # Aug..Nov 2018 and a week more, so that November's fraud is confirmed by the end of the run
        "paper": _run(
            root,
            "paper",
            scenario="paper-2018",
            fmt="csv",
            start=dt.date(2018, 8, 1),
            days=129,
            transactions=DEMO_TRANSACTIONS,
            seed=11,
        ),
        "csv": _run(root, "csv", fmt="csv"),
        "parquet": _run(root, "parquet", fmt="parquet"),
        "mixed_bad": _run(root, "mixed_bad", fmt="mixed", bad_rows=0.02, days=30),
        "mixed_bad_again": _run(root, "mixed_bad_again", fmt="mixed", bad_rows=0.02, days=30),
        "mixed_bad_other_seed": _run(root, "mixed_bad_other_seed", fmt="mixed", bad_rows=0.02, days=30, seed=6),
    }


# ---- reading files back, independently of the generator ---------------------------------------------------------


def _report(out: Path) -> dict:
    return json.loads((out / "generator_report.json").read_text())


def _data_files(out: Path, source: str) -> list[Path]:
    return sorted(p for p in (out / source).rglob("*") if p.is_file())


def _good_files(out: Path, source: str) -> list[Path]:
    return [out / f["file"] for f in _report(out)["files"] if f["source"] == source]


def _raw_rows(path: Path) -> tuple[list[str], list[dict]]:
    """Header and rows of a text file, values exactly as written (JSON values, or CSV text with '' as None)."""
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        data = gzip.decompress(data)
    text = data.decode("utf-8")
    if ".jsonl" in path.name:
        rows = [json.loads(line) for line in text.splitlines() if line]
        return (list(rows[0]) if rows else []), rows
    reader = csv.reader(io.StringIO(text))
    header = next(reader)
    return header, [{k: (v if v != "" else None) for k, v in zip(header, row, strict=True)} for row in reader]


def _parse_instant(value) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    if "T" not in value:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=LOCAL)


def _text(value) -> str | None:
    """The raw text of a JSON/CSV value, as the bad-row report gives it."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value)


def _violations(source: str, row: dict) -> list[tuple[str, str]]:
    """Every contract rule the row breaks, as (column, rule); a fresh reading of log-contract.md."""
    found = []
    for col in CONTRACT[source].columns:
        value = row.get(col.name)
        if value is None or value == "":
            if not col.nullable:
                found.append((col.name, RULE_REQUIRED))
            continue
        if col.kind == "timestamp" and _parse_instant(value) is None:
            found.append((col.name, RULE_TIMESTAMP))
        elif col.kind == "enum" and value not in col.enum:
            found.append((col.name, RULE_ENUM))
        elif col.kind == "decimal":
            text = _text(value)
            if not DECIMAL_TEXT.match(text):
                found.append((col.name, RULE_DECIMAL))
            elif "." in text and len(text.split(".")[1]) > 2:
                found.append((col.name, RULE_DECIMAL_SCALE))
            elif float(text) < (col.min_value or 0) and col.min_value is not None:
                found.append((col.name, RULE_NON_NEGATIVE))
        elif col.kind == "bool" and value not in (True, False, "true", "false", "1", "0", 1, 0):
            found.append((col.name, RULE_BOOL))
        elif col.kind == "int":
            text = _text(value)
            if isinstance(value, bool) or not INTEGER_TEXT.match(text):
                found.append((col.name, RULE_INTEGER))
            elif col.min_value is not None and int(text) < col.min_value:
                found.append((col.name, RULE_NON_NEGATIVE))
    for rule in CONTRACT[source].order_rules:
        later, earlier = _parse_instant(row.get(rule.later)), _parse_instant(row.get(rule.earlier))
        if later is not None and earlier is not None and later < earlier:
            found.append((rule.later, RULE_TIME_ORDER))
    return found


POLARS_KIND = {
    "string": pl.String,
    "enum": pl.String,
    "timestamp": pl.String,
    "decimal": pl.String,
    "bool": pl.Boolean,
    "int": pl.Int64,
}


def _typed(frame: pl.DataFrame, source: str) -> pl.DataFrame:
    """Text columns to instants (naive = local time) and money to floats, for analysis."""
    exprs = []
    for col in CONTRACT[source].columns:
        c = pl.col(col.name)
        if col.kind == "timestamp" and frame.schema[col.name] == pl.String:
            aware = (
                c.str.replace(r"Z$", "+00:00")
                .str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%:z", strict=False, time_unit="us")
                .dt.convert_time_zone("UTC")
            )
            naive = (
                c.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f", strict=False, time_unit="us")
                .dt.replace_time_zone(TZ)
                .dt.convert_time_zone("UTC")
            )
            c = pl.when(c.str.contains(r"(Z|[+-]\d\d:\d\d)$")).then(aware).otherwise(naive)
        elif col.kind == "timestamp":
            c = c.cast(pl.Datetime("us", "UTC"))
        elif col.kind == "decimal":
            c = c.cast(pl.Float64)
        exprs.append(c.alias(col.name))
    return frame.select(exprs)


@functools.cache
def _load(out: Path, source: str) -> pl.DataFrame:
    """All records of a source in file order (days in order), typed, with the file's day and row order."""
    schema = {c.name: POLARS_KIND[c.kind] for c in CONTRACT[source].columns}
    frames = []
    for i, path in enumerate(_good_files(out, source)):
        if path.name.endswith(".parquet"):
            frame = pl.read_parquet(path)
        elif path.stat().st_size == 0:
            continue
        elif ".jsonl" in path.name:
            frame = pl.read_ndjson(path, schema=schema)
        else:
            frame = pl.read_csv(path, schema=schema)
        frames.append(_typed(frame, source).with_columns(_file=pl.lit(i), _day=pl.lit(path.parent.name)))
    return pl.concat(frames).with_row_index("_seq")


def _state(frame: pl.DataFrame, key: str, end: dt.datetime | None = None) -> pl.DataFrame:
    """Each entity's newest record (updated_at, then file order), as of ``end``."""
    if end is not None:
        frame = frame.filter(pl.col("updated_at") < end)
    return frame.sort("updated_at", "_seq").group_by(key, maintain_order=True).last()


def _local_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=LOCAL).astimezone(dt.UTC)


# ---- the contract, per format ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["baseline", "csv"])
def test_text_files_have_exactly_the_contract_columns_types_and_enums(runs, name):
    out = runs[name]
    for source in SOURCES:
        styles = Counter()
        rows_seen = 0
        files = _good_files(out, source)
        if source == "transactions" and name == "baseline":
            files = files[::9]  # every ninth day's file: the row-by-row check is slow in Python
        for path in files:
            header, rows = _raw_rows(path)
            if rows or path.name.endswith(".csv"):
                assert header == list(CONTRACT[source].column_names), path
            for row in rows:
                assert list(row) == list(CONTRACT[source].column_names)
                assert _violations(source, row) == [], (path, row)
                for col in CONTRACT[source].columns:
                    value = row[col.name]
                    if value is None:
                        continue
                    if col.kind == "timestamp":
                        styles["Z" if value.endswith("Z") else "offset" if OFFSET_END.search(value) else "naive"] += 1
                        assert not OFFSET_END.search(value) or value.endswith("+08:00")
                    elif col.kind == "decimal":
                        assert isinstance(value, str) and MONEY_TEXT.match(value), (col.name, value)
                    elif col.kind == "bool":
                        assert value in ((True, False) if ".jsonl" in path.name else ("true", "false"))
                    elif col.kind == "int" and ".jsonl" in path.name:
                        assert type(value) is int
            rows_seen += len(rows)
        assert rows_seen > 0, source
        assert set(styles) == {"naive", "offset", "Z"}, (source, styles)


def test_parquet_files_are_typed(runs):
    kinds = {
        "string": pa.string(),
        "enum": pa.string(),
        "timestamp": pa.timestamp("us", tz="UTC"),
        "decimal": pa.decimal128(18, 2),
        "bool": pa.bool_(),
        "int": pa.int64(),
    }
    for source in SOURCES:
        files = _good_files(runs["parquet"], source)
        assert files and all(p.name.endswith(".parquet") for p in files)
        for path in files:
            schema = pq.read_schema(path)
            assert schema.names == list(CONTRACT[source].column_names)
            assert [schema.field(c.name).type for c in CONTRACT[source].columns] == [
                kinds[c.kind] for c in CONTRACT[source].columns
            ]
        table = pl.concat([pl.read_parquet(p) for p in files])
        for col in CONTRACT[source].columns:
            if col.enum:
                assert set(table[col.name].drop_nulls()) <= set(col.enum), col.name
            if not col.nullable:
                assert table[col.name].null_count() == 0, col.name


def test_mixed_format_rotates_over_every_accepted_ending_and_counts_match(runs):
    out = runs["mixed_bad"]
    report = _report(out)
    endings = Counter(re.sub(r"^[^.]*", "", Path(f["file"]).name) for f in report["files"])
    assert set(endings) == {".jsonl", ".csv", ".parquet", ".jsonl.gz", ".csv.gz"}
    for entry in report["files"]:
        path = out / entry["file"]
        assert path.parent.name in path.name and path.parent.parent.name == entry["source"]
        count = pq.read_metadata(path).num_rows if path.name.endswith(".parquet") else len(_raw_rows(path)[1])
        assert count == entry["rows"], entry


def test_every_enum_value_turns_up(runs):
    seen: dict[tuple[str, str], set] = {}
    for name in ("baseline", "stress", "paper"):
        for source in SOURCES:
            frame = _load(runs[name], source)
            for col in CONTRACT[source].columns:
                if col.enum:
                    seen.setdefault((source, col.name), set()).update(frame[col.name].drop_nulls().to_list())
    for (source, column), values in seen.items():
        assert values == set(CONTRACT[source].column(column).enum), (source, column)


def test_files_hold_the_records_of_their_local_day_and_nothing_is_left_as_tmp(runs):
    out = runs["baseline"]
    assert not list(out.rglob("*.tmp"))
    report = _report(out)
    assert report["sources"]["transactions"]["first_versions"] == DEMO_TRANSACTIONS
    for source in SOURCES:
        frame = _load(out, source)
        local_day = frame["updated_at"].dt.convert_time_zone(TZ).dt.date().cast(pl.String)
        assert (local_day == frame["_day"]).all(), source
        days = {p.parent.name for p in _good_files(out, source)}
        assert len(days) == DEMO_DAYS and len(_good_files(out, source)) == DEMO_DAYS


def test_freshness_every_day_for_three_sources_weekly_for_incidents(runs):
    for name in ("baseline", "stress"):
        for source in SOURCES:
            days = sorted(dt.date.fromisoformat(d) for d in _load(runs[name], source)["_day"].unique())
            if source == "incidents":
                gaps = [(b - a).days for a, b in zip([START - dt.timedelta(days=1), *days], days, strict=False)]
                assert max(gaps) <= 7, (name, gaps)
            else:
                assert len(days) == DEMO_DAYS, (name, source)


# ---- determinism -----------------------------------------------------------------------------------------------


def _tree(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes_other_seed_other_bytes(runs):
    first, again, other = (_tree(runs[n]) for n in ("mixed_bad", "mixed_bad_again", "mixed_bad_other_seed"))
    assert first == again
    common = set(first) & set(other)
    assert any(first[name] != other[name] for name in common)
    assert first["bad_rows_report.json"] != other["bad_rows_report.json"]


# ---- change logs -----------------------------------------------------------------------------------------------


def test_later_records_update_earlier_entities(runs):
    out = runs["baseline"]

    def versions(source: str) -> pl.DataFrame:
        key = CONTRACT[source].key
        frame = _load(out, source).sort(key, "updated_at", "_seq")
        return frame.with_columns(nth=pl.int_range(pl.len()).over(key), count=pl.len().over(key))

    tx = versions("transactions")
    confirmed = tx.filter(pl.col("fraud_confirmed"))
    assert confirmed.height > 0 and (confirmed["nth"] > 0).all()  # confirmed only ever as an update
    first = tx.filter(pl.col("nth") == 0).select("txn_id", first_at="updated_at")
    lag = confirmed.join(first, on="txn_id").select((pl.col("updated_at") - pl.col("first_at")).dt.total_hours())
    assert (lag.to_series() >= 1).all() and lag.to_series().median() >= 24  # days later
    assert tx.filter((pl.col("status") == "reversed") & (pl.col("nth") > 0)).height > 0

    co = versions("complaints")
    opened = co.filter(pl.col("nth") == 0)
    assert (opened["resolution"] == "open").all() and opened["closed_at"].is_null().all()
    closed = co.filter(pl.col("closed_at").is_not_null())
    assert (closed["nth"] > 0).all() and (closed["resolution"] != "open").all()
    assert (closed["updated_at"] >= closed["closed_at"]).all()

    inc = versions("incidents")
    assert inc.filter(pl.col("nth") == 0)["review_completed_at"].is_null().all()
    assert inc.filter((pl.col("nth") > 0) & pl.col("resolved_at").is_not_null()).height > 0
    reviewed = inc.filter(pl.col("review_completed_at").is_not_null())
    assert reviewed.height > 0 and (reviewed["nth"] > 0).all()

    bk = versions("backups")
    tested = bk.filter(pl.col("restore_tested"))
    assert tested.height > 0 and (tested["nth"] > 0).all()
    offsite = bk.filter(pl.col("offsite_copy") & (pl.col("backup_type") == "full"))
    assert offsite.height > 0 and (offsite["nth"] > 0).all()


# ---- indicator inputs ------------------------------------------------------------------------------------------


def _denominators(data: dict[str, pl.DataFrame], day: dt.date) -> dict[str, float]:
    """The denominator or sample size of each ratio/median/percentile indicator, as of ``day``."""
    start, end = _local_midnight(day - dt.timedelta(days=29)), _local_midnight(day + dt.timedelta(days=1))
    in_window = lambda c: (pl.col(c) >= start) & (pl.col(c) < end)  # noqa: E731
    tx_all = _state(data["transactions"], "txn_id", end)
    tx = tx_all.filter(in_window("event_at"))
    ok = tx.filter(pl.col("status") == "success")
    inc = _state(data["incidents"], "incident_id", end).filter(in_window("started_at"))
    unplanned = inc.filter(~pl.col("planned"))
    facing = unplanned.filter(pl.col("customer_facing"))
    severe = pl.col("severity").is_in(["major", "critical"])
    restore = pl.col("resolved_at").fill_null(end) - pl.col("detected_at")
    co_all = _state(data["complaints"], "complaint_id", end)
    co = co_all.filter(in_window("opened_at"))
    disputes = co_all.filter(pl.col("category").is_in(["unauthorized_txn", "fee_dispute"]))
    fraud_ids = tx_all.filter(pl.col("fraud_confirmed")).select("txn_id")
    bk = _state(data["backups"], "backup_id", end).filter(in_window("scheduled_at"))
    active = tx["customer_id"].n_unique()
    return {
        "SP1": ok.filter(pl.col("amount") >= 5000).height,
        "SP4": tx.filter(pl.col("new_device")).height,
        "IC1": inc.height,
        "IC2": inc.filter(severe & (pl.col("resolved_at") <= end - dt.timedelta(days=5))).height,
        "IC3": tx.height,
        "IC4": unplanned.height,
        "RP1": active,
        "RP2": co.height,
        "RP3": co_all.filter(
            ((pl.col("opened_at") + dt.timedelta(days=15)) >= start)
            & ((pl.col("opened_at") + dt.timedelta(days=15)) < end)
        ).height,
        "RP4": co.height,
        "BC1": inc.filter(pl.col("cause").is_in(["intrusion", "ddos", "malware"])).height,
        "BC2": tx.filter(pl.col("fraud_confirmed"))["amount"].sum(),
        "BC3": bk["system"].n_unique(),
        "BC4": facing.height,
        "BC5": 1,  # window minutes x 7 systems: never empty
        "LG1": disputes.filter(
            ((pl.col("opened_at") + dt.timedelta(days=30)) >= start)
            & ((pl.col("opened_at") + dt.timedelta(days=30)) < end)
        ).height,
        "LG2": co.filter((pl.col("category") == "unauthorized_txn") & pl.col("closed_at").is_not_null())
        .join(fraud_ids, on="txn_id")["claimed_amount"]
        .sum(),
        "LG3": disputes.filter(in_window("opened_at") & pl.col("closed_at").is_not_null()).height,
        "LG4": inc.filter(
            severe | (~pl.col("planned") & pl.col("customer_facing") & (restore > dt.timedelta(minutes=20)))
        ).height,
        "OS1": inc.filter(pl.col("vendor").is_not_null()).height,
        "OS2": unplanned.filter(pl.col("vendor").is_not_null()).height,
        "OS3": unplanned.height,
        "DC1": bk["system"].n_unique(),
        "DC2": bk.height,
        "CO1": active,
        "CO2": active,
        "CO3": ok["amount"].sum(),
    }


def test_every_indicator_has_inputs_in_every_window_of_a_demo_sized_baseline(runs):
    data = {s: _load(runs["baseline"], s) for s in SOURCES}
    empty = []
    for k in range(29, DEMO_DAYS):  # every window that lies inside the run
        day = START + dt.timedelta(days=k)
        for indicator, value in _denominators(data, day).items():
            if indicator in ("RP3", "LG1") and k < 59:
                continue  # a deadline cohort needs 15/30 days of history before the window
            if not value:
                empty.append((indicator, day.isoformat()))
    assert empty == []


# ---- scenarios -------------------------------------------------------------------------------------------------


def _monthly_fraud(out: Path) -> pl.DataFrame:
    tx = _state(_load(out, "transactions"), "txn_id")
    month = pl.col("event_at").dt.convert_time_zone(TZ).dt.strftime("%Y-%m")
    fraud = pl.col("fraud_confirmed")
    return (
        tx.group_by(month.alias("month"))
        .agg(
            count=fraud.sum(),
            amount=pl.col("amount").filter(fraud).sum(),
            success_amount=pl.col("amount").filter(pl.col("status") == "success").sum(),
            missed=pl.col("amount").filter(fraud & ~pl.col("risk_flag")).sum(),
        )
        .sort("month")
        .with_columns(
            share_bp=pl.col("amount") / pl.col("success_amount") * 10_000,
            missed_share=pl.col("missed") / pl.col("amount"),
        )
    )


def test_paper_2018_ramps_fraud_in_the_papers_proportions_and_the_engine_misses_more(runs):
    monthly = _monthly_fraud(runs["paper"])
    assert monthly["month"].to_list() == ["2018-08", "2018-09", "2018-10", "2018-11", "2018-12"]
    monthly = monthly.head(4)
    counts, amounts = monthly["count"].to_list(), monthly["amount"].to_list()
    for k in range(1, 4):
        assert counts[k] / counts[0] == pytest.approx(PAPER_COUNTS[k] / PAPER_COUNTS[0], rel=0.25)
        assert amounts[k] / amounts[0] == pytest.approx(PAPER_AMOUNTS[k] / PAPER_AMOUNTS[0], rel=0.05)
    share, missed = monthly["share_bp"].to_list(), monthly["missed_share"].to_list()
    assert share == sorted(share) and share[3] > 5 * share[0]  # CO3's input rises month over month
    assert missed == sorted(missed) and missed[3] - missed[0] > 0.25  # BC2's input rises month over month
    baseline = _monthly_fraud(runs["baseline"])
    assert baseline["share_bp"].max() < share[1]
    assert baseline["missed_share"].max() < missed[3]


def _operations(out: Path) -> dict[str, float]:
    inc = _state(_load(out, "incidents"), "incident_id")
    outages = inc.filter(~pl.col("planned") & pl.col("customer_facing"))
    minutes = ((pl.col("resolved_at") - pl.col("started_at")).dt.total_seconds() / 60).sum()
    sla = {
        r["vendor"]: float(r["restore_hours"])
        for r in csv.DictReader((Path(__file__).resolve().parent.parent / "seeds" / "vendor_slas.csv").open())
    }
    vendor = inc.filter(pl.col("vendor").is_not_null()).with_columns(
        hours=(pl.col("resolved_at") - pl.col("started_at")).dt.total_seconds() / 3600,
        limit=pl.col("vendor").replace_strict(sla, default=sla["*"], return_dtype=pl.Float64),
    )
    bk = _state(_load(out, "backups"), "backup_id")
    return {
        "outages": outages.height,
        "outage_minutes": outages.select(minutes).item(),
        "slow_restores": outages.filter(
            (pl.col("resolved_at") - pl.col("detected_at")) > dt.timedelta(minutes=20)
        ).height
        / outages.height,
        "vendor_overrun": vendor.filter(pl.col("hours") > pl.col("limit")).height / vendor.height,
        "backup_failed": bk.filter(pl.col("status") != "success").height / bk.height,
        "systems_days_without_backup": bk.filter(pl.col("backup_type") != "log")
        .group_by("system", pl.col("scheduled_at").dt.date())
        .agg(ok=(pl.col("status") == "success").any())
        .filter(~pl.col("ok"))
        .height,
    }


def test_stress_raises_outages_vendor_overruns_and_backup_failures(runs):
    calm, stress = _operations(runs["baseline"]), _operations(runs["stress"])
    assert stress["outages"] > 2 * calm["outages"]
    assert stress["outage_minutes"] > 5 * calm["outage_minutes"]
    assert stress["slow_restores"] > calm["slow_restores"] + 0.3
    assert stress["vendor_overrun"] > calm["vendor_overrun"] + 0.2
    assert stress["backup_failed"] > 5 * calm["backup_failed"]
    assert stress["systems_days_without_backup"] > 5 * max(calm["systems_days_without_backup"], 1)


# ---- bad rows and malformed files ------------------------------------------------------------------------------


def test_bad_row_report_matches_the_files_exactly(runs):
    out = runs["mixed_bad"]
    report = json.loads((out / "bad_rows_report.json").read_text())
    assert report["seed"] == 5 and report["rate"] == 0.02
    reported = {(r["file"], r["row"]): r for r in report["rows"]}
    assert len(reported) == len(report["rows"])  # one violation per bad row
    rules_seen: dict[str, set] = {s: set() for s in SOURCES}
    text_rows = 0
    for entry in _report(out)["files"]:
        if entry["format"] == "parquet":
            assert entry["bad_rows"] == 0
            continue
        source, path = entry["source"], out / entry["file"]
        _, rows = _raw_rows(path)
        text_rows += len(rows)
        for number, row in enumerate(rows, start=1):
            broken = _violations(source, row)
            bad = reported.pop((entry["file"], number), None)
            if bad is None:
                assert broken == [], (entry["file"], number, broken)
                continue
            assert bad["source"] == source
            assert broken == [(bad["column"], bad["rule"])], (entry["file"], number, bad, broken)
            assert _text(row.get(bad["column"])) == bad["value"], (bad, row.get(bad["column"]))
            rules_seen[source].add(bad["rule"])
    assert reported == {}  # every reported row was found where the report says
    assert 0.01 < len(report["rows"]) / text_rows < 0.05
    applicable = {
        "transactions": set(ROW_RULES) - {RULE_INTEGER, RULE_TIME_ORDER},
        "complaints": set(ROW_RULES) - {RULE_BOOL, RULE_INTEGER},
        "incidents": {RULE_REQUIRED, RULE_TIMESTAMP, RULE_ENUM, RULE_BOOL, RULE_TIME_ORDER},
        "backups": {RULE_REQUIRED, RULE_TIMESTAMP, RULE_ENUM, RULE_BOOL, RULE_INTEGER, RULE_NON_NEGATIVE},
    }
    assert rules_seen == applicable
    for source in SOURCES:  # a missing key is among them, and both time-order rules of incidents
        keys = [r for r in report["rows"] if r["source"] == source and r["column"] == CONTRACT[source].key]
        assert keys and all(r["rule"] == RULE_REQUIRED for r in keys)
    order_columns = {r["column"] for r in report["rows"] if r["rule"] == RULE_TIME_ORDER}
    assert order_columns == {"closed_at", "detected_at", "resolved_at"}
    assert {RULE_DECIMAL, RULE_DECIMAL_SCALE, RULE_NON_NEGATIVE} <= rules_seen["transactions"]


def test_malformed_files_are_refusable_and_reported(runs):
    out = runs["mixed_bad"]
    files = json.loads((out / "bad_rows_report.json").read_text())["files"]
    assert {f["rule"] for f in files} == set(FILE_RULES)
    good = {f["file"] for f in _report(out)["files"]}
    listed = {f["file"] for f in files}
    on_disk = {p.relative_to(out).as_posix() for s in SOURCES for p in _data_files(out, s)}
    assert on_disk == good | listed and not good & listed
    for entry in files:
        path = out / entry["file"]
        assert path.parent.parent.name == entry["source"]
        if entry["rule"] == FILE_UNKNOWN_EXTENSION:
            assert format_of(path.name) is None
        elif entry["rule"] == FILE_MISSING_COLUMN:
            header, _ = _raw_rows(path)
            assert set(CONTRACT[entry["source"]].column_names) - set(header)
        elif entry["rule"] == FILE_UNREADABLE and path.name.endswith(".gz"):
            with pytest.raises((EOFError, OSError)):
                gzip.decompress(path.read_bytes())
        elif entry["rule"] == FILE_UNREADABLE:
            with pytest.raises(pa.ArrowException):
                pq.read_table(path)


# ---- the command -----------------------------------------------------------------------------------------------


def test_cli_writes_the_logs_and_prints_a_summary_table(tmp_path, capsys, settings):
    out = tmp_path / "landing"
    code = cli_main(
        [
            "generate",
            "--out",
            str(out),
            "--start",
            "2024-03-01",
            "--days",
            "3",
            "--transactions",
            "900",
            "--seed",
            "1",
            "--format",
            "csv",
            "--bad-rows",
            "0.05",
        ]
    )
    captured = capsys.readouterr()
    assert code == 0
    lines = captured.out.splitlines()
    assert lines[1].split() == ["source", "files", "rows", "first_versions", "updates", "bad_rows"]
    row = dict(zip(lines[1].split(), next(x for x in lines if x.startswith("transactions")).split(), strict=True))
    assert row["files"] == "3" and row["first_versions"] == "900"
    assert "2024-03-03" in captured.err and "malformed files: 4" in captured.out
    assert len(list((out / "transactions").rglob("transactions_*.csv"))) == 3
    assert (out / "bad_rows_report.json").exists()


@pytest.mark.parametrize(
    "bad", [{"days": 0}, {"transactions": -1}, {"fmt": "xlsx"}, {"scenario": "calm"}, {"bad_rows": 0.9}]
)
def test_bad_arguments_are_refused_before_anything_is_written(tmp_path, bad):
    args = {"start": START, "days": 2, "transactions": 10, "seed": 1} | bad
    with pytest.raises(ValueError):
        generate(tmp_path / "out", **args)
    assert not (tmp_path / "out").exists()
