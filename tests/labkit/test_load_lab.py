"""labkit.load_lab: a serialising stand-in device, a probe that sees concurrency, seeded data."""

from __future__ import annotations

import asyncio
import threading
import time

import matplotlib

matplotlib.use("Agg")

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from labkit.load_lab import (
    FEATURES,
    TABLE_COLUMNS,
    Accelerator,
    LoadProbe,
    make_flower_file,
    plot_call_cost,
    plot_latency_throughput,
    synthetic_load_table,
    time_calls,
)
from labkit.serving import serve


@pytest.fixture(scope="module")
def iris_model():
    iris = load_iris()
    return LogisticRegression(max_iter=500).fit(iris.data, iris.target_names[iris.target])


def test_load_lab_accelerator_predicts_like_the_model_and_records_calls(iris_model):
    device = Accelerator(iris_model, call_ms=1.0, row_ms=0.0)
    rows = load_iris().data[:7]
    assert device.predict(rows).tolist() == iris_model.predict(rows).tolist()
    device.predict(rows[:2].tolist())
    assert device.batch_sizes == [7, 2] and device.calls == 2 and device.rows == 9
    assert device.cost_ms(10) == 1.0
    device.reset()
    assert device.calls == 0
    with pytest.raises(ValueError):
        device.predict([1.0, 2.0, 3.0, 4.0])  # one row must still be 2-D
    with pytest.raises(ValueError):
        Accelerator(iris_model, call_ms=-1.0)


def test_load_lab_accelerator_takes_one_call_at_a_time(iris_model):
    device = Accelerator(iris_model, call_ms=40.0, row_ms=0.0)
    rows = load_iris().data[:1]
    threads = [threading.Thread(target=device.predict, args=(rows,)) for _ in range(3)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # three 40 ms calls on one device cannot overlap: at least 120 ms in total
    assert time.perf_counter() - start >= 0.119
    assert device.calls == 3


def test_load_lab_accelerator_cost_grows_with_rows(iris_model):
    device = Accelerator(iris_model, call_ms=5.0, row_ms=0.5)
    assert device.cost_ms(1) == 5.5 and device.cost_ms(100) == 55.0
    start = time.perf_counter()
    device.predict(np.tile(load_iris().data[:1], (40, 1)))
    assert time.perf_counter() - start >= 0.0249


async def _hammer(url: str, concurrency: int, n: int, path: str = "/predict") -> list[int]:
    statuses: list[int] = []
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=10, limits=limits) as client:
        async def worker(k: int) -> None:
            for j in range(k, n, concurrency):
                statuses.append((await client.post(path, json={"j": j})).status_code)

        await asyncio.gather(*(worker(k) for k in range(concurrency)))
    return statuses


def test_load_lab_probe_counts_requests_and_sees_the_concurrency():
    probe = LoadProbe(delay_ms=5, gate=5)
    with serve(probe.app) as url:
        statuses = asyncio.run(_hammer(url, 5, 20))
    assert statuses == [200] * 20
    assert probe.requests == 20 and len(probe.bodies) == 20
    assert sorted(b["j"] for b in probe.bodies) == list(range(20))
    assert probe.peak_in_flight == 5 and probe.in_flight == 0


def test_load_lab_probe_sequential_client_peaks_at_one_and_gate_times_out():
    probe = LoadProbe(delay_ms=1, gate=3, gate_timeout_s=0.2)
    with serve(probe.app) as url, httpx.Client(base_url=url, timeout=10) as client:
        start = time.perf_counter()
        for _ in range(4):
            assert client.post("/predict", json={}).status_code == 200
        elapsed = time.perf_counter() - start
    assert probe.peak_in_flight == 1
    assert 0.19 <= elapsed < 5.0  # the gate held the first request only, for its timeout


def test_load_lab_probe_body_delay_and_broken_route():
    probe = LoadProbe(delay_ms=0)
    with serve(probe.app) as url, httpx.Client(base_url=url, timeout=10) as client:
        start = time.perf_counter()
        assert client.post("/predict", json={"delay_ms": 60}).json() == {"ok": True}
        assert time.perf_counter() - start >= 0.059
        assert client.post("/broken", json={}).status_code == 503
    assert probe.requests == 2


def test_load_lab_time_calls_table():
    costs = time_calls(lambda rows: rows.sum(axis=1), np.ones((3, 4)), [1, 5, 50], repeats=2)
    assert list(costs.columns) == ["rows", "ms_per_call", "ms_per_row"]
    assert costs["rows"].tolist() == [1, 5, 50]
    assert (costs["ms_per_call"] > 0).all()
    assert np.allclose(costs["ms_per_row"] * costs["rows"], costs["ms_per_call"])


def test_load_lab_flower_file_is_seeded_and_scorable(tmp_path, iris_model):
    a = pd.read_csv(make_flower_file(tmp_path / "a.csv", 500, seed=3))
    b = pd.read_csv(make_flower_file(tmp_path / "b.csv", 500, seed=3))
    c = pd.read_csv(make_flower_file(tmp_path / "c.csv", 500, seed=4))
    pd.testing.assert_frame_equal(a, b)
    assert not a[list(FEATURES)].equals(c[list(FEATURES)])
    assert list(a.columns) == ["id", *FEATURES] and a["id"].is_unique
    assert (a[list(FEATURES)] > 0).all().all()
    assert set(iris_model.predict(a[list(FEATURES)].to_numpy())) == set(iris_model.classes_)


def test_load_lab_synthetic_table_shape_and_budget_split():
    table = synthetic_load_table(seed=2)
    pd.testing.assert_frame_equal(table, synthetic_load_table(seed=2))
    assert not table.equals(synthetic_load_table(seed=3))
    assert tuple(table.columns) == TABLE_COLUMNS
    assert table["config"].iloc[0] == "online" and table["config"].nunique() == 5
    for _, rows in table.groupby("config"):
        assert rows["concurrency"].tolist() == [1, 2, 4, 8, 16, 32, 64]
    for seed in range(20):
        t = synthetic_load_table(seed=seed, budget_ms=100.0)
        meets = t["p99_ms"] <= 100.0
        assert meets.any() and not meets.all(), seed
        assert (t["p50_ms"] > 0).all() and (t["p99_ms"] > t["p50_ms"]).all()
    online = table[table["config"] == "online"]
    assert online["throughput_rps"].max() < table["throughput_rps"].max()


def test_load_lab_plots_draw_one_line_per_config():
    import matplotlib.pyplot as plt

    table = synthetic_load_table(seed=1)
    ax = plot_latency_throughput(table, budget_ms=100.0)
    assert len(ax.get_lines()) == table["config"].nunique() + 1  # plus the budget line
    costs = pd.DataFrame({"rows": [1, 10], "ms_per_call": [1.0, 1.2], "ms_per_row": [1.0, 0.12]})
    assert len(plot_call_cost(costs).get_lines()) == 2
    plt.close("all")
