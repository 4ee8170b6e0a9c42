"""A month of delivery orders written to disk as daily CSV files, for out-of-core training.

The ETA model's training job used to read every order into memory at once. At 600,000
orders a month (scaled down with the budget) that no longer fits the training worker's
memory. :func:`write_month` writes a seeded month (orders from
:func:`labkit.deliveries.make_orders`, more on Fridays and Saturdays, drifting as the month
goes: wetter weather, a wider delivery radius, a late-night service from mid-month) into one
file per day, plus a held-out sample of every day for evaluation. :func:`featurize` turns any
chunk of orders into the model's numeric features. The plots show the month on disk against
the budget, a training curve and memory peaks. The instruments at the end let tests measure
memory where the learner's code runs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from labkit.deliveries import CITIES, LABEL, WEATHER, make_orders

if TYPE_CHECKING:
    from matplotlib.axes import Axes

ORDERS_PER_MONTH = 600_000
START = "2026-03-01"
WEEKDAY_LOAD = (0.90, 0.85, 0.90, 1.00, 1.20, 1.25, 1.05)  # Monday .. Sunday
COLUMNS = ("order_id", "placed_at", "distance_km", "items", "hour", "weather", "city", LABEL)
RUSH_HOURS = (12, 13, 19, 20)
_SLOW_WEATHER = ("fog", "rain", "snow")
FEATURE_NAMES = (
    ("distance_km", "items", "rush", "distance_x_rush")
    + tuple(f"distance_x_{w}{r}" for w in _SLOW_WEATHER for r in ("", "_x_rush"))
    + ("distance_x_weather_missing",)
    + tuple(f"city_{c}" for c in CITIES)
)


@dataclass(frozen=True)
class Month:
    """A month on disk: daily training files in date order, a held-out file, daily facts."""

    paths: tuple[Path, ...]
    holdout: Path
    daily: pd.DataFrame  # one row per day: date, orders, file_mb, and drift indicators


def daily_volumes(orders: int, days: int, *, start: str = START) -> np.ndarray:
    """Orders per day, busier at the weekend, summing exactly to ``orders``."""
    if days < 1 or orders < days:
        raise ValueError("need at least one day and one order per day")
    first = dt.date.fromisoformat(start)
    load = np.array([WEEKDAY_LOAD[(first + dt.timedelta(days=d)).weekday()]
                     for d in range(days)])
    volumes = np.floor(orders * load / load.sum()).astype(np.int64)
    volumes[np.argsort(-load, kind="stable")[: orders - int(volumes.sum())]] += 1
    return volumes


def _drift(day: int, days: int) -> dict[str, float]:
    s = day / max(days - 1, 1)
    return {"weather": s, "distance_km": 0.8 * s, "hour": 0.7 if s >= 0.5 else 0.0}


def _orders_of_day(n: int, day: int, days: int, seed: int, stream: int,
                   date: str) -> pd.DataFrame:
    """A day's orders with the time they were placed (``placed_at``, to the minute)."""
    day_seed = np.random.SeedSequence([seed, stream, day]).generate_state(2)
    df = make_orders(n, seed=int(day_seed[0]), drift=_drift(day, days))
    minute = np.random.default_rng(int(day_seed[1])).integers(0, 60, size=n)
    stamps = np.array([f"{date}T{h:02d}:{m:02d}" for h in range(24) for m in range(60)],
                      dtype=object)  # a few distinct strings, picked by index: fast
    df.insert(0, "placed_at", stamps[df["hour"].to_numpy() * 60 + minute])
    return df


def _to_csv(df: pd.DataFrame, path: Path) -> None:
    """``df.to_csv(path, index=False)``, byte for byte, in about half the time.

    Formatting floats is what costs; distances and ETAs take few distinct values (they are
    rounded), so each distinct value is formatted once, as pandas would write it.
    """
    out = df.copy()
    for column in out.columns:
        if pd.api.types.is_float_dtype(out[column]) and out[column].notna().all():
            values, inverse = np.unique(out[column].to_numpy(), return_inverse=True)
            text = np.array([repr(float(v)) for v in values], dtype=object)
            out[column] = pd.Series(text[inverse], index=out.index, dtype=object)
    out.to_csv(path, index=False)


