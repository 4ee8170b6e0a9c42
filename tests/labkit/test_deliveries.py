"""labkit.deliveries: seeded orders, drift within business bounds, truthful anomaly injection."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

from labkit.deliveries import (
    ANOMALY_KINDS,
    CATEGORICAL,
    CITIES,
    FEATURES,
    LABEL,
    NUMERIC,
    WEATHER,
    inject_anomalies,
    make_orders,
    plot_shift,
)


def _share_outside(train: pd.Series, other: pd.Series) -> float:
    """A crude drift measure for the tests: total variation between value shares."""
    p = train.value_counts(normalize=True)
    q = other.value_counts(normalize=True)
    return float(p.sub(q, fill_value=0.0).abs().sum() / 2)


def test_same_seed_same_frame_other_seed_other_frame():
    a, b = make_orders(500, seed=3), make_orders(500, seed=3)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(make_orders(500, seed=4))


def test_columns_dtypes_and_bounds():
    df = make_orders(3000, seed=0)
    assert list(df.columns) == [*FEATURES, LABEL]
    assert len(df) == 3000
    for column in (*NUMERIC, LABEL):
        assert pd.api.types.is_numeric_dtype(df[column])
    for column in CATEGORICAL:
        assert not pd.api.types.is_numeric_dtype(df[column])
    assert pd.api.types.is_integer_dtype(df["items"]) and pd.api.types.is_integer_dtype(df["hour"])
    assert df["distance_km"].between(0.3, 12.3).all()
    assert df["items"].between(1, 8).all()
    assert df["hour"].between(10, 23).all()
    assert (df[LABEL] >= 5.0).all()
    assert set(df["city"]) == set(CITIES)
    assert set(df["weather"].dropna()) == set(WEATHER)


def test_only_weather_has_nulls():
    df = make_orders(3000, seed=1)
    share = df["weather"].isna().mean()
    assert 0.01 < share < 0.03
    assert not df.drop(columns="weather").isna().any().any()


def test_label_depends_on_distance():
    df = make_orders(3000, seed=2)
    assert df["distance_km"].corr(df[LABEL]) > 0.6


@pytest.mark.parametrize("feature", FEATURES)
def test_drift_moves_one_feature_within_bounds(feature):
    train = make_orders(3000, seed=10)
    clean = make_orders(3000, seed=11)
    drifted = make_orders(3000, seed=11, drift={feature: 1.0})
    if feature in NUMERIC:
        assert abs(drifted[feature].mean() - train[feature].mean()) > 0.3 * train[feature].std()
        assert drifted[feature].min() >= 0.3 and drifted[feature].max() <= 23
    else:
        assert _share_outside(train[feature].dropna(), drifted[feature].dropna()) > 0.15
        assert set(drifted[feature].dropna()) <= set(train[feature].dropna())
    for other in FEATURES:
        if other != feature and other in NUMERIC:
            assert abs(clean[other].mean() - drifted[other].mean()) < 1e-12
    assert drifted["distance_km"].max() <= 12.3 and drifted["hour"].between(10, 23).all()


def test_drift_rejects_unknown_features_and_strengths():
    with pytest.raises(ValueError):
        make_orders(10, drift={"speed": 0.5})
    with pytest.raises(ValueError):
        make_orders(10, drift={"hour": 1.5})


def _find(df: pd.DataFrame, reference: pd.DataFrame) -> list[tuple[str, str]]:
    """What broke, by direct comparison with the clean frame (not a schema validator)."""
    found = []
    for column in reference.columns:
        if column not in df.columns:
            found.append((column, "missing_column"))
            continue
        new, old = df[column], reference[column]
        if column in NUMERIC and not pd.api.types.is_numeric_dtype(new):
            found.append((column, "type_mismatch"))
        elif new.isna().sum() > old.isna().sum():
            found.append((column, "unexpected_null"))
        elif column in NUMERIC and ((new < 0) | (new > 100)).any():
            found.append((column, "out_of_range"))
        elif column in CATEGORICAL and not set(new.dropna()) <= set(old.dropna()):
            found.append((column, "unseen_category"))
        elif not new.equals(old):
            found.append((column, "unexplained change"))
    return sorted(found)


@pytest.mark.parametrize("seed", range(12))
def test_injection_truth_matches_the_damage(seed):
    clean = make_orders(1000, seed=100 + seed).drop(columns=LABEL)
    broken, truth = inject_anomalies(clean, seed=seed, n_anomalies=1 + seed % 5)
    assert len(truth) == 1 + seed % 5
    assert truth == sorted(truth)
    assert len({column for column, _ in truth}) == len(truth)  # one anomaly per column
    assert {kind for _, kind in truth} <= set(ANOMALY_KINDS)
    assert _find(broken, clean) == truth
    assert clean.equals(make_orders(1000, seed=100 + seed).drop(columns=LABEL))  # input untouched


def test_injection_is_seeded_and_spares_the_label():
    clean = make_orders(800, seed=5)
    a, ta = inject_anomalies(clean, seed=1, n_anomalies=5)
    b, tb = inject_anomalies(clean, seed=1, n_anomalies=5)
    assert ta == tb and a.equals(b)
    assert {kind for _, kind in ta} == set(ANOMALY_KINDS)
    assert LABEL not in {column for column, _ in ta}
    assert a[LABEL].equals(clean[LABEL])
    _, tc = inject_anomalies(clean, seed=2, n_anomalies=5)
    assert [c for c, _ in ta] != [c for c, _ in tc] or ta != tc


def test_injection_with_explicit_kinds_and_bad_requests():
    clean = make_orders(300, seed=6)
    _, truth = inject_anomalies(clean, seed=0, kinds=["unseen_category"])
    assert len(truth) == 1 and truth[0][0] in CATEGORICAL
    with pytest.raises(ValueError):
        inject_anomalies(clean, kinds=["exploded"])
    with pytest.raises(ValueError):
        inject_anomalies(clean, n_anomalies=6)
    with pytest.raises(ValueError):  # one numeric column for two numeric kinds
        inject_anomalies(clean[["city", "hour"]], kinds=["unseen_category", "type_mismatch",
                                                         "out_of_range"])


@pytest.mark.parametrize("column", ["distance_km", "hour", "weather"])
def test_plot_shift_draws_both_samples(column):
    import matplotlib.pyplot as plt

    train = make_orders(400, seed=0)
    serving = make_orders(400, seed=1, drift={"hour": 1.0})
    ax = plot_shift(train, serving, column)
    try:
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert labels == ["training", "serving"]
        assert ax.get_xlabel() == column
        assert len(ax.patches) >= 2  # one artist per sample at least
        low, high = ax.get_ylim()
        assert np.isfinite([low, high]).all() and high > 0
    finally:
        plt.close(ax.figure)
