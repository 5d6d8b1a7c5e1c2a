"""The warehouse's hashing-key identity: a fingerprint of the customer-id key, checked at every ingest; re-keying.

Customer ids are stored as HMAC-SHA256(key, id). Hashes made with two keys never match, so a rotated key, or the
public demo key in a production warehouse, silently splits every customer in two (RP1, CO1, CO2 count distinct
customers). The warehouse therefore remembers which key made its hashes:

- ``raw.warehouse_identity`` holds one row: ``key_fingerprint`` = HMAC-SHA256(key, "riskcard-key-fingerprint-v1")
  in hex (a keyed hash of a constant: it identifies the key and reveals nothing of it), whether the warehouse was
  created in demo mode, and the previous fingerprint after a re-keying. It is written by the first ingest, in its
  own transaction before any file is loaded.
- :func:`check_key` runs at every ingest before any file is touched: another key is refused (the error names both
  short fingerprints and what to do), and the public demo key is refused in a warehouse not created in demo mode.
  A warehouse with rows but no fingerprint (made before fingerprints existed) adopts the configured key only when
  it reproduces the stored hashes of the latest ingested file still intact in the landing folder (without such a
  file: adopted with a warning, origin ``adopted_unverified``).
- :func:`rekey` rewrites every stored hash from the old key to the new one. An HMAC cannot be inverted, so the raw
  ids are read again from the landing files listed in ``raw.ingested_files`` (landing files are immutable; the
  manifest holds each one's path and sha256): every personal value is hashed with both keys, giving the map
  old hash -> new hash. It refuses as a whole, before writing anything, when a file is missing or its bytes
  changed, when the old key is not the warehouse's, or when a stored hash is not produced by the files; then it
  rewrites the raw change logs, the hashed values kept in ``raw.quarantine.raw_record``, any derived (dbt) table
  with a personal column, and the fingerprint, in one transaction: nothing is ever half re-keyed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from transforms.core import contract
from transforms.core.settings import DEMO_SECRET_KEY, Settings, SettingsError

log = logging.getLogger(__name__)

IDENTITY = "raw.warehouse_identity"
FINGERPRINT_MESSAGE = b"riskcard-key-fingerprint-v1"
SHORT = 12  # hex digits of a fingerprint shown in messages
IDENTITY_DDL = f"""
CREATE TABLE IF NOT EXISTS {IDENTITY} (
    key_fingerprint      VARCHAR     NOT NULL,  -- HMAC-SHA256(key, 'riskcard-key-fingerprint-v1') hex: never the key
    demo_mode            BOOLEAN     NOT NULL,  -- created (or last re-keyed) in demo mode (RISKCARD_DEMO=1)
    origin               VARCHAR     NOT NULL,  -- first_ingest | adopted (rows older than the fingerprint) | rekey
    created_at           TIMESTAMPTZ NOT NULL,
    rekeyed_at           TIMESTAMPTZ,           -- the last `riskcard rekey`
    previous_fingerprint VARCHAR                -- the key it replaced
)"""
_HASH = re.compile(r"[0-9a-f]{64}")


class KeyMismatch(SettingsError):
    """The configured hashing key is not the one this warehouse's customer hashes were made with."""


class RekeyRefused(RuntimeError):
    """`riskcard rekey` cannot rewrite every hash; nothing was changed."""


@dataclass(frozen=True)
class Identity:
    key_fingerprint: str
    demo_mode: bool
    origin: str
    created_at: dt.datetime
    rekeyed_at: dt.datetime | None
    previous_fingerprint: str | None


def _key_bytes(key: str | bytes) -> bytes:
    return key.encode() if isinstance(key, str) else key


def fingerprint(key: str | bytes) -> str:
    """HMAC-SHA256(key, "riskcard-key-fingerprint-v1") in hex: identifies a key without revealing it."""
    return hmac.new(_key_bytes(key), FINGERPRINT_MESSAGE, hashlib.sha256).hexdigest()


def short(fp: str) -> str:
    return fp[:SHORT]


def is_demo_key(key: str | bytes) -> bool:
    return hmac.compare_digest(_key_bytes(key), DEMO_SECRET_KEY.encode())


