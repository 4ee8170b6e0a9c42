"""Monitoring a postcode reader in production: a seeded stream of scans, drift and retraining.

The parcel-sorting company reads every handwritten postcode digit with a model (scikit-learn's
bundled 8x8 ``digits`` stand in for the scans, split as in `labkit.releases`). This module
simulates what happens *after* a release, and holds what a learner should not have to write:

- `make_stream`: ``days`` days of scans from the five sorting centres, drawn from the hold-out
  digits the reader never saw, each scan with its own ink level and sensor noise. Two changes
  of the world can be planted: a **scanner fault** (from ``scanner_day`` one centre's scanners
  shift every scan one pixel to the right and print it paler: the inputs change) and a
  **writing habit** (from ``habit_day`` a share of the 1s are written with a long flag and no
  crossbar, the way the reader's 7s look: what a scan *means* changes, its look barely), plus
  an optional slow **fade** of every scanner's lamp;
- `scan_features`: per-scan summary features a monitor can compute without labels (mean ink,
  horizontal centre of the ink);
- `make_reader` / `train_reader`: the reader in production, a shrunk linear discriminant on
  contrast-normalised scans (cheap enough to retrain many times in a simulation);
- `daily_errors` and `run_production`: the day-by-day replay of a stream with a model that a
  retraining policy may replace, labels arriving ``delay`` days late;
- `plot_stream` and `plot_monitoring`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from labkit.releases import _CENTRE_P, CENTRES, load_postcode_digits, normalise_contrast

if TYPE_CHECKING:
    from matplotlib.axes import Axes

DAYS = 60
SCANS_PER_DAY = 400
LABEL_DELAY = 3          # the depots confirm a parcel's postcode three days after the scan
SCANNER_CENTRE = "Strasbourg"
SCANNER_INK = 0.6        # the faulty firmware prints ink at 60 % of the usual intensity
HABIT_SHARE = 0.7        # share of the 1s written the new way once the habit has spread
FADE_PER_DAY = 0.005     # a fading lamp loses 0.5 % of ink intensity per day
FEATURES = ("ink", "x_centre")
_SIDE = 8
_NOISE = 0.03


@dataclass(frozen=True)
class Stream:
    """Scans ``X`` (n, 64) in [0, 1] with their ``log`` (day, centre, digit) and planted events.

    ``log["digit"]`` is the truth the depots confirm ``LABEL_DELAY`` days after the scan; a
    monitor may use it only once it has arrived. ``events`` maps "scanner", "habit" and "fade"
    to the first day of that change, or None when it was not planted.
    """

    log: pd.DataFrame
    X: np.ndarray
    events: dict[str, int | None] = field(default_factory=dict)


def _shift_right(X: np.ndarray) -> np.ndarray:
    images = X.reshape(-1, _SIDE, _SIDE)
    out = np.zeros_like(images)
    out[:, :, 1:] = images[:, :, :-1]
    return out.reshape(X.shape)


def flagged_ones(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """1s written with a long flag and no crossbar: the scans' 7s with the crossbar erased.

    The writers of the bundled digits cross their 7s (ink on the middle row), so a 7 without
    the bar is what a 1 looks like when it is written with a long flag at the top.
    """
    sevens = np.asarray(X, dtype=float)[np.asarray(y) == 7].reshape(-1, _SIDE, _SIDE).copy()
    stem = np.maximum(sevens[:, 3, 2:5], sevens[:, 5, 2:5])
    sevens[:, 4, :] = 0.0
    sevens[:, 4, 2:5] = 0.9 * stem
    return sevens.reshape(len(sevens), _SIDE * _SIDE)


def make_stream(seed: int = 0, *, days: int = DAYS, scans_per_day: int = SCANS_PER_DAY,
                scanner_day: int | None = 30, scanner_centre: str = SCANNER_CENTRE,
                scanner_ink: float = SCANNER_INK, habit_day: int | None = 45,
                habit_share: float = HABIT_SHARE, fade_day: int | None = None,
                fade_per_day: float = FADE_PER_DAY) -> Stream:
    """``days`` days of ``scans_per_day`` scans each, with the changes planted at the given days.

    Scans are drawn (seeded, with replacement) from the hold-out digits of
    ``load_postcode_digits(seed=0)``, which the production reader never saw; each gets an ink
    level in [0.8, 1.0] and sensor noise. The random draws do not depend on which changes are
    planted, so two streams with the same seed differ only by the planted changes.
    """
    if scanner_centre not in CENTRES:
        raise ValueError(f"unknown centre {scanner_centre!r}, expected one of {CENTRES}")
    if days < 1 or scans_per_day < 1:
        raise ValueError("need at least one day and one scan per day")
    split = load_postcode_digits(seed=0)
    pool_X, pool_y = split.X_holdout, split.y_holdout
    flagged = flagged_ones(pool_X, pool_y)
    rng = np.random.default_rng(seed)
    n = days * scans_per_day
    day = np.repeat(np.arange(days), scans_per_day)
    rows = rng.integers(len(pool_X), size=n)
    centre = np.array(CENTRES)[rng.choice(len(CENTRES), size=n, p=_CENTRE_P)]
    habit_draw = rng.random(n)
    flag_rows = rng.integers(len(flagged), size=n)
    ink = rng.uniform(0.8, 1.0, size=n)
    noise = rng.normal(0.0, _NOISE, size=(n, pool_X.shape[1]))

    X = pool_X[rows].copy()
    y = pool_y[rows].copy()
    if habit_day is not None:
        habit = (day >= habit_day) & (y == 1) & (habit_draw < habit_share)
        X[habit] = flagged[flag_rows[habit]]
    if scanner_day is not None:
        faulty = (day >= scanner_day) & (centre == scanner_centre)
        X[faulty] = _shift_right(X[faulty]) * scanner_ink
    if fade_day is not None:
        ink = ink * np.clip(1.0 - fade_per_day * np.maximum(day - fade_day, 0), 0.2, 1.0)
    X = np.clip(X * ink[:, None] + noise, 0.0, 1.0)
    log = pd.DataFrame({"day": day, "centre": centre, "digit": y.astype(np.int64)})
    events = {"scanner": scanner_day, "habit": habit_day, "fade": fade_day}
    return Stream(log=log, X=X, events=events)


def scan_features(X: np.ndarray) -> pd.DataFrame:
    """Per-scan features a monitor can compute without labels.

    ``ink``: mean pixel value (how dark the scan is); ``x_centre``: the ink-weighted mean
    column, 0 (left) to 7 (right), i.e. where the digit sits horizontally.
    """
    X = np.asarray(X, dtype=float)
    images = X.reshape(len(X), _SIDE, _SIDE)
    total = images.sum(axis=(1, 2))
    columns = images.sum(axis=1) @ np.arange(_SIDE, dtype=float)
    x_centre = np.where(total > 0, columns / np.where(total > 0, total, 1.0), (_SIDE - 1) / 2)
    return pd.DataFrame({"ink": X.mean(axis=1), "x_centre": x_centre})


def stream_features(stream: Stream) -> pd.DataFrame:
    """The stream's log (day, centre) with the per-scan features; no labels."""
    return pd.concat([stream.log[["day", "centre"]].reset_index(drop=True),
                      scan_features(stream.X)], axis=1)


