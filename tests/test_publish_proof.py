"""What a published version proves, on a real warehouse file with real GX validations; the mart and its build record
come from a real dbt build (tests/warehouse_builder.py), later ingests are recorded as the builder's:

- binding: a file ingested after the build is outside the version (digest, health); a rebuild, or rows changed
  outside a build, between validate and publish refuses the stored validation; a failed or never-finished build
  blocks;
- the content hash rounds floats (last bits never make a new version);
- alerts go out when the serving refresh fails; killed refreshes' temporary files are cleaned;
- every committed version gets its snapshot, after a publish killed between its commit and its snapshot;
- failed files: acknowledged (`riskcard ingest ack`) or superseded, shown in notes and provenance.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math

import duckdb
import pytest

from tests.test_alerts import smtp_server, webhook  # noqa: F401 - fixtures (real servers on 127.0.0.1)
from tests.warehouse_builder import AS_OF, build_warehouse, open_builder
from tests.warehouse_reads import lean_publish
from tests.warehouse_reads import records as _rows
from transforms.cli.main import main
from transforms.indicators.build import build
from transforms.indicators.catalogue import load_catalogue
from transforms.publishing import publish as publish_mod
from transforms.publishing.provenance import HASH_SIGNIFICANT_DIGITS, content_hash
from transforms.publishing.publish import PublishBlocked, publish
from transforms.publishing.rows import scorecard_rows
from transforms.publishing.serving import refresh_serving
from transforms.publishing.snapshots import DATA_FILE, MANIFEST, snapshot_dir, verify_snapshot
from transforms.quality import validate
from transforms.quality.health import ingestion_health_frame
from transforms.scoring.profiles import load_profile
from transforms.scoring.synthesis import band_of, synthesize


@pytest.fixture
def settings(settings, monkeypatch):
    """This module's publishes write no committee report and store no sensitivity analysis (LEAN_PUBLISH)."""
    return lean_publish(settings, monkeypatch)


def _latest_build(settings) -> dict:
    return _rows(settings, "SELECT * FROM ops.build_runs ORDER BY started_at DESC LIMIT 1")[0]


def _failed(outcome) -> set[str]:
    return {f.label for f in outcome.critical_failures}


@pytest.fixture
def healthy(settings, warehouse_template):
    build_warehouse(warehouse_template, settings).con.close()
    return settings


# ---- 1. proof that matches what was built -----------------------------------------------------------------------


def test_files_ingested_after_the_build_are_outside_the_version_it_publishes(healthy):
    settings = healthy
    build = _latest_build(settings)
    (max_seq,) = _rows(settings, "SELECT max(ingest_seq) AS n FROM raw.ingested_files")
    assert build["status"] == "success" and build["ingest_high_water"] == max_seq["n"]
    outcome = validate(settings, AS_OF, run_id="val-1", alert=False)
    assert (outcome.build_id, outcome.ingest_high_water) == (build["build_id"], build["ingest_high_water"])
    shas_read = sorted(r["sha256"] for r in _rows(settings, "SELECT sha256 FROM raw.ingested_files"))

    # an ingest lands between validate and publish: a late file with records of D, and a file that failed
    builder = open_builder(settings)
    builder.add_file("complaints", AS_OF, suffix="late", rows=1, hour=23, built=False)
    builder.add_file("backups", AS_OF, suffix="broken", status="failed", built=False)
    builder.con.close()
    result = publish(settings, AS_OF, validation_run_id="val-1")
    assert result.status == "published" and result.version == 1
    (info,) = _rows(settings, "SELECT * FROM published.scorecard_versions")
    assert info["build_id"] == build["build_id"] and info["ingest_high_water"] == build["ingest_high_water"]
    assert info["validation_run_id"] == "val-1" and info["indicator_rows_hash"] == outcome.indicator_rows_hash
    # the digest names exactly the files the build read (every one holds records up to D), not the late one
    assert info["input_digest"] == hashlib.sha256("\n".join(shas_read).encode()).hexdigest()
    assert info["input_files"] == len(shas_read) == 4 * 30 - 20  # incidents every third day

    # once a build reads them, both count: the late file feeds the digest and the failed file blocks
    builder = open_builder(settings)
    builder.rebuild()
    builder.con.close()
    with pytest.raises(PublishBlocked, match=r"ingestion_health.no_failed_files.*backups_2025-03-31broken.jsonl"):
        publish(settings, AS_OF, force=True)


