"""Data validation with Great Expectations: suites in ``expectations/``, severities, recording and alerts.

Public API (importing this package does not import Great Expectations; that happens when a suite runs):

- ``validate(settings, as_of, run_id=None, alert=True) -> ValidationOutcome``
- ``ValidationOutcome`` (``.run_id``, ``.as_of``, ``.critical_failed``, ``.failures``, ``.results``,
  ``.data_docs_index``, ``.to_dict()``) and ``ExpectationResult``
- ``run_data_suites`` / ``run_scorecard_suite`` for callers that already hold the writer lock (publishing)
"""

from transforms.quality.results import ExpectationResult, ValidationOutcome
from transforms.quality.run import new_run_id, run_data_suites, run_scorecard_suite, validate
from transforms.quality.suites import SuiteFileError, load_suite

__all__ = [
    "ExpectationResult",
    "SuiteFileError",
    "ValidationOutcome",
    "load_suite",
    "new_run_id",
    "run_data_suites",
    "run_scorecard_suite",
    "validate",
]
