"""Load and batching lab: a stand-in accelerator, a probe server, seeded files and tables.

The notebook on batch versus online serving needs a model whose cost has the shape of real
inference hardware (a fixed cost per call, a small cost per row, one call at a time), a
server that reports what a load generator really did (how many requests were in flight at
once, which bodies arrived), a file of flowers to score in bulk, and seeded load tables with
known answers. Everything here is deterministic given its arguments, except wall-clock time.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from fastapi import FastAPI
    from matplotlib.axes import Axes

FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")
TABLE_COLUMNS = ("config", "max_batch", "max_wait_ms", "concurrency", "throughput_rps",
                 "p50_ms", "p99_ms")


class Accelerator:
    """A fitted model behind one inference device: one call at a time, cost per call and row.

    ``predict(X)`` holds the device for ``call_ms + row_ms * len(X)`` milliseconds (sleeping,
    so it burns no CPU and other threads keep running) and returns ``model.predict(X)``. The
    shape is that of a GPU or a remote model server: a large fixed cost per call, a small one
    per row, and calls from many threads queue for the single device. ``calls``, ``rows`` and
    ``batch_sizes`` record what was asked of it.
    """

    def __init__(self, model: Any, *, call_ms: float = 20.0, row_ms: float = 0.02) -> None:
        if call_ms < 0 or row_ms < 0:
            raise ValueError("call_ms and row_ms must be >= 0")
        self.model, self.call_ms, self.row_ms = model, float(call_ms), float(row_ms)
        self._device = threading.Lock()
        self.batch_sizes: list[int] = []

    @property
    def calls(self) -> int:
        return len(self.batch_sizes)

    @property
    def rows(self) -> int:
        return sum(self.batch_sizes)

    def cost_ms(self, n_rows: int) -> float:
        """Device time of one call with ``n_rows`` rows, in milliseconds."""
        return self.call_ms + self.row_ms * n_rows

    def predict(self, X: Any) -> np.ndarray:
        rows = np.asarray(X, dtype=float)
        if rows.ndim != 2 or len(rows) == 0:
            raise ValueError(f"predict expects a non-empty 2-D array, got shape {rows.shape}")
        with self._device:
            time.sleep(self.cost_ms(len(rows)) / 1000.0)
            self.batch_sizes.append(len(rows))
            return self.model.predict(rows)

    def reset(self) -> None:
        """Forget the recorded calls."""
        self.batch_sizes = []


class LoadProbe:
    """A FastAPI app that records what a load generator did to it.

    ``POST /predict`` (any JSON object) sleeps ``delay_ms`` (or the body's ``"delay_ms"``) and
    answers ``{"ok": true}``; ``POST /broken`` answers 503. The probe counts ``requests``,
    keeps the received ``bodies`` in arrival order and the ``peak_in_flight`` number of
    requests being handled at once. With ``gate=k`` the first requests are held until ``k``
    are in flight (or ``gate_timeout_s`` passed), so a client that really keeps ``k``
    requests open is seen at exactly ``k``, even on a slow machine.
    """

    def __init__(self, *, delay_ms: float = 20.0, gate: int = 1,
                 gate_timeout_s: float = 2.0) -> None:
        self.delay_ms, self.gate, self.gate_timeout_s = float(delay_ms), int(gate), gate_timeout_s
        self.requests = 0
        self.in_flight = 0
        self.peak_in_flight = 0
        self.bodies: list[dict] = []
        self._gate_open = self.gate <= 1
        self._gate_deadline: float | None = None
        self.app = self._build()

    def _build(self) -> FastAPI:
        from fastapi import FastAPI, HTTPException

        app = FastAPI()

        @app.post("/predict")
        async def predict(body: dict) -> dict:
            self.requests += 1
            self.bodies.append(body)
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            try:
                await self._wait_at_gate()
                await asyncio.sleep(float(body.get("delay_ms", self.delay_ms)) / 1000.0)
            finally:
                self.in_flight -= 1
            return {"ok": True}

        @app.post("/broken")
        async def broken(body: dict) -> dict:
            self.requests += 1
            raise HTTPException(status_code=503, detail="model not loaded")

        return app

    async def _wait_at_gate(self) -> None:
        loop = asyncio.get_running_loop()
        if self._gate_deadline is None:
            self._gate_deadline = loop.time() + self.gate_timeout_s
        while not self._gate_open:
            if self.in_flight >= self.gate or loop.time() >= self._gate_deadline:
                self._gate_open = True
                break
            await asyncio.sleep(0.002)


def time_calls(predict: Callable[[np.ndarray], Any], X: np.ndarray, sizes: Sequence[int], *,
               repeats: int = 5) -> pd.DataFrame:
    """Median wall time of ``predict`` on the first ``n`` rows of ``X`` (cycled), per size."""
    X = np.asarray(X, dtype=float)
    records = []
    for n in sizes:
        rows = X[np.arange(n) % len(X)]
        predict(rows)  # warm caches and lazy imports
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            predict(rows)
            times.append((time.perf_counter() - start) * 1000.0)
        ms = float(np.median(times))
        records.append({"rows": int(n), "ms_per_call": ms, "ms_per_row": ms / n})
    return pd.DataFrame(records)


def make_flower_file(path: str | Path, n_rows: int, *, seed: int = 0) -> Path:
    """Write ``n_rows`` iris-like flowers (``id`` then FEATURES) to a CSV file; return its path.

    Rows are real iris flowers drawn with replacement plus a little seeded jitter, rounded to
    millimetres, so every value is positive and every row is scorable.
    """
    from sklearn.datasets import load_iris

    rng = np.random.default_rng(seed)
    base = load_iris().data[rng.integers(0, 150, size=n_rows)]
    values = np.clip(np.round(base + rng.normal(0.0, 0.1, size=base.shape), 1), 0.1, None)
    frame = pd.DataFrame(values, columns=list(FEATURES))
    frame.insert(0, "id", [f"f{seed:02d}-{i:06d}" for i in range(n_rows)])
    path = Path(path)
    frame.to_csv(path, index=False)
    return path


def synthetic_load_table(*, seed: int = 0, budget_ms: float = 100.0) -> pd.DataFrame:
    """A seeded latency/throughput table shaped like a measured one (columns TABLE_COLUMNS).

    Each config is a queue in front of a device: throughput rises with concurrency up to the
    config's capacity, latency stays near its floor and then grows linearly (Little's law).
    Capacities and floors are drawn so that, around ``budget_ms``, some rows meet the budget
    and some do not.
    """
    rng = np.random.default_rng(seed)
    configs = [("online", 1, 0.0)]
    for max_batch in sorted(rng.choice([4, 8, 16, 32, 64], size=2, replace=False)):
        for wait in sorted(rng.choice([1.0, 2.0, 5.0, 10.0, 25.0, 50.0], size=2, replace=False)):
            configs.append((f"batch {max_batch} / wait {wait:g} ms", int(max_batch), float(wait)))
    records = []
    for name, max_batch, wait in configs:
        service_ms = rng.uniform(8.0, 25.0)
        floor_ms = service_ms + wait + rng.uniform(0.5, 3.0)
        capacity = 1000.0 / service_ms * max_batch ** rng.uniform(0.55, 0.8)
        for concurrency in (1, 2, 4, 8, 16, 32, 64):
            throughput = min(concurrency * 1000.0 / floor_ms, capacity) * rng.uniform(0.9, 1.0)
            p50 = max(floor_ms, concurrency / throughput * 1000.0) * rng.uniform(0.95, 1.05)
            p99 = p50 * rng.uniform(1.2, 2.2) + rng.uniform(0.0, 0.3) * budget_ms * (
                concurrency >= 16)
            records.append({"config": name, "max_batch": max_batch, "max_wait_ms": wait,
                            "concurrency": concurrency, "throughput_rps": float(throughput),
                            "p50_ms": float(p50), "p99_ms": float(p99)})
    return pd.DataFrame(records, columns=list(TABLE_COLUMNS))


def plot_call_cost(costs: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Time per call and per row against rows per call (log-log), from ``time_calls``."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.5))
    ax.loglog(costs["rows"], costs["ms_per_call"], "o-", label="ms per call")
    ax.loglog(costs["rows"], costs["ms_per_row"], "s--", label="ms per row")
    ax.set(xlabel="rows per model call", ylabel="milliseconds",
           title="One call, many rows: the fixed cost is paid once")
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
    return ax


def plot_latency_throughput(table: pd.DataFrame, *, budget_ms: float | None = None,
                            ax: Axes | None = None) -> Axes:
    """p99 latency against achieved throughput, one line per config, concurrency annotated."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4.5))
    for name, rows in table.groupby("config", sort=False):
        rows = rows.sort_values("concurrency")
        ax.plot(rows["throughput_rps"], rows["p99_ms"], "o-", label=str(name))
        for _, row in rows.iterrows():
            ax.annotate(f"{int(row['concurrency'])}", (row["throughput_rps"], row["p99_ms"]),
                        textcoords="offset points", xytext=(3, 3), fontsize=7)
    if budget_ms is not None:
        ax.axhline(budget_ms, color="tab:red", linestyle=":", label=f"p99 budget {budget_ms:g} ms")
    ax.set_yscale("log")
    ax.set(xlabel="achieved throughput (requests / s)", ylabel="p99 latency (ms)",
           title="Latency against throughput (labels: concurrent clients)")
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    return ax