def read_identity(con: duckdb.DuckDBPyConnection) -> Identity | None:
    """The warehouse's key identity; None when it has none yet (no ingest since fingerprints exist)."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'raw' AND table_name = 'warehouse_identity'"
    ).fetchone()[0]
    if not exists:
        return None
    rows = con.execute(
        f"SELECT key_fingerprint, demo_mode, origin, created_at, rekeyed_at, previous_fingerprint FROM {IDENTITY}"
    ).fetchall()
    if len(rows) > 1:
        raise RuntimeError(f"{IDENTITY} holds {len(rows)} rows; it must hold exactly one")
    return Identity(*rows[0]) if rows else None


def _key_name(key: bytes) -> str:
    return "the public demo key" if is_demo_key(key) else "the configured key (RISKCARD_SECRET_KEY)"


def check_key(con: duckdb.DuckDBPyConnection, key: bytes, settings: Settings, landing: Path | None = None) -> Identity:
    """At ingest, before any file is touched: the key must be the warehouse's; a new warehouse records its key.

    Raises KeyMismatch (a SettingsError: `riskcard ingest` exits 2) for another key, or for the public demo key in a
    warehouse that was not created in demo mode. A warehouse with rows but no fingerprint (made before fingerprints
    existed) adopts the key once it reproduces the stored hashes of an ingested file under ``landing``.
    """
    identity = read_identity(con)
    fp = fingerprint(key)
    if identity is None:
        return _record_first(con, key, settings, Path(landing or settings.landing))
    if is_demo_key(key) and not identity.demo_mode:
        raise KeyMismatch(
            f"refusing to ingest with the public demo key: the warehouse {settings.warehouse} was not created in demo "
            f"mode (its key fingerprint is {short(identity.key_fingerprint)}, the demo key's is {short(fp)}). "
            "Set RISKCARD_SECRET_KEY to the warehouse's key. Nothing was ingested."
        )
    if not hmac.compare_digest(fp, identity.key_fingerprint):
        raise KeyMismatch(
            f"refusing to ingest: {_key_name(key)} has fingerprint {short(fp)}, but the customer ids in "
            f"{settings.warehouse} were hashed with the key of fingerprint {short(identity.key_fingerprint)}. "
            "Hashes of two keys never match, so every customer would be counted twice. Use the warehouse's key, or "
            "re-key the warehouse to the new key first: OLD_KEY='<the old key>' riskcard rekey --old-key-env OLD_KEY "
            "(see the README, 'Rotating the hashing key'). Nothing was ingested."
        )
    return identity


def _record_first(con: duckdb.DuckDBPyConnection, key: bytes, settings: Settings, landing: Path) -> Identity:
    """Record the key of a warehouse that has none yet (its own transaction, before any file is loaded)."""
    fp = fingerprint(key)
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    con.execute(IDENTITY_DDL)
    origin = "first_ingest"
    if _has_hashed_rows(con):
        origin = _adoption(con, key, settings, landing)
    now = dt.datetime.now(dt.UTC)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(
            f"INSERT INTO {IDENTITY} (key_fingerprint, demo_mode, origin, created_at) VALUES (?, ?, ?, ?)",
            [fp, bool(settings.demo), origin, now],
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return Identity(fp, bool(settings.demo), origin, now, None, None)


def _has_hashed_rows(con) -> bool:
    for source, columns in personal_columns().items():
        exists = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'raw' AND table_name = ?", [source]
        ).fetchone()[0]
        present = " OR ".join(f'"{c}" IS NOT NULL' for c in columns)
        if (
            exists
            and con.execute(f"SELECT count(*) FROM (SELECT 1 FROM raw.{source} WHERE {present} LIMIT 1)").fetchone()[0]
        ):
            return True
    return False


def _adoption(con, key: bytes, settings: Settings, landing: Path) -> str:
    """A warehouse with hashes but no fingerprint: the key is adopted when it reproduces the stored hashes of the
    latest ingested file still intact in the landing folder ("adopted"); with no such file, adopted with a warning
    ("adopted_unverified"). Raises KeyMismatch when it does not reproduce them."""
    for f, seq in _intact_files(con, landing, newest_first=True, limit=3):
        mine = _hashed_rows(f, key)
        names = personal_columns()[f.source]
        stored = {
            row: tuple(values)
            for row, *values in con.execute(
                f"SELECT _row_number, {', '.join(names)} FROM raw.{f.source} WHERE _ingest_seq = ?", [seq]
            ).fetchall()
        }
        compared = stored.keys() & mine.keys()
        if not compared:
            continue
        if all(stored[r] == mine[r] for r in compared):
            log.warning(
                "the warehouse %s had no key fingerprint (made before fingerprints existed): the configured key "
                "reproduces the stored hashes of %s, and its fingerprint %s is now recorded",
                settings.warehouse, f.rel_path, short(fingerprint(key)),
            )  # fmt: skip
            return "adopted"
        raise KeyMismatch(
            f"refusing to ingest: the warehouse {settings.warehouse} has no key fingerprint yet, and {_key_name(key)} "
            f"(fingerprint {short(fingerprint(key))}) does not reproduce the customer hashes stored from "
            f"{f.rel_path}: they were made with another key. Use that key (its fingerprint will be recorded), then "
            "re-key with `riskcard rekey` if it must change. Nothing was ingested."
        )
    log.warning(
        "the warehouse %s has customer hashes but no key fingerprint, and no ingested file is left under %s to check "
        "the configured key against: adopting its fingerprint %s unverified; if that is not the key the hashes were "
        "made with, re-key with `riskcard rekey`",
        settings.warehouse, landing, short(fingerprint(key)),
    )  # fmt: skip
    return "adopted_unverified"


def _hashed_rows(f: _File, key: bytes) -> dict[int, tuple]:
    """Row number -> the personal values hashed with ``key``, for the first batch of the file."""
    import polars as pl

    from transforms.ingest.pii import Pseudonymizer
    from transforms.ingest.readers import ROW_NUMBER, read_batches

    pseudonymizer = Pseudonymizer(key)
    try:
        batch = next(iter(read_batches(f.path, f.format)), None)
    except Exception:  # noqa: BLE001 - a file that no longer reads is no witness; the next one may be
        log.debug("key check: %s could not be read", f.rel_path, exc_info=True)
        return {}
    if batch is None or batch.is_empty():
        return {}
    names = personal_columns()[f.source]
    hashed = batch.select(
        ROW_NUMBER,
        *(pseudonymizer.expr(n) if n in batch.columns else pl.lit(None, pl.String).alias(n) for n in names),
    )
    return {row: tuple(values) for row, *values in hashed.iter_rows()}


# ---- re-keying ----------------------------------------------------------------------------------------------------


@dataclass
class RekeyReport:
    old_fingerprint: str
    new_fingerprint: str
    files_read: int = 0
    distinct_values: int = 0
    rows_rewritten: dict[str, int] = field(default_factory=dict)  # table -> rows whose hash was rewritten
    changed: bool = True

    def to_dict(self) -> dict:
        return {
            "old_fingerprint": short(self.old_fingerprint),
            "new_fingerprint": short(self.new_fingerprint),
            "files_read": self.files_read,
            "distinct_values": self.distinct_values,
            "rows_rewritten": dict(self.rows_rewritten),
            "changed": self.changed,
        }


def personal_columns() -> dict[str, list[str]]:
    """Source -> its personal (hashed) columns, for the sources that have any."""
    out = {s: [c.name for c in src.columns if c.personal] for s, src in contract.CONTRACT.items()}
    return {s: cols for s, cols in out.items() if cols}


def rekey(settings: Settings, old_key: str | bytes, landing: Path | None = None) -> RekeyReport:
    """Rewrite every customer hash of the warehouse from ``old_key`` to the configured key (see module docstring).

    Holds the writer lock; raises RekeyRefused (nothing changed) when it cannot rewrite every hash.
    """
    from transforms.core.warehouse import connect, writer_lock

    old_key = _key_bytes(old_key)
    if not old_key:
        raise RekeyRefused("the old key is empty")
    new_key = settings.hashing_key()
    root = Path(landing or settings.landing).expanduser().absolute()
    if not settings.warehouse.exists():
        raise RekeyRefused(f"no warehouse at {settings.warehouse}: nothing to re-key")
    with writer_lock(settings, what="riskcard rekey"):
        con = connect(settings)
        try:
            return _rekey(con, old_key, new_key, settings, root)
        finally:
            con.close()


def _rekey(con, old_key: bytes, new_key: bytes, settings: Settings, root: Path) -> RekeyReport:
    identity = read_identity(con)
    old_fp, new_fp = fingerprint(old_key), fingerprint(new_key)
    if identity is None:
        raise RekeyRefused(
            f"the warehouse {settings.warehouse} has no key fingerprint yet: run `riskcard ingest` once with the key "
            "its hashes were made with (it records that key), then re-key"
        )
    if not hmac.compare_digest(old_fp, identity.key_fingerprint):
        raise RekeyRefused(
            f"the old key (fingerprint {short(old_fp)}) is not the key of the warehouse (fingerprint "
            f"{short(identity.key_fingerprint)}): nothing was changed"
        )
    report = RekeyReport(old_fp, new_fp)
    if hmac.compare_digest(new_fp, identity.key_fingerprint):
        report.changed = False
        return report
    if is_demo_key(new_key) and not settings.demo:  # hashing_key() already refuses this; kept for clarity
        raise RekeyRefused("refusing to re-key to the public demo key outside demo mode")

    files = _landing_files(con, root)
    report.files_read = len(files)
    mapping = _hash_map(files, old_key, new_key)
    report.distinct_values = mapping.height
    con.register("__rekey_map_frame", mapping.to_arrow())
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE __rekey_map AS SELECT old, new FROM __rekey_map_frame")
    finally:
        con.unregister("__rekey_map_frame")
    targets = _hashed_columns(con)
    _refuse_unmapped(con, targets)

    con.execute("BEGIN TRANSACTION")
    try:
        for table, column in targets:
            n = con.execute(
                f'UPDATE {table} AS t SET "{column}" = m.new FROM __rekey_map AS m WHERE t."{column}" = m.old'
            ).fetchone()[0]
            report.rows_rewritten[f"{table}.{column}"] = n
        report.rows_rewritten["raw.quarantine.raw_record"] = _rekey_quarantine(con)
        con.execute(
            f"UPDATE {IDENTITY} SET key_fingerprint = ?, demo_mode = ?, origin = 'rekey', rekeyed_at = ?, "
            "previous_fingerprint = ?",
            [new_fp, bool(settings.demo), dt.datetime.now(dt.UTC), old_fp],
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        con.execute("DROP TABLE IF EXISTS __rekey_map")
    log.info(
        "re-keyed %s from key %s to %s: %d file(s) read, %s",
        settings.warehouse, short(old_fp), short(new_fp), report.files_read, report.rows_rewritten,
    )  # fmt: skip
    return report


@dataclass(frozen=True)
class _File:
    source: str
    path: Path
    rel_path: str
    format: str


def _loaded_files(con, root: Path, newest_first: bool = False, limit: int | None = None):
    """(file, ingest_seq, problem) for the loaded files of sources with personal columns; problem is None when the
    file is there with the bytes the manifest recorded."""
    from transforms.ingest.discover import sha256_of

    sources = list(personal_columns())
    rows = con.execute(
        "SELECT source, path, sha256, format, ingest_seq FROM raw.ingested_files WHERE status = 'loaded' "
        f"AND source IN ({', '.join('?' for _ in sources)}) ORDER BY ingest_seq {'DESC' if newest_first else ''}"
        + (f" LIMIT {int(limit)}" if limit else ""),
        sources,
    ).fetchall()
    for source, rel, sha, fmt, seq in rows:
        f = _File(source, root / rel, rel, fmt)
        try:
            actual = sha256_of(f.path)
        except FileNotFoundError:
            yield f, seq, "missing"
            continue
        except OSError as exc:
            yield f, seq, f"cannot be read ({exc.strerror or exc})"
            continue
        if actual != sha:
            yield f, seq, f"its bytes changed since it was ingested (sha256 {actual[:12]}, not {sha[:12]})"
            continue
        yield f, seq, None


def _intact_files(con, root: Path, newest_first: bool = False, limit: int | None = None):
    return [(f, seq) for f, seq, problem in _loaded_files(con, root, newest_first, limit) if problem is None]


def _landing_files(con, root: Path) -> list[_File]:
    """The loaded files of sources with personal columns, each checked to be there with the recorded bytes."""
    files, problems = [], []
    for f, _, problem in _loaded_files(con, root):
        if problem:
            problems.append(f"{f.rel_path}: {problem}")
        else:
            files.append(f)
    if problems:
        shown = "; ".join(problems[:10]) + (f"; and {len(problems) - 10} more" if len(problems) > 10 else "")
        raise RekeyRefused(
            f"cannot re-key: {len(problems)} ingested landing file(s) under {root} are not as they were loaded, and "
            f"the raw ids are only there ({shown}). Restore them (or point --landing at the archive); nothing was "
            "changed"
        )
    return files


def _hash_map(files: list[_File], old_key: bytes, new_key: bytes):
    """Every personal value of the files, as (old hash, new hash), one row per distinct value."""
    import polars as pl

    from transforms.ingest.pii import Pseudonymizer
    from transforms.ingest.readers import UnreadableFile, read_batches

    old, new = Pseudonymizer(old_key), Pseudonymizer(new_key)
    personal = personal_columns()
    parts: list[pl.DataFrame] = []
    for f in files:
        try:
            for batch in read_batches(f.path, f.format):
                for name in personal[f.source]:
                    if name not in batch.columns:
                        continue
                    pair = batch.select(old.expr(name).alias("old"), new.expr(name).alias("new"))
                    parts.append(pair.drop_nulls().unique())
        except UnreadableFile as exc:
            raise RekeyRefused(
                f"cannot re-key: {f.rel_path} can no longer be read ({exc}); nothing was changed"
            ) from None
        log.debug("rekey: read %s", f.rel_path)
    if not parts:
        return pl.DataFrame({"old": [], "new": []}, schema={"old": pl.String, "new": pl.String})
    return pl.concat(parts).unique(subset="old")


def _hashed_columns(con) -> list[tuple[str, str]]:
    """(table, column) of every base table holding hashed personal values: the raw change logs and derived tables."""
    names = sorted({c for cols in personal_columns().values() for c in cols})
    rows = con.execute(
        "SELECT c.table_schema, c.table_name, c.column_name FROM information_schema.columns AS c "
        "JOIN information_schema.tables AS t USING (table_catalog, table_schema, table_name) "
        "WHERE t.table_type = 'BASE TABLE' AND t.table_catalog = current_database() "
        f"AND c.column_name IN ({', '.join('?' for _ in names)}) AND c.data_type = 'VARCHAR' "
        "ORDER BY c.table_schema <> 'raw', c.table_schema, c.table_name",
        names,
    ).fetchall()
    return [(f'"{schema}"."{table}"', column) for schema, table, column in rows]


def _refuse_unmapped(con, targets: list[tuple[str, str]]) -> None:
    for table, column in targets:
        n, example = con.execute(
            f'SELECT count(*), any_value(t."{column}") FROM {table} AS t LEFT JOIN __rekey_map AS m '
            f'ON t."{column}" = m.old WHERE t."{column}" IS NOT NULL AND m.old IS NULL'
        ).fetchone()
        if n:
            hint = (
                " It is derived: rebuild it (`riskcard build`) and re-key again."
                if not table.startswith('"raw".')
                else ""
            )
            raise RekeyRefused(
                f"cannot re-key: {n} value(s) of {table}.{column} (e.g. {example[:12]}...) are not the old key's hash "
                f"of any value in the ingested landing files.{hint} Nothing was changed."
            )


def _rekey_quarantine(con) -> int:
    """Rewrite the hashed personal values kept in quarantine records; returns the records rewritten."""
    import polars as pl

    personal = personal_columns()
    rows = con.execute(
        "SELECT rowid, source, raw_record FROM raw.quarantine WHERE raw_record IS NOT NULL AND source IN "
        f"({', '.join('?' for _ in personal)})",
        list(personal),
    ).fetchall()
    wanted: dict[int, tuple[str, list[str]]] = {}
    for rowid, source, record in rows:
        try:
            values = json.loads(record)
        except ValueError:
            continue
        if not isinstance(values, dict):
            continue
        hashes = [v for k, v in values.items() if k in personal[source] and isinstance(v, str) and _HASH.fullmatch(v)]
        if hashes:
            wanted[rowid] = (record, hashes)
    if not wanted:
        return 0
    needed = pl.DataFrame({"old": sorted({h for _, hs in wanted.values() for h in hs})})
    con.register("__rekey_needed", needed.to_arrow())
    try:
        found = dict(
            con.execute("SELECT m.old, m.new FROM __rekey_needed AS n JOIN __rekey_map AS m USING (old)").fetchall()
        )
    finally:
        con.unregister("__rekey_needed")
    missing = needed.height - len(found)
    if missing:
        raise RekeyRefused(
            f"cannot re-key: {missing} hashed value(s) kept in raw.quarantine are not the old key's hash of any value "
            "in the ingested landing files. Nothing was changed."
        )
    out_ids, out_records = [], []
    for rowid, (record, hashes) in wanted.items():
        for h in set(hashes):
            record = record.replace(h, found[h])
        out_ids.append(rowid)
        out_records.append(record)
    frame = pl.DataFrame({"rid": out_ids, "raw_record": out_records}, schema={"rid": pl.Int64, "raw_record": pl.String})
    con.register("__rekey_quarantine", frame.to_arrow())
    try:
        con.execute(
            "UPDATE raw.quarantine SET raw_record = q.raw_record FROM __rekey_quarantine AS q "
            "WHERE raw.quarantine.rowid = q.rid"
        )
    finally:
        con.unregister("__rekey_quarantine")
    return len(out_ids)
