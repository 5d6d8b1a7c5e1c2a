"""Run expectation suites with GX Core on small pandas frames, and build the Data Docs site.

Why pandas: GX's SQL datasource against DuckDB returns N/A for expectations (upstream), and the frames
validated here are small (30 indicator rows, ~40 scorecard rows, 4 source rows), so each dataset is read from
DuckDB into a dataframe and validated through GX's pandas path (a dataframe asset, whole-dataframe batch).

The GX context is ephemeral (the suite files in ``expectations/`` are the source of truth, loaded every run),
except for its validation results store, kept on disk under ``<warehouse dir>/gx/validations`` so that the Data
Docs index lists the history of runs; the static Data Docs site is rebuilt in ``settings.data_docs_dir`` on every
run (the new result pages, the suites' pages and the index), then made to work with no network
(:mod:`transforms.quality.data_docs`: the CDN assets GX's pages load are served from the site folder). Only one
process validates at a time (the warehouse writer lock), so the stores are never written concurrently.

GX upstream quirks worked around here (GX 1.24.1, pandas 3.1):
- ``expect_column_distinct_values_to_equal_set`` returns ``observed_value: None`` by design since GX 1.x
  (GX PR #11614) and a failing one breaks the Data Docs renderer (KeyError 'unexpected_percent'); set equality
  is therefore written as in-set + unique + row count.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from transforms.quality.data_docs import assets_dir, make_offline
from transforms.quality.results import ExpectationResult
from transforms.quality.suites import (
    SUITE_NAMES,
    ExpectationSpec,
    SuiteSpec,
    load_suite,
    scale_parameters,
    suite_path,
)

log = logging.getLogger(__name__)

DATASOURCE = "riskcard"
SITE = "riskcard"
MAX_LISTED = 10  # unexpected rows named in an observed-value text


@dataclass(frozen=True)
class SuiteBatch:
    """One suite and the dataframe it validates, with the suite's parameter values (the likelihood scale's are added
    by :func:`run_suites` for every suite: :func:`transforms.quality.suites.scale_parameters`)."""

    suite: SuiteSpec
    frame: pd.DataFrame
    parameters: dict[str, Any]


def gx_project_dir(settings) -> Path:
    return Path(settings.warehouse_dir) / "gx"


def data_docs_index(settings) -> Path:
    return Path(settings.data_docs_dir) / "index.html"


def run_suites(
    settings, batches: list[SuiteBatch], run_id: str, run_time: dt.datetime
) -> tuple[list[ExpectationResult], Path]:
    """Validate each batch with GX, store the results in the GX project, update Data Docs.

    Returns the results (plain values, in suite-file order) and the Data Docs index page.
    """
    _quiet_gx_logging()
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

    context = _context(settings)
    datasource = context.data_sources.add_or_update_pandas(DATASOURCE)
    runs = []  # (suite spec, key columns, GX result identifier, GX suite result)
    for batch in batches:
        spec = batch.suite
        parameters = {**scale_parameters(), **batch.parameters}
        spec.check_parameters(parameters)
        suite = context.suites.add_or_update(gx.ExpectationSuite(**_suite_payload(spec)))
        asset = _asset(datasource, spec.name)
        batch_definition = _batch_definition(asset)
        definition = context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=spec.name, data=batch_definition, suite=suite)
        )
        keys = [c for c in spec.key_columns if c in batch.frame.columns]
        checkpoint = context.checkpoints.add_or_update(
            gx.Checkpoint(
                name=f"riskcard_{spec.name}",
                validation_definitions=[definition],
                actions=[],
                result_format={"result_format": "COMPLETE", "unexpected_index_column_names": keys},
            )
        )
        outcome = checkpoint.run(
            batch_parameters={"dataframe": batch.frame},
            expectation_parameters=parameters,
            run_id=RunIdentifier(run_name=run_id, run_time=run_time),
        )
        runs.extend((spec, keys, identifier, suite_result) for identifier, suite_result in outcome.run_results.items())
    # every suite file is in the (in-memory) suite store, so the Data Docs index lists all of them
    for name in SUITE_NAMES:
        if name not in {b.suite.name for b in batches} and suite_path(settings, name).exists():
            context.suites.add_or_update(gx.ExpectationSuite(**_suite_payload(load_suite(settings, name))))
    # one Data Docs build per run: the new result pages, the suites' pages, and the index of every stored run
    suite_ids = [ExpectationSuiteIdentifier(name=suite.name) for suite in context.suites.all()]
    try:
        context.build_data_docs(site_names=[SITE], resource_identifiers=[*(r[2] for r in runs), *suite_ids])
    except Exception:  # noqa: BLE001 - a rendering problem must not hide the validation result
        log.exception("building the Data Docs site in %s failed", settings.data_docs_dir)
    # GX's pages load their scripts and styles from CDNs: point them at the vendored copies (closed networks)
    try:
        make_offline(Path(settings.data_docs_dir), assets_dir(settings))
    except Exception:  # noqa: BLE001 - same: the site is a view of the results, never the result
        log.exception("making the Data Docs site in %s work offline failed", settings.data_docs_dir)
    results: list[ExpectationResult] = []
    for spec, keys, identifier, suite_result in runs:
        page = _page_url(context, identifier)
        by_name = {r.expectation_config.meta.get("name"): r for r in suite_result.results}
        results.extend(_to_result(spec, exp, by_name.get(exp.name), keys, page) for exp in spec.expectations)
    return results, data_docs_index(settings)


# ---- GX project -------------------------------------------------------------------------------------------------


def _quiet_gx_logging() -> None:
    for name in ("great_expectations", "great_expectations.core", "great_expectations.data_context"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _context(settings):
    """An ephemeral GX context (suites, checkpoints in memory: the suite files are the source of truth) whose
    validation results are kept on disk under ``<warehouse dir>/gx/validations`` so that the Data Docs index
    lists the history of runs. No great_expectations.yml to read or keep in sync."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    root = gx_project_dir(settings)
    root.mkdir(parents=True, exist_ok=True)
    defaults = InMemoryStoreBackendDefaults()
    stores = dict(defaults.stores)
    stores[defaults.validation_results_store_name] = {
        "class_name": "ValidationResultsStore",
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(root / "validations")},
    }
    config = DataContextConfig(
        stores=stores,
        expectations_store_name=defaults.expectations_store_name,
        validation_results_store_name=defaults.validation_results_store_name,
        checkpoint_store_name=defaults.checkpoint_store_name,
        data_docs_sites={
            SITE: {
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(settings.data_docs_dir),
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            }
        },
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def _asset(datasource, name: str):
    try:
        return datasource.get_asset(name)
    except LookupError:
        return datasource.add_dataframe_asset(name)


def _batch_definition(asset):
    try:
        return asset.get_batch_definition("whole_dataframe")
    except (KeyError, LookupError):
        return asset.add_batch_definition_whole_dataframe("whole_dataframe")


def _suite_payload(spec: SuiteSpec) -> dict[str, Any]:
    """The suite file as GX takes it (it is GX's own suite JSON; ids are GX's business)."""
    payload = {k: v for k, v in spec.raw.items() if k in ("name", "meta", "notes")}
    payload["expectations"] = []
    for exp in spec.raw["expectations"]:
        item = {k: v for k, v in exp.items() if k in ("type", "kwargs", "meta", "severity", "notes")}
        # Data Docs show the description in place of the rendered expectation: lead with the severity there
        item["description"] = f"[{exp['severity']}] {exp.get('description') or exp['meta']['name']}"
        payload["expectations"].append(item)
    return payload


def _page_url(context, identifier) -> str | None:
    try:
        urls = context.get_docs_sites_urls(resource_identifier=identifier, site_name=SITE)
    except Exception:  # noqa: BLE001 - a missing page link must not fail the validation
        log.debug("no Data Docs page for %s", identifier, exc_info=True)
        return None
    return urls[0].get("site_url") if urls else None


# ---- results into plain values ----------------------------------------------------------------------------------


def _to_result(
    spec: SuiteSpec, exp: ExpectationSpec, gx_result, keys: list[str], page: str | None
) -> ExpectationResult:
    if gx_result is None:  # GX dropped it (should not happen): never let that look like a pass
        return ExpectationResult(
            suite=spec.name,
            expectation=exp.name,
            type=exp.type,
            severity=exp.severity,
            success=False,
            observed="no result from Great Expectations",
            expected=describe_expected(exp.type, exp.kwargs),
            description=exp.description,
            data_docs_page=page,
        )
    kwargs = dict(gx_result.expectation_config.kwargs)
    result = dict(gx_result.result or {})
    info = gx_result.exception_info or {}
    raised = bool(info.get("raised_exception"))
    observed = f"error: {info.get('exception_message')}" if raised else describe_observed(result, keys)
    return ExpectationResult(
        suite=spec.name,
        expectation=exp.name,
        type=exp.type,
        severity=exp.severity,
        success=bool(gx_result.success) and not raised,
        observed=observed,
        expected=describe_expected(exp.type, kwargs),
        description=exp.description,
        details=_json_safe(_details(result)),
        data_docs_page=page,
    )


def _details(result: dict[str, Any]) -> dict[str, Any]:
    keep = ("observed_value", "element_count", "unexpected_count", "unexpected_percent", "missing_count")
    out = {k: result[k] for k in keep if k in result}
    if "unexpected_index_list" in result:
        out["unexpected_rows"] = list(result["unexpected_index_list"])[:50]
    elif "partial_unexpected_list" in result:
        out["unexpected_values"] = list(result["partial_unexpected_list"])[:50]
    return out


def describe_observed(result: dict[str, Any], keys: list[str]) -> str:
    """What the data showed, short and readable, naming the offending rows by their key columns."""
    rows = result.get("unexpected_index_list")
    if rows is None:
        rows = result.get("partial_unexpected_index_list")
    count = result.get("unexpected_count")
    if rows and isinstance(rows[0], dict):
        parts = [_row_text(row, keys) for row in rows[:MAX_LISTED]]
        more = len(rows) - MAX_LISTED
        text = "; ".join(parts) + (f"; ... (+{more} more)" if more > 0 else "")
        total = result.get("element_count")
        prefix = f"{count} of {total} rows" if total is not None else f"{count} rows"
        return f"{prefix}: {text}"
    if "observed_value" in result and result["observed_value"] is not None:
        return _value(result["observed_value"])
    if count:
        values = result.get("partial_unexpected_list") or []
        return f"{count} unexpected: " + ", ".join(_value(v) for v in values[:MAX_LISTED])
    if "element_count" in result:
        return f"{result.get('unexpected_count', 0)} of {result['element_count']} rows unexpected"
    return "-"


def _row_text(row: dict[str, Any], keys: list[str]) -> str:
    key = "/".join(_value(row[k]) for k in keys if k in row and not _missing(row[k]))
    rest = ", ".join(f"{k}={_value(v)}" for k, v in row.items() if k not in keys)
    return f"{key}: {rest}" if key else rest


def describe_expected(kind: str, kwargs: dict[str, Any]) -> str:
    """What the expectation asks, in one short line (resolved parameters, row condition, mostly)."""
    col = kwargs.get("column")
    lo, hi = kwargs.get("min_value"), kwargs.get("max_value")
    if kind in ("expect_column_values_to_be_between", "expect_column_sum_to_be_between"):
        subject = f"sum({col})" if kind == "expect_column_sum_to_be_between" else str(col)
        text = f"{subject} {_range(lo, hi, kwargs.get('strict_min'), kwargs.get('strict_max'))}"
    elif kind == "expect_table_row_count_to_equal":
        text = f"row count = {_value(kwargs.get('value'))}"
    elif kind == "expect_column_values_to_be_in_set":
        text = f"{col} in {_set(kwargs.get('value_set'))}"
    elif kind == "expect_column_values_to_not_be_in_set":
        text = f"{col} not in {_set(kwargs.get('value_set'))}"
    elif kind == "expect_column_values_to_not_be_null":
        text = f"{col} not null"
    elif kind == "expect_column_values_to_be_unique":
        text = f"{col} unique"
    elif kind == "expect_column_pair_values_a_to_be_greater_than_b":
        op = ">=" if kwargs.get("or_equal") else ">"
        text = f"{kwargs.get('column_A')} {op} {kwargs.get('column_B')}"
    elif kind == "expect_column_pair_values_to_be_equal":
        text = f"{kwargs.get('column_A')} = {kwargs.get('column_B')}"
    else:
        shown = {k: v for k, v in kwargs.items() if k not in ("batch_id", "result_format", "row_condition")}
        text = f"{kind}({', '.join(f'{k}={_value(v)}' for k, v in shown.items())})"
    condition = _condition(kwargs.get("row_condition"))
    if condition:
        text += f" where {condition}"
    mostly = kwargs.get("mostly")
    if mostly is not None and mostly < 1:
        text += f" (for at least {mostly:.0%} of rows)"
    return text


def _range(lo, hi, strict_lo, strict_hi) -> str:
    if lo is not None and hi is not None and not strict_lo and not strict_hi:
        return f"between {_value(lo)} and {_value(hi)}"
    parts = []
    if lo is not None:
        parts.append(f"{'>' if strict_lo else '>='} {_value(lo)}")
    if hi is not None:
        parts.append(f"{'<' if strict_hi else '<='} {_value(hi)}")
    return " and ".join(parts) or "any value"


def _set(values) -> str:
    values = list(values or [])
    shown = ", ".join(_value(v) for v in values[:8])
    if len(values) > 8:
        return f"the {len(values)} values {{{shown}, ...}}"
    return "{" + shown + "}"


def _condition(condition) -> str:
    if not condition:
        return ""
    if isinstance(condition, dict):
        kind = condition.get("type")
        if kind == "comparison":
            return f"{condition['column']['name']} {condition['operator']} {_value(condition['parameter'])}"
        if kind == "pass_through":
            return str(condition.get("pass_through_filter"))
        return json.dumps(condition, default=str)
    if hasattr(condition, "pass_through_filter"):
        return str(condition.pass_through_filter)
    return repr(condition)


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _value(value) -> str:
    if hasattr(value, "item") and not isinstance(value, (list, tuple, dict)):
        value = value.item()  # numpy scalar
    if _missing(value):
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        short = f"{value:.10g}"
        return short if float(short) == value else repr(value)  # never round a value into looking valid
    if isinstance(value, (list, tuple)):
        return "(" + ", ".join(_value(v) for v in value) + ")"
    return str(value)


def _json_safe(value):
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            value = value.item()
        except (TypeError, ValueError):
            return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)