def test_a_rebuild_or_rows_changed_between_validate_and_publish_refuse_the_validation(
    rebuild_settings, warehouse_template
):
    settings = rebuild_settings
    build_warehouse(warehouse_template, settings).con.close()
    first_build = _latest_build(settings)["build_id"]
    validate(settings, AS_OF, run_id="val-1", alert=False)
    builder = open_builder(settings)
    builder.add_file("transactions", AS_OF, suffix="late", built=False)  # a late file, then the real rebuild
    builder.con.close()
    second_build = build(settings, as_of=AS_OF).build_id
    assert second_build == _latest_build(settings)["build_id"] != first_build
    with pytest.raises(PublishBlocked) as refused:
        publish(settings, AS_OF, validation_run_id="val-1")
    message = str(refused.value)
    assert f"val-1 checked build {first_build}" in message and f"now come from build {second_build}" in message
    assert "rerun `riskcard validate --as-of 2025-03-31`" in message

    validate(settings, AS_OF, run_id="val-2", alert=False)
    con = duckdb.connect(str(settings.warehouse))
    con.execute("UPDATE marts.fct_leaf_indicators SET value = value + 1e-9 WHERE indicator_id = 'SP4'")  # no build
    con.close()
    with pytest.raises(PublishBlocked, match="val-2 checked other rows of marts.fct_leaf_indicators"):
        publish(settings, AS_OF, validation_run_id="val-2")
    assert _rows(settings, "SELECT count(*) AS n FROM published.scorecard_versions") == [{"n": 0}]

    checked = validate(settings, AS_OF, run_id="val-3", alert=False)
    assert publish(settings, AS_OF, validation_run_id="val-3").version == 1
    (info,) = _rows(settings, "SELECT build_id, indicator_rows_hash FROM published.scorecard_versions")
    assert info == {"build_id": second_build, "indicator_rows_hash": checked.indicator_rows_hash}
    (run,) = _rows(settings, "SELECT build_id, indicator_rows_hash FROM ops.validation_runs WHERE run_id = 'val-3'")
    assert run == info


@pytest.mark.parametrize(
    ("status", "said"),
    [("running", r"never finished \(killed\?\)"), ("failed", r"failed \(test: failed\)")],
)
def test_a_failed_or_unfinished_build_blocks_publishing(healthy, status, said):
    settings = healthy
    builder = open_builder(settings)
    bad = builder.record_build(AS_OF, status=status)  # what a killed build / a failing dbt test leaves
    builder.con.close()
    with pytest.raises(PublishBlocked, match=f"build {bad} of 2025-03-31 .*{said}.*riskcard build --as-of 2025-03-31"):
        publish(settings, AS_OF)
    outcome = validate(settings, AS_OF, alert=False)
    assert "indicators.built_by_a_successful_build" in _failed(outcome)
    assert any(bad in note for note in outcome.notes)
    builder = open_builder(settings)
    builder.record_build(AS_OF)  # rebuilt
    builder.con.close()
    assert publish(settings, AS_OF).status == "published"


# ---- 3. the content hash rounds floats --------------------------------------------------------------------------


