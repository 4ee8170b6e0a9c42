"""The order log as a distributed job: daily orders, an ETA model search and a CPU-bound task.

The delivery platform of :mod:`labkit.deliveries` keeps every order in a log with its time
(:func:`make_order_log`, seeded): more orders at weekends and on rainy days, slower deliveries
when couriers are busy, a few cancelled orders (no delivery time) and a day with no orders at
all (a courier strike). :func:`eta_validation_mae` is one fit of the ETA model for a grid of
hyperparameters: it loads its own data, so a worker on another machine can run it from a
seed, and it uses one thread, so that serial and parallel runs are compared fairly.
:func:`rescore_chunk` stands in for re-scoring a chunk of orders: its cost grows with the
number of orders, like real scoring, and it uses one core. :func:`write_daily_files` stores
the log the way a cluster reads it, one Parquet file per day, and
:func:`scheduler_transitions` counts the scheduler's work (to check a job ran on the cluster).
:func:`fake_fit` and :func:`nap` are scripted tasks for checks: they live in a module, so a
worker can import them (a function defined in a test cell of a separate grading kernel could
not travel to the workers).
"""

from __future__ import annotations

import functools
import itertools
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from labkit.deliveries import CATEGORICAL, CITIES, LABEL, NUMERIC, WEATHER, make_orders

if TYPE_CHECKING:
    from matplotlib.axes import Axes

PROMISE_MINUTES = 45.0  # the app promises a delivery within 45 minutes
START = "2026-03-02"  # a Monday
CLOSED = ("2026-03-17",)  # a courier strike: the app took no orders that day
LOG_COLUMNS = ("order_id", "placed_at", *NUMERIC, *CATEGORICAL, LABEL)
SEARCH_ROWS = (3000, 1000)  # training and validation orders of the model search
SPEEDUP_KEYS = ("chunk", "tasks", "serial_s", "parallel_s", "speedup")


def make_order_log(days: int = 28, *, seed: int = 0, start: str = START,
                   closed: Sequence[str] = CLOSED, per_day: int = 1500,
                   cancel_rate: float = 0.03) -> pd.DataFrame:
    """``days`` days of orders from ``start``, sorted by ``placed_at``, seeded.

    Columns ``LOG_COLUMNS``: a unique ``order_id``, the time the order was placed, the
    features and label of :func:`labkit.deliveries.make_orders`. Busy days (weekends, rain)
    have more orders and slower deliveries; cancelled orders have no ``eta_minutes`` (NaN);
    the days listed in ``closed`` have no order at all.
    """
    if days < 1 or per_day < 1:
        raise ValueError("days and per_day must be positive")
    rng = np.random.default_rng(seed)
    closed_days = {pd.Timestamp(d).normalize() for d in closed}
    frames = []
    for day in pd.date_range(start, periods=days, freq="D"):
        rain = float(rng.beta(0.6, 1.4))  # how wet the day is, 0 (dry) to 1 (storm)
        busy = (1.3 if day.dayofweek >= 5 else 1.0) * (1.0 + 0.8 * rain) * rng.uniform(0.9, 1.1)
        seed_day = int(rng.integers(2**31))
        if day in closed_days:
            continue
        n = int(round(per_day * busy))
        df = make_orders(n, seed=seed_day, drift={"weather": rain})
        day_rng = np.random.default_rng(seed_day + 1)
        seconds = day_rng.integers(0, 3600, size=n)
        df.insert(0, "placed_at", day + pd.to_timedelta(df["hour"] * 3600 + seconds, unit="s"))
        late_couriers = 4.0 * (busy - 1.0)  # fewer free couriers on busy days
        eta = np.round(df[LABEL].to_numpy() + late_couriers, 1)
        eta[day_rng.random(n) < cancel_rate] = np.nan  # cancelled: never delivered
        df[LABEL] = eta
        frames.append(df)
    if not frames:
        raise ValueError("every day is closed: no orders")
    log = pd.concat(frames, ignore_index=True)
    log = log.sort_values("placed_at", kind="stable", ignore_index=True)
    log.insert(0, "order_id", np.arange(100_000, 100_000 + len(log), dtype=np.int64))
    log["placed_at"] = log["placed_at"].astype("datetime64[ns]")
    return log[list(LOG_COLUMNS)]


