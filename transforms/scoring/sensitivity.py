"""How much to trust a scorecard: Monte Carlo over the judgments, the weighting method and the thresholds.

One published version fixes the 30 leaf values and the weight profile. This module redraws what experts could
reasonably have said differently and reports how the ranking, the bands and the composite respond (COINr's
``get_sensitivity()`` is the anchor: nominal, percentiles and first-order / total indices per input group).

Uncertain inputs, each switched by a setting (``Settings.sensitivity_*``; defaults in brackets):

* **judgments** [on, step probability 0.2]: every judgment a(i, j), i < j, of every judgment matrix of the profile
  stays as given with probability 1 − p and moves one step down or up Saaty's scale (1/9 … 1/2, 1, 2 … 9) with
  probability p/2 each (a value between two scale values moves to its neighbours of the nearest one; the ends
  stay). a(j, i) = 1 / a(i, j). A drawn matrix the profile's own rule would reject (CR >= 0.1 with the profile's
  method, :data:`transforms.scoring.ahp.CR_LIMIT`) is redrawn until accepted; ``rejected`` counts the redrawn
  matrices. Redrawing per matrix keeps the matrices independent of one another, which the indices need. Empty
  judgments of an incomplete matrix stay empty and are completed by Harker's method after the draw. Explicit
  weights (an override) have no judgments and do not move; an expert panel's AIJ aggregate moves as one matrix.
* **method** [on]: eigenvector or row geometric mean, even odds, for every derived comparison of a draw together.
* **thresholds** [on, range 0.10]: each leaf's four thresholds are scaled by one factor drawn uniformly in
  [1 − r, 1 + r]; the leaf's level is recomputed from its published value (a ``no_events`` leaf keeps the lowest
  step). The rule is dbt's ``level_from_thresholds`` (macros/levels.sql, the owner); :func:`level_for` is its
  Python copy, and tests/test_sensitivity.py checks it against every level dbt wrote.
* **leave one out** [on]: each leaf in turn is dropped and the other local weights of its criterion renormalised;
  reported per leaf (the composite and the criterion ranking without it), outside the Monte Carlo.

Outputs: per criterion the nominal rank, the 5th / 50th / 95th percentile of its rank (linear interpolation, so a
median can be 2.5), the probability of each band and of each attention label; the composite's percentiles and the
probability of each rating; first-order and total indices of the composite per input group (the judgments of each
matrix, the method, the thresholds), estimated with Saltelli's (2010) first-order and Jansen's total estimator on
the A / B / AB_i design: N draws in A (the reported distribution), N in B, N per group in AB_i, so N × (groups + 2)
evaluations. Indices are ``None`` when the composite does not vary at all.

A draw where nothing moved uses the profile's own weights and the published levels, so with every perturbation
off every draw *is* the published version: same ranks, same bands, the same composite bit for bit (the
likelihoods are accumulated in catalogue order and the composite summed with ``math.fsum``, as
:func:`transforms.scoring.synthesis.synthesize` does).

Deterministic: one ``numpy.random.Generator`` (PCG64) seeded with ``seed`` draws everything in a fixed order.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from transforms.indicators.catalogue import Catalogue
from transforms.scoring.ahp import CR_LIMIT, METHODS, AhpResult, priority_weights, random_index
from transforms.scoring.levels import BANDS, LEVELS, LOWEST_LEVEL, band_of
from transforms.scoring.profiles import WeightProfile
from transforms.scoring.synthesis import TIE_DECIMALS, synthesize

SAATY_SCALE = np.array([1 / k for k in range(9, 1, -1)] + [float(k) for k in range(1, 10)])  # 17 values, ascending
PERCENTILES = (5, 50, 95)
MAX_REDRAW_ROUNDS = 200  # a matrix whose perturbations are almost never accepted is an error, not a hang
_EIG_ITER = 500
_EIG_TOL = 1e-15


class SensitivityError(ValueError):
    """The analysis cannot be run on these inputs (it names why)."""


@dataclass(frozen=True)
class Perturbations:
    """What moves in a draw, and how much (the ``sensitivity_*`` settings)."""

    judgments: bool = True
    step_probability: float = 0.2
    method: bool = True
    thresholds: bool = True
    threshold_range: float = 0.10
    leave_one_out: bool = True

    @classmethod
    def from_settings(cls, settings) -> Perturbations:
        return cls(
            judgments=settings.sensitivity_judgments,
            step_probability=settings.sensitivity_step_probability,
            method=settings.sensitivity_method,
            thresholds=settings.sensitivity_thresholds,
            threshold_range=settings.sensitivity_threshold_range,
            leave_one_out=settings.sensitivity_leave_one_out,
        )

    @classmethod
    def none(cls) -> Perturbations:
        return cls(judgments=False, method=False, thresholds=False, leave_one_out=False)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class LeafInput:
    """A published leaf: its value, status and level (what the thresholds act on)."""

    indicator_id: str
    value: float | None
    status: str
    level: float


# ---- the rule copied from dbt ------------------------------------------------------------------------------------


def level_for(value: float | None, status: str, thresholds) -> float:
    """dbt's ``level_from_thresholds`` (macros/levels.sql): no_events -> the lowest step; else the k-th step for
    the first threshold the value does not exceed, the top step above the last."""
    if status == "no_events":
        return LOWEST_LEVEL
    if status == "no_data" or value is None:
        raise SensitivityError("a no_data leaf has no level (a published version never has one)")
    for k, t in enumerate(thresholds):
        if value <= t:
            return LEVELS[k]
    return LEVELS[-1]


def _levels_for(values: np.ndarray, no_events: np.ndarray, thresholds: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """level_for vectorised: values, no_events (L,), thresholds (L, 4), factors (N, L) -> levels (N, L)."""
    scaled = thresholds[None, :, :] * factors[:, :, None]  # (N, L, 4)
    above = values[None, :, None] > scaled  # value exceeds threshold k
    step = above.sum(axis=2)  # thresholds ascend: the number exceeded is the step index
    levels = np.asarray(LEVELS)[step]
    levels[:, no_events] = LOWEST_LEVEL
    return levels


# ---- judgments ---------------------------------------------------------------------------------------------------


@dataclass
class JudgmentDraws:
    """N drawn matrices of one comparison and their weights under each method."""

    key: str
    labels: tuple[str, ...]
    matrices: np.ndarray  # (N, n, n) the accepted draws (NaN where a judgment is left empty)
    weights: dict[str, np.ndarray]  # method -> (N, n)
    rejected: int  # drawn matrices the profile's rule rejected (CR >= 0.1), each redrawn


def _eigen_batch(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(principal eigenvectors (N, n) summing to 1, λmax (N,) = mean_i (A·w)_i / w_i) of positive matrices, by
    power iteration from the geometric-mean vector (as transforms.scoring.ahp.eigenvector_weights)."""
    w = np.exp(np.log(a).mean(axis=2))
    w /= w.sum(axis=1, keepdims=True)
    for _ in range(_EIG_ITER):
        v = np.einsum("nij,nj->ni", a, w)
        v /= v.sum(axis=1, keepdims=True)
        delta = np.max(np.abs(v - w))
        w = v
        if delta <= _EIG_TOL:
            break
    lam = (np.einsum("nij,nj->ni", a, w) / w).mean(axis=1)
    return w, lam


