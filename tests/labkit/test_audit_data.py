"""labkit.audit_data: seeded claims with known informative, noise and proxy columns, a TPR gap."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

from labkit.audit_data import (
    FEATURES,
    GROUP,
    GROUPS,
    INFORMATIVE,
    NOISE,
    PROXY,
    TARGET,
    load_claims,
    make_claims,
    plot_group_tpr,
    plot_importances,
)


def _auc_strength(values: np.ndarray, labels: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return abs(2 * roc_auc_score(labels, values) - 1)


def test_columns_types_and_values():
    df = make_claims(2000, seed=0)
    assert list(df.columns) == [GROUP, *FEATURES, TARGET]
    assert set(df[GROUP]) == set(GROUPS)
    assert set(df[TARGET].unique()) == {0, 1} and set(df[PROXY].unique()) == {0, 1}
    for name in ("photos", "prior_claims", "hour_filed", PROXY, TARGET):
        assert pd.api.types.is_integer_dtype(df[name]), name
    counts = ["tracking_gap_days", "photos", "prior_claims", "weight_kg", "distance_km"]
    assert (df[counts] >= 0).all().all()
    assert df["hour_filed"].between(0, 23).all()


def test_same_seed_same_claims_other_seed_other_claims():
    pd.testing.assert_frame_equal(make_claims(3000, seed=4), make_claims(3000, seed=4))
    assert not make_claims(3000, seed=4).equals(make_claims(3000, seed=5))
    pd.testing.assert_frame_equal(load_claims(1).dev, load_claims(1).dev)


def test_split_sizes_and_disjoint_rows():
    d = load_claims(0)
    assert (len(d.train), len(d.dev), len(d.test)) == (6000, 3000, 3000)
    for part in (d.train, d.dev, d.test):
        assert list(part.index) == list(range(len(part)))
    keys = [set(map(tuple, p[list(FEATURES)].to_numpy())) for p in (d.train, d.dev, d.test)]
    # continuous columns make every claim unique: the splits share no row
    assert not (keys[0] & keys[1]) and not (keys[0] & keys[2]) and not (keys[1] & keys[2])


def test_base_rates_and_proxy_differ_by_group():
    df = make_claims(40_000, seed=0)
    senior = df[GROUP] == "65+"
    # binomial sd on ~14,000 / ~26,000 draws is below 0.005; 0.02 is four of them
    assert abs(senior.mean() - 0.35) < 0.02
    assert abs(df.loc[~senior, TARGET].mean() - 0.62) < 0.02
    assert abs(df.loc[senior, TARGET].mean() - 0.48) < 0.02
    assert abs(df.loc[~senior, PROXY].mean() - 0.90) < 0.02
    assert abs(df.loc[senior, PROXY].mean() - 0.15) < 0.02
    # the proxy says nothing about validity within an age band
    for band in GROUPS:
        part = df[df[GROUP] == band]
        assert abs(part.loc[part[PROXY] == 1, TARGET].mean()
                   - part.loc[part[PROXY] == 0, TARGET].mean()) < 0.03, band


def test_noise_is_unrelated_and_informative_features_are_informative():
    df = make_claims(20_000, seed=1)
    y = df[TARGET].to_numpy()
    senior = (df[GROUP] == "65+").to_numpy()
    for name in NOISE:
        # |2 AUC - 1| of an unrelated column on 20,000 rows has sd ~0.01
        assert _auc_strength(df[name].to_numpy(float), y) < 0.04, name
        assert _auc_strength(df[name].to_numpy(float), senior) < 0.04, name
    for name in INFORMATIVE:
        assert _auc_strength(df[name].to_numpy(float), y) > 0.25, name
    # the proxy is the strongest link to the age band, photos the second
    assert _auc_strength(df[PROXY].to_numpy(float), senior) > 0.7
    assert 0.5 < _auc_strength(df["photos"].to_numpy(float), senior) < 0.7


def test_an_unaware_model_has_a_tpr_gap_that_survives_dropping_the_proxy():
    from sklearn.ensemble import GradientBoostingClassifier

    d = load_claims(0)
    y, g = d.test[TARGET].to_numpy(), d.test[GROUP].to_numpy()

    def gap(features: list[str]) -> float:
        model = GradientBoostingClassifier(max_depth=5, random_state=0)
        pred = model.fit(d.train[features], d.train[TARGET]).predict(d.test[features])
        tpr = [pred[(g == band) & (y == 1)].mean() for band in GROUPS]
        assert (pred == y).mean() > 0.8
        return tpr[0] - tpr[1]

    with_proxy = gap(list(FEATURES))
    without_proxy = gap([f for f in FEATURES if f != PROXY])
    # the notebook relies on: under-65 TPR higher by far more than the 0.05 bound, and not
    # reduced by deleting the proxy (measured 0.220 and 0.257)
    assert with_proxy > 0.15
    assert without_proxy > with_proxy


def test_invalid_arguments_raise():
    with pytest.raises(ValueError):
        make_claims(100, share_65_plus=1.0)
    with pytest.raises(ValueError):
        load_claims(0, fractions=(0.5, 0.5))
    with pytest.raises(ValueError):
        load_claims(0, fractions=(0.6, 0.3, 0.3))


def test_plots_draw_one_bar_per_feature_and_group():
    table = pd.DataFrame({"importance_mean": np.linspace(0.0, 0.1, len(FEATURES)),
                          "importance_std": np.full(len(FEATURES), 0.01)}, index=list(FEATURES))
    ax = plot_importances({"test": table, "train": table * 2})
    assert len(ax.patches) == 2 * len(FEATURES)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[-1] == f"{FEATURES[-1]}"  # sorted by importance, largest at the top
    assert sum(label.endswith("*") for label in labels) == len(INFORMATIVE)

    rates = pd.DataFrame({"tpr": [0.7, 0.9]}, index=["65+", "under 65"])
    ax = plot_group_tpr({"before": rates, "after": rates.assign(tpr=[0.85, 0.86])}, bound=0.05)
    assert len(ax.patches) == 4
    assert "gap 0.200" in ax.get_legend().get_texts()[0].get_text()
    import matplotlib.pyplot as plt

    plt.close("all")
