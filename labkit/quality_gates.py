"""Quality gates for the postcode reader: seeded scans by sorting centre and planted candidates.

A new version of the reader (scikit-learn's 8x8 ``digits`` stand in for the scans, see
`labkit.releases`) must pass a CI gate before it may even be registered. The learner writes
the gate as pytest-style test functions ``test_x(candidate)``; this module holds what they
should not have to write:

- `load_sorting_scans`: the training scans and the labelled gate set, each scan tagged with
  the sorting centre that sent it. People around Strasbourg (`STYLE_CENTRE`) write their
  digits in a regional style (the scans at one end of each digit's main axis of variation),
  so the centres are real slices: a reader that never saw that style misreads them;
- `monthly_export`: the rows of the training scans in one month's export (the champion was
  trained on month 0, the candidate on month 1);
- `train_reader`: the team's recipe (contrast normalisation, then an RBF SVM);
- `Candidate` and `make_candidate(kind, seed)`: a model with the training data it was fitted
  on, sound or with one planted defect (`KINDS`, `DESCRIPTIONS`). Seed 0 of the visible kinds
  is what the notebook shows; other seeds are the hidden variants (another digit, centre,
  delay or mechanism). `slow_reader`, `cold_start_reader` and `noisy_neighbour_reader` wrap a
  model in a `TimedReader`, which changes only its timing;
- `blend_pairs`, `ink`, `blend`: inputs for behavioural tests (paler scans, two scans mixed);
- `plot_centres` and `plot_gate` (the gate report as a grid of outcomes, with the verdicts).

To run test functions against a candidate, use `labkit.behaviour.run_tests` (one candidate)
and `labkit.behaviour.behaviour_report` (every test on every candidate, as a DataFrame).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from labkit.releases import CENTRES, normalise_contrast

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

STYLE_CENTRE = "Strasbourg"
STYLE_SHARE = 0.10          # share of each digit's scans written in the regional style
_STYLE_AT_CENTRE = 0.9      # of those, the share sent by STYLE_CENTRE (the rest: anywhere)
_OTHER_CENTRES = tuple(c for c in CENTRES if c != STYLE_CENTRE)
_OTHER_P = (0.3, 0.25, 0.3, 0.15)  # Bordeaux, Lille, Lyon, Nantes
EXPORT_SHARE = 0.85         # a month's export holds 85 % of the training scans
PALE_INKS = (0.9, 0.7, 0.55, 0.45)  # new scanners write ink at 45-90 % of the usual intensity

TESTS = ("test_training_data", "test_metrics", "test_behaviour", "test_latency")
VISIBLE_KINDS = ("good", "shuffled_labels", "missing_class", "overfit_centre", "slow",
                 "pale_breaker")
HIDDEN_KINDS = ("cold_start", "noisy_neighbour", "missing_centre", "one_bit_reader",
                "dropped_class", "unscaled_pixels", "nan_pixels", "unreadable_labels")
KINDS = VISIBLE_KINDS + HIDDEN_KINDS
# which test of the gate must fail on each kind (all the others must pass)
EXPECTED_FAILURES: dict[str, tuple[str, ...]] = {  # seed 0
    "good": (),
    "shuffled_labels": ("test_metrics",),
    "missing_class": ("test_training_data",),
    "overfit_centre": ("test_metrics",),
    "slow": ("test_latency",),
    "pale_breaker": ("test_behaviour",),
    "cold_start": (),
    "noisy_neighbour": (),
    "missing_centre": ("test_metrics",),
}
DESCRIPTIONS = {
    "good": "this month's retrain: the team's recipe on this month's export",
    "shuffled_labels": "a join in the export shuffled the labels of half of the rows",
    "missing_class": "the export lost most scans of one digit (a few are left)",
    "overfit_centre": "trained on the scans of one sorting centre only",
    "slow": "sound, but every request waits (a synchronous call to a slow feature store)",
    "pale_breaker": "the contrast normalisation was dropped: pale ink reads differently",
    "cold_start": "sound; its first two requests load the weights (slow), then it is fast",
    "noisy_neighbour": "sound; every third request is slowed by a noisy neighbour on the host",
    "missing_centre": f"the export lost (almost) every scan from {STYLE_CENTRE}",
    "one_bit_reader": "scans are reduced to one bit per pixel: overlapping strokes merge",
    "dropped_class": "the export lost every scan of one digit",
    "unscaled_pixels": "pixels exported as 0-16 counts instead of [0, 1]",
    "nan_pixels": "some pixels of the export are NaN (a failed scanner read)",
    "unreadable_labels": "scans nobody could read are exported with the label -1",
}


# ---------------------------------------------------------------------------- data


@dataclass(frozen=True)
class SortingScans:
    """Scans (n, 64), pixels in [0, 1], their digits and the centre that sent each one."""

    X_train: np.ndarray
    y_train: np.ndarray
    centre_train: np.ndarray
    X_gate: np.ndarray
    y_gate: np.ndarray
    centre_gate: np.ndarray


def _regional_style(X: np.ndarray, y: np.ndarray, share: float) -> np.ndarray:
    """True for the ``share`` of each digit's scans furthest along its first principal axis."""
    style = np.zeros(len(y), dtype=bool)
    for digit in np.unique(y):
        rows = np.flatnonzero(y == digit)
        centred = X[rows] - X[rows].mean(axis=0)
        axis = np.linalg.svd(centred, full_matrices=False)[2][0]
        score = centred @ axis
        if np.mean(score**3) < 0:  # the sign of an axis is arbitrary: take the long tail
            score = -score
        style[rows[score >= np.quantile(score, 1 - share)]] = True
    return style