def _geometric_batch(a: np.ndarray) -> np.ndarray:
    g = np.exp(np.log(a).mean(axis=2))
    return g / g.sum(axis=1, keepdims=True)


def _complete(a: np.ndarray) -> np.ndarray:
    """Harker-completed matrices where cells are missing (NaN); the owner is transforms.scoring.ahp."""
    if not np.isnan(a).any():
        return a
    from transforms.scoring import ahp

    return ahp.complete_matrix(a)


def _cr_batch(a: np.ndarray, method: str, ri: float) -> np.ndarray:
    n = a.shape[1]
    if n <= 2 or ri == 0:
        return np.zeros(a.shape[0])
    if method == "eigenvector":
        _, lam = _eigen_batch(a)
    else:
        w = _geometric_batch(a)
        lam = (np.einsum("nij,nj->ni", a, w) / w).mean(axis=1)
    return np.maximum((lam - n) / (n - 1) / ri, 0.0)


def draw_judgments(
    rng: np.random.Generator, result: AhpResult, key: str, nominal_method: str, n_draws: int, p: float
) -> JudgmentDraws:
    """N accepted draws of one judgment matrix (p = 0: all equal to it) and their weights by each method."""
    base = np.array(result.matrix, dtype=float)
    n = base.shape[0]
    ri = random_index(n, result.ri if result.ri else None) if n > 2 else 0.0
    iu, ju = np.triu_indices(n, k=1)
    given = ~np.isnan(base[iu, ju])
    iu, ju = iu[given], ju[given]
    upper = base[iu, ju]
    pos = np.abs(np.log(SAATY_SCALE)[None, :] - np.log(upper)[:, None]).argmin(axis=1)

    def draw(count: int) -> tuple[np.ndarray, np.ndarray]:
        u = rng.random((count, len(upper)))
        step = np.where(u < p / 2, -1, np.where(u < p, 1, 0))
        new_pos = np.clip(pos[None, :] + step, 0, len(SAATY_SCALE) - 1)
        moved_cell = new_pos != pos[None, :]
        cells = np.where(moved_cell, SAATY_SCALE[new_pos], upper[None, :])
        a = np.broadcast_to(base, (count, n, n)).copy()
        a[:, iu, ju] = cells
        a[:, ju, iu] = 1.0 / cells
        return a, moved_cell.any(axis=1)

    matrices = np.empty((n_draws, n, n))
    moved = np.zeros(n_draws, dtype=bool)
    todo = np.arange(n_draws)
    rejected = 0
    for _ in range(MAX_REDRAW_ROUNDS):
        if todo.size == 0:
            break
        a, mv = draw(todo.size)
        ok = (~mv) | (_cr_batch(_complete(a), nominal_method, ri) < CR_LIMIT)
        matrices[todo[ok]] = a[ok]
        moved[todo[ok]] = mv[ok]
        rejected += int((~ok).sum())
        todo = todo[~ok]
    else:
        if todo.size:
            raise SensitivityError(
                f"{result.name}: {todo.size} of {n_draws} perturbed matrices still had CR >= {CR_LIMIT} after "
                f"{MAX_REDRAW_ROUNDS} redraws: lower sensitivity_step_probability or revise the judgments"
            )
    complete = _complete(matrices)
    weights = {}
    for method in METHODS:
        exact, _ = priority_weights(np.array(_complete(base[None])[0]), method)
        if method == "eigenvector":
            w, _ = _eigen_batch(complete) if moved.any() else (np.empty((n_draws, n)), None)
        else:
            w = _geometric_batch(complete)
        w[~moved] = exact  # nothing moved: the exact weights of the unperturbed matrix
        weights[method] = w
    nominal = np.array([result.weights[label] for label in result.labels])
    weights[nominal_method][~moved] = nominal  # ... and for the profile's method, the profile's own weights
    return JudgmentDraws(key, tuple(result.labels), matrices, weights, rejected)


