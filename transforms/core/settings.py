"""One settings object for the CLI, the DAGs and the tests.

Sources, later ones win: built-in defaults < ``riskcard.toml`` (in the working directory, or the file named by
``RISKCARD_CONFIG``) < environment variables ``RISKCARD_<FIELD>`` (upper-case field name).
Relative paths are resolved against the working directory at load time.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import tomllib
import types
import warnings
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Union, get_args, get_origin, get_type_hints
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from transforms.core.contract import SOURCES

log = logging.getLogger(__name__)

ENV_PREFIX = "RISKCARD_"
PROJECT_DIR = Path(__file__).resolve().parents[2]
DEMO_SECRET_KEY = "riskcard-demo-key-not-for-production"
SECRET_FIELDS = {"secret_key", "smtp_password"}
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# The AHP weighting methods, their one list: transforms.scoring.ahp (METHODS) and the CLI import it from here, as
# core imports no stage and the setting ahp_method must be checked at load time.
AHP_METHODS = ("eigenvector", "geometric")


class SettingsError(ValueError):
    """A setting has a value the pipeline cannot work with."""


@dataclass(frozen=True)
class Settings:
    # storage
    warehouse: Path = Path("warehouse/riskcard.duckdb")
    landing: Path = Path("landing")
    # reference data and code locations (defaults: this checkout)
    project_dir: Path = PROJECT_DIR
    # time
    timezone: str = "Asia/Shanghai"
    window_days: int = 30
    working_hours_start: str = "09:00"
    working_hours_end: str = "17:00"
    working_days: str = "mon,tue,wed,thu,fri"
    # personal data
    secret_key: str | None = None
    demo: bool = False
    # data quality
    quarantine_rate_limit: float = 0.01
    # ingestion quarantines timestamps before this (ISO date or date-time; without an offset in `timezone`) or more
    # than one day after the ingestion time (rule implausible_timestamp)
    timestamp_min: str = "2000-01-01"
    freshness_days_transactions: int = 1
    freshness_days_complaints: int = 1
    freshness_days_backups: int = 1
    freshness_days_incidents: int = 7
    # scorecard
    profile: str = "default"
    ahp_method: str = "eigenvector"
    # sensitivity of every published version (`riskcard sensitivity`, transforms/scoring/sensitivity.py)
    sensitivity_draws: int = 10000  # Monte Carlo draws stored with each version (0: none stored)
    sensitivity_seed: int = 20261201  # the generator's seed: the same seed gives the same analysis, byte for byte
    sensitivity_judgments: bool = True  # judgments move on Saaty's scale (draws with CR >= 0.1 are redrawn)
    sensitivity_step_probability: float = 0.2  # chance that one judgment moves one Saaty step (half up, half down)
    sensitivity_method: bool = True  # eigenvector or geometric mean, even odds
    sensitivity_thresholds: bool = True  # each leaf's four thresholds scaled by one factor in ±range
    sensitivity_threshold_range: float = 0.10
    sensitivity_leave_one_out: bool = True  # each leaf left out in turn (its criterion's local weights renormalised)
    # the committee report (report.html / report.pdf of every version, `riskcard report`)
    report_records: int = 20  # contributing records per leaf in the report's drill-down (0: none)
    # what every publish writes into the version's snapshot: report.html and/or report.pdf (empty: no report; a
    # machine without pango, which the PDF needs, may keep "html" only)
    report_formats: tuple[str, ...] = ("html", "pdf")
    # alerts
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str = "riskcard@localhost"
    smtp_to: tuple[str, ...] = ()
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False  # STARTTLS even without a password (always when a password is set, see below)
    smtp_ssl: bool = False  # SMTPS: TLS from the first byte (usually port 465) instead of STARTTLS
    smtp_allow_plaintext_auth: bool = False  # send smtp_password without TLS (never by default)
    smtp_tls_ca_file: Path | None = None  # CA bundle to verify the mail server's certificate (default: system's)
    webhook_url: str | None = None
    alert_timeout_seconds: float = 10.0
    # orchestration
    ingest_schedule: str = "*/5 * * * *"
    scorecard_time: str = "02:00"
    writer_pool: str = "duckdb_writer"
    writer_queue: str = "default"  # Celery: the one worker queue whose host mounts the warehouse
    task_retries: int = 3  # Airflow retries on transient errors (lock held), exponential backoff
    retry_delay_seconds: float = 30.0  # first retry delay; doubles each try, capped at 30 min
    lock_timeout_seconds: float = 60.0
    # intraday monitoring (`riskcard monitor`, DAG riskcard_intraday; provisional, never published)
    breach_level: float = 0.8  # a provisional leaf level at or above it opens a KRI breach episode
    intraday_refresh_minutes: int = 15  # with nothing ingested, the provisional leaves are recomputed this often
    intraday_schedule: str = "*/15 * * * *"  # the timer that also checks staleness when no batch arrives
    stale_after_minutes_transactions: int = 60  # checked during working hours only (a quiet night is no outage)
    stale_after_minutes_complaints: int = 1440  # 24 h: complaints arrive daily
    stale_after_minutes_incidents: int = 10080  # 7 days, as freshness_days_incidents: incidents are rare
    stale_after_minutes_backups: int = 1560  # 26 h: one backup round a night, with two hours' slack

    # ---- derived locations -------------------------------------------------------------------------
    @property
    def warehouse_dir(self) -> Path:
        return self.warehouse.parent

    @property
    def lock_path(self) -> Path:
        return self.warehouse.with_name(self.warehouse.name + ".writer.lock")

    @property
    def published_dir(self) -> Path:
        return self.warehouse_dir / "published"

    @property
    def serving_db(self) -> Path:
        """Read-only copy analysts query while a load holds the writer lock."""
        return self.warehouse_dir / "serving" / "riskcard_serving.duckdb"

    @property
    def data_docs_dir(self) -> Path:
        return self.warehouse_dir / "data_docs"

    @property
    def seeds_dir(self) -> Path:
        return self.project_dir / "seeds"

    @property
    def dbt_project_dir(self) -> Path:
        return self.project_dir / "dbt_project"

    @property
    def expectations_dir(self) -> Path:
        return self.project_dir / "expectations"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def freshness_days(self, source: str) -> int:
        return getattr(self, f"freshness_days_{source}")

    def working_day_numbers(self) -> tuple[int, ...]:
        """ISO weekday numbers (Monday = 1) of the working days."""
        return tuple(WEEKDAYS.index(d) + 1 for d in _split_list(self.working_days))

    def in_working_hours(self, instant: dt.datetime) -> bool:
        """Is this instant inside working hours, in the bank's zone: a working day, at or after
        ``working_hours_start`` and before ``working_hours_end`` (which may be 24:00). The same rule as dbt's
        ``in_working_hours`` macro (dbt_project/macros/local_time.sql), for Python's own clock checks."""
        local = instant.astimezone(self.tz)
        seconds = local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6
        start, end = (_seconds_of_day(t) for t in (self.working_hours_start, self.working_hours_end))
        return local.isoweekday() in self.working_day_numbers() and start <= seconds < end

    def hashing_key(self) -> bytes:
        """The key for customer-id HMACs; the demo key only in demo mode, with a warning."""
        if self.secret_key == DEMO_SECRET_KEY and not self.demo:
            raise SettingsError(
                "RISKCARD_SECRET_KEY is the public demo key; it is only allowed with RISKCARD_DEMO=1. "
                "Set a secret key of your own."
            )
        if self.secret_key:
            return self.secret_key.encode()
        if self.demo:
            warnings.warn("RISKCARD_SECRET_KEY is not set: using the public demo key (demo mode only)", stacklevel=2)
            return DEMO_SECRET_KEY.encode()
        raise SettingsError(
            "RISKCARD_SECRET_KEY is not set. Set it (env or riskcard.toml secret_key) to hash customer ids; "
            "the built-in demo key is only allowed with RISKCARD_DEMO=1."
        )

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    def masked(self) -> dict[str, Any]:
        """The effective settings as plain values, secrets masked, for `riskcard config`."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in SECRET_FIELDS and value:
                value = "****"
            elif f.name == "webhook_url" and value:
                value = mask_url(value)
            out[f.name] = _plain(value)
        if not self.secret_key and self.demo:
            out["secret_key"] = "(unset: demo key in use)"
        for name in ("lock_path", "published_dir", "serving_db", "data_docs_dir", "seeds_dir", "dbt_project_dir"):
            out[name] = str(getattr(self, name))
        return out


def mask_url(url: str) -> str:
    """The URL with only its scheme, host and port shown: ``https://hooks.slack.com/***``.

    Chat webhooks carry their token in the path (Slack, Teams) or the query (DingTalk ``access_token``, WeCom
    ``key``), and some URLs carry credentials: all of these are hidden. The one masking function for printed
    settings and alert log lines.
    """
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(str(url))
        host = parts.hostname or ""
        port = parts.port
    except ValueError:  # not a URL we can take apart (e.g. a bad port): show nothing of it
        return "***"
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = ("***@" if "@" in parts.netloc else "") + host + (f":{port}" if port else "")
    hidden = parts.path not in ("", "/") or parts.query or parts.fragment
    prefix = f"{parts.scheme}://" if parts.scheme else ""
    return f"{prefix}{netloc}/***" if hidden else f"{prefix}{netloc}/"


def _plain(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return list(value)
    return value


def _split_list(text: str) -> list[str]:
    return [p.strip().lower() for p in str(text).split(",") if p.strip()]


def _to_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"not a boolean: {raw!r}")


def _to_tuple(raw: Any) -> tuple[str, ...]:
    """A TOML list as is; text (an environment variable) split at commas, blanks dropped, lower-cased."""
    if isinstance(raw, (list, tuple)):
        return tuple(str(x) for x in raw)
    return tuple(_split_list(raw)) if raw else ()


# How a value from riskcard.toml, the environment or an argument becomes a field's value, by the field's type.
_CONVERTERS: dict[Any, Callable[[Any], Any]] = {
    str: str,
    int: int,
    float: float,
    bool: _to_bool,
    Path: Path,
    tuple[str, ...]: _to_tuple,
}


@dataclass(frozen=True)
class _FieldType:
    convert: Callable[[Any], Any]
    optional: bool  # ``X | None``: an empty value means None


def _field_type(hint: Any) -> _FieldType:
    """The converter of a field's type hint (``X`` or ``X | None``); a type without one fails at import."""
    if get_origin(hint) in (Union, types.UnionType):
        (base,) = (arg for arg in get_args(hint) if arg is not type(None))
        return _FieldType(_CONVERTERS[base], optional=type(None) in get_args(hint))
    return _FieldType(_CONVERTERS[hint], optional=False)


