"""labkit.dask_lab: a seeded order log by day, the ETA search helpers, the CPU-bound task, plots."""

from __future__ import annotations

import math
import pickle
import time
from functools import partial

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

from labkit.dask_lab import (
    CLOSED,
    LOG_COLUMNS,
    PROMISE_MINUTES,
    SPEEDUP_KEYS,
    eta_features,
    eta_validation_mae,
    fake_fit,
    make_order_log,
    nap,
    param_grid,
    plot_order_log,
    plot_speedup,
    rescore_chunk,
    scheduler_transitions,
    serial_grid_search,
    write_daily_files,
)
from labkit.deliveries import CITIES, LABEL


@pytest.fixture(scope="module")
def log() -> pd.DataFrame:
    return make_order_log(days=18, seed=0)


def test_dask_lab_log_columns_types_and_order(log):
    assert tuple(log.columns) == LOG_COLUMNS
    assert log["order_id"].dtype == np.int64 and log["order_id"].is_unique
    assert log["placed_at"].dtype == "datetime64[ns]"
    assert log["placed_at"].is_monotonic_increasing
    assert log["order_id"].is_monotonic_increasing
    assert log.index.equals(pd.RangeIndex(len(log)))
    assert set(log["city"]) == set(CITIES)
    assert (log["placed_at"].dt.hour == log["hour"]).all(), "placed_at agrees with the hour feature"


def test_dask_lab_log_closed_day_weekends_and_cancellations(log):
    day = log["placed_at"].dt.normalize()
    assert pd.Timestamp(CLOSED[0]) not in set(day), "the strike day has no orders"
    assert day.nunique() == 17
    per_day = day.value_counts()
    weekend = per_day[per_day.index.dayofweek >= 5]
    weekday = per_day[per_day.index.dayofweek < 5]
    assert weekend.mean() > weekday.mean(), "weekends are busier"
    cancelled = log[LABEL].isna().mean()
    assert 0.01 < cancelled < 0.06
    assert 0.05 < (log[LABEL] > PROMISE_MINUTES).mean() < 0.35


def test_dask_lab_log_mean_of_daily_means_is_wrong(log):
    """The lesson depends on it: busy days are slower, so averaging daily means is biased."""
    day = log["placed_at"].dt.normalize()
    true = log.groupby(["city", "hour"])[LABEL].mean()
    daily = log.groupby([day, "city", "hour"])[LABEL].mean()
    naive = daily.groupby(level=["city", "hour"]).mean()
    assert (true - naive).abs().max() > 0.1


def test_dask_lab_log_seeded_and_validated():
    a = make_order_log(days=3, seed=4, per_day=200)
    b = make_order_log(days=3, seed=4, per_day=200)
    c = make_order_log(days=3, seed=5, per_day=200)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)
    assert make_order_log(days=3, seed=4, per_day=200, closed=()).shape[0] >= len(a)
    with pytest.raises(ValueError, match="positive"):
        make_order_log(days=0)
    with pytest.raises(ValueError, match="closed"):
        make_order_log(days=1, start="2026-03-17", closed=("2026-03-17",))


def test_dask_lab_param_grid_order():
    grid = param_grid(a=[1, 2], b=["x", "y", "z"])
    assert grid[:3] == [{"a": 1, "b": "x"}, {"a": 1, "b": "y"}, {"a": 1, "b": "z"}]
    assert len(grid) == 6 and grid[-1] == {"a": 2, "b": "z"}
    assert param_grid() == [{}]


def test_dask_lab_eta_features_codes_and_missing(log):
    X = eta_features(log.head(200))
    assert X.shape == (200, 5) and X.dtype == np.float64
    missing = log.head(200)["weather"].isna().to_numpy()
    assert np.isnan(X[missing, 3]).all() and not np.isnan(X[~missing, 3]).any()
    assert set(np.unique(X[:, 4])) <= set(range(len(CITIES)))


def test_dask_lab_eta_mae_deterministic_and_picklable():
    params = {"max_iter": 10, "learning_rate": 0.2}
    first = eta_validation_mae(params)
    assert type(first) is float and 1.0 < first < 10.0
    assert eta_validation_mae(dict(params)) == first, "bit-identical on a second fit"
    assert eta_validation_mae(params, seed=1) != first
    assert eta_validation_mae({"max_iter": 10, "learning_rate": 0.05}) != first
    task = partial(eta_validation_mae, seed=1)
    assert pickle.loads(pickle.dumps(task))(params) == eta_validation_mae(params, seed=1)