def test_the_content_hash_ignores_the_12th_significant_digit_but_not_the_9th(settings):
    assert HASH_SIGNIFICANT_DIGITS == 10
    row = {"row_type": "leaf", "rank": 3, "score": 0.1234567890123456, "level": 0.6, "name_en": "x",
           "name_zh": "网络", "band": None}  # fmt: skip
    # sha256 of the canonical JSON, written by hand: sorted keys, no spaces, UTF-8, the float to 10 digits
    canonical = (
        '[{"band":null,"level":0.6,"name_en":"x","name_zh":"网络","rank":3,"row_type":"leaf","score":0.123456789}]'
    )
    assert content_hash([row]) == hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    assert content_hash([row]) == content_hash([{**row, "score": 0.1234567890123457}])  # 16th digit
    assert content_hash([row]) == content_hash([{**row, "score": 0.1234567890133456}])  # 12th digit
    assert content_hash([row]) != content_hash([{**row, "score": 0.1234567880123456}])  # 9th digit
    assert content_hash([row]) != content_hash([{**row, "score": 0.1234577890123456}])  # 6th digit
    assert content_hash([{**row, "score": 0.0}]) == content_hash([{**row, "score": -0.0}])
    assert content_hash([row, row]) == content_hash([dict(reversed(row.items())), row])  # key order: none

    # real scorecard rows, every float one ulp away (power iteration on another machine): the same content
    catalogue = load_catalogue(settings)
    card = synthesize({i: 0.6 for i in catalogue.indicator_ids}, load_profile("default", settings), catalogue)
    rows = scorecard_rows(card, catalogue, {}, band_of)
    nudged = [
        {k: math.nextafter(v, math.inf) if isinstance(v, float) and v != 0 else v for k, v in r.items()} for r in rows
    ]
    assert nudged != rows and content_hash(nudged) == content_hash(rows)
    moved = [dict(r) for r in rows]
    moved[0]["score"] *= 1.00001
    assert content_hash(moved) != content_hash(rows)


# ---- 4, 5. serving copy -----------------------------------------------------------------------------------------


def _break_serving(settings) -> None:
    """A file where the serving folder should be: every refresh fails (even for root)."""
    settings.serving_db.parent.parent.mkdir(parents=True, exist_ok=True)
    if settings.serving_db.parent.is_dir():
        for leftover in settings.serving_db.parent.iterdir():
            leftover.unlink()
        settings.serving_db.parent.rmdir()
    settings.serving_db.parent.write_text("not a folder")


def test_alerts_go_out_when_the_serving_refresh_fails(settings, warehouse_template, smtp_server, webhook):  # noqa: F811
    inbox, port = smtp_server
    url, received = webhook
    settings = settings.replace(smtp_host="127.0.0.1", smtp_port=port, smtp_to=("dq@bank.example",), webhook_url=url)
    builder = build_warehouse(warehouse_template, settings)
    builder.set_no_events(["IC2", "BC1", "OS1", "OS2", "OS3", "LG2", "LG4"])  # many no_events leaves: a warning only
    builder.con.close()
    _break_serving(settings)

    result = publish(settings, AS_OF)
    assert result.status == "published" and "the serving copy was NOT refreshed" in result.message
    (warning,) = inbox.messages
    assert warning["Subject"].startswith("[riskcard] WARNING") and "few_no_events_leaves" in warning["Subject"]
    assert received[0]["json"]["publish_blocked"] is False

    builder = open_builder(settings)
    builder.add_file("transactions", AS_OF, suffix="dirty", rows=5, quarantined=45)
    builder.con.close()
    with pytest.raises(PublishBlocked, match="quarantine_rate_under_limit"):
        publish(settings, AS_OF, force=True)
    assert len(inbox.messages) == 2
    assert "quarantine_rate_under_limit" in inbox.messages[1]["Subject"]
    assert "publishing blocked" in inbox.messages[1]["Subject"]
    assert received[-1]["json"]["publish_blocked"] is True

    outcome = validate(settings, AS_OF)  # validate alerts too while the serving copy cannot be written
    assert outcome.critical_failed and len(inbox.messages) == 3