_FIELD_TYPES = {name: _field_type(hint) for name, hint in get_type_hints(Settings).items()}


def _coerce(name: str, raw: Any, origin: str) -> Any:
    kind = _FIELD_TYPES[name]
    try:
        if raw is None or (kind.optional and str(raw) == ""):
            return None
        return kind.convert(raw)
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"setting {name} from {origin}: {exc}") from None


def _seconds_of_day(hh_mm: str) -> int:
    hh, _, mm = hh_mm.partition(":")
    return int(hh) * 3600 + int(mm) * 60


def _validate(s: Settings) -> Settings:
    try:
        ZoneInfo(s.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"setting timezone: unknown time zone {s.timezone!r}") from None
    if s.window_days < 1:
        raise SettingsError(f"setting window_days must be >= 1, got {s.window_days}")
    for name in ("working_hours_start", "working_hours_end", "scorecard_time"):
        value = getattr(s, name)
        hh, _, mm = value.partition(":")
        if not (hh.isdigit() and mm.isdigit() and 0 <= int(hh) <= 24 and 0 <= int(mm) < 60):
            raise SettingsError(f"setting {name} must be HH:MM, got {value!r}")
    for day in _split_list(s.working_days):
        if day not in WEEKDAYS:
            raise SettingsError(f"setting working_days: {day!r} is not one of {', '.join(WEEKDAYS)}")
    if not 0 <= s.quarantine_rate_limit <= 1:
        raise SettingsError("setting quarantine_rate_limit must be a fraction between 0 and 1")
    if s.smtp_ssl and s.smtp_starttls:
        raise SettingsError("settings smtp_ssl and smtp_starttls exclude each other: SMTPS is TLS from the start")
    try:
        dt.datetime.fromisoformat(s.timestamp_min)
    except ValueError:
        raise SettingsError(
            f"setting timestamp_min must be an ISO date or date-time, got {s.timestamp_min!r}"
        ) from None
    if s.ahp_method not in AHP_METHODS:
        raise SettingsError(f"setting ahp_method must be {' or '.join(AHP_METHODS)}")
    if s.sensitivity_draws < 0 or s.sensitivity_draws == 1:
        raise SettingsError(f"setting sensitivity_draws must be 0 (none) or at least 2, got {s.sensitivity_draws}")
    if not 0 <= s.sensitivity_step_probability <= 1:
        raise SettingsError(
            f"setting sensitivity_step_probability must lie in [0, 1], got {s.sensitivity_step_probability}"
        )
    if not 0 <= s.sensitivity_threshold_range < 1:
        raise SettingsError(
            f"setting sensitivity_threshold_range must lie in [0, 1), got {s.sensitivity_threshold_range}"
        )
    unknown = sorted(set(s.report_formats) - {"html", "pdf"})
    if unknown:
        raise SettingsError(f"setting report_formats takes html and/or pdf, got {', '.join(unknown)}")
    if s.report_records < 0:
        raise SettingsError(f"setting report_records must be 0 (no drill-down) or more, got {s.report_records}")
    if not 0 < s.breach_level <= 1:
        raise SettingsError(f"setting breach_level must be a likelihood level in (0, 1], got {s.breach_level}")
    for name in ("intraday_refresh_minutes", *(f"stale_after_minutes_{x}" for x in SOURCES)):
        if getattr(s, name) < 1:
            raise SettingsError(f"setting {name} must be at least 1 (minutes), got {getattr(s, name)}")
    return s