# -------------------------------------------------------------------------- the reader


def make_reader() -> Any:
    """An unfitted reader: contrast normalisation, then a shrunk linear discriminant."""
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    return make_pipeline(FunctionTransformer(normalise_contrast),
                         LinearDiscriminantAnalysis(solver="lsqr", shrinkage=0.1))


def train_reader() -> Any:
    """The reader in production: `make_reader` fitted on the training digits of the split."""
    split = load_postcode_digits(seed=0)
    return make_reader().fit(split.X_train, split.y_train)


def daily_errors(stream: Stream, model: Any) -> pd.DataFrame:
    """One row per day: ``day``, ``scans``, ``errors`` (ints) of ``model`` on the stream."""
    wrong = np.asarray(model.predict(stream.X)) != stream.log["digit"].to_numpy()
    table = pd.DataFrame({"day": stream.log["day"].to_numpy(), "wrong": wrong})
    out = table.groupby("day")["wrong"].agg(scans="size", errors="sum").reset_index()
    return out.astype({"day": np.int64, "scans": np.int64, "errors": np.int64})


def run_production(stream: Stream, model: Any, *,
                   policy: Callable[..., Sequence[int]] | None = None,
                   alarm_days: Iterable[int] = (),
                   monitor: Callable[..., Mapping[str, Any]] | None = None,
                   delay: int = LABEL_DELAY,
                   fit: Callable[[np.ndarray, np.ndarray], Any] | None = None) -> pd.DataFrame:
    """Replay the stream day by day with ``model`` in service, retraining when ``policy`` says.

    Each day ``t``: the model in service reads the day's scans; ``monitor(daily, today=t)``
    (if given) sees the table ``day, scans, errors`` of the days read by the model *now in
    service* (labels not yet arrived included: the monitor must not use them) and returns a
    dict with a bool ``"alarm"``; then ``policy(t, alarm_days=..., last_retrain=...)`` gets
    the sorted days (up to ``t``) on which an input alarm (from ``alarm_days``) or a
    performance alarm was on, and the day of the last retraining (None before any), and
    returns the days whose labelled scans to train a new model on (empty: keep the model).
    Training on a day whose labels have not arrived (later than ``t - delay``) is refused.
    The new model (``fit(X, y)``, by default a fresh `make_reader`) serves from day ``t + 1``.

    Returns one row per day: ``day``, ``scans``, ``errors``, ``error`` (rate),
    ``input_alarm``, ``performance_alarm``, ``retrained`` (bools) and ``version`` (1, 2, ...).
    """
    if fit is None:
        def fit(X: np.ndarray, y: np.ndarray) -> Any:
            return make_reader().fit(X, y)

    log = stream.log
    days = np.sort(log["day"].unique())
    day_of_scan = log["day"].to_numpy()
    truth = log["digit"].to_numpy()
    input_alarms = {int(d) for d in alarm_days}
    alarms: list[int] = []
    rows: list[dict[str, Any]] = []
    last_retrain: int | None = None
    version = 1
    for t in (int(d) for d in days):
        on_day = day_of_scan == t
        errors = int(np.sum(np.asarray(model.predict(stream.X[on_day])) != truth[on_day]))
        row = {"day": t, "scans": int(on_day.sum()), "errors": errors, "version": version}
        rows.append(row)
        performance_alarm = False
        if monitor is not None:
            live = pd.DataFrame([{k: r[k] for k in ("day", "scans", "errors")} for r in rows
                                 if last_retrain is None or r["day"] > last_retrain])
            performance_alarm = bool(monitor(live, today=t)["alarm"])
        row["input_alarm"] = t in input_alarms
        row["performance_alarm"] = performance_alarm
        if row["input_alarm"] or performance_alarm:
            alarms.append(t)
        row["retrained"] = False
        if policy is None:
            continue
        train_days = sorted(int(d) for d in policy(t, alarm_days=list(alarms),
                                                   last_retrain=last_retrain))
        if not train_days:
            continue
        if train_days[-1] > t - delay:
            raise ValueError(f"day {t}: the policy asks to train on day {train_days[-1]}, whose "
                             f"labels arrive only on day {train_days[-1] + delay}")
        chosen = np.isin(day_of_scan, train_days)
        if not chosen.any():
            raise ValueError(f"day {t}: no scan on the training days {train_days}")
        model = fit(stream.X[chosen], truth[chosen])
        last_retrain = t
        version += 1
        row["retrained"] = True
    out = pd.DataFrame(rows)
    out["error"] = out["errors"] / out["scans"]
    columns = ["day", "scans", "errors", "error", "input_alarm", "performance_alarm",
               "retrained", "version"]
    return out[columns]


