"""The landing-log contract (shared/design/log-contract.md) as data.

This module is the one place that says which sources, columns, types, enums and cross-column rules exist.
The generator writes exactly this; ingestion enforces exactly this; the raw-table DDL is derived from it.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

SOURCES: tuple[str, ...] = ("transactions", "complaints", "incidents", "backups")

# Accepted file endings, longest first so ".jsonl.gz" wins over ".gz".
FILE_FORMATS: dict[str, str] = {
    ".jsonl.gz": "jsonl",
    ".csv.gz": "csv",
    ".jsonl": "jsonl",
    ".csv": "csv",
    ".parquet": "parquet",
}
# Names a producer uses while it is still writing: never ingested.
IN_PROGRESS_SUFFIXES: tuple[str, ...] = (".tmp", ".part", ".partial", ".inprogress", ".crdownload")

SYSTEMS = (
    "online_banking",
    "mobile_banking",
    "payment_gateway",
    "core_banking",
    "auth_service",
    "sms_gateway",
    "data_center",
)

MONEY_PRECISION = 18
MONEY_SCALE = 2


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # "string" | "timestamp" | "enum" | "decimal" | "bool" | "int"
    nullable: bool = False
    enum: tuple[str, ...] = ()
    min_value: int | None = None  # for decimal / int: lower bound (inclusive)
    personal: bool = False  # replaced by a keyed hash before it reaches the warehouse

    @property
    def duckdb_type(self) -> str:
        return {
            "string": "VARCHAR",
            "enum": "VARCHAR",
            "timestamp": "TIMESTAMPTZ",
            "decimal": f"DECIMAL({MONEY_PRECISION},{MONEY_SCALE})",
            "bool": "BOOLEAN",
            "int": "BIGINT",
        }[self.kind]


@dataclass(frozen=True)
class OrderRule:
    """``later`` must be >= ``earlier`` whenever both are present."""

    later: str
    earlier: str

    @property
    def rule(self) -> str:
        return f"{self.later}_not_before_{self.earlier}"


@dataclass(frozen=True)
class Source:
    name: str
    key: str
    columns: tuple[Column, ...]
    order_rules: tuple[OrderRule, ...] = field(default_factory=tuple)
    # The timestamp that places an entity in an indicator window (indicators.md, "state as of D").
    event_time: str = ""

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


def _enum(name: str, values: tuple[str, ...], nullable: bool = False) -> Column:
    return Column(name, "enum", nullable=nullable, enum=values)


TRANSACTIONS = Source(
    name="transactions",
    key="txn_id",
    event_time="event_at",
    columns=(
        Column("txn_id", "string"),
        Column("updated_at", "timestamp"),
        Column("event_at", "timestamp"),
        Column("customer_id", "string", personal=True),
        _enum("channel", ("web", "mobile", "wechat", "open_api")),
        _enum("txn_type", ("online_payment", "remittance", "unionpay_debit", "atm_pos", "other")),
        Column("amount", "decimal", min_value=0),
        _enum("status", ("success", "failed", "reversed")),
        _enum(
            "failure_reason",
            ("insufficient_funds", "auth_failed", "system_error", "operator_error", "risk_blocked", "other"),
            nullable=True,
        ),
        _enum("auth_method", ("password", "sms_otp", "usb_key", "biometric")),
        Column("new_device", "bool"),
        Column("risk_flag", "bool"),
        Column("fraud_confirmed", "bool"),
    ),
)

COMPLAINTS = Source(
    name="complaints",
    key="complaint_id",
    event_time="opened_at",
    columns=(
        Column("complaint_id", "string"),
        Column("updated_at", "timestamp"),
        Column("opened_at", "timestamp"),
        Column("customer_id", "string", personal=True),
        _enum(
            "category",
            (
                "unauthorized_txn",
                "fraud_scam",
                "privacy_leak",
                "service_unavailable",
                "fee_dispute",
                "operation_error",
                "other",
            ),
        ),
        _enum("channel", ("branch", "phone", "online", "regulator", "media")),
        Column("txn_id", "string", nullable=True),
        Column("first_response_at", "timestamp", nullable=True),
        Column("closed_at", "timestamp", nullable=True),
        _enum("resolution", ("open", "resolved", "compensated", "rejected", "litigation")),
        Column("claimed_amount", "decimal", nullable=True, min_value=0),
        Column("compensated_amount", "decimal", nullable=True, min_value=0),
    ),
    order_rules=(OrderRule("closed_at", "opened_at"),),
)

INCIDENTS = Source(
    name="incidents",
    key="incident_id",
    event_time="started_at",
    columns=(
        Column("incident_id", "string"),
        Column("updated_at", "timestamp"),
        _enum("system", SYSTEMS),
        Column("customer_facing", "bool"),
        Column("planned", "bool"),
        _enum(
            "cause",
            (
                "hardware",
                "software_defect",
                "change_failure",
                "operator_error",
                "network",
                "power",
                "vendor",
                "intrusion",
                "ddos",
                "malware",
            ),
        ),
        Column("vendor", "string", nullable=True),
        _enum("severity", ("minor", "major", "critical")),
        Column("started_at", "timestamp"),
        Column("detected_at", "timestamp"),
        Column("escalated_at", "timestamp", nullable=True),
        Column("resolved_at", "timestamp", nullable=True),
        Column("regulator_reported_at", "timestamp", nullable=True),
        Column("loss_event", "bool"),
        Column("review_completed_at", "timestamp", nullable=True),
        Column("recurrence_of", "string", nullable=True),
    ),
    order_rules=(OrderRule("detected_at", "started_at"), OrderRule("resolved_at", "started_at")),
)

BACKUPS = Source(
    name="backups",
    key="backup_id",
    event_time="scheduled_at",
    columns=(
        Column("backup_id", "string"),
        Column("updated_at", "timestamp"),
        _enum("system", SYSTEMS),
        _enum("backup_type", ("full", "incremental", "log")),
        Column("scheduled_at", "timestamp"),
        Column("started_at", "timestamp", nullable=True),
        Column("finished_at", "timestamp", nullable=True),
        _enum("status", ("success", "partial", "failed", "skipped")),
        Column("size_bytes", "int", nullable=True, min_value=0),
        Column("offsite_copy", "bool"),
        Column("restore_tested", "bool"),
        Column("restore_ok", "bool", nullable=True),
    ),
)

CONTRACT: dict[str, Source] = {s.name: s for s in (TRANSACTIONS, COMPLAINTS, INCIDENTS, BACKUPS)}

# Per-row ingestion metadata columns every raw table carries (after the contract columns).
RAW_METADATA_COLUMNS: tuple[tuple[str, str], ...] = (
    # Always NULL: values of columns outside the contract never reach the warehouse (they may be personal data the
    # pipeline was not told about). Kept so that existing warehouses and every writer of raw tables keep one layout;
    # the names and non-null counts of such columns are in raw.ingested_files.extra_columns.
    ("_extra", "VARCHAR"),
    ("_file_sha256", "VARCHAR"),
    ("_file_path", "VARCHAR"),
    ("_row_number", "BIGINT"),  # 1-based data row number within the file (header not counted)
    ("_ingest_run_id", "VARCHAR"),
    ("_ingested_at", "TIMESTAMPTZ"),
    ("_ingest_seq", "BIGINT"),  # increases with every ingested file: "later-ingested file" for tie-breaks
)


def raw_table_ddl(source: str, schema: str = "raw") -> str:
    """CREATE TABLE for the append-only change log of one source."""
    src = CONTRACT[source]
    cols = [f"    {c.name} {c.duckdb_type}{_storage(src, c)}" for c in src.columns]
    cols += [f"    {name} {kind}" for name, kind in RAW_METADATA_COLUMNS]
    return f"CREATE TABLE IF NOT EXISTS {schema}.{source} (\n" + ",\n".join(cols) + "\n)"


# Storage of two kinds of near-unique text, chosen for ingestion speed (figures: CPU-seconds to insert and MB per
# million values, DuckDB 2.0, benchmarks/bench_ingest.py measures the whole effect):
# - a personal column holds an HMAC in hex, random by construction: DuckDB's default string compression
#   (dictionary + FSST) wins back only the hex alphabet (about 2:1) and spends a third of the whole insert finding
#   that out (0.65 CPU-s, 35 MB vs 0.13 CPU-s, 66 MB uncompressed). Stored uncompressed: ~31 more bytes a row.
# - an entity key (txn_id, ...) is unique per version: dictionary encoding cannot help, and ZSTD is both cheaper
#   and smaller than FSST on such ids (0.10 CPU-s, 6.5 MB vs 0.21 CPU-s, 7.0 MB for 12-character ids).
PERSONAL_STORAGE = " USING COMPRESSION uncompressed"
KEY_STORAGE = " USING COMPRESSION zstd"


def _storage(source: Source, column: Column) -> str:
    if column.personal:
        return PERSONAL_STORAGE
    return KEY_STORAGE if column.name == source.key else ""


def format_of(filename: str) -> str | None:
    """The contract format of a file name, or None when the ending is not accepted."""
    lower = filename.lower()
    for suffix, fmt in FILE_FORMATS.items():
        if lower.endswith(suffix):
            return fmt
    return None


def is_in_progress(filename: str) -> bool:
    """A producer is still writing this file (temporary name or dot-file)."""
    lower = filename.lower()
    return filename.startswith(".") or lower.endswith(IN_PROGRESS_SUFFIXES)


# ---- rule names: ingestion writes them to raw.quarantine, the generator's bad-row report uses the same ----------
RULE_REQUIRED = "required"  # value missing/empty in a non-nullable column (includes a missing key)
RULE_TIMESTAMP = "timestamp"  # not an ISO 8601 timestamp (or a leap second :60, which no stored type can hold)
RULE_ENUM = "enum"  # not one of the column's enum values
RULE_DECIMAL = "decimal"  # not a decimal number
RULE_DECIMAL_SCALE = "decimal_scale"  # more than MONEY_SCALE decimal places (money must be exact)
RULE_NON_NEGATIVE = "non_negative"  # below the column's min_value
RULE_BOOL = "bool"  # not a boolean (true/false, 1/0)
RULE_INTEGER = "integer"  # not a whole number
RULE_TIME_ORDER = "time_order"  # an OrderRule broken; the column named is the later one (e.g. detected_at)
# The value rules the demo generator's --bad-rows injects (one of each per source where it applies).
ROW_RULES = (
    RULE_REQUIRED,
    RULE_TIMESTAMP,
    RULE_ENUM,
    RULE_DECIMAL,
    RULE_DECIMAL_SCALE,
    RULE_NON_NEGATIVE,
    RULE_BOOL,
    RULE_INTEGER,
    RULE_TIME_ORDER,
)
# Row rules ingestion also enforces (not injected by the generator):
RULE_IMPLAUSIBLE_TIMESTAMP = "implausible_timestamp"  # before settings.timestamp_min or > 1 day after ingestion
RULE_TYPE = "type"  # JSON Lines: a personal column whose value is not a JSON string (a number, boolean, list, ...)
RULE_DUPLICATE_KEY = "duplicate_key"  # JSON Lines: a key appears twice in one line (which value counts is ambiguous)
ALL_ROW_RULES = ROW_RULES + (RULE_IMPLAUSIBLE_TIMESTAMP, RULE_TYPE, RULE_DUPLICATE_KEY)

# file-level failures (the whole file is refused, recorded in the manifest and in quarantine with no row number)
FILE_UNKNOWN_EXTENSION = "unknown_extension"
FILE_UNREADABLE = "unreadable"  # truncated or not gzip, broken Parquet, malformed CSV or JSON, unreadable file
FILE_MISSING_COLUMN = "missing_column"
# The file rules the demo generator's --bad-rows produces.
FILE_RULES = (FILE_UNKNOWN_EXTENSION, FILE_UNREADABLE, FILE_MISSING_COLUMN)
# File rules ingestion also enforces:
FILE_EMPTY = "empty"  # a CSV file with no bytes at all (not even a header row); an empty JSON Lines file loads 0 rows
FILE_ENCODING = "encoding"  # text that is not UTF-8 (e.g. UTF-16, Latin-1): names the line or row where known
FILE_DUPLICATE_COLUMN = "duplicate_column"  # a CSV header with the same column twice (any column): ambiguous
FILE_PERSONAL_COLUMN_VARIANT = "personal_column_variant"  # e.g. Customer_ID, customer id, customerId
FILE_SYMLINK_OUTSIDE = "symlink_outside_landing"  # a symbolic link that leads out of the landing root: not followed
FILE_INTERNAL_ERROR = "internal_error"  # an unexpected error while reading or checking this file (the others go on)
ALL_FILE_RULES = FILE_RULES + (
    FILE_EMPTY,
    FILE_ENCODING,
    FILE_DUPLICATE_COLUMN,
    FILE_PERSONAL_COLUMN_VARIANT,
    FILE_SYMLINK_OUTSIDE,
    FILE_INTERNAL_ERROR,
)

# Values kept in a quarantine record (raw.quarantine.raw_record) are cut to this many characters and end with the
# marker when cut; so are column names recorded in the manifest (raw.ingested_files.extra_columns).
QUARANTINE_VALUE_CHARS = 200
QUARANTINE_CUT_MARKER = "...[cut]"


def normalised_name(name: str) -> str:
    """A column name compared for spelling variants: NFKC, case-folded, only letters and digits kept
    (``Customer_ID``, ``customer id``, ``customerId`` and ``ＣＵＳＴＯＭＥＲ＿ＩＤ`` all give ``customerid``)."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", name).casefold() if ch.isalnum())


def personal_variant_of(source: Source, name: str) -> str | None:
    """The personal contract column ``name`` is a case or spelling variant of (never the exact name), or None."""
    if name in source.column_names:
        return None
    wanted = normalised_name(name)
    for column in source.columns:
        if column.personal and normalised_name(column.name) == wanted:
            return column.name
    return None
