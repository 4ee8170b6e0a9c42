"""Compensation claims for lost or damaged parcels: a seeded data set for a fairness audit.

Customers of the parcel-sorting company claim compensation when a parcel is lost or arrives
damaged. A model scores each claim; a claim scored as ``valid`` is paid at once, the others
wait weeks for an investigator. The structure is planted so that an audit has known answers:

- three **informative** features: ``tracking_gap_days`` (days since the parcel's last tracking
  scan; lost parcels have long gaps), ``photos`` (photos of the damage attached to the claim)
  and ``prior_claims`` (the customer's claims over the previous 12 months);
- three **pure-noise** features (``weight_kg``, ``hour_filed``, ``distance_km``), drawn
  independently of everything else;
- a **proxy**, ``filed_in_app`` (1 if filed in the mobile app, 0 by phone or letter), that says
  nothing about validity once the age band is known but is strongly tied to it;
- a **sensitive attribute**, ``age_band`` (``"under 65"`` or ``"65+"``), which the model never
  sees. Customers aged 65+ mostly file by phone and attach fewer photos whether or not the
  claim is valid, and fewer of their historical claims were found valid, so a model trained
  on this history approves fewer of their valid claims: a true-positive-rate gap.

A given ``seed`` always yields the same claims.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.axes import Axes

TARGET = "valid"
GROUP = "age_band"
GROUPS = ("under 65", "65+")
INFORMATIVE = ("tracking_gap_days", "photos", "prior_claims")
NOISE = ("weight_kg", "hour_filed", "distance_km")
PROXY = "filed_in_app"
FEATURES = INFORMATIVE + NOISE + (PROXY,)

SHARE_65_PLUS = 0.35
# per age band, in GROUPS order: share of valid claims, share filed in the app
_VALID_RATE = np.array([0.62, 0.48])
_APP_RATE = np.array([0.90, 0.15])
# photos: log-mean of the Poisson count; valid claims show more, the 65+ band sends fewer
_PHOTOS_BASE, _PHOTOS_VALID, _PHOTOS_65_PLUS = 0.4, 0.9, -1.0


@dataclass(frozen=True)
class ClaimsAudit:
    """Train, dev and test claims: ``GROUP``, ``FEATURES`` and the 0/1 ``TARGET``."""

    train: pd.DataFrame
    dev: pd.DataFrame
    test: pd.DataFrame


def make_claims(n: int = 12_000, *, seed: int = 0,
                share_65_plus: float = SHARE_65_PLUS) -> pd.DataFrame:
    """``n`` historical claims: age band, the model's features and whether it was valid."""
    if not 0.0 < share_65_plus < 1.0:
        raise ValueError(f"share_65_plus must be in (0, 1), got {share_65_plus}")
    rng = np.random.default_rng(seed)
    senior = rng.random(n) < share_65_plus
    band = senior.astype(int)
    valid = (rng.random(n) < _VALID_RATE[band]).astype(np.int64)
    in_app = (rng.random(n) < _APP_RATE[band]).astype(np.int64)

    gap_days = np.exp(1.0 + 0.5 * (1.3 * valid + rng.standard_normal(n)))
    photos = rng.poisson(np.exp(_PHOTOS_BASE + _PHOTOS_VALID * valid + _PHOTOS_65_PLUS * senior))
    prior = rng.poisson(np.exp(0.3 - 1.0 * valid))
    # noise: drawn from nothing but the generator
    weight = rng.lognormal(1.0, 0.6, n)
    hour = rng.integers(0, 24, n)
    distance = rng.lognormal(5.0, 0.8, n)

    return pd.DataFrame({
        GROUP: np.array(GROUPS)[band],
        "tracking_gap_days": np.round(gap_days, 1),
        "photos": photos.astype(np.int64),
        "prior_claims": prior.astype(np.int64),
        "weight_kg": np.round(weight, 2),
        "hour_filed": hour.astype(np.int64),
        "distance_km": np.round(distance, 0),
        PROXY: in_app,
        TARGET: valid,
    })


def load_claims(seed: int = 0, *, n: int = 12_000,
                fractions: Sequence[float] = (0.5, 0.25, 0.25)) -> ClaimsAudit:
    """Seeded claims split at random into train, dev and test (index reset in each)."""
    if len(fractions) != 3 or not np.isclose(sum(fractions), 1.0) or min(fractions) <= 0:
        raise ValueError(f"fractions must be three positive shares summing to 1, got {fractions}")
    df = make_claims(n, seed=seed)
    order = np.random.default_rng(seed + 10_000).permutation(n)
    cut = np.cumsum(np.round(np.asarray(fractions) * n).astype(int))[:2]
    train, dev, test = (df.iloc[np.sort(p)].reset_index(drop=True) for p in np.split(order, cut))
    return ClaimsAudit(train=train, dev=dev, test=test)


def plot_importances(tables: Mapping[str, pd.DataFrame], *,
                     informative: Sequence[str] = INFORMATIVE, ax: Axes | None = None) -> Axes:
    """Horizontal bars of ``importance_mean`` with ``importance_std`` error bars, one per table.

    Features are sorted by the first table's mean importance; the known informative ones
    are marked with a star.
    """
    import matplotlib.pyplot as plt

    first = next(iter(tables.values()))
    order = list(first["importance_mean"].sort_values().index)
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 0.45 * len(order) + 1.2))
    y = np.arange(len(order))
    height = 0.8 / len(tables)
    for k, (label, table) in enumerate(tables.items()):
        t = table.loc[order]
        ax.barh(y + (k - (len(tables) - 1) / 2) * height, t["importance_mean"].to_numpy(float),
                height, xerr=t["importance_std"].to_numpy(float), capsize=3, color=f"C{k}",
                label=label)
    ax.set_yticks(y, [f"{name} *" if name in informative else name for name in order])
    ax.axvline(0.0, color="0.3", lw=0.8)
    ax.set_xlabel("drop of the metric when the column is shuffled (mean +/- std)")
    ax.set_title("permutation importance (* = truly informative)", fontsize=10)
    ax.legend(loc="lower right", fontsize=8)
    return ax


def plot_group_tpr(rates: Mapping[str, pd.DataFrame], *, bound: float | None = None,
                   ax: Axes | None = None) -> Axes:
    """Bars of the true-positive rate per group, one colour per model or policy.

    ``rates`` maps a label (``"before"``, ``"after"``...) to a per-group table with a
    ``tpr`` column (index: the groups); the legend gives each one's TPR gap.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.6))
    groups = list(next(iter(rates.values())).index)
    x = np.arange(len(groups))
    width = 0.8 / len(rates)
    for k, (label, table) in enumerate(rates.items()):
        tpr = table.loc[groups, "tpr"].to_numpy(float)
        bars = ax.bar(x + (k - (len(rates) - 1) / 2) * width, tpr, width, color=f"C{k}",
                      label=f"{label}: gap {np.nanmax(tpr) - np.nanmin(tpr):.3f}")
        ax.bar_label(bars, fmt="%.3f", fontsize=8)
    ax.set_xticks(x, groups)
    ax.set_ylim(0, 1.3)
    ax.set_ylabel("TPR (share of valid claims paid at once)")
    title = "equal opportunity: TPR per group"
    if bound is not None:
        title += f" (bound on the gap: {bound:.2f})"
    ax.set_title(title, fontsize=10)
    ax.legend(loc="upper center", fontsize=8)
    return ax
