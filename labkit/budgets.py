"""Handwritten pickup-code digits and the helpers of a model-budget lab.

Restaurants write each order's pickup code by hand on the bag; the courier's phone reads it
digit by digit from 8x8 grey-level crops (scikit-learn's bundled ``digits``, 1,797 crops,
pixel values 0 to 16). :func:`load_crops` splits them, seeded, into a small labelled training
set, a larger *transfer* set whose labels are withheld (crops the phones collected that
nobody labelled), a validation set for decisions and a test set for the final report.
The other helpers measure size, fit with sample weights through a Pipeline, and plot.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

N_PIXELS = 64
SPLIT_SIZES = {"train": 300, "transfer": 700, "val": 300}  # the test set takes the rest (497)
BUDGET_COLUMNS = ("size_bytes", "latency_s", "accuracy")


@dataclass(frozen=True)
class Crops:
    """Digit crops (rows of 64 floats) and their labels; ``X_transfer`` comes without labels."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_transfer: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


def load_crops(seed: int = 0) -> Crops:
    """Split the 1,797 bundled digit crops at random (seeded) into train/transfer/val/test."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    order = np.random.default_rng(seed).permutation(len(y))
    a = SPLIT_SIZES["train"]
    b = a + SPLIT_SIZES["transfer"]
    c = b + SPLIT_SIZES["val"]
    tr, tf, va, te = order[:a], order[a:b], order[b:c], order[c:]
    X = X.astype(np.float64)
    y = y.astype(np.int64)
    return Crops(X[tr], y[tr], X[tf], X[va], y[va], X[te], y[te])


def pickled_size(model: Any) -> int:
    """Bytes of ``model`` serialized with pickle (what a scikit-learn model costs to ship)."""
    return len(pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL))


def file_size(path: str | Path) -> int:
    """Bytes of a file on disk (an exported ONNX model)."""
    return Path(path).stat().st_size


def onnx_session(model: str | Path | bytes) -> Any:
    """An onnxruntime session on one CPU thread (a phone core), from a file path or bytes.

    onnxruntime (1.32) otherwise writes a device id and a telemetry queue into HOME at import
    and warns on stderr when HOME is read-only: ``ORT_DISABLE_TELEMETRY`` stops both, if set
    before the first import.
    """
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only: nothing on stderr for a healthy model
    source = model if isinstance(model, bytes) else str(model)
    return ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])


def fit_weighted(model: Any, X: Any, y: Any, sample_weight: Any) -> Any:
    """``model.fit(X, y)`` with per-row weights; a Pipeline passes them to its last step.

    Returns the fitted model (the same object).
    """
    if hasattr(model, "steps"):
        last = model.steps[-1][0]
        return model.fit(X, y, **{f"{last}__sample_weight": sample_weight})
    return model.fit(X, y, sample_weight=sample_weight)


def plot_crops(X: np.ndarray, y: Sequence[int] | np.ndarray, *, n: int = 12,
               titles: Sequence[str] | None = None) -> Figure:
    """The first ``n`` crops as 8x8 images, titled with their labels (or ``titles``)."""
    import matplotlib.pyplot as plt

    n = min(n, len(X))
    fig, axes = plt.subplots(1, n, figsize=(1.1 * n, 1.5))
    for i, ax in enumerate(np.atleast_1d(axes)):
        ax.imshow(np.asarray(X[i]).reshape(8, 8), cmap="gray_r", vmin=0, vmax=16)
        ax.set_title(titles[i] if titles is not None else str(y[i]), fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig


def plot_budgets(table: pd.DataFrame, budget: Mapping[str, float], *,
                 axes: Sequence[Axes] | None = None) -> Sequence[Axes]:
    """Accuracy against size and against latency (log scales), with the budget region shaded.

    ``table`` has one row per candidate (the index names it) and the columns
    ``BUDGET_COLUMNS``; ``budget`` has ``max_bytes``, ``max_latency_s`` and ``min_accuracy``.
    Candidates meeting every budget are drawn filled, the others hollow; one colour each.
    """
    import matplotlib.pyplot as plt

    missing = set(BUDGET_COLUMNS) - set(table.columns)
    if missing:
        raise ValueError(f"table lacks the columns {sorted(missing)}")
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
        fig.subplots_adjust(right=0.75, wspace=0.08)
    ok = ((table["size_bytes"] <= budget["max_bytes"])
          & (table["latency_s"] <= budget["max_latency_s"])
          & (table["accuracy"] >= budget["min_accuracy"]))
    panels = [("size_bytes", "max_bytes", "model size (bytes, log scale)", 1.0, "{:,.0f} bytes"),
              ("latency_s", "max_latency_s", "latency per request (ms, log scale)", 1e3,
               "{:g} ms")]
    markers = "osD^v<>ph*"
    for ax, (column, limit, label, scale, fmt) in zip(axes, panels, strict=True):
        for i, (name, row) in enumerate(table.iterrows()):
            colour = f"C{i % 10}"
            ax.scatter([float(row[column]) * scale], [row["accuracy"]], s=70,
                       marker=markers[i % len(markers)], edgecolors=colour, linewidths=1.5,
                       facecolors=colour if ok[name] else "none", zorder=3,
                       label=f"{name}{'' if ok[name] else ' (out of budget)'}")
        x_limit = budget[limit] * scale
        lo = min(float(table[column].min()) * scale, x_limit) / 3
        ax.axvline(x_limit, color="C3", ls="--", lw=1)
        ax.axhline(budget["min_accuracy"], color="C2", ls=":", lw=1)
        ymin, ymax = ax.get_ylim()
        ax.fill_between([lo, x_limit], budget["min_accuracy"], max(ymax, 1.0), color="C2",
                        alpha=0.1, lw=0)
        ax.set_ylim(min(ymin, budget["min_accuracy"] - 0.005), ymax)
        ax.set_xscale("log")
        ax.set_xlim(left=lo)
        ax.set_xlabel(label)
        ax.set_title(f"{label.split(' (')[0]} budget: {fmt.format(budget[limit] * scale)}",
                     fontsize=9)
    axes[0].set_ylabel(f"validation accuracy (budget >= {budget['min_accuracy']:.3f})")
    axes[-1].legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize=8, frameon=False)
    return axes