def load_sorting_scans(seed: int = 0, *, holdout: float = 0.4) -> SortingScans:
    """The digits split as `labkit.releases.load_postcode_digits` does, with a centre per scan.

    The gate set is the hold-out part (719 scans for ``holdout=0.4``). The regional style is
    fixed by the images; which scans each centre sends is drawn from ``seed``.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    X, y = digits.data / 16.0, digits.target
    rng = np.random.default_rng([seed, 6])
    style = _regional_style(X, y, STYLE_SHARE)
    at_style_centre = style & (rng.random(len(y)) < _STYLE_AT_CENTRE)
    others = np.array(_OTHER_CENTRES)[rng.choice(len(_OTHER_CENTRES), size=len(y), p=_OTHER_P)]
    centre = np.where(at_style_centre, STYLE_CENTRE, others).astype(str)
    train, gate = train_test_split(np.arange(len(y)), test_size=holdout, stratify=y,
                                   random_state=seed)
    return SortingScans(X[train], y[train], centre[train], X[gate], y[gate], centre[gate])


def monthly_export(n_rows: int, month: int, *, share: float = EXPORT_SHARE) -> np.ndarray:
    """Sorted row indices of the training scans in month ``month``'s export."""
    rng = np.random.default_rng([month, 61])
    return np.sort(rng.choice(n_rows, size=round(share * n_rows), replace=False))


def train_reader(X: np.ndarray, y: np.ndarray, *, C: float = 5.0, contrast: bool = True,
                 one_bit: float | None = None) -> Any:
    """The team's recipe: normalise the contrast of each scan, then an RBF SVM.

    ``contrast=False`` drops the normalisation; ``one_bit`` binarises the (normalised) scan at
    that threshold before the SVM. Both are planted defects.
    """
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import Binarizer, FunctionTransformer
    from sklearn.svm import SVC

    steps: list[Any] = [FunctionTransformer(normalise_contrast)] if contrast else []
    if one_bit is not None:
        steps.append(Binarizer(threshold=one_bit))
    steps.append(SVC(C=C))
    return make_pipeline(*steps).fit(X, y)


# ------------------------------------------------------------------- timing wrappers