def write_daily_files(orders: pd.DataFrame, folder: str | Path) -> list[Path]:
    """Write ``orders`` as one Parquet file per calendar day with orders; return the paths.

    Files are named ``orders-YYYY-MM-DD.parquet`` (replaced if they exist) and returned in date
    order; each holds that day's orders by ``placed_at`` (ties by ``order_id``), without the
    index. The folder is created if needed.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    ordered = orders.sort_values(["placed_at", "order_id"], kind="stable")
    day = ordered["placed_at"].dt.normalize()
    paths = []
    for when in sorted(day.unique()):
        path = folder / f"orders-{pd.Timestamp(when):%Y-%m-%d}.parquet"
        ordered[day == when].to_parquet(path, index=False)
        paths.append(path)
    return paths


def scheduler_transitions(dask_scheduler: Any) -> int:
    """How many task state changes a Dask scheduler has made so far.

    Run it with ``client.run_on_scheduler(scheduler_transitions)``: if the count does not grow
    during a job, no task of that job ran on the cluster.
    """
    return int(dask_scheduler.transition_counter)


def param_grid(**axes: Sequence[Any]) -> list[dict[str, Any]]:
    """Every combination of the given values, as dicts, the last axis varying fastest."""
    names = list(axes)
    return [dict(zip(names, values, strict=True))
            for values in itertools.product(*(axes[n] for n in names))]


def eta_features(orders: pd.DataFrame) -> np.ndarray:
    """Numeric features, then weather and city as category codes (NaN when unknown)."""
    columns = [orders[c].to_numpy(dtype=float) for c in NUMERIC]
    for column, values in (("weather", WEATHER), ("city", CITIES)):
        codes = pd.Categorical(orders[column], categories=list(values)).codes.astype(float)
        codes[codes < 0] = np.nan
        columns.append(codes)
    return np.column_stack(columns)


@functools.lru_cache(maxsize=4)
def _search_data(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    n_train, n_valid = SEARCH_ROWS
    orders = make_orders(n_train + n_valid, seed=seed)
    X, y = eta_features(orders), orders[LABEL].to_numpy(dtype=float)
    return X[:n_train], y[:n_train], X[n_train:], y[n_train:]


def eta_validation_mae(params: Mapping[str, Any], *, seed: int = 0) -> float:
    """Validation MAE (minutes) of the ETA model fitted with ``params``, on one thread.

    The data comes from ``seed`` (cached per process), so the function can run on any worker.
    """
    from sklearn.ensemble import HistGradientBoostingRegressor
    from threadpoolctl import threadpool_limits

    X_train, y_train, X_valid, y_valid = _search_data(int(seed))
    n_numeric = len(NUMERIC)
    model = HistGradientBoostingRegressor(
        random_state=0, early_stopping=False,
        categorical_features=[n_numeric, n_numeric + 1], **dict(params))
    with threadpool_limits(limits=1):
        model.fit(X_train, y_train)
        predicted = model.predict(X_valid)
    return float(np.mean(np.abs(predicted - y_valid)))


def serial_grid_search(fit_score: Callable[[Mapping[str, Any]], float],
                       grid: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The reference search, one fit after the other: the lowest score wins, ties to the first.

    A fit that raises scores ``math.inf`` (the search goes on). Returns
    ``{"best_params": dict, "best_score": float, "scores": [float, ...]}``, scores in grid order.
    """
    grid = [dict(p) for p in grid]
    if not grid:
        raise ValueError("empty grid")

    def score(params: dict[str, Any]) -> float:
        try:
            return float(fit_score(params))
        except Exception:  # noqa: BLE001 - a failed fit is a candidate that lost
            return math.inf

    scores = [score(p) for p in grid]
    best = min(range(len(grid)), key=lambda i: scores[i])
    return {"best_params": grid[best], "best_score": scores[best], "scores": scores}


