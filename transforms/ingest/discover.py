"""Finding the complete files under ``<landing>/<source>/**`` and deciding which of them are new.

A file counts as already ingested when its path, size and modification time match a manifest entry (files are
immutable by contract, so this needs no hashing: a no-op call over thousands of files stays fast), or when its
sha256 equals that of a loaded file (the same bytes under another name). Only the remaining files are hashed,
and only when they come up for loading (``load.load_files`` hashes the next file while this one is inserted).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from transforms import contract


@dataclass(frozen=True)
class LandedFile:
    source: str
    path: Path  # absolute
    rel_path: str  # relative to the landing root, '/'-separated: what the warehouse records
    size_bytes: int
    mtime_ns: int

    @property
    def format(self) -> str | None:
        return contract.format_of(self.path.name)


@dataclass
class KnownFiles:
    """What the manifest already holds."""

    stats: set[tuple[str, int, int]] = field(default_factory=set)  # (rel_path, size, mtime_ns), any status
    loaded: dict[str, str] = field(default_factory=dict)  # sha256 -> rel_path of loaded files

    def seen(self, f: LandedFile) -> bool:
        return (f.rel_path, f.size_bytes, f.mtime_ns) in self.stats


def find_landed_files(landing: Path, sources: tuple[str, ...] = contract.SOURCES) -> dict[str, list[LandedFile]]:
    """Complete files per source, in path order (date folders sort chronologically)."""
    found: dict[str, list[LandedFile]] = {}
    for source in sources:
        root = landing / source
        files = [
            LandedFile(
                source, Path(entry.path), Path(entry.path).relative_to(landing).as_posix(), st.st_size, st.st_mtime_ns
            )
            for entry, st in _walk(root)
        ]
        found[source] = sorted(files, key=lambda f: f.rel_path)
    return found


def _walk(root: Path) -> Iterator[tuple[os.DirEntry, os.stat_result]]:
    """Regular files below ``root``; hidden folders and in-progress names are skipped."""
    try:
        entries = list(os.scandir(root))
    except (FileNotFoundError, NotADirectoryError):
        return
    for entry in entries:
        if contract.is_in_progress(entry.name):
            continue
        if entry.is_dir(follow_symlinks=True):
            yield from _walk(Path(entry.path))
        elif entry.is_file(follow_symlinks=True):
            yield entry, entry.stat(follow_symlinks=True)


def sha256_of(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def unseen_files(files: list[LandedFile], known: KnownFiles) -> tuple[list[LandedFile], int]:
    """The files the manifest has not seen at this path, size and time, and how many it has.

    Whether an unseen file's bytes were already loaded is decided when it comes up for loading (``known.loaded``
    grows as the call loads files, so two new copies of the same bytes load once).
    """
    unseen = [f for f in files if not known.seen(f)]
    return unseen, len(files) - len(unseen)