def test_a_refresh_removes_the_temporary_files_of_killed_refreshes(published):
    settings = published  # version 1, and its serving copy
    folder = settings.serving_db.parent
    leftovers = [folder / ".riskcard_serving.duckdb.0badc0ffee.tmp", folder / ".riskcard_serving.duckdb.0badc0ffee.tmp.wal",
                 folder / ".riskcard_serving.duckdb.feed.tmp"]  # fmt: skip
    for path in leftovers:
        path.write_bytes(b"half a database")
    (folder / "analyst_notes.txt").write_text("mine")
    refresh_serving(settings)
    assert sorted(p.name for p in folder.iterdir()) == ["analyst_notes.txt", "riskcard_serving.duckdb"]
    con = duckdb.connect(str(settings.serving_db), read_only=True)
    try:
        assert con.execute("SELECT max(version) FROM published.scorecard_versions").fetchall() == [(1,)]
    finally:
        con.close()


# ---- 6. every committed version has its snapshot ----------------------------------------------------------------


class Killed(BaseException):
    """Stands for SIGKILL at the injection point: nothing after it runs."""


def _kill_before_the_snapshot(monkeypatch) -> None:
    def killed(*args, **kwargs):
        raise Killed("killed between the commit and the snapshot")

    monkeypatch.setattr(publish_mod, "repair_snapshots_from", killed)


def _versions_and_snapshots(settings) -> list[tuple[int, bool]]:
    out = []
    for r in _rows(settings, "SELECT version FROM published.scorecard_versions ORDER BY version"):
        path = snapshot_dir(settings, AS_OF, r["version"])
        out.append((r["version"], path.is_dir() and verify_snapshot(path) == []))
    return out


def test_a_version_killed_before_its_snapshot_gets_it_from_a_forced_and_from_a_different_publish(
    healthy, monkeypatch, capsys
):
    settings = healthy
    staging = settings.published_dir / ".staging"
    with monkeypatch.context() as patch:
        _kill_before_the_snapshot(patch)
        with pytest.raises(Killed):
            publish(settings, AS_OF)
    (staging / "scorecard-0123456789abcdef").mkdir(parents=True)  # what a writer killed mid-snapshot leaves
    assert _versions_and_snapshots(settings) == [(1, False)]

    # the check lists it: validation notes and `riskcard scorecard check`
    outcome = validate(settings, AS_OF, alert=False)
    assert any(n.startswith("version 1 of 2025-03-31 has no Parquet snapshot") for n in outcome.notes)
    assert main(["scorecard", "check", "--warehouse", str(settings.warehouse)]) == 1
    assert "2025-03-31 version 1: missing" in capsys.readouterr().out

    forced = publish(settings, AS_OF, force=True)
    assert forced.version == 2
    assert _versions_and_snapshots(settings) == [(1, True), (2, True)]
    assert list(staging.iterdir()) == []
    manifest = json.loads((snapshot_dir(settings, AS_OF, 1) / MANIFEST).read_text())
    assert manifest["version"] == 1 and manifest["files"][0]["rows"] == 39

    # killed again on version 3, then a publish with other content
    builder = open_builder(settings)
    builder.move_leaf("SP1", 50.0)  # above t4: 1.0
    builder.con.close()
    with monkeypatch.context() as patch:
        _kill_before_the_snapshot(patch)
        with pytest.raises(Killed):
            publish(settings, AS_OF)
    assert _versions_and_snapshots(settings)[-1] == (3, False)
    builder = open_builder(settings)
    builder.move_leaf("SP1", 0.1)  # at most t1: 0.2
    builder.con.close()
    assert publish(settings, AS_OF).version == 4
    assert _versions_and_snapshots(settings) == [(1, True), (2, True), (3, True), (4, True)]
    v3 = snapshot_dir(settings, AS_OF, 3) / DATA_FILE
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        table = con.execute(
            "SELECT * EXCLUDE (as_of_date, version) FROM published.scorecard WHERE version = 3 ORDER BY row_order"
        ).fetchall()
        parquet = con.execute(
            f"SELECT * FROM read_parquet('{v3}', hive_partitioning = false) ORDER BY row_order"
        ).fetchall()
    finally:
        con.close()
    assert parquet == table

    # an unchanged publish repairs too
    with monkeypatch.context() as patch:
        _kill_before_the_snapshot(patch)
        with pytest.raises(Killed):
            publish(settings, AS_OF, force=True)
    assert _versions_and_snapshots(settings)[-1] == (5, False)
    assert publish(settings, AS_OF).status == "unchanged"
    assert all(ok for _, ok in _versions_and_snapshots(settings))
    assert main(["scorecard", "check", "--warehouse", str(settings.warehouse)]) == 0
    assert not [n for n in validate(settings, AS_OF, alert=False).notes if "no Parquet snapshot" in n]


