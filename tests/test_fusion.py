"""Fusion arithmetic on small hand-checked inputs."""
from __future__ import annotations

import numpy as np

from qa.fusion import ScoreStats, neighbour_smoothing, reciprocal_rank_fusion, standardise


def test_standardise_and_zscore_mix():
    z = standardise(np.array([1.0, 2.0, 3.0]))
    assert np.allclose(z, [-1.224745, 0.0, 1.224745], atol=1e-6)
    assert np.allclose(standardise(np.array([5.0, 5.0])), 0.0)  # no spread: no signal
    # mean and spread come from the allowed items only
    assert np.allclose(standardise(np.array([0.0, 2.0, 100.0]), np.array([True, True, False]))[:2], [-1.0, 1.0])
    dense, bm25 = ScoreStats.of(np.array([1.0, 2.0, 3.0])), ScoreStats.of(np.array([3.0, 2.0, 1.0]))
    mixed = 0.75 * dense.z(np.array([3.0])) + 0.25 * bm25.z(np.array([1.0]))  # an item scored 3 and 1
    assert np.isclose(mixed[0], 0.75 * 1.224745 - 0.25 * 1.224745, atol=1e-6)
    assert np.allclose(ScoreStats.of(np.array([])).z(np.array([1.0])), 0.0)


def test_rrf_weights_and_ranks():
    fused = reciprocal_rank_fusion([(np.array([7, 3]), 1.0), (np.array([3]), 2.0), (np.array([9]), 0.0)], k=60)
    assert fused == {7: 1 / 61, 3: 1 / 62 + 2 / 61}


def test_neighbour_smoothing_adds_the_best_scored_neighbour():
    scores = {0: 1.0, 1: 3.0, 2: -0.5, 3: 2.0}
    neighbours = np.array([[1, 2], [0, -1], [3, 4], [5, -1], [0, 1], [3, 4]], dtype=np.int32)
    out = neighbour_smoothing(scores, [0, 1, 2, 3], neighbours, weight=0.2)
    assert out == {0: 1.0 + 0.2 * 3.0, 1: 3.0 + 0.2 * 1.0, 2: -0.5 + 0.2 * 2.0, 3: 2.0}
    # a negative best neighbour lowers the score; weight 0 changes nothing
    assert neighbour_smoothing({0: 1.0, 1: -2.0}, [0], np.array([[1], [0]]), 0.5) == {0: 0.0}
    assert neighbour_smoothing(scores, [0, 2], neighbours, 0.0) == {0: 1.0, 2: -0.5}
