"""W×C synthesis: likelihoods, scores, ranks, bands, attention, composite and rating (method document section 5)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.core.settings import load_settings
from transforms.indicators.catalogue import load_catalogue
from transforms.scoring.profiles import WeightProfile, load_profile
from transforms.scoring.synthesis import LEVELS, SynthesisError, band_of, synthesize

# The paper's Tables 6 and 7 (method document section 5): C level, W×C to 4 decimals, rank, attention.
TABLE6 = {
    "u1": (0.6, 0.0726, 4, "重点关注"),
    "u2": (0.8, 0.1640, 2, "采取有效措施"),
    "u3": (0.4, 0.0052, 8, "一般关注"),
    "u4": (0.8, 0.1696, 1, "采取有效措施"),
    "u5": (0.4, 0.0068, 7, "一般关注"),
    "u6": (0.6, 0.0702, 5, "重点关注"),
    "u7": (0.6, 0.0672, 6, "重点关注"),
    "u8": (0.8, 0.1624, 3, "采取有效措施"),
}


@pytest.fixture(scope="module")
def base_settings(tmp_path_factory):
    """The project's own seeds; an empty config file and no environment, so nothing local leaks in."""
    empty = tmp_path_factory.mktemp("synthesis") / "riskcard.toml"
    empty.write_text("")
    return load_settings(env={}, config_file=empty)


@pytest.fixture(scope="module")
def catalogue(base_settings):
    return load_catalogue(base_settings)


@pytest.fixture(scope="module")
def default_profile(base_settings, catalogue):
    return load_profile("default", base_settings, catalogue=catalogue)


@pytest.fixture(scope="module")
def paper_profile(base_settings, catalogue):
    return load_profile("paper-published", base_settings, catalogue=catalogue)


def levels_at(catalogue, c_of: dict[str, float]) -> dict[str, float]:
    return {i.indicator_id: c_of[i.criterion_id] for i in catalogue.indicators}


@pytest.mark.parametrize(
    ("x", "band", "band_zh", "attention_zh"),
    [
        (1.0, "very high", "很大", "采取有效措施"),
        (0.9999999999, "very high", "很大", "采取有效措施"),  # float noise below 1.0 is 1.0
        (0.99, "high", "较大", "采取有效措施"),
        (0.8000000000000002, "high", "较大", "采取有效措施"),
        (0.7999999999999999, "high", "较大", "采取有效措施"),
        (0.79, "medium", "中等", "重点关注"),
        (0.718, "medium", "中等", "重点关注"),
        (0.6, "medium", "中等", "重点关注"),
        (0.5999999999999999, "medium", "中等", "重点关注"),
        (0.59, "low", "较小", "一般关注"),
        (0.4, "low", "较小", "一般关注"),
        (0.39, "very low", "小", "一般关注"),
        (0.2, "very low", "小", "一般关注"),
        (0.0, "very low", "小", "一般关注"),
    ],
)
def test_bands_are_floor_based_with_float_guard(x, band, band_zh, attention_zh):
    b = band_of(x)
    assert (b.name, b.name_zh, b.attention_zh) == (band, band_zh, attention_zh)
    assert str(b) == band


@pytest.mark.parametrize("x", [-0.01, 1.01, math.nan, math.inf])
def test_band_of_refuses_values_outside_zero_one(x):
    with pytest.raises(ValueError):
        band_of(x)


def test_tables_6_and_7_reproduced_exactly_from_the_published_weights(paper_profile, catalogue):
    card = synthesize(levels_at(catalogue, {c: v[0] for c, v in TABLE6.items()}), paper_profile, catalogue)
    assert card.override is True and card.profile_name == "paper-published" and card.method == "explicit"
    for c, (level, score, rank, attention_zh) in TABLE6.items():
        got = card.criterion(c)
        assert got.likelihood == pytest.approx(level, abs=1e-12)
        assert f"{got.score:.4f}" == f"{score:.4f}", c
        assert got.rank == rank, c
        assert got.attention_zh == attention_zh, c
    assert f"{card.composite:.3f}" == "0.718"
    assert (card.rating, card.rating_zh) == ("medium", "中等")


def test_likelihood_is_local_weighted_mean_of_leaf_levels(default_profile, catalogue):
    levels = {i.indicator_id: LEVELS[k % 5] for k, i in enumerate(catalogue.indicators)}
    card = synthesize(levels, default_profile, catalogue)
    for crit in card.criteria:
        leaves = catalogue.leaves_of(crit.criterion_id)
        expected = sum(
            default_profile.local_weights[crit.criterion_id][i.indicator_id] * levels[i.indicator_id] for i in leaves
        )
        assert crit.likelihood == pytest.approx(expected, rel=1e-12)
        assert crit.score == pytest.approx(crit.weight * crit.likelihood, rel=1e-12)
    assert card.composite == pytest.approx(sum(c.score for c in card.criteria), rel=1e-12)
    assert [leaf.indicator_id for leaf in card.leaves] == catalogue.indicator_ids
    assert sum(leaf.global_weight for leaf in card.leaves) == pytest.approx(1.0, abs=1e-12)
    ordered = sorted(card.criteria, key=lambda c: c.rank)
    assert [c.rank for c in ordered] == list(range(1, 9))
    assert all(a.score >= b.score for a, b in zip(ordered, ordered[1:], strict=False))


def flat_profile(catalogue) -> WeightProfile:
    """Every criterion weighs 1/8, every leaf of a criterion the same: likelihoods are plain means of levels."""
    return WeightProfile(
        name="flat",
        method="explicit",
        override=True,
        criterion_weights={c: 1 / 8 for c in catalogue.criterion_ids},
        local_weights={
            c: {i.indicator_id: 1 / len(catalogue.leaves_of(c)) for i in catalogue.leaves_of(c)}
            for c in catalogue.criterion_ids
        },
        content_hash="",
        checks=[],
    )


