"""Timestamped delivery orders with restaurants, and the team's shared feature code.

Course 2's running scenario (:mod:`labkit.deliveries`) grows a time axis and a restaurant:
each order has a ``placed_at`` timestamp and a ``restaurant_id``, and every restaurant adds
its own preparation delay to the delivery time. Many restaurants have only a handful of
orders, which is what makes a per-restaurant average of the label such a tempting (and
leaky) feature.

:class:`DeliveryFeatures` is a domain transformer that lives in a module on purpose: a
pipeline pickles its steps *by reference* (``labkit.feature_data.DeliveryFeatures``), so a
fresh serving process can load it only if the class can be imported there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from labkit.deliveries import CITIES, LABEL, make_orders

if TYPE_CHECKING:
    from matplotlib.axes import Axes

TIME = "placed_at"
RESTAURANT = "restaurant_id"
ORDER_ID = "order_id"
RAW_FEATURES = ("restaurant_id", "distance_km", "items", "hour", "weather", "city")
COLUMNS = (ORDER_ID, TIME, *RAW_FEATURES, LABEL)
RUSH_HOURS = (12, 13, 19, 20)  # lunch and dinner peaks: couriers are slower
WET_WEATHER = ("rain", "snow")
DELAY_SD = 5.0  # sd of the restaurants' preparation delays, minutes
N_RESTAURANTS = 1000


def _restaurants(n_restaurants: int, restaurant_seed: int) -> tuple[np.ndarray, np.ndarray,
                                                                      np.ndarray, np.ndarray]:
    """Ids, city, popularity (a few busy places, a long tail) and preparation delay of each."""
    rng = np.random.default_rng(10_000 + restaurant_seed)
    ids = np.array([f"R{i:04d}" for i in range(n_restaurants)], dtype=object)
    city = np.array(CITIES, dtype=object)[np.arange(n_restaurants) % len(CITIES)]
    popularity = rng.lognormal(0.0, 1.0, n_restaurants)
    delay = rng.normal(0.0, DELAY_SD, n_restaurants)  # minutes, on top of the trip
    return ids, city, popularity, delay


def make_order_log(n: int = 3000, *, seed: int = 0, start: str = "2026-01-05", days: int = 56,
                   n_restaurants: int = N_RESTAURANTS, restaurant_seed: int = 0,
                   drift: Mapping[str, float] | None = None) -> pd.DataFrame:
    """``n`` orders placed over ``days`` days from ``start``, sorted by ``placed_at``, seeded.

    Columns ``COLUMNS``: an ``order_id``, the ``placed_at`` timestamp (unique), the
    ``restaurant_id`` (a restaurant of the order's city) and the features of
    :func:`labkit.deliveries.make_orders` (``drift`` is passed on), and the label
    ``eta_minutes``, which includes the restaurant's own preparation delay. Restaurants
    (ids, cities, popularity, delays) depend on ``restaurant_seed`` only, so two logs with
    the same ``restaurant_seed`` share them: last quarter's export and next month's orders
    come from the same restaurants.
    """
    if n < 1 or days < 1 or n_restaurants < len(CITIES):
        raise ValueError(f"n and days must be positive, n_restaurants at least {len(CITIES)}")
    orders = make_orders(n, seed=seed, drift=drift)
    rng = np.random.default_rng(seed + 777)
    ids, home, popularity, delay = _restaurants(n_restaurants, restaurant_seed)
    which = np.empty(n, dtype=np.int64)
    for city in CITIES:
        rows = np.flatnonzero(orders["city"].to_numpy() == city)
        local = np.flatnonzero(home == city)
        p = popularity[local] / popularity[local].sum()
        which[rows] = rng.choice(local, size=len(rows), p=p)
    day = rng.integers(0, days, size=n)
    micro = rng.integers(0, 3_600_000_000, size=n)  # within the hour: ties are negligible
    placed = (pd.Timestamp(start) + pd.to_timedelta(day, unit="D")
              + pd.to_timedelta(orders["hour"].to_numpy(), unit="h")
              + pd.to_timedelta(micro, unit="us"))
    eta = np.round(np.maximum(orders[LABEL].to_numpy() + delay[which], 5.0), 1)
    log = pd.DataFrame({TIME: placed, RESTAURANT: pd.Series(ids[which])})
    log = pd.concat([log, orders.drop(columns=LABEL)], axis=1)
    log[LABEL] = eta
    log = log.sort_values(TIME, kind="stable").reset_index(drop=True)
    while log[TIME].duplicated().any():  # practically never: nudge exact ties apart
        dup = log[TIME].duplicated()
        log.loc[dup, TIME] += pd.Timedelta(1, unit="us")
        log = log.sort_values(TIME, kind="stable").reset_index(drop=True)
    log.insert(0, ORDER_ID, [f"O{seed:02d}-{i:05d}" for i in range(n)])
    return log[list(COLUMNS)]


class DeliveryFeatures(TransformerMixin, BaseEstimator):
    """Domain features of the trip: rush hour, km driven in rush hour, km driven in the wet.

    Input: a frame with ``distance_km``, ``hour`` and ``weather`` (weather may be null: an
    unknown weather counts as dry). Output: a float array with the columns
    ``is_rush``, ``rush_km`` and ``wet_km``. Stateless: ``fit`` only records the input
    columns, so a single order is transformed exactly like the same order in a batch.
    """

    def fit(self, X: pd.DataFrame, y=None) -> DeliveryFeatures:
        missing = {"distance_km", "hour", "weather"} - set(X.columns)
        if missing:
            raise ValueError(f"DeliveryFeatures needs the columns {sorted(missing)}")
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self)
        distance = X["distance_km"].to_numpy(dtype=float)
        rush = np.isin(X["hour"].to_numpy(), RUSH_HOURS).astype(float)
        wet = X["weather"].isin(WET_WEATHER).to_numpy().astype(float)
        return np.column_stack([rush, rush * distance, wet * distance])

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        return np.array(["is_rush", "rush_km", "wet_km"], dtype=object)


def plot_prediction_skew(offline, online, *, ax: Axes | None = None,
                         title: str = "same orders, two code paths") -> Axes:
    """Scatter of the predictions of two code paths for the same orders, with the diagonal."""
    import matplotlib.pyplot as plt

    offline = np.asarray(offline, dtype=float)
    online = np.asarray(online, dtype=float)
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 4))
    lo = float(min(offline.min(), online.min()))
    hi = float(max(offline.max(), online.max()))
    ax.plot([lo, hi], [lo, hi], color="0.4", lw=1, label="no skew")
    ax.scatter(offline, online, s=8, alpha=0.5, color="C3", label="orders")
    gap = np.abs(online - offline)
    ax.set_xlabel("prediction, training code path (min)")
    ax.set_ylabel("prediction, serving code path (min)")
    ax.set_title(f"{title}\nmean |gap| {gap.mean():.2f} min, max {gap.max():.1f} min",
                 fontsize=10)
    ax.legend(loc="upper left", fontsize=8)
    return ax


def plot_scores(scores: Mapping[str, float], *, ax: Axes | None = None,
                title: str = "mean absolute error (minutes)") -> Axes:
    """Horizontal bars of named scores (e.g. validation vs production MAE), values labelled."""
    import matplotlib.pyplot as plt

    names = list(scores)
    values = np.array([float(scores[k]) for k in names])
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 0.5 * len(names) + 1.0))
    y = np.arange(len(names))[::-1]
    bars = ax.barh(y, values, color=[f"C{k}" for k in range(len(names))])
    ax.bar_label(bars, fmt="%.2f", padding=3, fontsize=8)
    ax.set_yticks(y, names)
    ax.set_xlim(0, values.max() * 1.25 if len(values) and values.max() > 0 else 1)
    ax.set_title(title, fontsize=10)
    return ax