# ------------------------------------------------------------------------------- plots


def _events(ax: Axes, events: Mapping[str, int | None], *, labels: bool) -> None:
    styles = {"scanner": ("C3", "scanner fault"), "habit": ("C4", "new writing habit"),
              "fade": ("C5", "lamps start fading")}
    for name, day in events.items():
        if day is None or name not in styles:
            continue
        colour, text = styles[name]
        ax.axvline(day - 0.5, color=colour, ls=":", lw=1.2, label=text if labels else None)


def plot_stream(features: pd.DataFrame, errors: pd.DataFrame, *,
                events: Mapping[str, int | None] | None = None) -> np.ndarray:
    """Daily mean of each feature per centre, and the reader's daily error (with hindsight)."""
    import matplotlib.pyplot as plt

    columns = [c for c in FEATURES if c in features]
    fig, axes = plt.subplots(len(columns) + 1, 1, figsize=(8, 2.0 * (len(columns) + 1) + 0.4),
                             sharex=True, layout="constrained")
    means = features.groupby(["day", "centre"])[columns].mean()
    for ax, column in zip(axes, columns, strict=False):
        for k, centre in enumerate(sorted(features["centre"].unique())):
            series = means.xs(centre, level="centre")[column]
            ax.plot(series.index, series.to_numpy(float), color=f"C{k}", lw=1.2, label=centre)
        ax.set_ylabel(f"mean {column}")
    axes[0].legend(fontsize=7, ncol=5, loc="lower left")
    ax = axes[-1]
    ax.plot(errors["day"], (errors["errors"] / errors["scans"]).to_numpy(float), color="k",
            lw=1.4, label="daily error (labels arrive 3 days late)")
    ax.set_ylabel("error rate")
    ax.set_ylim(bottom=0)
    ax.set_xlabel("day")
    for k, ax in enumerate(axes):
        _events(ax, events or {}, labels=k == len(axes) - 1)
    axes[-1].legend(fontsize=7, loc="upper left")
    fig.suptitle("what the monitors see (per centre) and what the depots report later",
                 fontsize=10)
    return axes


