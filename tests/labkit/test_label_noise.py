"""Unit tests for labkit.label_noise: seeded class-dependent label noise and cleaner tools."""

from __future__ import annotations

import numpy as np
import pytest

from labkit.human_labels import LOOKALIKE_PAIRS
from labkit.label_noise import (
    accuracy_vs_size,
    detection_scores,
    inject_label_noise,
    load_noisy_digits,
    plot_suspects,
)

Y = np.tile(np.arange(10), 500)  # 5,000 balanced digits
PARTNER = {a: b for a, b in LOOKALIKE_PAIRS} | {b: a for a, b in LOOKALIKE_PAIRS}


def test_same_seed_same_noise_other_seed_other_noise():
    a = inject_label_noise(Y, rate=0.1, seed=3)
    b = inject_label_noise(Y, rate=0.1, seed=3)
    c = inject_label_noise(Y, rate=0.1, seed=4)
    np.testing.assert_array_equal(a.y_noisy, b.y_noisy)
    np.testing.assert_array_equal(a.flipped, b.flipped)
    assert not np.array_equal(a.flipped, c.flipped)


def test_exact_number_of_flips_and_flipped_are_exactly_the_changed_rows():
    y = Y.astype(np.int16)
    before = y.copy()
    noisy = inject_label_noise(y, rate=0.12, seed=0)
    assert noisy.y_noisy.shape == y.shape and noisy.y_noisy.dtype == np.int16
    np.testing.assert_array_equal(y, before)  # input untouched
    assert len(noisy.flipped) == round(0.12 * len(y))
    np.testing.assert_array_equal(noisy.flipped, np.flatnonzero(noisy.y_noisy != y))
    assert noisy.y_noisy.min() >= 0 and noisy.y_noisy.max() <= 9


def test_zero_rate_changes_nothing():
    noisy = inject_label_noise(Y, rate=0.0, seed=0)
    np.testing.assert_array_equal(noisy.y_noisy, Y)
    assert noisy.flipped.size == 0


def test_noise_is_class_dependent_lookalikes_dominate():
    noisy = inject_label_noise(Y, rate=0.1, seed=1, lookalike_share=0.8)
    true, keyed = Y[noisy.flipped], noisy.y_noisy[noisy.flipped]
    swaps = np.array([PARTNER.get(int(t)) == int(k) for t, k in zip(true, keyed, strict=True)])
    # 400 of the 500 flips are look-alike swaps; slips land on a partner 1 time in 9 at most
    assert 400 <= swaps.sum() <= 400 + 100 / 9 * 3
    # 0 and 2 have no partner: only slips reach them, so far fewer of them are wrong
    rate = {d: np.mean(noisy.y_noisy[np.equal(Y, d)] != d) for d in range(10)}
    assert max(rate[0], rate[2]) < min(rate[d] for d in PARTNER) / 2


def test_only_slips_when_lookalike_share_is_zero():
    noisy = inject_label_noise(Y, rate=0.2, seed=2, lookalike_share=0.0)
    wrong = Y[noisy.flipped]
    # slips hit every class about equally, including 0 and 2
    counts = np.bincount(wrong, minlength=10)
    assert counts.min() > 0.5 * counts.mean()


def test_too_few_lookalike_rows_fall_back_to_slips():
    y = np.array([0, 2, 0, 2, 1, 0, 2, 0, 2, 0])  # a single look-alike row
    noisy = inject_label_noise(y, rate=0.5, seed=0, lookalike_share=1.0)
    assert len(noisy.flipped) == 5


@pytest.mark.parametrize("kwargs", [{"rate": -0.1}, {"rate": 1.1},
                                    {"rate": 0.1, "lookalike_share": 2.0}])
def test_invalid_fractions_raise(kwargs):
    with pytest.raises(ValueError, match="must be in"):
        inject_label_noise(Y, **kwargs)


def test_load_noisy_digits_shapes_clean_test_and_seeded():
    d = load_noisy_digits(seed=0)
    assert d.X_train.shape == (700, 64) and d.X_extra.shape == (647, 64)
    assert d.X_test.shape == (450, 64) and d.images_train.shape == (700, 8, 8)
    assert d.X_train.min() >= 0.0 and d.X_train.max() <= 1.0
    # 12% of the training labels are wrong, exactly at the flipped rows
    np.testing.assert_array_equal(d.flipped, np.flatnonzero(d.y_train != d.y_train_true))
    assert len(d.flipped) == 84
    assert 0.08 < np.mean(d.y_extra != d.y_extra_true) < 0.16
    # the three parts are disjoint images of the 1,797 digits
    rows = np.concatenate([d.X_train, d.X_extra, d.X_test])
    assert len(rows) == 1797
    # the images match the features
    np.testing.assert_allclose(d.images_train.reshape(700, 64) / 16.0, d.X_train)
    # stratified: every digit appears in the test set in its share (about 45 each)
    assert np.bincount(d.y_test, minlength=10).min() >= 43
    same = load_noisy_digits(seed=0)
    np.testing.assert_array_equal(same.y_train, d.y_train)
    other = load_noisy_digits(seed=1)
    assert not np.array_equal(other.X_train, d.X_train)


def test_train_and_extra_noise_are_independent():
    d = load_noisy_digits(seed=0, rate=0.2)
    assert len(d.flipped) == 140
    assert abs(np.mean(d.y_extra != d.y_extra_true) - 0.2) < 0.01


def test_review_returns_the_true_labels_without_aliasing():
    d = load_noisy_digits(seed=0)
    reviewed = d.review(d.flipped[:5])
    np.testing.assert_array_equal(reviewed, d.y_train_true[d.flipped[:5]])
    assert np.all(reviewed != d.y_train[d.flipped[:5]])
    reviewed[:] = -1
    assert d.y_train_true.min() >= 0


def test_detection_scores_by_hand():
    assert detection_scores([1, 2, 3, 4], [2, 4, 6]) == (0.5, 2 / 3)
    assert detection_scores(np.array([], dtype=int), [1]) == (0.0, 0.0)
    assert detection_scores([1, 1, 2], [1, 2]) == (1.0, 1.0)
    p, r = detection_scores(np.array([5]), np.array([5]))
    assert type(p) is float and type(r) is float


def test_accuracy_vs_size_clean_labels_beat_noisy_ones():
    from sklearn.linear_model import LogisticRegression

    d = load_noisy_digits(seed=0)
    curves = accuracy_vs_size(LogisticRegression(max_iter=1000), d.X_train,
                              {"noisy": d.y_train, "true": d.y_train_true},
                              d.X_test, d.y_test, [150, 700], repeats=2, seed=0)
    assert list(curves) == ["noisy", "true"]
    assert curves["noisy"].shape == (2,)
    # the property the notebook's picture relies on: the same rows, better labels, better model
    assert np.all(curves["true"] > curves["noisy"])
    assert curves["true"][1] > 0.93


def test_plot_suspects_captions_and_colours():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    images = np.zeros((2, 8, 8))
    fig = plot_suspects(images, np.array([7, 3]), np.array([1, 8]), truth=np.array([1, 3]), n=3,
                        title="t")
    axes = fig.axes
    assert [ax.get_title() for ax in axes] == ["7 -> 1", "3 -> 8", ""]
    assert matplotlib.colors.to_hex(axes[0].title.get_color()) == matplotlib.colors.to_hex(
        "tab:green")
    assert matplotlib.colors.to_hex(axes[1].title.get_color()) == matplotlib.colors.to_hex(
        "tab:red")
    plt.close(fig)