# Leaf levels per criterion (catalogue order of its leaves) and what they give by hand with the flat profile:
# C = mean of the levels, W x C = C / 8, the band of C by the method document's floors, rank by W x C.
HAND = {
    "u1": ((0.2, 0.4, 0.6, 0.8), 0.5, "low", "一般关注", 5),
    "u2": ((1.0, 1.0, 1.0, 1.0), 1.0, "very high", "采取有效措施", 1),
    "u3": ((0.8, 0.8, 0.8, 1.0), 0.85, "high", "采取有效措施", 2),
    "u4": ((0.6, 0.6, 0.6, 0.8, 0.4), 0.6, "medium", "重点关注", 4),  # 3.0 / 5: on the floor
    "u5": ((0.2, 0.2, 0.2, 0.2, 0.2), 0.2, "very low", "一般关注", 8),
    "u6": ((0.2, 0.4, 0.6), 0.4, "low", "一般关注", 7),  # 1.2 / 3: on the floor
    "u7": ((0.6, 1.0), 0.8, "high", "采取有效措施", 3),  # on the floor
    "u8": ((0.4, 0.4, 0.6), 1.4 / 3, "low", "一般关注", 6),
}
HAND_COMPOSITE = 289 / 480  # (0.5 + 1 + 0.85 + 0.6 + 0.2 + 0.4 + 0.8 + 1.4/3) / 8 = 0.6021: medium


def test_a_hand_computed_scorecard(catalogue):
    levels = {}
    for c, (leaf_levels, *_) in HAND.items():
        levels |= dict(zip([i.indicator_id for i in catalogue.leaves_of(c)], leaf_levels, strict=True))
    card = synthesize(levels, flat_profile(catalogue), catalogue)
    for c, (_, likelihood, band, attention_zh, rank) in HAND.items():
        got = card.criterion(c)
        assert got.likelihood == pytest.approx(likelihood, abs=1e-12), c
        assert got.score == pytest.approx(likelihood / 8, abs=1e-12), c
        assert (got.band, got.attention_zh, got.rank) == (band, attention_zh, rank), c
    assert card.composite == pytest.approx(HAND_COMPOSITE, abs=1e-12)
    assert (card.rating, card.rating_zh) == ("medium", "中等")
    leaf = {x.indicator_id: x for x in card.leaves}
    assert leaf["DC2"].level == 1.0 and leaf["DC2"].global_weight == pytest.approx(1 / 16, abs=1e-15)


def test_ties_keep_the_criterion_order(catalogue):
    equal = flat_profile(catalogue)
    card = synthesize({i: 0.6 for i in catalogue.indicator_ids}, equal, catalogue)
    assert [c.rank for c in card.criteria] == list(range(1, 9))
    c_of = dict.fromkeys(catalogue.criterion_ids, 0.4) | {"u3": 0.8, "u7": 0.8}
    card = synthesize(levels_at(catalogue, c_of), equal, catalogue)
    assert card.criterion("u3").rank == 1 and card.criterion("u7").rank == 2 and card.criterion("u1").rank == 3


def test_missing_or_impossible_levels_are_errors_never_low_risk(default_profile, catalogue):
    levels = {i: 0.2 for i in catalogue.indicator_ids}
    with pytest.raises(SynthesisError, match="no level for 1 leaf indicator.*CO3"):
        synthesize({k: v for k, v in levels.items() if k != "CO3"}, default_profile, catalogue)
    with pytest.raises(SynthesisError, match="no level.*LG2"):
        synthesize(levels | {"LG2": None}, default_profile, catalogue)
    with pytest.raises(SynthesisError, match="must be one of.*SP1 = 0.5"):
        synthesize(levels | {"SP1": 0.5}, default_profile, catalogue)
    with pytest.raises(SynthesisError, match="not in the catalogue: ZZ1"):
        synthesize(levels | {"ZZ1": 0.2}, default_profile, catalogue)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_composite_is_the_global_weighted_level_sum(data, default_profile, catalogue):
    levels = {i: data.draw(st.sampled_from(LEVELS), label=i) for i in catalogue.indicator_ids}
    card = synthesize(levels, default_profile, catalogue)
    g = default_profile.global_weights
    assert card.composite == pytest.approx(math.fsum(g[i] * levels[i] for i in levels), rel=1e-12)
    assert 0.2 - 1e-12 <= card.composite <= 1.0 + 1e-12
    # the composite is a weighted mean of the levels: its rating lies between the bands of the lowest and the
    # highest leaf level (the method document's band of each level, lowest first)
    order = ["very low", "low", "medium", "high", "very high"]
    band_of_level = dict(zip((0.2, 0.4, 0.6, 0.8, 1.0), order, strict=True))
    low, high = band_of_level[min(levels.values())], band_of_level[max(levels.values())]
    assert order.index(low) <= order.index(card.rating) <= order.index(high)
    assert sorted(c.rank for c in card.criteria) == list(range(1, 9))


def test_all_levels_equal_give_that_band_everywhere(default_profile, catalogue):
    for level, band in zip((0.2, 0.4, 0.6, 0.8, 1.0), ("very low", "low", "medium", "high", "very high"), strict=True):
        card = synthesize({i: level for i in catalogue.indicator_ids}, default_profile, catalogue)
        assert card.rating == band and {c.band for c in card.criteria} == {band}
        assert card.composite == pytest.approx(level, abs=1e-12)