def plot_monitoring(drift: pd.Series, threshold: float, alarm_days: Sequence[int],
                    runs: Mapping[str, pd.DataFrame], *,
                    events: Mapping[str, int | None] | None = None,
                    reference_days: int | None = None) -> np.ndarray:
    """Daily drift statistic with threshold and alarms; daily error of each run of the stream.

    ``runs`` maps a name ("never retrain", ...) to a `run_production` table; its retraining
    days are marked on its error line, and the first run's performance alarms on the axis.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 1, figsize=(8, 5.4), sharex=True, layout="constrained")
    ax = axes[0]
    ax.semilogy(drift.index, np.clip(drift.to_numpy(float), 1e-3, None), color="C0", lw=1.3,
                label="daily drift statistic (max PSI)")
    ax.axhline(threshold, color="0.3", ls="--", lw=1, label=f"threshold {threshold:.3g}")
    alarm_days = [int(d) for d in alarm_days]
    if alarm_days:
        values = drift.reindex(alarm_days).to_numpy(float)
        ax.scatter(alarm_days, np.clip(values, 1e-3, None), color="C3", s=14, zorder=3,
                   label="input alarm on")
    if reference_days:
        ax.axvspan(drift.index.min() - 0.5, drift.index.min() + reference_days - 0.5,
                   color="0.9", label="reference window")
    ax.set_ylabel("PSI vs reference")
    ax = axes[1]
    for k, (name, run) in enumerate(runs.items()):
        ax.plot(run["day"], run["error"].to_numpy(float), color=f"C{k}", lw=1.3, label=name)
        if k == 0 and run["performance_alarm"].any():
            on = run.loc[run["performance_alarm"], "day"]
            ax.scatter(on, np.zeros(len(on)), marker="|", s=60, color="C3", clip_on=False,
                       label=f"performance alarm on ({name})")
        retrained = run.loc[run["retrained"], "day"]
        if len(retrained):
            ax.scatter(retrained, run.set_index("day").loc[retrained, "error"], marker="^",
                       color=f"C{k}", s=30, zorder=3, label=f"{name}: retrained")
    ax.set_ylabel("daily error rate")
    ax.set_ylim(bottom=0)
    ax.set_xlabel("day")
    for k, ax in enumerate(axes):
        _events(ax, events or {}, labels=k == 0)
        ax.legend(fontsize=7, loc="upper left")
    fig.suptitle("monitoring the postcode reader: inputs (top), errors once labelled (bottom)",
                 fontsize=10)
    return axes
