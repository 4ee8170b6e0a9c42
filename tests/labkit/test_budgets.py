"""labkit.budgets: seeded digit-crop splits, size helpers, weighted fits, ONNX sessions, plots."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from labkit.budgets import (
    BUDGET_COLUMNS,
    N_PIXELS,
    SPLIT_SIZES,
    file_size,
    fit_weighted,
    load_crops,
    onnx_session,
    pickled_size,
    plot_budgets,
    plot_crops,
)


def test_budgets_crops_split_sizes_and_types():
    d = load_crops(seed=0)
    assert len(d.X_train) == len(d.y_train) == SPLIT_SIZES["train"]
    assert len(d.X_transfer) == SPLIT_SIZES["transfer"]
    assert len(d.X_val) == len(d.y_val) == SPLIT_SIZES["val"]
    assert len(d.X_test) == len(d.y_test) == 1797 - sum(SPLIT_SIZES.values())
    for X in (d.X_train, d.X_transfer, d.X_val, d.X_test):
        assert X.dtype == np.float64 and X.shape[1] == N_PIXELS
        assert X.min() >= 0 and X.max() <= 16
    assert d.y_train.dtype == np.int64 and set(np.unique(d.y_train)) == set(range(10))


def test_budgets_crops_disjoint_seeded_and_seed_dependent():
    a, b, c = load_crops(seed=0), load_crops(seed=0), load_crops(seed=1)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.X_train, c.X_train)
    # every bundled crop lands in exactly one split (the digits set holds a few exact duplicates)
    everything = np.vstack([a.X_train, a.X_transfer, a.X_val, a.X_test])
    assert len(everything) == 1797
    train = {row.tobytes() for row in a.X_train}
    overlap = sum(row.tobytes() in train for row in a.X_test)
    assert overlap <= 2


def test_budgets_sizes():
    small = LogisticRegression().fit([[0.0], [1.0]], [0, 1])
    big = LogisticRegression().fit(np.random.default_rng(0).normal(size=(40, 60)), [0, 1] * 20)
    assert 0 < pickled_size(small) < pickled_size(big)


def test_budgets_file_size(tmp_path):
    path = tmp_path / "m.bin"
    path.write_bytes(b"x" * 1234)
    assert file_size(path) == 1234 and file_size(str(path)) == 1234


def test_budgets_fit_weighted_plain_and_pipeline():
    X = np.zeros((40, 1))
    y = np.array([0, 1] * 20)
    w = np.where(y == 0, 0.8, 0.2)
    plain = fit_weighted(LogisticRegression(), X, y, w)
    assert abs(plain.predict_proba([[0.0]])[0, 0] - 0.8) < 1e-3
    pipe = make_pipeline(StandardScaler(), LogisticRegression())
    assert fit_weighted(pipe, X, y, w) is pipe
    assert abs(pipe.predict_proba([[0.0]])[0, 0] - 0.8) < 1e-3


def test_budgets_onnx_session_from_bytes_and_path(tmp_path):
    from skl2onnx import to_onnx

    d = load_crops(seed=0)
    model = LogisticRegression(max_iter=2000).fit(d.X_train / 16, d.y_train)
    onx = to_onnx(model, d.X_train[:1].astype(np.float32), options={"zipmap": False})
    path = tmp_path / "m.onnx"
    path.write_bytes(onx.SerializeToString())
    for session in (onnx_session(onx.SerializeToString()), onnx_session(path)):
        name = session.get_inputs()[0].name
        labels, _ = session.run(["label", "probabilities"],
                                {name: (d.X_val / 16).astype(np.float32)})
        assert np.mean(labels == model.predict(d.X_val / 16)) == 1.0


def _table() -> pd.DataFrame:
    return pd.DataFrame({"size_bytes": [9e6, 4e3], "latency_s": [3e-4, 1e-5],
                         "accuracy": [0.95, 0.93]}, index=["teacher", "student"])


def test_budgets_plots_draw():
    import matplotlib.pyplot as plt

    d = load_crops(seed=0)
    fig = plot_crops(d.X_train, d.y_train, n=5)
    assert len(fig.axes) == 5 and fig.axes[0].get_title() == str(d.y_train[0])
    axes = plot_budgets(_table(), {"max_bytes": 1e5, "max_latency_s": 1e-4, "min_accuracy": 0.92})
    assert len(axes) == 2 and axes[0].get_xscale() == "log"
    plt.close("all")


def test_budgets_plot_rejects_missing_columns():
    with pytest.raises(ValueError, match="lacks"):
        plot_budgets(_table().drop(columns=BUDGET_COLUMNS[1]),
                     {"max_bytes": 1, "max_latency_s": 1, "min_accuracy": 0})
