"""Lineage for the delivery-time (ETA) model: messy exports, a deterministic trainer, a history.

A colleague retrained the ETA model of :mod:`labkit.deliveries` and left a folder of CSV
exports behind (:func:`make_exports`): two of them hold the same orders saved by different
tools (shuffled rows, reordered columns, ``3.0`` instead of ``3``), one fixes three label
typos, one is next quarter. The production model's predictions on an audit batch are saved
next to them, so that the data behind production can be found by retraining.

:func:`train_eta_model` is the team's training step: it puts the rows in a canonical order
before fitting, so the same data in any row order, column order or numeric dtype gives a
bit-identical model. :func:`make_history` is a seeded metadata store (run records of
``prepare`` and ``train`` steps) with the known upstream data versions of every training run,
and :func:`plot_lineage` draws such records as a graph.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import platform
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from labkit.deliveries import CATEGORICAL, FEATURES, LABEL, NUMERIC, make_orders

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from sklearn.pipeline import Pipeline

COLLEAGUE_PARAMS = {"n_estimators": 60, "learning_rate": 0.1, "max_depth": 3, "subsample": 0.8}
COLLEAGUE_SEED = 42
EXPORTS = ("orders_q3.csv", "orders_q3_final.csv", "orders_q3_final_v2.csv", "orders_q4.csv")
PRODUCTION_EXPORT = "orders_q3_final.csv"  # what the colleague actually trained on
AUDIT_FILE = "production_audit.csv"
PREDICTION = "predicted_eta"
RECORD_KEYS = ("run_id", "step", "inputs", "outputs", "code_version", "params", "seed",
               "metrics", "libraries")
_N_TYPOS = 3
_HOLDOUT = 0.2
_MISSING = "unknown"  # a null category (the weather API timed out) is a value of its own


def read_orders(path: str | Path) -> pd.DataFrame:
    """Read an orders CSV as the team does everywhere (pandas' default, exact float parsing)."""
    return pd.read_csv(path)


def _canonical_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Features and label only, numeric as float, nulls as "unknown", rows sorted on all."""
    data = df[list(FEATURES) + [LABEL]].copy()
    for column in (*NUMERIC, LABEL):
        data[column] = data[column].astype(float)
    for column in CATEGORICAL:
        data[column] = data[column].astype(object).fillna(_MISSING).astype(str)
    order = list(data.columns)
    return data.sort_values(order, kind="mergesort", na_position="last").reset_index(drop=True)


def train_eta_model(df: pd.DataFrame, params: Mapping[str, Any],
                    seed: int) -> tuple[Pipeline, dict[str, float | int]]:
    """Fit the ETA model on 80% of ``df`` and return it with its holdout metrics.

    Rows are put in a canonical order first, then a ``seed``-ed 20% holdout is set aside, so
    the model depends only on the data's content, ``params`` (gradient-boosting options) and
    ``seed``. Metrics: ``mae_minutes`` (float) on the holdout and ``n_train`` (int).
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import GradientBoostingRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    data = _canonical_rows(df)
    holdout = np.random.default_rng(seed).permutation(len(data)) < _HOLDOUT * len(data)
    categorical = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
    model = make_pipeline(
        ColumnTransformer([("categorical", categorical, list(CATEGORICAL)),
                           ("numeric", "passthrough", list(NUMERIC))]),
        GradientBoostingRegressor(**dict(params), random_state=seed))
    model.fit(data.loc[~holdout, list(FEATURES)], data.loc[~holdout, LABEL].to_numpy())
    error = predict_eta(model, data.loc[holdout]) - data.loc[holdout, LABEL].to_numpy()
    return model, {"mae_minutes": float(np.mean(np.abs(error))),
                   "n_train": int((~holdout).sum())}


def predict_eta(model: Pipeline, orders: pd.DataFrame) -> np.ndarray:
    """Predicted minutes for ``orders`` (any column order, extra columns ignored)."""
    data = orders[list(FEATURES)].copy()
    for column in NUMERIC:
        data[column] = data[column].astype(float)
    for column in CATEGORICAL:
        data[column] = data[column].astype(object).fillna(_MISSING).astype(str)
    return np.asarray(model.predict(data), dtype=float)


def code_version(fn: Callable) -> str:
    """The code version of a function: sha256 (hex) of its source text."""
    return hashlib.sha256(inspect.getsource(fn).encode("utf-8")).hexdigest()


def library_versions() -> dict[str, str]:
    """Versions of Python and of the libraries the training step depends on."""
    import sklearn

    return {"python": platform.python_version(), "numpy": np.__version__,
            "pandas": pd.__version__, "scikit-learn": sklearn.__version__}


def make_exports(folder: str | Path, *, seed: int = 0, n: int = 2000) -> dict[str, Path]:
    """Write the colleague's folder: the ``EXPORTS`` CSV files and ``AUDIT_FILE``.

    - ``orders_q3.csv``: ``n`` orders, three ``eta_minutes`` typed ten times too large;
    - ``orders_q3_final.csv``: the same orders saved by another tool (rows shuffled,
      columns reordered, every number written with two decimals);
    - ``orders_q3_final_v2.csv``: the final file with the three typos fixed;
    - ``orders_q4.csv``: next quarter, more orders, later hours and wetter weather;
    - ``production_audit.csv``: 200 audit orders and ``predicted_eta``, the production
      model's predictions (trained on ``PRODUCTION_EXPORT`` with ``COLLEAGUE_PARAMS`` and
      ``COLLEAGUE_SEED``).

    Returns file name -> path for the five files.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed + 7919)
    q3 = make_orders(n, seed=seed)
    typos = rng.choice(n, size=_N_TYPOS, replace=False)
    raw = q3.copy()
    raw.loc[typos, LABEL] = np.round(raw.loc[typos, LABEL] * 10.0, 1)
    shuffled = raw.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    shuffled = shuffled[[LABEL, "city", "hour", "weather", "items", "distance_km"]]
    shuffled["items"] = shuffled["items"].astype(float)
    fixed = shuffled.copy()
    fixed[LABEL] = np.where(fixed[LABEL] > 150.0, np.round(fixed[LABEL] / 10.0, 1),
                            fixed[LABEL])
    q4 = make_orders(int(1.2 * n), seed=seed + 1, drift={"hour": 0.5, "weather": 0.7})

    paths = {name: folder / name for name in (*EXPORTS, AUDIT_FILE)}
    raw.to_csv(paths["orders_q3.csv"], index=False)
    shuffled.to_csv(paths["orders_q3_final.csv"], index=False, float_format="%.2f")
    fixed.to_csv(paths["orders_q3_final_v2.csv"], index=False, float_format="%.2f")
    q4.to_csv(paths["orders_q4.csv"], index=False)

    model, _ = train_eta_model(read_orders(paths[PRODUCTION_EXPORT]), COLLEAGUE_PARAMS,
                               COLLEAGUE_SEED)
    audit = make_orders(200, seed=seed + 100).drop(columns=LABEL)
    audit[PREDICTION] = predict_eta(model, audit)
    audit.to_csv(paths[AUDIT_FILE], index=False)
    return paths


# ---------------------------------------------------------------- a seeded metadata store

_SOURCES = ("orders_2024-09", "orders_2024-10", "orders_2024-11", "weather_2024-10",
            "weather_2024-11", "couriers_2024-11")
_OPERATIONS = ("clean", "join", "features", "dedupe", "filter")


@dataclass(frozen=True)
class History:
    """Run records of a team's pipeline, the names of their data versions, and the truth.

    ``lineage`` maps every training run's ``run_id`` to the sorted list of all data
    versions upstream of it (its input and everything that input was derived from).
    ``affected`` is the sorted run ids of training runs downstream of ``corrupt``.
    """

    records: list[dict]
    names: dict[str, str]
    corrupt: str
    lineage: dict[str, list[str]]

    @property
    def affected(self) -> list[str]:
        return sorted(r for r, upstream in self.lineage.items() if self.corrupt in upstream)


def _hex(text: str, length: int = 64) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def _record(step: str, inputs: list[str], outputs: list[str], params: dict, seed: int,
            metrics: dict, code: str) -> dict:
    body = {"step": step, "inputs": inputs, "outputs": outputs, "code_version": _hex(code),
            "params": params, "seed": seed, "metrics": metrics,
            "libraries": {"python": "3.11.9", "numpy": "2.1.3", "pandas": "2.2.3",
                          "scikit-learn": "1.5.2"}}
    return {"run_id": _hex(json.dumps(body, sort_keys=True), 12), **body}


def _build(rng: np.random.Generator, tag: str, corrupt_name: str | None, n_prepare: int,
           n_train: int) -> History:
    names: dict[str, str] = {}
    upstream: dict[str, frozenset[str]] = {}
    for name in _SOURCES:
        version = _hex(f"{tag}/{name}")
        names[version] = name
        upstream[version] = frozenset({version})
    sources = list(names)
    records, derived = [], []
    for i in range(n_prepare):
        operation = str(rng.choice(_OPERATIONS))
        k = 2 if operation == "join" else 1
        pool = sources + derived
        weights = np.array([1.0 if v in sources else 2.0 for v in pool])
        picked = rng.choice(len(pool), size=k, replace=False, p=weights / weights.sum())
        inputs = sorted(pool[j] for j in picked)
        output = _hex(f"{tag}/{operation}/{i}")
        names[output] = f"{operation}_{i + 1}"
        upstream[output] = frozenset({output}).union(*(upstream[v] for v in inputs))
        derived.append(output)
        records.append(_record("prepare", inputs, [output], {"operation": operation},
                               int(rng.integers(0, 100)),
                               {"rows_out": int(rng.integers(20_000, 90_000))},
                               f"def {operation}(df): ...  # v{i}"))
    lineage = {}
    for _ in range(n_train):
        pool = sources + derived
        weights = np.array([1.0 if v in sources else 3.0 for v in pool])
        data = pool[int(rng.choice(len(pool), p=weights / weights.sum()))]
        params = {"n_estimators": int(rng.choice([60, 100, 200])),
                  "learning_rate": float(rng.choice([0.05, 0.1])), "max_depth": 3}
        record = _record("train", [data], [], params, int(rng.integers(0, 100)),
                         {"mae_minutes": round(float(rng.uniform(2.2, 3.4)), 3)},
                         "def train_eta_model(df, params, seed): ...")
        records.append(record)
        lineage[record["run_id"]] = sorted(upstream[data])
    if corrupt_name is None:
        corrupt = sources[int(rng.integers(len(sources)))]
    else:
        corrupt = next(v for v, name in names.items() if name == corrupt_name)
    return History(records=records, names=names, corrupt=corrupt, lineage=lineage)


def make_history(seed: int = 0, *, corrupt: str | None = None, n_prepare: int = 6,
                 n_train: int = 8) -> History:
    """A seeded pipeline history in which some but not all training runs use ``corrupt``.

    ``corrupt`` is the name of one source data set (default: a seeded choice of
    ``orders_2024-09`` ... ``couriers_2024-11``). Records are in chronological order and
    follow the run-record format (``RECORD_KEYS``); data versions are 64-hex strings.
    """
    if corrupt is not None and corrupt not in _SOURCES:
        raise ValueError(f"corrupt must be one of {_SOURCES}, got {corrupt!r}")
    rng = np.random.default_rng(seed)
    for attempt in range(200):
        history = _build(rng, f"{seed}/{attempt}", corrupt, n_prepare, n_train)
        if 0 < len(history.affected) < n_train:
            return history
    raise RuntimeError("no interesting history found; change the seed or the sizes")


# ---------------------------------------------------------------- drawing a lineage graph

def _depths(records: Sequence[Mapping]) -> dict[str, int]:
    """Longest-path depth of every node (data versions and run ids) from the sources."""
    depth: dict[str, int] = {}
    for record in records:
        for v in record["inputs"]:
            depth.setdefault(v, 0)
    changed = True
    while changed:  # relax until stable; histories are small and acyclic
        changed = False
        for record in records:
            d = max((depth.get(v, 0) for v in record["inputs"]), default=0) + 1
            for node, value in [(record["run_id"], d)] + [(v, d + 1) for v in
                                                         record["outputs"]]:
                if depth.get(node, -1) < value:
                    depth[node] = value
                    changed = True
    return depth


def plot_lineage(records: Sequence[Mapping], *, names: Mapping[str, str] | None = None,
                 bad_version: str | None = None, highlight: Iterable[str] = (),
                 ax: Axes | None = None) -> Axes:
    """Draw run records as a graph: data versions (squares) -> runs (circles) -> outputs.

    ``bad_version`` is drawn in red, and so are the run ids in ``highlight``.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(11, 5))
    names = dict(names or {})
    highlight = set(highlight)
    depth = _depths(records)
    columns: dict[int, list[str]] = {}
    for node in sorted(depth, key=lambda n: (depth[n], names.get(n, n))):
        columns.setdefault(depth[node], []).append(node)
    position = {}
    for x, nodes in columns.items():
        for i, node in enumerate(nodes):
            position[node] = (x, (len(nodes) - 1) / 2 - i)
    runs = {r["run_id"]: r for r in records}
    for record in records:
        end = position[record["run_id"]]
        for v in record["inputs"]:
            ax.annotate("", xy=end, xytext=position[v],
                        arrowprops={"arrowstyle": "->", "color": "0.6", "lw": 0.8,
                                    "shrinkA": 7, "shrinkB": 8})
        for v in record["outputs"]:
            ax.annotate("", xy=position[v], xytext=end,
                        arrowprops={"arrowstyle": "->", "color": "0.6", "lw": 0.8,
                                    "shrinkA": 7, "shrinkB": 8})
    for node, (x, y) in position.items():
        if node in runs:
            train = runs[node]["step"] == "train"
            color = "tab:red" if node in highlight else ("tab:blue" if train else "0.75")
            ax.scatter([x], [y], s=160, marker="o", color=color, zorder=3)
            label = f"{runs[node]['step']} {node[:6]}"
        else:
            color = "tab:red" if node == bad_version else "tab:green"
            ax.scatter([x], [y], s=160, marker="s", color=color, zorder=3)
            label = names.get(node, node[:8])
        ax.annotate(label, (x, y), xytext=(0, 9), textcoords="offset points",
                    ha="center", fontsize=7)
    ax.set_xticks(sorted(columns))
    ax.set_xlabel("depth in the pipeline (sources at 0)")
    ax.set_yticks([])
    ax.margins(x=0.08, y=0.15)
    return ax