class TimedReader:
    """A model whose calls to ``predict`` wait first, on a schedule, then answer as the model.

    Call number ``k`` (from 0) waits ``every_s`` seconds, plus ``first_s`` if ``k < first``,
    plus ``spike_s`` if ``spike_every`` divides ``k``. One class for the slow, cold-start and
    noisy-neighbour candidates, so that a gate test can only tell them apart by timing them.
    """

    def __init__(self, model: Any, *, every_s: float = 0.0, first: int = 0,
                 first_s: float = 0.0, spike_every: int = 0, spike_s: float = 0.0):
        self._model = model
        self._schedule = (float(every_s), int(first), float(first_s), int(spike_every),
                          float(spike_s))
        self._calls = 0

    def _wait_s(self, k: int) -> float:
        every_s, first, first_s, spike_every, spike_s = self._schedule
        return (every_s + (first_s if k < first else 0.0)
                + (spike_s if spike_every and k % spike_every == 0 else 0.0))

    def predict(self, X: Any) -> np.ndarray:
        wait = self._wait_s(self._calls)
        self._calls += 1
        if wait > 0:
            time.sleep(wait)
        return self._model.predict(X)

    def __repr__(self) -> str:
        return "TimedReader()"


def slow_reader(model: Any, delay_s: float) -> TimedReader:
    """Every request waits ``delay_s`` seconds."""
    return TimedReader(model, every_s=delay_s)


def cold_start_reader(model: Any, load_s: float = 0.25, calls: int = 2) -> TimedReader:
    """The first ``calls`` requests each wait ``load_s`` seconds (loading weights), no others."""
    return TimedReader(model, first=calls, first_s=load_s)


def noisy_neighbour_reader(model: Any, spike_s: float = 0.045, every: int = 3) -> TimedReader:
    """Requests number 0, ``every``, 2 * ``every``... wait ``spike_s`` (another job's CPU)."""
    return TimedReader(model, spike_every=every, spike_s=spike_s)


# ------------------------------------------------------------------- candidates


@dataclass(frozen=True, repr=False)
class Candidate:
    """A model and the training data it was fitted on: what the CI gate receives.

    ``model.predict(X)`` takes scans (n, 64) and returns n digits. ``X_train`` (n, 64),
    ``y_train`` (n,) and ``centre_train`` (n,) are the rows of its export, as exported. It
    carries no name or kind: a gate test must judge it by what it does.
    """

    model: Any
    X_train: np.ndarray
    y_train: np.ndarray
    centre_train: np.ndarray

    def __repr__(self) -> str:
        return f"Candidate({len(self.y_train)} training scans)"


def _sizes(kind: str, seed: int) -> dict[str, Any]:
    """The defect's parameters: seed 0 is the visible variant, other seeds are drawn."""
    if seed == 0:
        return {"shuffled_labels": {"share": 0.5}, "missing_class": {"digit": 7, "keep": 0.15},
                "overfit_centre": {"centre": "Lyon"}, "slow": {"delay_s": 0.03},
                "pale_breaker": {"mechanism": "raw_svm"}, "dropped_class": {"digit": 3},
                "unscaled_pixels": {}, "nan_pixels": {"share": 0.01},
                "unreadable_labels": {"share": 0.03}, "one_bit_reader": {"threshold": 0.1}
                }.get(kind, {})
    rng = np.random.default_rng([seed, 17])
    return {
        "shuffled_labels": {"share": float(rng.uniform(0.5, 1.0))},
        "missing_class": {"digit": int(rng.integers(10)), "keep": float(rng.uniform(0.0, 0.2))},
        "overfit_centre": {"centre": str(rng.choice(_OTHER_CENTRES))},
        "slow": {"delay_s": float(rng.uniform(0.015, 0.04))},
        "pale_breaker": {"mechanism": ("raw_logistic", "raw_svm", "binarised", "raw_svm_c10")
                         [seed % 4]},
        "dropped_class": {"digit": int(rng.integers(10))},
        "nan_pixels": {"share": float(rng.uniform(0.002, 0.02))},
        "unreadable_labels": {"share": float(rng.uniform(0.01, 0.05))},
        "one_bit_reader": {"threshold": float(rng.uniform(0.05, 0.2))},
        "missing_centre": {"keep": float(rng.uniform(0.03, 0.12))},
    }.get(kind, {})


