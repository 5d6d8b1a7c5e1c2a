"""The likelihood scale and the W×C bands: their one definition (method document, section 5; architecture.md,
"One place for each rule").

A leaf's likelihood level is one step of :data:`LEVELS`, the k-th step for a value at or below its k-th threshold
and the top step above the last one (indicators.md, "Level"); a ``no_events`` leaf scores the lowest step. A
criterion's likelihood C and the composite fall into the floor-based :data:`BANDS`, and the attention follows the
band. Everything else takes the scale from here:

- the synthesis (``transforms.scoring.synthesis``) checks leaf levels against it;
- the GX suites (``expectations/*.json``) take it as suite parameters supplied by ``transforms.quality.runner``;
- dbt (``dbt_project/macros/levels.sql``, the ``accepted_values`` of ``fct_leaf_indicators.level``) reads the var
  ``likelihood_levels`` of ``dbt_project/dbt_project.yml``: the indicator stage may not import this module (stages import
  downwards only), so that var is a copy, and ``tests/test_levels.py`` fails when it differs from :data:`LEVELS`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

LEVELS = (0.2, 0.4, 0.6, 0.8, 1.0)  # 小 very low … 很大 very high
LOWEST_LEVEL, HIGHEST_LEVEL = LEVELS[0], LEVELS[-1]  # what a no_events leaf scores; the range C and composite span
LEVEL_ATOL = 1e-9  # a leaf level is on the scale when it is within this of a step (levels arrive as doubles)
BAND_DECIMALS = 9  # values are rounded to this many decimals before the band floors are compared:
# 5 × (0.2 × 0.8) is 0.8000000000000002 in floating point and 0.6 can come out as 0.5999999999999999; rounding
# keeps such float error from moving a value across a floor, and 9 decimals is far finer than any real difference.


@dataclass(frozen=True)
class Band:
    name: str
    name_zh: str
    floor: float
    attention: str
    attention_zh: str

    def __str__(self) -> str:
        return self.name


TAKE_MEASURES = ("take effective measures", "采取有效措施")
FOCUS = ("focus attention", "重点关注")
GENERAL = ("general attention", "一般关注")
BANDS = (  # highest first; a value belongs to the first band whose floor it reaches
    Band("very high", "很大", 1.0, *TAKE_MEASURES),
    Band("high", "较大", 0.8, *TAKE_MEASURES),
    Band("medium", "中等", 0.6, *FOCUS),
    Band("low", "较小", 0.4, *GENERAL),
    Band("very low", "小", 0.0, *GENERAL),
)


def on_scale(value: float) -> bool:
    """Whether ``value`` is one of the :data:`LEVELS` (within :data:`LEVEL_ATOL`)."""
    return any(abs(value - level) <= LEVEL_ATOL for level in LEVELS)


def band_of(x: float) -> Band:
    """The band of a likelihood or composite in [0, 1]: 1.0 very high; [0.8, 1) high; [0.6, 0.8) medium;
    [0.4, 0.6) low; below 0.4 very low (values rounded to 9 decimals first)."""
    value = float(x)
    if not math.isfinite(value):
        raise ValueError(f"cannot band {x!r}: not a finite number")
    r = round(value, BAND_DECIMALS)
    if r < 0 or r > 1:
        raise ValueError(f"cannot band {x!r}: likelihoods and composites lie in [0, 1]")
    for band in BANDS:
        if r >= band.floor:
            return band
    raise AssertionError("unreachable: the last band's floor is 0")


__all__ = [
    "BANDS",
    "BAND_DECIMALS",
    "Band",
    "FOCUS",
    "GENERAL",
    "HIGHEST_LEVEL",
    "LEVELS",
    "LEVEL_ATOL",
    "LOWEST_LEVEL",
    "TAKE_MEASURES",
    "band_of",
    "on_scale",
]
