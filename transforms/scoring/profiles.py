"""Weight profiles: which judgments (or, as a labelled override, which explicit weights) give the criterion and
leaf weights of a scorecard.

A profile is a TOML file ``seeds/ahp/profiles/<name>.toml``::

    name = "default"              # must match the file name
    method = "eigenvector"        # optional; "eigenvector" or "geometric"
    override = false              # must be true exactly when the profile gives explicit weights
    [criteria]
    matrix = "../criterion_matrix.csv"            # one judgment matrix, path relative to the profile, or
    # experts = ["../a.csv", "../b.csv"]          # several experts' matrices, aggregated by AIJ, or
    # weights = { u1 = 0.121, ... }               # explicit weights (an override), or weights = "equal"
    # ri = 1.60                                   # random index, needed only for n > 15
    [leaves]
    u1 = { matrix = "../leaves/u1_leaves.csv" }   # one entry per criterion, same forms as [criteria]

The method is, in order of precedence: the ``method`` argument, the profile's ``method``, ``settings.ahp_method``.
Any invalid matrix (defects or CR >= 0.1, per expert or aggregated) makes the whole profile invalid:
``load_profile`` raises ProfileInvalid naming the matrix and its CR. There is no fallback to equal weights.
"""

from __future__ import annotations

import hashlib
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from transforms.indicators.catalogue import Catalogue, load_catalogue
from transforms.scoring.ahp import (
    CR_LIMIT,
    METHODS,
    AhpResult,
    JudgmentMatrix,
    MatrixError,
    analyse_experts,
    check_method,
    read_matrix,
)
from transforms.scoring.repair import with_revisions

PROFILES_SUBDIR = Path("ahp") / "profiles"
EXPLICIT = "explicit"  # the method name of a profile whose weights are all given explicitly
WEIGHT_SUM_TOL = 1e-9  # explicit weights must sum to 1 this closely (the scorecard's own check)
_TOP_KEYS = {"name", "description", "method", "override", "criteria", "leaves"}
_SPEC_FORMS = ("matrix", "experts", "weights")


class ProfileInvalid(ValueError):
    """A weight profile cannot be used: the message names each invalid matrix and its CR, or the defect."""

    def __init__(self, message: str, problems: list[str] | None = None, results: list[AhpResult] | None = None):
        super().__init__(message)
        self.problems = problems or [message]
        self.results = results or []


@dataclass(frozen=True)
class WeightProfile:
    name: str
    method: str  # "eigenvector" | "geometric" | "explicit" (no matrix at all)
    override: bool  # some weights are given explicitly instead of derived from judgments
    criterion_weights: dict[str, float]
    local_weights: dict[str, dict[str, float]]  # criterion_id -> {indicator_id: local weight}
    content_hash: str
    checks: list[AhpResult]
    path: Path | None = None
    description: str = ""
    explicit: tuple[str, ...] = ()  # which comparisons are explicit: "criteria", "leaves of u3", ...
    # the AHP analysis behind each derived comparison: "criteria" or a criterion id (its leaves) -> its result
    # (judgments, RI, weights); an explicit comparison has none. The sensitivity analysis perturbs these.
    judgments: dict[str, AhpResult] = field(default_factory=dict)

    @property
    def global_weights(self) -> dict[str, float]:
        """indicator_id -> criterion weight x local weight (sums to 1)."""
        return {
            leaf: self.criterion_weights[crit] * w
            for crit, leaves in self.local_weights.items()
            for leaf, w in leaves.items()
        }

    @property
    def label(self) -> str:
        """The profile as every output names it; an override says so."""
        if self.override:
            leaves = [e for e in self.explicit if e.startswith("leaves of ")]
            parts = [e for e in self.explicit if not e.startswith("leaves of ")]
            if leaves and len(leaves) == len(self.local_weights):
                parts.append("all leaves")
            elif leaves:
                parts.append("leaves of " + ", ".join(e.removeprefix("leaves of ") for e in leaves))
            return f"{self.name} [OVERRIDE: explicit weights for {' and '.join(parts)}, not derived by AHP]"
        return f"{self.name} ({self.method})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "profile": self.name,
            "label": self.label,
            "method": self.method,
            "override": self.override,
            "explicit": list(self.explicit),
            "description": self.description,
            "path": str(self.path) if self.path else None,
            "content_hash": self.content_hash,
            "criterion_weights": self.criterion_weights,
            "local_weights": self.local_weights,
            "global_weights": self.global_weights,
            "checks": [r.to_dict() for r in self.checks],
        }