def test_the_dag_snapshot_task_repairs_every_version_of_the_date(published, monkeypatch, tmp_path):
    settings = published  # version 1, with its snapshot
    with monkeypatch.context() as patch:
        _kill_before_the_snapshot(patch)
        with pytest.raises(Killed):
            publish(settings, AS_OF, force=True)
    import shutil

    shutil.rmtree(snapshot_dir(settings, AS_OF, 1))  # lost as well
    from transforms.orchestration import tasks as pipeline

    monkeypatch.setenv("RISKCARD_WAREHOUSE", str(settings.warehouse))
    monkeypatch.setenv("RISKCARD_SECRET_KEY", "test-secret-key-0123456789")
    monkeypatch.chdir(tmp_path)  # no ./riskcard.toml
    out = pipeline.snapshot_scorecard({"as_of": AS_OF.isoformat(), "version": 2, "status": "published"})
    assert sorted(out["snapshots_repaired"]) == sorted(str(snapshot_dir(settings, AS_OF, v)) for v in (1, 2))
    assert _versions_and_snapshots(settings) == [(1, True), (2, True)]


# ---- 7. nothing blocks silently, for ever -----------------------------------------------------------------------


def test_a_failed_file_blocks_until_acknowledged_and_the_ack_is_in_the_provenance(healthy, capsys):
    settings = healthy
    wh = ["--warehouse", str(settings.warehouse)]
    builder = open_builder(settings)
    path = builder.add_file("backups", AS_OF - dt.timedelta(days=2), suffix="-notes", status="failed")
    builder.con.close()
    with pytest.raises(PublishBlocked) as blocked:
        publish(settings, AS_OF)
    message = str(blocked.value)
    assert "ingestion_health.no_failed_files" in message
    assert f"backups file {path}" in message and f"riskcard ingest ack {path} --reason TEXT" in message

    assert main(["ingest", "ack", path, *wh]) == 2  # a reason is required
    assert main(["ingest", "ack", "backups/2025-03-29/nothing.jsonl", "--reason", "x", *wh]) == 1
    assert "no delivery of backups/2025-03-29/nothing.jsonl" in capsys.readouterr().err
    loaded = "backups/2025-03-31/backups_2025-03-31.jsonl"
    assert main(["ingest", "ack", loaded, "--reason", "x", *wh]) == 1
    assert "loaded: nothing to acknowledge" in capsys.readouterr().err
    reason = "producer confirms the file was a stray readme; no backups missing"
    landing = ["--landing", str(settings.landing)]
    assert main(["ingest", "ack", str(settings.landing / path), "--reason", reason, *landing, *wh]) == 0
    assert f"acknowledged {path}" in capsys.readouterr().out
    (ack,) = _rows(settings, "SELECT * FROM ops.ingest_acks")
    assert (ack["path"], ack["source"], ack["reason"], ack["failure"]) == (path, "backups", reason, "unreadable")
    (failed_seq,) = _rows(settings, "SELECT ingest_seq FROM raw.ingested_files WHERE path = ?", [path])
    assert ack["ingest_seq"] == failed_seq["ingest_seq"] and ack["acked_at"] is not None

    outcome = validate(settings, AS_OF, alert=False)
    assert not outcome.critical_failed
    (note,) = [n for n in outcome.notes if path in n]
    assert "acknowledged" in note and reason in note
    assert json.loads(_rows(settings, "SELECT notes FROM ops.validation_runs")[-1]["notes"]) == list(outcome.notes)
    result = publish(settings, AS_OF)
    assert result.status == "published"
    (info,) = _rows(settings, "SELECT failed_files_cleared FROM published.scorecard_versions")
    (cleared,) = json.loads(info["failed_files_cleared"])
    assert (cleared["path"], cleared["cleared_by"], cleared["reason"]) == (path, "acknowledged", reason)

    # a new failed delivery of the same path is not covered by the old acknowledgement
    builder = open_builder(settings)
    builder.add_file("backups", AS_OF - dt.timedelta(days=2), suffix="-notes", status="failed")
    builder.con.close()
    assert "ingestion_health.no_failed_files" in _failed(validate(settings, AS_OF, alert=False))