def write_month(folder: str | Path, *, seed: int = 0, days: int = 30,
                orders: int = ORDERS_PER_MONTH, holdout_per_day: int = 300,
                start: str = START) -> Month:
    """Write ``days`` daily CSV files holding ``orders`` orders in all, and a held-out file.

    Files are ``orders_<date>.csv`` with the columns ``COLUMNS`` (``order_id`` counts up
    through the month, ``placed_at`` is the minute the order was placed, unused by the
    model, as exports carry more columns than a model needs); the held-out file
    ``holdout.csv`` has ``holdout_per_day`` other orders of every day, drawn from the same
    day's distribution. Seeded: the same arguments
    write the same bytes. Only ``folder`` is written to (created if needed).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    first = dt.date.fromisoformat(start)
    paths, facts, held = [], [], []
    next_id = 0
    for day, n in enumerate(daily_volumes(orders, days, start=start)):
        date = (first + dt.timedelta(days=day)).isoformat()
        df = _orders_of_day(int(n), day, days, seed, stream=0, date=date)
        df.insert(0, "order_id", np.arange(next_id, next_id + len(df), dtype=np.int64))
        next_id += len(df)
        path = folder / f"orders_{date}.csv"
        _to_csv(df, path)
        paths.append(path)
        weather = df["weather"].astype(object)
        facts.append({"date": date, "orders": len(df), "file_mb": path.stat().st_size / 1e6,
                      "mean_distance_km": float(df["distance_km"].mean()),
                      "share_rain_or_snow": float(weather.isin(["rain", "snow"]).mean()),
                      "share_after_21h": float((df["hour"] >= 21).mean())})
        if holdout_per_day:
            held.append(_orders_of_day(holdout_per_day, day, days, seed, stream=1, date=date))
    holdout = folder / "holdout.csv"
    frame = pd.concat(held, ignore_index=True) if held else pd.DataFrame(
        {c: [] for c in COLUMNS if c != "order_id"})
    frame.insert(0, "order_id", np.arange(next_id, next_id + len(frame), dtype=np.int64))
    _to_csv(frame, holdout)
    return Month(tuple(paths), holdout, pd.DataFrame(facts))


def featurize(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The ETA model's features (``FEATURE_NAMES``, float64) and label of a chunk of orders.

    Row by row, no statistics of the chunk: the same order gives the same features whichever
    chunk it comes in. Minutes per km depend on the weather and the rush hours, so the
    distance enters multiplied by each of them; a missing weather gets its own term.
    """
    d = df["distance_km"].to_numpy(dtype=np.float64)
    rush = np.isin(df["hour"].to_numpy(), RUSH_HOURS).astype(np.float64)
    # categories as integer codes (-1: missing or unknown): one hashing pass per column
    weather = pd.Categorical(df["weather"], categories=WEATHER).codes
    city = pd.Categorical(df["city"], categories=CITIES).codes
    cols = [d, df["items"].to_numpy(dtype=np.float64), rush, d * rush]
    for w in _SLOW_WEATHER:
        dw = d * (weather == WEATHER.index(w))
        cols += [dw, dw * rush]
    cols.append(d * (weather < 0))
    cols += [(city == i).astype(np.float64) for i in range(len(CITIES))]
    X = np.empty((len(df), len(cols)), dtype=np.float64)
    for j, col in enumerate(cols):
        X[:, j] = col
    return X, df[LABEL].to_numpy(dtype=np.float64)