def test_dask_lab_serial_search_ties_and_failures():
    def score(p):
        if p["a"] == 3:
            raise ValueError("diverged")
        return float(abs(p["a"] - 1))

    result = serial_grid_search(score, ({"a": 0}, {"a": 3}, {"a": 2}, {"a": 1}))
    assert result == {"best_params": {"a": 1}, "best_score": 0.0,
                      "scores": [1.0, math.inf, 1.0, 0.0]}
    tied = serial_grid_search(score, [{"a": 2}, {"a": 0}])
    assert tied["best_params"] == {"a": 2}, "ties go to the first in grid order"
    with pytest.raises(ValueError, match="empty"):
        serial_grid_search(score, [])


def test_dask_lab_rescore_chunk():
    value = rescore_chunk(50)
    assert type(value) is float and value == rescore_chunk(50)
    assert rescore_chunk(51) != value
    assert pickle.loads(pickle.dumps(rescore_chunk)) is rescore_chunk
    with pytest.raises(ValueError):
        rescore_chunk(0)


def test_dask_lab_fake_fit_scripts_a_search():
    assert fake_fit({"score": 2}) == 2.0 and type(fake_fit({"score": 2})) is float
    start = time.perf_counter()
    assert fake_fit({"score": 1.5, "sleep": 0.05}) == 1.5
    assert time.perf_counter() - start >= 0.05
    with pytest.raises(ValueError, match="converge"):
        fake_fit({"score": 1.0, "fail": True})
    with pytest.raises(ValueError):  # not inside a Dask worker
        fake_fit({"score": 1.0, "on_worker": True})
    assert serial_grid_search(fake_fit, [{"score": 3}, {"fail": True}, {"score": 1}])["scores"] == [
        3.0, math.inf, 1.0]
    assert pickle.loads(pickle.dumps(fake_fit)) is fake_fit, "travels to workers by reference"


def test_dask_lab_nap_lasts_at_least_its_duration():
    start = time.perf_counter()
    assert nap(4, seconds_each=0.01) == 4.0
    assert time.perf_counter() - start >= 0.04
    assert pickle.loads(pickle.dumps(nap)) is nap


def test_dask_lab_plots(log):
    import matplotlib.pyplot as plt

    fig = plot_order_log(log)
    left, right = fig.axes
    assert len(left.patches) == 18, "one bar per calendar day, the closed one at zero"
    assert len(right.get_lines()) == len(CITIES)
    rows = [dict(zip(SPEEDUP_KEYS, (c, 1000 // c, 0.1, 0.1 / s, s), strict=True))
            for c, s in ((500, 1.6), (10, 0.2), (100, 1.1))]
    ax = plot_speedup(rows, n_workers=2)
    x, y = ax.get_lines()[0].get_data()
    assert list(x) == [10, 100, 500] and list(y) == [0.2, 1.1, 1.6]
    plt.close("all")


def test_dask_lab_write_daily_files_one_file_per_day_with_orders(tmp_path):
    log = make_order_log(days=5, seed=3, closed=("2026-03-04",), per_day=200)
    shuffled = log.sample(frac=1.0, random_state=0)
    paths = write_daily_files(shuffled, tmp_path / "by_day")
    assert [p.name for p in paths] == [f"orders-2026-03-0{d}.parquet" for d in (2, 3, 5, 6)]
    assert sorted((tmp_path / "by_day").iterdir()) == paths
    back = [pd.read_parquet(p) for p in paths]
    for part in back:
        assert part["placed_at"].dt.normalize().nunique() == 1
        keys = list(zip(part["placed_at"], part["order_id"], strict=True))
        assert keys == sorted(keys)
    pd.testing.assert_frame_equal(pd.concat(back, ignore_index=True), log)  # dtypes too
    assert write_daily_files(log, tmp_path / "by_day") == paths  # rewriting replaces the files


def test_dask_lab_scheduler_transitions_reads_the_counter():
    class FakeScheduler:
        transition_counter = 41

    assert scheduler_transitions(FakeScheduler()) == 41
    assert type(scheduler_transitions(FakeScheduler())) is int
