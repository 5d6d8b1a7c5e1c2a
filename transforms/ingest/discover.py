"""Finding the complete files under ``<landing>/<source>/**`` and deciding which of them are new.

A file counts as already ingested when its path, size and modification time match a manifest entry (files are
immutable by contract, so this needs no hashing: a no-op call over thousands of files stays fast), or when its
sha256 equals that of a loaded file (the same bytes under another name). Only the remaining files are hashed,
and only when they come up for loading (``load.load_files`` hashes the next file while this one is inserted).

Symbolic links are followed only while they stay inside the landing root: a link (to a file or a folder) that
leads out of it is not followed and comes back as a refused entry (rule ``symlink_outside_landing``, recorded as
failed); a folder reached a second time (a link loop, or two ways to one folder) is walked once. A folder that
cannot be listed comes back as a refused entry too, so that one bad folder never stops the call.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from transforms.core import contract

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LandedFile:
    source: str
    path: Path  # absolute
    rel_path: str  # relative to the landing root, '/'-separated: what the warehouse records
    size_bytes: int
    mtime_ns: int
    refusal: tuple[str, str] | None = None  # (contract.FILE_* rule, detail): refused without reading its bytes

    @property
    def format(self) -> str | None:
        return contract.format_of(self.path.name)


@dataclass
class KnownFiles:
    """What the manifest already holds."""

    stats: set[tuple[str, int, int]] = field(default_factory=set)  # (rel_path, size, mtime_ns), any status
    loaded: dict[str, str] = field(default_factory=dict)  # sha256 -> rel_path of loaded files
    paths: dict[str, str] = field(default_factory=dict)  # rel_path -> sha256 of its latest loaded version

    def seen(self, f: LandedFile) -> bool:
        return (f.rel_path, f.size_bytes, f.mtime_ns) in self.stats


def find_landed_files(landing: Path, sources: tuple[str, ...] = contract.SOURCES) -> dict[str, list[LandedFile]]:
    """Complete files per source, in path order (date folders sort chronologically), and refused entries."""
    real_root = os.path.realpath(landing)
    # the landing root and every source folder count as walked: a link back to one of them is not followed
    walked = {_identity(landing), *(_identity(landing / source) for source in contract.SOURCES)}
    walked.discard(None)
    found: dict[str, list[LandedFile]] = {}
    for source in sources:
        walker = _Walker(landing, real_root, source, set(walked))
        root = landing / source
        if os.path.islink(root) and not _inside(os.path.realpath(root), real_root):
            files = [walker.refused(root, _outside(root), contract.FILE_SYMLINK_OUTSIDE)]
        else:
            files = list(walker.walk(root))
        found[source] = sorted(files, key=lambda f: f.rel_path)
    return found


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _inside(real: str, real_root: str) -> bool:
    return real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep)


def _outside(link: Path) -> str:
    try:
        target = os.readlink(link)
    except OSError:
        target = "?"
    return (
        f"a symbolic link to {target}, which is outside the landing folder: breaks {contract.FILE_SYMLINK_OUTSIDE} "
        "(links are not followed out of the landing folder)"
    )


class _Walker:
    """The files below one source folder (hidden folders and in-progress names skipped), each folder once."""

    def __init__(self, landing: Path, real_root: str, source: str, walked: set):
        self.landing, self.real_root, self.source, self.walked = landing, real_root, source, walked

    def walk(self, folder: Path) -> Iterator[LandedFile]:
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except (FileNotFoundError, NotADirectoryError):
            return
        except OSError as exc:  # no permission, too many levels of links, ...
            yield self.refused(folder, f"cannot list this folder ({exc.strerror or type(exc).__name__})")
            return
        for entry in entries:
            if contract.is_in_progress(entry.name):
                continue
            path = Path(entry.path)
            try:
                if entry.is_symlink() and not _inside(os.path.realpath(path), self.real_root):
                    yield self.refused(path, _outside(path), contract.FILE_SYMLINK_OUTSIDE)
                elif entry.is_dir(follow_symlinks=True):
                    identity = _identity(path)
                    if identity is None or identity in self.walked:
                        log.warning("%s: a folder already walked (a link loop?); not walked again", path)
                        continue
                    self.walked.add(identity)
                    yield from self.walk(path)
                elif entry.is_file(follow_symlinks=True):
                    st = entry.stat(follow_symlinks=True)
                    yield LandedFile(self.source, path, self._rel(path), st.st_size, st.st_mtime_ns)
            except OSError as exc:  # vanished, a link loop on a file, ...
                if os.path.lexists(path):
                    yield self.refused(path, f"cannot be read ({exc.strerror or type(exc).__name__})")

    def refused(self, path: Path, detail: str, rule: str = contract.FILE_UNREADABLE) -> LandedFile:
        try:
            st = os.lstat(path)
            size, mtime = st.st_size, st.st_mtime_ns
        except OSError:
            size, mtime = 0, 0
        return LandedFile(self.source, path, self._rel(path), size, mtime, refusal=(rule, detail))

    def _rel(self, path: Path) -> str:
        return path.relative_to(self.landing).as_posix()


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