def same_orders(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    """True when two frames hold the same orders in the same row order, columns in order.

    Index and dtypes are ignored: a CSV read in pieces may infer another dtype for a piece
    (a piece whose weather is all missing reads as float), yet hold the same values.
    """
    if list(a.columns) != list(b.columns) or len(a) != len(b):
        return False
    for column in a.columns:
        x, y = a[column], b[column]
        if pd.api.types.is_numeric_dtype(x) and pd.api.types.is_numeric_dtype(y):
            if not np.array_equal(x.to_numpy(dtype=np.float64), y.to_numpy(dtype=np.float64),
                                  equal_nan=True):
                return False
        else:
            xs = [None if pd.isna(v) else str(v) for v in x.to_numpy(dtype=object)]
            ys = [None if pd.isna(v) else str(v) for v in y.to_numpy(dtype=object)]
            if xs != ys:
                return False
    return True


def folder_mb(paths: Sequence[str | Path]) -> float:
    """Megabytes (1e6 bytes) of a set of files on disk."""
    return sum(Path(p).stat().st_size for p in paths) / 1e6


def plot_month(daily: pd.DataFrame, budget_mb: float, *,
               axes: Sequence[Axes] | None = None) -> Sequence[Axes]:
    """Left: the month on disk, cumulated day by day, against the memory budget.

    Right: how the month drifts (wet weather, distance, late orders), each relative to day 1.
    """
    import matplotlib.pyplot as plt

    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    day = np.arange(1, len(daily) + 1)
    ax = axes[0]
    ax.bar(day, daily["file_mb"], color="C0", alpha=0.5, label="one day's file")
    ax.plot(day, daily["file_mb"].cumsum(), "o-", color="C0", ms=3, label="the month so far")
    ax.axhline(budget_mb, color="C3", ls="--", label=f"memory budget ({budget_mb:g} MB)")
    ax.set_xlabel("day of the month")
    ax.set_ylabel("MB on disk (CSV)")
    ax.set_title(f"{int(daily['orders'].sum()):,} orders, {daily['file_mb'].sum():.0f} MB",
                 fontsize=9)
    ax.legend(fontsize=8)
    ax = axes[1]
    for column, label in [("share_rain_or_snow", "share of rain or snow"),
                          ("mean_distance_km", "mean distance"),
                          ("share_after_21h", "share of orders after 21:00")]:
        values = daily[column].to_numpy(dtype=float)
        ax.plot(day, values / values[0], "o-", ms=3, label=label)
    ax.axhline(1.0, color="gray", lw=0.8)
    ax.set_xlabel("day of the month")
    ax.set_ylabel("relative to day 1")
    ax.set_title("the month drifts: day 1 is not the month", fontsize=9)
    ax.legend(fontsize=8)
    return axes


def plot_curve(orders_seen: Sequence[int] | np.ndarray, curve: Sequence[float], *,
               references: Mapping[str, float] | None = None,
               ax: Axes | None = None) -> Axes:
    """Held-out error after each training batch, against orders seen (log scale).

    ``references`` maps a label to a held-out error drawn as a horizontal line (for example
    the in-memory model).
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.8))
    ax.plot(np.asarray(orders_seen), np.asarray(curve, dtype=float), "-", color="C0",
            label="out-of-core, after each batch")
    for i, (label, value) in enumerate((references or {}).items()):
        ax.axhline(value, color=f"C{i + 1}", ls="--", lw=1.2, label=f"{label}: {value:.3f}")
    ax.set_xscale("log")
    ax.set_xlabel("orders seen (log scale)")
    ax.set_ylabel("held-out MAE (minutes)")
    finite = np.asarray(curve, dtype=float)
    finite = finite[np.isfinite(finite)]
    if finite.size:  # from the best value to the worst, without letting one blow-up flatten all
        low = min([float(finite.min()), *(references or {}).values()])
        ax.set_ylim(0.97 * low, min(1.05 * float(finite.max()), 2.0 * low))
    ax.legend(fontsize=8)
    return ax


def plot_memory(peaks: Mapping[str, float], budget_mb: float, *,
                ax: Axes | None = None) -> Axes:
    """Peak traced memory of each approach (horizontal bars, MB) against the budget."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 0.6 + 0.5 * len(peaks)))
    names = list(peaks)
    values = [float(peaks[n]) for n in names]
    colours = ["C2" if v <= budget_mb else "C3" for v in values]
    ax.barh(names, values, color=colours)
    for i, v in enumerate(values):
        ax.text(v, i, f" {v:.1f} MB", va="center", fontsize=8)
    ax.axvline(budget_mb, color="C3", ls="--", label=f"budget {budget_mb:g} MB")
    ax.set_xscale("log")
    ax.set_xlabel("peak traced memory (MB, log scale)")
    ax.invert_yaxis()
    ax.legend(fontsize=8, loc="lower right")
    return ax


def plot_probes(measured: Mapping[int, float], budget_mb: float, chosen: int | None = None, *,
                margin: float | None = None, ax: Axes | None = None) -> Axes:
    """Measured peaks against batch size, the budget (less ``margin``), and the size chosen."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    rows = np.array(sorted(measured), dtype=float)
    peaks = np.array([measured[int(r)] for r in rows], dtype=float)
    ax.plot(rows, peaks, "o", color="C0", label="measured peak")
    if len(rows) >= 2:
        slope, intercept = np.polyfit(rows, peaks, 1)
        far = max(float(rows.max()), float(chosen or 0)) * 1.3
        xs = np.linspace(0, far, 50)
        ax.plot(xs, intercept + slope * xs, ":", color="C0", label="straight-line fit")
    ax.axhline(budget_mb, color="C3", ls="--", label=f"budget {budget_mb:g} MB")
    if margin:
        ax.axhline((1 - margin) * budget_mb, color="C3", ls=":", lw=1,
                   label=f"budget less a {margin:.0%} margin")
    if chosen:
        ax.axvline(chosen, color="C2", label=f"chosen: {chosen:,} rows")
    ax.set_ylim(0, 1.15 * budget_mb)
    ax.set_xlabel("rows per batch")
    ax.set_ylabel("peak traced memory (MB)")
    ax.legend(fontsize=8, loc="lower right")
    return ax


# --- instruments for the tests: they run where the learner's code runs ---------------------

class KernelProbe:
    """Runs code and measures memory in the interpreter that created it.

    ``tracemalloc`` sees only the Python process it runs in. When the grader runs the test
    cells in a separate trusted kernel, a probe created by a locked cell stays in the
    learner's kernel: the tests call its methods, and the measuring happens where the
    learner's functions run (labkit functions passed to it travel by reference).
    """

    def peak_mb(self, fn: Callable[..., Any], /, *args: Any,
                **kwargs: Any) -> tuple[Any, float]:
        """``(fn(*args, **kwargs), peak traced MB of the call above what was traced before)``."""
        import tracemalloc

        started_here = not tracemalloc.is_tracing()
        if started_here:
            tracemalloc.start()
        try:
            tracemalloc.reset_peak()
            base = tracemalloc.get_traced_memory()[0]
            result = fn(*args, **kwargs)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            if started_here:
                tracemalloc.stop()
        return result, float(peak - base) / 1e6

    def tracing(self) -> bool:
        """Whether tracemalloc is tracing in this interpreter."""
        import tracemalloc

        return tracemalloc.is_tracing()

    def run(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)``, run here."""
        return fn(*args, **kwargs)


class OnePass:
    """An iterable of batches that can be read once, like a generator, yet can be pickled."""

    def __init__(self, batches: Iterable[Any]):
        self._batches = list(batches)
        self._used = False

    def __iter__(self) -> Iterator[Any]:
        if self._used:
            raise RuntimeError("this stream of batches can be read only once")
        self._used = True
        batches, self._batches = self._batches, []
        while batches:
            yield batches.pop(0)


class RandomBatches:
    """``n_batches`` seeded standard-normal batches of ``rows`` x ``columns``, made on demand.

    Readable once; at most one batch exists at a time unless the reader keeps them.
    """

    def __init__(self, seed: int, n_batches: int, rows: int, columns: int):
        self.seed, self.n_batches, self.rows, self.columns = seed, n_batches, rows, columns
        self._used = False

    def __iter__(self) -> Iterator[np.ndarray]:
        if self._used:
            raise RuntimeError("this stream of batches can be read only once")
        self._used = True
        rng = np.random.default_rng(self.seed)
        for _ in range(self.n_batches):
            yield rng.standard_normal((self.rows, self.columns))


def count_rows(make_batches: Callable[..., Iterable[Any]], /, *args: Any, **kwargs: Any) -> int:
    """Rows yielded by ``make_batches(*args, **kwargs)``, each batch dropped once counted."""
    n = 0
    for batch in make_batches(*args, **kwargs):
        n += len(batch)
        del batch
    return n


def allocate_temporarily(mb: float) -> int:
    """Allocate ``mb`` MB, free it, and return how many bytes it was."""
    block = np.ones(int(mb * 1e6) // 8, dtype=np.float64)
    size = int(block.nbytes)
    del block
    return size


def allocate_then_fail(mb: float) -> None:
    """Allocate ``mb`` MB, then raise KeyError, as a job that fails half-way."""
    block = np.ones(int(mb * 1e6) // 8, dtype=np.float64)
    raise KeyError(f"no such day (after allocating {block.nbytes} bytes)")


def measure_with_tracing_on(measure: Callable[..., tuple[Any, float]],
                            fn: Callable[..., Any], /, *args: Any, held_mb: float = 12.0,
                            earlier_peak_mb: float = 48.0, **kwargs: Any) -> dict:
    """Call ``measure(fn, *args, **kwargs)`` while someone else is already tracing.

    Before the call, ``held_mb`` MB stay allocated and a temporary of ``earlier_peak_mb`` MB
    made an earlier peak; neither belongs to the call. Returns the measured ``peak`` and
    whether tracing was still on afterwards (``still_tracing``).
    """
    import tracemalloc

    started_here = not tracemalloc.is_tracing()
    if started_here:
        tracemalloc.start()
    try:
        held = np.ones(int(held_mb * 1e6) // 8)
        earlier = np.ones(int(earlier_peak_mb * 1e6) // 8)
        del earlier
        _, peak = measure(fn, *args, **kwargs)
        still_tracing = tracemalloc.is_tracing()
        del held
    finally:
        if started_here and tracemalloc.is_tracing():
            tracemalloc.stop()
    return {"peak": peak, "still_tracing": still_tracing}


def measure_nested(measure: Callable[..., tuple[Any, float]], fn: Callable[..., Any], /,
                   *args: Any, extra_mb: float = 8.0, **kwargs: Any) -> dict:
    """Inside an outer measurement: measure ``fn`` too, then allocate ``extra_mb`` more MB.

    Returns the inner peak and whether the outer tracing survived the inner measurement.
    """
    import tracemalloc

    _, inner_peak = measure(fn, *args, **kwargs)
    still_tracing = tracemalloc.is_tracing()
    extra = np.ones(int(extra_mb * 1e6) // 8)
    del extra
    return {"inner_peak": inner_peak, "still_tracing": still_tracing}