def _pale_breaker(X: np.ndarray, y: np.ndarray, mechanism: str) -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import Binarizer
    from sklearn.svm import SVC

    if mechanism == "raw_svm":
        return train_reader(X, y, contrast=False)
    if mechanism == "raw_svm_c10":
        return train_reader(X, y, C=10.0, contrast=False)
    if mechanism == "raw_logistic":
        return LogisticRegression(C=1.0, max_iter=3000).fit(X, y)
    if mechanism == "binarised":  # one bit per pixel at a fixed threshold, no normalisation
        return make_pipeline(Binarizer(threshold=0.5), SVC(C=5.0)).fit(X, y)
    raise ValueError(f"unknown pale-breaker mechanism {mechanism!r}")


def make_candidate(kind: str = "good", seed: int = 0, *,
                   scans: SortingScans | None = None) -> Candidate:
    """A candidate of ``kind`` (see `KINDS`): trained on an export of ``scans``' training part.

    ``seed`` 0 is the variant the notebook shows. For ``good`` and the timing kinds the seed
    picks the month (seed 0: month 1, the champion being month 0); for the other kinds it
    draws the defect (which digit, centre, delay, share or mechanism) on month 1's export.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; choose from {KINDS}")
    if seed < 0:
        raise ValueError("seed must be >= 0")
    scans = scans or load_sorting_scans(0)
    timing = kind in ("good", "slow", "cold_start", "noisy_neighbour")
    month = 1 + seed if timing and kind != "slow" else 1
    rows = monthly_export(len(scans.y_train), month)
    X, y = scans.X_train[rows].copy(), scans.y_train[rows].copy()
    centre = scans.centre_train[rows].copy()
    p = _sizes(kind, seed)
    rng = np.random.default_rng([seed, 29])
    fit_X, fit_y = X, y  # what the model is trained on, when it differs from the export

    if kind == "shuffled_labels":
        hit = np.flatnonzero(rng.random(len(y)) < p["share"])
        y[hit] = y[rng.permutation(hit)]
        fit_y = y
    elif kind in ("missing_class", "dropped_class"):
        keep_share = p.get("keep", 0.0)
        keep = (y != p["digit"]) | (rng.random(len(y)) < keep_share)
        X, y, centre = X[keep], y[keep], centre[keep]
        fit_X, fit_y = X, y
    elif kind == "overfit_centre":
        keep = centre == p["centre"]
        X, y, centre = X[keep], y[keep], centre[keep]
        fit_X, fit_y = X, y
    elif kind == "missing_centre":
        keep = (centre != STYLE_CENTRE) | (rng.random(len(y)) < p.get("keep", 0.0))
        X, y, centre = X[keep], y[keep], centre[keep]
        fit_X, fit_y = X, y
    elif kind == "unscaled_pixels":
        X = np.rint(X * 16.0)  # the counts the scanner wrote, as floats
        fit_X = X / 16.0       # the training job happened to scale them; the export did not
    elif kind == "nan_pixels":
        X[rng.random(X.shape) < p["share"]] = np.nan
        fit_X = np.nan_to_num(X)
    elif kind == "unreadable_labels":
        y[rng.random(len(y)) < p["share"]] = -1
        fit_y = y

    if kind == "pale_breaker":
        model = _pale_breaker(fit_X, fit_y, p["mechanism"])
    elif kind == "one_bit_reader":
        model = train_reader(fit_X, fit_y, one_bit=p["threshold"])
    else:
        model = train_reader(fit_X, fit_y)
    if kind == "slow":
        model = slow_reader(model, p["delay_s"])
    elif kind == "cold_start":
        model = cold_start_reader(model)
    elif kind == "noisy_neighbour":
        model = noisy_neighbour_reader(model)
    return Candidate(model, X, y, centre)


def defect(kind: str, seed: int = 0) -> dict[str, Any]:
    """The planted defect's parameters for ``kind`` and ``seed`` (for messages and reports)."""
    return dict(_sizes(kind, seed))