@dataclass
class ProfileCheck:
    """Everything known about a profile, valid or not (what `riskcard ahp check PROFILE` prints)."""

    name: str
    path: Path
    method: str
    override: bool
    results: list[AhpResult] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    profile: WeightProfile | None = None

    @property
    def valid(self) -> bool:
        return not self.problems and self.profile is not None


def profile_path(name_or_path: str | Path, settings) -> Path:
    """A profile name (``default``) -> ``seeds/ahp/profiles/default.toml``; a path to a .toml file as is."""
    text = str(name_or_path)
    candidate = Path(text)
    if text.endswith(".toml") or "/" in text or "\\" in text:
        return candidate if candidate.is_absolute() else candidate.absolute()
    return settings.seeds_dir / PROFILES_SUBDIR / f"{text}.toml"


def available_profiles(settings) -> list[str]:
    return sorted(p.stem for p in (settings.seeds_dir / PROFILES_SUBDIR).glob("*.toml"))


def load_profile(
    name_or_path: str | Path, settings, method: str | None = None, catalogue: Catalogue | None = None
) -> WeightProfile:
    """The validated profile; raises ProfileInvalid naming every invalid matrix (with its CR) or defect."""
    check = check_profile(name_or_path, settings, method=method, catalogue=catalogue)
    if not check.valid:
        raise ProfileInvalid(
            f"weight profile {check.name!r} ({check.path}) is invalid, nothing may be published with it:\n  - "
            + "\n  - ".join(check.problems),
            problems=check.problems,
            results=check.results,
        )
    assert check.profile is not None
    return check.profile


def check_profile(
    name_or_path: str | Path, settings, method: str | None = None, catalogue: Catalogue | None = None
) -> ProfileCheck:
    """Read a profile and analyse every matrix it uses; never raises for bad content (see ``problems``).

    The problems come in this order: the file's top-level keys, the criteria's comparison, the [leaves] table and
    each criterion's leaves (catalogue order), then whether the profile is labelled as an override rightly."""
    if method is not None:
        check_method(method)
    path = profile_path(name_or_path, settings)
    raw, doc, unreadable = _read_profile(path, settings)
    if unreadable is not None:
        return ProfileCheck(path.stem, path, method or settings.ahp_method, override=False, problems=[unreadable])
    catalogue = catalogue or load_catalogue(settings)
    criteria_ids = catalogue.criterion_ids

    header = _header(path, doc, method, settings)
    criteria = _comparison(path, "criteria", doc.get("criteria"), criteria_ids, header.method, settings)
    leaves = _leaves(path, doc.get("leaves"), catalogue, header.method, settings)
    comparisons = [criteria, *leaves.comparisons.values()]
    explicit = [c.label for c in comparisons if c.form == "weights"]
    problems = [
        *header.problems,
        *criteria.problems,
        *leaves.problems,
        *_override_problems(path, explicit, header.declared_override),
    ]
    used_matrix = any(c.form not in (None, "weights") for c in comparisons)
    check = ProfileCheck(
        name=path.stem,
        path=path,
        method=header.method if used_matrix else EXPLICIT,
        override=bool(explicit),
        results=[c.result for c in comparisons if c.result is not None],
        problems=problems,
    )
    local_weights = {cid: c.weights for cid, c in leaves.comparisons.items() if c.weights is not None}
    if problems or criteria.weights is None or len(local_weights) != len(criteria_ids):
        return check

    profile = WeightProfile(
        name=check.name,
        method=check.method,
        override=check.override,
        criterion_weights=criteria.weights,
        local_weights=local_weights,
        content_hash=_content_hash(check.method, raw, [f for c in comparisons for f in c.files]),
        checks=list(check.results),
        path=path,
        description=str(doc.get("description", "")),
        explicit=tuple(explicit),
        judgments={
            key: c.result
            for key, c in (("criteria", criteria), *leaves.comparisons.items())
            if c.result is not None and c.form != "weights"
        },
    )
    total = sum(profile.global_weights.values())
    if abs(total - 1) > WEIGHT_SUM_TOL:  # cannot happen with normalised parts; guard the invariant anyway
        check.problems.append(f"{path}: the {len(profile.global_weights)} global leaf weights sum to {total!r}, not 1")
        return check
    check.profile = profile
    return check


def _read_profile(path: Path, settings) -> tuple[bytes, dict[str, Any], str | None]:
    """The profile's bytes and TOML document, or why it cannot be read."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        known = ", ".join(available_profiles(settings)) or "none"
        return b"", {}, f"cannot read weight profile {path} ({exc.strerror or exc}); known profiles: {known}"
    try:
        return raw, tomllib.loads(raw.decode("utf-8")), None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        return raw, {}, f"{path}: not valid TOML ({exc})"


@dataclass(frozen=True)
class _Header:
    """The profile's top-level keys: the AHP method that applies, whether it declares an override, problems."""

    method: str
    declared_override: bool
    problems: tuple[str, ...]


