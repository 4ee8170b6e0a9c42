"""labkit.feature_data: timestamped orders with restaurants, and a picklable domain transformer."""

from __future__ import annotations

import pickle

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import NotFittedError

from labkit.deliveries import CITIES, LABEL
from labkit.feature_data import (
    COLUMNS,
    RESTAURANT,
    TIME,
    DeliveryFeatures,
    make_order_log,
    plot_prediction_skew,
    plot_scores,
)


def test_feature_log_is_seeded():
    a, b = make_order_log(500, seed=3), make_order_log(500, seed=3)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(make_order_log(500, seed=4))


def test_feature_log_columns_order_and_time():
    log = make_order_log(2000, seed=1, start="2026-01-05", days=56)
    assert list(log.columns) == list(COLUMNS)
    assert log[TIME].is_monotonic_increasing and log[TIME].is_unique
    assert log["order_id"].is_unique
    assert log[TIME].min() >= pd.Timestamp("2026-01-05")
    assert log[TIME].max() < pd.Timestamp("2026-01-05") + pd.Timedelta(days=56)
    assert (log[TIME].dt.hour == log["hour"]).all(), "hour is the hour the order was placed"
    assert (log[LABEL] >= 5.0).all()
    assert 0.005 < log["weather"].isna().mean() < 0.04
    assert not log.drop(columns="weather").isna().any().any()


def test_feature_log_restaurants_belong_to_one_city_and_are_shared():
    a = make_order_log(3000, seed=0, restaurant_seed=2)
    b = make_order_log(3000, seed=9, start="2026-03-02", restaurant_seed=2)
    for log in (a, b):
        assert log.groupby(RESTAURANT)["city"].nunique().max() == 1
        assert set(log["city"]) == set(CITIES)
    home_a = a.groupby(RESTAURANT)["city"].first()
    home_b = b.groupby(RESTAURANT)["city"].first()
    shared = home_a.index.intersection(home_b.index)
    assert len(shared) > 300 and (home_a[shared] == home_b[shared]).all()
    # many small restaurants: that is what makes a per-restaurant label mean leak
    counts = a[RESTAURANT].value_counts()
    assert (counts <= 2).mean() > 0.4 and counts.max() < 100


def test_feature_log_restaurant_delay_is_persistent():
    """The restaurants' mean ETAs agree between two logs that share restaurant_seed."""
    a = make_order_log(6000, seed=0, restaurant_seed=1, n_restaurants=100)
    b = make_order_log(6000, seed=5, restaurant_seed=1, n_restaurants=100)
    c = make_order_log(6000, seed=5, restaurant_seed=7, n_restaurants=100)
    mean_a = a.groupby(RESTAURANT)[LABEL].mean()
    assert mean_a.corr(b.groupby(RESTAURANT)[LABEL].mean()) > 0.7
    assert abs(mean_a.corr(c.groupby(RESTAURANT)[LABEL].mean())) < 0.4


def test_feature_log_drift_and_bad_arguments():
    clean = make_order_log(3000, seed=2)
    late = make_order_log(3000, seed=2, drift={"hour": 1.0})
    assert late["hour"].mean() > clean["hour"].mean() + 0.5
    with pytest.raises(ValueError):
        make_order_log(0)
    with pytest.raises(ValueError):
        make_order_log(10, n_restaurants=3)


def _orders() -> pd.DataFrame:
    return pd.DataFrame({"distance_km": [2.0, 5.0, 3.0, 4.0],
                         "hour": [12, 15, 20, 21],
                         "weather": ["rain", "snow", None, "clear"],
                         "other": [1, 2, 3, 4]})


def test_delivery_features_values_and_names():
    out = DeliveryFeatures().fit(_orders()).transform(_orders())
    expected = np.array([[1.0, 2.0, 2.0],     # rush hour, rain
                         [0.0, 0.0, 5.0],     # snow
                         [1.0, 3.0, 0.0],     # unknown weather counts as dry
                         [0.0, 0.0, 0.0]])
    assert out.dtype == float and np.array_equal(out, expected)
    names = DeliveryFeatures().fit(_orders()).get_feature_names_out()
    assert list(names) == ["is_rush", "rush_km", "wet_km"]


def test_delivery_features_checks_fit_and_columns():
    with pytest.raises(NotFittedError):
        DeliveryFeatures().transform(_orders())
    with pytest.raises(ValueError):
        DeliveryFeatures().fit(_orders().drop(columns="weather"))


def test_delivery_features_row_by_row_clone_and_pickle():
    orders = _orders()
    ct = ColumnTransformer([("trip", DeliveryFeatures(), ["distance_km", "hour", "weather"])])
    batch = ct.fit_transform(orders)
    alone = np.vstack([ct.transform(orders.iloc[[i]]) for i in range(len(orders))])
    assert np.array_equal(batch, alone)
    again = pickle.loads(pickle.dumps(ct))
    assert np.array_equal(again.transform(orders), batch)
    assert type(clone(DeliveryFeatures())) is DeliveryFeatures
    assert list(ct.get_feature_names_out()) == ["trip__is_rush", "trip__rush_km", "trip__wet_km"]


def test_feature_plots_draw_and_label():
    import matplotlib.pyplot as plt

    ax = plot_prediction_skew([10.0, 20.0, 30.0], [11.0, 20.0, 33.0])
    try:
        assert "mean |gap| 1.33" in ax.get_title() and "max 3.0" in ax.get_title()
        assert len(ax.collections) == 1 and len(ax.lines) == 1
    finally:
        plt.close(ax.figure)
    ax = plot_scores({"validation": 3.3, "production": 5.2})
    try:
        at = {float(y): t.get_text() for y, t in zip(ax.get_yticks(), ax.get_yticklabels(),
                                                      strict=True)}
        assert at[max(at)] == "validation", "the first score is drawn on top"
        assert len(ax.patches) == 2
    finally:
        plt.close(ax.figure)
