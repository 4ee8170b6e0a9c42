"""Food-delivery orders: a seeded tabular data set with covariate drift and broken serving logs.

A delivery-time (ETA) model is trained on last quarter's orders; serving logs arrive with
real drift (:func:`make_orders` with ``drift``) and with broken data (:func:`inject_anomalies`,
which also returns the ground truth of what it broke). All values a correct schema should
accept stay inside fixed business bounds (delivery radius, opening hours, basket size), so a
fresh clean sample never breaks a schema with reasonable slack.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.axes import Axes

LABEL = "eta_minutes"
NUMERIC = ("distance_km", "items", "hour")
CATEGORICAL = ("weather", "city")
FEATURES = NUMERIC + CATEGORICAL
NULLABLE = ("weather",)  # the weather API times out on about 2% of orders
CITIES = ("Bordeaux", "Lille", "Lyon", "Nantes", "Toulouse")
WEATHER = ("clear", "fog", "rain", "snow")
HOURS = np.arange(10, 24)  # the app takes orders from 10:00 to 23:59
ANOMALY_KINDS = ("missing_column", "type_mismatch", "unexpected_null", "out_of_range",
                 "unseen_category")

_CITY_P = np.array([0.18, 0.17, 0.30, 0.15, 0.20])
_CITY_P_DRIFT = np.array([0.10, 0.10, 0.15, 0.30, 0.35])
_WEATHER_P = np.array([0.62, 0.08, 0.23, 0.07])
_WEATHER_P_DRIFT = np.array([0.22, 0.12, 0.44, 0.22])
_ITEMS_P = np.array([0.32, 0.24, 0.16, 0.11, 0.07, 0.05, 0.03, 0.02])
_UNSEEN = {"weather": ("hail", "storm", "Rain"), "city": ("Marseille", "Nice", "lyon")}
_RADIUS_KM = 8.0


def _hour_probs(s: float) -> np.ndarray:
    """Lunch and dinner peaks; drift moves orders to a later dinner (late-night service)."""
    def bump(mu: float, sd: float) -> np.ndarray:
        return np.exp(-0.5 * ((HOURS - mu) / sd) ** 2)

    w = (0.45 - 0.30 * s) * bump(12.5, 1.0) + (0.45 + 0.30 * s) * bump(19.5 + 2.0 * s, 1.3)
    w = w + 0.02
    return w / w.sum()


def make_orders(n: int = 3000, *, seed: int = 0,
                drift: Mapping[str, float] | None = None) -> pd.DataFrame:
    """``n`` orders with features ``FEATURES`` and label ``LABEL`` (minutes), seeded.

    ``drift`` maps feature names to a strength in [0, 1] (0 = the training distribution):
    longer distances within the radius, bigger baskets, later hours, wetter weather, another
    city mix. Drift changes distributions only, never the business bounds or categories.
    """
    drift = dict(drift or {})
    unknown = set(drift) - set(FEATURES)
    if unknown:
        raise ValueError(f"drift on unknown features {sorted(unknown)}; choose from {FEATURES}")
    if any(not 0.0 <= s <= 1.0 for s in drift.values()):
        raise ValueError("drift strengths must be in [0, 1]")
    s = {f: float(drift.get(f, 0.0)) for f in FEATURES}
    rng = np.random.default_rng(seed)

    city_p = (1 - s["city"]) * _CITY_P + s["city"] * _CITY_P_DRIFT
    city = rng.choice(np.array(CITIES), size=n, p=city_p)

    u = rng.random(n) ** (1.0 / (1.0 + 3.0 * s["distance_km"]))
    road_factor = rng.uniform(1.1, 1.5, size=n)
    distance = np.round(0.3 + road_factor * _RADIUS_KM * np.sqrt(u), 2)

    items_p = _ITEMS_P * np.exp(0.6 * s["items"] * np.arange(len(_ITEMS_P)))
    items = rng.choice(np.arange(1, len(_ITEMS_P) + 1), size=n, p=items_p / items_p.sum())

    hour = rng.choice(HOURS, size=n, p=_hour_probs(s["hour"]))

    weather_p = (1 - s["weather"]) * _WEATHER_P + s["weather"] * _WEATHER_P_DRIFT
    weather = rng.choice(np.array(WEATHER), size=n, p=weather_p)

    slowdown = 1.0 + np.select([weather == "rain", weather == "snow", weather == "fog"],
                               [0.25, 0.6, 0.1], 0.0)
    rush = np.isin(hour, (12, 13, 19, 20))
    pace = 2.6 * slowdown * np.where(rush, 1.2, 1.0)  # minutes per km
    eta = 6.0 + 1.5 * items + distance * pace + rng.normal(0.0, 2.5, size=n)
    eta = np.round(np.maximum(eta, 5.0), 1)

    recorded = weather.astype(object)
    recorded[rng.random(n) < 0.02] = np.nan  # the weather API timed out
    return pd.DataFrame({
        "distance_km": distance.astype(float),
        "items": items.astype(np.int64),
        "hour": hour.astype(np.int64),
        "weather": pd.Series(recorded),
        "city": pd.Series(city.astype(object)),
        LABEL: eta.astype(float),
    })


def _eligible(kind: str, columns: Sequence[str]) -> list[str]:
    if kind in ("type_mismatch", "out_of_range"):
        return [c for c in columns if c in NUMERIC]
    if kind == "unseen_category":
        return [c for c in columns if c in CATEGORICAL]
    if kind == "unexpected_null":
        return [c for c in columns if c not in NULLABLE]
    return list(columns)


def _corrupt(out: pd.DataFrame, kind: str, col: str, rows: np.ndarray,
             rng: np.random.Generator) -> None:
    if kind == "type_mismatch":  # a client sends text: "3.2 km", "4"
        fmt = "{:.1f} km".format if col == "distance_km" else "{:d}".format
        out[col] = [fmt(v) for v in out[col].to_numpy()]
    elif kind == "out_of_range":
        values = out[col].to_numpy().astype(float)
        if col == "distance_km" and rng.random() < 0.5:
            values[rows] = values[rows] * 1000.0  # one app version sends metres
        elif col == "distance_km":
            values[rows] = -values[rows]  # a sign bug in the routing client
        else:
            values[rows] = -1.0  # the "unknown" sentinel
        out[col] = values if col == "distance_km" else values.astype(np.int64)
    elif kind == "unexpected_null":
        values = out[col].astype(object if col in CATEGORICAL else float).to_numpy().copy()
        values[rows] = np.nan
        out[col] = pd.Series(values, index=out.index, dtype=out[col].dtype
                             if col in CATEGORICAL else float)
    elif kind == "unseen_category":
        values = out[col].to_numpy(dtype=object).copy()
        values[rows] = rng.choice(np.array(_UNSEEN[col], dtype=object), size=len(rows))
        out[col] = pd.Series(values, index=out.index, dtype=out[col].dtype)


def inject_anomalies(df: pd.DataFrame, *, seed: int = 0, n_anomalies: int = 3,
                     kinds: Sequence[str] | None = None,
                     ) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    """Break a clean frame of orders the way serving logs break; return it and the truth.

    Each anomaly hits one distinct feature (never the label): ``kinds`` (default: a seeded
    choice of ``n_anomalies`` of ``ANOMALY_KINDS``). The truth is a sorted list of
    ``(column, kind)``: exactly what a correct validator reports on the returned frame.
    """
    rng = np.random.default_rng(seed)
    if kinds is None:
        if not 1 <= n_anomalies <= len(ANOMALY_KINDS):
            raise ValueError(f"n_anomalies must be in 1..{len(ANOMALY_KINDS)}")
        kinds = list(rng.choice(np.array(ANOMALY_KINDS), size=n_anomalies, replace=False))
    bad = set(kinds) - set(ANOMALY_KINDS)
    if bad or len(set(kinds)) != len(kinds):
        raise ValueError(f"kinds must be distinct values of {ANOMALY_KINDS}, got {kinds}")
    # most constrained kinds first, so every kind finds a free column
    order = sorted(kinds, key=lambda k: len(_eligible(k, FEATURES)))
    out = df.copy()
    free = [c for c in FEATURES if c in out.columns]
    truth: list[tuple[str, str]] = []
    n = len(out)
    for kind in order:
        candidates = _eligible(kind, free)
        if not candidates:
            raise ValueError(f"no free column left for {kind!r} in {list(df.columns)}")
        col = str(rng.choice(np.array(candidates)))
        free.remove(col)
        share = rng.uniform(0.005, 0.05)
        rows = rng.choice(n, size=min(n, max(5, int(share * n))), replace=False)
        if kind == "missing_column":
            out = out.drop(columns=col)
        else:
            _corrupt(out, str(kind), col, rows, rng)
        truth.append((col, str(kind)))
    return out, sorted(truth)


def plot_shift(train: pd.DataFrame, serving: pd.DataFrame, column: str, *,
               ax: Axes | None = None, bins: int = 30) -> Axes:
    """Training vs serving distribution of one column: shared-bin histograms or category shares."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3))
    a, b = train[column].dropna(), serving[column].dropna()
    if pd.api.types.is_numeric_dtype(a) and pd.api.types.is_numeric_dtype(b):
        lo, hi = float(min(a.min(), b.min())), float(max(a.max(), b.max()))
        integers = pd.api.types.is_integer_dtype(a) and pd.api.types.is_integer_dtype(b)
        if integers and hi - lo <= 2 * bins:  # one bar per value, no empty gaps
            edges = np.arange(lo - 0.5, hi + 1.5)
        else:
            edges = np.linspace(lo, hi, bins + 1)
        ax.hist(a, bins=edges, density=True, histtype="step", lw=2, label="training")
        ax.hist(b, bins=edges, density=True, histtype="stepfilled", alpha=0.4, label="serving")
        ax.set_ylabel("density")
    else:
        cats = sorted(set(a.astype(str)) | set(b.astype(str)))
        x = np.arange(len(cats))
        pa = a.astype(str).value_counts(normalize=True).reindex(cats, fill_value=0.0)
        pb = b.astype(str).value_counts(normalize=True).reindex(cats, fill_value=0.0)
        ax.bar(x - 0.2, pa.to_numpy(), width=0.4, label="training")
        ax.bar(x + 0.2, pb.to_numpy(), width=0.4, alpha=0.6, label="serving")
        ax.set_xticks(x, cats)
        ax.set_ylabel("share of orders")
    ax.set_xlabel(column)
    ax.legend()
    return ax
