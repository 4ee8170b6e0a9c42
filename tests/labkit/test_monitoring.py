"""labkit.monitoring: the seeded stream and its planted changes, features, replay, plots."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

from labkit.monitoring import (
    FEATURES,
    LABEL_DELAY,
    SCANNER_CENTRE,
    daily_errors,
    flagged_ones,
    make_stream,
    plot_monitoring,
    plot_stream,
    run_production,
    scan_features,
    stream_features,
    train_reader,
)
from labkit.releases import CENTRES, load_postcode_digits


@pytest.fixture(scope="module")
def reader():
    return train_reader()


def test_monitoring_stream_shape_and_seed():
    stream = make_stream(0, days=10, scans_per_day=50)
    assert stream.X.shape == (500, 64) and list(stream.log.columns) == ["day", "centre", "digit"]
    assert stream.X.min() >= 0 and stream.X.max() <= 1
    assert stream.log["day"].value_counts().eq(50).all()
    assert set(stream.log["centre"]) <= set(CENTRES)
    again = make_stream(0, days=10, scans_per_day=50)
    assert np.array_equal(stream.X, again.X) and stream.log.equals(again.log)
    assert not np.array_equal(stream.X, make_stream(1, days=10, scans_per_day=50).X)
    with pytest.raises(ValueError, match="unknown centre"):
        make_stream(0, scanner_centre="Paris")


def test_monitoring_planted_changes_touch_only_their_scans():
    clean = make_stream(3, days=20, scans_per_day=100, scanner_day=None, habit_day=None)
    fault = make_stream(3, days=20, scans_per_day=100, scanner_day=10, habit_day=None)
    assert clean.log.equals(fault.log)
    changed = np.any(clean.X != fault.X, axis=1)
    expected = (fault.log["day"] >= 10) & (fault.log["centre"] == SCANNER_CENTRE)
    assert np.array_equal(changed, expected.to_numpy())
    habit = make_stream(3, days=20, scans_per_day=100, scanner_day=None, habit_day=5)
    changed = np.any(clean.X != habit.X, axis=1)
    ones_late = ((habit.log["digit"] == 1) & (habit.log["day"] >= 5)).to_numpy()
    assert changed.any() and not changed[~ones_late].any()
    assert 0.5 < changed[ones_late].mean() < 0.9  # HABIT_SHARE = 0.7
    assert fault.events == {"scanner": 10, "habit": None, "fade": None}


def test_monitoring_features_see_the_scanner_fault_not_the_habit():
    stream = make_stream(0, days=40, scans_per_day=200, scanner_day=20, habit_day=20)
    features = stream_features(stream)
    assert list(features.columns) == ["day", "centre", *FEATURES]
    at = features[features["centre"] == SCANNER_CENTRE]
    before, after = at[at["day"] < 20], at[at["day"] >= 20]
    assert after["x_centre"].mean() > before["x_centre"].mean() + 0.6  # shifted one pixel right
    assert after["ink"].mean() < 0.75 * before["ink"].mean()            # and paler
    others = features[features["centre"] != SCANNER_CENTRE]
    shift = others[others["day"] >= 20]["ink"].mean() / others[others["day"] < 20]["ink"].mean()
    assert abs(shift - 1) < 0.03  # the habit changes 7 % of scans, and barely their ink


def test_monitoring_scan_features_values():
    X = np.zeros((2, 64))
    X[0, 8 * 3 + 2] = 1.0  # one pixel, row 3, column 2
    features = scan_features(X)
    assert features.loc[0, "x_centre"] == 2.0 and features.loc[0, "ink"] == 1 / 64
    assert features.loc[1, "x_centre"] == 3.5 and features.loc[1, "ink"] == 0.0  # blank scan


def test_monitoring_flagged_ones_have_no_crossbar():
    split = load_postcode_digits(seed=0)
    ones = flagged_ones(split.X_holdout, split.y_holdout)
    assert len(ones) == np.sum(split.y_holdout == 7)
    sevens = split.X_holdout[split.y_holdout == 7].reshape(-1, 8, 8)
    assert ones.reshape(-1, 8, 8)[:, 4].sum() < 0.6 * sevens[:, 4].sum()


def test_monitoring_reader_and_daily_errors(reader):
    stream = make_stream(0, days=50, scans_per_day=200, scanner_day=20, habit_day=35)
    table = daily_errors(stream, reader)
    assert list(table.columns) == ["day", "scans", "errors"] and len(table) == 50
    assert all(table[c].dtype == np.int64 for c in table.columns)
    rate = table["errors"] / table["scans"]
    assert rate[:20].mean() < 0.07                    # about 5 % on clean days
    assert rate[20:35].mean() > rate[:20].mean() + 0.06   # the scanner fault hurts
    assert rate[35:].mean() > rate[20:35].mean() + 0.03   # and the habit more


def test_monitoring_run_production_never_and_policy(reader):
    stream = make_stream(1, days=30, scans_per_day=200, scanner_day=10, habit_day=None)
    never = run_production(stream, reader)
    assert list(never.columns) == ["day", "scans", "errors", "error", "input_alarm",
                                   "performance_alarm", "retrained", "version"]
    assert never["version"].eq(1).all() and not never["retrained"].any()
    assert never[["day", "scans", "errors"]].equals(daily_errors(stream, reader))
    calls = []

    def policy(today, *, alarm_days, last_retrain):
        calls.append((today, list(alarm_days), last_retrain))
        return list(range(10, 16)) if today == 18 else []

    run = run_production(stream, reader, policy=policy, alarm_days=[12, 13, 40])
    assert calls[12] == (12, [12], None) and calls[20][1] == [12, 13]
    assert run.loc[run["retrained"], "day"].tolist() == [18]
    assert run["version"].tolist() == [1] * 19 + [2] * 11
    assert run["input_alarm"].sum() == 2
    assert run["error"][19:].mean() < never["error"][19:].mean() - 0.03


def test_monitoring_run_production_refuses_unlabelled_days(reader):
    stream = make_stream(2, days=12, scans_per_day=50)
    with pytest.raises(ValueError, match="labels arrive only on day"):
        run_production(stream, reader,
                       policy=lambda t, **_: [t - LABEL_DELAY + 1] if t == 8 else [])


def test_monitoring_monitor_sees_only_the_live_model(reader):
    stream = make_stream(2, days=16, scans_per_day=50)
    seen = []

    def monitor(daily, *, today):
        seen.append((today, daily["day"].tolist()))
        assert list(daily.columns) == ["day", "scans", "errors"]
        return {"alarm": today == 6}

    run = run_production(stream, reader, monitor=monitor,
                         policy=lambda t, **kw: [0, 1, 2] if t == 9 else [])
    assert seen[5] == (5, [0, 1, 2, 3, 4, 5]) and seen[10] == (10, [10])
    assert run.loc[run["performance_alarm"], "day"].tolist() == [6]


def test_monitoring_plots(reader):
    stream = make_stream(0, days=20, scans_per_day=60, scanner_day=8, habit_day=12)
    features = stream_features(stream)
    axes = plot_stream(features, daily_errors(stream, reader), events=stream.events)
    assert len(axes) == 3
    drift = pd.Series(np.linspace(0.01, 0.5, 20), index=range(20))
    run = run_production(stream, reader, policy=lambda t, **_: [0, 1] if t == 10 else [])
    axes = plot_monitoring(drift, 0.1, [9, 10, 11], {"never": run, "retrain": run},
                           events=stream.events, reference_days=5)
    assert len(axes) == 2
    import matplotlib.pyplot as plt

    plt.close("all")