def test_a_failed_file_is_superseded_by_the_same_bytes_or_a_later_file_of_the_same_source_and_day(healthy):
    settings = healthy
    builder = open_builder(settings)
    truncated = builder.add_file("backups", AS_OF - dt.timedelta(days=2), suffix="-part2", status="failed")
    builder.con.close()
    assert "ingestion_health.no_failed_files" in _failed(validate(settings, AS_OF, alert=False))

    # the same bytes, re-sent under another name, load
    builder = open_builder(settings)
    builder.seq += 1
    builder.con.execute(
        """INSERT INTO raw.ingested_files (source, path, sha256, size_bytes, format, rows_in, rows_loaded,
               rows_quarantined, status, reason, run_id, ingested_at, ingest_seq, mtime_ns)
           SELECT source, 'backups/resent/backups_again.jsonl', sha256, size_bytes, 'jsonl', 0, 0, 0, 'loaded',
               NULL, run_id, ingested_at, ?, mtime_ns FROM raw.ingested_files WHERE path = ?""",
        [builder.seq, truncated],
    )
    builder.rebuild()
    # incidents of D-3: a file of that day loaded before this failure, which therefore still blocks
    incidents_day = AS_OF - dt.timedelta(days=3)
    failed_incidents = builder.add_file("incidents", incidents_day, suffix="-x", status="failed")
    frame = {r["source"]: r for r in ingestion_health_frame(builder.con, settings, AS_OF).to_dict("records")}
    builder.con.close()
    assert frame["backups"]["files_failed"] == 0 and frame["backups"]["files_superseded"] == 1
    assert frame["incidents"]["files_failed"] == 1
    outcome = validate(settings, AS_OF, alert=False)
    assert _failed(outcome) == {"ingestion_health.no_failed_files"}
    notes = " | ".join(outcome.notes)
    assert (
        f"{truncated} (ingest_seq" in notes and "superseded by backups/resent/backups_again.jsonl (same bytes" in notes
    )

    # a later file of the same source and day loads
    builder = open_builder(settings)
    resent = builder.add_file("incidents", incidents_day, suffix="-resent")
    builder.con.close()
    outcome = validate(settings, AS_OF, alert=False)
    assert not outcome.critical_failed
    (note,) = [n for n in outcome.notes if failed_incidents in n]
    assert f"superseded by {resent} (same source and day" in note
    assert publish(settings, AS_OF).status == "published"
    (info,) = _rows(settings, "SELECT failed_files_cleared FROM published.scorecard_versions")
    cleared = {c["path"]: c for c in json.loads(info["failed_files_cleared"])}
    assert cleared[truncated]["how"] == "same bytes" and cleared[failed_incidents]["superseded_by"] == resent