def load_settings(env: dict[str, str] | None = None, config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build the effective settings: defaults < riskcard.toml < RISKCARD_* environment < overrides."""
    env = dict(os.environ if env is None else env)
    values: dict[str, Any] = {}

    path = config_file or Path(env.get(f"{ENV_PREFIX}CONFIG", "riskcard.toml"))
    if path.exists():
        with path.open("rb") as fh:
            data = tomllib.load(fh)
        flat: dict[str, Any] = {}
        for key, value in data.items():
            if isinstance(value, dict):  # [alerts] smtp_host = ... is the same as smtp_host
                flat.update(value)
            else:
                flat[key] = value
        for key, value in flat.items():
            if key not in _FIELD_TYPES:
                raise SettingsError(f"{path}: unknown setting {key!r}")
            values[key] = _coerce(key, value, str(path))
    elif config_file is not None or f"{ENV_PREFIX}CONFIG" in env:
        raise SettingsError(f"config file {path} does not exist")

    for f in fields(Settings):
        key = ENV_PREFIX + f.name.upper()
        if key in env:
            values[f.name] = _coerce(f.name, env[key], key)

    for key, value in overrides.items():
        if value is not None:
            values[key] = _coerce(key, value, "argument")

    settings = Settings(**values)
    return _validate(
        settings.replace(
            warehouse=settings.warehouse.expanduser().absolute(),
            landing=settings.landing.expanduser().absolute(),
            project_dir=settings.project_dir.expanduser().absolute(),
        )
    )


__all__ = ["Settings", "SettingsError", "load_settings", "mask_url", "DEMO_SECRET_KEY", "PROJECT_DIR"]