def _header(path: Path, doc: dict[str, Any], method: str | None, settings) -> _Header:
    allowed = ", ".join(sorted(_TOP_KEYS))
    problems = [f"{path}: unknown key {key!r} (allowed: {allowed})" for key in sorted(set(doc) - _TOP_KEYS)]
    name = doc.get("name", path.stem)
    if name != path.stem:
        problems.append(f"{path}: name = {name!r} must match the file name {path.stem!r}")
    declared_method = doc.get("method")
    if declared_method is not None and declared_method not in METHODS:
        problems.append(f"{path}: method = {declared_method!r} is not one of {', '.join(METHODS)}")
        declared_method = None
    declared_override = doc.get("override", False)
    if not isinstance(declared_override, bool):
        problems.append(f"{path}: override must be true or false, got {declared_override!r}")
        declared_override = False
    return _Header(method or declared_method or settings.ahp_method, declared_override, tuple(problems))


@dataclass(frozen=True)
class _Comparison:
    """One comparison (the criteria, or the leaves of one criterion) as the profile gives it."""

    label: str
    weights: dict[str, float] | None = None  # in catalogue order; None when the comparison is not usable
    result: AhpResult | None = None  # the analysis of its matrix (or experts' matrices)
    form: str | None = None  # which of _SPEC_FORMS it uses; None when it names none usable
    files: tuple[Path, ...] = ()  # the matrix files it reads
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Leaves:
    comparisons: dict[str, _Comparison]  # criterion_id -> its leaves' comparison (criteria with an entry)
    problems: tuple[str, ...]  # the [leaves] table's, then each criterion's in catalogue order (its comparison's)


def _leaves(path: Path, leaves_doc: Any, catalogue: Catalogue, method: str, settings) -> _Leaves:
    criteria_ids = catalogue.criterion_ids
    problems: list[str] = []
    if not isinstance(leaves_doc, dict):
        problems.append(f"{path}: missing [leaves] table (one entry per criterion: {', '.join(criteria_ids)})")
        leaves_doc = {}
    for key in sorted(set(leaves_doc) - set(criteria_ids)):
        problems.append(f"{path}: [leaves] has {key!r}, which is not a criterion of the catalogue")
    comparisons: dict[str, _Comparison] = {}
    for cid in criteria_ids:
        leaf_ids = [i.indicator_id for i in catalogue.leaves_of(cid)]
        if cid not in leaves_doc:
            problems.append(f"{path}: [leaves] has no entry for {cid} (its leaves: {', '.join(leaf_ids)})")
            continue
        comparisons[cid] = _comparison(path, f"leaves of {cid}", leaves_doc[cid], leaf_ids, method, settings)
        problems.extend(comparisons[cid].problems)
    return _Leaves(comparisons, tuple(problems))


def _override_problems(path: Path, explicit: list[str], declared_override: bool) -> list[str]:
    """Explicit weights must be labelled as an override, and an override must have some."""
    if explicit and not declared_override:
        return [
            f"{path}: gives explicit weights for {', '.join(explicit)} but does not declare override = true "
            "(explicit weights must be labelled as an override)"
        ]
    if declared_override and not explicit:
        return [f"{path}: declares override = true but every weight comes from a judgment matrix"]
    return []


