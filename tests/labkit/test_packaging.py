"""labkit.packaging: signature, ONNX export, metadata facts, model card, pickles, predict script."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import warnings

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from labkit.packaging import (
    ARTIFACT_FILES,
    PREDICT_SOURCE,
    data_digest,
    export_onnx,
    library_versions,
    make_signature,
    onnx_summary,
    pickled_globals,
    pixel_names,
    plot_scans,
    plot_slices,
    relabel_sklearn_version,
    render_model_card,
    scans_figure,
    slice_accuracy,
    unpickle_in_fresh_process,
    write_predict_script,
)


@pytest.fixture(scope="module")
def tiny():
    """A small fitted pipeline on 6 features with its signature."""
    rng = np.random.default_rng(0)
    X = rng.random((60, 6))
    y = (X[:, 0] + X[:, 1] > 1).astype(int) + (X[:, 2] > 0.7)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y)
    signature = make_signature(list("abcdef"), input_name="features", classes=[0, 1, 2])
    return model, signature, X


def test_packaging_signature_is_plain_json_data():
    sig = make_signature(pixel_names(), classes=range(10))
    assert json.loads(json.dumps(sig)) == sig
    assert sig["input"] == {"name": "pixels", "dtype": "float32", "shape": [None, 64],
                            "features": pixel_names(), "min": 0.0, "max": 1.0}
    assert sig["output"]["classes"] == list(range(10))
    assert sig["output"]["probabilities"] == {"dtype": "float32", "shape": [None, 10]}
    assert pixel_names(2) == ["px_0_0", "px_0_1", "px_1_0", "px_1_1"]
    with pytest.raises(ValueError, match="unique"):
        make_signature(["a", "a"])
    with pytest.raises(ValueError, match="below"):
        make_signature(["a"], low=1.0, high=1.0)


def test_packaging_export_and_summary(tiny):
    model, signature, X = tiny
    onnx_bytes = export_onnx(model, signature)
    assert export_onnx(model, signature) == onnx_bytes, "the export is deterministic"
    summary = onnx_summary(onnx_bytes)
    assert summary["inputs"] == {"features": [None, 6]}
    assert summary["outputs"] == {"label": [None], "probabilities": [None, 3]}
    assert "LinearClassifier" in summary["operators"]
    assert set(summary["opsets"]) >= {"ai.onnx", "ai.onnx.ml"}
    assert summary["producer"].startswith("skl2onnx")
    assert b"sklearn." not in onnx_bytes
    with pytest.raises(ValueError, match="float32"):
        export_onnx(model, {**signature, "input": {**signature["input"], "dtype": "float64"}})


def test_packaging_predict_script_in_a_clean_process(tiny, tmp_path):
    model, signature, X = tiny
    artifact = tmp_path / "artifact"
    artifact.mkdir()
    (artifact / "model.onnx").write_bytes(export_onnx(model, signature))
    (artifact / "signature.json").write_text(json.dumps(signature))
    script = write_predict_script(tmp_path)
    assert script.read_text() == PREDICT_SOURCE and script.name == "predict_artifact.py"
    np.save(tmp_path / "in.npy", X.astype(np.float32))
    done = subprocess.run([sys.executable, str(script), str(artifact), str(tmp_path / "in.npy"),
                           str(tmp_path / "out.npz")], capture_output=True, text=True, timeout=60,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    with np.load(tmp_path / "out.npz") as out:
        np.testing.assert_array_equal(out["label"], model.predict(X))
        np.testing.assert_allclose(out["probabilities"], model.predict_proba(X), atol=1e-5)
        assert int(out["pid"]) != 0 and not bool(out["sklearn_imported"])


def test_packaging_data_digest_and_versions():
    a = np.arange(12.0).reshape(3, 4)
    assert data_digest(a, [0, 1, 2]) == data_digest(a.copy(), np.array([0, 1, 2]))
    assert data_digest(a) != data_digest(a.astype(np.float32))
    assert data_digest(a) != data_digest(a.reshape(4, 3))
    b = a.copy()
    b[0, 0] = 0.5
    assert data_digest(a) != data_digest(b) and len(data_digest(a)) == 64
    found = library_versions(("numpy", "surely-not-installed-pkg"))
    assert found["numpy"] == np.__version__ and found["surely-not-installed-pkg"] == "not installed"
    assert set(found) == {"python", "numpy", "surely-not-installed-pkg"}


def test_packaging_slice_accuracy():
    got = slice_accuracy([1, 1, 2, 2], [1, 0, 2, 2], ["x", "x", "y", "y"])
    assert got == {"x": 0.5, "y": 1.0} and all(type(v) is float for v in got.values())
    with pytest.raises(ValueError):
        slice_accuracy([1], [1, 2], ["x"])


def test_packaging_card_from_metadata_is_stable_under_json():
    metadata = {"name": "reader", "version": "abc123def456", "intended_use": "digits",
                "metrics": {"accuracy": 0.91234, "rows": 10,
                            "per_slice": {"b": 0.8, "a": 0.95}},
                "libraries": {"scikit-learn": "1.0", "numpy": "2.0"},
                "onnx": {"opsets": {"ai.onnx.ml": 1, "ai.onnx": 21}, "producer": "skl2onnx"},
                "files": {"signature.json": "22", "model.onnx": "11"}}
    card = render_model_card(metadata)
    again = render_model_card(json.loads(json.dumps(metadata, sort_keys=True)))
    assert card == again, "the card must not depend on key order"
    assert card.startswith("# Model card: reader abc123def456")
    assert "- accuracy: 0.9123" in card and "- rows: 10" in card
    assert "| b | 0.800 (worst) |" in card and "| a | 0.950 |" in card
    assert "## Limitations\n\n(not stated)" in card and "## Owner\n\n(not stated)" in card
    assert card.index("`model.onnx`") < card.index("`signature.json`")
    bare = render_model_card({})
    assert "(no version)" in bare and "per slice: (not stated)" in bare


def test_packaging_pickle_records_paths_and_version(tiny):
    model, _, _ = tiny
    blob = pickle.dumps(model)
    found = pickled_globals(blob)
    assert "sklearn.pipeline.Pipeline" in found
    assert "sklearn.linear_model._logistic.LogisticRegression" in found
    assert len(found) == len(set(found))
    older = relabel_sklearn_version(blob)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pickle.loads(older)
    assert any("Trying to unpickle estimator" in str(w.message) for w in caught)
    with pytest.raises(ValueError, match="as many characters"):
        relabel_sklearn_version(blob, "1")
    with pytest.raises(ValueError, match="no scikit-learn"):
        relabel_sklearn_version(pickle.dumps({"a": 1}))


def test_packaging_unpickle_in_fresh_process(tiny, tmp_path):
    assert unpickle_in_fresh_process(pickle.dumps({"a": 1}), folder=tmp_path) == {
        "ok": True, "loaded": "builtins.dict", "error": ""}
    model, _, _ = tiny
    moved = unpickle_in_fresh_process(pickle.dumps(model), folder=tmp_path,
                                      moved=["sklearn.linear_model._logistic"])
    assert moved["ok"] is False
    assert moved["error"] == "ModuleNotFoundError: No module named 'sklearn.linear_model._logistic'"
    assert list(tmp_path.iterdir()) == [], "the temporary pickle is removed"


def test_packaging_plots():
    X = np.random.default_rng(0).random((4, 64))
    axes = plot_scans(X, ["a", "b", "c", "d"])
    assert [ax.get_title() for ax in axes] == ["a", "b", "c", "d"]
    ax = plot_slices({"x": 0.9, "y": 0.7}, reference=0.8, title="t")
    assert [t.get_text() for t in ax.get_yticklabels()] == ["x", "y"]
    with pytest.raises(ValueError):
        plot_slices({})
    fig = scans_figure(X, list("abcd"), {"x": 0.9}, reference=0.9)
    assert len(fig.axes) == 5
    assert list(ARTIFACT_FILES) == sorted(ARTIFACT_FILES)
