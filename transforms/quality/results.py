"""What a validation run found, in plain values (no GX objects), so that recording, alerting, the CLI and
publishing can use it without importing Great Expectations."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ExpectationResult:
    suite: str
    expectation: str  # the suite file's meta.name
    type: str  # the GX expectation type
    severity: str  # critical | warning
    success: bool
    observed: str  # what the data showed, readable ("complaints: quarantine_rate=0.05")
    expected: str  # what the expectation asks ("quarantine_rate < 0.01")
    description: str = ""
    details: dict[str, Any] = field(default_factory=dict)  # GX's result dict, JSON-safe
    data_docs_page: str | None = None

    @property
    def label(self) -> str:
        return f"{self.suite}.{self.expectation}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "suite": self.suite,
            "expectation": self.expectation,
            "type": self.type,
            "severity": self.severity,
            "success": self.success,
            "observed": self.observed,
            "expected": self.expected,
            "description": self.description,
            "data_docs_page": self.data_docs_page,
        }


@dataclass(frozen=True)
class ValidationOutcome:
    run_id: str
    as_of: dt.date
    suites: tuple[str, ...]
    started_at: dt.datetime
    finished_at: dt.datetime
    results: list[ExpectationResult]
    data_docs_index: Path | None
    notes: tuple[str, ...] = ()  # e.g. "marts.fct_leaf_indicators does not exist"
    # what was checked (data suites): the build whose mart rows these are, the ingest_seq up to which ingestion
    # health looked (that build's high-water mark), and the sha256 of the rows (transforms.quality.proof)
    build_id: str | None = None
    ingest_high_water: int | None = None
    indicator_rows_hash: str | None = None

    @property
    def failures(self) -> list[ExpectationResult]:
        return [r for r in self.results if not r.success]

    @property
    def critical_failures(self) -> list[ExpectationResult]:
        return [r for r in self.failures if r.severity == "critical"]

    @property
    def warning_failures(self) -> list[ExpectationResult]:
        return [r for r in self.failures if r.severity != "critical"]

    @property
    def critical_failed(self) -> bool:
        return bool(self.critical_failures)

    @property
    def success(self) -> bool:
        return not self.failures

    def counts(self) -> dict[str, int]:
        return {
            "evaluated": len(self.results),
            "passed": sum(r.success for r in self.results),
            "failed_critical": len(self.critical_failures),
            "failed_warning": len(self.warning_failures),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "as_of_date": self.as_of.isoformat(),
            "suites": list(self.suites),
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat(),
            "critical_failed": self.critical_failed,
            "publish_blocked": self.critical_failed,
            **self.counts(),
            "data_docs_index": str(self.data_docs_index) if self.data_docs_index else None,
            "notes": list(self.notes),
            "build_id": self.build_id,
            "ingest_high_water": self.ingest_high_water,
            "indicator_rows_hash": self.indicator_rows_hash,
            "failures": [r.to_dict() for r in self.failures],
            "results": [r.to_dict() for r in self.results],
        }
