"""training.stats on known answers: k-fold splits, AUROC (ties, the pairwise count), bootstrap
intervals of macro AUROC and their differences."""

from __future__ import annotations

import numpy as np
import pytest

from training.stats import auroc, average_ranks, bootstrap_macro, kfold, macro_auroc


def test_kfold_is_i_mod_k_or_a_seeded_split_of_the_same_sizes() -> None:
    np.testing.assert_array_equal(kfold(7, 3), [0, 1, 2, 0, 1, 2, 0])
    split = kfold(103, 5, seed=4)
    np.testing.assert_array_equal(split, kfold(103, 5, seed=4))  # repeatable
    assert not np.array_equal(split, kfold(103, 5))  # shuffled
    np.testing.assert_array_equal(np.bincount(split), np.bincount(kfold(103, 5)))


def test_average_ranks_share_ties() -> None:
    np.testing.assert_array_equal(
        average_ranks(np.array([3.0, 1.0, 3.0, 2.0, 3.0])), [4.0, 1.0, 4.0, 2.0, 4.0]
    )


def test_auroc_known_answers() -> None:
    y = np.array([0, 0, 1, 1])
    assert auroc(y, np.array([0.1, 0.2, 0.3, 0.4])) == 1.0
    assert auroc(y, np.array([0.4, 0.3, 0.2, 0.1])) == 0.0
    # pairs (pos, neg): 0.35>0.1, 0.35>0.4 no, 0.8>both -> 3 of 4
    assert auroc(y, np.array([0.1, 0.4, 0.35, 0.8])) == 0.75
    assert np.isnan(auroc(np.ones(3), np.arange(3.0)))


def test_auroc_ties_count_one_half() -> None:
    assert auroc(np.array([0, 1, 0, 1]), np.full(4, 0.5)) == 0.5
    # pos {0.5, 0.9} vs neg {0.5, 0.1}: 0.5 ties 0.5 (1/2), beats 0.1; 0.9 beats both -> 3.5 / 4
    assert auroc(np.array([1, 0, 1, 0]), np.array([0.5, 0.5, 0.9, 0.1])) == 0.875


def test_auroc_matches_pairwise_count() -> None:
    """The rank formula equals the fraction of (positive, negative) pairs ordered right."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    s = np.round(rng.normal(size=200) + y, 1)  # rounding makes many ties
    pos, neg = s[y == 1][:, None], s[y == 0][None, :]
    pairwise = ((pos > neg).sum() + 0.5 * (pos == neg).sum()) / (pos.size * neg.size)
    assert auroc(y, s) == pytest.approx(pairwise, abs=1e-12)


def test_macro_and_bootstrap() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, (300, 5))
    good = y + rng.normal(0, 0.5, y.shape)
    noise = rng.normal(size=y.shape)
    macro, per_class = macro_auroc(y, good)
    assert macro == pytest.approx(np.mean(per_class)) and macro > 0.8
    boot = bootstrap_macro(y, {"good": good, "noise": noise}, [("good", "noise")], 200, seed=0)
    lo, hi = boot["ci"]["good"]
    assert lo < macro < hi
    assert boot["ci"]["noise"][0] < 0.5 < boot["ci"]["noise"][1]
    diff = boot["differences"]["good - noise"]
    assert diff["difference"] == pytest.approx(macro - macro_auroc(y, noise)[0])
    assert diff["ci"][0] > 0


def test_bootstrap_refuses_a_class_without_positives() -> None:
    """Every draw would be redrawn for ever; a small part of fold 9 can lack a class."""
    y = np.tile([1, 0, 1, 0, 1], (6, 1))
    y[::2, 0] = 0
    with pytest.raises(ValueError, match="no positive or no negative"):
        bootstrap_macro(y, {"a": np.random.default_rng(0).random(y.shape)}, [], 10, seed=0)