# ------------------------------------------------------------- behavioural inputs


def ink(X: np.ndarray, level: float) -> np.ndarray:
    """Scans as a scanner writing ink at ``level`` of the usual intensity writes them."""
    return np.asarray(X, dtype=float) * float(level)


def blend(A: np.ndarray, B: np.ndarray, t: float) -> np.ndarray:
    """Scans mixed pixel by pixel: ``(1 - t) * A + t * B`` (t = 0: A, t = 1: B)."""
    return (1.0 - t) * np.asarray(A, dtype=float) + t * np.asarray(B, dtype=float)


def blend_pairs(y: np.ndarray, n: int = 300, *, seed: int = 0) -> np.ndarray:
    """``n`` pairs of row indices (n, 2) of scans of two different digits, seeded."""
    y = np.asarray(y)
    rng = np.random.default_rng([seed, 41])
    pairs: list[tuple[int, int]] = []
    while len(pairs) < n:
        a, b = rng.integers(len(y), size=2)
        if y[a] != y[b]:
            pairs.append((int(a), int(b)))
    return np.array(pairs, dtype=int)


# ------------------------------------------------------------------------ plots


def plot_centres(scans: SortingScans, *, digits: Sequence[int] = (1, 2, 4, 7, 9),
                 pale: float = min(PALE_INKS)) -> Figure:
    """Gate scans of a few digits: from another centre, from `STYLE_CENTRE`, and pale."""
    import matplotlib.pyplot as plt

    from labkit.packaging import plot_scans

    fig, axes = plt.subplots(3, len(digits), figsize=(1.3 * len(digits) + 1.6, 4.4),
                             layout="constrained")
    usual = np.array([np.flatnonzero((scans.y_gate == d) & (scans.centre_gate != STYLE_CENTRE))[0]
                      for d in digits])
    styled = np.array([np.flatnonzero((scans.y_gate == d)
                                      & (scans.centre_gate == STYLE_CENTRE))[0] for d in digits])
    plot_scans(scans.X_gate[usual], [str(d) for d in digits], axes=axes[0])
    plot_scans(scans.X_gate[styled], [str(d) for d in digits], axes=axes[1])
    plot_scans(ink(scans.X_gate[usual], pale), [str(d) for d in digits], axes=axes[2])
    for row, label in zip(axes[:, 0], ("other centres", STYLE_CENTRE, f"pale ink x{pale}"),
                          strict=True):
        row.set_ylabel(label, fontsize=9)
    return fig


_COLOURS = {"passed": "#4c9a2a", "failed": "#c0392b", "error": "#e67e22"}


def plot_gate(report: pd.DataFrame, verdicts: Mapping[str, str] | None = None, *,
              ax: Axes | None = None) -> Axes:
    """The gate report (tests as rows, candidates as columns) as a grid of coloured outcomes.

    ``verdicts`` (``{candidate: "ship" | "warn" | "block"}``) are written under the columns.
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    tests, names = [str(t) for t in report.index], [str(c) for c in report.columns]
    codes = {"passed": 0, "failed": 1, "error": 2}
    grid = np.array([[codes.get(str(report.iloc[i, j]), 2) for j in range(len(names))]
                     for i in range(len(tests))])
    if ax is None:
        _, ax = plt.subplots(figsize=(1.25 * len(names) + 2.5, 0.55 * len(tests) + 1.6),
                             layout="constrained")
    ax.imshow(grid, cmap=ListedColormap(list(_COLOURS.values())), vmin=0, vmax=2,
              aspect="auto")
    for i in range(len(tests)):
        for j in range(len(names)):
            ax.text(j, i, str(report.iloc[i, j]), ha="center", va="center", color="white",
                    fontsize=8)
    labels = names if verdicts is None else [f"{n}\n[{verdicts.get(n, '?')}]" for n in names]
    ax.set_xticks(range(len(names)), labels, fontsize=8, rotation=30, ha="right")
    ax.set_yticks(range(len(tests)), tests, fontsize=8)
    ax.set_title("gate report: every test on every candidate", fontsize=10)
    return ax