# ---- the model ---------------------------------------------------------------------------------------------------


@dataclass
class _Model:
    """Everything a draw needs, as arrays in catalogue order."""

    criterion_ids: list[str]
    leaf_ids: list[str]
    leaf_criterion: np.ndarray  # (L,) index of each leaf's criterion
    order: np.ndarray  # (K,) catalogue sort order of the criteria (tie-break)
    nominal_criteria: np.ndarray  # (K,) profile criterion weights
    nominal_local: np.ndarray  # (L,) profile local weights
    nominal_levels: np.ndarray  # (L,)
    values: np.ndarray  # (L,) published values (nan where none)
    no_events: np.ndarray  # (L,) bool
    thresholds: np.ndarray  # (L, 4)


def _model(catalogue: Catalogue, profile: WeightProfile, leaves: dict[str, LeafInput]) -> _Model:
    criterion_ids = catalogue.criterion_ids
    leaf_ids, leaf_criterion, local, levels, values, no_events, thresholds = [], [], [], [], [], [], []
    for k, cid in enumerate(criterion_ids):
        for ind in catalogue.leaves_of(cid):
            leaf = leaves.get(ind.indicator_id)
            if leaf is None:
                raise SensitivityError(f"no published leaf {ind.indicator_id}")
            leaf_ids.append(ind.indicator_id)
            leaf_criterion.append(k)
            local.append(profile.local_weights[cid][ind.indicator_id])
            levels.append(float(leaf.level))
            values.append(np.nan if leaf.value is None else float(leaf.value))
            no_events.append(leaf.status == "no_events")
            thresholds.append(ind.thresholds)
    return _Model(
        criterion_ids=criterion_ids,
        leaf_ids=leaf_ids,
        leaf_criterion=np.array(leaf_criterion),
        order=np.array([c.sort_order for c in catalogue.criteria]),
        nominal_criteria=np.array([profile.criterion_weights[c] for c in criterion_ids]),
        nominal_local=np.array(local),
        nominal_levels=np.array(levels),
        values=np.array(values),
        no_events=np.array(no_events),
        thresholds=np.array(thresholds, dtype=float),
    )


