"""labkit.out_of_core: a seeded month of daily order files, features, comparisons and plots."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pickle
import tracemalloc

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from labkit.deliveries import CITIES, LABEL, make_orders
from labkit.out_of_core import (
    COLUMNS,
    FEATURE_NAMES,
    KernelProbe,
    OnePass,
    RandomBatches,
    allocate_temporarily,
    allocate_then_fail,
    count_rows,
    daily_volumes,
    featurize,
    folder_mb,
    measure_nested,
    measure_with_tracing_on,
    plot_curve,
    plot_memory,
    plot_month,
    plot_probes,
    same_orders,
    write_month,
)


@pytest.fixture(scope="module")
def small_month(tmp_path_factory):
    return write_month(tmp_path_factory.mktemp("month"), seed=0, days=7, orders=7_000,
                       holdout_per_day=50)


def test_out_of_core_daily_volumes_sum_and_weekends():
    volumes = daily_volumes(1_000_000, 30, start="2026-03-01")  # a Sunday
    assert volumes.sum() == 1_000_000 and len(volumes) == 30
    assert volumes[5] > volumes[1]  # Friday 6 March is busier than Monday 2 March
    assert daily_volumes(10, 3).sum() == 10
    with pytest.raises(ValueError):
        daily_volumes(2, 3)


def test_out_of_core_month_files_columns_ids_and_holdout(small_month):
    m = small_month
    assert len(m.paths) == 7 and [p.name for p in m.paths][0] == "orders_2026-03-01.csv"
    frames = [pd.read_csv(p) for p in m.paths]
    assert all(tuple(f.columns) == COLUMNS for f in frames)
    month = pd.concat(frames, ignore_index=True)
    assert len(month) == 7_000 and list(m.daily["orders"]) == [len(f) for f in frames]
    np.testing.assert_array_equal(month["order_id"], np.arange(7_000))
    held = pd.read_csv(m.holdout)
    assert len(held) == 7 * 50 and tuple(held.columns) == COLUMNS
    assert set(held["order_id"]).isdisjoint(month["order_id"])
    assert set(month["city"]) <= set(CITIES) and month[LABEL].min() >= 5.0
    assert abs(folder_mb(m.paths) - m.daily["file_mb"].sum()) < 1e-9


def test_out_of_core_month_seeded_and_drifting(small_month, tmp_path):
    again = write_month(tmp_path / "a", seed=0, days=7, orders=7_000, holdout_per_day=50)
    assert all(p.read_bytes() == q.read_bytes() for p, q in zip(small_month.paths, again.paths,
                                                                strict=True))
    other = write_month(tmp_path / "b", seed=1, days=7, orders=7_000, holdout_per_day=0)
    assert small_month.paths[0].read_bytes() != other.paths[0].read_bytes()
    big = write_month(tmp_path / "c", seed=0, days=10, orders=40_000, holdout_per_day=0)
    first, last = big.daily.iloc[0], big.daily.iloc[-1]
    assert last["share_rain_or_snow"] > first["share_rain_or_snow"] + 0.1
    assert last["mean_distance_km"] > first["mean_distance_km"]
    assert last["share_after_21h"] > first["share_after_21h"]


def test_out_of_core_csv_writer_matches_pandas(tmp_path, small_month):
    frame = pd.read_csv(small_month.paths[0])
    frame.to_csv(tmp_path / "pandas.csv", index=False)
    assert (tmp_path / "pandas.csv").read_bytes() == small_month.paths[0].read_bytes()


def test_out_of_core_featurize_rows_are_independent_of_the_chunk():
    df = make_orders(400, seed=3)
    X, y = featurize(df)
    assert X.shape == (400, len(FEATURE_NAMES)) and X.dtype == np.float64
    np.testing.assert_array_equal(y, df[LABEL].to_numpy())
    X_part, _ = featurize(df.iloc[100:150])
    np.testing.assert_array_equal(X_part, X[100:150])
    # one city column set per row; rain terms only where it rained
    cities = X[:, [FEATURE_NAMES.index(f"city_{c}") for c in CITIES]]
    assert np.all(cities.sum(axis=1) == 1.0)
    rain = X[:, FEATURE_NAMES.index("distance_x_rain")]
    np.testing.assert_array_equal(rain > 0, (df["weather"] == "rain").to_numpy())
    missing = X[:, FEATURE_NAMES.index("distance_x_weather_missing")]
    np.testing.assert_array_equal(missing > 0, df["weather"].isna().to_numpy())


def test_out_of_core_featurize_accepts_pieces_read_with_other_dtypes():
    df = make_orders(50, seed=4)
    df["weather"] = np.nan  # a piece whose weather is all missing reads as float
    X, _ = featurize(df)
    assert np.all(X[:, FEATURE_NAMES.index("distance_x_weather_missing")] > 0)


def test_out_of_core_same_orders_ignores_index_and_dtype():
    df = make_orders(30, seed=5)
    assert same_orders(df, df.copy().set_axis(range(100, 130)))
    floaty = df.assign(weather=np.nan)
    assert same_orders(floaty, floaty.assign(weather=pd.Series([None] * 30, dtype=object)))
    assert not same_orders(df, df.iloc[::-1])
    assert not same_orders(df, df.iloc[:29])
    assert not same_orders(df, df[list(reversed(df.columns))])
    changed = df.copy()
    changed.loc[3, "city"] = "Lille" if df.loc[3, "city"] != "Lille" else "Lyon"
    assert not same_orders(df, changed)


def test_out_of_core_plots(small_month):
    axes = plot_month(small_month.daily, 0.5)
    assert len(axes) == 2 and axes[0].get_ylabel().startswith("MB")
    ax = plot_curve([100, 200, 300], [5.0, 3.0, 2.5], references={"in memory": 2.4})
    assert ax.get_xscale() == "log" and len(ax.get_lines()) == 2
    ax = plot_memory({"a": 2.0, "b": 300.0}, 10.0)
    assert len(ax.patches) == 2
    ax = plot_probes({2_000: 3.0, 4_000: 4.5, 8_000: 7.0}, 10.0, 9_000)
    assert len(ax.get_lines()) >= 3
    plt.close("all")


def test_out_of_core_probe_measures_peaks_and_restores_tracing():
    meter = KernelProbe()
    assert not meter.tracing()
    result, peak = meter.peak_mb(allocate_temporarily, 8)
    assert result == 8_000_000 and 8.0 <= peak < 8.1 and not meter.tracing()
    with pytest.raises(KeyError):
        meter.peak_mb(allocate_then_fail, 1)
    assert not meter.tracing()
    assert meter.run(divmod, 7, 2) == (3, 1)


def test_out_of_core_probe_inside_another_measurement():
    seen = measure_with_tracing_on(KernelProbe().peak_mb, np.ones, 250_000, held_mb=4,
                                   earlier_peak_mb=16)
    assert seen["still_tracing"] and 2.0 <= seen["peak"] < 2.1
    assert not tracemalloc.is_tracing()
    nested, outer = KernelProbe().peak_mb(measure_nested, KernelProbe().peak_mb, np.ones,
                                          125_000, extra_mb=4)
    assert nested["still_tracing"] and 1.0 <= nested["inner_peak"] < 1.1 and outer >= 4.0


def test_out_of_core_one_pass_streams_and_pickle():
    stream = pickle.loads(pickle.dumps(OnePass([np.zeros((2, 3)), np.ones((1, 3))])))
    assert [len(b) for b in stream] == [2, 1]
    with pytest.raises(RuntimeError):
        list(stream)
    batches = pickle.loads(pickle.dumps(RandomBatches(0, 3, 5, 2)))
    first = [b.copy() for b in batches]
    assert len(first) == 3 and first[0].shape == (5, 2)
    with pytest.raises(RuntimeError):
        list(batches)
    np.testing.assert_array_equal(next(iter(RandomBatches(0, 3, 5, 2))), first[0])
    _, peak = KernelProbe().peak_mb(count_rows, RandomBatches, 1, 20, 10_000, 10)
    assert peak < 3.0  # one 0.8 MB batch at a time


def test_out_of_core_count_rows():
    assert count_rows(lambda n: (np.zeros((k, 2)) for k in range(n)), 4) == 6
