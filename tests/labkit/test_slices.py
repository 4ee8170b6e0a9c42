"""labkit.slices: seeded skewed parcels; the recall gap sits in a big slice, not the tiny worst."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

from labkit.slices import (
    CAMERAS,
    FEATURES,
    HUBS,
    SHIFTS,
    SLICES,
    TARGET,
    load_parcel_damage,
    make_parcels,
    plot_pr_curve,
    plot_slice_metrics,
)


def _recall_at_precision(y: np.ndarray, s: np.ndarray, bound: float) -> np.ndarray:
    """Flags at the lowest threshold whose precision reaches ``bound`` (a test-only helper)."""
    order = np.argsort(-s, kind="stable")
    precision = np.cumsum(y[order]) / np.arange(1, len(y) + 1)
    k = int(np.flatnonzero(precision >= bound).max())
    return s >= s[order][k]


def _dev_flags(seed: int):
    from sklearn.linear_model import LogisticRegression

    d = load_parcel_damage(seed)
    model = LogisticRegression().fit(d.train[list(FEATURES)], d.train[TARGET])
    scores = model.predict_proba(d.dev[list(FEATURES)])[:, 1]
    y = d.dev[TARGET].to_numpy()
    return d, y, scores, _recall_at_precision(y, scores, 0.8)


def test_columns_types_and_categories():
    df = make_parcels(2000, seed=0)
    assert list(df.columns) == [*SLICES, *FEATURES, TARGET]
    assert set(df["hub"]) == set(HUBS) and set(df["camera"]) == set(CAMERAS)
    assert set(df["shift"]) == set(SHIFTS)
    assert set(df[TARGET].unique()) == {0, 1} and pd.api.types.is_integer_dtype(df[TARGET])
    assert all(pd.api.types.is_float_dtype(df[f]) for f in FEATURES)


def test_same_seed_same_parcels_other_seed_other_parcels():
    pd.testing.assert_frame_equal(make_parcels(3000, seed=4), make_parcels(3000, seed=4))
    assert not make_parcels(3000, seed=4).equals(make_parcels(3000, seed=5))
    a, b = load_parcel_damage(1), load_parcel_damage(1)
    pd.testing.assert_frame_equal(a.dev, b.dev)


def test_split_sizes_and_disjoint_rows():
    d = load_parcel_damage(0)
    assert (len(d.train), len(d.dev), len(d.test)) == (20_000, 10_000, 10_000)
    for part in (d.train, d.dev, d.test):
        assert list(part.index) == list(range(len(part)))
    keys = [set(map(tuple, p[list(FEATURES)].to_numpy())) for p in (d.train, d.dev, d.test)]
    assert not (keys[0] & keys[1]) and not (keys[0] & keys[2]) and not (keys[1] & keys[2])


def test_prevalence_and_slice_shares():
    df = make_parcels(40_000, seed=0)
    # binomial standard deviation on 40,000 draws is about 0.001; 0.005 is five of them
    assert abs(df[TARGET].mean() - 0.04) < 0.005
    shares = df["camera"].value_counts(normalize=True)
    assert abs(shares["CX-200"] - 0.385) < 0.02 and abs(shares["VX-1"] - 0.05) < 0.01
    # the prototype camera runs in Lille only: hub=Lille inherits its weakness
    assert set(df.loc[df["camera"] == "VX-1", "hub"]) == {"Lille"}


def test_invalid_arguments_raise():
    with pytest.raises(ValueError):
        make_parcels(100, prevalence=0.0)
    with pytest.raises(ValueError):
        load_parcel_damage(0, fractions=(0.5, 0.5))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_big_mediocre_slice_beats_tiny_awful_one(seed):
    """The notebook's lesson: VX-1 has the worst recall, CX-200 the largest potential gain."""
    d, y, _, flags = _dev_flags(seed)
    cam = d.dev["camera"].to_numpy()
    n_pos = {c: int(y[cam == c].sum()) for c in CAMERAS}
    recall = {c: float(flags[(cam == c) & (y == 1)].mean()) for c in CAMERAS}
    assert recall["CX-300"] > recall["CX-200"] + 0.15 > recall["VX-1"] + 0.15
    gain = {c: n_pos[c] / sum(n_pos.values()) * (recall["CX-300"] - recall[c]) for c in CAMERAS}
    assert gain["CX-200"] > 2 * gain["VX-1"]
    # and the camera slice beats every hub and shift slice
    for attr in ("hub", "shift"):
        col = d.dev[attr].to_numpy()
        rec = {v: float(flags[(col == v) & (y == 1)].mean()) for v in np.unique(col)}
        best = max(rec.values())
        for v, r in rec.items():
            assert (y[col == v].sum() / y.sum()) * (best - r) < gain["CX-200"], (attr, v)


def test_balanced_weights_move_the_default_operating_point():
    from sklearn.linear_model import LogisticRegression

    d, y, scores, _ = _dev_flags(0)
    weighted = LogisticRegression(class_weight="balanced").fit(d.train[list(FEATURES)],
                                                               d.train[TARGET])
    sw = weighted.predict_proba(d.dev[list(FEATURES)])[:, 1]
    plain, heavy = scores >= 0.5, sw >= 0.5
    assert y[plain].mean() > 0.7 and y[heavy].mean() < 0.35  # precision at 0.5
    assert heavy[y == 1].mean() > 0.7 > plain[y == 1].mean()  # recall at 0.5
    # at the precision bound both models catch about the same share of damaged parcels
    r_plain = _recall_at_precision(y, scores, 0.8)[y == 1].mean()
    r_heavy = _recall_at_precision(y, sw, 0.8)[y == 1].mean()
    assert abs(r_plain - r_heavy) < 0.05


def test_plots_return_matplotlib_objects():
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(0)
    y = (rng.random(500) < 0.1).astype(int)
    s = rng.random(500) + y
    ax = plot_pr_curve(y, s, threshold=1.2, min_precision=0.8)
    assert ax.get_xlabel().startswith("recall") and len(ax.lines) == 4
    rep = pd.DataFrame({"n_pos": [3, 5], "precision": [0.5, 0.9], "recall": [0.2, 0.7]},
                       index=["a", "b"])
    fig = plot_slice_metrics({"camera": rep, "shift": rep.iloc[:1]})
    assert len(fig.axes) == 2
    plt.close("all")
