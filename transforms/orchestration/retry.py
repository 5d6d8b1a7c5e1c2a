"""Which task failures Airflow retries: a held warehouse lock is retried with backoff, bad data fails at once.

Set on every task through transforms.orchestration.dag_defaults.task_defaults.
"""

from __future__ import annotations

from airflow.sdk import RetryDecision, RetryPolicy
from airflow.sdk.exceptions import AirflowFailException

# Exceptions by dotted class name, matched along the raised exception's MRO, so that parsing a DAG imports none
# of the modules that define them (publish, profiles, build pull in DuckDB, dbt, ...).
PERMANENT_ERRORS = frozenset({
    "transforms.orchestration.retry.DataQualityFailure",
    "transforms.orchestration.retry.InvalidRunRequest",
    "transforms.publishing.publish.PublishBlocked",
    "transforms.scoring.profiles.ProfileInvalid",
    "transforms.indicators.build.BuildFailed",
    "transforms.core.settings.SettingsError",
})  # fmt: skip
TRANSIENT_ERRORS = frozenset({"transforms.core.warehouse.WarehouseBusy"})
LOCK_MESSAGES = ("could not set lock on file", "conflicting lock is held")


class DataQualityFailure(AirflowFailException):
    """The data (or the weight profile) is not fit to publish. Retrying cannot help, so the task fails now."""


class InvalidRunRequest(AirflowFailException):
    """The run's params do not say which day to score (a retry would ask the same question)."""


class RiskcardRetryPolicy(RetryPolicy):
    """Retry a held warehouse lock (ours, or DuckDB's own file lock held by e.g. an analyst's tool); never retry
    bad data.

    First match wins: a transient error, or a DuckDB lock message anywhere in the error text -> retry (with the
    task's exponential backoff, within its ``retries``); a permanent error -> fail now; anything else -> Airflow's
    usual retries. (AirflowFailException, and so DataQualityFailure, always fails at once: Airflow does not even
    ask the policy.)
    """

    def evaluate(self, exception, try_number, max_tries, context=None) -> RetryDecision:
        names = {f"{c.__module__}.{c.__qualname__}" for c in type(exception).__mro__}
        text = str(exception).lower()
        if names & TRANSIENT_ERRORS or any(m in text for m in LOCK_MESSAGES):
            return RetryDecision.retry(reason=f"warehouse busy, retrying with backoff: {exception}")
        if names & PERMANENT_ERRORS:
            return RetryDecision.fail(reason=f"{type(exception).__name__} is not transient: no retry")
        return RetryDecision.default()
