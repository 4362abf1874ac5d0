"""Newcombe's hybrid score interval against the paper's worked examples and statsmodels."""

from __future__ import annotations

import random

import pytest

from reconciler.stats import newcombe, wilson, z_two_sided

# Newcombe (1998), Table II, method 10 (95%): x1/n1 minus x2/n2 and the published limits.
PAPER = [
    ((56, 70, 48, 80), (0.0524, 0.3339)),
    ((9, 10, 3, 10), (0.1705, 0.8090)),
    ((6, 7, 2, 7), (0.0582, 0.8062)),
    ((5, 56, 0, 29), (-0.0381, 0.1926)),
    ((0, 10, 0, 20), (-0.1611, 0.2775)),
    ((0, 10, 0, 10), (-0.2775, 0.2775)),
    ((10, 10, 0, 20), (0.6791, 1.0000)),
    ((10, 10, 0, 10), (0.6075, 1.0000)),
]


@pytest.mark.parametrize(("counts", "published"), PAPER)
def test_the_interval_matches_the_papers_worked_examples_to_3_decimals(
    counts: tuple[int, int, int, int], published: tuple[float, float]
) -> None:
    low, high = newcombe(*counts, 0.95)
    assert round(low, 3) == round(published[0], 3)
    assert round(high, 3) == round(published[1], 3)


def test_the_interval_matches_statsmodels_on_generated_cases() -> None:
    from statsmodels.stats.proportion import confint_proportions_2indep

    rng = random.Random(14)
    for _ in range(400):
        n1, n2 = rng.randint(1, 2000), rng.randint(1, 2000)
        x1, x2 = rng.randint(0, n1), rng.randint(0, n2)
        confidence = rng.choice([0.8, 0.9, 0.95, 0.99])
        ours = newcombe(x1, n1, x2, n2, confidence)
        theirs = confint_proportions_2indep(
            x1, n1, x2, n2, method="newcomb", compare="diff", alpha=1 - confidence
        )
        assert ours == pytest.approx(tuple(float(v) for v in theirs), abs=1e-9), (
            x1,
            n1,
            x2,
            n2,
            confidence,
        )


def test_a_wilson_interval_stays_within_0_and_1_at_the_edges() -> None:
    z = z_two_sided(0.95)
    assert wilson(0, 10, z)[0] == pytest.approx(0.0, abs=1e-12)
    assert wilson(10, 10, z)[1] == pytest.approx(1.0, abs=1e-12)


def test_a_confidence_outside_0_and_1_is_refused() -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        z_two_sided(1.0)