@dataclass
class _Sample:
    """One of the design's samples (A or B): every group's draws."""

    matrices: dict[str, JudgmentDraws]
    other_method: np.ndarray  # (N,) bool: the draw uses the other weighting method
    levels: np.ndarray  # (N, L)


def _draw_sample(
    rng: np.random.Generator, model: _Model, profile: WeightProfile, perturb: Perturbations, n: int
) -> _Sample:
    p = perturb.step_probability if perturb.judgments else 0.0
    nominal_method = profile.method if profile.method in METHODS else METHODS[0]
    matrices = {
        key: draw_judgments(rng, result, key, nominal_method, n, p) for key, result in profile.judgments.items()
    }
    derived = bool(profile.judgments)
    other = rng.random(n) < 0.5 if perturb.method and derived else np.zeros(n, dtype=bool)
    if perturb.thresholds and perturb.threshold_range > 0:
        r = perturb.threshold_range
        factors = rng.uniform(1 - r, 1 + r, size=(n, len(model.leaf_ids)))
        levels = _levels_for(model.values, model.no_events, model.thresholds, factors)
    else:
        levels = np.broadcast_to(model.nominal_levels, (n, len(model.leaf_ids))).copy()
    return _Sample(matrices, other, levels)


def _evaluate(
    model: _Model, profile: WeightProfile, source: dict[str, _Sample]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(composite (N,), likelihood (N, K), score (N, K)), each input group taken from the sample ``source`` names
    for it: "method", "thresholds" and each judgment matrix's key ("criteria", "u1", ...)."""
    levels_of = source["thresholds"]
    n = levels_of.levels.shape[0]
    nominal_method = profile.method if profile.method in METHODS else METHODS[0]
    other_method = next(m for m in METHODS if m != nominal_method)
    other = source["method"].other_method

    def weights_of(key: str) -> np.ndarray:
        draws = source[key].matrices[key]
        return np.where(other[:, None], draws.weights[other_method], draws.weights[nominal_method])

    crit_w = (
        weights_of("criteria")
        if "criteria" in profile.judgments
        else np.broadcast_to(model.nominal_criteria, (n, len(model.criterion_ids)))
    )
    local = np.broadcast_to(model.nominal_local, (n, len(model.leaf_ids))).copy()
    for k, cid in enumerate(model.criterion_ids):
        if cid in profile.judgments:
            local[:, model.leaf_criterion == k] = weights_of(cid)
    levels = levels_of.levels
    likelihood = np.zeros((n, len(model.criterion_ids)))
    for j, k in enumerate(model.leaf_criterion):  # in catalogue order, as synthesize adds them
        likelihood[:, k] += local[:, j] * levels[:, j]
    score = crit_w * likelihood
    composite = np.array([math.fsum(row) for row in score.tolist()])
    return composite, likelihood, score


def _all_from(sample: _Sample, profile: WeightProfile) -> dict[str, _Sample]:
    """Every input group from one sample."""
    return {g: sample for g in ("method", "thresholds", *profile.judgments)}


def _ranks(score: np.ndarray, order: np.ndarray) -> np.ndarray:
    """(N, K) ranks, 1 = highest score; equal scores at 12 decimals keep the catalogue order (synthesis's rule)."""
    rounded = np.array([[round(v, TIE_DECIMALS) for v in row] for row in score.tolist()])
    n, k = score.shape
    ranks = np.empty((n, k), dtype=int)
    # lexsort: last key is primary -> by -score, then catalogue order
    idx = np.lexsort((np.broadcast_to(order, (n, k)), -rounded), axis=1)
    rows = np.arange(n)[:, None]
    ranks[rows, idx] = np.arange(1, k + 1)[None, :]
    return ranks


def _band_names(values: np.ndarray) -> np.ndarray:
    """band_of (the one band rule) over an array, once per distinct value."""
    unique, inverse = np.unique(values, return_inverse=True)
    names = np.array([band_of(float(v)).name for v in unique], dtype=object)
    return names[inverse.reshape(values.shape)]


def _probabilities(names: np.ndarray, categories) -> dict[str, float]:
    total = names.size
    return {c: int((names == c).sum()) / total for c in categories}


def _percentiles(x: np.ndarray) -> dict[str, float]:
    return {f"p{q:02d}": float(np.percentile(x, q)) for q in PERCENTILES}


# ---- the analysis ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Simulation:
    """The draws of sample A, each a whole scorecard: what the reported distribution is made of."""

    criterion_ids: list[str]
    composite: np.ndarray  # (N,)
    likelihood: np.ndarray  # (N, K) in catalogue order
    score: np.ndarray  # (N, K)
    rank: np.ndarray  # (N, K)
    rejected: int  # perturbed matrices redrawn for sample A


def simulate(
    catalogue: Catalogue,
    profile: WeightProfile,
    leaves: dict[str, LeafInput],
    draws: int,
    seed: int,
    perturb: Perturbations,
) -> Simulation:
    """The N draws behind :func:`analyse` (the same generator state: its sample A)."""
    model = _model(catalogue, profile, leaves)
    rng = np.random.default_rng(seed)
    a = _draw_sample(rng, model, profile, perturb, draws)
    composite, likelihood, score = _evaluate(model, profile, _all_from(a, profile))
    return Simulation(
        model.criterion_ids, composite, likelihood, score, _ranks(score, model.order),
        sum(d.rejected for d in a.matrices.values()),
    )  # fmt: skip


def analyse(
    catalogue: Catalogue,
    profile: WeightProfile,
    leaves: dict[str, LeafInput],
    draws: int,
    seed: int,
    perturb: Perturbations,
) -> dict[str, Any]:
    """The sensitivity document of one scorecard (see the module docstring; JSON-ready, deterministic)."""
    if draws < 2:
        raise SensitivityError(f"need at least 2 draws, got {draws}")
    nominal = synthesize({k: v.level for k, v in leaves.items()}, profile, catalogue)
    model = _model(catalogue, profile, leaves)
    if perturb.thresholds:
        drift = [
            i for i, leaf in zip(model.leaf_ids, (leaves[i] for i in model.leaf_ids), strict=True)
            if level_for(leaf.value, leaf.status, catalogue.indicator(i).thresholds) != leaf.level
        ]  # fmt: skip
        if drift:
            raise SensitivityError(
                f"the catalogue's thresholds do not give the published level of {', '.join(drift)}: the catalogue "
                "changed since the version was published; run with thresholds off (--no-thresholds)"
            )
    rng = np.random.default_rng(seed)
    a = _draw_sample(rng, model, profile, perturb, draws)
    b = _draw_sample(rng, model, profile, perturb, draws)
    groups = _groups(profile, perturb)

    def run(source: dict[str, _Sample]):
        return _evaluate(model, profile, source)

    composite, likelihood, score = _evaluate(model, profile, _all_from(a, profile))
    ranks = _ranks(score, model.order)
    bands = _band_names(likelihood)
    band_names = [band.name for band in BANDS]
    attention_of = {band.name: band.attention for band in BANDS}
    attentions = list(dict.fromkeys(band.attention for band in BANDS))

    criteria = []
    for k, cid in enumerate(model.criterion_ids):
        r = ranks[:, k].astype(float)
        c = nominal.criterion(cid)
        criteria.append(
            {
                "criterion_id": cid,
                "nominal_rank": c.rank,
                "rank_p05": float(np.percentile(r, 5)),
                "rank_p50": float(np.percentile(r, 50)),
                "rank_p95": float(np.percentile(r, 95)),
                "rank_mean": float(r.mean()),
                "nominal_band": c.band,
                "band_probability": _probabilities(bands[:, k], band_names),
                "attention_probability": _probabilities(
                    np.array([attention_of[x] for x in bands[:, k]], dtype=object), attentions
                ),
                "nominal_score": c.score,
                "score_p05": float(np.percentile(score[:, k], 5)),
                "score_p50": float(np.percentile(score[:, k], 50)),
                "score_p95": float(np.percentile(score[:, k], 95)),
            }
        )
    rating = _band_names(composite)
    document = {
        "draws": draws,
        "rejected": sum(d.rejected for d in a.matrices.values()) + sum(d.rejected for d in b.matrices.values()),
        "seed": seed,
        "inputs": {**perturb.to_dict(), "groups": [g for g, _ in groups]},
        "profile": profile.name,
        "profile_hash": profile.content_hash,
        "method": profile.method,
        "rejected_by_matrix": {key: a.matrices[key].rejected + b.matrices[key].rejected for key in profile.judgments},
        "criteria": criteria,
        "composite": {
            "nominal": nominal.composite,
            **_percentiles(composite),
            "mean": float(composite.mean()),
            "nominal_rating": nominal.rating,
            "rating_probability": _probabilities(rating, band_names),
        },
        "indices": _indices(groups, a, b, composite, run),
        "leave_one_out": _leave_one_out(catalogue, profile, leaves, nominal) if perturb.leave_one_out else [],
    }
    return document


def _groups(profile: WeightProfile, perturb: Perturbations) -> list[tuple[str, str]]:
    """(group id, label) of the inputs that vary."""
    groups = []
    if perturb.judgments and perturb.step_probability > 0:
        for key, result in profile.judgments.items():
            if result.n >= 2:
                what = "criterion matrix" if key == "criteria" else f"leaf matrix of {key}"
                groups.append((f"judgments:{key}", f"judgments of the {what}"))
    if perturb.method and profile.judgments:
        groups.append(("method", "weighting method (eigenvector or geometric mean)"))
    if perturb.thresholds and perturb.threshold_range > 0:
        groups.append(("thresholds", f"thresholds (each leaf's scaled in ±{perturb.threshold_range:g})"))
    return groups


def _indices(groups, a: _Sample, b: _Sample, f_a: np.ndarray, run) -> list[dict[str, Any]]:
    """First-order (Saltelli 2010) and total (Jansen 1999) indices of the composite per input group."""
    if not groups:
        return []
    f_b = run({g: b for g in ("method", "thresholds", *a.matrices)})[0]
    both = np.concatenate([f_a, f_b])
    variance, centre = float(np.var(both)), float(np.mean(both))  # centred: same expectation, far less noise
    out = []
    for group, label in groups:
        key = group.removeprefix("judgments:")
        source = {g: a for g in ("method", "thresholds", *a.matrices)}
        source[key if group.startswith("judgments:") else group] = b
        f_ab = run(source)[0]
        if variance <= 0:
            first = total = None
        else:
            first = float(np.mean((f_b - centre) * (f_ab - f_a)) / variance)
            total = float(np.mean((f_a - f_ab) ** 2) / (2 * variance))
        out.append({"group": group, "label": label, "first_order": first, "total": total})
    return out


def _leave_one_out(
    catalogue: Catalogue, profile: WeightProfile, leaves: dict[str, LeafInput], nominal
) -> list[dict[str, Any]]:
    """Per leaf: the composite and the criterion ranking with that leaf left out (its criterion's other local
    weights renormalised); a criterion's only leaf cannot be left out."""
    from dataclasses import replace

    out = []
    nominal_ranks = {c.criterion_id: c.rank for c in nominal.criteria}
    for cid in catalogue.criterion_ids:
        siblings = profile.local_weights[cid]
        for ind in catalogue.leaves_of(cid):
            leaf = ind.indicator_id
            if len(siblings) < 2:
                out.append({"indicator_id": leaf, "criterion_id": cid, "composite": None, "change": None,
                            "note": "the criterion's only leaf"})  # fmt: skip
                continue
            rest = 1 - siblings[leaf]
            local = {**profile.local_weights, cid: {k: w / rest for k, w in siblings.items() if k != leaf}}
            reduced = replace(profile, local_weights=local)
            card = _synthesize_without(catalogue, reduced, leaves, leaf)
            ranks = {c.criterion_id: c.rank for c in card.criteria}
            out.append(
                {
                    "indicator_id": leaf,
                    "criterion_id": cid,
                    "composite": card.composite,
                    "change": card.composite - nominal.composite,
                    "rating": card.rating,
                    "criterion_rank": ranks[cid],
                    "ranking_changed": ranks != nominal_ranks,
                }
            )
    return out


def _synthesize_without(catalogue: Catalogue, profile: WeightProfile, leaves: dict[str, LeafInput], leaf: str):
    """The synthesis on a catalogue without one leaf."""
    from dataclasses import replace

    reduced = replace(catalogue, indicators=[i for i in catalogue.indicators if i.indicator_id != leaf])
    return synthesize({k: v.level for k, v in leaves.items() if k != leaf}, profile, reduced)
