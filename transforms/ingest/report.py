"""What one ingest call did: per-source counts, per-file outcomes, the exit status."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field

from transforms.core import contract

EXIT_OK = 0
EXIT_QUARANTINE = 3  # some rows or whole files were quarantined


@dataclass
class SourceSummary:
    files_new: int = 0  # files this call took up (loaded or failed); same-bytes duplicates are not new
    files_skipped: int = 0  # files already ingested (same path/size/time, or same bytes under another name)
    rows_in: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    files_failed: int = 0  # files refused whole (unreadable, unknown extension, missing column, ...)


@dataclass(frozen=True)
class FileResult:
    source: str
    path: str  # relative to the landing root
    sha256: str
    status: str  # 'loaded' | 'failed' | 'duplicate'
    rows_in: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    ingest_seq: int | None = None
    reason: str | None = None  # failed: why; duplicate: the path already loaded with these bytes
    rule: str | None = None  # failed: the contract.FILE_* rule
    extra_columns: str | None = None  # loaded: JSON list of the columns outside the contract (name, non_null_count)
    rewrite_of: str | None = None  # the sha256 loaded earlier at this path, when the file was rewritten in place


@dataclass
class IngestReport:
    run_id: str
    landing: str
    started_at: dt.datetime
    finished_at: dt.datetime | None = None
    sources: dict[str, SourceSummary] = field(default_factory=lambda: {s: SourceSummary() for s in contract.SOURCES})
    files: list[FileResult] = field(default_factory=list)  # the files this call took up or found duplicated

    def add(self, result: FileResult) -> None:
        self.files.append(result)
        summary = self.sources[result.source]
        if result.status == "duplicate":
            summary.files_skipped += 1
            return
        summary.files_new += 1
        summary.rows_in += result.rows_in
        summary.rows_loaded += result.rows_loaded
        summary.rows_quarantined += result.rows_quarantined
        summary.files_failed += result.status == "failed"

    @property
    def rows_loaded(self) -> int:
        return sum(s.rows_loaded for s in self.sources.values())

    @property
    def rows_quarantined(self) -> int:
        return sum(s.rows_quarantined for s in self.sources.values())

    @property
    def files_failed(self) -> int:
        return sum(s.files_failed for s in self.sources.values())

    @property
    def exit_code(self) -> int:
        return EXIT_QUARANTINE if self.rows_quarantined or self.files_failed else EXIT_OK

    def totals(self) -> SourceSummary:
        total = SourceSummary()
        for s in self.sources.values():
            for name, value in asdict(s).items():
                setattr(total, name, getattr(total, name) + value)
        return total

    def to_dict(self) -> dict:
        return {
            "run_id": self.run_id,
            "landing": self.landing,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "exit_code": self.exit_code,
            "sources": {name: asdict(s) for name, s in self.sources.items()},
            "totals": asdict(self.totals()),
            "files": [asdict(f) for f in self.files],
        }