def fake_fit(params: Mapping[str, Any]) -> float:
    """A stand-in for one fit, scripted by its params, to check a search: importable anywhere.

    Returns ``float(params["score"])`` after sleeping ``params.get("sleep", 0)`` seconds;
    raises ``ValueError`` if ``params.get("fail")``; if ``params.get("on_worker")``, it runs
    only inside a Dask worker (``distributed.get_worker`` raises ``ValueError`` elsewhere).
    """
    if params.get("on_worker"):
        from distributed import get_worker

        get_worker()
    if params.get("sleep"):
        time.sleep(float(params["sleep"]))
    if params.get("fail"):
        raise ValueError(f"this combination does not converge: {dict(params)}")
    return float(params["score"])


def nap(n: int, *, seconds_each: float = 0.005) -> float:
    """Sleep ``n * seconds_each`` seconds and return ``float(n)``: a task of known duration.

    ``time.sleep`` never returns early, so timings of naps have exact lower bounds, however
    busy the machine is.
    """
    time.sleep(int(n) * float(seconds_each))
    return float(n)


def rescore_chunk(n_orders: int) -> float:
    """Re-score ``n_orders`` orders with a stand-in model; return their mean score.

    About 5 microseconds of one core per order (plus a few microseconds per call), the
    same result for the same ``n_orders`` wherever it runs.
    """
    n = int(n_orders)
    if n < 1:
        raise ValueError("n_orders must be positive")
    x = np.random.default_rng(n).random((n, 32))
    for _ in range(12):  # in place: no allocation per step, whatever the allocator's settings
        np.sin(x, out=x)
        np.square(x, out=x)
        x += 0.5
        np.sqrt(x, out=x)
    return float(x.mean())


def plot_order_log(orders: pd.DataFrame, *, promise: float = PROMISE_MINUTES) -> Any:
    """Orders per day (weekends and closed days visible) and the share of late orders per hour."""
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 3.6))
    day = orders["placed_at"].dt.normalize()
    first, last = day.min(), day.max()
    counts = day.value_counts().reindex(pd.date_range(first, last, freq="D"), fill_value=0)
    colours = ["C1" if d.dayofweek >= 5 else "C0" for d in counts.index]
    left.bar(counts.index, counts.to_numpy(), color=colours, width=0.8)
    for d in counts.index[counts.to_numpy() == 0]:
        left.annotate("closed", (d, 0), xytext=(0, 12), textcoords="offset points",
                      ha="center", rotation=90, fontsize=8)
    left.set_ylabel("orders (orange: weekend)")
    left.set_title("orders per day")
    left.tick_params(axis="x", labelrotation=45)
    delivered = orders.dropna(subset=[LABEL])
    late = (delivered[LABEL] > promise).groupby([delivered["city"], delivered["hour"]]).mean()
    for city in sorted(delivered["city"].unique()):
        share = late.loc[city]
        right.plot(share.index, share.to_numpy(), marker="o", ms=3, label=city)
    right.set_xlabel("hour the order was placed")
    right.set_ylabel(f"share delivered after {promise:g} min")
    right.set_title("late deliveries by city and hour")
    right.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_speedup(rows: Sequence[Mapping[str, Any]], *, n_workers: int,
                 ax: Axes | None = None) -> Axes:
    """Speedup against chunk size (log scale), with the break-even line and the ideal."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.6))
    rows = sorted(rows, key=lambda r: r["chunk"])
    chunks = [r["chunk"] for r in rows]
    speedups = [r["speedup"] for r in rows]
    ax.plot(chunks, speedups, marker="o")
    for r in rows:
        ax.annotate(f"{r['tasks']} tasks", (r["chunk"], r["speedup"]), xytext=(4, 6),
                    textcoords="offset points", fontsize=8)
    ax.axhline(1.0, color="C3", ls="--", lw=1, label="break-even (as fast as serial)")
    ax.axhline(float(n_workers), color="C2", ls=":", lw=1, label=f"ideal ({n_workers} workers)")
    ax.set_xscale("log")
    ax.set_xlabel("orders per task (chunk size)")
    ax.set_ylabel("speedup = serial / parallel time")
    ax.legend(fontsize=8)
    return ax
