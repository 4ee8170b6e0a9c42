"""Unit tests for labkit.human_labels: seeded, look-alike operator mistakes."""

from __future__ import annotations

import numpy as np
import pytest

from labkit.human_labels import (
    DEFAULT_OPERATORS,
    LOOKALIKE_PAIRS,
    Operator,
    operator_errors,
    plot_operator_mistakes,
    simulate_operator_labels,
    simulate_team,
)

Y = np.tile(np.arange(10), 2000)  # 20,000 balanced digits


def test_same_seed_same_labels_other_seed_other_labels():
    a = simulate_operator_labels(Y, confusion_rate=0.05, slip_rate=0.01, seed=3)
    b = simulate_operator_labels(Y, confusion_rate=0.05, slip_rate=0.01, seed=3)
    c = simulate_operator_labels(Y, confusion_rate=0.05, slip_rate=0.01, seed=4)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_shape_and_dtype_preserved_and_input_untouched():
    y = Y.astype(np.int16)
    before = y.copy()
    out = simulate_operator_labels(y, confusion_rate=0.5, slip_rate=0.5, seed=0)
    assert out.shape == y.shape and out.dtype == np.int16
    np.testing.assert_array_equal(y, before)


def test_zero_rates_are_perfect():
    out = simulate_operator_labels(Y, confusion_rate=0.0, slip_rate=0.0, seed=0)
    np.testing.assert_array_equal(out, Y)


def test_confusions_only_swap_lookalike_partners():
    out = simulate_operator_labels(Y, confusion_rate=0.2, slip_rate=0.0, seed=1)
    partner = {a: b for a, b in LOOKALIKE_PAIRS} | {b: a for a, b in LOOKALIKE_PAIRS}
    wrong = out != Y
    assert wrong.any()
    assert all(partner[int(t)] == int(k) for t, k in zip(Y[wrong], out[wrong], strict=True))
    # 0 and 2 have no look-alike partner: never confused
    assert not wrong[np.isin(Y, [0, 2])].any()


def test_confusion_rate_is_respected():
    out = simulate_operator_labels(Y, confusion_rate=0.05, seed=2)
    in_pairs = np.isin(Y, np.ravel(LOOKALIKE_PAIRS))
    rate = np.mean(out[in_pairs] != Y[in_pairs])
    # 16,000 Bernoulli(0.05) draws: standard error 0.0017, 4 standard errors of slack
    assert abs(rate - 0.05) < 0.007


def test_slips_always_change_the_digit_at_the_given_rate():
    out = simulate_operator_labels(Y, confusion_rate=0.0, slip_rate=0.1, seed=5)
    assert out.min() >= 0 and out.max() <= 9
    # a slip never lands back on the true digit, so the error rate is the slip rate
    assert abs(np.mean(out != Y) - 0.1) < 0.01  # standard error 0.0021
    # slips reach digits that are no look-alike of the truth
    assert np.any((Y == 0) & (out != 0))


@pytest.mark.parametrize("kwargs", [{"confusion_rate": -0.1}, {"confusion_rate": 0.1,
                                                              "slip_rate": 1.5}])
def test_invalid_rates_raise(kwargs):
    with pytest.raises(ValueError, match="rate"):
        simulate_operator_labels(Y, **kwargs)


def test_team_is_seeded_independent_and_ordered_by_skill():
    team = simulate_team(Y, seed=0)
    assert list(team) == [op.name for op in DEFAULT_OPERATORS]
    np.testing.assert_array_equal(team["regular"], simulate_team(Y, seed=0)["regular"])
    errors = operator_errors(Y, team)
    assert all(type(v) is float for v in errors.values())
    assert errors["veteran"] < errors["regular"] < errors["newcomer"]
    # independent streams: two operators with the same habits still disagree somewhere
    twins = simulate_team(Y, [Operator("a", 0.05), Operator("b", 0.05)], seed=0)
    assert not np.array_equal(twins["a"], twins["b"])


def test_team_rejects_duplicate_names():
    with pytest.raises(ValueError, match="unique"):
        simulate_team(Y, [Operator("a", 0.1), Operator("a", 0.2)])


def test_plot_shows_only_mistakes():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    y = np.array([1, 2, 3, 4])
    keyed = np.array([7, 2, 8, 4])
    images = np.zeros((4, 8, 8))
    fig = plot_operator_mistakes(images, y, keyed, n=3, title="t")
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["1 -> 7", "3 -> 8", ""]
    plt.close(fig)
