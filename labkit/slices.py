"""Damaged-parcel detection: a seeded, skewed data set whose errors concentrate in slices.

Every parcel that crosses a sorting hub is photographed by an overhead camera; six image
features feed a classifier that flags damaged parcels (about 4 % of them) for manual
inspection. Three slice attributes come with each parcel: the ``hub``, the ``camera`` model
and the ``shift``. The damage signal is planted so that error analysis has something to find:

- ``CX-300`` is the current camera (most parcels, the cleanest images);
- ``CX-200`` is the older camera still installed on many lines: weaker, noisier signal;
- ``VX-1`` is a prototype camera tried on a few lines in Lille only: by far the worst
  images, on a small share of the parcels;
- the night shift has slightly worse lighting.

Hubs differ only through their camera mix. A given ``seed`` always yields the same parcels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

TARGET = "damaged"
FEATURES = ("dent_depth", "edge_tear", "crush_ratio", "tape_anomaly", "stain_area", "corner_wear")
SLICES = ("hub", "camera", "shift")
HUBS = ("Lille", "Lyon", "Nantes", "Toulouse")
CAMERAS = ("CX-200", "CX-300", "VX-1")
SHIFTS = ("day", "night")
PREVALENCE = 0.04

_HUB_P = np.array([0.20, 0.35, 0.25, 0.20])
# P(camera | hub), columns in CAMERAS order; the VX-1 prototype runs in Lille only
_CAMERA_GIVEN_HUB = np.array([
    [0.30, 0.45, 0.25],
    [0.30, 0.70, 0.00],
    [0.60, 0.40, 0.00],
    [0.35, 0.65, 0.00],
])
_NIGHT_P = 0.35
# how strongly damage shows in each feature on a clean image
_SIGNAL = 1.8 * np.array([1.3, 1.1, 0.9, 0.7, 0.5, 0.3])
# per camera: factor on the damage signal, image noise (standard deviation)
_CAMERA_SIGNAL = {"CX-200": 0.62, "CX-300": 1.0, "VX-1": 0.30}
_CAMERA_NOISE = {"CX-200": 1.15, "CX-300": 1.0, "VX-1": 1.3}
_NIGHT_SIGNAL = 0.85


@dataclass(frozen=True)
class ParcelDamage:
    """Train, dev and test parcels: slice columns, ``FEATURES`` and the 0/1 ``TARGET``."""

    train: pd.DataFrame
    dev: pd.DataFrame
    test: pd.DataFrame


def make_parcels(n: int = 40_000, *, seed: int = 0,
                 prevalence: float = PREVALENCE) -> pd.DataFrame:
    """``n`` photographed parcels with their slices, image features and damage label."""
    if not 0.0 < prevalence < 1.0:
        raise ValueError(f"prevalence must be in (0, 1), got {prevalence}")
    rng = np.random.default_rng(seed)
    hub_idx = rng.choice(len(HUBS), size=n, p=_HUB_P)
    # inverse-CDF draw of the camera given the hub
    cdf = np.cumsum(_CAMERA_GIVEN_HUB[hub_idx], axis=1)
    cam_idx = np.minimum((rng.random(n)[:, None] > cdf).sum(axis=1), len(CAMERAS) - 1)
    night = rng.random(n) < _NIGHT_P
    damaged = (rng.random(n) < prevalence).astype(np.int64)

    cameras = np.array(CAMERAS)[cam_idx]
    gain = np.vectorize(_CAMERA_SIGNAL.get)(cameras) * np.where(night, _NIGHT_SIGNAL, 1.0)
    noise = np.vectorize(_CAMERA_NOISE.get)(cameras)
    # damage severity varies from parcel to parcel; intact parcels show only wear and noise
    severity = rng.gamma(shape=4.0, scale=0.25, size=n) * damaged
    signal = (gain * severity)[:, None] * _SIGNAL[None, :]
    X = signal + noise[:, None] * rng.standard_normal((n, len(FEATURES)))

    df = pd.DataFrame({
        "hub": np.array(HUBS)[hub_idx],
        "camera": cameras,
        "shift": np.where(night, "night", "day"),
    })
    for j, name in enumerate(FEATURES):
        df[name] = np.round(X[:, j], 4)
    df[TARGET] = damaged
    return df


def load_parcel_damage(seed: int = 0, *, n: int = 40_000,
                       fractions: Sequence[float] = (0.5, 0.25, 0.25)) -> ParcelDamage:
    """Seeded parcels split at random into train, dev and test (index reset in each)."""
    if len(fractions) != 3 or not np.isclose(sum(fractions), 1.0) or min(fractions) <= 0:
        raise ValueError(f"fractions must be three positive shares summing to 1, got {fractions}")
    df = make_parcels(n, seed=seed)
    order = np.random.default_rng(seed + 10_000).permutation(n)
    cut = np.cumsum(np.round(np.asarray(fractions) * n).astype(int))[:2]
    parts = np.split(order, cut)
    train, dev, test = (df.iloc[np.sort(p)].reset_index(drop=True) for p in parts)
    return ParcelDamage(train=train, dev=dev, test=test)


def plot_pr_curve(y_true: np.ndarray, scores: np.ndarray, *, threshold: float | None = None,
                  min_precision: float | None = None, label: str = "model",
                  show_prevalence: bool = True, ax: Axes | None = None) -> Axes:
    """Precision-recall curve of ``scores``; marks the operating point at ``threshold``.

    The operating point flags the items with ``score >= threshold``. Pass ``ax`` to draw
    several models on the same axes.
    """
    import matplotlib.pyplot as plt
    from sklearn.metrics import precision_recall_curve

    y_true = np.asarray(y_true)
    scores = np.asarray(scores, dtype=float)
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4.2))
    precision, recall, _ = precision_recall_curve(y_true, scores)
    (line,) = ax.plot(recall, precision, lw=1.5, label=label)
    if min_precision is not None:
        ax.axhline(min_precision, color="tab:red", ls=":", lw=1.2,
                   label=f"precision bound {min_precision:.0%}")
    if threshold is not None:
        flagged = scores >= threshold
        tp = int(np.sum(flagged & (y_true == 1)))
        p = tp / max(int(flagged.sum()), 1)
        r = tp / max(int(np.sum(y_true == 1)), 1)
        ax.plot([r], [p], "o", color=line.get_color(), ms=8,
                label=f"{label}: threshold {threshold:.3f} (P {p:.2f}, R {r:.2f})")
    if show_prevalence:
        ax.axhline(float(np.mean(y_true == 1)), color="0.6", ls="--", lw=1,
                   label="flag everything (prevalence)")
    ax.set_xlabel("recall (share of damaged parcels flagged)")
    ax.set_ylabel("precision (share of flags that are damaged)")
    ax.set_xlim(0, 1.01)
    ax.set_ylim(0, 1.02)
    ax.legend(loc="lower left", fontsize=8)
    return ax


def plot_slice_metrics(reports: dict[str, pd.DataFrame], *,
                       metrics: Sequence[str] = ("precision", "recall"),
                       size: str = "n_pos") -> Figure:
    """Bars of ``metrics`` for every slice, one panel per attribute, labelled ``value (size)``.

    ``reports`` maps a slice attribute to its per-slice report (index: the slice values).
    """
    import matplotlib.pyplot as plt

    widths = [len(report) for report in reports.values()]
    fig, axes = plt.subplots(1, len(reports), sharey=True, squeeze=False, width_ratios=widths,
                             figsize=(max(7.0, 1.1 * sum(widths)), 3.6))
    width = 0.8 / len(metrics)
    for ax, (attr, report) in zip(axes[0], reports.items(), strict=True):
        x = np.arange(len(report))
        for k, metric in enumerate(metrics):
            ax.bar(x + (k - (len(metrics) - 1) / 2) * width, report[metric].to_numpy(float),
                   width, label=metric, color=f"C{k}")
        ax.set_xticks(x, [f"{value}\n({int(n)})" for value, n in report[size].items()],
                      fontsize=8)
        ax.set_title(attr, fontsize=10)
        ax.set_ylim(0, 1)
    axes[0][0].set_ylabel("metric on the slice")
    axes[0][-1].legend(loc="upper right", fontsize=8)
    fig.suptitle(f"per-slice metrics (in brackets: {size})", fontsize=10)
    fig.tight_layout()
    return fig