def _comparison(profile: Path, label: str, spec: Any, items: list[str], method: str, settings) -> _Comparison:
    """One comparison -> its weights in catalogue order (or None), AHP result, form used, files read, problems."""
    if isinstance(spec, str):
        spec = {"matrix": spec}
    if not isinstance(spec, dict):
        forms = ", ".join(_SPEC_FORMS)
        return _Comparison(label, problems=(f"{profile}: {label}: missing or not a table; give one of {forms}",))
    forms = [k for k in _SPEC_FORMS if k in spec]
    unknown = sorted(set(spec) - set(_SPEC_FORMS) - {"ri"})
    problems = [f"{profile}: {label}: unknown key(s) {', '.join(unknown)}"] if unknown else []
    if len(forms) != 1:
        problems.append(f"{profile}: {label}: give exactly one of {', '.join(_SPEC_FORMS)} (found {forms or 'none'})")
        return _Comparison(label, problems=tuple(problems))
    form = forms[0]
    if form == "weights":
        weights, problem = _explicit_weights(profile, label, spec["weights"], items)
        return _Comparison(label, weights, form=form, problems=(*problems, *problem))

    ri = spec.get("ri")
    if ri is not None and (isinstance(ri, bool) or not isinstance(ri, (int, float))):
        problems.append(f"{profile}: {label}: ri must be a number, got {ri!r}")
        return _Comparison(label, problems=tuple(problems))
    entries = [spec["matrix"]] if form == "matrix" else spec["experts"]
    if not isinstance(entries, list) or not entries or not all(isinstance(e, str) for e in entries):
        problems.append(f"{profile}: {label}: {form} must be a file path" + (" list" if form == "experts" else ""))
        return _Comparison(label, problems=tuple(problems))
    files = tuple((profile.parent / e).resolve() for e in entries)
    matrices: list[JudgmentMatrix] = []
    file_order: tuple[str, ...] | None = None  # the first file's label order: its upper triangle, for revisions
    for f in files:
        try:
            m = read_matrix(f, name=_display(f, settings))
        except MatrixError as exc:
            problems.append(f"{label}: {exc}")
            continue
        labels_problem = _label_problem(m, items)
        if labels_problem:
            problems.append(f"{label}: {labels_problem}")
            continue
        file_order = file_order or m.labels
        matrices.append(m.reordered(items) if m.labels == m.column_labels else m)
    if len(matrices) != len(files):
        return _Comparison(label, form=form, files=files, problems=tuple(problems))
    name = matrices[0].name if len(matrices) == 1 else f"{label} (AIJ of {len(matrices)} experts)"
    result = with_revisions(
        analyse_experts(matrices, method, None if ri is None else float(ri), name=name), order=file_order
    )
    if not result.valid:
        problems.append(f"{label}: " + "; ".join(result.problems()))
    weights = {k: result.weights[k] for k in items} if result.valid else None
    return _Comparison(label, weights, result, form, files, tuple(problems))


def _label_problem(m: JudgmentMatrix, items: list[str]) -> str | None:
    for kind, labels in (("row", m.labels), ("column", m.column_labels)):
        missing = [x for x in items if x not in labels]
        extra = [x for x in labels if x not in items]
        if missing or extra:
            return (
                f"{m.name}: {kind} labels must be exactly {', '.join(items)}"
                + (f"; missing {', '.join(missing)}" if missing else "")
                + (f"; not in the catalogue here: {', '.join(extra)}" if extra else "")
            )
    if m.labels != m.column_labels:
        return f"{m.name}: rows and columns must list the labels in the same order"
    return None


def _explicit_weights(
    profile: Path, label: str, given: Any, items: list[str]
) -> tuple[dict[str, float] | None, list[str]]:
    """Explicit weights in catalogue order, or None and why they cannot be used."""
    if given == "equal":
        return {k: 1 / len(items) for k in items}, []
    if not isinstance(given, dict):
        return None, [f'{profile}: {label}: weights must be a table {{id = weight}} or "equal", got {given!r}']
    missing = [k for k in items if k not in given]
    extra = [k for k in given if k not in items]
    if missing or extra:
        return None, [
            f"{profile}: {label}: weights must name exactly {', '.join(items)}"
            + (f"; missing {', '.join(missing)}" if missing else "")
            + (f"; unknown {', '.join(extra)}" if extra else "")
        ]
    bad = [
        k
        for k in items
        if isinstance(given[k], bool)
        or not isinstance(given[k], (int, float))
        or not math.isfinite(given[k])
        or given[k] <= 0
    ]
    if bad:
        shown = ", ".join(f"{k} = {given[k]!r}" for k in bad)
        return None, [f"{profile}: {label}: weights must be positive numbers: {shown}"]
    total = math.fsum(float(given[k]) for k in items)
    if abs(total - 1) > WEIGHT_SUM_TOL:
        return None, [f"{profile}: {label}: explicit weights sum to {total:.9g}, not 1 (they are never renormalised)"]
    return {k: float(given[k]) for k in items}, []


def _display(path: Path, settings) -> str:
    """Matrix names in messages: relative to the project when inside it."""
    try:
        return str(path.relative_to(Path(settings.project_dir).resolve()))
    except ValueError:
        return str(path)


def _content_hash(method: str, profile_bytes: bytes, files: list[Path]) -> str:
    digest = hashlib.sha256(b"riskcard-weight-profile/1\0")
    digest.update(f"method={method}\0".encode())
    for data in [profile_bytes] + [f.read_bytes() for f in files]:
        digest.update(f"{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


__all__ = [
    "ProfileCheck",
    "ProfileInvalid",
    "WeightProfile",
    "available_profiles",
    "check_profile",
    "load_profile",
    "profile_path",
    "CR_LIMIT",
    "EXPLICIT",
]
