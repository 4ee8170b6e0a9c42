"""labkit.lineage_lab: exports with known duplicates, an order-blind trainer, a seeded history."""

from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

from labkit.deliveries import FEATURES, LABEL, make_orders
from labkit.lineage_lab import (
    AUDIT_FILE,
    COLLEAGUE_PARAMS,
    COLLEAGUE_SEED,
    EXPORTS,
    PREDICTION,
    PRODUCTION_EXPORT,
    RECORD_KEYS,
    code_version,
    library_versions,
    make_exports,
    make_history,
    plot_lineage,
    predict_eta,
    read_orders,
    train_eta_model,
)

SMALL = {"n_estimators": 15, "max_depth": 2, "subsample": 0.8}


def _sorted_rows(df: pd.DataFrame) -> pd.DataFrame:
    data = df[sorted(df.columns)].astype({"items": float, "hour": float})
    return data.sort_values(list(data.columns)).reset_index(drop=True)


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    return make_exports(tmp_path_factory.mktemp("exports"), seed=0, n=600)


def test_lineage_exports_files_and_planted_differences(exports):
    assert set(exports) == {*EXPORTS, AUDIT_FILE} and all(p.exists() for p in exports.values())
    raw, final, fixed = (read_orders(exports[n]) for n in EXPORTS[:3])
    assert list(raw.columns) != list(final.columns), "the final file reorders its columns"
    assert not raw[LABEL].equals(final[LABEL]), "the final file shuffles its rows"
    pd.testing.assert_frame_equal(_sorted_rows(raw), _sorted_rows(final))
    assert (raw[LABEL] > 150).sum() == 3 and (fixed[LABEL] > 150).sum() == 0
    assert len(read_orders(exports["orders_q4.csv"])) == 720


def test_lineage_audit_predictions_come_from_the_production_export(exports):
    audit = read_orders(exports[AUDIT_FILE])
    assert list(audit.columns) == [*FEATURES, PREDICTION]
    for name in EXPORTS:
        model, _ = train_eta_model(read_orders(exports[name]), COLLEAGUE_PARAMS, COLLEAGUE_SEED)
        same = np.array_equal(predict_eta(model, audit), audit[PREDICTION].to_numpy())
        assert same == (name in ("orders_q3.csv", PRODUCTION_EXPORT)), name


def test_lineage_training_ignores_row_order_column_order_and_dtype():
    df = make_orders(500, seed=3)
    other = df.sample(frac=1.0, random_state=1)[list(reversed(df.columns))]
    other = other.astype({"items": float, "hour": float})
    audit = make_orders(50, seed=4)
    m1, s1 = train_eta_model(df, SMALL, 7)
    m2, s2 = train_eta_model(other, SMALL, 7)
    assert s1 == s2 and type(s1["mae_minutes"]) is float and type(s1["n_train"]) is int
    assert s1["n_train"] == 400
    assert np.array_equal(predict_eta(m1, audit), predict_eta(m2, audit[list(reversed(FEATURES))]))
    _, s3 = train_eta_model(df, SMALL, 8)
    assert s3 != s1, "the seed changes the holdout and the subsampling"


def test_lineage_code_and_library_versions():
    def f(x):
        return x

    def g(x):
        return x + 0

    assert len(code_version(f)) == 64 and code_version(f) != code_version(g)
    assert code_version(f) == code_version(f)
    versions = library_versions()
    assert set(versions) == {"python", "numpy", "pandas", "scikit-learn"}
    assert all(type(v) is str for v in versions.values())


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_lineage_history_is_chronological_with_a_partial_blast_radius(seed):
    history = make_history(seed)
    records = history.records
    assert all(tuple(r) == RECORD_KEYS for r in records)
    json.dumps(records)
    seen = {v for v, name in history.names.items() if "_20" in name}  # sources
    assert history.corrupt in seen
    for record in records:
        assert set(record["inputs"]) <= seen, "inputs exist before they are used"
        seen |= set(record["outputs"])
        if record["step"] == "train":
            assert record["outputs"] == []
            assert record["inputs"][0] in history.lineage[record["run_id"]]
    trains = [r["run_id"] for r in records if r["step"] == "train"]
    assert sorted(history.lineage) == sorted(trains) and len(set(trains)) == len(trains)
    assert 0 < len(history.affected) < len(trains)
    assert make_history(seed).records == records, "seeded"


def test_lineage_history_respects_the_named_corrupt_source():
    history = make_history(0, corrupt="weather_2024-11")
    assert history.names[history.corrupt] == "weather_2024-11"
    assert make_history(1).records != make_history(0).records
    with pytest.raises(ValueError):
        make_history(0, corrupt="orders_2030-01")


def test_lineage_plot_draws_every_node():
    history = make_history(0)
    ax = plot_lineage(history.records, names=history.names, bad_version=history.corrupt,
                      highlight=history.affected)
    nodes = {v for r in history.records for v in r["inputs"] + r["outputs"]}
    assert len(ax.collections) == len(nodes) + len(history.records)
