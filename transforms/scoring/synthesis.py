"""W×C synthesis (method document, section 5): from the 30 leaf levels and a weight profile to the scorecard.

C_k = Σ local weight × leaf level over criterion k's leaves; Score_k = W_k × C_k; composite = Σ Score_k.
Criteria are ranked by score, highest first; equal scores (compared at 12 decimals) keep the catalogue's criterion
order, so the ranking is deterministic and ranks are always 1..n without gaps. The likelihood of a criterion and
the composite fall into the same floor-based bands, and the attention follows the band (the scale and the bands are
``transforms.scoring.levels``; ``LEVELS``, ``BANDS``, ``Band`` and ``band_of`` are re-exported here).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from transforms.indicators.catalogue import Catalogue
from transforms.scoring.levels import BANDS, LEVELS, Band, band_of, on_scale
from transforms.scoring.profiles import WeightProfile

TIE_DECIMALS = 12


class SynthesisError(ValueError):
    """The levels or the profile do not fit the catalogue (missing, extra or impossible values)."""


@dataclass(frozen=True)
class CriterionScore:
    criterion_id: str
    weight: float
    likelihood: float
    score: float
    rank: int
    band: str
    band_zh: str
    attention: str
    attention_zh: str


@dataclass(frozen=True)
class LeafScore:
    indicator_id: str
    criterion_id: str
    local_weight: float
    global_weight: float
    level: float


@dataclass(frozen=True)
class Scorecard:
    profile_name: str
    method: str
    override: bool
    composite: float
    rating: str
    rating_zh: str
    criteria: list[CriterionScore]  # in catalogue order (rank is a field)
    leaves: list[LeafScore]  # in catalogue order

    def to_dict(self) -> dict[str, Any]:
        return {
            "profile": self.profile_name,
            "method": self.method,
            "override": self.override,
            "composite": self.composite,
            "rating": self.rating,
            "rating_zh": self.rating_zh,
            "criteria": [asdict(c) for c in self.criteria],
            "leaves": [asdict(leaf) for leaf in self.leaves],
        }

    def criterion(self, criterion_id: str) -> CriterionScore:
        for c in self.criteria:
            if c.criterion_id == criterion_id:
                return c
        raise KeyError(criterion_id)


def synthesize(levels: dict[str, float], profile: WeightProfile, catalogue: Catalogue) -> Scorecard:
    """The scorecard for one set of leaf levels (every catalogue leaf, each a step of the scale
    ``transforms.scoring.levels.LEVELS``).
    A missing leaf is an error, never a low risk."""
    _check_levels(levels, catalogue)
    _check_profile(profile, catalogue)

    leaves: list[LeafScore] = []
    unranked: list[tuple[str, float, float, float]] = []
    for crit in catalogue.criteria:
        cid = crit.criterion_id
        weight = profile.criterion_weights[cid]
        likelihood = 0.0
        for ind in catalogue.leaves_of(cid):
            local = profile.local_weights[cid][ind.indicator_id]
            level = float(levels[ind.indicator_id])
            likelihood += local * level
            leaves.append(LeafScore(ind.indicator_id, cid, local, weight * local, level))
        unranked.append((cid, weight, likelihood, weight * likelihood))

    order = {c.criterion_id: c.sort_order for c in catalogue.criteria}
    ranked = sorted(unranked, key=lambda t: (-round(t[3], TIE_DECIMALS), order[t[0]]))
    rank_of = {t[0]: k for k, t in enumerate(ranked, start=1)}
    criteria = []
    for cid, weight, likelihood, score in unranked:
        band = band_of(likelihood)
        criteria.append(
            CriterionScore(
                cid, weight, likelihood, score, rank_of[cid], band.name, band.name_zh, band.attention, band.attention_zh
            )
        )
    composite = math.fsum(c.score for c in criteria)
    rating = band_of(composite)
    return Scorecard(
        profile_name=profile.name,
        method=profile.method,
        override=profile.override,
        composite=composite,
        rating=rating.name,
        rating_zh=rating.name_zh,
        criteria=criteria,
        leaves=leaves,
    )


def _check_levels(levels: dict[str, float], catalogue: Catalogue) -> None:
    ids = catalogue.indicator_ids
    missing = [i for i in ids if i not in levels or levels[i] is None]
    extra = sorted(set(levels) - set(ids))
    if missing:
        raise SynthesisError(
            f"no level for {len(missing)} leaf indicator(s): {', '.join(missing)} (missing data is never low risk)"
        )
    if extra:
        raise SynthesisError(f"levels for indicators not in the catalogue: {', '.join(extra)}")
    bad = []
    for i in ids:
        try:
            value = float(levels[i])
        except (TypeError, ValueError):
            bad.append(f"{i} = {levels[i]!r}")
            continue
        if not on_scale(value):
            bad.append(f"{i} = {levels[i]!r}")
    if bad:
        raise SynthesisError(f"leaf levels must be one of {', '.join(map(str, LEVELS))}: {', '.join(bad)}")


def _check_profile(profile: WeightProfile, catalogue: Catalogue) -> None:
    if set(profile.criterion_weights) != set(catalogue.criterion_ids):
        raise SynthesisError(
            f"profile {profile.name} weighs criteria {', '.join(sorted(profile.criterion_weights))}, "
            f"the catalogue has {', '.join(catalogue.criterion_ids)}"
        )
    for cid in catalogue.criterion_ids:
        want = {i.indicator_id for i in catalogue.leaves_of(cid)}
        have = set(profile.local_weights.get(cid, {}))
        if want != have:
            raise SynthesisError(
                f"profile {profile.name}: leaves of {cid} are {', '.join(sorted(have)) or 'none'}, "
                f"the catalogue has {', '.join(sorted(want))} (was the profile loaded against another catalogue?)"
            )


__all__ = [
    "BANDS",
    "Band",
    "CriterionScore",
    "LEVELS",
    "LeafScore",
    "Scorecard",
    "SynthesisError",
    "band_of",
    "synthesize",
]
