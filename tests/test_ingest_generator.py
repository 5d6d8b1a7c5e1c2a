"""The generator's injected violations (--bad-rows) come back from ingestion exactly: file, row, column, rule."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from tests.test_ingest_support import manifest, quarantine, table_counts
from transforms.core import contract
from transforms.generate import generate
from transforms.ingest import ingest


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_every_injected_violation_is_quarantined_and_counts_match(settings, fmt):
    summary = generate(
        settings.landing, dt.date(2024, 3, 1), days=3, transactions=3000, seed=11, fmt=fmt, bad_rows=0.02
    )
    injected = json.loads((settings.landing / "bad_rows_report.json").read_text())

    report = ingest(settings)

    found = quarantine(settings)
    rows = {(q["file_path"], q["row_number"]): q for q in found if q["row_number"] is not None}
    assert {(f, r, q["column_name"], q["rule"]) for (f, r), q in rows.items()} == {
        (i["file"], i["row"], i["column"], i["rule"]) for i in injected["rows"]
    }
    for i in injected["rows"]:
        message = rows[(i["file"], i["row"])]["message"]
        assert message.startswith(f"{i['file']} row {i['row']}: column {i['column']} ")
        assert f"breaks {i['rule']}" in message
        if i["value"] not in (None, "") and len(i["value"]) <= 80:
            assert f"'{i['value']}'" in message

    files = {(q["file_path"], q["rule"]) for q in found if q["row_number"] is None}
    assert files == {(f["file"], f["rule"]) for f in injected["files"]}
    assert injected["files"], "the generator drops malformed files with --bad-rows"

    entries = manifest(settings)
    loaded = dict.fromkeys(contract.SOURCES, 0)
    for f in summary["files"]:
        entry = entries[f["file"]]
        assert (entry["status"], entry["rows_in"], entry["rows_quarantined"]) == ("loaded", f["rows"], f["bad_rows"])
        assert entry["rows_loaded"] == f["rows"] - f["bad_rows"]
        loaded[f["source"]] += f["rows"] - f["bad_rows"]
    assert table_counts(settings) == loaded
    assert report.rows_quarantined == len(injected["rows"])
    assert report.files_failed == len(injected["files"])
    assert all(entries[f["file"]]["status"] == "failed" for f in injected["files"])
    assert "bad_rows_report.json" not in {p.rsplit("/", 1)[-1] for p in entries}  # outside the source folders
